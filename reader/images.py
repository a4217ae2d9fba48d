"""Safe, bounded decoding of a picture into one kind of PIL image.

Everything the demo reads — an image file's bytes, a local file, a PIL image, a numpy array —
comes out of `load_image` as an **RGBA** PIL image (8 bits per channel, the original colours and
alpha kept) whose longer side is at most `WORKING_SIDE` pixels. Nothing after this module has to
care about file formats, image modes or sizes. Client payloads (uploads, data URLs, sketchpad
values) reach this module only through `demo.inputs`, the trust boundary.

Limits, checked before the expensive work (docs/serving.md's "Limits and security" quotes them):
- at most `MAX_IMAGE_BYTES` encoded bytes;
- only the `FORMATS` below: Pillow is never asked to try another decoder (EPS, JPEG 2000, …);
- from the file header, before any pixel is decoded: each side at most `MAX_SIDE`, the longer
  side at most `MAX_ASPECT` times the shorter, at most `MAX_PIXELS` pixels;
- big pictures are decoded reduced: JPEG by its decoder's draft mode (1/2 to 1/8 scale), every
  other format box-reduced by a whole factor straight after decoding, in its own bit depth, so no
  full-resolution copy is ever converted (16-bit, 32-bit and float images are averaged in
  float32 and scaled to 8 bits by their own value range only at the reduced size).

Modes 1, L, LA, P (palette transparency kept), RGB, RGBA, CMYK, YCbCr, 16-bit (I;16*), 32-bit
integer (I) and float (F) grey; EXIF orientation is applied; animations give their first frame.
Anything unusable raises `InputError` with one sentence for the user.
"""

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image

from reader.errors import InputError

FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF")
FORMAT_NAMES = "PNG, JPEG, BMP, GIF, WebP or TIFF"
MAX_IMAGE_BYTES = 10 * 1024 * 1024   # largest encoded image read (uploads and data: URLs alike)
MAX_PIXELS = 16_000_000              # largest width × height decoded
MAX_SIDE = 16_384                    # largest width or height
MAX_ASPECT = 20                      # longest side ÷ shortest side
WORKING_SIDE = 1024                  # decoded pictures are brought to at most this longer side

HIGH_DEPTH_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
CONVERT_BEFORE_REDUCING = {"1": "L", "P": "RGBA", "PA": "RGBA"}  # reducing would average palette indices
ARRAY_CHANNELS = (1, 2, 3, 4)        # grey, grey + alpha, RGB, RGBA
UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
           5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_90}  # EXIF orientation → the transposition that undoes it


# --- public entry points -------------------------------------------------------------------------

def load_image(source) -> Image.Image:
    """Decode `source` into an RGBA PIL image whose longer side is at most `WORKING_SIDE`.

    `source` may be encoded bytes, a local file path (str or Path: for the command line and
    in-process callers; the server never passes a client's path here), a PIL image, or a numpy
    array (see `image_from_array`). Raises `InputError` for anything unusable.
    """
    if source is None:
        raise InputError("No image was given.")
    if isinstance(source, Image.Image):
        return bounded(source)
    if isinstance(source, np.ndarray):
        return bounded(image_from_array(source))
    if isinstance(source, (bytes, bytearray, memoryview)):
        return decode_bytes(bytes(source))
    if isinstance(source, (str, Path)):
        return decode_bytes(read_file(Path(source)))
    raise InputError(f"Unsupported input of type {type(source).__name__}; send an image.")


def decode_bytes(data: bytes) -> Image.Image:
    """Decode an encoded image file (first frame, EXIF orientation applied), within the limits."""
    if not data:
        raise InputError("The file is empty.")
    check_byte_size(len(data))
    image = open_header(data)
    if image.format == "JPEG":
        image.draft(image.mode, (WORKING_SIDE, WORKING_SIDE))  # the decoder scales by 1/2 to 1/8
    first_frame_loaded(image)  # before reading EXIF: PNG's EXIF reader would load, and hide errors
    orientation = exif_orientation(image)
    return upright(bounded(image), orientation)


def read_file(path: Path) -> bytes:
    """A local file's bytes: a regular file of at most `MAX_IMAGE_BYTES`, else InputError."""
    try:
        if not path.is_file():
            raise InputError("The image file could not be found.")
        check_byte_size(path.stat().st_size)
        with open(path, "rb") as file:
            data = file.read(MAX_IMAGE_BYTES + 1)
    except OSError:
        raise InputError("The image file could not be read.") from None
    check_byte_size(len(data))
    return data


def image_from_array(array: np.ndarray) -> Image.Image:
    """Turn a numpy image into a PIL image (L, LA, RGB or RGBA by its channel count).

    Accepts (H, W) or (H, W, C) with C in 1–4, of bool, integer or float dtype. Floats must be
    finite and in [0, 1] (scaled by 255) or in [0, 255]; uint8 is used as is; other integers are
    used as is when they fit 0–255 and scaled by their own range otherwise (e.g. 16-bit images).
    """
    check_array_shape(array)
    pixels = array_to_uint8(array)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    return Image.fromarray(np.ascontiguousarray(pixels))  # mode L, LA, RGB or RGBA by shape


# --- limits --------------------------------------------------------------------------------------

def check_byte_size(size: int) -> None:
    if size > MAX_IMAGE_BYTES:
        raise InputError(f"The file is too large (over {MAX_IMAGE_BYTES // 2**20} MB).")


def check_dimensions(size: tuple[int, int]) -> None:
    """Refuse, from the header alone, pictures that would be costly to decode."""
    width, height = size
    if width <= 0 or height <= 0:
        raise InputError("The image is empty (zero width or height).")
    if width * height > MAX_PIXELS:
        raise InputError(f"The image is too large (over {MAX_PIXELS // 1_000_000} million pixels).")
    if max(width, height) > MAX_SIDE:
        raise InputError(f"The image is too large (a side over {MAX_SIDE:,} pixels).")
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise InputError(f"The image is too long and thin (over {MAX_ASPECT}:1); crop it to the digits.")


# --- decoding steps ------------------------------------------------------------------------------

def open_header(data: bytes) -> Image.Image:
    """Identify the format and read the header (no pixels yet); check the dimensions."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(f"The image is too large (over {MAX_PIXELS // 1_000_000} million pixels).") from None
    except Exception:  # Pillow raises many types for data it cannot identify
        raise InputError(f"The file is not an image this demo can read (use {FORMAT_NAMES}).") from None
    check_dimensions(image.size)
    return image


def exif_orientation(image: Image.Image) -> int:
    """The EXIF orientation tag (1 = upright); a broken EXIF block counts as upright."""
    try:
        return int(image.getexif().get(ExifTags.Base.Orientation, 1))
    except Exception:
        return 1


def upright(image: Image.Image, orientation: int) -> Image.Image:
    method = UPRIGHT.get(orientation)
    return image.transpose(method) if method is not None else image


def bounded(image: Image.Image) -> Image.Image:
    """First frame, decoded, reduced in its own mode, as RGBA with the longer side ≤ WORKING_SIDE."""
    check_dimensions(image.size)
    first_frame_loaded(image)
    return to_rgba(reduced(image))


def first_frame_loaded(image: Image.Image) -> None:
    """Decode the pixels of the first frame; corrupt or truncated data → InputError."""
    try:
        if image.tell() != 0:  # an animation handed over at a later frame
            image.seek(0)
        image.load()
    except MemoryError:  # over the decoding budget's memory cap (demo.decode_budget), not a broken file
        raise
    except Exception:  # truncated files raise OSError; broken ones anything
        raise InputError("The image file is damaged or incomplete.") from None


def reduce_factor(size: tuple[int, int]) -> int:
    """The whole factor that brings the longer side to between WORKING_SIDE and twice that."""
    return max(1, max(size) // WORKING_SIDE)


def reduced(image: Image.Image) -> Image.Image:
    """Box-average `image` down by `reduce_factor`, before any conversion of the full picture."""
    factor = reduce_factor(image.size)
    if image.mode in HIGH_DEPTH_MODES:
        if image.mode.startswith("I;16"):  # Pillow cannot reduce these
            values = block_mean(np.asarray(image), factor)
        else:
            values = np.asarray(image.reduce(factor) if factor > 1 else image, dtype=np.float32)
        return Image.fromarray(scale_by_own_range(values))  # mode L
    if image.mode in CONVERT_BEFORE_REDUCING:
        image = image.convert(CONVERT_BEFORE_REDUCING[image.mode])
    if factor == 1:
        return image
    try:
        return image.reduce(factor)
    except ValueError:  # a mode Pillow cannot reduce (e.g. YCbCr)
        return image.convert("RGBA").reduce(factor)


def block_mean(values: np.ndarray, factor: int) -> np.ndarray:
    """Mean of each factor × factor block, in float32, without a full-size float copy."""
    height, width = values.shape[0] // factor, values.shape[1] // factor
    blocks = values[:height * factor, :width * factor].reshape(height, factor, width, factor)
    return blocks.mean(axis=(1, 3), dtype=np.float32)


def to_rgba(image: Image.Image) -> Image.Image:
    try:
        image = image.convert("RGBA")
    except MemoryError:
        raise
    except Exception:
        raise InputError(f"Images in colour mode {image.mode} are not supported.") from None
    return limit_size(image)


def limit_size(image: Image.Image, max_side: int = WORKING_SIDE) -> Image.Image:
    """Downscale (anti-aliased, aspect kept) so the longer side is at most `max_side`."""
    width, height = image.size
    scale = max_side / max(width, height)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


# --- numpy helpers -------------------------------------------------------------------------------

def check_array_shape(array: np.ndarray) -> None:
    if array.dtype.kind not in "buif":
        raise InputError(f"Image arrays must hold numbers, not {array.dtype}.")
    if array.ndim not in (2, 3):
        raise InputError(f"An image array must be 2-D or 3-D, not {array.ndim}-D.")
    if array.ndim == 3 and array.shape[2] not in ARRAY_CHANNELS:
        raise InputError(f"An image array must have 1 to 4 channels, not {array.shape[2]}.")
    if array.size == 0:
        raise InputError("The image is empty (zero width or height).")
    check_dimensions((array.shape[1], array.shape[0]))


def array_to_uint8(array: np.ndarray) -> np.ndarray:
    kind = array.dtype.kind
    if kind == "b":
        return array.astype(np.uint8) * 255
    if array.dtype == np.uint8:
        return array
    if kind == "f":
        return float_to_uint8(array)
    if array.dtype != np.uint16 and array.min() >= 0 and array.max() <= 255:
        return array.astype(np.uint8)
    return scale_by_own_range(array)


def float_to_uint8(array: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # float64 beyond float32's range becomes inf, refused below
        values = array.astype(np.float32)
    if not np.isfinite(values).all():
        raise InputError("The image contains invalid values (NaN or infinity).")
    low, high = values.min(), values.max()
    if low >= -1e-6 and high <= 1 + 1e-6:
        values = values * 255
    elif low < -0.5 or high > 255.5:
        raise InputError("Float image values must lie in [0, 1] or [0, 255].")
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def scale_by_own_range(values: np.ndarray) -> np.ndarray:
    """Map an image's [min, max] linearly onto 0–255 (for 16-bit, 32-bit and float images)."""
    values = np.asarray(values, dtype=np.float32)
    if not np.isfinite(values).all():
        raise InputError("The image contains invalid values (NaN or infinity).")
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.full(values.shape, 255 if high > 0 else 0, dtype=np.uint8)
    return np.rint((values - low) * (255 / (high - low))).astype(np.uint8)
