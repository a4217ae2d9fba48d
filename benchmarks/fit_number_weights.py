"""Fit the Number reader's whole-digit check (reader/numbers/whole_digit.onnx) and path weights
(reader/numbers/number_weights.json).

Not a benchmark: this makes the files `reader.numbers.whole_digit` and `reader.numbers.best_path` read. Steps:

1. class shapes: per class, mean and spread of log(width / height) and log(half the outline /
   height) over MNIST *training* digits (enlarged 4×, ink above `INK_THRESHOLD`);
2. the whole-digit check: numbers written with MNIST *training* digits (tests/written_numbers.py:
   hard numbers, touching pairs, lone digits), each over-segmented and every candidate
   preprocessed as `reader.pipeline.read_number` does; scikit-learn's MLPClassifier (one hidden
   layer of `CHECK_HIDDEN` ReLU units) learns which candidates are one whole digit (step 4's rule),
   saved as an ONNX graph;
3. numbers written with MNIST *test* digits 0–4,999 (pool TUNING), each over-segmented and every
   candidate read by the model and the check, exactly as `read_number` does;
4. which candidates are right: a candidate is a digit when it holds ≥ 85 % of that digit's ink
   and other ink amounting to ≤ 15 % of it (`written_numbers.is_digit`); the right path is the
   best one through such candidates, in order (noise arcs allowed) — numbers with none are left
   out;
5. an averaged structured perceptron (Collins 2002): for each number, when the best path under the
   current weights reads it wrong, the weights move by (features of the right path − features of
   the chosen one), `--split-cost` times that when the chosen path has more digits than the number
   (a split digit; 3 by default: with the softened log-probability feature, 7 of 6,000 tuning lone
   digits split with 2 and 4 with 3, benchmarks/README.md); features are scaled to unit spread
   while learning, and the averaged weights are written back in the features' own units.

    python benchmarks/fit_number_weights.py             # ~11 min on 2 cores
    python benchmarks/fit_number_weights.py --quick     # a check that it works (nothing written)
    python benchmarks/fit_number_weights.py --keep-check  # the path weights only (step 2 skipped)
"""

import argparse
import datetime
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reader.numbers import best_path, segment, whole_digit
from reader.numbers import candidates  # noqa: E402
from reader.model import DigitModel  # noqa: E402
from reader.preprocess import INK_THRESHOLD, ink_map  # noqa: E402

SETS = {"hard": (6000, 300), "pairs": (2400, 301), "lone": (4000, 302)}  # count, seed
CHECK_SETS = {"hard": (3000, 500), "pairs": (1000, 501), "lone": (1000, 502)}  # of MNIST training digits
CHECK_HIDDEN = 64
MAKERS = {"hard": "hard_numbers", "pairs": "touching_pairs", "lone": "lone_digits"}
EPOCHS = 10
SPLIT_COST = 3.0       # a number read with more digits than it has moves the weights this many times as far
CHECK_SCORES = ("candidates", "whole digits", "epochs", "held-out accuracy")  # what a saved check says of itself
SHAPE_DIGITS = 6000    # MNIST training digits measured for the class shapes


def class_shapes(images: np.ndarray, labels: np.ndarray) -> dict:
    """{"aspect"|"length": (means, deviations)} per class, of log(w / h) and log(outline / 2h)."""
    values = {"aspect": [], "length": []}
    for image in images:
        big = np.asarray(Image.fromarray(image).resize((112, 112), Image.Resampling.BICUBIC)) > INK_THRESHOLD * 255
        rows, cols = np.flatnonzero(big.any(axis=1)), np.flatnonzero(big.any(axis=0))
        height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
        values["aspect"].append(np.log(width / height))
        values["length"].append(np.log((big & ~ndi.binary_erosion(big)).sum() / (2 * height)))
    shapes = {}
    for name, measured in values.items():
        measured = np.array(measured)
        shapes[name] = ([round(float(measured[labels == k].mean()), 4) for k in range(10)],
                        [round(float(measured[labels == k].std()), 4) for k in range(10)])
    return shapes


def train_check(model: DigitModel, images: np.ndarray, labels: np.ndarray, written, quick: bool,
                started: float) -> tuple[bytes, dict]:
    """The whole-digit check (as ONNX, `check_graph`), learnt from the candidates of numbers
    written with `images` (MNIST training digits), and what it scored on a tenth of them held out."""
    from sklearn.neural_network import MLPClassifier
    inputs, truths = [], []
    for name, (count, seed) in CHECK_SETS.items():
        count = count // 10 if quick else count
        numbers = getattr(written, MAKERS[name])(images, labels, count, seed, pool=range(len(images)))
        for number in numbers:
            graph = segment.oversegment(ink_map(number.image))
            if graph.candidates:
                inputs.append(whole_digit.check_inputs(graph, candidates.candidate_inputs(model, graph)))
                truths.append(np.array(right_candidates(number, graph, written)) >= 0)
        print(f"check, {name}: {count} numbers of training digits read ({time.perf_counter() - started:.0f} s)", flush=True)
    inputs, truths = np.vstack(inputs), np.concatenate(truths)
    network = MLPClassifier(hidden_layer_sizes=(CHECK_HIDDEN,), early_stopping=True, batch_size=256, max_iter=50,
                            random_state=0).fit(inputs, truths)
    scores = {"candidates": int(len(truths)), "whole digits": int(truths.sum()), "epochs": int(network.n_iter_),
              "held-out accuracy": round(float(network.best_validation_score_), 4)}
    print(f"check: {scores} ({time.perf_counter() - started:.0f} s)", flush=True)
    return check_graph(network.coefs_, network.intercepts_, scores), scores


def kept_check(path: Path) -> tuple[bytes, dict]:
    """A whole-digit check made before (`check_graph`) and the scores saved in it."""
    import onnx
    check_file = path.read_bytes()
    props = {prop.key: prop.value for prop in onnx.load_from_string(check_file).metadata_props}
    return check_file, {key: json.loads(props[key]) for key in CHECK_SCORES}


def check_graph(weights: list[np.ndarray], biases: list[np.ndarray], scores: dict) -> bytes:
    """The network (one hidden ReLU layer, one output unit) as an ONNX graph that gives the
    log-odds (the output unit before its logistic function), as `reader.numbers.whole_digit` runs it."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    (hidden_weights, output_weights), (hidden_bias, output_bias) = weights, biases
    initial = [numpy_helper.from_array(np.asarray(value, np.float32), name) for name, value in (
        ("hidden_weights", hidden_weights), ("hidden_bias", hidden_bias), ("output_weights", output_weights),
        ("output_bias", output_bias))] + [numpy_helper.from_array(np.array([1], np.int64), "axis")]
    graph = helper.make_graph([
        helper.make_node("Gemm", [whole_digit.INPUT_NAME, "hidden_weights", "hidden_bias"], ["hidden_sum"]),
        helper.make_node("Relu", ["hidden_sum"], ["hidden"]),
        helper.make_node("Gemm", ["hidden", "output_weights", "output_bias"], ["output_sum"]),
        helper.make_node("Squeeze", ["output_sum", "axis"], [whole_digit.OUTPUT_NAME]),
    ], "whole_digit_check",
        [helper.make_tensor_value_info(whole_digit.INPUT_NAME, TensorProto.FLOAT, ["batch", hidden_weights.shape[0]])],
        [helper.make_tensor_value_info(whole_digit.OUTPUT_NAME, TensorProto.FLOAT, ["batch"])], initial)
    check = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="fit_number_weights.py")
    check.ir_version = 8  # what ONNX Runtime 1.x reads
    helper.set_model_props(check, {"inputs": json.dumps(["28×28 model input pixels", *whole_digit.GEOMETRY]),
                                   "trained_on": "numbers written with MNIST training digits", **{
                                       key: str(value) for key, value in scores.items()}})
    onnx.checker.check_model(check)
    return check.SerializeToString()


def read_all(model: DigitModel, numbers, shapes: dict, check: whole_digit.WholeDigitCheck, written) -> list[dict]:
    """Each number's straight-cut graph, features and right candidates, as `read_number` would see
    them (the weights are fit on these graphs and score the bent-cut ones alike)."""
    examples = []
    for number in numbers:
        ink = ink_map(number.image)
        examples.append(example_of(model, number, segment.oversegment(ink), shapes, check, written))
    return examples


def example_of(model: DigitModel, number, graph: segment.Oversegmentation, shapes: dict,
               check: whole_digit.WholeDigitCheck, written, readings=None) -> dict:
    """One graph of `number` with what `best_arcs` needs: its candidates' features and labels, and
    which of them are its written digits. `readings`: the candidates' (inputs, probabilities),
    when the caller has them already (`candidates.CandidateReadings`)."""
    inputs, probabilities = readings or candidates.CandidateReadings(model).of(graph)
    whole = check.log_odds(graph, inputs)
    return {"text": number.text, "nodes": len(graph.pieces),
            "starts": [c.start for c in graph.candidates], "stops": [c.stop for c in graph.candidates],
            "labels": probabilities.argmax(axis=1),
            "digit": best_path.digit_features(graph, probabilities, shapes, whole),
            "noise": best_path.noise_features(graph), "truth": right_candidates(number, graph, written)}


def right_candidates(number, graph, written) -> list[int]:
    """Per candidate: the index of the digit it is (`written.is_digit`), else −1."""
    masks = written.digit_masks(number, graph.ink.shape, INK_THRESHOLD)
    truth = []
    for candidate in graph.candidates:
        own = candidate.ink > INK_THRESHOLD
        truth.append(next((k for k, mask in enumerate(masks) if written.is_digit(candidate.box, own, mask)), -1))
    return truth


def best_arcs(example: dict, digit_weights, noise_weights, right_only: bool = False):
    """The best path's arcs ("d", candidate) / ("n", piece), by Viterbi over the example's graph;
    with `right_only`, the best path through right candidates in the digits' order (None if none)."""
    scores = example["digit"] @ digit_weights if len(example["digit"]) else np.zeros(0)
    noise = {piece: float(f @ noise_weights) for piece, f in example["noise"].items()}
    digits = len(example["text"]) if right_only else 0
    best = {(0, 0): 0.0}
    came = {}
    arcs = [[] for _ in range(example["nodes"] + 1)]
    for k, (start, stop) in enumerate(zip(example["starts"], example["stops"])):
        if not right_only or example["truth"][k] >= 0:
            arcs[stop].append((start, ("d", k), scores[k], example["truth"][k] if right_only else None))
    for piece, score in noise.items():
        arcs[piece + 1].append((piece, ("n", piece), score, None))
    for node in range(1, example["nodes"] + 1):
        for start, arc, score, digit in arcs[node]:
            for done in range(digits + 1):
                if (start, done) not in best:
                    continue
                after = done + 1 if digit is not None else done
                if digit is not None and digit != done:
                    continue
                value = best[(start, done)] + score
                if value > best.get((node, after), -np.inf):
                    best[(node, after)], came[(node, after)] = value, ((start, done), arc)
    state = (example["nodes"], digits)
    if state not in best:
        return None
    path = []
    while state != (0, 0):
        state, arc = came[state]
        path.append(arc)
    return path[::-1]


def path_features(example: dict, path) -> tuple[np.ndarray, np.ndarray]:
    digit = sum((example["digit"][k] for kind, k in path if kind == "d"), np.zeros(len(best_path.DIGIT_FEATURES)))
    noise = sum((example["noise"][k] for kind, k in path if kind == "n"), np.zeros(len(best_path.NOISE_FEATURES)))
    return digit, noise


def text_of(example: dict, path) -> str:
    return "".join(str(example["labels"][k]) for kind, k in path if kind == "d")


def fit(examples: list[dict], epochs: int, seed: int = 0, split_cost: float = SPLIT_COST) -> tuple[np.ndarray, np.ndarray]:
    """Averaged structured perceptron; returns (digit weights, noise weights) in feature units. A
    number read with more digits than it has moves the weights `split_cost` times as far."""
    digit_all = np.vstack([e["digit"] for e in examples if len(e["digit"])])
    noise_all = np.vstack([f for e in examples for f in e["noise"].values()] or [np.ones(len(best_path.NOISE_FEATURES))])
    digit_scale, noise_scale = (np.where(a.std(axis=0) > 0, a.std(axis=0), 1.0) for a in (digit_all, noise_all))
    golds = [(e, best_arcs(e, np.zeros(len(digit_scale)), np.zeros(len(noise_scale)), right_only=True)) for e in examples]
    golds = [(e, g) for e, g in golds if g is not None]
    weights = [np.zeros(len(digit_scale)), np.zeros(len(noise_scale))]
    totals = [np.zeros(len(digit_scale)), np.zeros(len(noise_scale))]
    steps = 0
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        for i in rng.permutation(len(golds)):
            example, _ = golds[i]
            digit_w, noise_w = weights[0] / digit_scale, weights[1] / noise_scale
            right = best_arcs(example, digit_w, noise_w, right_only=True)
            chosen = best_arcs(example, digit_w, noise_w)
            text = text_of(example, chosen)
            if text != example["text"]:
                cost = split_cost if len(text) > len(example["text"]) else 1.0
                (rd, rn), (cd, cn) = path_features(example, right), path_features(example, chosen)
                weights[0] += cost * (rd - cd) / digit_scale
                weights[1] += cost * (rn - cn) / noise_scale
            totals[0] += weights[0]
            totals[1] += weights[1]
            steps += 1
    return totals[0] / steps / digit_scale, totals[1] / steps / noise_scale


def accuracy(examples, digit_weights, noise_weights) -> float:
    return float(np.mean([text_of(e, best_arcs(e, digit_weights, noise_weights)) == e["text"] for e in examples]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the numbers, nothing written")
    parser.add_argument("--out", type=Path, default=best_path.WEIGHTS_FILE, help="weights file (default: %(default)s)")
    parser.add_argument("--check-out", type=Path, default=whole_digit.WEIGHTS_FILE,
                        help="whole-digit check file (default: %(default)s)")
    parser.add_argument("--keep-check", action="store_true",
                        help="fit the path weights only, with the whole-digit check already at --check-out")
    parser.add_argument("--split-cost", type=float, default=SPLIT_COST,
                        help="how many times a number read with more digits than it has counts (default: %(default)g)")
    args = parser.parse_args(argv)
    from benchmarks.common import FP32_MODEL
    from lenet.data import load_mnist
    from tests import written_numbers as written
    (train_images, train_labels), (test_images, test_labels) = load_mnist()
    started = time.perf_counter()
    shapes = class_shapes(train_images[:SHAPE_DIGITS], train_labels[:SHAPE_DIGITS])
    model = DigitModel(FP32_MODEL, "cpu")  # the model the demo serves
    if args.keep_check:
        check_file, check_scores = kept_check(args.check_out)
    else:
        check_file, check_scores = train_check(model, train_images, train_labels, written, args.quick, started)
    with tempfile.TemporaryDirectory() as folder:  # read back as the demo reads it
        (Path(folder) / "check.onnx").write_bytes(check_file)
        check = whole_digit.WholeDigitCheck(Path(folder) / "check.onnx")
    examples = {}
    for name, (count, seed) in SETS.items():
        count = count // 10 if args.quick else count
        numbers = getattr(written, MAKERS[name])(test_images, test_labels, count, seed, pool=written.TUNING)
        examples[name] = read_all(model, numbers, shapes, check, written)
        print(f"{name}: {count} numbers read ({time.perf_counter() - started:.0f} s)", flush=True)
    everything = [e for group in examples.values() for e in group]
    digit_weights, noise_weights = fit(everything, EPOCHS, split_cost=args.split_cost)
    fitted = {name: accuracy(group, digit_weights, noise_weights) for name, group in examples.items()}
    print("read right on the tuning numbers with the fitted weights: "
          + ", ".join(f"{name} {value:.1%}" for name, value in fitted.items()))
    if args.quick:
        return 0
    args.check_out.write_bytes(check_file)
    args.out.write_text(json.dumps({
        "fitted_by": "python benchmarks/fit_number_weights.py" + (" --keep-check" if args.keep_check else "")
                     + f" --split-cost {args.split_cost:g}",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "model_sha256": hashlib.sha256(Path(FP32_MODEL).read_bytes()).hexdigest(),
        "tuning_pool": f"MNIST test digits {written.TUNING.start}-{written.TUNING.stop - 1}",
        "sets": {name: {"count": count, "seed": seed} for name, (count, seed) in SETS.items()},
        "whole_digit_check": {"file": args.check_out.name, "hidden_units": CHECK_HIDDEN,
                              "numbers_of_training_digits": {name: {"count": count, "seed": seed}
                                                             for name, (count, seed) in CHECK_SETS.items()},
                              **check_scores},
        "epochs": EPOCHS, "split_cost": args.split_cost, "read_right_on_tuning": fitted,
        "class_shapes": shapes,
        "digit": dict(zip(best_path.DIGIT_FEATURES, map(float, digit_weights))),
        "noise": dict(zip(best_path.NOISE_FEATURES, map(float, noise_weights))),
    }, indent=2) + "\n")
    print(f"wrote {args.check_out} and {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
