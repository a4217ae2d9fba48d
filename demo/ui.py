"""The Gradio page: draw, upload or write a number; see what the model sees and why; training tab.

`build_app(served)` returns the Blocks for a model chosen and loaded by `demo.serving.start`;
`launch_options(served)` the arguments for `launch()`: the page's script and stylesheet
(demo.page_style), the upload limit, the request limits of `demo.server_limits` and the private
cache folder's life.

Every image input hands its client payload to `demo.inputs` (the trust boundary) in place of
Gradio's own preprocessing, so the functions behind the page receive a bounded RGBA image, never
a path; a refused input becomes one error pop-up and one log line (endpoint, reason, size).
Named API endpoints: /classify_sketch, /classify_upload, /classify_photo, /read_number,
/read_number_upload, /inside, /inside_sketch (docs/demo.md: gradio_client and raw HTTP calls).

The page says one thing at a time: the verdict line is the headline (a digit, or "Not sure" with
the two likeliest, or "Several digits?" with a nudge to the Number tab), and the probabilities
under it carry no heading of their own. Each tab's pictures come with their colour legends.
"""

import contextlib
import json
from dataclasses import dataclass
import logging
import time
import os
import tempfile
import threading
from collections import OrderedDict, deque
from pathlib import Path

import gradio as gr
import numpy as np
import pydantic
from fastapi import HTTPException
from gradio.exceptions import InvalidPathError
from PIL import Image
from scipy import ndimage as ndi
from starlette.middleware import Middleware

from demo import drawing, inputs, number_view
from reader import explain, pipeline
from reader.inside import DIVERGING, MAGMA, LayerModel, enlarge, look_inside
from reader.errors import InputError
from reader.images import FORMAT_NAMES, MAX_IMAGE_BYTES
from demo.page_style import CSS, PAGE_JS, legend
from reader.preprocess import ink_blobs, ink_map
from reader.runs import display_path, shipped_runs
from demo.cache_folder import CacheFolder
from demo.private_paths import HideCachePath
from demo.server_limits import RequestLimits
from demo.serving import Served
from demo.training_tab import training_tab

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "artifacts" / "examples"
SESSION_CAPACITY = 64  # Gradio keeps each session's last inputs (≤ 1 MB JSON each); this bounds that memory
QUEUE_SIZE = 64        # events waiting for the model; each holds its request's JSON (≤ 1 MB)
LAST_DRAWINGS = 1024   # visitors whose last drawing is kept for its heatmap (3 kB each)
# Gradio's queue looks for work every 1 ms while it has none: 65 ms of CPU a second on an idle server
# here (the usual demo's too). Every 4 ms: 33 ms a second, for at most 4 ms before an event starts.
QUEUE_POLL_S = 0.004
NUDGE_SIDE = 160       # px: pictures are shrunk to this before their ink is counted (digits_side_by_side)
log = logging.getLogger("lenet.requests")

DRAW_PROMPT = "**Draw a digit** (0–9) in the white box — one digit, as large as you like."
UPLOAD_PROMPT = ("**Upload a picture of one digit** (0–9) — a photo, a scan or a screenshot — or pick an "
                 "example. No picture at hand? Draw a digit on the Draw tab.")
NO_DIGIT_IN_PICTURE = ("**No digit found** in this picture: it looks empty. Try one dark digit on a light "
                       "background (or light on dark), or Draw a digit on the Draw tab.")
BLANK_DIGIT = (None, DRAW_PROMPT, None, None)
COMPARE_PROMPT = "**Draw or upload one digit** and every model listed above reads the same 28×28 input."
BLANK_NUMBER = "**Write a number** in the white box — digits side by side, left to right — or upload a picture of one."
NO_DIGIT = "**No digit found** — only specks or dots. " + BLANK_NUMBER
NOT_DIGITS = "**No digit found** — what is written does not look like any digit. " + BLANK_NUMBER
HEAT_WAITING = "Appears when you pause drawing"
HEAT_LEGEND = legend(["#000000", "#800000", "#ffc800"], "covering it changes nothing", "covering it costs the answer most",
                     "Where the model looked: each spot blanked out in turn")
MAP_LEGEND = legend(list(MAGMA), "0", "the map's own strongest response", "Each map on its own scale")
FILTER_LEGEND = legend(list(DIVERGING), "most negative weight", "most positive weight", "Filter weights (white 0)")
INSIDE_PICTURES = (  # reader.inside picture → label on the page, in the order of the /inside API's outputs
    ("conv1", "conv1: 20 feature maps, 28×28, after ReLU"),
    ("conv1_filters", "conv1's 20 learned filters, 5×5"),
    ("pool1", "max-pool 2×2: 20 maps, 14×14"),
    ("conv2", "conv2: 50 feature maps, 14×14, after ReLU"),
    ("pool2", "max-pool 2×2: 50 maps, 7×7"),
    ("fc1", "FC 500 after ReLU: one bar per unit, the 10 strongest in red"))
LAYERS_PROVIDER = "CPUExecutionProvider"  # LayerModel.beside runs the layers file on the CPU
INSIDE_ORDER = ("conv1_filters", "conv1", "pool1", "conv2", "pool2", "fc1")  # as the page shows them: the data's path


class OutputImages:
    """Output pictures as uniquely named PNG files in the cache folder's root (the newest `keep` of
    them are kept; the sweep also expires them with the rest, and never removes the root itself).

    Returning arrays makes Gradio write them to a cache file named by their content, without an
    atomic rename, so two requests with the same picture can race and one download comes back
    truncated (seen under load). Unique files are copied into the cache atomically instead.
    """

    def __init__(self, folder: str | Path, keep: int = 512):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.recent: deque[Path] = deque()
        self.keep = keep

    def save(self, pixels: np.ndarray) -> str:
        handle, name = tempfile.mkstemp(dir=self.folder, prefix="output-", suffix=".png")
        os.close(handle)
        Image.fromarray(pixels).save(name)
        self.recent.append(Path(name))
        while len(self.recent) > self.keep:
            self.recent.popleft().unlink(missing_ok=True)
        return name


class LastDrawings:
    """Each visitor's last drawing read on the Draw tab (model, 28×28 input, class), for the heatmap
    drawn once drawing pauses: at most `capacity` visitors, the least recently drawing dropped first.
    (A gr.State would do the same, but Gradio rebuilds the State block's config on every update.)"""

    def __init__(self, capacity: int = LAST_DRAWINGS):
        self.capacity = capacity
        self.kept: OrderedDict[str, tuple] = OrderedDict()
        self.lock = threading.Lock()

    def keep(self, session: str | None, reading: tuple) -> None:
        if session is None:
            return
        with self.lock:
            self.kept[session] = reading
            self.kept.move_to_end(session)
            while len(self.kept) > self.capacity:
                self.kept.popitem(last=False)

    def forget(self, session: str | None) -> None:
        with self.lock:
            self.kept.pop(session, None)

    def get(self, session: str | None) -> tuple | None:
        with self.lock:
            return self.kept.get(session)


@dataclass(frozen=True)
class ClientFiles:
    """Where Gradio stores what clients upload, and how a client's picture is decoded (the server
    decodes under the OS-enforced budget of `demo.decode_budget`)."""
    upload_root: str
    decode: inputs.Decoder


def accept_images(component, read, endpoint: str, received: ClientFiles):
    """Replace `component`'s preprocessing by `read(payload, upload_root, decode=...)` from `demo.inputs`.

    (An instance override: subclassing a Gradio component makes Gradio write a .pyi beside this file.)"""
    def preprocess(payload):
        try:
            return read(payload, received.upload_root, decode=received.decode)
        except InputError as error:
            raise refused(endpoint, error, inputs.payload_bytes(payload, received.upload_root)) from None
    component.preprocess = preprocess
    return component


def accept_sketches(sketchpad: gr.Sketchpad, endpoint: str, received: ClientFiles) -> gr.Sketchpad:
    """A sketchpad whose pictures go through `demo.inputs`: the parts the browser sends ahead (to
    the editor's `accept_blobs` server function) are checked and held in a bounded
    `inputs.SketchBlobs` instead of Gradio's unbounded dict, and the event's value is read by
    `inputs.image_from_sketch`."""
    held = inputs.SketchBlobs()

    def accept_blobs(data):  # the contract of gr.ImageEditor.accept_blobs: form fields and one file
        fields = getattr(data, "data", None) or {}
        try:
            held.put(fields.get("id"), fields.get("type"), fields.get("index"), list(getattr(data, "files", [])))
        except InputError as error:
            log.info("refused %s (sketch part): %s", endpoint, error)
            raise HTTPException(status_code=400, detail=str(error)) from None
    accept_blobs._is_server_fn = True  # what Gradio's @server marks
    sketchpad.accept_blobs = accept_blobs
    sketchpad.blob_storage = held
    return accept_images(sketchpad, lambda payload, root, decode: inputs.image_from_sketch(payload, root, held, decode),
                         endpoint, received)


def refuse_malformed_payloads(app: gr.Blocks, choice: gr.Dropdown | None = None) -> None:
    """Payloads Gradio's own checks refuse before `demo.inputs` sees them (the wrong shape, a file
    path that was never uploaded) become the same one pop-up and one log line, not a traceback; a
    FileData whose path is a URL is refused before Gradio's preprocessing could download it.

    The model `choice` is every endpoint's optional last input: a raw-HTTP call that leaves it out
    (`{"data": [picture]}`) is answered by the default model, not refused for a missing value."""
    checked = app.preprocess_data

    async def preprocess_data(block_fn, inputs_, state, *args, **kwargs):
        if (choice is not None and isinstance(inputs_, list) and block_fn.inputs and block_fn.inputs[-1] is choice
                and len(inputs_) == len(block_fn.inputs) - 1):
            inputs_ = [*inputs_, None]
        if inputs.names_a_remote_file(inputs_):  # Gradio would download it (or fail on a NUL byte): refuse first
            raise refused(f"/{block_fn.api_name}", InputError(inputs.NOT_READABLE), 0) from None
        try:
            return await checked(block_fn, inputs_, state, *args, **kwargs)
        except InvalidPathError:
            error = InputError(inputs.NOT_READABLE)
        except pydantic.ValidationError as invalid:
            error = InputError(f"The request's data does not fit /{block_fn.api_name} ({where_invalid(invalid)}); "
                               "send each image as a file uploaded to /gradio_api/upload (docs/demo.md: API).")
        raise refused(f"/{block_fn.api_name}", error, len(json.dumps(inputs_, default=str))) from None

    app.preprocess_data = preprocess_data


def where_invalid(invalid: pydantic.ValidationError) -> str:
    """The first problem pydantic found, e.g. "layers: input should be a valid list" (no input echoed)."""
    first = invalid.errors(include_input=False, include_url=False)[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "the value"
    message = first.get("msg", "invalid").rstrip(".")
    return f"{where}: {message[:1].lower()}{message[1:]}"


def refused(endpoint: str, error: InputError, size: int) -> gr.Error:
    """One log line for a refused input, and the pop-up the user sees (no traceback: not a fault)."""
    log.info("refused %s: %s (%s bytes)", endpoint, error, f"{size:,}")
    return gr.Error(str(error), print_exception=False)


class Page:
    """The functions behind the page's events. Each takes the visitor's model choice (`choice`: a
    key of `reader.catalog`, None for the default) and names the model in its answer."""

    def __init__(self, served: Served):
        self.served = served
        self.models = served.models
        self.model = served.model    # the default
        self.outputs = OutputImages(served.cache_folder)
        self.layers = self.models.layers()  # the default's layers file (loaded now: the Inside tab's first answer)
        self.last_drawings = LastDrawings()

    def chosen(self, choice, endpoint: str):
        """(catalog entry, loaded model) for a choice; an unknown one is refused with one sentence."""
        try:
            return self.models.catalog.entry(choice), self.models.model(choice)
        except InputError as error:
            raise refused(endpoint, error, 0) from None

    def status_line(self, reading, model, key: str, side_by_side: int = 1) -> str:
        return verdict(reading, side_by_side, timing(reading.milliseconds, model.provider, key))

    def read(self, read, image, endpoint: str, model):
        """Run a pipeline reader; input it cannot use becomes one error pop-up with its message.

        Only what `demo.inputs` returns (a decoded picture, or None) is read: if Gradio ever hands a
        function its raw value instead (it rebuilds a component for a session from its constructor
        when an event updates its properties, dropping the preprocessing `accept_images` set), a
        client's path is refused here rather than read from the server's disk."""
        if image is not None and not isinstance(image, Image.Image):
            raise refused(endpoint, InputError(inputs.NOT_READABLE), 0)
        try:
            return read(model, image)
        except InputError as error:
            raise refused(endpoint, error, 0) from None

    def digit(self, image, endpoint: str, choice=None):
        """One digit's probabilities, verdict, model input and heatmap (the prompt when there is none)."""
        entry, model = self.chosen(choice, endpoint)
        reading = self.read(pipeline.read_digit, image, endpoint, model)
        if reading is None:
            if endpoint == "/classify_sketch":
                return BLANK_DIGIT
            return None, (UPLOAD_PROMPT if image is None else NO_DIGIT_IN_PICTURE), None, None
        # the nudge to the Number tab: always for a picture, for a drawing only when unsure (measured on
        # the busy 2-core machine: 0.8 ms for 28×28, 4.5 ms for a 280×280 canvas, 100–260 ms for a
        # 12-megapixel photo, whose reading costs ~360 ms)
        several = digits_side_by_side(image) if endpoint != "/classify_sketch" or not reading.sure else 1
        return (reading.probabilities, self.status_line(reading, model, entry.key, several),
                self.outputs.save(enlarge(reading.model_input)), self.outputs.save(reading.heatmap))

    def drawn(self, image, endpoint: str, choice=None, session: str | None = None):
        """The Draw tab's answer to a stroke: probabilities, verdict, the model's 28×28 input shown
        inline and the heatmap's place (it comes when drawing pauses: `drawn_heatmap`, from what
        is kept here for the visitor's `session`)."""
        entry, model = self.chosen(choice, endpoint)
        reading = self.read(lambda model, picture: pipeline.read_digit(model, picture, heatmap=False),
                            image, endpoint, model)
        if reading is None:
            self.last_drawings.forget(session)
            return None, DRAW_PROMPT, seen_picture(None), heat_picture(None)
        several = 1 if reading.sure else digits_side_by_side(image)
        self.last_drawings.keep(session, (entry.key, reading.model_input, list(reading.probabilities).index(reading.label)))
        return (reading.probabilities, self.status_line(reading, model, entry.key, several),
                seen_picture(reading.model_input), heat_picture(None))

    def drawn_heatmap(self, session: str | None):
        """Where the model looked in the visitor's last drawing read (the occlusion map), once drawing pauses."""
        last = self.last_drawings.get(session)
        if last is None:
            return heat_picture(None)
        key, model_input, target = last
        return heat_picture(explain.heatmap_picture(self.models.model(key), model_input, target, scale=1))

    def number(self, image, endpoint: str, choice=None):
        """The Number tab's text, the gallery of what the model saw, and the reading itself (kept in
        a gr.State for `number_boxes`; a State is no part of the API, which still answers two)."""
        entry, model = self.chosen(choice, endpoint)
        reading = self.read(pipeline.read_number, image, endpoint, model)
        if reading is None:
            return BLANK_NUMBER, [], None
        if not reading.digits:
            return (NOT_DIGITS if reading.not_digits else NO_DIGIT), [], reading
        gallery = [(self.outputs.save(enlarge(d.model_input, 4)), f"{d.label}{'' if d.sure else '?'} · {d.confidence:.0%}")
                   for d in reading.digits]
        count = f"{len(reading.digits)} digit" + ("" if len(reading.digits) == 1 else "s")
        if reading.not_digits:
            count += f" (and {number_view.left_out_note(len(reading.not_digits))})"
        return (f"Read: **{number_markup(reading)}**{guesses(reading)}  \n<small>{count}, "
                f"{timing(reading.milliseconds, model.provider, entry.key)}</small>"), gallery, reading

    def number_boxes(self, reading):
        """The picture of how the number was read: each digit's box, digit and confidence."""
        return None if reading is None else self.outputs.save(number_view.boxes_picture(reading))

    def inside(self, image, endpoint: str, choice=None):
        """The Inside LeNet view: status, input, probabilities, one picture per stage, JSON summary."""
        started = time.perf_counter()
        entry, model = self.chosen(choice, endpoint)
        layers = self.models.layers(entry.key)
        if layers is None:
            raise refused(endpoint, InputError(f"The model {entry.key} was exported without its layers file, which "
                                               "Inside LeNet reads: add it with python export/to_onnx.py RUN "
                                               "--layers-only, or choose another model."), 0)
        reading = self.read(lambda model, picture: look_inside(model, layers, picture), image, endpoint, model)
        if reading is None:
            return (DRAW_PROMPT,) + (None,) * (len(INSIDE_PICTURES) + 3)
        best = reading.summary["prediction"]
        status = (f"It's {article(best['label'])} {answer(best['label'])}  \n<small>{best['confidence']:.1%} sure · "
                  f"{timing((time.perf_counter() - started) * 1000, LAYERS_PROVIDER, entry.key)}</small>")
        pictures = [self.outputs.save(reading.pictures[name]) if name in reading.pictures else None
                    for name, _ in INSIDE_PICTURES]
        return (status, self.outputs.save(enlarge(reading.model_input)), reading.probabilities, *pictures,
                reading.summary)

    def compare(self, image, endpoint: str):
        """Every listed model on the same picture (the same 28×28 input): a headline saying whether
        they agree, the input, a table of each model's verdict and ten probabilities with the
        disagreeing rows marked, and the same as JSON (the API's last output)."""
        if image is not None and not isinstance(image, Image.Image):
            raise refused(endpoint, InputError(inputs.NOT_READABLE), 0)
        models = {entry.key: self.chosen(entry.key, endpoint)[1] for entry in self.models.catalog.entries}
        try:
            readings = pipeline.read_digit_by_each(models, image)
        except InputError as error:
            raise refused(endpoint, error, 0) from None
        if readings is None:  # as the Upload tab: a picture with no ink says so, an empty input prompts
            return (COMPARE_PROMPT if image is None or endpoint == "/compare_sketch" else NO_DIGIT_IN_PICTURE,
                    None, "", None)
        summary = comparison(readings)
        return (compare_headline(summary), self.outputs.save(enlarge(next(iter(readings.values())).model_input)),
                compare_table(summary, self.models.catalog.default.key), summary)


def number_markup(reading) -> str:
    """The number as its best guess, each digit shown as a guess followed by a small "?"."""
    return "".join(digit.label + ("" if digit.sure else "<sup>?</sup>") for digit in reading.digits)


def guesses(reading) -> str:
    """What each "?" means: the guess and the runner-up, e.g. " — ? a guess: 2 (63%) or 7 (30%)"."""
    notes = []
    for digit in reading.digits:
        if not digit.sure:
            runner_up = sorted(digit.probabilities.items(), key=lambda kv: -kv[1])[1]
            notes.append(f"{digit.label} ({digit.confidence:.0%}) or {runner_up[0]} ({runner_up[1]:.0%})")
    return f"  \n? a guess: {'; '.join(notes)}" if notes else ""


def handler(read, endpoint: str):
    """The event function for a Page method and its endpoint: (picture, model choice) → outputs
    (the parameter names are the API's)."""
    return lambda image, model: read(image, endpoint, model)


def timing(milliseconds: float, provider: str, key: str) -> str:
    """The small print under an answer: how long, where, and which model gave it."""
    return f"{milliseconds:.1f} ms on {provider} · model {key}"


def comparison(readings: dict) -> dict:
    """What the compare view and its API return: each model's reading and whether they agree. The
    answer the most models give (ties: the first listed) is the reference; "not a digit" counts as one."""
    answers = {key: (reading.label if reading.digit else None) for key, reading in readings.items()}
    counts = {}
    for value in answers.values():
        counts[value] = counts.get(value, 0) + 1
    majority = max(counts, key=counts.get)
    return {"agree": len(counts) == 1, "majority": majority,
            "models": [{"model": key, "label": answers[key], "closest_label": reading.label,
                        "confidence": round(reading.confidence, 4), "sure": reading.sure, "digit": reading.digit,
                        "not_digit_reason": reading.not_digit_reason, "disagrees": answers[key] != majority,
                        "probabilities": {label: round(p, 6) for label, p in reading.probabilities.items()},
                        "milliseconds": round(reading.milliseconds, 2)}
                       for key, reading in readings.items()]}


def said(row: dict) -> str:
    if not row["digit"]:
        return "not a digit"
    return row["label"] if row["sure"] else f"{row['label']}?"


def compare_headline(summary: dict) -> str:
    rows = summary["models"]
    if summary["agree"]:
        what = "say it is not a digit" if summary["majority"] is None else f"read {answer(summary['majority'])}"
        return f"All {len(rows)} models {what}  \n<small>not sure: {', '.join(r['model'] for r in rows if not r['sure']) or 'none'}</small>"
    groups: dict[str, list[str]] = {}
    for row in rows:
        groups.setdefault("not a digit" if row["label"] is None else row["label"], []).append(row["model"])
    parts = "; ".join(f"{', '.join(models)}: {label}" for label, models in groups.items())
    return f"{answer('They disagree')}  \n<small>{parts}</small>"


def compare_table(summary: dict, default: str) -> str:
    """Each model a row: its verdict, confidence and the ten probabilities shaded by size; a row that
    disagrees with the majority is marked ≠."""
    labels = list(summary["models"][0]["probabilities"]) if summary["models"] else []
    head = "".join(f'<th class="p">{label}</th>' for label in labels)
    rows = []
    for row in summary["models"]:
        cells = "".join(f'<td class="p" style="background: rgba(249, 115, 22, {0.45 * p:.2f})" title="{p:.4f}">'
                        f"<span>{p:.0%}</span></td>"  # at most a light tint: dark text stays legible
                        for p in row["probabilities"].values())
        mark = '<span class="disagrees" title="disagrees with the majority">≠</span> ' if row["disagrees"] else ""
        name = f"{row['model']}{' (default)' if row['model'] == default else ''}"
        rows.append(f'<tr class="{"disagrees" if row["disagrees"] else "agrees"}"><th scope="row">{mark}{name}</th>'
                    f"<td class='said'>{said(row)} <small>{row['confidence']:.0%}</small></td>{cells}</tr>")
    return (f'<div class="table-wrap"><table class="page-table compare-table"><caption>Each model on the same '
            f"28×28 input: what it reads, how sure, and its ten probabilities (shaded by size)</caption><thead><tr>"
            f"<th>model</th><th>reads</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
            '<p class="compare-note">"7?" = the model is not sure (below its own threshold). Same 28×28 input for every model.</p>')


def article(label: str) -> str:
    return "an" if label.startswith("8") else "a"


def answer(text: str) -> str:
    """The headline's answer, set large by the stylesheet (`.verdict .answer`; a digit larger still)."""
    return f'<span class="answer{" digit" if text.isdigit() else ""}">{text}</span>'


def verdict(reading, side_by_side: int = 1, timing: str = "") -> str:
    """The headline for one digit, and how sure (with `timing` in small print): the digit when the
    model is sure; "Not sure" and the two likeliest when it is not; "Several digits?" and a nudge
    to the Number tab when the picture holds digits side by side."""
    small = f"  \n<small>{timing}</small>" if timing else ""
    if side_by_side > 1:
        return (f"{answer('Several digits?')} This picture seems to hold {side_by_side} side by side, and this tab reads "
                f"one: the **Number** tab reads numbers.  \n<small>Read as one digit: {reading.label} "
                f"({reading.confidence:.0%}) · {timing}</small>")
    if not getattr(reading, "digit", True):
        return (f"{answer('Not a digit')} {reading.not_digit_reason[:1].upper()}{reading.not_digit_reason[1:]}. "
                f"<small>LeNet's closest reading would be {article(reading.label)} {reading.label} "
                f"({reading.confidence:.0%}){' · ' + timing if timing else ''}</small>")
    if reading.sure:
        return f"It's {article(reading.label)} {answer(reading.label)}  \n<small>{reading.confidence:.1%} sure · {timing}</small>"
    runner_up = sorted(reading.probabilities.items(), key=lambda kv: -kv[1])[1]
    return (f"{answer('Not sure')} — maybe {article(reading.label)} {reading.label} ({reading.confidence:.0%}) or "
            f"{article(runner_up[0])} {runner_up[0]} ({runner_up[1]:.0%}). Try writing it larger and clearer.{small}")


def digits_side_by_side(image) -> int:
    """How many digit-sized groups of ink stand side by side in a picture (0 without ink): a
    cheap sign that a picture holds a number (the picture is shrunk to `NUDGE_SIDE` px first; 2 of
    MNIST's 10,000 test digits count as two: a 1 and a 2 with a stray stroke beside them). Blobs whose columns overlap are one group (a broken 5 stays one); groups less than
    half as tall as the tallest (dots, dashes, specks) do not count."""
    if image is None:
        return 0
    scale = NUDGE_SIDE / max(image.size)
    if scale < 1:
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.BILINEAR, reducing_gap=2.0)
    blobs, count = ink_blobs(ink_map(image))
    if count < 2:
        return count
    groups: list[list[int]] = []  # [left, right, height]
    for rows, columns in sorted(ndi.find_objects(blobs), key=lambda box: box[1].start):
        height = rows.stop - rows.start
        if groups and columns.start < groups[-1][1]:
            groups[-1] = [groups[-1][0], max(groups[-1][1], columns.stop), max(groups[-1][2], height)]
        else:
            groups.append([columns.start, columns.stop, height])
    tallest = max(height for _, _, height in groups)
    return sum(height >= tallest / 2 for _, _, height in groups)


def api_sketchpad(label: str, size: tuple[int, int], pen: int, endpoint: str, root: str) -> gr.Sketchpad:
    """Gradio's stock sketchpad (`size` px, a black pen), hidden, for the API's sketch endpoints
    (their documented value); the page draws on demo.drawing's surfaces, one small request a stroke."""
    return accept_sketches(gr.Sketchpad(
        label=label, canvas_size=size, image_mode="RGBA", layers=False, transforms=(), fixed_canvas=True, visible=False,
        brush=gr.Brush(default_size=pen, colors=["#000000"], color_mode="fixed")), endpoint, root)


def drawing_input(label: str, size: tuple[int, int], pen: int, endpoint: str, root: ClientFiles,
                  kind: str, send_scale: float = drawing.SEND_SCALE) -> gr.HTML:
    """A drawing surface (demo.drawing) whose picture goes through `demo.inputs` (a data: URL only);
    `kind` names it for the page's script and tests (e.g. "draw-tab")."""
    return accept_images(drawing.drawing_surface(label, size, pen, [kind], send_scale=send_scale),
                         lambda payload, _root, decode: inputs.image_from_drawing(payload, decode), endpoint, root)


def picture_input(label: str, endpoint: str, root: str, height: int = 220, sources=("upload", "clipboard")) -> gr.Image:
    """An upload (or camera) input that shows the picture back, read by `demo.inputs`."""
    return accept_images(gr.Image(label=label, sources=list(sources), type="filepath", height=height,
                                  buttons=[], elem_classes="picture-input"), inputs.image_from_file, endpoint, root)


def seen_picture(model_input) -> str:
    return drawing.picture_html("What the model sees (28×28)", model_input, "model-input.png",
                                "The 28×28 picture the model reads", "Appears when you draw")


def heat_picture(heat) -> str:
    return drawing.picture_html("Where it looked", heat, "where-it-looked.png",
                                "Where the model looked: the digit with the spots that mattered most in red and yellow",
                                HEAT_WAITING)


def drawing_results():
    """The Draw tab's answer column, as `digit_results` but with the pictures inline (no files, no
    fetches). Returned in the events' order: probabilities, verdict, model input, heatmap."""
    status = gr.Markdown(DRAW_PROMPT, elem_classes="verdict")
    with gr.Row(equal_height=True, elem_classes="inline-pictures"):
        seen = gr.HTML(seen_picture(None), elem_classes="model-input", min_width=140, apply_default_css=False)
        heat = gr.HTML(heat_picture(None), elem_classes="heatmap", min_width=140, apply_default_css=False)
    gr.HTML(HEAT_LEGEND)
    label = gr.Label(num_top_classes=10, label="Probabilities", show_heading=False, elem_classes="probabilities")
    return [label, status, seen, heat]


def digit_results(blank: str):
    """The answer column: headline, what the model saw and where it looked, then the probabilities.
    Returned in the API's order: probabilities, verdict, model input, heatmap."""
    status = gr.Markdown(blank, elem_classes="verdict")
    with gr.Row(equal_height=True):
        seen = gr.Image(label="What the model sees (28×28)", elem_classes="model-input", height=170,
                        interactive=False, buttons=["download"], min_width=140)
        heat = gr.Image(label="Where it looked", elem_classes="heatmap", height=170,
                        interactive=False, buttons=["download"], min_width=140)
    gr.HTML(HEAT_LEGEND)
    label = gr.Label(num_top_classes=10, label="Probabilities", show_heading=False, elem_classes="probabilities")
    return [label, status, seen, heat]


def examples(pattern: str) -> list[str]:
    return sorted(str(p) for p in EXAMPLES.glob(pattern))


def show_examples(pattern: str, target: gr.Image, label: str, kind: str) -> None:
    """Example pictures as thumbnails (their file names, which give the answers away, are not
    shown); a click puts the picture in `target`, whose change event reads it like an upload.

    Not gr.Examples: its click answers with a property update, and Gradio then rebuilds the input
    component for the session from its constructor arguments, without the preprocessing that
    `accept_images` put on the instance, so later calls from that page would hand the functions a
    path. A plain value keeps the component. Each click sends the example's file again, so it is
    copied back into the cache folder if the cache sweep removed it."""
    found = examples(pattern)
    if found:
        dataset = gr.Dataset(components=[gr.Image(visible=False, render=False)], samples=[[path] for path in found],
                             type="index", layout="gallery", label=label, samples_per_page=12,
                             elem_classes=["examples", kind])
        dataset.click(lambda index: found[index], dataset, target, queue=False, api_visibility="private")


def stage_notes(summary) -> list[str]:
    """For each Inside LeNet stage, its colour scale and what this picture made of it, from the
    summary: the weakest and strongest map's peak, silent maps; for FC 500, the units that respond."""
    layers = {layer["name"]: layer for layer in (summary or {}).get("layers", [])}
    notes = []
    for name in INSIDE_ORDER:
        if name == "conv1_filters":
            notes.append(FILTER_LEGEND)
            continue
        layer = layers.get(name)
        if layer is None:
            notes.append(MAP_LEGEND if name != "fc1" else "")
        elif name == "fc1":
            units = layer["shape"][0]
            active = round(layer["active_share"] * units)
            strongest = ", ".join(f"#{unit} ({value:.2f})" for unit, value in layer["strongest"][:5])
            notes.append(f"**{active} of {units} units respond** to this picture; the rest stay at 0. Bar height: "
                         f"0 to {layer['max']:.2f}, the strongest unit. Strongest: {strongest}.")
        else:
            low, high = layer.get("map_max", [0, layer["max"]])
            silent = layer.get("silent_maps", 0)
            notes.append(MAP_LEGEND + f"\n\nPeaks here run from **{low:.2f}** (weakest map) to **{high:.2f}** (strongest)"
                         + (f"; {silent} {'map stays' if silent == 1 else 'maps stay'} at 0 everywhere (black)." if silent else "."))
    return notes


def inside_tab(page: Page, root: ClientFiles, queue: dict, choice: gr.Dropdown) -> None:
    """Draw or upload a digit and see every layer's response (reader.inside), from the layers file
    exported beside the model; /inside (upload) and /inside_sketch are its API endpoints."""
    if page.layers is None:
        gr.Markdown("The default model was exported without its layers file (`lenet-layers.onnx` beside it). "
                    "Add it with `python export/to_onnx.py RUN --layers-only`, or choose a model that has one.")
    gr.Markdown("What LeNet computes for your digit, stage by stage: the filters conv1 learned, the maps they make, "
                "each pooling, the 500 units of the dense layer and the 10 outputs. Each map is drawn on its own "
                f"colour scale so weak responses show too. (The chosen model's `lenet-layers.onnx`, run by ONNX Runtime.)")
    pictures = {}
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            surface = drawing_input("Draw a digit to look inside", (280, 280), 12, "/inside_drawing", root, "inside-tab")
            sketch = api_sketchpad("Draw a digit to look inside", (280, 280), 12, "/inside_sketch", root)
            status = gr.Markdown(DRAW_PROMPT, elem_classes="verdict")
            with gr.Row(equal_height=True):
                seen = gr.Image(label="Input (28×28)", elem_classes="model-input", height=150,
                                interactive=False, min_width=130, buttons=["download"])
                outputs = gr.Label(num_top_classes=3, label="Output (softmax)", show_heading=False,
                                   elem_classes="probabilities", min_width=130)
            upload = picture_input("…or upload a picture of a digit", "/inside", root, height=160)
        with gr.Column(scale=2, min_width=300):
            notes = []
            labels = dict(INSIDE_PICTURES)
            for name in INSIDE_ORDER:
                pictures[name] = gr.Image(label=labels[name], interactive=False, buttons=["download"],
                                          elem_classes=["inside-stage", f"inside-{name}"])
                notes.append(gr.Markdown(MAP_LEGEND if name not in ("conv1_filters", "fc1") else
                                         FILTER_LEGEND if name == "conv1_filters" else "", elem_classes="stage-note"))
    with gr.Accordion("The numbers behind these pictures (JSON: what the /inside API returns last)", open=False):
        summary = gr.JSON(label="Summary")
    targets = [status, seen, outputs, *[pictures[name] for name, _ in INSIDE_PICTURES], summary]
    # the page's drawing (one request a stroke); /inside_sketch, for API clients, on no visible block
    surface.change(handler(page.inside, "/inside_drawing"), [surface, choice], targets, api_name="inside_drawing",
                   api_visibility="private", trigger_mode="always_last",
                   **queue).then(stage_notes, summary, notes, api_visibility="private")
    sketch.change(handler(page.inside, "/inside_sketch"), [sketch, choice], targets,
                  api_name="inside_sketch", trigger_mode="always_last",
                  **queue).then(stage_notes, summary, notes, api_visibility="private")
    upload.change(handler(page.inside, "/inside"), [upload, choice], targets,
                  api_name="inside", **queue).then(stage_notes, summary, notes, api_visibility="private")
    return surface, targets, notes, summary


def model_line(served: Served) -> str:
    """The page's line naming the default model, why it is the default, and where it runs."""
    line = f"Default model **`{display_path(served.choice.path)}`** — {served.summary().split(' (', 1)[1][:-1]} · " \
           f"ONNX Runtime on **{served.model.provider}**"
    if served.model.cuda_note:
        line += f" · {served.model.cuda_note}"
    return line


def model_picker(served: Served) -> gr.Dropdown:
    """The visitor's model: every model the catalog lists, the default chosen. The value travels with
    each event from this browser alone (other visitors keep theirs), and is the endpoints' optional
    last parameter `model`; its values are checked by `Page.chosen`, so Gradio's own check (and its
    message) is replaced by passing the value through."""
    picker = gr.Dropdown(choices=[(entry.label, entry.key) for entry in served.catalog.entries],
                         value=served.catalog.default.key, label="Model (your choice, for this page only)",
                         filterable=False, elem_classes="model-picker")
    picker.preprocess = lambda payload: payload
    return picker


def compare_tab(page: Page, root: ClientFiles, queue: dict) -> None:
    """One drawing or picture read by every listed model side by side (/compare_sketch, /compare_upload)."""
    gr.Markdown("Every model this server lists reads the same drawing — the same 28×28 input — each with its "
                "own \"not sure\" threshold. Rows that disagree with the majority are marked ≠.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            surface = drawing_input("Draw one digit", (280, 280), 12, "/compare_drawing", root, "compare-tab")
            sketch = api_sketchpad("Draw one digit", (280, 280), 12, "/compare_sketch", root)
            upload = picture_input("…or upload a picture of one digit", "/compare_upload", root, height=160)
        with gr.Column(scale=2, min_width=300):
            headline = gr.Markdown(COMPARE_PROMPT, elem_classes="verdict compare-verdict")
            seen = gr.Image(label="Input (28×28)", elem_classes="model-input", height=150,
                            interactive=False, buttons=["download"], width=150)
            table = gr.HTML("", elem_classes="compare", padding=False)
            with gr.Accordion("The same as JSON (what the /compare API returns last)", open=False):
                summary = gr.JSON(label="Comparison")
    targets = [headline, seen, table, summary]
    surface.change(lambda image: page.compare(image, "/compare_drawing"), surface, targets, api_name="compare_drawing",
                   api_visibility="private", trigger_mode="always_last", **queue)
    sketch.change(lambda image: page.compare(image, "/compare_sketch"), sketch, targets, api_name="compare_sketch",
                  trigger_mode="always_last", **queue)
    upload.change(lambda image: page.compare(image, "/compare_upload"), upload, targets, api_name="compare_upload",
                  **queue)


def open_session() -> None:
    """Nothing: the page's load event exists so that Gradio makes the visitor's session then."""


def build_app(served: Served) -> gr.Blocks:
    """The page for the model `demo.serving.start` chose and loaded, and the others it lists."""
    page = Page(served)
    root = ClientFiles(served.cache_folder, served.decoder.decode)
    queue = dict(concurrency_limit=served.concurrency, concurrency_id="model")

    # No delete_cache: Gradio's would delete the examples' and the Training tab's files after their age
    # like any other; demo.cache_folder.CacheFolder expires uploads and outputs and keeps those.
    with gr.Blocks(title="LeNet digits") as app:
        gr.Markdown("# LeNet digits\nDraw a digit and the 1998 LeNet, trained on MNIST and run with ONNX Runtime, "
                    "reads it — after the same preprocessing that made MNIST.", elem_classes="intro")
        if served.downgrade:
            gr.Markdown(f"**Note:** {served.downgrade}", elem_classes="downgrade-warning")
        choice = model_picker(served)
        with gr.Tabs(overflow_behavior="wrap"):
            with gr.Tab("Draw"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=1, min_width=300):
                        surface = drawing_input("Draw one digit", (280, 280), 12, "/read_drawing", root, "draw-tab")
                    with gr.Column(scale=1, min_width=300):
                        outputs = drawing_results()
                # One request per stroke (the drawing inline), the heatmap once drawing pauses; the
                # heatmaps have their own slot, so a stroke never waits behind more than one of them.
                def read_drawing(drawing, model, request: gr.Request):
                    return page.drawn(drawing, "/read_drawing", model, request.session_hash)

                def drawing_heatmap(request: gr.Request):
                    return page.drawn_heatmap(request.session_hash)

                surface.change(read_drawing, [surface, choice], outputs, api_name="read_drawing",
                               api_visibility="private", trigger_mode="always_last", **queue)
                surface.submit(drawing_heatmap, None, outputs[3], api_name="drawing_heatmap", api_visibility="private",
                               trigger_mode="always_last", concurrency_limit=1, concurrency_id="heatmap")
                # /classify_sketch, for API clients: a sketchpad value (docs/demo.md), on no visible block
                sketch = api_sketchpad("Draw one digit", (280, 280), 12, "/classify_sketch", root)
            with gr.Tab("Upload"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=1, min_width=300):
                        upload = picture_input(f"Picture of one digit ({FORMAT_NAMES})",
                                               "/classify_upload", root)
                        show_examples("mnist_*.png", upload, "Or pick a real MNIST test digit", "digit-examples")
                        with gr.Accordion("…or take a photo with your camera", open=False):
                            camera = picture_input("Photo of one digit", "/classify_photo", root,
                                                   sources=("webcam", "clipboard"))
                    with gr.Column(scale=1, min_width=300):
                        upload_outputs = digit_results(UPLOAD_PROMPT)
                upload.change(handler(page.digit, "/classify_upload"), [upload, choice],
                              upload_outputs, api_name="classify_upload", **queue)
                sketch.change(handler(page.digit, "/classify_sketch"), [sketch, choice],
                              upload_outputs, api_name="classify_sketch", trigger_mode="always_last", **queue)
                camera.change(handler(page.digit, "/classify_photo"), [camera, choice],
                              upload_outputs, api_name="classify_photo", **queue)
            with gr.Tab("Number"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=300):
                        # sent at full size: the number reader's figures were measured on full-size canvases
                        number_surface = drawing_input("Write a number, digits side by side", (700, 240), 10,
                                                       "/read_number_drawing", root, "number-tab", send_scale=1.0)
                        number_sketch = api_sketchpad("Write a number, digits side by side", (700, 240), 10,
                                                      "/read_number", root)
                    with gr.Column(scale=2, min_width=300):
                        number_text = gr.Markdown(BLANK_NUMBER, elem_classes="verdict")
                        number_picture = gr.Image(label="How it was read: each digit's box, digit and confidence",
                                                  interactive=False, buttons=["download"], height=200,
                                                  elem_classes="number-boxes")
                        number_digits = gr.Gallery(label="What the model saw, left to right", columns=8,
                                                   height="auto", object_fit="contain", allow_preview=False,
                                                   elem_classes="number-digits")
                        number_reading = gr.State()
                with gr.Row(equal_height=False):
                    with gr.Column(scale=1, min_width=300):
                        number_file = picture_input("…or upload a picture of a number", "/read_number_upload",
                                                    root, height=160)
                    with gr.Column(scale=1, min_width=300):
                        show_examples("number_*.png", number_file, "Or pick a number made of MNIST digits",
                                      "number-examples")
            number_results = [number_text, number_digits, number_reading]
            number_surface.change(handler(page.number, "/read_number_drawing"), [number_surface, choice],
                                  number_results, api_name="read_number_drawing", api_visibility="private",
                                  trigger_mode="always_last",
                                  **queue).then(page.number_boxes, number_reading, number_picture, api_visibility="private")
            number_sketch.change(handler(page.number, "/read_number"), [number_sketch, choice],
                                 number_results, api_name="read_number", trigger_mode="always_last",
                                 **queue).then(page.number_boxes, number_reading, number_picture, api_visibility="private")
            number_file.change(handler(page.number, "/read_number_upload"),
                               [number_file, choice], number_results, api_name="read_number_upload",
                               **queue).then(page.number_boxes, number_reading, number_picture, api_visibility="private")
            with gr.Tab("Inside LeNet"):
                inside_surface, inside_targets, inside_notes, inside_summary = inside_tab(page, root, queue, choice)
            with gr.Tab("Compare models"):
                compare_tab(page, root, queue)
            with gr.Tab("Training"):
                training_tab(shipped_runs(served.choice.path), served.model)
        gr.Markdown(model_line(served), elem_classes="model-line")

        # A new choice answers again what the Draw, Upload, Number and Inside tabs show, with the chosen model.
        choice.change(read_drawing, [surface, choice], outputs,
                      api_visibility="private", **queue).then(drawing_heatmap, None, outputs[3], api_visibility="private",
                                                              concurrency_limit=1, concurrency_id="heatmap")
        choice.change(handler(page.digit, "/classify_upload"), [upload, choice],
                      upload_outputs, api_visibility="private", **queue)
        choice.change(handler(page.number, "/read_number_drawing"), [number_surface, choice],
                      number_results, api_visibility="private",
                      **queue).then(page.number_boxes, number_reading, number_picture, api_visibility="private")
        choice.change(handler(page.inside, "/inside_drawing"), [inside_surface, choice],
                      inside_targets, api_visibility="private",
                      **queue).then(stage_notes, inside_summary, inside_notes, api_visibility="private")
        gr.api(served_models(served), api_name="models", queue=False)
        # The visitor's Gradio session (a copy of every block's config: ~15 ms of CPU for this page) is
        # made as the page opens, not by the first stroke, which would otherwise wait for it.
        app.load(open_session, None, None, queue=False, api_visibility="private", show_progress="hidden")
    refuse_malformed_payloads(app, choice)
    app.queue(max_size=QUEUE_SIZE, default_concurrency_limit=served.concurrency)
    app._queue.sleep_when_free = QUEUE_POLL_S
    return app


def served_models(served: Served):
    def models() -> dict:
        """Every model this server can answer with: {default, models: [{key, file, recipe, test_accuracy,
        exported, shipped}], loaded_at_most, loaded}. Pass a key as an endpoint's `model` to choose it."""
        return {**served.catalog.as_json(), "loaded": served.models.loaded}
    return models


def launch_options(served: Served) -> dict:
    """Arguments for `launch()`; GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are read by Gradio itself.

    The request limits and the cache folder's alias (`demo.private_paths`: clients never see a
    server path) sit in front of Gradio as ASGI middleware; the private cache folder is swept
    while the app runs and removed when it stops. Gradio keeps each browser session's component
    values (its last inputs too) for `state_session_capacity` sessions; the page keeps no state of
    its own, so a small number only bounds that memory (an evicted session is simply made again)."""
    cache = CacheFolder(served.cache_folder)

    @contextlib.asynccontextmanager
    async def cache_while_serving(_app):
        cache.start()
        try:
            yield
        finally:
            cache.remove()

    return {"js": PAGE_JS, "css": CSS, "max_file_size": MAX_IMAGE_BYTES, "show_error": True,
            "state_session_capacity": SESSION_CAPACITY,
            "app_kwargs": {"middleware": [Middleware(RequestLimits, cache=cache),  # outermost: bounds before reading
                                          Middleware(HideCachePath, alias=cache.alias)],
                           "lifespan": cache_while_serving}}
