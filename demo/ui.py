"""The Gradio page: draw, upload or write a number; see what the model sees and why; training tab.

`build_app(served)` returns the Blocks for a model chosen and loaded by `demo.serving.start`;
`launch_options(served)` the arguments for `launch()`: the brush-selecting script, the upload
limit, the request limits of `demo.server_limits` and the private cache folder's life.

Every image input hands its client payload to `demo.inputs` (the trust boundary) in place of
Gradio's own preprocessing, so the functions behind the page receive a bounded RGBA image, never
a path; a refused input becomes one error pop-up and one log line (endpoint, reason, size).
Named API endpoints: /classify_sketch, /classify_upload, /classify_photo, /read_number,
/read_number_upload, /inside, /inside_sketch (docs/demo.md: gradio_client and raw HTTP calls).
"""

import contextlib
import json
from dataclasses import dataclass
import logging
import time
import os
import tempfile
from collections import deque
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
import pydantic
from fastapi import HTTPException
from gradio.exceptions import InvalidPathError
from PIL import Image
from starlette.middleware import Middleware

from demo import inputs, number_view
from reader import pipeline
from reader.inside import LayerModel, enlarge, filter_grid, look_inside
from reader.errors import InputError
from reader.images import FORMAT_NAMES, MAX_IMAGE_BYTES
from reader.model import DigitModel
from reader.runs import LAYERS_FILE, RunView, display_path, shipped_runs
from demo.private_paths import HideCachePath
from demo.cache_folder import CacheFolder
from demo.server_limits import RequestLimits
from demo.serving import Served

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "artifacts" / "examples"
SESSION_CAPACITY = 64  # Gradio keeps each session's last inputs (≤ 1 MB JSON each); this bounds that memory
QUEUE_SIZE = 64        # events waiting for the model; each holds its request's JSON (≤ 1 MB)
IMAGE_FILE_TYPES = ["image", ".tif", ".tiff", ".webp"]
log = logging.getLogger("lenet.requests")

SELECT_BRUSH_JS = """
() => {
  // Gradio's image editor opens, and comes back after "Clear canvas", with no tool selected, and
  // strokes then draw nothing. Select the brush whenever a visible sketchpad has no tool selected.
  // The brush is its toolbar's first button: the aria-label is translated ("Pincel" in Spanish).
  const pick = () => document.querySelectorAll('.block .toolbar-wrap').forEach((bar) => {
    if (bar.offsetParent === null || !bar.closest('.block').querySelector('.pixi-target')) return;
    if (bar.querySelector('button.highlight')) return;
    const brush = bar.querySelector('button');
    if (brush) brush.click();
  });
  let queued = false;
  new MutationObserver(() => {
    if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; pick(); }); }
  }).observe(document.body, {childList: true, subtree: true, attributes: true, attributeFilter: ["class"]});
  pick();
}
"""
CSS = ".model-input img, .heatmap img, [class*='inside-'] img { image-rendering: pixelated; }"

BLANK_DIGIT = (None, "✏️ **Draw a digit** (0–9) in the box — one digit, as large as you like.", None, None)
BLANK_NUMBER = "✏️ **Write a number** — digits side by side, left to right."
NO_DIGIT = "**No digit found** — only specks or dots. " + BLANK_NUMBER
INSIDE_PICTURES = (  # reader.inside picture → label on the page
    ("conv1", "conv1: 20 feature maps, 28×28, after ReLU"),
    ("conv1_filters", "conv1's 20 learned filters, 5×5 (blue negative, white 0, red positive)"),
    ("pool1", "max-pool 2×2: 20 maps, 14×14"),
    ("conv2", "conv2: 50 feature maps, 14×14, after ReLU"),
    ("pool2", "max-pool 2×2: 50 maps, 7×7"),
    ("fc1", "FC 500 after ReLU, one bar per unit: the 10 strongest in red"))


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


def refuse_malformed_payloads(app: gr.Blocks) -> None:
    """Payloads Gradio's own checks refuse before `demo.inputs` sees them (the wrong shape, a file
    path that was never uploaded) become the same one pop-up and one log line, not a traceback; a
    FileData whose path is a URL is refused before Gradio's preprocessing could download it."""
    checked = app.preprocess_data

    async def preprocess_data(block_fn, inputs_, state, *args, **kwargs):
        if inputs.names_a_remote_file(inputs_):  # Gradio would download it: never fetch for a client
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
    """The functions behind the page's events, for one served model."""

    def __init__(self, served: Served):
        self.served = served
        self.model = served.model
        self.outputs = OutputImages(served.cache_folder)
        self.layers = LayerModel.beside(served.model, threads=served.threads)

    def status_line(self, reading) -> str:
        return f"{verdict(reading)}  \n<small>{reading.milliseconds:.1f} ms on {self.model.provider}</small>"

    def read(self, read, image, endpoint: str):
        """Run a pipeline reader; input it cannot use becomes one error pop-up with its message."""
        try:
            return read(self.model, image)
        except InputError as error:
            raise refused(endpoint, error, 0) from None

    def digit(self, image, endpoint: str):
        reading = self.read(pipeline.read_digit, image, endpoint)
        if reading is None:
            return BLANK_DIGIT
        return (reading.probabilities, self.status_line(reading),
                self.outputs.save(enlarge(reading.model_input)), self.outputs.save(reading.heatmap))

    def number(self, image, endpoint: str):
        """The Number tab's text, the gallery of what the model saw, and the reading itself (kept in
        a gr.State for `number_boxes`; a State is no part of the API, which still answers two)."""
        reading = self.read(pipeline.read_number, image, endpoint)
        if reading is None:
            return BLANK_NUMBER, [], None
        if not reading.digits:
            return NO_DIGIT, [], reading
        gallery = [(self.outputs.save(enlarge(d.model_input, 4)), f"{d.label} · {d.confidence:.0%}")
                   for d in reading.digits]
        unsure = " (? = not sure)" if "?" in reading.text else ""
        count = f"{len(reading.digits)} digit" + ("" if len(reading.digits) == 1 else "s")
        return (f"Read: **{reading.text}**{unsure}  \n<small>{count}, {reading.milliseconds:.1f} ms "
                f"on {self.model.provider}</small>"), gallery, reading

    def number_boxes(self, reading):
        """The picture of how the number was read: each digit's box, digit and confidence."""
        return None if reading is None else self.outputs.save(number_view.boxes_picture(reading))

    def inside(self, image, endpoint: str):
        """The Inside LeNet view: status, input, probabilities, one picture per stage, JSON summary."""
        started = time.perf_counter()
        reading = self.read(lambda model, picture: look_inside(model, self.layers, picture), image, endpoint)
        if reading is None:
            return (BLANK_DIGIT[1],) + (None,) * (len(INSIDE_PICTURES) + 3)
        best = reading.summary["prediction"]
        status = (f"It's a **{best['label']}** ({best['confidence']:.1%}). One colour scale per layer: black is 0, "
                  f"the lightest colour that layer's strongest response to this picture.  \n"
                  f"<small>{(time.perf_counter() - started) * 1000:.1f} ms on CPUExecutionProvider</small>")
        pictures = [self.outputs.save(reading.pictures[name]) if name in reading.pictures else None
                    for name, _ in INSIDE_PICTURES]
        return (status, self.outputs.save(enlarge(reading.model_input)), reading.probabilities, *pictures,
                reading.summary)


def verdict(reading) -> str:
    """The status line's Markdown for one digit: the answer, "not a digit" and why, or "not sure"
    with the two likeliest."""
    if not getattr(reading, "digit", True):
        return (f"**Not a digit:** {reading.not_digit_reason}. (LeNet's closest reading would be a "
                f"{reading.label}, {reading.confidence:.0%}.)")
    if reading.sure:
        return f"It's a **{reading.label}** ({reading.confidence:.1%} sure)."
    runner_up = sorted(reading.probabilities.items(), key=lambda kv: -kv[1])[1]
    return (f"**Not sure.** Maybe a {reading.label} ({reading.confidence:.0%}) or a {runner_up[0]} "
            f"({runner_up[1]:.0%}) — try writing it larger and clearer.")


def digit_result_column():
    label = gr.Label(num_top_classes=10, label="Probabilities")
    status = gr.Markdown(BLANK_DIGIT[1])
    with gr.Row():
        seen = gr.Image(label="What the model sees (28×28)", elem_classes="model-input", height=280,
                        interactive=False, buttons=["download"])
        heat = gr.Image(label="Why: occlusion sensitivity", elem_classes="heatmap", height=280,
                        interactive=False, buttons=["download"])
    return [label, status, seen, heat]


def report_table(view: RunView) -> pd.DataFrame | None:
    if not view.report:
        return None
    rows = [{"class": name, **{k: round(v, 4) if isinstance(v, float) else v for k, v in values.items()}}
            for name, values in view.report.items() if isinstance(values, dict)]
    return pd.DataFrame(rows, columns=["class", "precision", "recall", "f1-score", "support"])


def curves_frame(view: RunView) -> tuple[pd.DataFrame, dict] | None:
    """The card's curves as long-form rows for gr.LinePlot, and its axis titles."""
    curves = view.card.get("curves") or {}
    rows = [{"x": x, "series": series.get("label", series.get("key")), "value": y}
            for series in curves.get("series", []) for x, y in series.get("points", [])]
    if not rows:
        return None
    return pd.DataFrame(rows), {"x_title": curves.get("x_label", "Epoch"), "y_title": curves.get("y_label", "")}


def robustness_table(view: RunView) -> pd.DataFrame | None:
    """Test accuracy (%) under each distortion, one row per model the card compares."""
    robustness = view.card.get("robustness") or {}
    columns = [(d["key"], d.get("label", d["key"])) for d in robustness.get("distortions", [])]
    if not columns:
        return None
    rows = [{"model": m.get("name"), **{label: round(100 * m["accuracy"][key], 2) for key, label in columns
                                        if key in m.get("accuracy", {})}} for m in robustness.get("models", [])]
    return pd.DataFrame(rows, columns=["model"] + [label for _, label in columns])


def metric_text(metric: dict) -> str:
    value, unit = metric.get("value"), metric.get("unit")
    if not isinstance(value, (int, float)):
        shown = str(value)
    elif unit == "fraction":
        shown = f"{value:.2%}"
    elif unit == "probability":
        shown = f"{value:.1e}" if 0 < value < 0.01 else f"{value:.2f}"
    else:
        shown = f"{value:.4g} {unit or ''}".strip()
    detail = f" ({metric['detail']})" if metric.get("detail") else ""
    return f"{metric.get('name')}: **{shown}**{detail}"


def model_card(view: RunView, model: DigitModel | None) -> str:
    """The run card as Markdown: what the run is, how it was made, what it scored."""
    card, training = view.card, view.card.get("training") or {}
    serving = model is not None and model.path.parent.resolve() == view.folder.resolve()
    lines = [f"### Recipe `{view.name}`{' — served' if serving else ''}", card.get("description", "")]
    if card.get("architecture"):
        lines.append(f"**Architecture:** {card['architecture']}; {card.get('parameters', 0):,} parameters.")
    if training:
        lines.append(f"**Training:** {training.get('epochs')} epochs, batch {training.get('batch_size')}, "
                     f"{training.get('optimizer')} lr {training.get('learning_rate')}, seed {training.get('seed')}, "
                     f"{training.get('train_images')} training images, {training.get('train_seconds')} s on "
                     f"{training.get('device')}" + (f" ({training['precision']})." if training.get("precision") else "."))
    metrics = [metric_text(m) for m in card.get("metrics", [])]
    if metrics:
        lines.append("**Results:**\n" + "\n".join(f"- {m}" for m in metrics))
    threshold = card.get("uncertainty") or {}
    if threshold.get("uncertain_below") is not None:
        chosen = threshold.get("validation") or {}
        lines.append(f"**“Not sure” below {threshold['uncertain_below']:.0%} confidence**, chosen on "
                     f"{threshold.get('chosen_on', 'held-out images')}: {chosen.get('images_below')} of "
                     f"{chosen.get('images')} fall under it.")
    commands = {k: v for k, v in (card.get("commands") or {}).items() if v}
    if commands:
        lines.append("**Made with:**\n" + "\n".join(f"- {k}: `{v}`" for k, v in commands.items()))
    if serving:
        lines.append(f"**Serving:** `{display_path(model.path)}` on {model.provider}; answers below "
                     f"{model.contract.uncertain_below:.0%} confidence are shown as “not sure”.")
    return "\n\n".join(line for line in lines if line)


def training_column(view: RunView, model: DigitModel | None):
    gr.Markdown(model_card(view, model))
    curves = curves_frame(view)
    if curves is not None:
        frame, titles = curves
        gr.LinePlot(frame, x="x", y="value", color="series", title=f"Training curves ({view.name})",
                    height=320, **titles)
    table = report_table(view)
    if table is not None:
        gr.Dataframe(table, label="Classification report (test set)", interactive=False)
    if view.file("confusion"):
        gr.Image(str(view.file("confusion")), label="Confusion matrix (test set)", interactive=False)
    for picture, label in filters_of(view):
        gr.Image(picture, label=label + " — blue negative, white 0, red positive", interactive=False,
                 elem_classes="model-input")
    if view.misclassified:
        m = view.misclassified
        gr.Gallery([(np.asarray(img), f"true {t} → {p} ({c:.0%})") for img, t, p, c in
                    zip(m["images"], m["true"], m["predicted"], m["confidence"])],
                   label="Most confidently misclassified test digits", columns=8, height=300)


def examples(pattern: str) -> list[str]:
    return sorted(str(p) for p in EXAMPLES.glob(pattern))


def inside_tab(page: Page, root: ClientFiles, queue: dict) -> None:
    """Draw or upload a digit and see every layer's response (reader.inside), from the layers file
    exported beside the model; /inside (upload) and /inside_sketch are its API endpoints."""
    if page.layers is None:
        gr.Markdown("This model was exported without its layers file (`lenet-layers.onnx` beside it). "
                    "Add it with `python export/to_onnx.py RUN --layers-only`.")
        return
    gr.Markdown("What LeNet computes for your digit, stage by stage, from the same exported model "
                f"(`{display_path(page.layers.path)}`, run by ONNX Runtime). Each layer's maps share one colour "
                "scale: black is 0, the lightest colour the layer's strongest response to this picture.")
    with gr.Row():
        with gr.Column(scale=1):
            sketch = accept_sketches(gr.Sketchpad(
                label="Draw a digit to look inside", canvas_size=(280, 280), image_mode="RGBA", layers=False,
                transforms=(), fixed_canvas=True, brush=gr.Brush(default_size=12, colors=["#000000"], color_mode="fixed")),
                "/inside_sketch", root)
            upload = accept_images(gr.File(label="…or upload a picture of a digit", file_types=IMAGE_FILE_TYPES,
                                           type="filepath"), inputs.image_from_file, "/inside", root)
            status = gr.Markdown(BLANK_DIGIT[1])
            with gr.Row():
                seen = gr.Image(label="Input: the 28×28 the model receives", elem_classes="model-input", height=200,
                                interactive=False)
                outputs = gr.Label(num_top_classes=3, label="Output: FC 10 + softmax")
        with gr.Column(scale=2):
            pictures = [gr.Image(label=label, interactive=False, elem_classes=f"inside-{name}")
                        for name, label in INSIDE_PICTURES]
    summary = gr.JSON(label="Summary (also what the /inside API returns last)")
    targets = [status, seen, outputs, *pictures, summary]
    sketch.change(lambda image: page.inside(image, "/inside_sketch"), sketch, targets, api_name="inside_sketch",
                  trigger_mode="always_last", **queue)
    upload.change(lambda image: page.inside(image, "/inside"), upload, targets, api_name="inside", **queue)


def filters_of(view: RunView) -> list[tuple[np.ndarray, str]]:
    """Both conv layers' filters of a run, from its layers file, as (picture, label); none without one."""
    path = view.folder / LAYERS_FILE
    if not path.is_file():
        return []
    kernels = LayerModel(path, "cpu", threads=1).filters()
    return [(filter_grid(kernels["conv1_filters"], columns=5, scale=8),
             f"conv1's 20 filters, 5×5 ({view.name})"),
            (filter_grid(kernels["conv2_filters"], columns=20, scale=3),
             f"conv2's 50 filters, one row each: 5×5 for each of its 20 inputs ({view.name})")]


def model_line(served: Served) -> str:
    """The page's line naming the model served, why, and where it runs."""
    line = f"<small>Model **`{display_path(served.choice.path)}`** — {served.summary().split(' (', 1)[1][:-1]} · " \
           f"ONNX Runtime on **{served.model.provider}**"
    if served.model.cuda_note:
        line += f" · {served.model.cuda_note}"
    return line + "</small>"


def build_app(served: Served) -> gr.Blocks:
    """The page for the model `demo.serving.start` chose and loaded."""
    page = Page(served)
    root = ClientFiles(served.cache_folder, served.decoder.decode)
    queue = dict(concurrency_limit=served.concurrency, concurrency_id="model")

    # No delete_cache: Gradio's would delete the examples' and the Training tab's files after their age
    # like any other; demo.cache_folder.CacheFolder expires uploads and outputs and keeps those.
    with gr.Blocks(title="LeNet digits") as app:
        gr.Markdown("# LeNet digits\nDraw a digit and the 1998 LeNet, trained on MNIST and run with ONNX Runtime, "
                    "reads it — preprocessed exactly as MNIST itself was made.")
        gr.Markdown(model_line(served))
        with gr.Tab("Draw"):
            with gr.Row():
                with gr.Column():
                    sketch = accept_sketches(gr.Sketchpad(
                        label="Draw one digit", canvas_size=(280, 280), image_mode="RGBA",
                        layers=False, transforms=(), fixed_canvas=True,
                        brush=gr.Brush(default_size=12, colors=["#000000"], color_mode="fixed")),
                        "/classify_sketch", root)
                with gr.Column():
                    outputs = digit_result_column()
            sketch.change(lambda image: page.digit(image, "/classify_sketch"), sketch, outputs,
                          api_name="classify_sketch", trigger_mode="always_last", **queue)
        with gr.Tab("Upload"):
            with gr.Row():
                with gr.Column():
                    upload = accept_images(gr.File(label=f"Image of one digit ({FORMAT_NAMES})",
                                                   file_types=IMAGE_FILE_TYPES, type="filepath"),
                                           inputs.image_from_file, "/classify_upload", root)
                    camera = accept_images(gr.Image(label="…or take a photo", sources=["webcam", "clipboard"],
                                                    type="filepath"),
                                           inputs.image_from_file, "/classify_photo", root)
                    if examples("mnist_*.png"):
                        gr.Examples(examples("mnist_*.png"), inputs=upload, label="Real MNIST test digits")
                with gr.Column():
                    upload_outputs = digit_result_column()
            upload.change(lambda image: page.digit(image, "/classify_upload"), upload, upload_outputs,
                          api_name="classify_upload", **queue)
            camera.change(lambda image: page.digit(image, "/classify_photo"), camera, upload_outputs,
                          api_name="classify_photo", **queue)
        with gr.Tab("Number"):
            with gr.Row():
                with gr.Column():
                    number_sketch = accept_sketches(gr.Sketchpad(
                        label="Write a number, digits side by side", canvas_size=(700, 240),
                        image_mode="RGBA", layers=False, transforms=(), fixed_canvas=True,
                        brush=gr.Brush(default_size=10, colors=["#000000"], color_mode="fixed")),
                        "/read_number", root)
                    number_file = accept_images(gr.File(label="…or upload a photo of a number", type="filepath",
                                                        file_types=IMAGE_FILE_TYPES),
                                                inputs.image_from_file, "/read_number_upload", root)
                    if examples("number_*.png"):
                        gr.Examples(examples("number_*.png"), inputs=number_file, label="Numbers made of MNIST digits")
                with gr.Column():
                    number_text = gr.Markdown(BLANK_NUMBER)
                    number_picture = gr.Image(label="How it was read: each digit's box, digit and confidence",
                                              interactive=False, buttons=["download"])
                    number_digits = gr.Gallery(label="What the model saw, left to right", columns=8, height=200)
                    number_reading = gr.State()
            number_results = [number_text, number_digits, number_reading]
            number_sketch.change(lambda image: page.number(image, "/read_number"), number_sketch,
                                 number_results, api_name="read_number", trigger_mode="always_last",
                                 **queue).then(page.number_boxes, number_reading, number_picture, api_visibility="private")
            number_file.change(lambda image: page.number(image, "/read_number_upload"), number_file,
                               number_results, api_name="read_number_upload",
                               **queue).then(page.number_boxes, number_reading, number_picture, api_visibility="private")
        with gr.Tab("Inside LeNet"):
            inside_tab(page, root, queue)
        with gr.Tab("Training"):
            views = shipped_runs(served.choice.path)
            if not views:
                gr.Markdown("No training run found next to the model. Train one with `python -m lenet.train`.")
            robustness = next((table for view in views if (table := robustness_table(view)) is not None), None)
            if robustness is not None:
                gr.Dataframe(robustness, label="MNIST test accuracy (%) under distortions — every image through the "
                                               "demo's own preprocessing and the exported model", interactive=False)
            with gr.Row():
                for view in views:
                    with gr.Column():
                        training_column(view, served.model)
    refuse_malformed_payloads(app)
    app.queue(max_size=QUEUE_SIZE, default_concurrency_limit=served.concurrency)
    return app


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

    return {"js": SELECT_BRUSH_JS, "css": CSS, "max_file_size": MAX_IMAGE_BYTES, "show_error": True,
            "state_session_capacity": SESSION_CAPACITY,
            "app_kwargs": {"middleware": [Middleware(RequestLimits, cache=cache),  # outermost: bounds before reading
                                          Middleware(HideCachePath, alias=cache.alias)],
                           "lifespan": cache_while_serving}}
