"""demo.inputs, the trust boundary: only uploaded files and data: URLs are read, and sketchpad values
become one picture. Real files on disk and Gradio's own payload models, no server needed here
(tests/test_server_limits.py sends the same payloads over raw HTTP to the running app)."""

import base64
import os
import re

import numpy as np
import pytest
from gradio.components.image import ImageData
from gradio.components.image_editor import EditorData
from gradio.data_classes import FileData
from PIL import Image

from demo import inputs
from reader.errors import InputError
from reader.images import MAX_IMAGE_BYTES
from tests.helpers import documentation, grey_levels, png_bytes


def canvas_with_stroke(transparent: bool = False) -> Image.Image:
    """A 280×280 sketchpad picture: black stroke, white (or transparent) background."""
    canvas = Image.new("RGBA", (280, 280), (0, 0, 0, 0) if transparent else (255, 255, 255, 255))
    canvas.paste((0, 0, 0, 255), (130, 40, 150, 240))
    return canvas


@pytest.fixture
def uploads(tmp_path):
    """An upload folder like Gradio's, with one uploaded canvas in a hash-named subfolder."""
    root = tmp_path / "uploads"
    (root / "3f2a").mkdir(parents=True)
    canvas_with_stroke().save(root / "3f2a" / "canvas.png")
    return root


def data_url(data: bytes, kind: str = "image/png") -> str:
    return f"data:{kind};base64," + base64.b64encode(data).decode()


def test_an_uploaded_file_is_read_as_dict_or_as_gradio_model(uploads):
    path = str(uploads / "3f2a" / "canvas.png")
    for payload in ({"path": path, "meta": {"_type": "gradio.FileData"}}, FileData(path=path), ImageData(path=path)):
        image = inputs.image_from_file(payload, uploads)
        assert image.mode == "RGBA" and image.size == (280, 280)
        assert grey_levels(image)[140, 140] == 0 and grey_levels(image)[10, 10] == 255


def test_no_payload_is_no_picture(uploads):
    assert inputs.image_from_file(None, uploads) is None
    assert inputs.image_from_sketch(None, uploads) is None


@pytest.mark.parametrize("where", ["outside", "missing_outside", "dotdot", "root_itself", "folder"])
def test_paths_outside_the_upload_folder_are_refused_with_one_message(uploads, tmp_path, where):
    outside = tmp_path / "secret.png"
    canvas_with_stroke().save(outside)
    path = {"outside": outside, "missing_outside": tmp_path / "nothing-here.png",
            "dotdot": uploads / "3f2a" / ".." / ".." / "secret.png", "root_itself": uploads,
            "folder": uploads / "3f2a"}[where]
    with pytest.raises(InputError) as error:
        inputs.image_from_file({"path": str(path)}, uploads)
    assert str(error.value) == inputs.NOT_READABLE  # same words whether the file exists or not


@pytest.mark.parametrize("path", ["\x00", "3f2a/canvas.png\x00", "\x00/etc/passwd"])
def test_a_path_with_a_nul_byte_is_refused_with_the_same_message(uploads, path):
    """No file has a NUL byte in its name, and os.path.realpath raises ValueError on one: found by
    the editor-value property test (`{"background": {"path": "\\x00"}}`)."""
    for payload in ({"path": str(uploads / path)}, {"path": path}):
        with pytest.raises(InputError) as error:
            inputs.image_from_file(payload, uploads)
        assert str(error.value) == inputs.NOT_READABLE
    with pytest.raises(InputError):
        inputs.image_from_sketch({"background": {"path": path}}, uploads)


def test_a_symbolic_link_out_of_the_upload_folder_is_refused(uploads, tmp_path):
    secret = tmp_path / "secret.png"
    canvas_with_stroke().save(secret)
    (uploads / "3f2a" / "link.png").symlink_to(secret)
    with pytest.raises(InputError, match="cannot be read"):
        inputs.image_from_file({"path": str(uploads / "3f2a" / "link.png")}, uploads)


def test_a_fifo_in_the_upload_folder_is_refused_without_blocking(uploads):
    fifo = uploads / "3f2a" / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="cannot be read"):
        inputs.image_from_file({"path": str(fifo)}, uploads)


@pytest.mark.parametrize("url", ["/etc/passwd", "http://127.0.0.1:1/x.png", "file:///etc/passwd",
                                 "https://example.com/seven.png", ""])
def test_urls_other_than_data_urls_are_never_opened_or_fetched(uploads, url):
    with pytest.raises(InputError) as error:
        inputs.image_from_file({"path": None, "url": url}, uploads)
    assert str(error.value) == inputs.NOT_READABLE


def test_data_urls_within_the_limit_are_read(uploads):
    image = inputs.image_from_file(ImageData(path=None, url=data_url(png_bytes(canvas_with_stroke()))), uploads)
    assert grey_levels(image)[140, 140] == 0


@pytest.mark.parametrize("url, fragment", [
    ("data:image/png;base64,@@@@", "not valid base64"),
    ("data:image/png,plain-text-payload", "base64"),
    ("data:image/png;base64," + "A" * (inputs.MAX_DATA_URL_CHARS + 4), "too large"),
])
def test_bad_or_oversized_data_urls_are_refused(uploads, url, fragment):
    with pytest.raises(InputError, match=fragment):
        inputs.image_from_file({"path": None, "url": url}, uploads)


def test_an_uploaded_file_over_the_byte_limit_is_refused_unread(uploads):
    big = uploads / "3f2a" / "big.png"
    big.write_bytes(png_bytes(canvas_with_stroke()) + b"\0" * MAX_IMAGE_BYTES)
    with pytest.raises(InputError, match="too large"):
        inputs.image_from_file({"path": str(big)}, uploads)


def test_an_upload_removed_before_it_is_read_says_so(uploads):
    with pytest.raises(InputError, match="no longer on the server"):
        inputs.image_from_file({"path": str(uploads / "3f2a" / "gone.png")}, uploads)


# --- sketchpad values ----------------------------------------------------------------------------

def saved(uploads, name: str, image: Image.Image) -> dict:
    path = uploads / "3f2a" / name
    image.save(path)
    return {"path": str(path), "meta": {"_type": "gradio.FileData"}}


def test_sketch_composite_is_used(uploads):
    value = {"background": None, "layers": [], "composite": saved(uploads, "c.png", canvas_with_stroke())}
    for payload in (value, EditorData(**value)):
        grey = grey_levels(inputs.image_from_sketch(payload, uploads))
        assert grey[140, 140] == 0 and grey[10, 10] == 255


def test_sketch_layers_are_composited_over_the_background(uploads):
    value = {"background": saved(uploads, "bg.png", Image.new("RGBA", (280, 280), (255, 255, 255, 255))),
             "layers": [saved(uploads, "layer.png", canvas_with_stroke(transparent=True))], "composite": None}
    grey = grey_levels(inputs.image_from_sketch(EditorData(**value), uploads))
    assert grey[140, 140] == 0 and grey[10, 10] == 255


def test_sketch_layer_without_background_keeps_its_transparency(uploads):
    value = {"background": None, "layers": [saved(uploads, "layer.png", canvas_with_stroke(transparent=True))],
             "composite": None}
    rgba = np.asarray(inputs.image_from_sketch(value, uploads))
    assert rgba[140, 140, 3] == 255 and rgba[10, 10, 3] == 0


@pytest.mark.parametrize("value", [{"background": None, "layers": [], "composite": None},
                                   {"composite": None}, {"layers": []}, {}])
def test_sketch_with_nothing_drawn_gives_none(uploads, value):
    assert inputs.image_from_sketch(value, uploads) is None


@pytest.mark.parametrize("value", ["a string", 42, [1, 2], {"layers": "not a list"},
                                   {"composite": {"url": "http://example.com/x.png"}}, {"composite": 42},
                                   {"composite": b"not an image"}, {"layers": [{"path": None}]},
                                   {"composite": {"path": "/etc/passwd"}}])
def test_bad_sketch_values_are_refused_with_a_sentence(uploads, value):
    with pytest.raises(InputError) as error:
        inputs.image_from_sketch(value, uploads)
    message = str(error.value)
    assert message[0].isupper() and message.endswith(".") and "\n" not in message


def test_sketch_with_too_many_layers_is_refused_before_decoding(uploads):
    layer = saved(uploads, "layer.png", canvas_with_stroke(transparent=True))
    with pytest.raises(InputError, match="too many layers"):
        inputs.image_from_sketch({"layers": [layer] * (inputs.MAX_EDITOR_LAYERS + 1)}, uploads)


def test_payload_size_for_the_log_counts_only_readable_bytes(uploads, tmp_path):
    path = uploads / "3f2a" / "canvas.png"
    assert inputs.payload_bytes({"path": str(path)}, uploads) == path.stat().st_size
    assert inputs.payload_bytes({"path": "/etc/passwd"}, uploads) == 0
    url = data_url(b"x" * 300)
    assert inputs.payload_bytes({"path": None, "url": url}, uploads) == len(url) * 3 // 4
    assert inputs.payload_bytes({"composite": {"path": str(path)}, "layers": []}, uploads) == path.stat().st_size


def test_decoded_pictures_are_bounded(uploads):
    big = Image.new("L", (3000, 1500), 255)
    path = uploads / "3f2a" / "big.png"
    big.save(path)
    image = inputs.image_from_file({"path": str(path)}, uploads)
    assert max(image.size) == 1024 and image.size == (1024, 512)


# --- sketch pictures sent ahead ------------------------------------------------------------------

def test_a_sketch_sent_ahead_is_read_once_by_its_id(uploads):
    held = inputs.SketchBlobs()
    held.put("abc", "composite", None, [("blob", png_bytes(canvas_with_stroke()))])
    image = inputs.image_from_sketch({"background": None, "layers": [], "composite": None, "id": "abc"}, uploads, held)
    assert grey_levels(image)[140, 140] == 0
    assert inputs.image_from_sketch({"composite": None, "layers": [], "id": "abc"}, uploads, held) is None
    assert len(held) == 0 and held.bytes == 0


def test_sketch_layers_sent_ahead_are_composited(uploads):
    held = inputs.SketchBlobs()
    held.put("abc", "background", "null", [("blob", png_bytes(Image.new("RGBA", (280, 280), "white")))])
    held.put("abc", "layer", "0", [("blob", png_bytes(canvas_with_stroke(transparent=True)))])
    grey = grey_levels(inputs.image_from_sketch(EditorData(id="abc"), uploads, held))
    assert grey[140, 140] == 0 and grey[10, 10] == 255


@pytest.mark.parametrize("sketch_id, part, index, files, fragment", [
    ("", "composite", None, [("b", b"x")], "id"), ("x" * 65, "composite", None, [("b", b"x")], "id"),
    ("a", "palette", None, [("b", b"x")], "one of"), ("a", "layer", "4", [("b", b"x")], "index"),
    ("a", "layer", "1000000000", [("b", b"x")], "index"), ("a", "layer", "-1", [("b", b"x")], "index"),
    ("a", "composite", None, [], "one picture"), ("a", "composite", None, [("b", b"x"), ("c", b"y")], "one picture"),
    ("a", "composite", None, [("b", b"x" * (MAX_IMAGE_BYTES + 1))], "too large"),
])
def test_hostile_sketch_parts_are_refused(sketch_id, part, index, files, fragment):
    held = inputs.SketchBlobs()
    with pytest.raises(InputError, match=fragment):
        held.put(sketch_id, part, index, files)
    assert len(held) == 0 and held.bytes == 0


def test_sketches_held_are_bounded_in_number_and_bytes_oldest_dropped_first():
    held = inputs.SketchBlobs(max_sketches=3, max_bytes=2500)
    for i in range(5):
        held.put(f"s{i}", "composite", None, [("b", bytes(500))])
    assert len(held) == 3 and held.bytes == 1500 and held.pop("s1") is None and held.pop("s4") is not None
    held.put("big", "composite", None, [("b", bytes(2000))])
    assert held.bytes <= 2500 and held.pop("big") is not None  # the oldest made room for it
    held.put("s9", "layer", "1", [("b", bytes(10))])
    assert held.pop("s9")["layers"] == [None, bytes(10)]


# --- what the mutation tests asked for (benchmarks/mutation.py, issue 40) -------------------------

def limits_row(name: str) -> str:
    """The row of docs/serving.md's "Limits and security" table that starts with `name`."""
    return next(line for line in documentation().splitlines() if line.startswith(f"| {name}"))


def documented_data_url_kb() -> int:
    return int(re.search(r"\| (\d+) kB", limits_row("`data:` URL")).group(1))


def test_a_data_url_over_the_documented_size_is_refused_and_one_within_it_read(uploads):
    """docs/serving.md: a data: URL of at most 768 kB; the refusal says so and names the upload
    route and the documented 10 MB. Broken variants caught: a larger MAX_DATA_URL_BYTES (768 × 1,025
    bytes), a message of "10.0 MB" (`/` for `//`) or "5 MB" (2**21)."""
    limit = documented_data_url_kb() * 1024
    image_mb = int(re.search(r"\| (\d+) MB", limits_row("image file")).group(1))
    over = data_url(b"\0" * (limit + 6))  # past the limit and its base64 padding
    with pytest.raises(InputError) as error:
        inputs.image_from_file({"path": None, "url": over}, uploads)
    message = str(error.value)
    assert f"(over {documented_data_url_kb()} kB)" in message and f"up to {image_mb} MB)" in message, message
    with pytest.raises(InputError, match="not an image"):  # exactly the limit: decoded (and found not a picture)
        inputs.image_from_file({"path": None, "url": data_url(b"\0" * limit)}, uploads)


def documented_sketch_limits() -> tuple[int, int, int]:
    """docs/serving.md: "4 layers, 256 drawings, 32 MiB per sketchpad"."""
    found = re.search(r"(\d+) layers, (\d+) drawings, (\d+) MiB per sketchpad",
                      limits_row("sketchpad pictures sent ahead"))
    return int(found.group(1)), int(found.group(2)), int(found.group(3))


def test_sketch_pictures_held_are_bounded_by_the_documented_bytes():
    """32 MiB of parts are all held; one byte more drops the oldest. Broken variant caught: a larger
    MAX_SKETCH_BYTES_HELD (32 × 1,025 KiB)."""
    _, _, mib = documented_sketch_limits()
    held = inputs.SketchBlobs()
    part = bytes(2**20)
    for i in range(mib):
        held.put(f"s{i}", "composite", None, [("b", part)])
    assert len(held) == mib and held.bytes == mib * 2**20
    held.put("last", "composite", None, [("b", b"x")])
    assert len(held) == mib and held.pop("s0") is None and held.pop("last") is not None


def test_a_sketch_with_the_documented_number_of_layers_is_read(uploads):
    """Broken variant caught: exactly the documented 4 layers refused (`>=`)."""
    layers, _, _ = documented_sketch_limits()
    layer = saved(uploads, "layer.png", canvas_with_stroke(transparent=True))
    rgba = np.asarray(inputs.image_from_sketch({"layers": [layer] * layers}, uploads))
    assert rgba[140, 140, 3] == 255


def test_a_layer_index_out_of_range_names_the_documented_range():
    """4 layers: indices 0 to 3. Broken variant caught: the message saying "0 to 5"."""
    layers, _, _ = documented_sketch_limits()
    with pytest.raises(InputError) as error:
        inputs.SketchBlobs().put("a", "layer", str(layers), [("b", b"x")])
    assert f"0 to {layers - 1}." in str(error.value)


def test_a_sketch_value_with_its_own_background_and_an_id_uses_the_background(uploads):
    """The id is looked up only when the value carries no picture. Broken variant caught: a value
    carrying only a background taken for an empty one (its pictures then sought by id: none)."""
    value = {"background": saved(uploads, "bg.png", canvas_with_stroke()), "layers": [], "composite": None,
             "id": "abc"}
    grey = grey_levels(inputs.image_from_sketch(value, uploads, inputs.SketchBlobs()))
    assert grey[140, 140] == 0 and grey[10, 10] == 255


@pytest.mark.parametrize("layers", [42, {"path": "x"}, "abc"])
def test_layers_that_are_not_a_list_are_refused_as_such(uploads, layers):
    """Broken variant caught: the list check dropped (42 then fails with TypeError; a short dict or
    string is read key by key)."""
    with pytest.raises(InputError, match="layers arrived in an unexpected form"):
        inputs.image_from_sketch({"layers": layers}, uploads)


@pytest.mark.parametrize("payload", [ImageData(path=None, url="https://example.com/seven.png"),
                                     FileData(path="", url="/etc/passwd")])
def test_a_gradio_model_naming_no_readable_file_gets_the_same_sentence(uploads, payload):
    """Broken variant caught: a model's `path` attribute not recognised (the sentence then is "arrived
    in an unexpected form", which tells a probe the payload's kind)."""
    with pytest.raises(InputError) as error:
        inputs.image_from_file(payload, uploads)
    assert str(error.value) == inputs.NOT_READABLE


def nested(value, depth: int):
    for _ in range(depth):
        value = {"value": [value]}
    return value


def test_a_remote_file_is_found_in_any_slot_and_at_any_depth():
    """Broken variants caught: the depth cap answering "no URL" (a URL nested past it passes), `://`
    not looked for, lists needing every item to be remote."""
    remote = {"path": "https://lenet-probe.invalid/7.png", "url": None}
    local = {"path": "/tmp/gradio/abc/seven.png", "url": None}
    assert inputs.names_a_remote_file(remote) is True
    assert inputs.names_a_remote_file({"background": None, "layers": [local, remote], "composite": None}) is True
    assert inputs.names_a_remote_file(nested(remote, 30)) is True
    assert inputs.names_a_remote_file({"background": {"path": "3f2a/canvas.png\x00"}}) is True  # no file has it
    for value in (local, {"background": None, "layers": [], "composite": None}, [local, local], None, "x://y"):
        assert inputs.names_a_remote_file(value) is False, value


def test_payload_size_for_the_log_of_nothing_and_of_a_gradio_model(uploads):
    """Broken variants caught: no payload counted as 1 byte, an EditorData model not looked into."""
    path = uploads / "3f2a" / "canvas.png"
    assert inputs.payload_bytes(None, uploads) == 0
    editor = EditorData(background=None, layers=[], composite=FileData(path=str(path)))
    assert inputs.payload_bytes(editor, uploads) == path.stat().st_size


def test_layers_sent_ahead_one_by_one_are_held_in_order_without_gaps(uploads):
    """The page sends layer 0, then 1, then 2 of one drawing; they are held as three layers and read.
    Broken variant caught: each later layer padding the list by its own length (`+ len`), which
    leaves empty slots and soon more layers than a sketchpad may have."""
    held = inputs.SketchBlobs()
    parts = [png_bytes(Image.new("RGBA", (280, 280), (0, 0, 0, 0))) for _ in range(2)]
    parts.append(png_bytes(canvas_with_stroke(transparent=True)))
    for index, part in enumerate(parts):
        held.put("abc", "layer", str(index), [("blob", part)])
    assert held.sketches["abc"]["layers"] == parts
    rgba = np.asarray(inputs.image_from_sketch(EditorData(id="abc"), uploads, held))
    assert rgba[140, 140, 3] == 255 and rgba[10, 10, 3] == 0


# --- the Draw tab's drawing surface (demo.drawing): the canvas as a data: URL string ----------------

def test_a_drawing_is_read_from_its_data_url_and_an_empty_canvas_is_no_picture():
    image = inputs.image_from_drawing(data_url(png_bytes(canvas_with_stroke())))
    assert image.mode == "RGBA" and image.size == (280, 280) and grey_levels(image)[140, 140] == 0
    assert inputs.image_from_drawing(None) is None and inputs.image_from_drawing("") is None


@pytest.mark.parametrize("value", ["/etc/passwd", "C:\\\\boot.ini", "https://lenet-probe.invalid/x.png",
                                   {"path": "/etc/passwd"}, ["data:image/png;base64,AAAA"], 7, b"\x89PNG"])
def test_a_drawing_that_is_not_a_data_url_is_refused_with_one_sentence(value):
    """Paths, URLs, dicts and lists never reach the file system or the network from the drawing input."""
    with pytest.raises(InputError) as error:
        inputs.image_from_drawing(value)
    assert str(error.value) == "The drawing arrived in an unexpected form; please draw again."


def test_a_drawing_over_the_documented_data_url_size_is_refused_before_decoding():
    decoded = []
    over = data_url(b"\0" * (documented_data_url_kb() * 1024 + 6))
    with pytest.raises(InputError, match=f"over {documented_data_url_kb()} kB"):
        inputs.image_from_drawing(over, decode=decoded.append)
    assert decoded == []
    with pytest.raises(InputError, match="not valid base64"):
        inputs.image_from_drawing("data:image/png;base64,@@@@", decode=decoded.append)
