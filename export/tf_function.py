"""One way to turn a Keras model into an ONNX graph: tf2onnx's `convert.from_function` on a
`tf.function` with an explicit, named input signature (`from_keras` fails on Keras 3).

The LeNet export (export/to_onnx.py), its companion graph of layer outputs (onnx_layers.py) and
the scripts that fit the reader's small networks (benchmarks/fit_*.py) all convert through
`onnx_graph`, so the input names, the float32 signature and the opset are handled in one place.
"""

from collections.abc import Callable, Mapping

DEFAULT_OPSET = 17


def onnx_graph(serve: Callable, inputs: Mapping[str, tuple], opset: int = DEFAULT_OPSET):
    """The ONNX model of `serve`, a function of float32 tensors (one per `inputs` entry, name →
    shape, None for a free dimension, in that order) returning {output name: tensor}."""
    import tensorflow as tf
    import tf2onnx

    spec = [tf.TensorSpec(shape, tf.float32, name=name) for name, shape in inputs.items()]
    onnx_model, _ = tf2onnx.convert.from_function(tf.function(serve, input_signature=spec),
                                                  input_signature=spec, opset=opset)
    return onnx_model
