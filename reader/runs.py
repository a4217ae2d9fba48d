"""Which model the demo serves, and what its run folder shows in the training tab.

The rule, decided here once for the page, the API and the command line (`MODEL_RULE`):
`--model` / `LENET_MODEL` (a file, or a listed name: "robust", "runs/smoke"), else your newest export (the newest `runs/*/lenet.onnx`, hidden
folders skipped), else the shipped model (`SHIPPED_MODEL`). A fresh clone or a
Hugging Face Space has no `runs/`, so it serves the shipped model.

Of a run folder the page reads only its run card, card.json (written by training, the exporter
and the robustness evaluation: curves with their display names, the architecture, metrics,
commands, the "not sure" threshold, robustness), and the files the card names for `PAGE_ROLES`
(classification report, confusion matrix and its picture, misclassified digits). What is missing is left
out of the page instead of breaking it.
"""

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
RUNS = ROOT / "runs"
MODEL_FILE = "lenet.onnx"
SHIPPED_MODEL = ARTIFACTS / "robust" / MODEL_FILE
CARD_FILE = "card.json"  # the run card: the only description of a run the page reads
LAYERS_FILE = "lenet-layers.onnx"  # the exported activations and filters (the page shows the filters)
PAGE_ROLES = ("classification_report", "confusion_matrix", "confusion", "misclassified")  # files the card names that the page shows
MODEL_RULE = ("--model / LENET_MODEL, else your newest export (runs/*/lenet.onnx), "
              f"else the shipped model ({SHIPPED_MODEL.relative_to(ROOT)})")


def read_json(path: Path):
    """The JSON in `path`, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


@dataclass
class RunView:
    """What the training tab shows of a run folder: its run card (card.json, written by training,
    export and the robustness evaluation — lenet/card.py) and the files the card names."""
    folder: Path
    card: dict
    report: dict | None = None
    confusion: dict | None = None    # {"labels", "matrix"} (rows true, columns predicted), if the card names one
    misclassified: dict = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path) -> "RunView | None":
        card = read_json(folder / CARD_FILE)
        if not isinstance(card, dict):
            return None
        view = cls(folder, card)
        report = view.file("classification_report")
        view.report = read_json(report) if report else None
        confusion = view.file("confusion_matrix")
        view.confusion = read_json(confusion) if confusion else None
        misclassified = view.file("misclassified")
        if misclassified:
            try:
                with np.load(misclassified) as npz:
                    view.misclassified = {key: npz[key] for key in npz.files}
            except (OSError, ValueError):
                pass
        return view

    @property
    def name(self) -> str:
        return self.card.get("name") or self.folder.name

    def file(self, role: str) -> Path | None:
        """The file the card names for `role` (e.g. "confusion"), if it is in the folder."""
        name = (self.card.get("files") or {}).get(role)
        path = self.folder / name if isinstance(name, str) and "/" not in name else None
        return path if path is not None and path.is_file() else None


def page_files(folder: Path) -> list[Path]:
    """The files of a run folder the training tab reads: its card, the files it names for PAGE_ROLES,
    and its layers file (the conv filters)."""
    view = RunView.load(folder)
    if view is None:
        return []
    files = [folder / CARD_FILE] + [path for role in PAGE_ROLES if (path := view.file(role)) is not None]
    return files + ([folder / LAYERS_FILE] if (folder / LAYERS_FILE).is_file() else [])


@dataclass(frozen=True)
class ModelChoice:
    path: Path
    source: str  # why this one: "--model", "LENET_MODEL", "your newest export" or "the shipped model"


def choose_model(flag: str | Path | None = None, runs: Path = RUNS, shipped: Path = SHIPPED_MODEL,
                 environ=os.environ) -> ModelChoice:
    """The model to serve, by `MODEL_RULE`."""
    if flag:
        return ModelChoice(named_model(flag, runs), "--model")
    if environ.get("LENET_MODEL"):
        return ModelChoice(named_model(environ["LENET_MODEL"], runs), "LENET_MODEL")
    newest = newest_export(runs)
    if newest is not None:
        return ModelChoice(newest, "your newest export")
    return ModelChoice(shipped, "the shipped model")


def named_model(name: str | Path, runs: Path = RUNS) -> Path:
    """A model file, or a model by the name the page lists it under: "robust" (a shipped run,
    artifacts/robust/lenet.onnx) or "runs/smoke" (your export, runs/smoke/lenet.onnx)."""
    path = Path(name)
    if path.is_file() or path.is_absolute() or path.suffix == ".onnx":
        return path
    for candidate in (ARTIFACTS / path / MODEL_FILE, runs / path.relative_to("runs") / MODEL_FILE
                      if path.parts[:1] == ("runs",) and len(path.parts) == 2 else None):
        if candidate is not None and candidate.is_file():
            return candidate
    return path


def newest_export(runs: Path = RUNS) -> Path | None:
    """The most recently written `runs/<name>/lenet.onnx` (hidden and partial folders skipped)."""
    exports = [path for path in runs.glob(f"*/{MODEL_FILE}") if not path.parent.name.startswith(".")]
    exports = [path for path in exports if path.is_file()]
    return max(exports, key=lambda path: path.stat().st_mtime) if exports else None


def display_path(path: Path) -> str:
    """`path` relative to the repository when it lies inside it, else as given."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def shipped_runs(model_path: Path) -> list[RunView]:
    """The served model's own run folder first, then the shipped runs (e.g. the tutorial's recipe)."""
    folders = [model_path.parent] + sorted(p for p in ARTIFACTS.glob("*") if (p / CARD_FILE).is_file())
    seen, views = set(), []
    for folder in folders:
        key = folder.resolve()
        if key not in seen and (view := RunView.load(folder)) is not None:
            seen.add(key)
            views.append(view)
    return views
