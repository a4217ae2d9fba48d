"""reader.images: every supported format and mode decodes to RGBA within the limits, big pictures are
decoded reduced to the same picture, and bad input is an InputError."""

import io
import re
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from reader import images
from reader.errors import InputError
from reader.images import MAX_ASPECT, MAX_IMAGE_BYTES, MAX_PIXELS, MAX_SIDE, WORKING_SIDE, load_image
from tests.helpers import documentation, grey_levels, png_bytes

SIZE = (40, 30)  # width, height of the test pictures
SQUARE = (10, 8, 30, 22)  # a dark square on a light background, as (x0, y0, x1, y1)


def dark_square(mode: str = "L") -> Image.Image:
    """A light picture with a dark square in `mode` (converted from L)."""
    grey = np.full(SIZE[::-1], 230, dtype=np.uint8)
    x0, y0, x1, y1 = SQUARE
    grey[y0:y1, x0:x1] = 20
    return Image.fromarray(grey).convert(mode)


def assert_dark_square(image: Image.Image) -> None:
    """The decoded picture is RGBA, full size, dark in the square and light outside."""
    assert image.mode == "RGBA"
    assert image.size == SIZE
    grey = grey_levels(image)
    x0, y0, x1, y1 = SQUARE
    assert grey[y0 + 2:y1 - 2, x0 + 2:x1 - 2].mean() < 80
    assert grey[:4, :4].mean() > 170


def assert_user_message(error: pytest.ExceptionInfo) -> None:
    message = str(error.value)
    assert message and "\n" not in message and message.endswith(".")


@pytest.mark.parametrize("fmt, suffix", [("PNG", "png"), ("JPEG", "jpg"), ("BMP", "bmp"), ("GIF", "gif"),
                                         ("WEBP", "webp"), ("TIFF", "tif")])
def test_every_format_decodes_from_path_and_bytes(tmp_path, fmt, suffix):
    path = tmp_path / f"square.{suffix}"
    dark_square("RGB").save(path, format=fmt)
    assert_dark_square(load_image(path))
    assert_dark_square(load_image(str(path)))
    assert_dark_square(load_image(path.read_bytes()))


@pytest.mark.parametrize("mode, fmt", [("1", "PNG"), ("L", "PNG"), ("LA", "PNG"), ("P", "PNG"), ("RGB", "PNG"),
                                       ("RGBA", "PNG"), ("CMYK", "JPEG"), ("CMYK", "TIFF"), ("I;16", "PNG"),
                                       ("I", "TIFF"), ("F", "TIFF")])
def test_every_mode_decodes(tmp_path, mode, fmt):
    path = tmp_path / f"square.{fmt.lower()}"
    dark_square(mode).save(path, format=fmt)
    with Image.open(path) as original:
        assert original.mode.startswith(mode[:1])  # the file really is in that mode family
    assert_dark_square(load_image(path))


def test_palette_transparency_becomes_alpha(tmp_path):
    image = dark_square("P")
    transparent_index = image.getpixel((0, 0))
    path = tmp_path / "palette.png"
    image.save(path, transparency=transparent_index)
    alpha = np.asarray(load_image(path))[..., 3]
    x0, y0, x1, y1 = SQUARE
    assert alpha[0, 0] == 0 and alpha[(y0 + y1) // 2, (x0 + x1) // 2] == 255


def test_16_bit_is_scaled_by_its_own_range(tmp_path):
    values = np.full(SIZE[::-1], 3000, dtype=np.uint16)
    values[5:10, 5:10] = 1000
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    grey = grey_levels(load_image(path))
    assert grey.min() == 0 and grey.max() == 255
    assert grey[7, 7] == 0 and grey[0, 0] == 255


def test_animated_gif_gives_its_first_frame(tmp_path):
    black = Image.new("L", SIZE, 0)
    white = Image.new("L", SIZE, 255)
    grey = Image.new("L", SIZE, 128)
    path = tmp_path / "animation.gif"
    black.save(path, save_all=True, append_images=[white, grey], duration=100, loop=0)
    with Image.open(path) as gif:
        assert gif.n_frames == 3
    assert grey_levels(load_image(path)).max() < 10
    with Image.open(path) as gif:
        gif.seek(2)  # handed over at a later frame, as an open PIL image
        assert grey_levels(load_image(gif)).max() < 10


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new("RGB", (60, 20), "white")
    image.paste((0, 0, 0), (0, 0, 10, 20))  # a black band on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif, quality=95)
    loaded = load_image(path)
    assert loaded.size == (20, 60)
    grey = grey_levels(loaded)
    assert grey[:8].mean() < 60 and grey[-20:].mean() > 200  # the band is now at the top


def phone_photo(tmp_path, orientation: int):
    """A JPEG as a phone writes it: the pixels as the sensor saw them (60×20, a black band on the
    left, a grey square in the top-right corner) and the EXIF orientation that displays it upright."""
    image = Image.new("RGB", (60, 20), "white")
    image.paste((0, 0, 0), (0, 0, 10, 20))
    image.paste((128, 128, 128), (50, 0, 60, 8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"orientation-{orientation}.jpg"
    image.save(path, exif=exif, quality=95)
    return path


def test_exif_orientation_8_turns_the_photo_the_other_way(tmp_path):
    """Orientation 8 ("rotate 90° counter-clockwise to display": a phone held the other way from 6)
    puts the left band at the bottom. Broken variant caught: 8 undone like 6 (band at the top)."""
    loaded = load_image(phone_photo(tmp_path, 8))
    assert loaded.size == (20, 60)
    grey = grey_levels(loaded)
    assert grey[-8:].mean() < 60 and grey[:20].mean() > 200  # the band is now at the bottom


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_shown_as_pillow_shows_it(tmp_path, orientation):
    """All eight orientations (mirrored ones too) give the picture Pillow's own `exif_transpose`
    gives, pixel for pixel (within JPEG's noise)."""
    from PIL import ImageOps
    path = phone_photo(tmp_path, orientation)
    with Image.open(path) as original:
        expected = grey_levels(ImageOps.exif_transpose(original))
    got = grey_levels(load_image(path))
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 2


def test_transparent_ink_only_in_alpha_is_kept():
    rgba = np.zeros((30, 40, 4), dtype=np.uint8)
    rgba[10:20, 10:30, 3] = 255
    alpha = np.asarray(load_image(rgba))[..., 3]
    assert alpha[15, 15] == 255 and alpha[0, 0] == 0


def test_huge_images_are_downscaled_keeping_aspect():
    loaded = load_image(Image.new("L", (3000, 1500), 255))
    assert loaded.size == (WORKING_SIDE, WORKING_SIDE // 2)


@pytest.mark.parametrize("mode, fmt", [("RGBA", "PNG"), ("I;16", "PNG"), ("F", "TIFF"), ("I", "TIFF"), ("P", "PNG"),
                                       ("1", "PNG"), ("RGB", "JPEG"), ("CMYK", "TIFF")])
def test_big_pictures_decoded_reduced_look_like_the_full_decode(tmp_path, mode, fmt):
    """The reduced path (draft for JPEG, box-reduce in the file's own mode) gives the picture a full
    decode and one resize would: same size, same content within a few grey levels."""
    rng = np.random.default_rng(5)
    grey = np.full((2600, 3300), 230, np.uint8)
    for _ in range(12):  # dark bars of several sizes
        y, x = rng.integers(0, 2300), rng.integers(0, 3000)
        grey[y:y + rng.integers(40, 300), x:x + rng.integers(40, 300)] = 25
    picture = Image.fromarray(grey)
    picture = {"I;16": lambda: Image.fromarray(grey.astype(np.uint16) * 257),
               "F": lambda: Image.fromarray(grey.astype(np.float32) / 255),
               "I": lambda: Image.fromarray(grey.astype(np.int32) * 1000),
               "1": lambda: picture.convert("1", dither=Image.Dither.NONE)}.get(mode, lambda: picture.convert(mode))()
    if mode in ("I;16", "F", "I"):  # scaled by their own range: 25 → 0, 230 → 255
        grey = np.rint((grey.astype(np.float32) - 25) * 255 / 205).astype(np.uint8)
    elif mode == "1":
        grey = np.where(grey > 127, 255, 0).astype(np.uint8)
    path = tmp_path / f"big.{fmt.lower()}"
    picture.save(path, format=fmt, **({"compression": "tiff_deflate"} if fmt == "TIFF" else {}))
    reduced = load_image(path)
    expected = Image.fromarray(grey).resize(reduced.size, Image.Resampling.LANCZOS)
    assert reduced.size[0] == WORKING_SIDE and abs(reduced.size[1] - WORKING_SIDE * 2600 / 3300) <= 1
    difference = np.abs(grey_levels(reduced) - grey_levels(expected))
    assert np.median(difference) <= 2 and np.percentile(difference, 99) <= 40


def test_one_pixel_image_decodes(tmp_path):
    path = tmp_path / "dot.png"
    Image.new("L", (1, 1), 0).save(path)
    assert load_image(path).size == (1, 1)


# --- refused input -------------------------------------------------------------------------------

def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` × `height` pixels (its data is far too short)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize("width, height, fragment", [
    (100_000, 100_000, "too large"), (8_000, 6_000, "too large"),               # pixels
    (1, 50_000_000, "too large"), (40_000_000, 1, "too large"),                 # pixels and a side
    (MAX_SIDE + 1, 400, "too large"),                                           # a side
    (MAX_ASPECT * 50 + 1, 50, "long and thin"), (3, 3 * MAX_ASPECT + 1, "long and thin"),  # aspect
    (0, 5, "empty|not an image"),
])
def test_headers_past_the_limits_are_refused_before_decoding(width, height, fragment):
    with pytest.raises(InputError, match=fragment) as error:
        load_image(png_claiming(width, height))
    assert_user_message(error)


def test_limits_at_their_edge_are_accepted():
    side = int(MAX_PIXELS ** 0.5)
    assert load_image(png_bytes(Image.new("L", (side, side), 255))).size == (WORKING_SIDE, WORKING_SIDE)
    wide = load_image(png_bytes(Image.new("L", (MAX_ASPECT * 100, 100), 255)))
    assert wide.size == (WORKING_SIDE, round(WORKING_SIDE / MAX_ASPECT))


def test_large_one_bit_image_is_refused():
    data = png_bytes(Image.new("1", (8_000, 6_000), 1))  # 48 Mpx, a few kB compressed
    assert len(data) < 100_000
    with pytest.raises(InputError, match="too large"):
        load_image(data)


def test_oversized_file_is_refused():
    with pytest.raises(InputError, match="too large"):
        load_image(b"\x00" * (MAX_IMAGE_BYTES + 1))


@pytest.mark.parametrize("fmt, options", [("PCX", {}), ("JPEG2000", {}), ("EPS", {}), ("ICO", {}), ("TGA", {}),
                                          ("PPM", {}), ("SGI", {}), ("IM", {})])
def test_formats_outside_the_list_are_refused_unread(fmt, options):
    """Pillow could read these (EPS would even run Ghostscript where installed); the demo never asks it to."""
    from io import BytesIO
    buffer = BytesIO()
    try:
        Image.new("RGB", (32, 32), "white").save(buffer, fmt, **options)
    except (OSError, KeyError, ValueError):
        pytest.skip(f"this Pillow cannot write {fmt}")  # the format is then unreadable anyway
    with pytest.raises(InputError, match="not an image this demo can read"):
        load_image(buffer.getvalue())
    assert images.FORMATS == ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF")


def test_truncated_file_is_refused():
    data = png_bytes(Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200), dtype=np.uint8)))
    with pytest.raises(InputError) as error:
        load_image(data[: len(data) // 2])
    assert_user_message(error)


@pytest.mark.parametrize("data", [b"", b"hello, this is not an image\n", bytes(range(256)) * 10,
                                  b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, b"GIF89a" + b"\xff" * 20])
def test_non_images_and_corrupt_bytes_are_refused(data):
    with pytest.raises(InputError) as error:
        load_image(data)
    assert_user_message(error)


def test_text_file_and_missing_file_are_refused(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("just some text pretending to be a PNG\n")
    with pytest.raises(InputError):
        load_image(text)
    with pytest.raises(InputError, match="could not be found"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(InputError):
        load_image(tmp_path)  # a folder


def test_zero_size_image_is_refused():
    with pytest.raises(InputError, match="empty"):
        load_image(Image.new("L", (0, 5)))


@pytest.mark.parametrize("source", [None, 42, 3.5, object(), ["a"], {"a": 1}])
def test_unsupported_python_objects_are_refused(source):
    with pytest.raises(InputError):
        load_image(source)


# --- numpy arrays --------------------------------------------------------------------------------

@pytest.mark.parametrize("array", [
    np.full((30, 40), 200, np.uint8),
    np.full((30, 40), 0.8, np.float32),
    np.full((30, 40), 200.0, np.float64),
    np.ones((30, 40), bool),
    np.full((30, 40), 60_000, np.uint16),
    np.full((30, 40, 1), 200, np.uint8),
    np.full((30, 40, 2), 200, np.uint8),
    np.full((30, 40, 3), 200, np.uint8),
    np.full((30, 40, 4), 200, np.uint8),
    np.full((30, 40), 200, np.int64),
])
def test_numpy_images_of_every_layout_decode(array):
    image = load_image(array)
    assert image.mode == "RGBA" and image.size == (40, 30)


def test_numpy_float_scales():
    unit = np.linspace(0, 1, 40 * 30, dtype=np.float32).reshape(30, 40)
    assert grey_levels(load_image(unit)).max() == 255
    assert grey_levels(load_image(unit * 255)).max() == 255
    assert np.abs(grey_levels(load_image(unit)) - grey_levels(load_image(unit * 255))).max() <= 1


@pytest.mark.parametrize("array, fragment", [
    (np.full((10, 10), np.nan, np.float32), "invalid values"),
    (np.array([[0.5, np.inf], [0.0, 1.0]]), "invalid values"),
    (np.zeros((0, 10), np.uint8), "empty"),
    (np.zeros((10, 0, 3), np.uint8), "empty"),
    (np.zeros(10, np.uint8), "2-D or 3-D"),
    (np.zeros((2, 10, 10, 3), np.uint8), "2-D or 3-D"),
    (np.zeros((10, 10, 5), np.uint8), "channels"),
    (np.zeros((3, 3), dtype=object), "numbers"),
    (np.zeros((3, 3), dtype=complex), "numbers"),
    (np.full((10, 10), -40.0), "[0, 1] or [0, 255]"),
    (np.full((10, 10), 1000.0), "[0, 1] or [0, 255]"),
    (np.zeros((1, 50_000_000), bool), "too large"),
])
def test_bad_numpy_arrays_are_refused(array, fragment):
    with pytest.raises(InputError) as error:
        load_image(array)
    assert fragment in str(error.value)
    assert_user_message(error)


# --- what the mutation tests asked for (benchmarks/mutation.py, issue 40) -------------------------

def limits_row(name: str) -> str:
    """The row of docs/serving.md's "Limits and security" table that starts with `name`."""
    return next(line for line in documentation().splitlines() if line.startswith(f"| {name} |"))


def documented_mb(name: str) -> int:
    return int(re.search(r"\| (\d+) MB", limits_row(name)).group(1))


def test_the_byte_limit_is_the_documented_one_and_its_message_says_so():
    """docs/serving.md: "image file | 10 MB | "The file is too large (over 10 MB)."". Broken variants
    caught: a larger MAX_IMAGE_BYTES (11 MB: one byte over 10 MB is read), a message of "10.0 MB"
    (`/` for `//`) or "5 MB" (2**21)."""
    limit_mb = documented_mb("image file")
    with pytest.raises(InputError) as error:
        load_image(b"\x00" * (limit_mb * 2**20 + 1))
    assert str(error.value) == f"The file is too large (over {limit_mb} MB)."
    assert f'"{error.value}"' in limits_row("image file")
    with pytest.raises(InputError, match="not an image"):  # exactly the limit: read, then found not an image
        load_image(b"\x00" * (limit_mb * 2**20))


def test_the_refusal_of_a_format_names_the_documented_formats():
    """docs/serving.md lists "PNG, JPEG, BMP, GIF, WebP, TIFF"; the refusal names each of them as a
    word. Broken variant caught: a mangled FORMAT_NAMES ("XXPNG, … TIFFXX")."""
    listed = re.search(r"\| formats \| ([\w, ]+) only", limits_row("formats")).group(1).split(", ")
    with pytest.raises(InputError) as error:
        load_image(b"hello, this is not an image\n")
    for name in listed:
        assert re.search(rf"\b{name}\b", str(error.value)), (name, str(error.value))


@pytest.mark.parametrize("size", [(100_000, 100_000), (20_000, 5_000)])
def test_pictures_pillow_calls_bombs_are_refused_with_the_documented_pixel_count(size):
    """Over Pillow's own bomb threshold the refusal comes from `open_header`; it states the documented
    figure (16,000,000 pixels → "over 16 million pixels"). Broken variant caught: "16.0 million"."""
    pixels = int(re.search(r"([\d,]+) pixels", limits_row("picture size, from the header before decoding"))
                 .group(1).replace(",", ""))
    with pytest.raises(InputError) as error:
        load_image(png_claiming(*size))
    assert f"(over {pixels // 1_000_000} million pixels)" in str(error.value)


def test_no_image_says_so():
    """Broken variant caught: `source is None` never checked (the sentence becomes "Unsupported input
    of type NoneType")."""
    with pytest.raises(InputError, match="^No image was given.$"):
        load_image(None)


def test_big_endian_16_bit_tiff_is_scaled_by_its_own_range():
    """A 16-bit big-endian TIFF opens as I;16B. Broken variant caught: I;16B left out of
    HIGH_DEPTH_MODES (converted as if 8-bit: all white)."""
    values = np.full(SIZE[::-1], 3000, dtype=">u2")
    values[5:10, 5:10] = 1000
    buffer = io.BytesIO()
    Image.fromarray(values).save(buffer, "TIFF")
    assert Image.open(io.BytesIO(buffer.getvalue())).mode == "I;16B"
    grey = grey_levels(load_image(buffer.getvalue()))
    assert grey[7, 7] == 0 and grey[0, 0] == 255


def test_a_big_palette_picture_with_alpha_is_reduced_by_colour_not_by_index():
    """A PA picture (palette + alpha) of alternating black and white columns is reduced to grey.
    Broken variants caught: PA reduced by averaging its palette indices (index 128 here is red), or
    converted to a mode that does not exist (Pillow then gives RGB: the transparency lost)."""
    indices = np.zeros((1500, 3000), np.uint8)
    indices[:, 1::2] = 255
    palette = [255, 0, 0] * 256
    palette[:3], palette[-3:] = [0, 0, 0], [255, 255, 255]
    picture = Image.fromarray(indices, "L").convert("P")
    picture.putpalette(palette)
    picture = picture.convert("PA")
    alpha = np.full(indices.shape, 255, np.uint8)
    alpha[:500] = 0  # the top third transparent
    picture.putalpha(Image.fromarray(alpha))
    assert picture.mode == "PA"
    rgba = np.asarray(load_image(picture), dtype=np.float32)
    rgb = rgba[200:, :, :3]  # away from the transparent third, whose colour no one sees
    assert np.abs(rgb[..., 0] - rgb[..., 1]).max() <= 2  # grey, not red
    assert 100 < rgb[200:].mean() < 155
    assert rgba[:150, :, 3].max() == 0 and rgba[200:, :, 3].min() == 255  # its transparency kept


def test_an_animation_handed_over_at_its_second_frame_gives_its_first(tmp_path):
    """Broken variant caught: only frames after the second rewound (`tell() != 1`)."""
    path = tmp_path / "animation.gif"
    Image.new("L", SIZE, 0).save(path, save_all=True, append_images=[Image.new("L", SIZE, 255)], duration=100)
    with Image.open(path) as gif:
        gif.seek(1)
        assert grey_levels(load_image(gif)).max() < 10


def test_an_unreadable_exif_orientation_counts_as_upright():
    """An EXIF block whose orientation is text ("six") cannot be read: the photo is shown as stored.
    Broken variant caught: a broken orientation read as 2 (mirrored: the band on the right)."""
    picture = Image.new("RGB", (60, 20), "white")
    picture.paste((0, 0, 0), (0, 0, 10, 20))  # a black band on the left
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=95)
    jpeg = buffer.getvalue()
    tiff = b"MM\x00*" + struct.pack(">IH", 8, 1) + struct.pack(">HHI", 0x0112, 2, 4) + b"six\x00" + struct.pack(">I", 0)
    app1 = b"Exif\x00\x00" + tiff
    data = jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]
    assert Image.open(io.BytesIO(data)).getexif().get(0x0112) == "six"
    grey = grey_levels(load_image(data))
    assert grey.shape == (20, 60) and grey[:, :8].mean() < 60 and grey[:, -20:].mean() > 200


def decoded_sizes(monkeypatch) -> dict:
    """Spies on the decoding steps: the sizes handed to `reduced` (what was decoded) and to `to_rgba`
    (what is converted at full depth)."""
    seen = {"reduced": [], "to_rgba": []}
    for step in seen:
        original = getattr(images, step)

        def spy(image, _step=step, _original=original):
            seen[_step].append(image.size)
            return _original(image)
        monkeypatch.setattr(images, step, spy)
    return seen


def documented_reduced_side() -> int:
    """docs/serving.md: big pictures are decoded reduced "to at most 2,048 px, then 1,024 px"."""
    found = re.search(r"to at most ([\d,]+) px, then ([\d,]+) px", limits_row("decoding, within the budget"))
    return int(found.group(1).replace(",", ""))


@pytest.mark.parametrize("mode, fmt, size", [("L", "PNG", (2100, 1000)), ("F", "TIFF", (2100, 1000)),
                                             ("L", "PNG", (16_000, 800)), ("RGB", "PNG", (4100, 300))])
def test_big_pictures_are_reduced_before_they_are_converted(monkeypatch, mode, fmt, size):
    """What reaches the RGBA conversion has its longer side at most the documented 2,048 px. Broken
    variants caught: no reduction by 2 (`factor > 2`, `factor == 2`), a factor from the shorter side
    (`min` for `max`: a 16,000 × 800 picture converted whole)."""
    picture = Image.new("L", size, 200)
    picture.paste(30, (size[0] // 3, size[1] // 3, 2 * size[0] // 3, 2 * size[1] // 3))
    if mode == "F":
        picture = Image.fromarray(np.asarray(picture, np.float32) / 255)
    elif mode != "L":
        picture = picture.convert(mode)
    buffer = io.BytesIO()
    picture.save(buffer, fmt)
    seen = decoded_sizes(monkeypatch)
    loaded = load_image(buffer.getvalue())
    assert max(loaded.size) == WORKING_SIDE
    assert seen["to_rgba"] and max(max(s) for s in seen["to_rgba"]) <= documented_reduced_side(), seen


def test_a_big_jpeg_is_decoded_reduced_by_its_decoder(monkeypatch):
    """JPEG's draft mode: the decoder itself produces at most the documented 2,048 px. Broken variant
    caught: draft mode never asked for (the 4,000 × 3,000 pixels decoded whole)."""
    buffer = io.BytesIO()
    Image.new("RGB", (4000, 3000), "white").save(buffer, "JPEG")
    seen = decoded_sizes(monkeypatch)
    assert load_image(buffer.getvalue()).size == (WORKING_SIDE, 768)
    assert seen["reduced"] and max(seen["reduced"][0]) <= documented_reduced_side(), seen


def test_a_one_pixel_array_decodes():
    """Broken variant caught: arrays of one value refused as empty (`size == 1`)."""
    assert load_image(np.zeros((1, 1), np.uint8)).size == (1, 1)


def test_bool_arrays_are_black_and_white():
    """Broken variant caught: True read as grey level 1 instead of 255."""
    array = np.zeros((30, 40), bool)
    array[:, 20:] = True
    grey = grey_levels(load_image(array))
    assert grey[0, 0] == 0 and grey[0, 39] == 255


def test_integer_arrays_within_0_255_are_used_as_they_are_and_16_bit_by_its_range():
    """image_from_array's rule: integers that fit 0–255 as they are (255 included), uint16 always by
    its own range. Broken variants caught: uint16 read as is and other integers scaled
    (`dtype == uint16`), a maximum of exactly 255 scaled (`max() < 255`)."""
    values = np.full((30, 40), 100, np.int64)
    values[:, 20:] = 255
    grey = grey_levels(load_image(values))
    assert grey[0, 0] == 100 and grey[0, 39] == 255
    deep = np.full((30, 40), 100, np.uint16)
    deep[:, 20:] = 200
    grey = grey_levels(load_image(deep))
    assert grey[0, 0] == 0 and grey[0, 39] == 255


@pytest.mark.parametrize("value, expected", [(60_000, 255), (0, 0)])
def test_a_16_bit_picture_of_one_value_is_white_or_black(value, expected):
    """Scaled by its own range, a flat picture has none: any positive value is white, 0 black.
    Broken variants caught: the flat case not handled (0 × ∞), 0 read as white (`high >= 0`) or as 1."""
    grey = grey_levels(load_image(np.full((30, 40), value, np.uint16)))
    assert (grey == expected).all()


@pytest.mark.parametrize("low, high, expected_max", [
    (np.float32(-1e-6), 1.0, 255),          # rounding just below 0: still a [0, 1] picture
    (0.0, np.float32(1 + 1e-6), 255),       # rounding just above 1: still a [0, 1] picture
    (0.0, 2.0, 2),                          # a [0, 255] picture that happens to be dark: not scaled
    (0.0, 255.5, 255),                      # rounds to 256: kept at 255, not wrapped to 0
])
def test_float_arrays_scale_by_their_range_within_rounding(low, high, expected_max):
    """Broken variants caught: the rounding tolerance at either end made strict (`>`/`<`), a [0, 2]
    picture taken for a [0, 1] one (tolerance 1.000001), values clipped to 256 (wrapping to 0)."""
    array = np.full((30, 40), low, np.float32)
    array[:, 20:] = high
    assert grey_levels(load_image(array)).max() == expected_max


def test_float_arrays_past_255_by_more_than_rounding_are_refused():
    """Broken variant caught: the upper bound moved to 256.5."""
    with pytest.raises(InputError, match=r"\[0, 1\] or \[0, 255\]"):
        load_image(np.full((10, 10), 256.0, np.float32))
