"""Worst-case pictures that the server must accept or refuse cheaply, shared by the resource test
(tests/test_server_limits.py) and the hostile mix of benchmarks/load.py.

Each one is small on disk and as costly to decode as the limits of `demo.images` allow: the most
pixels (`MAX_PIXELS`), the longest side and the most extreme aspect ratio, in every mode that is
stored wide in memory (RGBA, 16-bit, 32-bit, float, palette, CMYK). They are made once per process
and cached as bytes.
"""

import io
import math
import struct
import zlib
from functools import lru_cache

import numpy as np
from PIL import Image

from demo.images import MAX_ASPECT, MAX_PIXELS, MAX_SIDE


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def raw_png(width: int, height: int, bit_depth: int, colour_type: int, row: bytes,
            extra: list[tuple[bytes, bytes]] = ()) -> bytes:
    """A PNG built chunk by chunk: every row the same (so 900 M pixels compress to ~150 kB)."""
    packer = zlib.compressobj(9)
    line = b"\x00" + row
    idat = b"".join(packer.compress(line) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    chunks = [(b"IHDR", header), *extra, (b"IDAT", idat), (b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(png_chunk(tag, data) for tag, data in chunks)


def png_claiming(width: int, height: int) -> bytes:
    """A real 1-bit PNG of width × height, every row blank: 78 kB for 40 M pixels."""
    return raw_png(width, height, 1, 0, b"\xff" * ((width + 7) // 8))


def striped_png(width: int, height: int, bit_depth: int, colour_type: int, channels: int,
                extra: list[tuple[bytes, bytes]] = ()) -> bytes:
    """A PNG written row by row (never held whole in memory): dark ink stripes on a light page, so
    the decoder must produce every pixel and the reader finds ink."""
    bytes_per_sample = max(1, bit_depth // 8)
    light = (b"\xf0" * bytes_per_sample) * channels if bit_depth >= 8 else b"\xff"
    dark = (b"\x10" * bytes_per_sample) * channels if bit_depth >= 8 else b"\x00"
    if bit_depth < 8:
        row_light = b"\xff" * math.ceil(width * bit_depth / 8)
        row_dark = b"\x00" * math.ceil(width * bit_depth / 8)
    else:
        row_light, row_dark = light * width, (light * (width // 3) + dark * (width - 2 * (width // 3))
                                              + light * (width // 3))[:len(light) * width]
    packer = zlib.compressobj(6)
    body = []
    for y in range(height):
        body.append(packer.compress(b"\x00" + (row_dark if height // 3 <= y < 2 * height // 3 else row_light)))
    body.append(packer.flush())
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    chunks = [(b"IHDR", header), *extra, (b"IDAT", b"".join(body)), (b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(png_chunk(tag, data) for tag, data in chunks)


def most_pixels_square() -> tuple[int, int]:
    side = math.isqrt(MAX_PIXELS)
    return side, side


def longest_allowed() -> tuple[int, int]:
    """The longest side the limits allow, at the most extreme aspect, within the pixel limit."""
    long_side = MAX_SIDE
    short_side = max(math.ceil(long_side / MAX_ASPECT), 1)
    while long_side * short_side > MAX_PIXELS:
        long_side -= 1
        short_side = math.ceil(long_side / MAX_ASPECT)
    return long_side, short_side


def big_array_image(mode: str, size: tuple[int, int]) -> Image.Image:
    width, height = size
    values = np.full((height, width), 0.9, np.float32)
    values[:, width // 3: 2 * width // 3] = 0.1
    if mode == "F":
        return Image.fromarray(values)
    if mode == "I":
        return Image.fromarray((values * 2_000_000).astype(np.int32))
    if mode == "I;16":
        return Image.fromarray((values * 65535).astype(np.uint16))
    return Image.fromarray((values * 255).astype(np.uint8)).convert(mode)


@lru_cache(maxsize=None)
def worst_cases() -> dict[str, bytes]:
    """name → file bytes, every one within the limits (the server must answer each)."""
    square, strip = most_pixels_square(), longest_allowed()
    return {
        "png_rgba_max_pixels.png": striped_png(*square, 8, 6, 4),
        "png_rgba_longest_side.png": striped_png(*strip, 8, 6, 4),
        "png_grey16_max_pixels.png": striped_png(*square, 16, 0, 1),
        "png_rgb16_max_pixels.png": striped_png(*square, 16, 2, 3),
        "png_palette_max_pixels.png": striped_png(*square, 8, 3, 1, extra=[(b"PLTE", b"\xf0\xf0\xf0" * 16 + b"\x10\x10\x10" * 240)]),
        "png_1bit_max_pixels.png": striped_png(*square, 1, 0, 1),
        "tiff_float_max_pixels.tif": encode(big_array_image("F", square), "TIFF", compression="tiff_deflate"),
        "tiff_int32_max_pixels.tif": encode(big_array_image("I", square), "TIFF", compression="tiff_deflate"),
        "tiff_cmyk_max_pixels.tif": encode(big_array_image("CMYK", square), "TIFF", compression="tiff_deflate"),
        "jpeg_max_pixels.jpg": encode(big_array_image("RGB", square), "JPEG", quality=50),
        "webp_longest_side.webp": encode(big_array_image("RGB", (min(strip[0], 16383), strip[1])), "WEBP", lossless=True),
        "gif_max_pixels.gif": encode(big_array_image("L", square).convert("P"), "GIF"),
    }
