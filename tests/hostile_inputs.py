"""Worst-case pictures that the server must accept or refuse cheaply, shared by the resource test
(tests/test_server_limits.py) and the hostile mix of benchmarks/load.py.

Each one is small on disk and as costly to decode as the limits of `reader.images` allow: the most
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

from reader.images import MAX_ASPECT, MAX_PIXELS, MAX_SIDE


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


# --- pictures within every header limit whose decoding is costly (issue: a decode budget) --------

def jpeg_segments(data: bytes) -> list[bytes]:
    """A JPEG cut into its marker segments; a scan (SOS) segment keeps its entropy-coded data."""
    segments, at = [], 2  # after SOI
    while at < len(data):
        assert data[at] == 0xFF, at
        marker = data[at + 1]
        if marker == 0xD9:  # EOI
            break
        length = struct.unpack(">H", data[at + 2:at + 4])[0]
        end = at + 2 + length
        if marker == 0xDA:  # entropy-coded data runs to the next marker that is not a stuffed 0xFF00 or RSTn
            while not (data[end] == 0xFF and data[end + 1] not in (0x00, *range(0xD0, 0xD8))):
                end += 1
        segments.append(data[at:end])
        at = end
    return segments


def progressive_jpeg_with_scans(scans: int, side: int = 4000) -> bytes:
    """A plain grey progressive JPEG of side × side followed by `scans` repeats of one cheap AC scan
    (with its Huffman table): each repeat is a few dozen bytes, yet the decoder walks every
    coefficient block of the picture again for it."""
    page = Image.new("L", (side, side), 200)
    data = encode(page, "JPEG", progressive=True, quality=75)
    segments = jpeg_segments(data)
    first_ac = next(i for i, s in enumerate(segments) if s[1] == 0xDA and s[5 + 2 * s[4]] >= 1)  # Ss ≥ 1: AC
    table = segments[first_ac - 1] if segments[first_ac - 1][1] == 0xC4 else b""
    repeat = table + segments[first_ac]
    return b"\xff\xd8" + b"".join(segments) + repeat * scans + b"\xff\xd9"


def tiff_of_tiny_tiles(side: int = 1400) -> bytes:
    """An uncompressed grey TIFF of side × side cut into 1 × 1 tiles, every tile pointing at one shared
    byte: about 5 bytes a tile in the file, each tile a separate read for the decoder."""
    tiles = side * side
    entries = 10
    ifd_at = 8
    ifd_size = 2 + entries * 12 + 4
    offsets_at = ifd_at + ifd_size
    counts_at = offsets_at + 4 * tiles
    pixel_at = counts_at + tiles
    tags = [(256, 4, 1, side), (257, 4, 1, side), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
            (277, 3, 1, 1), (322, 4, 1, 1), (323, 4, 1, 1), (324, 4, tiles, offsets_at), (325, 1, tiles, counts_at)]
    ifd = struct.pack("<H", entries) + b"".join(
        struct.pack("<HHI", tag, kind, count) + (struct.pack("<HH", value, 0) if kind == 3 and count == 1
                                                 else struct.pack("<I", value))
        for tag, kind, count, value in tags) + struct.pack("<I", 0)
    return (b"II*\x00" + struct.pack("<I", ifd_at) + ifd + struct.pack("<I", pixel_at) * tiles
            + b"\x01" * tiles + b"\x80")


def bmp_of_one_pixel_runs(width: int = 4000, height: int = 4000) -> bytes:
    """An RLE8 BMP whose every row is a run of one pixel and an end-of-line: 4 bytes a row in the
    file, while the decoder pads each row to its width a pixel at a time."""
    data = b"\x01\x80\x00\x00" * height + b"\x00\x01"
    palette = b"".join(bytes((i, i, i, 0)) for i in range(256))
    offset = 14 + 40 + len(palette)
    header = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(data), 2835, 2835, 256, 0)
    return b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset) + header + palette + data


def png_of_many_chunks(chunks: int = 770_000) -> bytes:
    """A small grey PNG whose compressed data is split into one-byte IDAT chunks, padded with
    empty private chunks: the decoder pays a chunk's bookkeeping `chunks` times."""
    raw = zlib.compress(b"".join(b"\x00" + b"\xc8" * 64 for _ in range(64)), 9)
    idat = [png_chunk(b"IDAT", raw[i:i + 1]) for i in range(len(raw))]
    filler = png_chunk(b"zzTp", b"") * max(0, chunks - len(idat))
    header = struct.pack(">IIBBBBB", 64, 64, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + filler + b"".join(idat) + png_chunk(b"IEND", b""))


@lru_cache(maxsize=None)
def costly_to_decode() -> dict[str, bytes]:
    """name → file bytes within every byte and header limit, each costing seconds of CPU or
    hundreds of MB to decode unbounded: the decoding budget (demo.decode_budget) must refuse them."""
    return {
        "jpeg_progressive_3000_scans.jpg": progressive_jpeg_with_scans(3000),
        "tiff_two_million_tiles.tif": tiff_of_tiny_tiles(1400),
        "bmp_rle8_one_pixel_runs.bmp": bmp_of_one_pixel_runs(),
        "png_770000_chunks.png": png_of_many_chunks(),
    }
