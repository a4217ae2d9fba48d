"""Small helpers shared by several test modules (import as `from tests.helpers import ...`)."""

import io
import socket
from pathlib import Path

import numpy as np
from PIL import Image


def grey_levels(image: Image.Image) -> np.ndarray:
    """A picture's grey levels (0–255) as float32."""
    return np.asarray(image.convert("L"), dtype=np.float32)


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


ROOT = Path(__file__).resolve().parents[1]
