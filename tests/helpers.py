"""Small helpers shared by several test modules (import as `from tests.helpers import ...`)."""

import io
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.common import free_port  # noqa: F401  (one helper for tests and benchmarks)


def grey_levels(image: Image.Image) -> np.ndarray:
    """A picture's grey levels (0–255) as float32."""
    return np.asarray(image.convert("L"), dtype=np.float32)


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


ROOT = Path(__file__).resolve().parents[1]
