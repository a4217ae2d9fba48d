"""The model's input contract, defined once.

The exporter writes `as_metadata()` into the ONNX file's metadata; the demo reads it back from
the model file (it never imports this package), so the file is the only coupling.
"""

import json

import numpy as np

INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"
IMAGE_SIZE = 28          # the model sees IMAGE_SIZE × IMAGE_SIZE × 1
DIGIT_BOX = 20           # MNIST fit each digit's longer side into a 20×20 box ...
CENTERING = "center_of_mass"  # ... and centred the box's centre of mass in the 28×28 frame
VALUE_RANGE = (0.0, 1.0)  # float32, 0 = background
POLARITY = "white_on_black"  # ink is bright (1.0), background dark (0.0)
CLASS_LABELS = [str(digit) for digit in range(10)]
CLASSES = len(CLASS_LABELS)


def to_model_input(images: np.ndarray) -> np.ndarray:
    """MNIST's own format, uint8 (N, IMAGE_SIZE, IMAGE_SIZE) with 255 = full ink, → the model's
    input: float32 (N, IMAGE_SIZE, IMAGE_SIZE, 1) in VALUE_RANGE."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"expected uint8 images of shape (N, {IMAGE_SIZE}, {IMAGE_SIZE}), "
                         f"got {images.dtype} {images.shape}")
    low, high = VALUE_RANGE
    return (low + images.astype(np.float32) / np.float32(255.0 / (high - low)))[..., None]


def as_metadata() -> dict[str, str]:
    """The contract as ONNX `metadata_props` (string keys and values)."""
    return {
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "input_shape": json.dumps(["batch", IMAGE_SIZE, IMAGE_SIZE, 1]),
        "input_dtype": "float32",
        "input_range": json.dumps(list(VALUE_RANGE)),
        "input_polarity": POLARITY,
        "input_digit_box": str(DIGIT_BOX),
        "input_centering": CENTERING,
        "class_labels": json.dumps(CLASS_LABELS),
    }
