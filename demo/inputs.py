"""The trust boundary: what a browser or an API client sends becomes a bounded image here, and only here.

A client's payload for an image input is a Gradio FileData (a dict or model with ``path`` and
``url``), or, for a sketchpad, an editor value (``background``, ``layers``, ``composite``) made of
them — or, from the page's own sketchpad, only an ``id`` whose pictures the browser sent ahead
(Gradio's editor posts them to its `accept_blobs` server function; `SketchBlobs` keeps them, bounded).
The Draw tab's drawing surface (demo.drawing) sends its canvas as a ``data:`` URL string.
This module alone decides what may be read:

- a ``path`` only when it lies inside `upload_root` — the folder where Gradio stores the files it
  received as uploads (symbolic links are resolved first) — and is a regular file within the byte
  limit; any other path is refused with the same sentence whether it exists or not, so the answer
  tells nothing about the server's files;
- a ``url`` only when it is a ``data:…;base64,`` URL of at most `MAX_DATA_URL_BYTES` (larger
  pictures go as uploads); nothing is ever fetched from the network: a request whose value names a
  ``path`` that is a URL anywhere (`names_a_remote_file`) is refused before Gradio's own
  preprocessing, which would download it, and so is one that no file can have (a NUL byte:
  Gradio's preprocessing would fail on it with a bare "embedded null byte");
- at most `MAX_EDITOR_LAYERS` layers in a sketchpad value; sketch pictures sent ahead are held for
  at most `MAX_SKETCHES_HELD` drawings and `MAX_SKETCH_BYTES_HELD` bytes, the oldest dropped first.

What comes out is an RGBA PIL image decoded by `decode` — `reader.images.decode_bytes` (limits on
bytes, formats, sides, aspect and pixels checked there, from the header, before decoding), which
the server runs under an OS-enforced budget in `demo.decode_budget`'s worker processes; everything
past this module receives that image, never a path. Anything else raises `InputError` with one
sentence for the user.
"""

import base64
import binascii
import os
import stat
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from reader.errors import InputError
from reader.images import MAX_IMAGE_BYTES, check_byte_size, decode_bytes

Decoder = Callable[[bytes], Image.Image]  # reader.images.decode_bytes, or the server's demo.decode_budget pool

MAX_EDITOR_LAYERS = 4          # the page's sketchpad sends one layer
MAX_DATA_URL_BYTES = 768 * 1024                      # a picture sent inline in the JSON of a call
MAX_DATA_URL_CHARS = MAX_DATA_URL_BYTES * 4 // 3 + 4  # its base64 text
MAX_SKETCHES_HELD = 256        # drawings whose pictures the browser sent ahead, per sketchpad
MAX_SKETCH_BYTES_HELD = 32 * 1024 * 1024
SKETCH_PARTS = ("background", "layer", "composite")
MAX_SKETCH_ID_CHARS = 64
NOT_READABLE = "Upload the picture first (the page does; API clients POST it to /gradio_api/upload): files on the server cannot be read."


def image_from_file(payload, upload_root: str | Path, decode: Decoder = decode_bytes) -> Image.Image | None:
    """The picture of an upload/photo input's payload; None when nothing was sent."""
    if payload is None:
        return None
    return decode(file_bytes(payload, upload_root))


def image_from_sketch(payload, upload_root: str | Path, sent_ahead: "SketchBlobs | None" = None,
                      decode: Decoder = decode_bytes) -> Image.Image | None:
    """The picture in a sketchpad (image editor) value; None when nothing was drawn.

    The composite is used when present; otherwise the layers are alpha-composited over the
    background. A value carrying only an ``id`` takes the pictures the page sent ahead for it from
    `sent_ahead` (none there: nothing drawn). A blank canvas comes back as an image, which the
    preprocessing reads as no ink.
    """
    if payload is None:
        return None
    if not hasattr(payload, "get") and hasattr(payload, "model_dump"):
        payload = {key: getattr(payload, key, None) for key in ("background", "layers", "composite", "id")}
    if not isinstance(payload, dict):
        raise InputError("The drawing arrived in an unexpected form; please draw again.")
    carries_pictures = payload.get("background") is not None or payload.get("composite") is not None or (
        isinstance(payload.get("layers"), (list, tuple)) and len(payload["layers"]) > 0)
    if payload.get("id") is not None and sent_ahead is not None and not carries_pictures:
        payload = sent_ahead.pop(str(payload["id"])) or {}
    layers = payload.get("layers")
    layers = [] if layers is None else layers
    if not isinstance(layers, (list, tuple)):
        raise InputError("The drawing's layers arrived in an unexpected form; please draw again.")
    if len(layers) > MAX_EDITOR_LAYERS:
        raise InputError(f"The drawing has too many layers (over {MAX_EDITOR_LAYERS}).")
    if payload.get("composite") is not None:
        return decode(file_bytes(payload["composite"], upload_root))
    pieces = [entry for entry in [payload.get("background"), *layers] if entry is not None]
    if not pieces:
        return None
    return flatten([decode(file_bytes(entry, upload_root)) for entry in pieces])


def image_from_drawing(payload, decode: Decoder = decode_bytes) -> Image.Image | None:
    """The picture the Draw tab's drawing surface (demo.drawing) sends: a PNG ``data:`` URL of the
    canvas, within `MAX_DATA_URL_BYTES`; None (or "") when the canvas is empty."""
    if payload is None or payload == "":
        return None
    if not isinstance(payload, str) or not payload.startswith("data:"):
        raise InputError("The drawing arrived in an unexpected form; please draw again.")
    return decode(data_url_bytes(payload))


def file_bytes(entry, upload_root: str | Path) -> bytes:
    """The bytes a FileData entry refers to, if this module may read them (see the module doc);
    bytes the page sent ahead are used as they are (within the byte limit)."""
    if isinstance(entry, (bytes, bytearray)):
        check_byte_size(len(entry))
        return bytes(entry)
    path, url = field(entry, "path"), field(entry, "url")
    if isinstance(path, str) and path:
        return uploaded_file_bytes(path, upload_root)
    if isinstance(url, str) and url.startswith("data:"):
        return data_url_bytes(url)
    if isinstance(entry, (dict, str)) or hasattr(entry, "path"):
        raise InputError(NOT_READABLE)
    raise InputError("The picture arrived in an unexpected form; send an image file.")


def names_a_remote_file(value, depth: int = 0) -> bool:
    """Whether a client's value, at any depth (a sketch's parts included), holds a FileData whose
    ``path`` is a URL (``scheme://…``), or a path no file can have (a NUL byte in it). Gradio's own
    preprocessing would download such a URL, and fail on a NUL byte with Python's bare "embedded
    null byte", before any component sees it, so the server refuses the whole request first, with
    the sentence of any unreadable file (`demo.ui`)."""
    if depth > 8:
        return True  # no input of this page nests this deep
    if isinstance(value, dict):
        path = value.get("path")
        if isinstance(path, str) and ("://" in path or "\x00" in path):
            return True
        return any(names_a_remote_file(item, depth + 1) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(names_a_remote_file(item, depth + 1) for item in value)
    return False


def field(entry, name: str):
    if isinstance(entry, dict):
        return entry.get(name)
    return getattr(entry, name, None)


def uploaded_file_bytes(path: str, upload_root: str | Path) -> bytes:
    """A file Gradio stored as an upload: inside `upload_root` after resolving links, regular, small.
    A path no file can have (a NUL byte in it) is refused as any other unreadable one."""
    if "\x00" in path:
        raise InputError(NOT_READABLE)
    root = os.path.realpath(upload_root)
    real = os.path.realpath(path)
    if os.path.commonpath([root, real]) != root or real == root:
        raise InputError(NOT_READABLE)
    try:
        with open(real, "rb", opener=lambda name, flags: os.open(name, flags | os.O_NONBLOCK)) as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise InputError(NOT_READABLE)
            check_byte_size(info.st_size)
            data = file.read(MAX_IMAGE_BYTES + 1)
    except IsADirectoryError:
        raise InputError(NOT_READABLE) from None
    except OSError:
        raise InputError("The uploaded file is no longer on the server; please upload it again.") from None
    check_byte_size(len(data))
    return data


def data_url_bytes(url: str) -> bytes:
    """The bytes of a ``data:[<type>];base64,<data>`` URL within the byte limit."""
    header, _, encoded = url.partition(",")
    if not header.endswith(";base64"):
        raise InputError("Only base64 data: URLs are accepted (data:image/png;base64,…).")
    if len(encoded) > MAX_DATA_URL_CHARS:
        raise InputError(f"The data: URL is too large (over {MAX_DATA_URL_BYTES // 1024} kB); upload larger "
                         f"pictures as files (POST /gradio_api/upload, up to {MAX_IMAGE_BYTES // 2**20} MB).")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("The image data URL is not valid base64.") from None


def payload_bytes(payload, upload_root: str | Path) -> int:
    """How many bytes a payload refers to (readable uploads and data URLs), for the server's log."""
    if payload is None:
        return 0
    if isinstance(payload, dict) or hasattr(payload, "model_dump"):
        layers = field(payload, "layers")
        entries = [field(payload, key) for key in ("background", "composite")]
        entries += list(layers) if isinstance(layers, (list, tuple)) else []
        if any(entry is not None for entry in entries):
            return sum(payload_bytes(entry, upload_root) for entry in entries if entry is not None)
    path, url = field(payload, "path"), field(payload, "url")
    if isinstance(url, str) and url.startswith("data:"):
        return len(url) * 3 // 4
    if isinstance(path, str) and path:
        real, root = os.path.realpath(path), os.path.realpath(upload_root)
        if os.path.commonpath([root, real]) == root and os.path.isfile(real):
            return os.path.getsize(real)
    return 0


def flatten(pieces: list[Image.Image]) -> Image.Image:
    """Alpha-composite `pieces` in order onto a transparent canvas the size of the first."""
    canvas = Image.new("RGBA", pieces[0].size, (0, 0, 0, 0))
    for piece in pieces:
        canvas = Image.alpha_composite(canvas, piece.crop((0, 0, *canvas.size)))
    return canvas


class SketchBlobs:
    """Pictures the page's sketchpad sent ahead (Gradio's editor posts each part to `accept_blobs`
    before the event that names its ``id``), held in memory, bounded: at most `MAX_SKETCHES_HELD`
    drawings and `MAX_SKETCH_BYTES_HELD` bytes, the oldest dropped first. Each part is checked
    here: a known part name, a layer index below `MAX_EDITOR_LAYERS`, a short id, one file within
    the byte limit."""

    def __init__(self, max_sketches: int = MAX_SKETCHES_HELD, max_bytes: int = MAX_SKETCH_BYTES_HELD):
        self.max_sketches, self.max_bytes = max_sketches, max_bytes
        self.sketches: OrderedDict[str, dict] = OrderedDict()
        self.bytes = 0
        self.lock = threading.Lock()

    def put(self, sketch_id, part, index, files: list) -> None:
        sketch_id, part = str(sketch_id or ""), str(part or "")
        if not sketch_id or len(sketch_id) > MAX_SKETCH_ID_CHARS:
            raise InputError("The drawing's id is missing or too long; please draw again.")
        if part not in SKETCH_PARTS:
            raise InputError(f"A drawing part must be one of {', '.join(SKETCH_PARTS)}.")
        if part == "layer" and not (str(index).isdigit() and int(index) < MAX_EDITOR_LAYERS):
            raise InputError(f"A drawing layer's index must be 0 to {MAX_EDITOR_LAYERS - 1}.")
        if len(files) != 1 or not isinstance(files[0][1], (bytes, bytearray)):
            raise InputError("Send one picture per drawing part.")
        data = bytes(files[0][1])
        check_byte_size(len(data))
        with self.lock:
            sketch = self.sketches.pop(sketch_id, None) or {"background": None, "layers": [], "composite": None}
            self.bytes -= sketch_bytes(sketch)
            if part == "layer":
                layers = sketch["layers"] + [None] * (int(index) + 1 - len(sketch["layers"]))
                layers[int(index)] = data
                sketch["layers"] = layers
            else:
                sketch[part] = data
            self.sketches[sketch_id] = sketch
            self.bytes += sketch_bytes(sketch)
            while self.sketches and (len(self.sketches) > self.max_sketches or self.bytes > self.max_bytes):
                _, dropped = self.sketches.popitem(last=False)
                self.bytes -= sketch_bytes(dropped)

    def pop(self, sketch_id: str) -> dict | None:
        with self.lock:
            sketch = self.sketches.pop(sketch_id, None)
            if sketch is not None:
                self.bytes -= sketch_bytes(sketch)
            return sketch

    def __len__(self) -> int:
        return len(self.sketches)


def sketch_bytes(sketch: dict) -> int:
    parts = [sketch["background"], sketch["composite"], *sketch["layers"]]
    return sum(len(part) for part in parts if part is not None)
