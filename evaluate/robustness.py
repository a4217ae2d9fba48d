"""`python -m evaluate.robustness RUN [--compare RUN ...]`: how exported models read MNIST test
digits that other writers and scanners would have made: rotated, thicker or thinner, coarsely
scanned, on another set's coarse 8×8 grid (bold, blocky or blurred), elastically distorted or noisy.

Each distorted test image goes the way a user's picture goes in the demo: `reader.preprocess`
(ink map, crop, stroke width, 20-pixel box, centre of mass) and then each run's `lenet.onnx`
through `reader.model.DigitModel` on the CPU, so the figures describe what users get. The
distortions are drawn per image from (seed, image index): the same image is distorted the same
way whatever `--limit`, and every model sees the same images. Writes robustness.json and
robustness.txt (the table) into RUN and refreshes RUN's card.json. This stage sits downstream of
training and serving: `lenet` never imports `demo`, `demo` never imports `lenet`; only this does.
"""

import argparse
import hashlib
import json
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from reader.errors import InputError  # noqa: E402
from reader.model import DigitModel  # noqa: E402
from reader.preprocess import preprocess  # noqa: E402
from lenet.card import write_card  # noqa: E402
from lenet.data import DataError, load_mnist  # noqa: E402

FORMAT = "lenet-robustness/1"
SEED = 0
NOISE_SIGMA = 0.2                   # additive Gaussian noise, as a fraction of full ink
ELASTIC_ALPHA, ELASTIC_SIGMA = 34.0, 4.0  # Simard et al. 2003


def rotate(degrees: float):
    def distort(image, rng):
        return ndi.rotate(image, degrees * rng.choice([-1, 1]), reshape=False, order=1, mode="constant")
    return distort


def resample(size: int):
    def distort(image, rng):
        small = Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR)  # PIL averages when shrinking
        return np.asarray(small.resize(image.shape[::-1], Image.Resampling.BILINEAR))
    return distort


def coarse_grid(cells: int, enlarge: Image.Resampling):
    """Another writer's digit scanned on a coarse grid, as optical-digit sets were made (UCI's
    "optdigits", 43 writers): the ink cropped to its box and binarised, fit into a 4·cells square
    (aspect kept, centred), each 4×4 block's count of set pixels kept as one of 17 grey levels,
    then the cells×cells picture enlarged back to 28×28 — with blocky edges (nearest) or blurred
    (bilinear). Unlike the "scan" columns, the digit fills the grid and its strokes are bold."""
    def distort(image, rng):
        rows, cols = np.flatnonzero(image.max(1) > 127), np.flatnonzero(image.max(0) > 127)
        if not rows.size:
            return image
        ink = image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] > 127
        side = 4 * cells
        scale = side / max(ink.shape)
        size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
        fitted = np.asarray(Image.fromarray(ink.astype(np.uint8) * 255).resize(size, Image.Resampling.NEAREST)) > 127
        square = np.zeros((side, side), bool)
        top, left = (side - size[1]) // 2, (side - size[0]) // 2
        square[top:top + size[1], left:left + size[0]] = fitted
        counts = square.reshape(cells, 4, cells, 4).sum(axis=(1, 3))        # 0–16 per cell
        small = Image.fromarray((counts * 255 / 16).round().astype(np.uint8))
        return np.asarray(small.resize(image.shape[::-1], enlarge))
    return distort


def elastic(image, rng):
    fields = [ndi.gaussian_filter(rng.uniform(-1, 1, image.shape), ELASTIC_SIGMA, mode="constant") * ELASTIC_ALPHA
              for _ in range(2)]
    rows, cols = np.meshgrid(np.arange(image.shape[0]), np.arange(image.shape[1]), indexing="ij")
    return ndi.map_coordinates(image.astype(np.float32), [rows + fields[0], cols + fields[1]], order=1, mode="constant")


def noise(image, rng):
    return image + rng.normal(0, NOISE_SIGMA * 255, image.shape)


# key → (label, what is done to the 28×28 test image before the demo sees it, function(image, rng))
DISTORTIONS = {
    "clean": ("clean", "the test image as it is", lambda image, rng: image),
    "rotate_10": ("rotated ±10°", "rotated by 10° to the left or right (bilinear)", rotate(10)),
    "rotate_20": ("rotated ±20°", "rotated by 20° to the left or right (bilinear)", rotate(20)),
    "thick": ("thick strokes", "grey dilation with a 2×2 square (about 1 px thicker)",
              lambda image, rng: ndi.grey_dilation(image, size=(2, 2))),
    "thin": ("thin strokes", "grey erosion with a 2×2 square (about 1 px thinner)",
             lambda image, rng: ndi.grey_erosion(image, size=(2, 2))),
    "lowres_8": ("8×8 scan", "shrunk to 8×8 and enlarged back to 28×28 (bilinear)", resample(8)),
    "lowres_14": ("14×14 scan", "shrunk to 14×14 and enlarged back to 28×28 (bilinear)", resample(14)),
    "grid_8_blocky": ("8×8 grid, blocky", "another writer's bold digit on an 8×8 grid of 17 grey levels (cropped, "
                      "binarised, 4×4 counts), enlarged to 28×28 with blocky edges (nearest)",
                      coarse_grid(8, Image.Resampling.NEAREST)),
    "grid_8_blurred": ("8×8 grid, blurred", "the same 8×8 grid enlarged to 28×28 with blurred edges (bilinear)",
                       coarse_grid(8, Image.Resampling.BILINEAR)),
    "elastic": ("elastic", f"Simard elastic distortion, alpha {ELASTIC_ALPHA:g}, sigma {ELASTIC_SIGMA:g} px", elastic),
    "noise": ("noise", f"additive Gaussian noise, sigma {NOISE_SIGMA:g} of full ink", noise),
}


class RobustnessError(Exception):
    """One clear line for the user; nothing was written."""


def distorted_inputs(images: np.ndarray, key: str, image_size: int, digit_box: int) -> tuple[np.ndarray, np.ndarray]:
    """The model inputs for `images` under distortion `key`, through the demo's preprocessing, and
    a mask of the images it could read (a blank result reads as wrong)."""
    distort = DISTORTIONS[key][2]
    inputs = np.zeros((len(images), image_size, image_size, 1), np.float32)
    readable = np.zeros(len(images), bool)
    for index, image in enumerate(images):
        rng = np.random.default_rng([SEED, index])
        picture = np.clip(np.rint(distort(image, rng)), 0, 255).astype(np.uint8)
        try:
            model_input = preprocess(picture, image_size=image_size, digit_box=digit_box)
        except InputError:
            model_input = None
        if model_input is not None:
            inputs[index, ..., 0], readable[index] = model_input, True
    return inputs, readable


def load_model(run: Path) -> DigitModel:
    path = run / "lenet.onnx"
    if not path.is_file():
        raise RobustnessError(f"no exported model at {path} (export it with: python export/to_onnx.py {run})")
    return DigitModel(path, providers="cpu")


def evaluate(runs: list[Path], limit: int | None, data_dir=None, log=print) -> dict:
    """Accuracy of each run's model under each distortion, on the first `limit` test images."""
    models = [load_model(run) for run in runs]
    contracts = {(m.contract.image_size, m.contract.digit_box) for m in models}
    if len(contracts) != 1:
        raise RobustnessError(f"the models expect different inputs ({sorted(contracts)}); compare like with like")
    (image_size, digit_box), = contracts
    _, (images, labels) = load_mnist(data_dir)
    images, labels = images[:limit], labels[:limit].astype(np.int64)
    rows = [{"name": _run_name(run), "run": _display(run), "model_file": "lenet.onnx",
             "model_sha256": hashlib.sha256((run / "lenet.onnx").read_bytes()).hexdigest(), "accuracy": {}}
            for run in runs]
    misread, unreadable = {}, {}
    for key, (label, _, _) in DISTORTIONS.items():
        started = time.perf_counter()
        inputs, readable = distorted_inputs(images, key, image_size, digit_box)
        unreadable[key] = int((~readable).sum())
        for row, model in zip(rows, models):
            predicted = np.concatenate([model.probabilities(inputs[i:i + 1000]).argmax(1)
                                        for i in range(0, len(inputs), 1000)])
            correct = (predicted == labels) & readable
            row["accuracy"][key] = round(float(correct.mean()), 6)
            if model is models[0]:
                misread[key] = np.flatnonzero(~correct).tolist()
        log(f"{label:14s} " + "  ".join(f"{row['name']} {row['accuracy'][key]:.2%}" for row in rows)
            + f"  ({time.perf_counter() - started:.0f} s)")
    return {"format": FORMAT, "images": int(len(labels)), "seed": SEED,
            "path": "distorted 28×28 MNIST test image → reader.preprocess.preprocess → lenet.onnx via "
                    "reader.model.DigitModel (ONNX Runtime, CPU)",
            "distortions": [{"key": key, "label": label, "description": description}
                            for key, (label, description, _) in DISTORTIONS.items()],
            "models": rows, "unreadable": unreadable,
            "misread_by_first_model": misread,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def table(result: dict) -> str:
    """robustness.txt: models as rows, distortions as columns, accuracy in percent."""
    keys = [d["key"] for d in result["distortions"]]
    headers = ["model"] + [d["label"] for d in result["distortions"]]
    cells = [[row["name"]] + [f"{row['accuracy'][key]:.2%}" for key in keys] for row in result["models"]]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    lines = [f"MNIST test accuracy under distortion, {result['images']} test images, each through the demo's "
             "preprocessing and the model's lenet.onnx", ""]
    lines.append("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths))))
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
              for row in cells]
    lines += ["", *(f"{d['label']}: {d['description']}" for d in result["distortions"])]
    return "\n".join(lines) + "\n"


def write(run: Path, result: dict) -> None:
    """robustness.json and robustness.txt into `run` (temporary files, then renames), then the card."""
    outputs = {"robustness.json": json.dumps(result, indent=1, ensure_ascii=False) + "\n",
               "robustness.txt": table(result)}
    temporary = {name: run / f".{name}.tmp" for name in outputs}
    try:
        for name, text in outputs.items():
            temporary[name].write_text(text)
        for name in outputs:
            temporary[name].replace(run / name)
    finally:
        for path in temporary.values():
            path.unlink(missing_ok=True)
    if (run / "run.json").is_file():
        write_card(run)


def _run_name(run: Path) -> str:
    try:
        return json.loads((run / "run.json").read_text())["recipe"]["name"]
    except (OSError, ValueError, KeyError, TypeError):
        return run.name


def _display(run: Path) -> str:
    try:
        return str(run.resolve().relative_to(ROOT))
    except ValueError:
        return str(run)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluate.robustness", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("run", type=Path, help="exported run folder (with lenet.onnx); the report is written here")
    parser.add_argument("--compare", type=Path, nargs="*", default=[],
                        help="other exported run folders, shown beside it (e.g. artifacts/fast artifacts/seed)")
    parser.add_argument("--limit", type=int, help="only the first N test images (default: all 10,000)")
    parser.add_argument("--data-dir", help="MNIST cache folder (default: $LENET_DATA_DIR or ~/.cache/lenet/mnist)")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit <= 0:
        parser.error(f"--limit must be positive, got {args.limit}")
    command = shlex.join(["python", "-m", "evaluate.robustness", *(sys.argv[1:] if argv is None else map(str, argv))])
    try:
        result = evaluate([args.run, *args.compare], args.limit, args.data_dir)
        result["command"] = command
        write(args.run, result)
    except (RobustnessError, DataError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(table(result) + f"wrote {args.run / 'robustness.json'} and robustness.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
