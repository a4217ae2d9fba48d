"""Choose the Number reader's doubt mark on validation numbers, and report it on test numbers.

A number always shows its best guess; a digit whose confidence is under the doubt threshold is
marked as a guess (the page writes a small "?" after it, the API and CLI list it as doubtful). The
threshold is chosen here, on numbers written with the 5,000 training digits the shipped recipes
hold out for validation (`lenet.training`: MNIST train images 0–4,999, never trained on), never on
test digits:

  RULE: the highest threshold in 0.30–0.99 under which the digits' best guesses are right at most
  4 times in 5 (so a mark is a real warning: its guess is wrong at least 1 time in 5), with at least
  20 digits under it; the model's own "not sure" threshold when none qualifies.

Digits are compared position by position in numbers read with the right digit count (a number
read with too many or too few digits is wrong whatever is marked). The report, on validation and on
the test numbers of `benchmarks/number_reading.py` (test digits 5,000–9,999, the same seeds), gives
exact-number accuracy of the best guess, of the numbers shown without a mark and of those with one,
and what the earlier policy (a "?" in place of the digit, counted wrong) scored.

    python benchmarks/fit_number_doubt.py                 # 1,500 + 500 validation numbers, 1,000 + 500 test ones; writes reader/numbers/doubt.json
    python benchmarks/fit_number_doubt.py --quick         # 300 + 100 each: a check that it works (writes nothing)
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.common import default_out, machine_info, print_table, write_json  # noqa: E402

GRID = [round(t, 2) for t in np.arange(0.30, 0.995, 0.01)]
RIGHT_AT_MOST = 0.8
MIN_UNDER = 20
VALIDATION = range(0, 5000)   # MNIST train images held out by the shipped recipes (lenet.training.VALIDATION_SIZE)
DOUBT_FILE = ROOT / "reader" / "numbers" / "doubt.json"


def read_all(model, numbers) -> list[list[tuple[str, float, dict]]]:
    from reader.pipeline import read_number
    readings = []
    for number in numbers:
        reading = read_number(model, number.image)
        readings.append([] if reading is None else [(d.label, d.confidence, d.probabilities) for d in reading.digits])
    return readings


def digit_outcomes(numbers, readings) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, right) of every digit of the numbers read with the right digit count."""
    confidence, right = [], []
    for number, digits in zip(numbers, readings):
        if len(digits) == len(number.text):
            for (label, conf, _), truth in zip(digits, number.text):
                confidence.append(conf)
                right.append(label == truth)
    return np.array(confidence), np.array(right, bool)


def choose(confidence: np.ndarray, right: np.ndarray, fallback: float) -> tuple[float, bool]:
    for threshold in sorted(GRID, reverse=True):
        under = confidence < threshold
        if under.sum() >= MIN_UNDER and right[under].mean() <= RIGHT_AT_MOST:
            return threshold, True
    return fallback, False


def scores(numbers, readings, threshold: float) -> dict:
    best = [("".join(label for label, _, _ in digits), any(conf < threshold for _, conf, _ in digits))
            for digits in readings]
    exact = np.array([text == number.text for (text, _), number in zip(best, numbers)])
    marked = np.array([doubt for _, doubt in best])
    confidence, right = digit_outcomes(numbers, readings)
    under = confidence < threshold
    return {"numbers": len(numbers), "exact_best_guess": float(exact.mean()),
            "shown_without_mark": float((~marked).mean()),
            "exact_without_mark": float(exact[~marked].mean()) if (~marked).any() else None,
            "exact_with_mark": float(exact[marked].mean()) if marked.any() else None,
            "wrong_numbers_marked": float(marked[~exact].mean()) if (~exact).any() else None,
            "digits_marked": int(under.sum()), "marked_digits_right": float(right[under].mean()) if under.any() else None,
            "unmarked_digits_right": float(right[~under].mean()) if (~under).any() else None}


def question_mark_policy(numbers, readings, threshold: float) -> float:
    """The earlier page: an unsure digit shown as "?", which never equals the written number."""
    return float(np.mean([all(conf >= threshold for _, conf, _ in digits)
                          and "".join(label for label, _, _ in digits) == number.text
                          for digits, number in zip(readings, numbers)]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 + 100 numbers per set; writes no doubt.json")
    parser.add_argument("--out", default=default_out("number_doubt"), help="JSON report (default: %(default)s)")
    args = parser.parse_args(argv)
    from lenet.data import load_mnist
    from reader.model import DigitModel
    from reader.runs import SHIPPED_MODEL
    from tests import written_numbers as written

    hard, pairs = (300, 100) if args.quick else (1500, 500)
    (x_train, y_train), (x_test, y_test) = load_mnist()
    model = DigitModel(SHIPPED_MODEL, "cpu", threads=1)
    started = time.perf_counter()
    validation = (written.hard_numbers(x_train, y_train, hard, seed=31, pool=VALIDATION)
                  + written.touching_pairs(x_train, y_train, pairs, seed=32, pool=VALIDATION))
    test = (written.hard_numbers(x_test, y_test, hard * 2 // 3, seed=12)
            + written.touching_pairs(x_test, y_test, pairs, seed=13))
    print(f"reading {len(validation)} validation and {len(test)} test numbers ...", flush=True)
    validation_readings, test_readings = read_all(model, validation), read_all(model, test)

    confidence, right = digit_outcomes(validation, validation_readings)
    own = model.contract.uncertain_below
    threshold, ruled = choose(confidence, right, own)
    results = {name: {"doubt_threshold": scores(numbers, readings, threshold),
                      "model_threshold": scores(numbers, readings, own),
                      "question_mark_policy_exact": question_mark_policy(numbers, readings, own)}
               for name, numbers, readings in (("validation", validation, validation_readings),
                                               ("test", test, test_readings))}
    rows = []
    for name in ("validation", "test"):
        for label, key in ((f"mark under {threshold:.2f} (chosen)", "doubt_threshold"),
                           (f"mark under {own:.2f} (model's own)", "model_threshold")):
            r = results[name][key]
            rows.append([name, label, r["exact_best_guess"], r["shown_without_mark"], r["exact_without_mark"],
                         r["exact_with_mark"], r["wrong_numbers_marked"], r["marked_digits_right"]])
        rows.append([name, f'"?" in place of the digit (before)', results[name]["question_mark_policy_exact"],
                     "", "", "", "", ""])
    print_table(["numbers", "policy", "exact (best guess)", "shown unmarked", "exact unmarked", "exact marked",
                 "wrong numbers marked", "marked digits right"], rows,
                title=f"The doubt mark, chosen on validation numbers ({'by the rule' if ruled else 'fallback'}: "
                      f"{threshold:.2f})")
    fitted = {"doubtful_below": threshold, "rule": __doc__.split("RULE: ", 1)[1].split("\n\n")[0].replace("\n  ", " "),
              "chosen_on": f"{len(validation)} numbers written with MNIST train digits 0–4,999 (held out of "
                           "training by the shipped recipes), seeds 31 and 32",
              "model": str(SHIPPED_MODEL.relative_to(ROOT)),
              "validation": results["validation"]["doubt_threshold"], "command": "python benchmarks/fit_number_doubt.py"}
    if not args.quick:
        DOUBT_FILE.write_text(json.dumps(fitted, indent=2) + "\n")
        print(f"wrote {DOUBT_FILE.relative_to(ROOT)}")
    write_json(args.out, {"benchmark": "number_doubt", "quick": args.quick, "machine": machine_info(),
                          "threshold": threshold, "by_rule": ruled, "model_threshold": own, "results": results,
                          "seconds": time.perf_counter() - started})
    return 0


if __name__ == "__main__":
    sys.exit(main())
