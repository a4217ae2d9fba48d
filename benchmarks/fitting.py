"""What the scripts that fit the Number reader's networks (fit_pair_reader.py, fit_line_reader.py)
share: MNIST's training digits, loaded once a process, training pictures made in worker processes,
and the check that the converted graph answers as Keras before it replaces the shipped one.
Conversion to ONNX is export/tf_function.py's, as for LeNet itself.
"""

import json
import multiprocessing
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lenet.data import load_mnist  # noqa: E402

TRAIN_POOL, HELD_OUT_POOL = range(0, 55000), range(55000, 60000)   # MNIST training digits: fit on / measure on
AGREEMENT = 1e-4           # largest ONNX/Keras probability difference a graph may have to be kept

_digits = None


def training_digits() -> tuple[np.ndarray, np.ndarray]:
    """MNIST's 60,000 training images and labels (read once in each process)."""
    global _digits
    if _digits is None:
        _digits, _ = load_mnist()
    return _digits


def made_in_parallel(make, jobs: list, workers: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """`make(job)` → (inputs, targets) for every job, in `workers` processes, joined in job order."""
    with multiprocessing.Pool(workers) as pool:
        parts = pool.map(make, jobs)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def kept_if_onnx_agrees(onnx_model, load, largest_difference, destination: Path | None) -> float | None:
    """Check a converted graph before it replaces anything: staged in a temporary folder, opened
    with `load(path)` as the reader will open it, `largest_difference(opened)` (ONNX Runtime against
    Keras on held-out pictures) must be ≤ `AGREEMENT`. Then it is written to `destination` (None:
    nowhere) through a partial file replaced at once, so an interrupted run leaves the old one whole.
    Returns the difference, or None (said, and nothing written) when they disagree."""
    with tempfile.TemporaryDirectory() as folder:
        staged = Path(folder) / "staged.onnx"
        staged.write_bytes(onnx_model.SerializeToString())
        gap = float(largest_difference(load(staged)))
        if not gap <= AGREEMENT:
            print(f"ONNX Runtime disagrees with Keras (largest difference {gap:.2g}): nothing written")
            return None
        print(f"ONNX Runtime agrees with Keras (largest difference {gap:.2g})")
        if destination is not None:
            partial = destination.with_name(destination.name + ".partial")
            shutil.copyfile(staged, partial)
            partial.replace(destination)
    return gap


def write_results(path: Path, script: str, figures: dict) -> None:
    """The fit's figures as JSON, after the command that gives them."""
    path.write_text(json.dumps({"command": f"python benchmarks/{script}", **figures}, indent=2) + "\n")
