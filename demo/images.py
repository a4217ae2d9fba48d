"""Safe decoding of whatever a user or an API client sends into one kind of PIL image.

Everything the demo accepts — an uploaded file's bytes, a file path, a ``data:`` URL, a PIL image,
a numpy array, or a Gradio sketchpad value — comes out of this module as an **RGBA** PIL image
(8 bits per channel, the original colours and alpha kept) whose longer side is at most
`MAX_SIDE` pixels. Nothing else in the demo has to care about file formats or image modes.

Anything that cannot be turned into such an image raises `InputError`, whose message is one
sentence meant for the user. Limits keep hostile input cheap: files over `MAX_BYTES` are refused
unread, and the pixel count is checked from the file header *before* any pixel is decoded
(decompression bombs), against `MAX_PIXELS`.

Supported: PNG, JPEG (draft-mode decoding of big JPEGs), BMP, GIF (first frame of an animation),
WebP, TIFF; modes 1, L, LA, P (palette transparency kept), RGB, RGBA, CMYK, YCbCr, 16-bit
(I;16*) and 32-bit integer (I) and float (F) grey images, which are scaled to 8 bits by the
image's own value range; EXIF orientation is applied.
"""

import base64
import binascii
import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

MAX_BYTES = 20 * 1024 * 1024      # largest encoded file we read
MAX_PIXELS = 40_000_000           # largest image (width × height) we decode
MAX_SIDE = 1024                   # images are downscaled so their longer side is at most this

# Modes Pillow converts straight to RGBA; the high-bit-depth grey modes go through numpy.
DIRECT_MODES = {"1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr"}
HIGH_DEPTH_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
ARRAY_CHANNELS = (1, 2, 3, 4)     # grey, grey + alpha, RGB, RGBA
EDITOR_KEYS = ("background", "layers", "composite")


class InputError(ValueError):
    """The input cannot be used; the message is one clear sentence to show to the user."""


# --- public entry points -------------------------------------------------------------------------

def load_image(source) -> Image.Image:
    """Decode `source` into an RGBA PIL image whose longer side is at most `MAX_SIDE`.

    `source` may be encoded bytes, a path (str or Path), a ``data:image/...;base64,`` URL, a PIL
    image, or a numpy array (see `image_from_array`). Raises `InputError` for anything unusable.
    """
    if source is None:
        raise InputError("No image was given.")
    if isinstance(source, Image.Image):
        image = _loaded(source)
    elif isinstance(source, np.ndarray):
        image = image_from_array(source)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        image = decode_bytes(bytes(source))
    elif isinstance(source, str) and source.startswith("data:"):
        image = decode_bytes(_data_url_bytes(source))
    elif isinstance(source, (str, Path)):
        image = decode_bytes(_read_file(Path(source)))
    else:
        raise InputError(f"Unsupported input of type {type(source).__name__}; send an image.")
    return _limit_size(_to_rgba(image))


def decode_bytes(data: bytes) -> Image.Image:
    """Decode an encoded image file (first frame, EXIF orientation applied), safely."""
    if not data:
        raise InputError("The file is empty.")
    if len(data) > MAX_BYTES:
        raise InputError(f"The file is too large (over {MAX_BYTES // (1024 * 1024)} MB).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(_too_many_pixels_message()) from None
    except Exception:  # Pillow raises many types for data it cannot identify
        raise InputError("The file is not an image this demo can read (use PNG, JPEG, WebP, "
                         "GIF, BMP or TIFF).") from None
    _check_dimensions(image.size)
    _reduce_while_decoding(image)
    return _apply_exif_orientation(_loaded(image))


def image_from_array(array: np.ndarray) -> Image.Image:
    """Turn a numpy image into a PIL image (L, LA, RGB or RGBA by its channel count).

    Accepts (H, W) or (H, W, C) with C in 1–4, of bool, integer or float dtype. Floats must be
    finite and in [0, 1] (scaled by 255) or in [0, 255]; uint8 is used as is; other integers are
    used as is when they fit 0–255 and scaled by their own range otherwise (e.g. 16-bit images).
    """
    _check_array_shape(array)
    pixels = _array_to_uint8(array)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    return Image.fromarray(np.ascontiguousarray(pixels))  # mode L, LA, RGB or RGBA by shape


def image_from_editor_value(value) -> Image.Image | None:
    """The picture in a `gr.Sketchpad` / `gr.ImageEditor` value, as from `load_image`.

    The value is a dict with ``background``, ``layers`` (a list) and ``composite``; each entry may
    be None, a PIL image, a numpy array, a path, or a Gradio FileData dict with a ``"path"``. The
    composite is used when present; otherwise the layers are alpha-composited over the background.
    Returns None when nothing was drawn (the value is None, or every entry is None and there are
    no layers); a blank canvas comes back as an image, which `demo.preprocess.preprocess` turns
    into None. Raises `InputError` for a value of the wrong shape.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InputError("The drawing arrived in an unexpected form; please draw again.")
    if not any(key in value for key in EDITOR_KEYS):
        raise InputError("The drawing is missing its image data; please draw again.")
    layers = value.get("layers")
    layers = [] if layers is None else layers
    if not isinstance(layers, (list, tuple)):
        raise InputError("The drawing's layers arrived in an unexpected form; please draw again.")
    composite = _editor_entry(value.get("composite"))
    if composite is not None:
        return composite
    pieces = [_editor_entry(value.get("background"))] + [_editor_entry(layer) for layer in layers]
    pieces = [piece for piece in pieces if piece is not None]
    if not pieces:
        return None
    return _flatten(pieces)


# --- decoding helpers ----------------------------------------------------------------------------

def _read_file(path: Path) -> bytes:
    try:
        if not path.is_file():
            raise InputError("The image file could not be found.")
        if path.stat().st_size > MAX_BYTES:
            raise InputError(f"The file is too large (over {MAX_BYTES // (1024 * 1024)} MB).")
        return path.read_bytes()
    except OSError:
        raise InputError("The image file could not be read.") from None


def _data_url_bytes(url: str) -> bytes:
    header, _, payload = url.partition(",")
    if not header.endswith(";base64") or len(payload) > MAX_BYTES * 4 // 3 + 4:
        raise InputError("Only base64 image data URLs of reasonable size are supported.")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("The image data URL is not valid base64.") from None


def _too_many_pixels_message() -> str:
    return f"The image is too large (over {MAX_PIXELS // 1_000_000} million pixels)."


def _check_dimensions(size: tuple[int, int]) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise InputError("The image is empty (zero width or height).")
    if width * height > MAX_PIXELS:
        raise InputError(_too_many_pixels_message())


def _reduce_while_decoding(image: Image.Image) -> None:
    """Let the JPEG decoder produce a smaller image directly (a cheap 1/2–1/8 scale)."""
    if image.format == "JPEG":
        try:
            image.draft(image.mode, (MAX_SIDE, MAX_SIDE))
        except Exception:  # draft is only an optimisation
            pass


def _loaded(image: Image.Image) -> Image.Image:
    """The image's first frame with its pixels decoded; corrupt or truncated data → InputError."""
    _check_dimensions(image.size)
    try:
        if image.tell() != 0:  # an animation handed over at a later frame
            image.seek(0)
        image.load()
    except InputError:
        raise
    except Exception:  # truncated files raise OSError; broken ones anything
        raise InputError("The image file is damaged or incomplete.") from None
    return image


def _apply_exif_orientation(image: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block should not make the picture unusable
        return image


def _to_rgba(image: Image.Image) -> Image.Image:
    if image.mode in HIGH_DEPTH_MODES:
        image = Image.fromarray(_scale_by_own_range(np.asarray(image)))  # mode L
    try:
        if image.mode not in DIRECT_MODES:
            image = image.convert("RGB")
        return image.convert("RGBA")
    except Exception:
        raise InputError(f"Images in colour mode {image.mode} are not supported.") from None


def _limit_size(image: Image.Image, max_side: int = MAX_SIDE) -> Image.Image:
    """Downscale (anti-aliased, aspect kept) so the longer side is at most `max_side`."""
    width, height = image.size
    scale = max_side / max(width, height)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)


# --- numpy helpers -------------------------------------------------------------------------------

def _check_array_shape(array: np.ndarray) -> None:
    if array.dtype.kind not in "buif":
        raise InputError(f"Image arrays must hold numbers, not {array.dtype}.")
    if array.ndim not in (2, 3):
        raise InputError(f"An image array must be 2-D or 3-D, not {array.ndim}-D.")
    if array.ndim == 3 and array.shape[2] not in ARRAY_CHANNELS:
        raise InputError(f"An image array must have 1 to 4 channels, not {array.shape[2]}.")
    if array.size == 0:
        raise InputError("The image is empty (zero width or height).")
    _check_dimensions((array.shape[1], array.shape[0]))


def _array_to_uint8(array: np.ndarray) -> np.ndarray:
    kind = array.dtype.kind
    if kind == "b":
        return array.astype(np.uint8) * 255
    if array.dtype == np.uint8:
        return array
    if kind == "f":
        return _float_to_uint8(array)
    if array.dtype != np.uint16 and array.min() >= 0 and array.max() <= 255:
        return array.astype(np.uint8)
    return _scale_by_own_range(array)


def _float_to_uint8(array: np.ndarray) -> np.ndarray:
    values = array.astype(np.float64)
    if not np.isfinite(values).all():
        raise InputError("The image contains invalid values (NaN or infinity).")
    low, high = values.min(), values.max()
    if low >= -1e-6 and high <= 1 + 1e-6:
        values = values * 255
    elif low < -0.5 or high > 255.5:
        raise InputError("Float image values must lie in [0, 1] or [0, 255].")
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _scale_by_own_range(values: np.ndarray) -> np.ndarray:
    """Map an image's [min, max] linearly onto 0–255 (for 16-bit, 32-bit and float images)."""
    values = values.astype(np.float64)
    if not np.isfinite(values).all():
        raise InputError("The image contains invalid values (NaN or infinity).")
    low, high = values.min(), values.max()
    if high <= low:
        return np.full(values.shape, 255 if high > 0 else 0, dtype=np.uint8)
    return np.rint((values - low) * (255 / (high - low))).astype(np.uint8)


# --- sketchpad helpers ---------------------------------------------------------------------------

def _editor_entry(entry) -> Image.Image | None:
    """One background/layer/composite entry of an editor value, decoded, or None if absent."""
    if entry is None:
        return None
    if isinstance(entry, dict):
        path = entry.get("path")
        if not isinstance(path, (str, Path)) or not str(path):
            raise InputError("The drawing refers to a file without a path; please draw again.")
        entry = path
    return load_image(entry)


def _flatten(pieces: list[Image.Image]) -> Image.Image:
    """Alpha-composite `pieces` in order onto a transparent canvas the size of the first."""
    canvas = Image.new("RGBA", pieces[0].size, (0, 0, 0, 0))
    for piece in pieces:
        canvas = Image.alpha_composite(canvas, piece.crop((0, 0, *canvas.size)))
    return canvas
