"""demo.images: every supported format and mode decodes to RGBA, and bad input is an InputError."""

import base64
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from demo.images import (MAX_BYTES, MAX_SIDE, InputError, image_from_editor_value, load_image)

SIZE = (40, 30)  # width, height of the test pictures
SQUARE = (10, 8, 30, 22)  # a dark square on a light background, as (x0, y0, x1, y1)


def dark_square(mode: str = "L") -> Image.Image:
    """A light picture with a dark square in `mode` (converted from L)."""
    grey = np.full(SIZE[::-1], 230, dtype=np.uint8)
    x0, y0, x1, y1 = SQUARE
    grey[y0:y1, x0:x1] = 20
    return Image.fromarray(grey).convert(mode)


def grey_levels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.float32)


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


def test_transparent_ink_only_in_alpha_is_kept():
    rgba = np.zeros((30, 40, 4), dtype=np.uint8)
    rgba[10:20, 10:30, 3] = 255
    alpha = np.asarray(load_image(rgba))[..., 3]
    assert alpha[15, 15] == 255 and alpha[0, 0] == 0


def test_huge_images_are_downscaled_keeping_aspect():
    loaded = load_image(Image.new("L", (3000, 1500), 255))
    assert loaded.size == (MAX_SIDE, MAX_SIDE // 2)


def test_one_pixel_image_decodes(tmp_path):
    path = tmp_path / "dot.png"
    Image.new("L", (1, 1), 0).save(path)
    assert load_image(path).size == (1, 1)


def test_data_url_decodes():
    buffer = io.BytesIO()
    dark_square().save(buffer, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    assert_dark_square(load_image(url))


# --- refused input -------------------------------------------------------------------------------

def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` × `height` pixels (its data is far too short)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
            + chunk(b"IEND", b""))


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("width, height", [(100_000, 100_000), (8_000, 6_000), (1, 50_000_000)])
def test_decompression_bomb_header_is_refused_before_decoding(width, height):
    with pytest.raises(InputError, match="too large") as error:
        load_image(png_claiming(width, height))
    assert_user_message(error)


def test_large_one_bit_image_is_refused():
    data = png_bytes(Image.new("1", (8_000, 6_000), 1))  # 48 Mpx, a few kB compressed
    assert len(data) < 100_000
    with pytest.raises(InputError, match="too large"):
        load_image(data)


def test_oversized_file_is_refused():
    with pytest.raises(InputError, match="too large"):
        load_image(b"\x00" * (MAX_BYTES + 1))


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


def test_invalid_data_url_is_refused():
    with pytest.raises(InputError):
        load_image("data:image/png;base64,@@@@")


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


# --- sketchpad values ----------------------------------------------------------------------------

def canvas_with_stroke(transparent: bool = False) -> Image.Image:
    """A 280×280 sketchpad picture: black stroke, white (or transparent) background."""
    canvas = Image.new("RGBA", (280, 280), (0, 0, 0, 0) if transparent else (255, 255, 255, 255))
    canvas.paste((0, 0, 0, 255), (130, 40, 150, 240))
    return canvas


def test_editor_composite_is_used(tmp_path):
    path = tmp_path / "composite.png"
    canvas_with_stroke().save(path)
    for entry in (path, str(path), {"path": str(path), "url": None}, canvas_with_stroke(),
                  np.asarray(canvas_with_stroke())):
        image = image_from_editor_value({"background": None, "layers": [], "composite": entry})
        assert image.size == (280, 280)
        assert grey_levels(image)[140, 140] == 0 and grey_levels(image)[10, 10] == 255


def test_editor_layers_are_composited_over_the_background():
    background = Image.new("RGBA", (280, 280), (255, 255, 255, 255))
    value = {"background": background, "layers": [canvas_with_stroke(transparent=True)], "composite": None}
    grey = grey_levels(image_from_editor_value(value))
    assert grey[140, 140] == 0 and grey[10, 10] == 255


def test_editor_layers_without_background():
    value = {"background": None, "layers": [canvas_with_stroke(transparent=True)], "composite": None}
    rgba = np.asarray(image_from_editor_value(value))
    assert rgba[140, 140, 3] == 255 and rgba[10, 10, 3] == 0


@pytest.mark.parametrize("value", [None, {"background": None, "layers": [], "composite": None},
                                   {"composite": None}, {"layers": []}])
def test_editor_with_nothing_drawn_gives_none(value):
    assert image_from_editor_value(value) is None


@pytest.mark.parametrize("value", ["a string", 42, [1, 2], {}, {"unrelated": 1}, {"layers": "not a list"},
                                   {"composite": {"url": "http://example.com/x.png"}}, {"composite": 42},
                                   {"composite": b"not an image"}, {"layers": [{"path": None}]}])
def test_bad_editor_values_are_refused(value):
    with pytest.raises(InputError) as error:
        image_from_editor_value(value)
    assert_user_message(error)
