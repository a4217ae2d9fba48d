"""Training speed, side by side in one run: the tutorial's recipe ('seed') against ours ('fast').

For each recipe: samples/s and seconds per epoch, and the training wall time until the test
accuracy first reaches 98% and 99% — test accuracy is measured on all 10,000 real MNIST test
images every --eval-every steps, with the clock paused while it is measured. The seed recipe
stops once it has reached 98% (or after its 20 epochs). Target: fast reaches 99.0% at least 10×
sooner than seed reaches 98%. Prints a table, writes JSON.

    python benchmarks/train_speed.py                 # ~5 minutes on the 2-core CPU (fast: a 2-epoch schedule)
    python benchmarks/train_speed.py --quick         # a smoke run on 6,000 images
"""

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from lenet import training  # noqa: E402
from lenet.data import load_mnist  # noqa: E402
from lenet.device import describe_device, make_deterministic, resolve_precision  # noqa: E402

TARGETS = (0.98, 0.99)


class TargetClock(keras.callbacks.Callback):
    """Training time (evaluation excluded) at which test accuracy first reaches each target."""

    def __init__(self, x_test, y_test, every: int, stop_at: float | None):
        super().__init__()
        self.x_test, self.y_test, self.every, self.stop_at = x_test, y_test, every, stop_at
        self.reached, self.curve, self.paused, self.steps = {}, [], 0.0, 0

    def training_seconds(self) -> float:
        return time.perf_counter() - self.start - self.paused

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.steps % self.every == 0:
            self.measure()

    def on_epoch_end(self, epoch, logs=None):
        self.measure()

    def measure(self):
        seconds = self.training_seconds()
        paused_at = time.perf_counter()
        accuracy = float(np.mean(self.model.predict(self.x_test, batch_size=2000, verbose=0).argmax(1) == self.y_test))
        self.curve.append({"step": self.steps, "train_seconds": round(seconds, 2), "test_accuracy": accuracy})
        for target in TARGETS:
            if accuracy >= target and target not in self.reached:
                self.reached[target] = {"train_seconds": round(seconds, 2), "step": self.steps}
        if self.stop_at is not None and accuracy >= self.stop_at:
            self.model.stop_training = True
        self.paused += time.perf_counter() - paused_at


def run_recipe(name: str, epochs: int, data_splits, limit, every: int, stop_at, seed: int) -> dict:
    recipe = training.RECIPES[name].with_overrides(epochs=epochs)
    make_deterministic(seed)
    data = training.prepare_data(*data_splits, recipe, limit, seed)
    precision = resolve_precision(recipe.precision)
    model = training.compile_lenet(recipe, data, precision, seed)
    clock = TargetClock(data.x_test, data.y_test, every, stop_at)
    clock.start = time.perf_counter()  # data set-up inside fit() counts as training time
    history = training.fit(model, data, recipe, verbose=0, callbacks=[clock])
    steps_per_epoch = training.steps_per_epoch(data, recipe)
    train_time = clock.training_seconds()
    samples = clock.steps * recipe.batch_size
    return {"recipe": recipe.__dict__, "precision": precision, "epochs_run": len(history), "steps": clock.steps,
            "train_images": len(data.x_train), "train_seconds": round(train_time, 2),
            "samples_per_second": round(samples / train_time, 1),
            "seconds_per_epoch": round(train_time / (clock.steps / steps_per_epoch), 2),
            "reached": {f"{t:.0%}": clock.reached.get(t) for t in TARGETS},
            "final_test_accuracy": clock.curve[-1]["test_accuracy"], "curve": clock.curve}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--fast-epochs", type=int, default=2, help="length of the fast recipe's one-cycle schedule")
    parser.add_argument("--seed-epochs", type=int, default=20, help="most epochs for the seed recipe")
    parser.add_argument("--eval-every", type=int, default=50, help="steps between test-accuracy measurements")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="6,000 training images, 2 seed epochs: a smoke run")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "train_speed.json")
    args = parser.parse_args(argv)
    limit = 6000 if args.quick else None
    seed_epochs = 2 if args.quick else args.seed_epochs

    splits = load_mnist()
    results = {"fast": run_recipe("fast", args.fast_epochs, splits, limit, args.eval_every, None, args.seed),
               "seed": run_recipe("seed", seed_epochs, splits, limit, args.eval_every, 0.98, args.seed)}
    fast99 = (results["fast"]["reached"]["99%"] or {}).get("train_seconds")
    seed98 = (results["seed"]["reached"]["98%"] or {}).get("train_seconds")
    speedup = round(seed98 / fast99, 2) if fast99 and seed98 else None

    print(f"{'recipe':8} {'samples/s':>10} {'s/epoch':>8} {'to 98%':>9} {'to 99%':>9} {'final acc':>10}")
    for name, r in results.items():
        cells = [f"{r['reached'][t]['train_seconds']:.1f} s" if r["reached"][t] else "—" for t in ("98%", "99%")]
        print(f"{name:8} {r['samples_per_second']:>10.0f} {r['seconds_per_epoch']:>8.1f} {cells[0]:>9} {cells[1]:>9} "
              f"{r['final_test_accuracy']:>10.2%}")
    print(f"speed-up (seed to 98%) / (fast to 99%): {speedup}×  (target ≥ 10×)")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "benchmark": "train_speed", "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "device": describe_device()},
        "quick": args.quick, "speedup_fast99_vs_seed98": speedup, "target_speedup": 10, "results": results},
        indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
