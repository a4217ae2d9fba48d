"""Other writers' coarse digits, as a user would upload them: scikit-learn's 1,797 8×8 digits (43
people outside MNIST, UCI's optdigits; measured only, never trained on) enlarged the ways a small
picture gets enlarged — blocky or blurred, by whole and fractional factors, with and without a
margin, saved as JPEG, light on dark, with scanner noise — each read through the demo's whole reading (`read_digit`:
preprocessing, model, not-digit check), for the shipped models side by side.

Per model and enlargement: the share read right (sure or not), refused as "not a digit", and read
right and sure. `--code DIR` reads with another checkout's `reader` (the figures before a change).
Complements `python -m evaluate.robustness`, whose "8×8 grid" columns write MNIST test digits on
such a grid at 28×28.

    python benchmarks/other_writers.py                       # robust, fast, seed (~4 min on 2 cores)
    python benchmarks/other_writers.py --models robust --code /tmp/before
"""

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
R = Image.Resampling
# name: (picture side in px, resampling, cells of white margin around the 8×8 grid, JPEG quality, light on dark[,
# scanner noise: the standard deviation of Gaussian noise added to the grey levels, 0–255])
ENLARGEMENTS = {
    "blocky 8x (64 px)": (64, R.NEAREST, 0, None, False),
    "blocky 12.5x (100 px)": (100, R.NEAREST, 0, None, False),
    "blocky 8x, margin 2 cells": (96, R.NEAREST, 2, None, False),
    "blocky 8x, light on dark": (64, R.NEAREST, 0, None, True),
    "blocky 8x, JPEG q85": (64, R.NEAREST, 0, 85, False),
    "blocky 12.5x, JPEG q85": (100, R.NEAREST, 0, 85, False),
    "blocky 12.5x, noise 8/255": (100, R.NEAREST, 0, None, False, 8),
    "blurred 3.5x (28 px)": (28, R.BILINEAR, 0, None, False),
    "blurred 8x (64 px)": (64, R.BILINEAR, 0, None, False),
    "blurred 8x, margin 2 cells": (96, R.BILINEAR, 2, None, False),
    "bicubic 16x, JPEG q75": (128, R.BICUBIC, 0, 75, False),
    "Lanczos 25x (200 px)": (200, R.LANCZOS, 0, None, False),
}


def picture(grid: np.ndarray, side: int, how, margin: int, quality: int | None, light_on_dark: bool,
            noise: float = 0.0) -> Image.Image:
    """One 8×8 digit (values 0–16, 16 = full ink) as a grey picture `side` px square; `noise`
    (grey levels, 0–255) drawn from a generator seeded by the digit itself."""
    ink = np.pad(grid / 16.0, margin)
    grey = ink if light_on_dark else 1 - ink
    made = Image.fromarray(np.uint8(np.round(grey * 255))).resize((side, side), how)
    if noise:
        rng = np.random.default_rng(list(grid.astype(int).ravel()))
        noisy = np.asarray(made, np.float32) + rng.normal(0, noise, (side, side))
        made = Image.fromarray(np.uint8(np.clip(np.round(noisy), 0, 255)))
    if quality is not None:
        buffer = io.BytesIO()
        made.convert("RGB").save(buffer, "JPEG", quality=quality)
        made = Image.open(io.BytesIO(buffer.getvalue()))
    return made


def measure(models: dict, digits, labels, log=print) -> dict:
    from reader.pipeline import read_digit
    results = {}
    for name, how in ENLARGEMENTS.items():
        pictures = [picture(grid, *how) for grid in digits]
        for key, model in models.items():
            right = refused = sure_right = 0
            for made, label in zip(pictures, labels):
                reading = read_digit(model, made, heatmap=False)
                good = reading is not None and reading.label == str(label)
                right += good
                refused += reading is not None and not reading.digit
                sure_right += good and reading.sure
            count = len(labels)
            results.setdefault(key, {})[name] = {"right": right / count, "refused": refused / count,
                                                 "sure_and_right": sure_right / count}
        log(name + "  " + "  ".join(f"{key} {results[key][name]['right']:.2%}" for key in models))
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["robust", "fast", "seed"],
                        help="shipped models by name, or .onnx files (default: robust fast seed)")
    parser.add_argument("--code", type=Path, help="read with this checkout's `reader` instead")
    parser.add_argument("--out", type=Path, help="JSON output (default: benchmarks/results/other_writers.json, "
                                                 "with --code other_writers_before.json)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.code.resolve() if args.code else ROOT))
    from benchmarks.common import machine_info, print_table, write_json
    from reader.model import DigitModel
    from reader.runs import named_model
    from sklearn.datasets import load_digits
    models = {}
    for name in args.models:
        path = named_model(name)
        if not Path(path).is_file():
            parser.error(f"no model file for {name!r} ({path})")
        models[Path(name).stem if str(name).endswith(".onnx") else str(name)] = DigitModel(path, "cpu", threads=1)
    digits = load_digits()
    results = measure(models, digits.images, digits.target)
    print_table(["enlargement", *(f"{key}: right / refused / sure+right" for key in models)],
                [[name, *(f"{results[key][name]['right']:.2%} / {results[key][name]['refused']:.2%} / "
                          f"{results[key][name]['sure_and_right']:.2%}" for key in models)] for name in ENLARGEMENTS],
                title=f"scikit-learn's {len(digits.target):,} 8x8 digits by other writers, through read_digit")
    default = ROOT / "benchmarks" / "results" / ("other_writers_before.json" if args.code else "other_writers.json")
    write_json(args.out or default,
               {"benchmark": "other_writers", "machine": machine_info(), "pictures": len(digits.target),
                "code": str(args.code) if args.code else "this checkout", "models": list(models),
                "enlargements": list(ENLARGEMENTS), "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
