"""The Gradio page: draw, upload or write a number; see what the model sees and why; training tab.

`build_app(model_path)` returns the Blocks; `launch_options()` the arguments for `launch()` (the
brush-selecting script, upload limits). Named API endpoints: /classify_sketch, /classify_upload,
/read_number (see README for gradio_client calls).
"""

import os
import tempfile
from collections import deque
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
from PIL import Image

from demo import number_view, pipeline
from demo.images import InputError, load_image
from demo.model import DigitModel
from demo.runs import RunView, default_model_path, shipped_runs

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "artifacts" / "examples"
MAX_FILE_SIZE = "10mb"
# All model events share one queue slot pool ("model"): two at a time suits two cores, each run
# on one ONNX Runtime thread; more only makes every request slower and memory larger.
CONCURRENCY_LIMIT = int(os.environ.get("LENET_CONCURRENCY", "2"))
ONNX_THREADS = int(os.environ.get("LENET_THREADS", "1"))
QUEUE = dict(concurrency_limit=CONCURRENCY_LIMIT, concurrency_id="model")

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
CSS = ".model-input img, .heatmap img { image-rendering: pixelated; }"

BLANK_DIGIT = (None, "✏️ **Draw a digit** (0–9) in the box — one digit, as large as you like.", None, None)


class OutputImages:
    """Output pictures as uniquely named PNG files (the newest `keep` of them are kept).

    Returning arrays makes Gradio write them to a cache file named by their content, without an
    atomic rename, so two requests with the same picture can race and one download comes back
    truncated (seen under load). Unique files are copied into the cache atomically instead.
    """

    def __init__(self, keep: int = 2048):
        self.folder = Path(tempfile.mkdtemp(prefix="lenet-demo-"))
        self.recent: deque[Path] = deque()
        self.keep = keep

    def save(self, pixels: np.ndarray) -> str:
        handle, name = tempfile.mkstemp(dir=self.folder, suffix=".png")
        os.close(handle)
        Image.fromarray(pixels).save(name)
        self.recent.append(Path(name))
        while len(self.recent) > self.keep:
            self.recent.popleft().unlink(missing_ok=True)
        return name


OUTPUT_IMAGES = OutputImages()


def decode_with_demo_images(sketchpad: gr.Sketchpad) -> gr.Sketchpad:
    """Let demo.images, not Gradio, decode the sketchpad's images: its pixel limit is checked before
    decoding, and unreadable files give one clear sentence instead of Gradio's internal error.
    (An instance override: subclassing a Gradio component makes Gradio write a .pyi beside this file.)"""
    def convert_and_format_image(file, flatten_on_white: bool = False):
        if file is None:
            return None
        try:
            return load_image(file.path if hasattr(file, "path") else bytes(file))
        except InputError as error:
            raise gr.Error(str(error)) from None
    sketchpad.convert_and_format_image = convert_and_format_image
    return sketchpad


def pass_file_path(image: gr.Image) -> gr.Image:
    """Hand the uploaded file's path (or data URL) to the app undecoded; demo.images decodes it safely."""
    image.preprocess = lambda payload: None if payload is None else (payload.path or payload.url)
    return image


def status_line(model: DigitModel, reading) -> str:
    return f"{reading.verdict()}  \n<small>{reading.milliseconds:.1f} ms on {model.provider}</small>"


def read_or_show_error(read, model: DigitModel, source):
    """Run a pipeline reader; bad input becomes one Gradio error pop-up with the reader's message."""
    try:
        return read(model, source)
    except InputError as error:
        raise gr.Error(str(error)) from None


def digit_outputs(model: DigitModel, source):
    reading = read_or_show_error(pipeline.read_digit, model, source)
    if reading is None:
        return BLANK_DIGIT
    return (reading.probabilities, status_line(model, reading),
            OUTPUT_IMAGES.save(pipeline.explain.enlarge(reading.model_input)), OUTPUT_IMAGES.save(reading.heatmap))


BLANK_NUMBER = "✏️ **Write a number** — digits side by side, left to right."


def number_outputs(model: DigitModel, source):
    """The Number tab's text, gallery of what the model saw, and the reading (kept in a gr.State
    for `number_boxes`, which draws the chosen segmentation; a State is not part of the API)."""
    reading = read_or_show_error(pipeline.read_number, model, source)
    if reading is None:
        return BLANK_NUMBER, [], None
    if not reading.digits:
        return "**No digit found** — only specks or dots. " + BLANK_NUMBER, [], reading
    gallery = [(OUTPUT_IMAGES.save(pipeline.explain.enlarge(d.model_input, 4)), f"{d.label} · {d.confidence:.0%}")
               for d in reading.digits]
    unsure = " (? = not sure)" if "?" in reading.text else ""
    return (f"Read: **{reading.text}**{unsure}  \n<small>{len(reading.digits)} digits, {reading.milliseconds:.1f} ms "
            f"on {model.provider}</small>"), gallery, reading


def number_boxes(reading):
    """The picture of how the number was read (boxes, digits, confidences), or None."""
    return None if reading is None else OUTPUT_IMAGES.save(number_view.boxes_picture(reading))


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


def history_frame(view: RunView) -> pd.DataFrame | None:
    if not view.history:
        return None
    series = {"loss": "train_loss", "val_loss": "val_loss", "accuracy": "train_acc", "val_accuracy": "val_acc"}
    return pd.DataFrame([{"epoch": row["epoch"], "series": name, "value": row[key]}
                         for row in view.history for key, name in series.items() if key in row])


def model_card(view: RunView, model: DigitModel | None) -> str:
    run, export = view.run or {}, view.export or {}
    recipe = run.get("recipe", {})
    lines = [f"### Recipe `{view.name}`", recipe.get("description", ""), "",
             "**Architecture:** CONV 20@5×5 → ReLU → max-pool 2×2 → CONV 50@5×5 → ReLU → max-pool → FC 500 → "
             f"ReLU → FC 10 → softmax; {run.get('parameters', 1256080):,} parameters.",
             f"**Training:** {recipe.get('epochs')} epochs, batch {recipe.get('batch_size')}, {recipe.get('optimizer')} "
             f"lr {recipe.get('learning_rate')}, seed {run.get('seed')}, {run.get('train_images')} training images, "
             f"{run.get('train_seconds')} s on {run.get('device')}."]
    if "test_accuracy" in run:
        lines.append(f"**Test accuracy:** {run['test_accuracy']:.2%} on {run.get('test_images')} MNIST test images "
                     f"({run.get('test_misclassified')} wrong).")
    parity = export.get("parity")
    if parity:
        sizes = ", ".join(f"{name} {size / 1e6:.2f} MB" for name, size in export.get("files", {}).items())
        lines.append(f"**ONNX:** opset {export.get('opset')}; max |Keras − ONNX| {parity['max_abs_diff']:.1e} on "
                     f"{parity['images']} test images, argmax agreement {parity['argmax_agreement']:.2%}; {sizes}.")
    if export.get("int8"):
        q = export["int8"]
        lines.append(f"**int8:** test accuracy {q['int8_test_accuracy']:.2%}, agreement with fp32 "
                     f"{q['agreement_with_fp32']:.2%}.")
    if model is not None and model.path.parent.resolve() == view.folder.resolve():
        lines.append(f"**Serving:** `{model.path.name}` on {model.provider}; answers below "
                     f"{model.contract.uncertain_below:.0%} confidence are shown as “not sure”.")
    return "\n\n".join(lines)


def training_column(view: RunView, model: DigitModel | None):
    gr.Markdown(model_card(view, model))
    frame = history_frame(view)
    if frame is not None:
        gr.LinePlot(frame, x="epoch", y="value", color="series", title=f"Training curves ({view.name})",
                    x_title="Epoch #", y_title="Loss/Accuracy", height=320)
    table = report_table(view)
    if table is not None:
        gr.Dataframe(table, label="Classification report (test set)", interactive=False)
    if view.file("confusion.png"):
        gr.Image(str(view.file("confusion.png")), label="Confusion matrix (test set)", interactive=False)
    if view.misclassified:
        m = view.misclassified
        gr.Gallery([(np.asarray(img), f"true {t} → {p} ({c:.0%})") for img, t, p, c in
                    zip(m["images"], m["true"], m["predicted"], m["confidence"])],
                   label="Most confidently misclassified test digits", columns=8, height=300)


def examples(pattern: str) -> list[str]:
    return sorted(str(p) for p in EXAMPLES.glob(pattern))


def build_app(model_path: str | Path | None = None, providers: str | None = None) -> gr.Blocks:
    model_path = Path(model_path or default_model_path())
    try:
        model, problem = DigitModel(model_path, providers, threads=ONNX_THREADS), None
    except Exception as error:  # missing, corrupt or contract-less file: the page explains
        model, problem = None, f"{type(error).__name__}: {error}"

    with gr.Blocks(title="LeNet digits") as app:
        gr.Markdown("# LeNet digits\nDraw a digit and the 1998 LeNet, trained on MNIST and run with ONNX Runtime, "
                    "reads it — preprocessed exactly as MNIST itself was made.")
        if model is None:
            gr.Markdown(f"## No model to serve\nCould not load `{model_path}` ({problem}).\n\nTrain and export one:\n"
                        "```\npython -m lenet.train\npython export/to_onnx.py --output artifacts/fast/lenet.onnx\n```\n"
                        "or point `LENET_MODEL` / `--model` at an exported `lenet.onnx`.")
        else:
            gr.Markdown(f"<small>Model `{model_path.name}` · provider **{model.provider}**</small>")
            with gr.Tab("Draw"):
                with gr.Row():
                    with gr.Column():
                        sketch = decode_with_demo_images(gr.Sketchpad(
                            label="Draw one digit", canvas_size=(280, 280), type="numpy", image_mode="RGBA",
                            layers=False, transforms=(), fixed_canvas=True,
                            brush=gr.Brush(default_size=12, colors=["#000000"], color_mode="fixed")))
                    with gr.Column():
                        outputs = digit_result_column()
                sketch.change(lambda v: digit_outputs(model, v), sketch, outputs, api_name="classify_sketch",
                              trigger_mode="always_last", **QUEUE)
            with gr.Tab("Upload"):
                with gr.Row():
                    with gr.Column():
                        upload = gr.File(label="Image of one digit (PNG, JPEG, BMP, GIF, WebP, TIFF)",
                                         file_types=["image", ".tif", ".tiff", ".webp"], type="filepath")
                        camera = pass_file_path(gr.Image(label="…or take a photo", sources=["webcam", "clipboard"],
                                                         type="filepath"))
                        if examples("mnist_*.png"):
                            gr.Examples(examples("mnist_*.png"), inputs=upload, label="Real MNIST test digits")
                    with gr.Column():
                        upload_outputs = digit_result_column()
                upload.change(lambda f: digit_outputs(model, f), upload, upload_outputs, api_name="classify_upload",
                              **QUEUE)
                camera.change(lambda f: digit_outputs(model, f), camera, upload_outputs, api_name="classify_photo",
                              **QUEUE)
            with gr.Tab("Number"):
                with gr.Row():
                    with gr.Column():
                        number_sketch = decode_with_demo_images(gr.Sketchpad(
                            label="Write a number, digits side by side", canvas_size=(700, 240), type="numpy",
                            image_mode="RGBA", layers=False, transforms=(), fixed_canvas=True,
                            brush=gr.Brush(default_size=10, colors=["#000000"], color_mode="fixed")))
                        number_file = gr.File(label="…or upload a photo of a number", type="filepath",
                                              file_types=["image", ".tif", ".tiff", ".webp"])
                        if examples("number_*.png"):
                            gr.Examples(examples("number_*.png"), inputs=number_file, label="Numbers made of MNIST digits")
                    with gr.Column():
                        number_text = gr.Markdown(BLANK_NUMBER)
                        number_picture = gr.Image(label="How it was read: each digit's box, digit and confidence",
                                                  interactive=False, buttons=["download"], elem_classes="number-boxes")
                        number_digits = gr.Gallery(label="What the model saw, left to right", columns=8, height=200)
                        number_reading = gr.State()
                number_results = [number_text, number_digits, number_reading]
                number_sketch.change(lambda v: number_outputs(model, v), number_sketch, number_results,
                                     api_name="read_number", trigger_mode="always_last",
                                     **QUEUE).then(number_boxes, number_reading, number_picture, api_visibility="private")
                number_file.change(lambda f: number_outputs(model, f), number_file, number_results,
                                   api_name="read_number_upload", **QUEUE).then(number_boxes, number_reading,
                                                                                number_picture, api_visibility="private")
        with gr.Tab("Training"):
            views = shipped_runs(model_path)
            if not views:
                gr.Markdown("No training run found next to the model. Train one with `python -m lenet.train`.")
            with gr.Row():
                for view in views:
                    with gr.Column():
                        training_column(view, model)
    app.queue(max_size=256, default_concurrency_limit=CONCURRENCY_LIMIT)
    return app


def launch_options() -> dict:
    """Arguments for `launch()`: GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are read by Gradio itself.

    Gradio keeps a copy of every component's config per browser session (~150 kB here, most of it
    the training tab) for up to 10,000 sessions; the page keeps no per-session state of its own, so
    256 sessions bound that memory (RSS grew without bound under the load test before)."""
    return {"js": SELECT_BRUSH_JS, "css": CSS, "max_file_size": MAX_FILE_SIZE, "show_error": True,
            "state_session_capacity": 256}
