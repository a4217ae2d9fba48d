"""How well does a reading say "not a digit"? The not-digit check (reader/not_digit.py) measured on
what it was never fitted or tuned on.

- Held-apart non-digits: `tests.non_digits` with the EVALUATION seed, fonts (Liberation, else
  PIL's own) and MNIST *test* digits for parts and pairs, on the 400×400 canvas: per kind the
  share read "not a digit", the share "not a digit" or "not sure", and, as before this check,
  the share LeNet alone claimed sure.
- Real MNIST test digits (all 10,000 by default) as 28×28 pictures through `read_digit`: the
  share refused, the accuracy of those accepted and of all.
- MNIST test digits drawn on the canvas (opaque, thin, paper) and printed digits in the
  evaluation fonts: the share refused and the accuracy of those accepted.
- Other writers' coarse digits: scikit-learn's 8×8 digits enlarged (refused, read right).
- Numbers of 4 MNIST test digits with a held-apart doodle, mark or letter beside them: the share
  the Number reader reads exactly (the non-digit left out).
- The held-apart taps, doodles, marks, letters and blobs alone, read by the Number reader (as on the Number tab): the share
  read with no digit, and the same without the Draw tab's verdict on what it reads as one digit
  (`reader.pipeline.refused_as_one_digit`).
- All of it for each model of `--models` side by side (the check is the same for every model;
  "not sure" is each model's own), then the check's own time per reading, beside the reading's.

    python benchmarks/not_digit.py                 # ~2 min on 2 cores (robust and fast)
    python benchmarks/not_digit.py --quick         # 2,000 MNIST digits, 40 of each kind, 20 numbers
    python benchmarks/not_digit.py --number-margin # how the Number reader's margin was chosen (~2 min)
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, write_json  # noqa: E402
from reader import not_digit  # noqa: E402
from reader.model import DigitModel  # noqa: E402
from reader.runs import named_model  # noqa: E402
from reader.pipeline import digit_parts, read_digit, read_number  # noqa: E402
from tests import non_digits  # noqa: E402


def outcomes(model: DigitModel, pictures, before: list | None = None) -> list[str]:
    """Per picture: "not a digit", "not sure", "sure <label>" or "no ink"; LeNet's alone (without
    the check) appended to `before`."""
    said = []
    for picture in pictures:
        reading = read_digit(model, picture, heatmap=False)
        said.append("no ink" if reading is None else "not a digit" if not reading.digit
                    else f"sure {reading.label}" if reading.sure else "not sure")
        if before is not None:
            before.append("no ink" if reading is None else f"sure {reading.label}"
                          if reading.confidence >= model.contract.uncertain_below else "not sure")
    return said


def lenet_alone_sure(model: DigitModel, pictures) -> float:
    """The share LeNet alone (before this check) read surely."""
    sure = []
    for picture in pictures:
        parts = digit_parts(model, picture)
        sure.append(parts is not None and parts[2].max() >= model.contract.uncertain_below)
    return float(np.mean(sure))


def digits_row(name: str, said: list[str], labels, before: list[str]) -> dict:
    refused = np.array([s == "not a digit" for s in said])
    right = np.array([s == f"sure {label}" for s, label in zip(said, labels)])
    accepted_right = [s.split()[-1] == str(label) for s, label in zip(said, labels) if s.startswith("sure")]
    return {"set": name, "pictures": len(said), "refused": float(refused.mean()),
            "not_sure": float(np.mean([s == "not sure" for s in said])),
            "accuracy_of_sure_accepted": float(np.mean(accepted_right)) if accepted_right else None,
            "sure_and_right_of_all": float(right.mean()),
            "sure_and_right_before": float(np.mean([s == f"sure {label}" for s, label in zip(before, labels)]))}


def accuracy_accepted(model: DigitModel, images, labels) -> dict:
    """Refused share and accuracy (argmax, sure or not) of the accepted, for real 28×28 digits."""
    refused, right, reasons = [], [], {}
    for image, label in zip(images, labels):
        reading = read_digit(model, image, heatmap=False)
        refused.append(reading is None or not reading.digit)
        right.append(reading is not None and reading.label == str(label))
        if reading is not None and not reading.digit:
            reasons[reading.not_digit_reason] = reasons.get(reading.not_digit_reason, 0) + 1
    refused, right = np.array(refused), np.array(right)
    return {"set": "MNIST test, 28x28", "pictures": len(labels), "refused": float(refused.mean()),
            "accuracy_of_accepted": float(right[~refused].mean()), "accuracy_before": float(right.mean()),
            "refused_that_lenet_got_wrong": int((refused & ~right).sum()), "refused_count": int(refused.sum()),
            "reasons": reasons}


def timing(model: DigitModel, pictures) -> dict:
    """Median ms of the reading's own work (`digit_parts`) and of the check on its result."""
    parts_ms, check_ms = [], []
    check = not_digit.shipped()
    for picture in pictures:
        started = time.perf_counter()
        ink, model_input, _, blobs = digit_parts(model, picture)
        middle = time.perf_counter()
        check.verdict(ink, model_input, blobs)
        parts_ms.append((middle - started) * 1000)
        check_ms.append((time.perf_counter() - middle) * 1000)
    return {"reading_ms_median": float(np.median(parts_ms)), "check_ms_median": float(np.median(check_ms)),
            "pictures": len(pictures)}


def other_writers(model: DigitModel) -> dict:
    """Coarse digits by other writers: scikit-learn's 1,797 8×8 digits (43 people, UCI's optdigits
    test part; measured only, never trained on), dark on white, enlarged 8× with blocky edges: the
    share refused, the share read right (sure or not) and read right surely."""
    from PIL import Image
    from sklearn.datasets import load_digits
    digits = load_digits()
    refused = right = sure_right = 0
    for image, label in zip(digits.images, digits.target):
        picture = Image.fromarray(np.uint8(255 - image * 255 / 16)).resize((64, 64), Image.Resampling.NEAREST)
        reading = read_digit(model, picture, heatmap=False)
        refused += not reading.digit
        right += reading.label == str(label)
        sure_right += reading.sure and reading.label == str(label)
    count = len(digits.target)
    return {"set": "scikit-learn digits, 8x8 enlarged to 64x64 (nearest)", "pictures": count,
            "refused": refused / count, "right": right / count, "sure_and_right": sure_right / count}


def numbers_beside(model: DigitModel, images, labels, count: int, leave_out: bool = True) -> list[dict]:
    """Numbers of 4 MNIST test digits with a held-apart doodle, mark or letter beside them
    (`tests.non_digits.beside_number`): the share read exactly (the non-digit left out); with
    `leave_out` False, as the reader read them before it left anything out (neither the not-digit
    check nor the second line reader, `reader.numbers.line_not_digits`)."""
    from reader.numbers import line_not_digits, not_digits
    refused, left_out = not_digits.refused, line_not_digits.left_out
    if not leave_out:
        not_digits.refused = lambda *args: []
        line_not_digits.left_out = lambda *args: []
    try:
        return _numbers_beside(model, images, labels, count)
    finally:
        not_digits.refused, line_not_digits.left_out = refused, left_out


def _numbers_beside(model: DigitModel, images, labels, count: int) -> list[dict]:
    rows = []
    for kind in ("doodles", "marks", "letters"):
        rng = np.random.default_rng([non_digits.EVALUATION.seed, 7, non_digits.KINDS.index(kind)])
        right = 0
        for _ in range(count):
            text, picture = non_digits.beside_number(kind, rng, images, labels)
            reading = read_number(model, picture)
            right += reading is not None and reading.text == text
        rows.append({"kind": kind, "numbers": count, "read_exactly": right / count})
    return rows


NUMBER_TAB_KINDS = ("taps", "doodles", "marks", "letters", "blobs")   # (parts and pairs of digits are digits there)


def number_tab(model: DigitModel, made, one_digit_verdict: bool = True) -> list[dict]:
    """Per kind of `made` non-digits, the share the Number reader reads with no digit; with
    `one_digit_verdict` False, as it read them before a one-digit reading got the Draw tab's verdict."""
    from reader import pipeline
    verdict = pipeline.refused_as_one_digit
    if not one_digit_verdict:
        pipeline.refused_as_one_digit = lambda *args: False
    try:
        rows = []
        for kind in NUMBER_TAB_KINDS:
            readings = [read_number(model, picture) for k, picture in made if k == kind]
            rows.append({"kind": kind, "pictures": len(readings),
                         "no_digit": float(np.mean([r is None or not r.digits for r in readings]))})
        return rows
    finally:
        pipeline.refused_as_one_digit = verdict


def measure(model: DigitModel, made, images, labels, args) -> dict:
    """Every figure of one model (the check is the same for all; "not sure" is the model's own)."""
    kinds = []
    print(f"{'kind':10} {'not a digit':>12} {'or not sure':>12} {'LeNet alone sure':>17}")
    for kind in non_digits.KINDS:
        pictures = [picture for k, picture in made if k == kind]
        said = outcomes(model, pictures)
        row = {"kind": kind, "pictures": len(pictures),
               "not_a_digit": float(np.mean([s == "not a digit" for s in said])),
               "not_a_digit_or_not_sure": float(np.mean([s in ("not a digit", "not sure", "no ink") for s in said])),
               "lenet_alone_sure": lenet_alone_sure(model, pictures)}
        kinds.append(row)
        print(f"{kind:10} {row['not_a_digit']:12.1%} {row['not_a_digit_or_not_sure']:12.1%} {row['lenet_alone_sure']:17.1%}")
    issue_kinds = [row for row in kinds if row["kind"] in ("taps", "doodles", "marks", "letters")]
    overall = sum(r["not_a_digit_or_not_sure"] * r["pictures"] for r in issue_kinds) / sum(r["pictures"] for r in issue_kinds)
    print(f"taps, doodles, marks, letters together: {overall:.1%} not a digit or not sure (target >= 95%)")

    print(f"\nMNIST test digits 0-{args.mnist - 1:,} as 28x28 pictures")
    mnist = accuracy_accepted(model, images[:args.mnist], labels[:args.mnist])
    print(f"  refused {mnist['refused']:.2%} ({mnist['refused_count']}, of which LeNet got "
          f"{mnist['refused_that_lenet_got_wrong']} wrong; target <= 0.5%); accuracy of the accepted "
          f"{mnist['accuracy_of_accepted']:.2%} (of all, before: {mnist['accuracy_before']:.2%})")

    rng = np.random.default_rng(non_digits.EVALUATION.seed + 1)
    drawn_rows = []
    print(f"\ndrawn digits (MNIST test digits 0-{args.drawn - 1} per style; printed in the evaluation fonts)")
    for style in non_digits.DIGIT_STYLES:
        pictures = [non_digits.canvas_digit(images[i], rng, style) for i in range(args.drawn)]
        before = []
        drawn_rows.append(digits_row(style, outcomes(model, pictures, before), labels[:args.drawn], before))
    files = non_digits.fonts(non_digits.EVALUATION)
    printed_labels = [i % 10 for i in range(args.drawn)]
    printed = [non_digits.font_digit(d, rng, files) for d in printed_labels]
    before = []
    drawn_rows.append(digits_row("printed", outcomes(model, printed, before), printed_labels, before))
    for row in drawn_rows:
        print(f"  {row['set']:8} refused {row['refused']:6.1%}  not sure {row['not_sure']:6.1%}  "
              f"sure and right {row['sure_and_right_of_all']:6.1%} (LeNet alone: {row['sure_and_right_before']:6.1%})")

    writers = other_writers(model)
    print(f"\nother writers ({writers['pictures']} scikit-learn 8x8 digits, enlarged): refused {writers['refused']:.2%}, "
          f"read right {writers['right']:.2%} (surely {writers['sure_and_right']:.2%})")

    print(f"\nnumbers of 4 MNIST test digits with a non-digit beside them ({args.numbers} per kind)")
    beside = numbers_beside(model, images, labels, args.numbers)
    kept = numbers_beside(model, images, labels, args.numbers, leave_out=False)
    for row, before in zip(beside, kept):
        row["read_exactly_keeping_every_digit"] = before["read_exactly"]
        print(f"  {row['kind']:8} read exactly (the {row['kind'][:-1]} left out) {row['read_exactly']:6.1%}"
              f"  (keeping every chosen digit, as before: {before['read_exactly']:6.1%})")

    print("\nthe same non-digits alone on the Number tab (read_number)")
    alone = number_tab(model, made)
    for row, before in zip(alone, number_tab(model, made, one_digit_verdict=False)):
        row["no_digit_without_one_digit_verdict"] = before["no_digit"]
        print(f"  {row['kind']:10} no digit read {row['no_digit']:6.1%}"
              f"  (without the Draw tab's verdict on one digit: {before['no_digit']:6.1%})")
    return {"non_digits": kinds, "taps_doodles_marks_letters": overall, "mnist": mnist, "drawn_digits": drawn_rows,
            "other_writers": writers, "numbers_beside": beside, "number_tab_alone": alone}


def number_margin(model: DigitModel, images, labels) -> dict:
    """How `reader.numbers.not_digits.MARGIN` was chosen, on the tuning pool: for 600 hard numbers,
    600 touching pairs and 60 numbers with a doodle, mark or letter beside them (MNIST test digits
    0–4,999, the tuning seed), the groups of chosen digits left out at the check's own threshold
    and with the margin."""
    from reader.numbers import not_digits
    from tests.written_numbers import TUNING, hard_numbers, touching_pairs
    sets = {"hard numbers": hard_numbers(images, labels, 600, seed=5, pool=TUNING),
            "touching pairs": touching_pairs(images, labels, 600, seed=6, pool=TUNING)}
    for kind in ("doodles", "marks", "letters"):
        rng = np.random.default_rng([non_digits.TUNING.seed, 7, non_digits.KINDS.index(kind)])
        sets[f"{kind} beside"] = [non_digits.beside_number(kind, rng, images[:5000], labels[:5000],
                                                           split=non_digits.TUNING)[1] for _ in range(60)]
    rows, margin = {}, not_digits.MARGIN
    for name, made in sets.items():
        counts = []
        for value in (0.0, margin):
            not_digits.MARGIN = value
            counts.append(sum(len(read_number(model, getattr(item, "image", item)).not_digits) for item in made))
        not_digits.MARGIN = margin
        rows[name] = {"numbers": len(made), "left_out_at_threshold": counts[0], "left_out_with_margin": counts[1]}
        print(f"  {name:16} {len(made):5} numbers: groups left out {counts[0]} at the threshold, {counts[1]} with the margin")
    return {"margin": margin, "sets": rows}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 MNIST digits, 40 of each kind, 20 numbers")
    parser.add_argument("--models", nargs="+", default=["robust", "fast"], help="shipped models (or .onnx files), side by side")
    parser.add_argument("--per-kind", type=int, default=100, help="held-apart non-digits per kind")
    parser.add_argument("--mnist", type=int, default=10_000, help="MNIST test digits as 28x28 pictures")
    parser.add_argument("--drawn", type=int, default=150, help="MNIST test digits drawn per canvas style")
    parser.add_argument("--numbers", type=int, default=150, help="numbers with a non-digit beside them, per kind")
    parser.add_argument("--number-margin", action="store_true",
                        help="only: how the Number reader's margin was chosen, on the tuning pool")
    parser.add_argument("--out", type=Path, default=RESULTS / "not_digit.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.per_kind, args.mnist, args.drawn, args.numbers = 40, 2_000, 40, 20
    from lenet.data import load_mnist
    _, (images, labels) = load_mnist()
    started = time.perf_counter()
    if args.number_margin:
        print("the Number reader's margin, on the tuning pool (served model)")
        write_json(RESULTS / "not_digit_number_margin.json", number_margin(DigitModel(named_model(args.models[0]), "cpu"), images, labels))
        return 0
    print(f"held-apart non-digits ({args.per_kind} per kind, seed {non_digits.EVALUATION.seed}, "
          f"fonts: {len(non_digits.fonts(non_digits.EVALUATION))} Liberation files + PIL's own)")
    made = non_digits.non_digits(non_digits.EVALUATION, args.per_kind, images, labels)
    results = {}
    for key in args.models:
        model = DigitModel(named_model(key), "cpu")
        print(f"\n=== model {key} ===")
        results[key] = measure(model, made, images, labels, args)
    model = DigitModel(named_model(args.models[0]), "cpu")
    rng = np.random.default_rng(non_digits.EVALUATION.seed + 2)
    times = {"28x28": timing(model, list(images[:300])),
             "canvas": timing(model, [non_digits.canvas_digit(images[i], rng) for i in range(60)])}
    print("\ntime per reading (median ms): " + "; ".join(
        f"{name}: reading {t['reading_ms_median']:.1f}, check +{t['check_ms_median']:.1f}" for name, t in times.items()))
    write_json(args.out, {"benchmark": "not_digit", "models": results, "time": times,
                          "check": {"file": not_digit.WEIGHTS_FILE.name, "threshold": not_digit.shipped().threshold},
                          "seconds": round(time.perf_counter() - started, 1)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
