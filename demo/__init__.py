"""The demo: MNIST-style preprocessing, ONNX Runtime inference and the Gradio page.

Never imports TensorFlow, Keras or `lenet`: the ONNX model file (and its metadata) is the only
thing it shares with training. Modules: images (safe decoding), preprocess and segment (MNIST's
own preprocessing, one digit or a number), model (ONNX Runtime), explain (occlusion heatmap),
pipeline (all of it in order), runs (shipped run folders), ui (the page), predict (the CLI).
"""
