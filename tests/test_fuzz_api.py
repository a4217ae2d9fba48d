"""Hostile input against the running app, through its public API (gradio_client), one case per test.

Every case must end in one of:
- a valid answer: for one digit, a label with 10 confidences (or the "Draw a digit" prompt when
  nothing usable was drawn); for a number, "Read: …" (or the "Write a number" prompt);
- an error the client raises whose message is one clear sentence for the user: not a bare
  "Error", no traceback, no server file paths, not Gradio's internal "Could not preprocess …";
and after EVERY case the server must still read a real MNIST test "7" correctly.

Cases name what is expected: `digit`/`blank`/`error` (or several when more than one answer is
reasonable), the label when the right digit is known, and a pattern the error message must match.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from PIL import Image

from tests.helpers import ROOT
from tests.hostile_inputs import encode, png_chunk, raw_png

EXAMPLES = ROOT / "artifacts" / "examples"
SEVEN = EXAMPLES / "mnist_test_0000_digit_7.png"
TWO = EXAMPLES / "mnist_test_0001_digit_2.png"
CALL_TIMEOUT_S = 60
DIGIT_OUT = ("/classify_sketch", "/classify_upload", "/classify_photo")
BLANK_DIGIT = "Draw a digit"
BLANK_NUMBER = "Write a number"
# What a user-facing message must not contain: Python/Gradio internals instead of a sentence.
UNCLEAR = [
    (re.compile(r"Traceback \(most recent call last\)"), "a Python traceback"),
    (re.compile(r"Could not preprocess input component"), "Gradio's internal preprocessing failure"),
    (re.compile(r"Original error:"), "a raw internal exception"),
    (re.compile(r"/tmp/|/work/|/home/|[A-Z]:\\\\"), "a server file path"),
    (re.compile(r"\b(?:OSError|UnidentifiedImageError|DecompressionBombError|KeyError|TypeError|"
                r"AttributeError|struct\.error)\b"), "a Python exception name"),
]


# --- making hostile files ------------------------------------------------------------------------

def seven() -> Image.Image:
    """The real MNIST test digit 7 (white on black, 28×28), enlarged like a user's picture."""
    return Image.open(SEVEN).convert("L").resize((112, 112), Image.Resampling.BILINEAR)


def dark_on_light(image: Image.Image) -> Image.Image:
    return Image.eval(image.convert("L"), lambda v: 255 - v)


@lru_cache(maxsize=None)
def bomb_png_1bit(side: int = 30_000) -> bytes:
    """1-bit grey, side × side, all white: ~150 kB on disk, 900 M pixels when decoded."""
    return raw_png(side, side, 1, 0, b"\xff" * ((side + 7) // 8))


@lru_cache(maxsize=None)
def bomb_png_palette(side: int = 20_000) -> bytes:
    """1-bit palette, side × side, one colour: ~50 kB on disk, 400 M pixels when decoded."""
    return raw_png(side, side, 1, 3, b"\x00" * ((side + 7) // 8), extra=[(b"PLTE", b"\xff\xff\xff\x00\x00\x00")])


def png_with_text_bomb() -> bytes:
    """A valid small PNG plus a zTXt chunk that inflates to 64 MB (Pillow caps text chunks)."""
    body = encode(seven(), "PNG")
    ztxt = b"Comment\x00\x00" + zlib.compress(b"A" * (64 * 1024 * 1024), 9)
    return body[:33] + png_chunk(b"zTXt", ztxt) + body[33:]   # after the 8-byte signature + IHDR


def png_bad_crc() -> bytes:
    data = bytearray(encode(seven(), "PNG"))
    idat = data.index(b"IDAT")
    data[idat + 10] ^= 0xFF                                     # a data byte; the CRC no longer matches
    return bytes(data)


def png_ihdr(width: int, height: int) -> bytes:
    """A real PNG whose header is rewritten to claim other dimensions (CRC fixed up)."""
    data = bytearray(encode(seven(), "PNG"))
    header = bytearray(data[16:29])
    header[0:8] = struct.pack(">II", width, height)
    data[8:33] = png_chunk(b"IHDR", bytes(header))
    return bytes(data)


def jpeg_claiming(width: int, height: int) -> bytes:
    """A real JPEG whose SOF0 header claims width × height."""
    data = bytearray(encode(dark_on_light(seven()), "JPEG", quality=90))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def jpeg_corrupt_scan() -> bytes:
    data = bytearray(encode(dark_on_light(seven()), "JPEG", quality=90))
    start = data.index(b"\xff\xda") + 20
    rng = np.random.default_rng(1)
    data[start:start + 200] = bytes(int(v) & 0xFE for v in rng.integers(0, 255, 200))  # no 0xFF markers
    return bytes(data)


def exif_rotated_jpeg() -> bytes:
    """Pixels stored turned 90°, with EXIF orientation 6 telling viewers to turn them upright."""
    upright = dark_on_light(seven()).convert("RGB")
    stored = upright.transpose(Image.Transpose.ROTATE_90)      # exif_transpose(6) undoes it
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(stored, "JPEG", quality=95, exif=exif.tobytes())


def png_broken_exif() -> bytes:
    return encode(dark_on_light(seven()), "PNG", exif=b"Exif\x00\x00II*\x00\xff\xff\xff\xff garbage")


def animated_gif() -> bytes:
    frames = [dark_on_light(seven()), dark_on_light(Image.open(TWO).resize((112, 112)))]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def multipage_tiff() -> bytes:
    frames = [dark_on_light(seven()), dark_on_light(Image.open(TWO).resize((112, 112)))]
    return encode(frames[0], "TIFF", save_all=True, append_images=frames[1:])


def cmyk_jpeg() -> bytes:
    return encode(dark_on_light(seven()).convert("RGB").convert("CMYK"), "JPEG", quality=95)


def png_16bit() -> bytes:
    values = np.asarray(seven(), dtype=np.uint16) * 257             # 0..65535, white ink on black
    return encode(Image.fromarray(values), "PNG")                    # mode I;16


def tiff_float(nan: bool = False) -> bytes:
    values = np.asarray(seven(), dtype=np.float32) / 255
    if nan:
        values[0, 0] = np.nan
    return encode(Image.fromarray(values), "TIFF")                  # mode F


def palette_png_transparent() -> bytes:
    """Black ink on a transparent palette background (tRNS: index 0 transparent)."""
    ink = np.asarray(seven()) > 96
    image = Image.frombytes("P", ink.shape[::-1], ink.astype(np.uint8).tobytes())
    image.putpalette([255, 255, 255, 0, 0, 0])
    return encode(image, "PNG", transparency=0)


def ink_only_in_alpha() -> bytes:
    """LA: black everywhere, the digit only in alpha (what an API client's transparent PNG has)."""
    alpha = seven()
    return encode(Image.merge("LA", (Image.new("L", alpha.size, 0), alpha)), "PNG")


def rgba_stroke_layer() -> bytes:
    alpha = seven().resize((280, 280))
    return encode(Image.merge("RGBA", (*[Image.new("L", alpha.size, 0)] * 3, alpha)), "PNG")


def solid(mode: str, size: tuple[int, int], colour) -> bytes:
    return encode(Image.new(mode, size, colour), "PNG")


def long_strip(size: tuple[int, int]) -> bytes:
    """An extreme aspect ratio with a dark bar in the middle third (something to find)."""
    values = np.full(size[::-1], 255, dtype=np.uint8)
    if size[0] > size[1]:
        values[:, size[0] // 3: 2 * size[0] // 3] = 0
    else:
        values[size[1] // 3: 2 * size[1] // 3, :] = 0
    return encode(Image.fromarray(values), "PNG")


def digit_in_wide_canvas() -> bytes:
    canvas = Image.new("L", (4000, 300), 0)
    canvas.paste(Image.open(SEVEN).convert("L").resize((200, 200)), (1900, 50))
    return encode(canvas, "PNG")


def noise_png() -> bytes:
    rng = np.random.default_rng(7)
    values = np.where(rng.random((240, 700)) < 0.08, 0, 255).astype(np.uint8)
    return encode(Image.fromarray(values), "PNG")


def random_bytes(n: int = 4096, seed: int = 3) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def seven_png() -> bytes:
    return SEVEN.read_bytes()


# --- the cases -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    id: str
    api: str
    payload: Callable[[Callable[[str, bytes], object]], list]   # given file(name, bytes) → handle
    expect: tuple[str, ...]                 # allowed outcomes: digit, blank, number, error
    label: str | None = None                # the right digit, when there is one
    message: str | None = None              # regex the error message must match (case-insensitive)


def upload(name: str, data: Callable[[], bytes], expect, label=None, message=None, api="/classify_upload"):
    return Case(f"{api.strip('/')}-{name}", api, lambda file: [file(name, data())],
                tuple(expect.split("|")), label, message)


def sketch(name: str, value: Callable, expect, label=None, message=None, api="/classify_sketch"):
    return Case(f"{api.strip('/')}-{name}", api, lambda file: [value(file)], tuple(expect.split("|")), label, message)


DAMAGED = r"damaged|incomplete|not an image|cannot|can't|could not|unreadable|corrupt"
TOO_LARGE = r"too large|too big|pixels"

CASES = [
    # damaged and truncated files of every format
    upload("png_truncated_half.png", lambda: seven_png()[: len(seven_png()) // 2], "error", message=DAMAGED),
    upload("png_signature_only.png", lambda: b"\x89PNG\r\n\x1a\n", "error", message=DAMAGED),
    upload("png_bad_crc.png", png_bad_crc, "error|digit", message=DAMAGED),
    upload("png_without_iend.png", lambda: encode(seven(), "PNG")[:-12], "digit|error", label="7", message=DAMAGED),
    upload("png_header_zero_width.png", lambda: png_ihdr(0, 112), "error", message=r"empty|" + DAMAGED),
    upload("png_text_chunk_bomb.png", png_with_text_bomb, "error|digit", label="7", message=DAMAGED + "|" + TOO_LARGE),
    upload("jpeg_truncated.jpg", lambda: encode(dark_on_light(seven()), "JPEG")[:300], "error", message=DAMAGED),
    upload("jpeg_soi_only.jpg", lambda: b"\xff\xd8\xff", "error", message=DAMAGED),
    upload("jpeg_corrupt_scan.jpg", jpeg_corrupt_scan, "digit|blank|error", message=DAMAGED),
    upload("gif_truncated.gif", lambda: encode(dark_on_light(seven()), "GIF")[:60], "error", message=DAMAGED),
    upload("tiff_truncated.tif", lambda: encode(dark_on_light(seven()), "TIFF")[:200], "error", message=DAMAGED),
    upload("tiff_garbage_after_header.tiff", lambda: b"II*\x00" + random_bytes(2000), "error", message=DAMAGED),
    upload("bmp_truncated.bmp", lambda: encode(dark_on_light(seven()), "BMP")[:500], "error", message=DAMAGED),
    upload("webp_truncated.webp", lambda: encode(dark_on_light(seven()), "WEBP")[:40], "error", message=DAMAGED),
    # not images at all
    upload("random_bytes.png", random_bytes, "error", message=DAMAGED),
    upload("random_bytes.jpg", lambda: random_bytes(seed=4), "error", message=DAMAGED),
    upload("notes.txt", lambda: b"this is not an image\n", "error", message=r"file type|image"),
    upload("text_named.png", lambda: b"this is not an image\n", "error", message=DAMAGED),
    upload("empty.png", lambda: b"", "error", message=r"empty"),
    upload("vector.svg", lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28">'
           b'<path d="M4 4H24L10 26" stroke="black"/></svg>', "error", message=r"svg|" + DAMAGED),
    # decompression bombs and extreme sizes
    upload("bomb_30000x30000_1bit.png", bomb_png_1bit, "error", message=TOO_LARGE),
    upload("bomb_20000x20000_palette.png", bomb_png_palette, "error", message=TOO_LARGE),
    upload("png_header_claims_100000x100000.png", lambda: png_ihdr(100_000, 100_000), "error", message=TOO_LARGE),
    upload("jpeg_header_claims_65000x65000.jpg", lambda: jpeg_claiming(65_000, 65_000), "error", message=TOO_LARGE),
    upload("one_pixel.png", lambda: solid("L", (1, 1), 0), "blank|digit"),
    upload("strip_1x5000.png", lambda: long_strip((1, 5000)), "blank|digit|error"),
    upload("strip_5000x1.png", lambda: long_strip((5000, 1)), "blank|digit|error"),
    upload("digit_in_4000x300.png", digit_in_wide_canvas, "digit", label="7"),
    # unusual but valid encodings of a real 7
    upload("animated.gif", animated_gif, "digit", label="7"),
    upload("multipage.tiff", multipage_tiff, "digit", label="7"),
    upload("cmyk.jpg", cmyk_jpeg, "digit", label="7"),
    upload("grey_16bit.png", png_16bit, "digit", label="7"),
    upload("float32_mode_F.tif", tiff_float, "digit", label="7"),
    upload("float32_with_nan.tif", lambda: tiff_float(nan=True), "error|digit", label="7", message=r"invalid|NaN"),
    upload("palette_transparent.png", palette_png_transparent, "digit", label="7"),
    upload("ink_only_in_alpha.png", ink_only_in_alpha, "digit", label="7"),
    upload("bilevel_1bit.png", lambda: encode(dark_on_light(seven()).point(lambda v: 255 * (v > 128)).convert("1"),
                                              "PNG"), "digit", label="7"),
    upload("exif_rotated.jpg", exif_rotated_jpeg, "digit", label="7"),
    upload("broken_exif.png", png_broken_exif, "digit", label="7"),
    upload("png_named.jpg", seven_png, "digit", label="7"),
    upload("UPPER_CASE.PNG", seven_png, "digit", label="7"),
    upload("sieben ✓ — 7 (copy).png", seven_png, "digit", label="7"),
    upload("webp_lossless.webp", lambda: encode(dark_on_light(seven()), "WEBP", lossless=True), "digit", label="7"),
    # blank pictures
    upload("all_white.png", lambda: solid("L", (280, 280), 255), "blank"),
    upload("all_black.png", lambda: solid("L", (280, 280), 0), "blank"),
    upload("transparent_only.png", lambda: solid("RGBA", (280, 280), (0, 0, 0, 0)), "blank"),
    # sketchpad values of the wrong shape
    sketch("empty_dict", lambda file: {}, "blank"),
    sketch("all_none", lambda file: {"background": None, "layers": [], "composite": None}, "blank"),
    sketch("layers_not_a_list", lambda file: {"background": None, "layers": "abc", "composite": None}, "error",
           message=r"layers"),
    sketch("layers_list_of_strings", lambda file: {"background": None, "layers": ["x"], "composite": None}, "error",
           message=r"layer"),
    sketch("composite_string_not_a_file", lambda file: {"background": None, "layers": [], "composite": "not a file"},
           "error", message=r"composite|drawing"),
    sketch("composite_number", lambda file: {"background": None, "layers": [], "composite": 42}, "error",
           message=r"composite|drawing"),
    sketch("value_not_a_dict", lambda file: "hello", "error", message=r"dict|drawing|EditorData"),
    sketch("background_only", lambda file: {"background": file("seven.png", seven_png()), "layers": [],
                                            "composite": None}, "digit|blank", label="7"),
    sketch("layers_only", lambda file: {"background": None, "layers": [file("layer.png", rgba_stroke_layer())],
                                        "composite": None}, "digit|blank", label="7"),
    sketch("composite_ink_only_in_alpha", lambda file: {"background": None, "layers": [],
                                                        "composite": file("c.png", rgba_stroke_layer())},
           "digit", label="7"),
    sketch("composite_1x1", lambda file: {"background": None, "layers": [],
                                          "composite": file("c.png", solid("RGBA", (1, 1), (255, 255, 255, 255)))},
           "blank"),
    sketch("composite_truncated_png", lambda file: {"background": None, "layers": [],
                                                    "composite": file("c.png", seven_png()[:200])},
           "error", message=DAMAGED),
    sketch("composite_text_file", lambda file: {"background": None, "layers": [],
                                                "composite": file("c.png", b"not an image")}, "error", message=DAMAGED),
    sketch("composite_bomb_30000x30000", lambda file: {"background": None, "layers": [],
                                                       "composite": file("c.png", bomb_png_1bit())},
           "error", message=TOO_LARGE),
    # the camera/clipboard image input
    Case("classify_photo-none", "/classify_photo", lambda file: [None], ("blank",)),
    upload("truncated.png", lambda: seven_png()[:200], "error", message=DAMAGED, api="/classify_photo"),
    upload("text_named.png", lambda: b"not an image", "error", message=DAMAGED, api="/classify_photo"),
    upload("bomb_30000x30000_1bit.png", bomb_png_1bit, "error", message=TOO_LARGE, api="/classify_photo"),
    upload("cmyk.jpg", cmyk_jpeg, "digit", label="7", api="/classify_photo"),
    upload("grey_16bit.png", png_16bit, "digit", label="7", api="/classify_photo"),
    # reading a number
    upload("random_bytes.png", random_bytes, "error", message=DAMAGED, api="/read_number_upload"),
    upload("bomb_30000x30000_1bit.png", bomb_png_1bit, "error", message=TOO_LARGE, api="/read_number_upload"),
    upload("salt_noise.png", noise_png, "error|number|blank", message=r"marks|digits", api="/read_number_upload"),
    upload("all_white.png", lambda: solid("L", (700, 240), 255), "blank", api="/read_number_upload"),
    sketch("layers_an_int", lambda file: {"background": None, "layers": 5, "composite": None}, "error",
           message=r"layers", api="/read_number"),
    sketch("composite_text_file", lambda file: {"background": None, "layers": [],
                                                "composite": file("c.png", b"not an image")},
           "error", message=DAMAGED, api="/read_number"),
]


# --- running them --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client(app_server):
    from gradio_client import Client
    return Client(app_server, verbose=False)


def call(client, api: str, *args):
    return client.submit(*args, api_name=api).result(timeout=CALL_TIMEOUT_S)


def outcome(api: str, result) -> tuple[str, str]:
    """(kind, detail) of a successful answer; kind 'invalid' when it is not a proper answer."""
    if api in DIGIT_OUT:
        label, status = result[0], result[1] or ""
        if isinstance(label, dict) and label.get("label") is not None:
            confidences = label.get("confidences") or []
            ok = (len(confidences) == 10 and {c["label"] for c in confidences} == set("0123456789")
                  and abs(sum(c["confidence"] for c in confidences) - 1) < 1e-3)
            return ("digit" if ok else "invalid"), str(label["label"])
        return ("blank" if BLANK_DIGIT in status else "invalid"), status
    text = result[0] or ""
    if text.startswith("Read:"):
        return "number", text
    return ("blank" if BLANK_NUMBER in text else "invalid"), text


def unclear_reasons(message: str) -> list[str]:
    text = message.strip()
    reasons = [why for pattern, why in UNCLEAR if pattern.search(text)]
    if len(text) < 12 or text.lower() in {"error", "error.", "none", "error raised."} or " " not in text:
        reasons.append("no explanation")
    return reasons


def assert_server_healthy(client) -> None:
    from gradio_client import handle_file
    result = call(client, "/classify_upload", handle_file(str(SEVEN)))
    assert result[0]["label"] == "7", f"the server no longer reads the MNIST 7 correctly: {result[0]!r}"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_input(case: Case, client, tmp_path):
    from gradio_client import handle_file

    def file(name: str, data: bytes):
        path = tmp_path / name
        path.write_bytes(data)
        return handle_file(str(path))

    problems = []
    try:
        result = call(client, case.api, *case.payload(file))
    except Exception as error:  # the client raises AppError for gr.Error, others for its own checks
        message = getattr(error, "message", None) or str(error)
        got = f"error {type(error).__name__}: {message[:400]!r}"
        print(f"{case.id}: {got}")  # shown with pytest -rA
        if "error" not in case.expect:
            problems.append(f"expected {'/'.join(case.expect)}, got {got}")
        reasons = unclear_reasons(message)
        if reasons:
            problems.append(f"unclear error message ({', '.join(reasons)}): {message[:400]!r}")
        elif case.message and not re.search(case.message, message, re.IGNORECASE):
            problems.append(f"error message does not say what is wrong (wanted /{case.message}/): {message!r}")
    else:
        kind, detail = outcome(case.api, result)
        print(f"{case.id}: {kind} {detail[:120]!r}")  # shown with pytest -rA
        if kind not in case.expect:
            problems.append(f"expected {'/'.join(case.expect)}, got {kind}: {detail[:300]!r}")
        elif kind == "digit" and case.label is not None and detail != case.label:
            problems.append(f"read {detail!r}, the picture shows a {case.label}")

    try:
        assert_server_healthy(client)
    except Exception as error:
        problems.append(f"AFTER this case the server failed a good request: {type(error).__name__}: {error}")
    assert not problems, "\n".join(problems)


def test_server_refuses_oversize_upload(app_server):
    """Over max_file_size (10 MB): the client refuses to send it and the server refuses to store it."""
    import httpx
    from gradio_client import handle_file

    from reader.images import MAX_IMAGE_BYTES as limit
    data = SEVEN.read_bytes() + random_bytes(limit + 1024)
    response = httpx.post(app_server.rstrip("/") + "/gradio_api/upload",
                          files={"files": ("big.png", data, "image/png")}, timeout=60)
    assert response.status_code == 413, (response.status_code, response.text[:300])
    assert "size" in response.text.lower(), response.text[:300]

    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"lenet_oversize_{os.getpid()}.png"
    path.write_bytes(data)
    try:
        from gradio_client import Client
        with pytest.raises(Exception, match=r"(?i)maximum file size|too large|exceeds"):
            Client(app_server, verbose=False).predict(handle_file(str(path)), api_name="/classify_upload")
    finally:
        path.unlink(missing_ok=True)
