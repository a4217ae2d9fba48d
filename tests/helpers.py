"""Small helpers shared by several test modules (import as `from tests.helpers import ...`)."""

import contextlib
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from benchmarks.common import free_port  # noqa: F401  (one helper for tests and benchmarks)


@contextlib.contextmanager
def line_reader_off():
    """The Number reader without the line readers' word (`reader.pipeline.second_opinion`, and the
    second reader's digits that are none, `reader.numbers.line_not_digits`, or that are digits,
    `reader.numbers.not_digits.read_as_digits`): the path's reading, for tests that measure another
    stage alone."""
    import pytest
    from reader.numbers import line_not_digits, line_reader, not_digits
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(line_not_digits, "LEAVE_OUT_ABOVE", np.inf)
        patch.setattr(line_not_digits, "LEAVE_OUT_END_ABOVE", np.inf)
        patch.setattr(not_digits, "read_as_digits", lambda *args: False)
        patch.setattr(line_reader, "SWITCH_ABOVE", np.inf)
        patch.setattr(line_reader, "SAME_LENGTH_ABOVE", np.inf)
        patch.setattr(line_reader, "WEIGHT", 0.0)
        yield


def grey_levels(image: Image.Image) -> np.ndarray:
    """A picture's grey levels (0–255) as float32."""
    return np.asarray(image.convert("L"), dtype=np.float32)


def bold_zero(side: int, hairline: int) -> Image.Image:
    """A "0" as a broad nib or a bold serif font writes it: sides `side` px thick, top and bottom
    `hairline` px, on a 240-px white canvas."""
    picture = Image.new("RGB", (240, 240), "white")
    draw = ImageDraw.Draw(picture)
    draw.ellipse((47, 29, 193, 211), fill="black")
    draw.ellipse((47 + side, 29 + hairline, 193 - side, 211 - hairline), fill="white")
    return picture


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


ROOT = Path(__file__).resolve().parents[1]
SMALL_RUN_ARGS = ["--limit", "5000", "--epochs", "2", "--seed", "3", "--quiet"]  # the shared small real run
SMALL_RUN_ACCURACY_FLOOR = 0.90  # on all 10,000 real test images; seen: see tests/test_train.py


def documentation() -> str:
    """The README and every page of docs/, as one text: a promise the documentation states is tested
    wherever it is written."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return "\n\n".join(page.read_text() for page in pages)
