"""Epoch boundaries, timed: the step that used to stall training with the CPU idle (issue 16).

Runs the fast recipe twice, side by side in one process: the project's input stream
(`lenet.training.fit`: one endless `EpochBatches` stream per fit, validation by `HeldOutMetrics`)
and the path it replaced (Keras `fit` on NumPy arrays with `validation_data`, which frees and
rebuilds a tf.data iterator at every epoch boundary and in every validation). For each epoch it
times the boundary — from the end of the epoch's last training step to the start of the next
epoch's first step, validation included — and the process CPU time spent in it, so an idle stall
shows as wall time without CPU time. Prints a table, writes JSON.

    python benchmarks/epoch_boundaries.py                   # 8 epochs of 100 steps per path
    python benchmarks/epoch_boundaries.py --epochs 3 --quick
"""

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.common import machine_info  # noqa: E402
from lenet import training  # noqa: E402
from lenet.data import load_mnist  # noqa: E402
from lenet.device import make_deterministic, resolve_precision  # noqa: E402

IDLE = 0.25  # a boundary whose CPU time is under this share of its wall time was mostly idle


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class BoundaryClock(keras.callbacks.Callback):
    """Wall and CPU seconds from each epoch's last training step to the next epoch's first."""

    def __init__(self):
        super().__init__()
        self.boundaries, self.last_step_end = [], None

    def on_train_batch_end(self, batch, logs=None):
        self.last_step_end = (time.perf_counter(), cpu_seconds())

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0 and self.last_step_end is not None:
            self.close()

    def on_train_end(self, logs=None):
        self.close()

    def close(self):
        (wall, cpu), now = self.last_step_end, (time.perf_counter(), cpu_seconds())
        self.boundaries.append({"wall_seconds": round(now[0] - wall, 3), "cpu_seconds": round(now[1] - cpu, 3)})
        self.last_step_end = None


def run(path: str, recipe, data, seed: int) -> dict:
    make_deterministic(seed)
    model = training.compile_lenet(recipe, data, resolve_precision(recipe.precision), seed)
    clock, started = BoundaryClock(), time.perf_counter()
    if path == "project":
        training.fit(model, data, recipe, verbose=0, callbacks=[clock], seed=seed)
    else:  # what lenet.training.fit did before issue 16
        model.fit(data.x_train, data.y_train, batch_size=recipe.batch_size, epochs=recipe.epochs, shuffle=True,
                  validation_data=(data.x_val, data.y_val), verbose=0, callbacks=[clock])
    walls = np.array([b["wall_seconds"] for b in clock.boundaries])
    idle = [b for b in clock.boundaries if b["cpu_seconds"] < IDLE * b["wall_seconds"]]
    return {"path": path, "fit_seconds": round(time.perf_counter() - started, 1), "boundaries": clock.boundaries,
            "median_boundary_seconds": float(np.median(walls)), "max_boundary_seconds": float(walls.max()),
            "idle_boundaries": len(idle), "idle_seconds": round(sum(b["wall_seconds"] for b in idle), 2)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=100, help="training steps per epoch (batch 128)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="20 steps per epoch: a check that the script works")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "epoch_boundaries.json")
    args = parser.parse_args(argv)
    steps = 20 if args.quick else args.steps
    recipe = training.RECIPES["fast"].with_overrides(epochs=args.epochs)
    data = training.prepare_data(*load_mnist(), recipe, steps * recipe.batch_size + training.VALIDATION_SIZE,
                                 args.seed)
    results = [run(path, recipe, data, args.seed) for path in ("project", "keras-arrays")]
    print(f"\n{args.epochs} epochs of {steps} steps, {len(data.x_val)} validation images; boundary = last step of an "
          "epoch → first step of the next (validation included)")
    print(f"{'path':14} {'fit s':>7} {'median boundary s':>18} {'max boundary s':>15} {'idle boundaries':>16} {'idle s':>7}")
    for r in results:
        print(f"{r['path']:14} {r['fit_seconds']:>7.1f} {r['median_boundary_seconds']:>18.2f} "
              f"{r['max_boundary_seconds']:>15.2f} {r['idle_boundaries']:>16} {r['idle_seconds']:>7.1f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"benchmark": "epoch_boundaries", "machine": machine_info(), "epochs": args.epochs,
                                    "steps_per_epoch": steps, "idle_rule": f"CPU time < {IDLE:.0%} of wall time",
                                    "results": results}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
