"""The tutorial's LeNet (Keras 3, backend-agnostic: no `tf.*`, so it also runs on JAX).

CONV 20@5×5 same → act → max-pool 2×2/2 → CONV 50@5×5 same → act → max-pool 2×2/2 → flatten →
FC 500 → act → FC 10 → softmax. 1,256,080 parameters for 28×28×1 inputs and 10 classes.
"""

import keras
from keras import layers

from lenet import contract


def build_lenet(width: int = contract.IMAGE_SIZE, height: int = contract.IMAGE_SIZE, depth: int = 1,
                classes: int = contract.CLASSES, activation: str = "relu", channels_first: bool = False,
                input_name: str = contract.INPUT_NAME, dtype: str | None = None) -> keras.Model:
    """Build LeNet. `activation` is "relu" (the Keras tutorial) or "tanh" (the 1998 original);
    `dtype` is a Keras dtype policy such as "mixed_bfloat16" (the softmax always runs in float32)."""
    if activation not in ("relu", "tanh"):
        raise ValueError(f"activation must be 'relu' or 'tanh', not {activation!r}")
    data_format = "channels_first" if channels_first else "channels_last"
    shape = (depth, height, width) if channels_first else (height, width, depth)
    return keras.Sequential([
        keras.Input(shape=shape, name=input_name),
        layers.Conv2D(20, 5, padding="same", data_format=data_format, name="conv1", dtype=dtype),
        layers.Activation(activation, name="act1", dtype=dtype),
        layers.MaxPooling2D(2, strides=2, data_format=data_format, name="pool1", dtype=dtype),
        layers.Conv2D(50, 5, padding="same", data_format=data_format, name="conv2", dtype=dtype),
        layers.Activation(activation, name="act2", dtype=dtype),
        layers.MaxPooling2D(2, strides=2, data_format=data_format, name="pool2", dtype=dtype),
        layers.Flatten(data_format=data_format, name="flatten", dtype=dtype),
        layers.Dense(500, name="fc1", dtype=dtype),
        layers.Activation(activation, name="act3", dtype=dtype),
        layers.Dense(classes, name="fc2", dtype=dtype),
        layers.Activation("softmax", name=contract.OUTPUT_NAME, dtype="float32"),
    ], name="lenet")


def describe(model: keras.Model) -> str:
    """The architecture in one line, read from the model's layers: "CONV 20@5×5 → ReLU → max-pool 2×2 → …"."""
    parts = []
    for layer in model.layers:
        config = layer.get_config()
        if isinstance(layer, layers.Conv2D):
            parts.append(f"CONV {config['filters']}@{'×'.join(map(str, config['kernel_size']))}")
        elif isinstance(layer, layers.MaxPooling2D):
            parts.append(f"max-pool {'×'.join(map(str, config['pool_size']))}")
        elif isinstance(layer, layers.Dense):
            parts.append(f"FC {config['units']}")
        elif isinstance(layer, layers.Activation):
            name = config["activation"]
            parts.append({"relu": "ReLU", "tanh": "tanh"}.get(name, name))
    return " → ".join(parts)
