"""`python -m lenet.examples`: the demo's example images, made from real MNIST test digits.

Writes into artifacts/examples/: one test digit per class (as MNIST stores it, white on black —
the demo's polarity detection handles it) and a few multi-digit numbers composed of real test
digits, dark ink on white like a drawing. For each run folder given (default: the shipped
ones) it also (re)writes confusion.png and misclassified.npz for the demo's training tab.
"""

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from lenet import report
from lenet.data import load_mnist

ROOT = Path(__file__).resolve().parents[1]
NUMBERS = ("2026", "1998", "31415")


def first_index_of_each_digit(labels: np.ndarray) -> dict[int, int]:
    return {digit: int(np.flatnonzero(labels == digit)[0]) for digit in range(10)}


def compose_number(text: str, images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """Real test digits side by side, enlarged 4×, black ink on a white page with margins."""
    digits = [images[rng.choice(np.flatnonzero(labels == int(ch)))] for ch in text]
    strip = np.concatenate([np.pad(d, ((0, 0), (2, 2))) for d in digits], axis=1)
    page = 255 - np.pad(strip, 16)
    return Image.fromarray(page).resize((page.shape[1] * 4, page.shape[0] * 4), Image.Resampling.BICUBIC)


def write_examples(out: Path, data_dir=None) -> list[Path]:
    _, (images, labels) = load_mnist(data_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for digit, index in first_index_of_each_digit(labels).items():
        path = out / f"mnist_test_{index:04d}_digit_{digit}.png"
        Image.fromarray(images[index]).resize((112, 112), Image.Resampling.NEAREST).save(path)
        written.append(path)
    rng = np.random.default_rng(0)
    for text in NUMBERS:
        path = out / f"number_{text}.png"
        compose_number(text, images, labels, rng).save(path)
        written.append(path)
    return written


def refresh_run_views(run: Path, data_dir=None) -> None:
    _, (images, _) = load_mnist(data_dir)
    recipe = json.loads((run / "run.json").read_text())["recipe"]["name"]
    report.plot_confusion(run, f"Confusion matrix, recipe '{recipe}' (test set)")
    report.write_misclassified_gallery(run, images)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lenet.examples", description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="*", type=Path, help="run folders to refresh (default: artifacts/fast, artifacts/seed)")
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts" / "examples", help="examples folder")
    parser.add_argument("--data-dir", help="MNIST cache folder")
    args = parser.parse_args(argv)
    for path in write_examples(args.out, args.data_dir):
        print(f"wrote {path}")
    for run in args.runs or [p for p in (ROOT / "artifacts" / "fast", ROOT / "artifacts" / "seed") if p.is_dir()]:
        refresh_run_views(run, args.data_dir)
        print(f"refreshed {run}/confusion.png and misclassified.npz")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
