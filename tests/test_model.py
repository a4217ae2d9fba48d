"""lenet.model: the tutorial's architecture, exactly."""

import numpy as np
import pytest

from lenet.model import build_lenet


@pytest.mark.parametrize("channels_first", [False, True])
def test_parameter_count_is_the_tutorials(channels_first):
    assert build_lenet(channels_first=channels_first).count_params() == 1_256_080


def test_layers_and_output():
    model = build_lenet()
    kinds = [layer.__class__.__name__ for layer in model.layers]
    assert kinds == ["Conv2D", "Activation", "MaxPooling2D", "Conv2D", "Activation", "MaxPooling2D",
                     "Flatten", "Dense", "Activation", "Dense", "Activation"]
    assert model.get_layer("conv1").filters == 20 and model.get_layer("conv2").filters == 50
    assert model.get_layer("fc1").units == 500 and model.get_layer("fc2").units == 10
    out = np.asarray(model(np.zeros((3, 28, 28, 1), np.float32)))
    assert out.shape == (3, 10)
    assert np.allclose(out.sum(axis=1), 1.0, atol=1e-5)
    assert model.inputs[0].name == "image"


def test_tanh_and_other_shapes():
    model = build_lenet(width=32, height=32, depth=3, classes=5, activation="tanh")
    assert model.output_shape == (None, 5)
    assert model.get_layer("act1").get_config()["activation"] == "tanh"
    with pytest.raises(ValueError, match="activation"):
        build_lenet(activation="sigmoid")
