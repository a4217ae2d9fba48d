"""The Training tab: each shipped run as its run card shows it (reader.runs.RunView), laid out to fit
a page — a summary of all runs and the robustness table on top, then one inner tab per run with
its card, curves, classification report, confusion matrix (a table whose numbers read at any size),
learned filters (sized to the page) and most confidently misclassified test digits.
"""

from html import escape

import gradio as gr
import numpy as np
import pandas as pd

from reader.inside import DIVERGING, LayerModel, filter_blocks, filter_grid
from reader.model import DigitModel
from demo.page_style import legend
from reader.runs import LAYERS_FILE, RunView, display_path

SERIES_COLOURS = ("#1f77b4", "#d95f02", "#7b3294", "#1b9e77", "#e7298a", "#66a61e")  # ≥ 3:1 on white
FILTER_LEGEND = legend(list(DIVERGING), "most negative weight", "most positive weight",
                       "Filter weights, one scale per layer (white 0)")


def html_table(caption: str, header: list[str], rows: list[list], styles: list[list[str]] | None = None,
               classes: str = "") -> str:
    """A plain, compact HTML table (numbers right-aligned by the stylesheet): unlike gr.Dataframe,
    whose sort buttons and wide cells push a 10-column table off a phone, it shrinks to fit."""
    head = "".join(f'<th scope="col">{escape(str(h))}</th>' for h in header)
    body = []
    for r, row in enumerate(rows):
        cells = []
        for c, value in enumerate(row):
            style = f' style="{styles[r][c]}"' if styles and styles[r][c] else ""
            tag = "th" if c == 0 else "td"
            scope = ' scope="row"' if c == 0 else ""
            cells.append(f"<{tag}{scope}{style}>{escape(str(value))}</{tag}>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="table-wrap"><table class="page-table {classes}"><caption>{escape(caption)}</caption>'
            f'<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


def count(value) -> str:
    return f"{value:,.0f}" if isinstance(value, (int, float)) else "–"


def percent(value) -> str:
    return f"{100 * value:.2f}" if isinstance(value, (int, float)) else "–"


def report_table(view: RunView) -> str | None:
    """Precision, recall and F1 in %, and the support (test images), one row per class (then the averages)."""
    if not view.report:
        return None
    rows = [[name, *(percent(values.get(key)) for key in ("precision", "recall", "f1-score")), count(values.get("support"))]
            for name, values in view.report.items() if isinstance(values, dict)]
    return html_table("Classification report (test set, %)", ["class", "precision", "recall", "F1", "support"], rows)


def confusion_table(view: RunView) -> str | None:
    """The confusion matrix as a table (rows: the true digit, columns: what the model said): the
    right answers on the diagonal in blue, mistakes in orange, darker the more there are, zeros as dots."""
    confusion = view.confusion or {}
    labels, matrix = confusion.get("labels"), confusion.get("matrix")
    if not labels or not matrix:
        return None
    rows, styles = [], []
    for r, (label, counts) in enumerate(zip(labels, matrix)):
        rows.append([label] + [count if count else "·" for count in counts])
        row_styles = [""]
        for c, count in enumerate(counts):
            if c == r:
                row_styles.append("background:#dbeafe;color:#1e3a8a;font-weight:600")
            elif count:
                strength = min(1.0, count / 10)
                tint = tuple(round(a + (b - a) * strength) for a, b in zip((255, 237, 213), (253, 186, 116)))
                row_styles.append(f"background:rgb{tint};color:#111827")
            else:
                row_styles.append("color:#4b5563")
        styles.append(row_styles)
    return html_table("Confusion matrix (test set): rows the true digit, columns what the model read",
                      ["", *labels], rows, styles, classes="confusion")


def series_legend(colours: dict[str, str]) -> str:
    """The curves' legend as a line of coloured swatches (the plot's own falls below its box)."""
    items = "".join(f'<span class="series"><span class="swatch" style="background:{colour}"></span>{escape(str(name))}</span>'
                    for name, colour in colours.items())
    return f'<div class="legend series-legend">{items}</div>'


def curves_frame(view: RunView) -> tuple[pd.DataFrame, dict] | None:
    """The card's curves as long-form rows for gr.LinePlot, and its axis titles."""
    curves = view.card.get("curves") or {}
    rows = [{"x": x, "series": series.get("label", series.get("key")), "value": y}
            for series in curves.get("series", []) for x, y in series.get("points", [])]
    if not rows:
        return None
    return pd.DataFrame(rows), {"x_title": curves.get("x_label", "Epoch"), "y_title": curves.get("y_label", "")}


def robustness_table(view: RunView) -> str | None:
    """Test accuracy (%) under each distortion (rows) for each model the card compares (columns):
    this way round it fits a phone."""
    robustness = view.card.get("robustness") or {}
    distortions = [(d["key"], d.get("label", d["key"])) for d in robustness.get("distortions", [])]
    models = robustness.get("models", [])
    if not distortions or not models:
        return None
    rows = [[label, *(percent(m.get("accuracy", {}).get(key)) for m in models)] for key, label in distortions]
    return html_table("MNIST test accuracy (%) under distortions — every image through the demo's own "
                      "preprocessing and the exported model", ["distortion", *(m.get("name") for m in models)], rows)


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


def serves(view: RunView, model: DigitModel | None) -> bool:
    return model is not None and model.path.parent.resolve() == view.folder.resolve()


def model_card(view: RunView, model: DigitModel | None) -> str:
    """The run card as Markdown: what the run is, how it was made, what it scored."""
    card, training = view.card, view.card.get("training") or {}
    serving = serves(view, model)
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


def summary_table(views: list[RunView], model: DigitModel | None) -> str:
    """One row per run: test accuracy, epochs, training time — the runs side by side."""
    rows = []
    for view in views:
        training = view.card.get("training") or {}
        accuracy = next((m.get("value") for m in view.card.get("metrics", [])
                         if m.get("name") == "test accuracy" and m.get("unit") == "fraction"), None)
        seconds = training.get("train_seconds")
        rows.append([view.name + (" (served)" if serves(view, model) else ""), percent(accuracy),
                     training.get("epochs", "–"),
                     f"{seconds:,.0f} s" if isinstance(seconds, (int, float)) else "–"])
    return html_table("The recipes side by side", ["recipe", "test accuracy %", "epochs", "training"], rows)


def filters_of(view: RunView) -> list[tuple[np.ndarray, str]]:
    """Both conv layers' filters of a run, from its layers file, as (picture, label); none without one."""
    path = view.folder / LAYERS_FILE
    if not path.is_file():
        return []
    kernels = LayerModel(path, "cpu", threads=1).filters()
    return [(filter_grid(kernels["conv1_filters"], columns=5, scale=10),
             f"conv1's 20 filters, 5×5 ({view.name})"),
            (filter_blocks(kernels["conv2_filters"], block_columns=5, blocks_per_row=10, scale=3),
             f"conv2's 50 filters ({view.name}): one block each, its 5×5 kernels for conv1's 20 maps")]


def run_details(view: RunView, model: DigitModel | None) -> None:
    """One run: card and curves, report and confusion matrix, filters, misclassified digits."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            gr.Markdown(model_card(view, model))
        with gr.Column(scale=1, min_width=300):
            curves = curves_frame(view)
            if curves is not None:
                frame, titles = curves
                colours = dict(zip(frame["series"].unique(), SERIES_COLOURS))
                gr.LinePlot(frame, x="x", y="value", color="series", label=f"Training curves ({view.name})",
                            height=320, color_map=colours, colors_in_legend=[], **titles)
                gr.HTML(series_legend(colours))
    with gr.Row(equal_height=False):
        table = report_table(view)
        if table is not None:
            with gr.Column(scale=1, min_width=300):
                gr.HTML(table, padding=False)
        with gr.Column(scale=1, min_width=300):
            confusion = confusion_table(view)
            if confusion is not None:
                gr.HTML(confusion, padding=False)
            elif view.file("confusion"):
                gr.Image(str(view.file("confusion")), label="Confusion matrix (test set)", interactive=False)
    filters = filters_of(view)
    if filters:
        with gr.Row(equal_height=False):
            for (picture, label), scale in zip(filters, (1, 2)):
                with gr.Column(scale=scale, min_width=240):
                    gr.Image(picture, label=label, interactive=False, elem_classes="filters", buttons=["download"],
                             format="png")
        gr.HTML(FILTER_LEGEND)
    if view.misclassified:
        m = view.misclassified
        gr.Gallery([(np.asarray(img), f"{t} read as {p} ({c:.0%})") for img, t, p, c in
                    zip(m["images"], m["true"], m["predicted"], m["confidence"])],
                   label="Most confidently misclassified test digits", columns=8, height="auto",
                   object_fit="contain", allow_preview=True, format="png")


def training_tab(views: list[RunView], model: DigitModel | None) -> None:
    if not views:
        gr.Markdown("No training run found next to the model. Train one with `python -m lenet.train`.")
        return
    gr.Markdown("How the shipped models were trained and how well they read MNIST's 10,000 test digits. "
                "Pick a recipe below for its curves, mistakes and learned filters.")
    robustness = next((table for view in views if (table := robustness_table(view)) is not None), None)
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            gr.HTML(summary_table(views, model), padding=False)
        if robustness is not None:
            with gr.Column(scale=1, min_width=300):
                gr.HTML(robustness, padding=False)
    with gr.Tabs(overflow_behavior="wrap"):
        for view in views:
            with gr.Tab(f"Recipe {view.name}" + (" (served)" if serves(view, model) else "")):
                run_details(view, model)
