"""Training speed, side by side in one run: the project's recipes ('fast', 'seed', 'robust') and two
peers run as their authors wrote them (keras-io mnist_convnet; PyTorch examples/mnist when torch is
installed, else a printed note) — see benchmarks/peers.py.

For each row: samples/s, seconds per epoch, and the training time until the test accuracy first
reaches 98% and 99%. Test accuracy is measured on all 10,000 real MNIST test images with the clock
paused: after every epoch for every row (one protocol for all), and for the project's recipes also
every --eval-every steps (finer, so their "to 99%" can fall inside an epoch). 'seed' stops once it
reaches 98%, 'robust' and the peers once they reach 99%; 'fast' runs its whole --fast-epochs
schedule. Target: fast reaches 99.0% at least 10× sooner than seed reaches 98%. Prints a table,
writes JSON. `--rows` picks rows, so a long series can be split into several runs (each with fast,
for the ratios).

    python benchmarks/train_speed.py                     # every row
    python benchmarks/train_speed.py --rows fast,seed    # the speed-up target only
    python benchmarks/train_speed.py --quick             # a smoke run on 6,000 images
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks import peers  # noqa: E402
from benchmarks.common import cpu_model  # noqa: E402
from lenet import training  # noqa: E402
from lenet.data import load_mnist  # noqa: E402
from lenet.device import describe_device, make_deterministic, resolve_precision, use_compilation_cache  # noqa: E402

TARGETS = (0.98, 0.99)
ROWS = ("fast", "seed", "robust", "keras-io", "torch")
STOP_AT = {"fast": None, "seed": 0.98, "robust": 0.99, "keras-io": 0.99, "torch": 0.99}


class TargetClock(keras.callbacks.Callback):
    """Training time (evaluation excluded) at which test accuracy first reaches each target."""

    def __init__(self, x_test, y_test, every: int, stop_at: float | None):
        super().__init__()
        self.x_test, self.y_test, self.every, self.stop_at = x_test, y_test, every, stop_at
        self.reached, self.curve, self.paused, self.steps, self.epoch = {}, [], 0.0, 0, None

    def training_seconds(self) -> float:
        return time.perf_counter() - self.start - self.paused

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.steps % self.every == 0:
            self.measure()

    def on_epoch_end(self, epoch, logs=None):
        self.measure(epoch + 1)

    def measure(self, epoch: int | None = None):
        seconds = self.training_seconds()
        paused_at = time.perf_counter()
        accuracy = float(np.mean(training.predict_in_batches(self.model, self.x_test).argmax(1) == self.y_test))
        self.curve.append({"step": self.steps, "epoch": epoch, "train_seconds": round(seconds, 2),
                           "test_accuracy": accuracy})
        for target in TARGETS:
            if accuracy >= target and target not in self.reached:
                self.reached[target] = {"train_seconds": round(seconds, 2), "step": self.steps}
        if self.stop_at is not None and accuracy >= self.stop_at:
            self.model.stop_training = True
        self.paused += time.perf_counter() - paused_at


def run_recipe(name: str, epochs: int | None, data_splits, limit, every: int, stop_at, seed: int) -> dict:
    recipe = training.RECIPES[name].with_overrides(epochs=epochs)
    make_deterministic(seed)
    data = training.prepare_data(*data_splits, recipe, limit, seed)
    precision = resolve_precision(recipe.precision)
    model = training.compile_lenet(recipe, data, precision, seed)
    clock = TargetClock(data.x_test, data.y_test, every, stop_at)
    clock.start = time.perf_counter()  # data set-up inside fit() counts as training time
    history = training.fit(model, data, recipe, verbose=0, callbacks=[clock], seed=seed)
    steps_per_epoch = training.steps_per_epoch(data, recipe)
    train_time = clock.training_seconds()
    samples = clock.steps * recipe.batch_size
    per_epoch = peers.epoch_record(name, [point for point in clock.curve if point["epoch"]], len(data.x_train),
                                   stop_at)
    return {"name": name, "recipe": recipe.__dict__, "precision": precision, "evaluation":
            f"every {every} steps and after every epoch", "epochs_run": len(history), "steps": clock.steps,
            "train_images": len(data.x_train), "train_seconds": round(train_time, 2),
            "samples_per_second": round(samples / train_time, 1),
            "seconds_per_epoch": round(train_time / (clock.steps / steps_per_epoch), 2),
            "reached": {f"{t:.0%}": clock.reached.get(t) for t in TARGETS},
            "reached_after_an_epoch": per_epoch["reached"],
            "final_test_accuracy": clock.curve[-1]["test_accuracy"], "curve": clock.curve}


def cell(result: dict, key: str, target: str) -> str:
    point = (result.get(key) or {}).get(target)
    if not point:
        return "—"
    return f"{point['train_seconds']:.1f} s" + (f" (ep {point['epoch']})" if point.get("epoch") else "")


def print_table(results: dict) -> None:
    print(f"\n{'row':24} {'samples/s':>9} {'s/epoch':>8} {'epochs':>6} {'98%, per epoch':>16} {'99%, per epoch':>16} "
          f"{'99%, every N steps':>18} {'final acc':>9}")
    for name, r in results.items():
        per_epoch = "reached_after_an_epoch" if "reached_after_an_epoch" in r else "reached"
        fine = cell(r, "reached", "99%") if per_epoch != "reached" else ""
        print(f"{r.get('name', name):24} {r['samples_per_second'] or 0:>9.0f} {r['seconds_per_epoch']:>8.1f} "
              f"{r['epochs_run']:>6} {cell(r, per_epoch, '98%'):>16} {cell(r, per_epoch, '99%'):>16} {fine:>18} "
              f"{r['final_test_accuracy']:>9.2%}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated rows out of {', '.join(ROWS)}")
    parser.add_argument("--fast-epochs", type=int, default=2, help="length of the fast recipe's one-cycle schedule")
    parser.add_argument("--seed-epochs", type=int, default=20, help="most epochs for the seed recipe")
    parser.add_argument("--eval-every", type=int, default=50, help="steps between test-accuracy measurements")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="6,000 training images, 2 epochs per row: a smoke run")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "train_speed.json")
    parser.add_argument("--no-compilation-cache", action="store_true",
                        help="on JAX, compile every step afresh (a first run) instead of loading the steps "
                             "`python -m lenet.train` and earlier runs compiled")
    args = parser.parse_args(argv)
    args.compilation_cache = "off" if args.no_compilation_cache else use_compilation_cache()
    rows = [row.strip() for row in args.rows.split(",") if row.strip()]
    unknown = sorted(set(rows) - set(ROWS))
    if unknown:
        parser.error(f"unknown rows {', '.join(unknown)}; choose from {', '.join(ROWS)}")
    limit = 6000 if args.quick else None
    epochs = {"fast": args.fast_epochs, "seed": 2 if args.quick else args.seed_epochs, "robust": 2 if args.quick else None}

    splits = load_mnist()
    if limit:
        splits = tuple((x[:limit], y[:limit]) for x, y in splits)
    results, notes = {}, []
    for row in rows:
        print(f"running {row} ...", flush=True)
        if row in ("fast", "seed", "robust"):
            results[row] = run_recipe(row, epochs[row], splits, limit, args.eval_every, STOP_AT[row], args.seed)
        elif row == "keras-io":
            results[row] = peers.keras_io_convnet(splits, args.seed, STOP_AT[row], epochs=2 if args.quick else 15)
        else:
            torch_result, note = run_torch_peer(args.seed, STOP_AT[row], epochs=2 if args.quick else 14, limit=limit)
            if torch_result is None:
                notes.append(note)
                print(note)
            else:
                results[row] = torch_result
        write_results(args, rows, notes, results)  # after every row: a row that crashes loses no other

    fast99 = (results.get("fast", {}).get("reached", {}).get("99%") or {}).get("train_seconds")
    seed98 = (results.get("seed", {}).get("reached", {}).get("98%") or {}).get("train_seconds")
    speedup = round(seed98 / fast99, 2) if fast99 and seed98 else None
    print_table(results)
    print("per epoch: test accuracy measured after every epoch (every row); every N steps: also every "
          f"{args.eval_every} steps (the project's recipes). Clock paused while measuring.")
    if speedup:
        print(f"speed-up (seed to 98%) / (fast to 99%), every-{args.eval_every}-steps protocol: {speedup}×  (target ≥ 10×)")
    for note in notes:
        print(note)

    write_results(args, rows, notes, results, speedup)
    print(f"wrote {args.out}")
    return 0


def run_torch_peer(seed: int, stop_at: float, epochs: int, limit: int | None) -> tuple[dict | None, str]:
    """The PyTorch row in a process of its own (benchmarks/peers.py explains why): (its record, "")
    or (None, a note saying why there is none)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "torch.json"
        command = [sys.executable, "-m", "benchmarks.peers", "torch", "--out", str(out), "--seed", str(seed),
                   "--stop-at", str(stop_at), "--epochs", str(epochs)] + (["--limit", str(limit)] if limit else [])
        status = subprocess.run(command, cwd=ROOT).returncode
        if status == 0 and out.is_file():
            return json.loads(out.read_text()), ""
    if status == 3:
        return None, "PyTorch examples/mnist skipped: torch is not installed (pip install torch to add the row)"
    return None, f"PyTorch examples/mnist failed: its process exited with status {status}"


def write_results(args, rows: list[str], notes: list[str], results: dict, speedup: float | None = None) -> None:
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "benchmark": "train_speed", "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "device": describe_device(),
                    "cpu_model": cpu_model(), "load_average_1_5_15_min": [round(x, 2) for x in os.getloadavg()]},
        "compilation_cache": args.compilation_cache,
        "quick": args.quick, "rows": rows, "notes": notes, "speedup_fast99_vs_seed98": speedup, "target_speedup": 10,
        "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
