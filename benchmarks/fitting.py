"""What the scripts that fit the Number reader's networks (fit_pair_reader.py, fit_line_reader.py)
share: MNIST's training digits, loaded once a process, and training pictures made in worker
processes. Conversion to ONNX is export/tf_function.py's, as for LeNet itself.
"""

import multiprocessing
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lenet.data import load_mnist  # noqa: E402

TRAIN_POOL, HELD_OUT_POOL = range(0, 55000), range(55000, 60000)   # MNIST training digits: fit on / measure on

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
