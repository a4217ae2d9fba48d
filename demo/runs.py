"""Which model the demo serves, and what its run folder shows in the training tab.

The rule, decided here once for the page, the API and the command line (`MODEL_RULE`):
`--model` / `LENET_MODEL`, else your newest export (the newest `runs/*/lenet.onnx`, hidden
folders skipped), else the shipped model (`artifacts/fast/lenet.onnx`). A fresh clone or a
Hugging Face Space has no `runs/`, so it serves the shipped model.

A run folder (written by `python -m lenet.train`, `export/to_onnx.py` and `python -m lenet.examples`)
holds run.json, history.json, report.json, confusion.png, misclassified.npz, curves.png and, once
exported, lenet.onnx and export.json. Every file is optional here: what is missing is left out
of the page instead of breaking it.
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
SHIPPED_MODEL = ARTIFACTS / "fast" / MODEL_FILE
# The files of a run folder the page reads (the training tab); a Space gets these and the served model.
PAGE_FILES = ("run.json", "history.json", "report.json", "export.json", "confusion.png", "misclassified.npz")
MODEL_RULE = ("--model / LENET_MODEL, else your newest export (runs/*/lenet.onnx), "
              "else the shipped model (artifacts/fast/lenet.onnx)")


def _json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


@dataclass
class RunView:
    folder: Path
    run: dict | None = None
    history: list | None = None
    report: dict | None = None
    export: dict | None = None
    misclassified: dict = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path) -> "RunView":
        view = cls(folder, _json(folder / "run.json"), _json(folder / "history.json"),
                   _json(folder / "report.json"), _json(folder / "export.json"))
        try:
            with np.load(folder / "misclassified.npz") as npz:
                view.misclassified = {key: npz[key] for key in npz.files}
        except (OSError, ValueError):
            pass
        return view

    @property
    def name(self) -> str:
        return (self.run or {}).get("recipe", {}).get("name", self.folder.name)

    def file(self, name: str) -> Path | None:
        path = self.folder / name
        return path if path.is_file() else None


@dataclass(frozen=True)
class ModelChoice:
    path: Path
    source: str  # why this one: "--model", "LENET_MODEL", "your newest export" or "the shipped model"


def choose_model(flag: str | Path | None = None, runs: Path = RUNS, shipped: Path = SHIPPED_MODEL,
                 environ=os.environ) -> ModelChoice:
    """The model to serve, by `MODEL_RULE`."""
    if flag:
        return ModelChoice(Path(flag), "--model")
    if environ.get("LENET_MODEL"):
        return ModelChoice(Path(environ["LENET_MODEL"]), "LENET_MODEL")
    newest = newest_export(runs)
    if newest is not None:
        return ModelChoice(newest, "your newest export")
    return ModelChoice(shipped, "the shipped model")


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
    """The model's own run folder first, then the other shipped runs (e.g. the tutorial's recipe)."""
    folders = [model_path.parent] + sorted(p for p in ARTIFACTS.glob("*") if (p / "run.json").is_file())
    seen, views = set(), []
    for folder in folders:
        key = folder.resolve()
        if key not in seen and (folder / "run.json").is_file():
            seen.add(key)
            views.append(RunView.load(folder))
    return views
