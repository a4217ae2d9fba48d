"""The reading engine: from a picture to what LeNet reads in it — no web, no training.

Never imports Gradio, TensorFlow, Keras or `lenet`: the exported ONNX model file (and its metadata,
the input contract) is the only thing it shares with training, and the web page (`demo`), the
command line (`python -m demo.predict`), `evaluate` and `benchmarks` all read through it.

Modules, in the order a picture meets them: images (bounded decoding), preprocess (MNIST's own
preprocessing), model (ONNX Runtime and the contract read from the model file), explain (occlusion
heatmap), inside (every layer's activations, from the layers file exported beside the model), not_digit
(whether a picture holds a digit at all: a tap, a scribble, a mark or a letter is "not a digit"),
pipeline (one digit, or a number: the two entry points), runs (run folders and which model is
served), errors (the one exception for input it cannot use). The number reader is the `numbers`
sub-package.
"""
