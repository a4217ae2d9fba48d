"""`python -m lenet.train`: train LeNet on real MNIST and write a run folder.

The run folder holds model.keras (weights, no optimizer state), history.json, report.txt,
report.json, confusion.json, misclassified.json, curves.png, run.json (with the "not sure"
threshold chosen on the validation images) and card.json (lenet.card). It is written into a
hidden staging folder beside the target (`.NAME.partial-PID-…`) and renamed into place only when
complete, so an interrupted or failed run leaves nothing half-written; staging folders left by a
killed run (its process is gone) are removed by the next run. Writing into artifacts/ (the shipped
runs the demo serves) needs `--ship`.
"""

import argparse
import os
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from lenet.recipes import DEFAULT_RECIPE, RECIPES

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
RUNS = ROOT / "runs"
RUN_FILES = ("model.keras", "history.json", "report.txt", "report.json", "confusion.json", "confusion.png",
             "misclassified.json", "misclassified.npz", "curves.png", "run.json", "card.json")


INTERRUPTED = "\ninterrupted: nothing was written"


class UserError(Exception):
    """A problem the user can fix; printed as one line, no traceback."""


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def recipe_values(field: str) -> str:
    return ", ".join(f"{name} {getattr(recipe, field)}" for name, recipe in RECIPES.items()) + ")"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m lenet.train", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Train LeNet on real MNIST and write a run folder (model, history, reports, curves).")
    parser.add_argument("--recipe", choices=list(RECIPES), default=DEFAULT_RECIPE,
                        help="training recipe ('fast': quickest to 99%%; 'robust': the shipped model, trained on "
                             "writer-like distortions; 'seed': the tutorial); lenet/recipes.py describes each")
    parser.add_argument("--epochs", type=positive_int, help="epochs (default: the recipe's: " + recipe_values("epochs"))
    parser.add_argument("--batch-size", type=positive_int,
                        help="batch size (default: the recipe's: " + recipe_values("batch_size"))
    parser.add_argument("--learning-rate", type=positive_float,
                        help="learning rate; the peak rate for one-cycle (default: the recipe's: "
                             + recipe_values("learning_rate"))
    parser.add_argument("--seed", type=int, default=1, help="random seed (data order, initial weights, shifts)")
    parser.add_argument("--output", type=Path, help="run folder to write (default: runs/<recipe> in the repository)")
    parser.add_argument("--limit", type=positive_int, help="train on only this many training images (smoke runs)")
    parser.add_argument("--data-dir", help="MNIST cache folder (default: $LENET_DATA_DIR or ~/.cache/lenet/mnist)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch progress bars")
    parser.add_argument("--ship", action="store_true",
                        help="allow writing into artifacts/ (the shipped runs the demo and a Space serve)")
    args = parser.parse_args(argv)
    args.output = args.output or RUNS / args.recipe
    args.command = shlex.join(["python", "-m", "lenet.train", *(sys.argv[1:] if argv is None else argv)])
    return args


def inside_artifacts(path: Path) -> bool:
    return path.resolve().is_relative_to(ARTIFACTS.resolve())


def staging_prefix(output: Path) -> str:
    return f".{output.name}.partial-{os.getpid()}-"


def remove_stale_staging(parent: Path) -> list[Path]:
    """Delete hidden `.NAME.partial-PID-…` / `.NAME.old-PID` folders whose process is gone (a run
    killed with SIGKILL or a power cut); those of a run still going are left alone."""
    removed = []
    for folder in parent.glob(".*.partial-*") if parent.is_dir() else []:
        if folder.is_dir() and not process_alive(owner_pid(folder.name, ".partial-")):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    for folder in parent.glob(".*.old-*") if parent.is_dir() else []:
        if folder.is_dir() and not process_alive(owner_pid(folder.name, ".old-")):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def owner_pid(name: str, marker: str) -> int | None:
    pid = name.rsplit(marker, 1)[-1].split("-", 1)[0]
    return int(pid) if pid.isdigit() else None  # staging folders of older versions carry no PID


def process_alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def check_output(output: Path, overwrite: bool, ship: bool = False) -> None:
    """Fail early (before minutes of training) if the run folder can't be written."""
    if inside_artifacts(output) and not ship:
        raise UserError(f"{output} is inside artifacts/, the shipped runs the demo serves; pass --ship to "
                        "replace them on purpose, or --output runs/NAME")
    if output.exists() and not overwrite:
        raise UserError(f"{output} already exists; pass --overwrite to replace it or --output to choose another")
    if output.exists() and not output.is_dir():
        raise UserError(f"{output} exists and is not a folder")
    parent = output.parent.resolve()
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryDirectory(dir=parent).cleanup()
    except OSError as error:
        raise UserError(f"cannot write into {parent}: {error.strerror or error}") from None


def float32_copy(model):
    """An uncompiled float32 copy with the same weights: no optimizer state (≈5 MB saved, not 15) and
    no mixed-precision policy, so what is saved, evaluated and exported is the same model."""
    from lenet.model import build_lenet
    clean = build_lenet()
    clean.set_weights(model.get_weights())
    return clean


def train_into(folder: Path, args, started: float) -> dict:
    """Train and write every run file into `folder`; return run.json's content. `started`: when the
    command started (perf_counter), for the run's wall time."""
    from lenet.data import load_mnist
    train_split, test_split = load_mnist(args.data_dir)

    import keras
    import numpy as np

    from lenet import card, report, training, uncertainty
    from lenet.device import (describe_device, gpu_not_used_reason, make_deterministic, resolve_precision,
                              use_compilation_cache)
    from lenet.model import describe

    compilation_cache = use_compilation_cache()  # JAX: a later run loads the compiled step (before any compile)
    recipe = training.RECIPES[args.recipe].with_overrides(
        epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate)
    make_deterministic(args.seed)
    data = training.prepare_data(train_split, test_split, recipe, args.limit, args.seed)
    device, precision = describe_device(), resolve_precision(recipe.precision)
    print(f"training LeNet, recipe '{recipe.name}', on {device} in {precision}: {len(data.x_train)} training "
          f"images, {len(data.x_val)} validation images ({recipe.validation}), {recipe.epochs} epochs", flush=True)
    if gpu_not_used_reason(device):
        print(f"note: {gpu_not_used_reason(device)}", flush=True)

    model = training.compile_lenet(recipe, data, precision, args.seed)
    fit_started = time.perf_counter()
    history = training.fit(model, data, recipe, verbose=0 if args.quiet else 1, seed=args.seed)
    train_seconds = time.perf_counter() - fit_started

    model = float32_copy(training.lenet_of(model))  # what is saved, exported and served: evaluate that
    probabilities = model.predict(data.x_test, batch_size=1024, verbose=0)
    if recipe.validation == "holdout":  # the "not sure" threshold: chosen on held-out images, never the test set
        threshold = uncertainty.choose_threshold(model.predict(data.x_val, batch_size=1024, verbose=0),
                                                 data.y_val.argmax(1), probabilities, data.y_test)
    else:
        threshold = None  # validation is the test set (the tutorial): no honest place to choose one
    true_class_probability = probabilities[np.arange(len(data.y_test)), data.y_test]
    test_loss = float(-np.log(np.clip(true_class_probability, 1e-7, 1.0)).mean())
    summary = report.write_evaluation(folder, data.y_test, probabilities)
    report.write_json(folder / "history.json", history)
    report.plot_curves(history, folder / "curves.png", f"LeNet on MNIST, recipe '{recipe.name}'")
    report.plot_confusion(folder, f"Confusion matrix, recipe '{recipe.name}' (test set)")
    report.write_misclassified_gallery(folder, test_split[0])
    model.save(folder / "model.keras")

    run = {
        "recipe": recipe.__dict__, "seed": args.seed, "limit": args.limit, "command": args.command,
        "architecture": describe(model),
        "train_images": len(data.x_train), "validation_images": len(data.x_val), "test_images": len(data.y_test),
        "parameters": int(model.count_params()), "device": device, "precision": precision,
        "keras_backend": keras.backend.backend(),
        **({"compilation_cache": compilation_cache} if compilation_cache else {}),
        "versions": report.package_versions("keras", "tensorflow", "jax", "numpy", "scikit-learn"),
        "train_seconds": round(train_seconds, 1),
        "test_accuracy": round(summary["test_accuracy"], 6), "test_loss": round(test_loss, 6),
        "test_misclassified": summary["misclassified"], "uncertainty": threshold,
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_seconds": round(time.perf_counter() - started, 1),
    }
    report.write_json(folder / "run.json", run)
    card.write_card(folder)
    return run


def publish(staging: Path, output: Path) -> None:
    """Move the complete staging folder into place, replacing an old run only now."""
    staging.chmod(0o755)
    if output.exists():
        old = output.with_name(f".{output.name}.old-{os.getpid()}")
        output.rename(old)
        staging.rename(output)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(output)


INTERRUPT_GRACE_SECONDS = 20  # an interrupted run that has not unwound by then is ended by force


@dataclass
class PendingRun:
    """What an interrupted run must clean up, shared with the watchdog (`end_if_stuck`)."""
    staging: Path | None = None   # the staging folder while it exists
    files: list[Path] = field(default_factory=list)  # temporary files staged beside their final names
    interrupted: bool = False     # Ctrl-C or kill arrived (the watchdog is running)
    finished: bool = False        # the run has unwound: the watchdog does nothing


@contextmanager
def interrupts_stop_cleanly(pending: PendingRun):
    """While training: Ctrl-C (SIGINT, unless the shell started this process ignoring it) and `kill`
    (SIGTERM) raise KeyboardInterrupt, so `main` removes the staging folder `pending.staging` (the
    exporter: its temporary files `pending.files`) and says so. Should the interrupted run not
    unwind within `INTERRUPT_GRACE_SECONDS` (a thread that Keras or TensorFlow feeds training from
    can hold it: seen once in CI), a watchdog removes them, says the same and ends the process. The previous handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(*_):
        if not pending.interrupted:
            pending.interrupted = True
            threading.Thread(target=end_if_stuck, args=(pending,), daemon=True).start()
        raise KeyboardInterrupt

    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, interrupt)
    if previous[signal.SIGINT] is signal.default_int_handler:
        signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        pending.finished = True
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def end_if_stuck(pending: PendingRun) -> None:
    time.sleep(INTERRUPT_GRACE_SECONDS)
    if pending.finished:
        return
    if pending.staging is not None:
        shutil.rmtree(pending.staging, ignore_errors=True)
    for staged in list(pending.files):
        staged.unlink(missing_ok=True)
    print(INTERRUPTED, file=sys.stderr, flush=True)
    os._exit(130)


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter
    started = time.perf_counter()
    args = parse_args(argv)
    pending = PendingRun()
    try:
        with interrupts_stop_cleanly(pending):
            check_output(args.output, args.overwrite, args.ship)
            for stale in remove_stale_staging(args.output.parent):
                print(f"removed {stale}, left by a run that was killed", file=sys.stderr)
            pending.staging = Path(tempfile.mkdtemp(dir=args.output.parent, prefix=staging_prefix(args.output)))
            run = train_into(pending.staging, args, started)
            publish(pending.staging, args.output)
            pending.staging = None
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # data errors and anything else: one line, the cause named
        from lenet.data import DataError
        if not isinstance(error, (DataError, OSError)):
            raise
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        if pending.staging is not None:
            shutil.rmtree(pending.staging, ignore_errors=True)
    print(f"test accuracy {run['test_accuracy']:.4%} ({run['test_misclassified']} of {run['test_images']} wrong), "
          f"{run['wall_seconds']:.0f} s; wrote {args.output}/")
    return 0


if __name__ == "__main__":
    code = main()
    if code == 130:  # interrupted: leave at once, not waiting on threads Keras or TensorFlow left running
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
