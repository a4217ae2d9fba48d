"""Read a shipped run folder for the demo: where the model is, and what the training tab shows.

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
MODEL_FILES = ("lenet.onnx", "lenet-int8.onnx")


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


def default_model_path() -> Path:
    """$LENET_MODEL, else the shipped fast run's lenet.onnx."""
    return Path(os.environ.get("LENET_MODEL") or ARTIFACTS / "fast" / "lenet.onnx")


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
