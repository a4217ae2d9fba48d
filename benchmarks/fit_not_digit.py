"""Train the not-digit check (reader/not_digit.py) and save it as reader/not_digit.onnx.

Not a benchmark: it makes the shipped check, as `fit_number_weights.py` makes the number reader's.
The check is a small convolutional network (Keras, on the CPU; exported with tf2onnx as the
LeNet export is) that sees what a reading already has: the 28×28 model input and the ink's
geometry (`reader.not_digit.GEOMETRY`), and gives the log-odds that the picture is a digit.

Digits: real MNIST *training* digits 0–49,999 as 28×28 pictures; 12,000 of them distorted as
`evaluate.robustness` distorts (rotated, thick, thin, coarse scans and grids, elastic, noisy);
digits 20,000–25,999 drawn on the 400×400 canvas (opaque, thin, paper: `tests.non_digits`);
2,000 coarse bold digits (8–14 cell grids) enlarged blocky or blurred onto the canvas; printed
digits in the tuning fonts. Non-digits: taps, doodles, marks, letters (tuning fonts), filled blobs
and pairs of MNIST training digits, from `tests.non_digits` with the TUNING seed. Parts of digits are not
trained on (a slice of a 4 or a 7 is often a 1); `benchmarks/not_digit.py` measures them, with
the EVALUATION seed, other fonts and MNIST *test* digits.

The threshold is set on digits not trained on (MNIST training digits 50,000–54,999, drawn digits
26,000–30,499 and 2,000 distorted ones from 50,000 on): of those the served model reads surely
(refusing one it doubts loses nothing), at most `--reject` (1 in 2,000) are refused.

    python benchmarks/fit_not_digit.py            # ~15 min on 2 cores (--cached: retrain in ~5)
    python benchmarks/fit_not_digit.py --cached --threshold-only    # the threshold again, same check
"""

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lenet.contract import DIGIT_BOX, IMAGE_SIZE  # noqa: E402  (the models' input contract)
from export.tf_function import onnx_graph  # noqa: E402
from reader import not_digit  # noqa: E402
from reader.pipeline import ink_and_input  # noqa: E402
from tests import non_digits  # noqa: E402

NEGATIVES = {"taps": 3000, "doodles": 8000, "marks": 5000, "letters": 4000, "pairs": 3000, "blobs": 2000}
DISTORTED, DRAWN, PRINTED, COARSE = 12_000, 6_000, 1_500, 2_000
HELD_NATIVE, HELD_DRAWN, HELD_DISTORTED = (50_000, 55_000), (26_000, 27_500), 2_000
MORE_DRAWN = (27_500, 30_500)   # more drawn digits never trained on, for the threshold only
CACHE = Path(tempfile.gettempdir()) / "not_digit_inputs.npz"
EPOCHS, BATCH = 15, 128
TAP_THRESHOLD = 2.5     # ink that is only taps or dots (`not_digit.reason`) must score above this to be a digit

_images = _labels = None


def _start_worker() -> None:
    global _images, _labels
    from lenet.data import load_mnist
    (_images, _labels), _ = load_mnist()


def check_inputs(picture) -> tuple[np.ndarray, np.ndarray] | None:
    """(28×28 model input, geometry) of a picture, as a reading computes them; None with no ink."""
    parts = ink_and_input(picture, IMAGE_SIZE, DIGIT_BOX)
    if parts is None:
        return None
    ink, blobs, model_input = parts
    return model_input, not_digit.geometry(ink, blobs)


def coarse_canvas(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Another writer's bold digit on a coarse grid (8–14 cells), enlarged blocky or blurred onto the canvas."""
    from PIL import Image
    from evaluate.robustness import coarse_grid
    enlarge = Image.Resampling.NEAREST if rng.random() < 0.5 else Image.Resampling.BILINEAR
    coarse = coarse_grid(int(rng.integers(8, 15)), enlarge)(digit, rng)
    ink = non_digits.placed([non_digits.enlarged_ink(coarse, rng.uniform(6, 12))], rng)
    return np.asarray(non_digits.ink_picture(ink, paper=rng.random() < 0.3, rng=rng))


def restyled(picture, rng: np.random.Generator):
    """A printed character as another font might draw it: half of them turned (±12°), sheared
    (±0.25) and made bolder or lighter (up to 6 px at 400), as black on white."""
    from PIL import Image
    from scipy import ndimage as ndi
    if rng.random() < 0.5:
        return picture
    ink = 1 - np.asarray(picture.convert("L"), np.float32) / 255
    shear, turn = rng.uniform(-0.25, 0.25), np.radians(rng.uniform(-12, 12))
    matrix = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]]) @ np.array([[1, 0], [shear, 1]])
    centre = np.array(ink.shape) / 2
    ink = ndi.affine_transform(ink, matrix, offset=centre - matrix @ centre, order=1)
    size = int(rng.integers(1, 7))
    ink = ndi.grey_dilation(ink, size=(size, size)) if rng.random() < 0.6 else ndi.grey_erosion(ink, size=(size, size))
    return non_digits.ink_picture(np.clip(ink, 0, 1))


def distorted(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    from evaluate.robustness import DISTORTIONS
    keys = [key for key in DISTORTIONS if key != "clean"]
    picture = DISTORTIONS[keys[rng.integers(len(keys))]][2](digit, rng)
    return np.clip(np.rint(picture), 0, 255).astype(np.uint8)


def make(job: tuple[str, int]):
    """One picture of a job (`kind`, index), made the same way for the same job, and its check inputs."""
    kind, index = job
    rng = np.random.default_rng([non_digits.TUNING.seed, zlib.crc32(kind.encode()), index])
    files = non_digits.fonts(non_digits.TUNING)
    if kind in NEGATIVES:
        picture = non_digits.non_digit(kind, rng, files, _images[:50_000], _labels[:50_000])
        picture = restyled(picture, rng) if kind == "letters" else picture
    elif kind == "native":
        picture = _images[index]
    elif kind == "distorted":
        picture = distorted(_images[index], rng)
    elif kind == "drawn":
        picture = non_digits.canvas_digit(_images[index], rng, non_digits.DIGIT_STYLES[index % 3])
    elif kind == "printed":
        picture = restyled(non_digits.font_digit(index % 10, rng, files), rng)
    elif kind == "coarse":
        picture = coarse_canvas(_images[index], rng)
    else:
        raise ValueError(kind)
    return check_inputs(picture)


def jobs() -> dict[str, list[tuple[str, int]]]:
    rng = np.random.default_rng(7)
    made = {kind: [(kind, i) for i in range(count)] for kind, count in NEGATIVES.items()}
    made["native"] = [("native", i) for i in range(HELD_NATIVE[1])]
    made["distorted"] = [("distorted", int(i)) for i in rng.choice(HELD_NATIVE[0], DISTORTED, replace=False)]
    made["distorted_held"] = [("distorted", i) for i in range(HELD_NATIVE[0], HELD_NATIVE[0] + HELD_DISTORTED)]
    made["drawn"] = [("drawn", i) for i in range(20_000, 20_000 + DRAWN)] + [("drawn", i) for i in range(*HELD_DRAWN)]
    made["drawn_more"] = [("drawn", i) for i in range(*MORE_DRAWN)]
    made["printed"] = [("printed", i) for i in range(PRINTED)]
    made["coarse"] = [("coarse", int(i)) for i in rng.choice(HELD_NATIVE[0], COARSE, replace=False)]
    return made


def build(processes: int, names=None, arrays=None) -> dict[str, np.ndarray]:
    """Every set's model inputs and geometry (pictures with no ink dropped), in `processes` workers;
    only the sets `names` when given, into `arrays`."""
    arrays = {} if arrays is None else arrays
    with multiprocessing.get_context("fork").Pool(processes, initializer=_start_worker) as pool:
        for name, work in jobs().items():
            if names is not None and name not in names:
                continue
            started = time.perf_counter()
            done = [r for r in pool.map(make, work, chunksize=64) if r is not None]
            arrays[f"{name}_pictures"] = np.stack([r[0] for r in done]).astype(np.float32)
            arrays[f"{name}_geometry"] = np.stack([r[1] for r in done]).astype(np.float32)
            print(f"  {name}: {len(done)} of {len(work)} in {time.perf_counter() - started:.0f} s", flush=True)
    return arrays


HELD = {"native": slice(HELD_NATIVE[0], None), "drawn": slice(DRAWN, None), "drawn_more": slice(None),
        "distorted_held": slice(None)}   # digits never trained on: the threshold is chosen on them


def lenet_sure(pictures: np.ndarray) -> np.ndarray:
    """Whether the served model reads each 28×28 input surely (refusing one it doubts loses nothing)."""
    from reader.model import DigitModel
    from reader.runs import SHIPPED_MODEL
    model = DigitModel(SHIPPED_MODEL, "cpu")
    return model.probabilities(pictures[..., None]).max(axis=1) >= model.contract.uncertain_below


def choose_threshold(data: dict, odds_of, share: float) -> tuple[float, dict]:
    """The log-odds under which at most `share` of the held-out digits the served model reads
    surely are refused (all `HELD` sets pooled); and, per set, how many there are and how many
    it refuses."""
    odds, sure = {}, {}
    for name, part in HELD.items():
        odds[name] = odds_of(name, part)
        sure[name] = lenet_sure(data[f"{name}_pictures"][part])
    pooled = np.concatenate([odds[name][sure[name]] for name in HELD])
    threshold = float(np.quantile(pooled, share))
    return threshold, {name: {"sure": int(sure[name].sum()), "refused": int((odds[name][sure[name]] < threshold).sum()),
                              "refused_of_all": int((odds[name] < threshold).sum()), "pictures": int(len(odds[name]))}
                       for name in HELD}


def network():
    import keras
    from keras import layers
    picture = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1), name="picture")
    geometry = keras.Input((len(not_digit.GEOMETRY),), name="geometry")
    x = layers.Conv2D(16, 5, activation="relu")(picture)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(32, 5, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Dense(64, activation="relu")(layers.Flatten()(x))
    h = layers.Dense(32, activation="relu")(layers.Concatenate()([x, geometry]))   # geometry standardised
    return keras.Model([picture, geometry], layers.Dense(1)(h))


def export(model, mean: np.ndarray, scale: np.ndarray, tap_threshold: float, threshold: float, summary: dict,
           path: Path) -> None:
    """The trained network as ONNX (picture, geometry → log_odds; the geometry standardised by
    `mean` and `scale` inside the graph), its threshold and geometry in metadata."""
    import onnx
    import tensorflow as tf

    def serve(picture, geometry):
        standard = (geometry - tf.constant(mean, tf.float32)) / tf.constant(scale, tf.float32)
        return {not_digit.OUTPUT_NAME: tf.squeeze(model([picture, standard], training=False), -1)}

    graph = onnx_graph(serve, {not_digit.PICTURE_NAME: (None, IMAGE_SIZE, IMAGE_SIZE, 1),
                               not_digit.GEOMETRY_NAME: (None, len(not_digit.GEOMETRY))})
    props = {"threshold": repr(threshold), "tap_threshold": repr(tap_threshold), "geometry": json.dumps(list(not_digit.GEOMETRY)),
             "image_size": str(IMAGE_SIZE), "digit_box": str(DIGIT_BOX), "fitted_on": json.dumps(summary)}
    for key, value in props.items():
        graph.metadata_props.add(key=key, value=value)
    graph.doc_string = "Not-digit check for the LeNet digit reader: log-odds that a picture is a digit."
    onnx.checker.check_model(graph, full_check=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(graph.SerializeToString())
    partial.replace(path)


def rethreshold(data: dict, path: Path, share: float) -> int:
    """Choose the threshold of the check saved at `path` again (`choose_threshold`) and rewrite its metadata."""
    import onnx
    check = not_digit.NotDigitCheck(path)
    threshold, refused = choose_threshold(
        data, lambda name, part: check.log_odds(data[f"{name}_pictures"][part][..., None], data[f"{name}_geometry"][part]),
        share)
    graph = onnx.load(str(path))
    props = {p.key: p.value for p in graph.metadata_props}
    fitted_on = json.loads(props["fitted_on"]) | {"threshold_from": refused, "reject": share}
    props |= {"threshold": repr(threshold), "tap_threshold": repr(max(threshold, TAP_THRESHOLD)),
              "fitted_on": json.dumps(fitted_on)}
    del graph.metadata_props[:]
    for key, value in props.items():
        graph.metadata_props.add(key=key, value=value)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(graph.SerializeToString())
    partial.replace(path)
    print(f"threshold {check.threshold:.3f} → {threshold:.3f}; held-out digits refused (of those read surely): {refused}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cached", action="store_true", help=f"reuse the inputs saved in {CACHE}")
    parser.add_argument("--rebuild", nargs="*", default=[], help="with --cached: make these sets again (e.g. letters)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--reject", type=float, default=0.0005,
                        help="share of the held-out digits read surely (MNIST, drawn, distorted, pooled) that may be refused")
    parser.add_argument("--threshold-only", action="store_true",
                        help=f"keep the trained check at --out, choose its threshold again (inputs from {CACHE})")
    parser.add_argument("--out", type=Path, default=not_digit.WEIGHTS_FILE)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.cached and CACHE.is_file():
        data = dict(np.load(CACHE))
        if args.rebuild:
            data = build(args.processes, set(args.rebuild), data)
            np.savez_compressed(CACHE, **data)
    else:
        data = build(args.processes)
        np.savez_compressed(CACHE, **data)
    print(f"inputs ready in {time.perf_counter() - started:.0f} s", flush=True)
    if args.threshold_only:
        return rethreshold(data, args.out, args.reject)

    import keras
    keras.utils.set_random_seed(0)
    # the first DRAWN drawn pictures are trained on, the rest held out (HELD)
    positives = {"native": slice(0, HELD_NATIVE[0]), "distorted": slice(None), "drawn": slice(0, DRAWN),
                 "printed": slice(None), "coarse": slice(None)}
    pictures, geometry, labels, weights = [], [], [], []

    def add(name, part, label, weight):
        pictures.append(data[f"{name}_pictures"][part]); geometry.append(data[f"{name}_geometry"][part])
        count = len(pictures[-1])
        labels.append(np.full(count, label, np.float32)); weights.append(np.full(count, weight / count, np.float32))
    # each set weighs a share of the whole: digits half, non-digits half
    for name, part, share in (("native", positives["native"], 0.2), ("distorted", positives["distorted"], 0.1),
                              ("drawn", positives["drawn"], 0.12), ("printed", positives["printed"], 0.04),
                              ("coarse", positives["coarse"], 0.04)):
        add(name, part, 1.0, share)
    for name in NEGATIVES:
        add(name, slice(None), 0.0, 0.5 / len(NEGATIVES))
    x_picture, x_geometry = np.concatenate(pictures)[..., None], np.concatenate(geometry)
    y, w = np.concatenate(labels), np.concatenate(weights)
    w *= len(w) / w.sum()
    mean, scale = x_geometry.mean(0), x_geometry.std(0) + 1e-6
    model = network()
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))
    order = np.random.default_rng(0).permutation(len(y))
    model.fit([x_picture[order], (x_geometry[order] - mean) / scale], y[order], sample_weight=w[order], epochs=args.epochs,
              batch_size=BATCH, verbose=2)

    def odds(name, part=slice(None)):
        return model.predict([data[f"{name}_pictures"][part][..., None], (data[f"{name}_geometry"][part] - mean) / scale],
                             batch_size=1024, verbose=0)[:, 0]
    threshold, refused = choose_threshold(data, odds, args.reject)
    summary = {"trained_on": {"digits": {name: int(len(data[f"{name}_pictures"][part])) for name, part in positives.items()},
                              "non_digits": {name: int(len(data[f"{name}_pictures"])) for name in NEGATIVES}},
               "threshold_from": refused, "reject": args.reject, "epochs": args.epochs, "tap_threshold": TAP_THRESHOLD}
    model.save(Path(tempfile.gettempdir()) / "not_digit.keras")
    export(model, mean, scale, max(threshold, TAP_THRESHOLD), threshold, summary, args.out)
    check = not_digit.NotDigitCheck(args.out)
    held = HELD["native"]
    onnx_odds = check.log_odds(data["native_pictures"][held][..., None], data["native_geometry"][held])
    print(f"ONNX vs Keras on held-out MNIST: max |Δ log-odds| {np.abs(onnx_odds - odds('native', held)).max():.2e}")
    print(f"threshold {threshold:.3f}; held-out digits refused (of those read surely): {refused}")
    for name in NEGATIVES:
        print(f"  {name:8} refused {(odds(name) < threshold).mean():.1%} (trained on)")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1000:.0f} kB) in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
