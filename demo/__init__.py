"""The demo: MNIST-style preprocessing, ONNX Runtime inference and the Gradio page.

Never imports TensorFlow, Keras or `lenet`: the ONNX model file (and its metadata) is the only
thing it shares with training. Modules: images (safe decoding), preprocess (MNIST's own
preprocessing), segment and best_path (a number: candidate digits, the best path through them;
number_weights.json holds the path's fitted weights; whole_digit, with whole_digit.onnx, the
learned check that a candidate is one whole digit), number_view (the boxes picture), model
(ONNX Runtime), explain (occlusion heatmap), pipeline (all of it in order), runs (shipped run
folders), ui (the page; page_style its stylesheet, script and legends; training_tab the Training
tab), predict (the CLI).
"""
