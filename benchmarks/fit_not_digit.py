"""Fit the not-digit check (reader/not_digit.py) and save it as reader/not_digit.json.

Digits: real MNIST *training* digits 0–7,999 as 28×28 pictures, digits 20,000–24,999 drawn on the
400×400 canvas (opaque, thin, paper: `tests.non_digits.canvas_digit`) and printed digits in the
tuning fonts. Non-digits: taps, doodles, marks, letters (tuning fonts) and pairs of MNIST training
digits from `tests.non_digits` with the TUNING seed (the measurement, benchmarks/not_digit.py, uses
the EVALUATION seed, other fonts and MNIST's *test* digits). Parts of digits are not fitted on: a
slice of a 4 or a 7 is often a 1, so they would teach it to refuse real 1s; they are measured.

The threshold is set on MNIST training digits 50,000–54,999 and a quarter of the drawn digits
(neither fitted on; of the drawn, those LeNet reads surely: refusing a digit it doubts, often a
broken one, loses nothing) so that at most `--reject` (default 0.15%) and `--reject-drawn` (1%)
are refused. A scikit-learn MLPClassifier (one ReLU layer) is fitted on standardised features
(`reader.not_digit.features`), and its weights are written as JSON.

    python benchmarks/fit_not_digit.py            # ~12 min on 2 busy cores (--cached: refit in a minute)
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import FP32_MODEL  # noqa: E402
from reader import not_digit  # noqa: E402
from reader.model import DigitModel  # noqa: E402
from reader.pipeline import digit_parts  # noqa: E402
from tests import non_digits  # noqa: E402

FITTED_KINDS = {"taps": 400, "doodles": 1200, "marks": 800, "letters": 400, "pairs": 400}  # how many of each
CACHE = Path("/tmp/not_digit_features.npz")
SURE = 0.9                    # the served model's "not sure" threshold (its metadata's uncertain_below)
NATIVE = 8_000                # MNIST training digits 0–7,999 as 28×28 pictures; the drawn digits follow


def features_of(model: DigitModel, pictures) -> np.ndarray:
    """`reader.not_digit.features` of each picture, as the reading computes them (rows of NaN for
    pictures with no ink)."""
    width = len(not_digit.GEOMETRY) + len(not_digit.MODEL) + (28 // not_digit.POOL) ** 2
    rows = np.full((len(pictures), width), np.nan, np.float32)
    for index, picture in enumerate(pictures):
        parts = digit_parts(model, picture)
        if parts is not None:
            rows[index] = not_digit.features(*parts)
    return rows


def tuning_data(model: DigitModel, scale: float, canvas_digits: int):
    from lenet.data import load_mnist
    (images, labels), _ = load_mnist()
    rng = np.random.default_rng(non_digits.TUNING.seed + 1)
    files = non_digits.fonts(non_digits.TUNING)
    negatives = [made for kind, count in FITTED_KINDS.items() for made in
                 non_digits.non_digits(non_digits.TUNING, round(count * scale), images[:50_000], labels[:50_000], (kind,))]
    drawn = [non_digits.canvas_digit(images[20_000 + i], rng, non_digits.DIGIT_STYLES[i % 3])
             for i in range(canvas_digits)]
    printed = [non_digits.font_digit(i % 10, rng, files) for i in range(canvas_digits // 5)]
    started = time.perf_counter()
    x_digits = np.vstack([features_of(model, list(images[:NATIVE])), features_of(model, drawn + printed)])
    x_not = features_of(model, [picture for _, picture in negatives])
    x_check = features_of(model, list(images[50_000:55_000]))
    print(f"features of {len(x_digits) + len(x_not) + len(x_check)} pictures in {time.perf_counter() - started:.0f} s")
    return x_digits, x_not, x_check, np.array([kind for kind, _ in negatives])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="times FITTED_KINDS' numbers of non-digits")
    parser.add_argument("--canvas-digits", type=int, default=1000, help="MNIST digits drawn on the canvas")
    parser.add_argument("--hidden", type=int, default=32, help="ReLU units (0: logistic regression)")
    parser.add_argument("--alpha", type=float, default=0.1, help="the MLP's L2 penalty")
    parser.add_argument("--reject", type=float, default=0.0015, help="share of held-out MNIST digits refused")
    parser.add_argument("--reject-drawn", type=float, default=0.01,
                        help="share of held-out drawn digits read surely that may be refused")
    parser.add_argument("--cached", action="store_true", help=f"reuse the features saved in {CACHE}")
    parser.add_argument("--out", type=Path, default=not_digit.WEIGHTS_FILE)
    args = parser.parse_args(argv)
    from sklearn.neural_network import MLPClassifier
    from sklearn.linear_model import LogisticRegression

    if args.cached and CACHE.is_file():
        saved = np.load(CACHE)
        x_digits, x_not, x_check, kinds = (saved[k] for k in ("digits", "not", "check", "kinds"))
    else:
        x_digits, x_not, x_check, kinds = tuning_data(DigitModel(FP32_MODEL, "cpu"), args.scale, args.canvas_digits)
        np.savez(CACHE, digits=x_digits, **{"not": x_not}, check=x_check, kinds=kinds)
    keep = ~np.isnan(x_not).any(1)
    x_not, kinds = x_not[keep], kinds[keep]
    native, drawn = x_digits[:NATIVE], x_digits[NATIVE:]          # 28×28 MNIST; drawn on the canvas and printed
    native, drawn = native[~np.isnan(native).any(1)], drawn[~np.isnan(drawn).any(1)]
    drawn_check, drawn = drawn[::4], np.delete(drawn, np.s_[::4], axis=0)   # a quarter kept for the threshold
    x_digits = np.vstack([native, drawn])
    x = np.vstack([x_digits, x_not])
    mean, scale = x.mean(0), x.std(0) + 1e-6
    standard = (x - mean) / scale
    # The non-digits are all canvas pictures: drawn digits are repeated to weigh as much as they do,
    # so that the check learns digit shapes, not "drawn on a canvas" (MLPClassifier takes no weights)
    drawn_repeat = max(1, round(len(x_not) / len(drawn)))
    not_repeat = max(1, round((len(native) + drawn_repeat * len(drawn)) / len(x_not)))
    rows = [standard[:len(native)]] + [standard[len(native):len(x_digits)]] * drawn_repeat
    rows += [standard[len(x_digits):]] * not_repeat
    y = np.r_[np.ones(len(native) + drawn_repeat * len(drawn)), np.zeros(not_repeat * len(x_not))]
    started = time.perf_counter()
    if args.hidden:
        fitted = MLPClassifier((args.hidden,), alpha=args.alpha, max_iter=300, early_stopping=False, random_state=0)
        fitted.fit(np.vstack(rows), y)
        layers = [{"weights": np.round(w, 5).tolist(), "bias": np.round(b, 5).tolist()}
                  for w, b in zip(fitted.coefs_, fitted.intercepts_)]
    else:
        fitted = LogisticRegression(C=0.1, max_iter=2000).fit(np.vstack(rows), y)
        layers = [{"weights": np.round(fitted.coef_.T, 5).tolist(), "bias": np.round(fitted.intercept_, 5).tolist()}]
    print(f"fitted in {time.perf_counter() - started:.0f} s")
    saved = {"geometry": list(not_digit.GEOMETRY), "model": list(not_digit.MODEL), "pool": not_digit.POOL,
             "mean": mean.tolist(), "scale": scale.tolist(), "layers": layers, "threshold": 0.0}
    args.out.write_text(json.dumps(saved))
    check = not_digit.NotDigitCheck(args.out)
    held_out = check.log_odds(x_check[~np.isnan(x_check).any(1)])
    sure = drawn_check[:, len(not_digit.GEOMETRY)] >= SURE     # refusing a digit LeNet doubts loses nothing
    held_out_drawn = check.log_odds(drawn_check[sure])
    saved["threshold"] = float(min(0.0, np.quantile(held_out, args.reject), np.quantile(held_out_drawn, args.reject_drawn)))
    saved["fitted_on"] = {"digits": int(len(x_digits)), "non_digits": {k: int((kinds == k).sum()) for k in FITTED_KINDS},
                          "threshold_from": f"{len(held_out)} MNIST training digits 50,000-54,999 and {int(sure.sum())} drawn "
                                            f"digits not fitted on that LeNet reads surely, at most {args.reject:.2%} and "
                                            f"{args.reject_drawn:.2%} refused",
                          "hidden": args.hidden, "alpha": args.alpha}
    args.out.write_text(json.dumps(saved, separators=(",", ":"),
                                   default=float).replace("],[", "],\n["))
    check = not_digit.NotDigitCheck(args.out)
    print(f"threshold {check.threshold:.3f}; tuning set refused: digits "
          f"{(check.log_odds(x_digits) < check.threshold).mean():.2%}, held-out MNIST "
          f"{(held_out < check.threshold).mean():.2%}, held-out drawn {(held_out_drawn < check.threshold).mean():.2%}")
    odds_not = check.log_odds(x_not)
    for kind in FITTED_KINDS:
        print(f"  {kind:8} refused {(odds_not[kinds == kind] < check.threshold).mean():.1%}")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1000:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
