"""The companion "layers" model for the demo's Inside LeNet view: LeNet's activations at every
stage and its learned filters, from one ONNX file beside `lenet.onnx`.

`lenet-layers.onnx` takes the same input as the main model (`image`, float32 [batch, 28, 28, 1])
and gives, per image, conv1 after ReLU (28×28×20), the first max-pool (14×14×20), conv2 after ReLU
(14×14×50), the second max-pool (7×7×50), FC 500 after ReLU and the 10 probabilities — plus, the
same for every input, the conv1 and conv2 kernels (5×5×1×20, 5×5×20×50). Its metadata lists these
outputs (`layer_outputs`, `filter_outputs`) with the input contract. The main file stays as it is
for anyone who uses it (input `image`, output `probabilities`); its metadata only names this one.
`prove_layers` checks every output against Keras on real test images, as the exporter does for the
probabilities (within the tolerance relative to each output's scale).
"""

import json

import numpy as np

from lenet import contract
from tf_function import onnx_graph  # beside this file (export/ is on the path)

LAYERS_SUFFIX = "-layers.onnx"
# (output name, the Keras layer whose output it is, what the page calls it)
LAYER_OUTPUTS = (
    ("conv1", "act1", "conv1: 20 filters 5×5, after ReLU"),
    ("pool1", "pool1", "max-pool 2×2"),
    ("conv2", "act2", "conv2: 50 filters 5×5, after ReLU"),
    ("pool2", "pool2", "max-pool 2×2"),
    ("fc1", "act3", "FC 500, after ReLU"),
    (contract.OUTPUT_NAME, contract.OUTPUT_NAME, "FC 10, softmax"),
)
FILTER_OUTPUTS = (("conv1_filters", "conv1"), ("conv2_filters", "conv2"))
PARITY_IMAGES = 1_000


def layers_path(model_path):
    """lenet.onnx → lenet-layers.onnx beside it."""
    return model_path.with_name(model_path.stem + LAYERS_SUFFIX)


def keras_taps(model):
    """A Keras model giving the outputs of LAYER_OUTPUTS, in order."""
    import keras
    return keras.Model(model.inputs, [model.get_layer(layer).output for _, layer, _ in LAYER_OUTPUTS])


def convert_layers(model, opset: int):
    """The companion graph, converted as the main export is (tf_function.onnx_graph)."""
    import tensorflow as tf

    taps = keras_taps(model)
    kernels = {name: model.get_layer(layer).kernel for name, layer in FILTER_OUTPUTS}

    def serve(image):
        outputs = dict(zip([name for name, _, _ in LAYER_OUTPUTS], taps(image, training=False)))
        outputs.update({name: tf.identity(kernel) for name, kernel in kernels.items()})
        return outputs

    size = contract.IMAGE_SIZE
    return onnx_graph(serve, {contract.INPUT_NAME: (None, size, size, 1)}, opset)


def layers_metadata(onnx_model) -> dict[str, str]:
    shapes = {output.name: [dim.dim_value or "batch" for dim in output.type.tensor_type.shape.dim]
              for output in onnx_model.graph.output}
    return {"layer_outputs": json.dumps([{"name": name, "keras_layer": layer, "shows": shows, "shape": shapes[name]}
                                         for name, layer, shows in LAYER_OUTPUTS]),
            "filter_outputs": json.dumps([{"name": name, "keras_layer": layer, "shape": shapes[name]}
                                          for name, layer in FILTER_OUTPUTS])}


def prove_layers(session, model, x_test, tolerance: float) -> dict:
    """Max |Keras − ONNX| of every output on the first PARITY_IMAGES real test images, and that
    difference relative to the output's scale (its largest |value|, or 1 when smaller): float32
    activations of 30 agree to about 1e-6 of 30, not of 1. The filters must be identical. Returns
    the figures; the caller refuses the export when a relative difference passes `tolerance`."""
    x = x_test[:PARITY_IMAGES]
    names = [name for name, _, _ in LAYER_OUTPUTS]
    onnx_outputs = dict(zip([o.name for o in session.get_outputs()], session.run(None, {contract.INPUT_NAME: x})))
    keras_outputs = keras_taps(model).predict(x, batch_size=256, verbose=0)
    keras_outputs += [model.get_layer(layer).kernel.numpy() for _, layer in FILTER_OUTPUTS]
    result = {"images": len(x), "tolerance": tolerance, "max_abs_diff": {}, "scale": {}, "relative_diff": {}}
    for name, expected in zip(names + [name for name, _ in FILTER_OUTPUTS], keras_outputs):
        difference, scale = float(np.abs(onnx_outputs[name] - expected).max()), max(1.0, float(np.abs(expected).max()))
        result["max_abs_diff"][name], result["scale"][name] = difference, scale
        result["relative_diff"][name] = difference / scale
    result["failures"] = [f"{name}: {diff:.2e}" for name, diff in result["relative_diff"].items() if not diff <= tolerance]
    return result
