"""`python -m lenet.train`: a real short run on real MNIST, and the command's failure paths."""

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile

import h5py
import numpy as np
import pytest

from tests.helpers import ROOT, SMALL_RUN_ACCURACY_FLOOR, SMALL_RUN_ARGS
from lenet import train


def test_small_run_writes_every_artifact(small_run):
    for name in train.RUN_FILES:
        assert (small_run / name).is_file(), name
    assert not list(small_run.parent.glob(".*partial*"))
    history = json.loads((small_run / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"} <= set(history[0])
    run = json.loads((small_run / "run.json").read_text())
    assert run["recipe"]["name"] == "fast" and run["recipe"]["epochs"] == 2 and run["seed"] == 3
    assert run["train_images"] == 4500 and run["validation_images"] == 500 and run["test_images"] == 10000
    assert run["parameters"] == 1_256_080 and "keras" in run["versions"] and run["device"]
    report = json.loads((small_run / "report.json").read_text())
    assert abs(report["accuracy"] - run["test_accuracy"]) < 1e-6
    assert "precision" in (small_run / "report.txt").read_text()
    confusion = json.loads((small_run / "confusion.json").read_text())["matrix"]
    assert sum(map(sum, confusion)) == 10000
    wrong = json.loads((small_run / "misclassified.json").read_text())
    assert len(wrong) == run["test_misclassified"] == 10000 - sum(confusion[i][i] for i in range(10))
    assert (small_run / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_small_run_clears_the_accuracy_floor(small_run):
    run = json.loads((small_run / "run.json").read_text())
    assert run["test_accuracy"] >= SMALL_RUN_ACCURACY_FLOOR, run["test_accuracy"]


def test_saved_model_is_plain_float32_lenet_without_optimizer_state(small_run):
    import keras
    with zipfile.ZipFile(small_run / "model.keras") as archive:
        config = json.loads(archive.read("config.json"))
        with archive.open("model.weights.h5") as weights, h5py.File(io.BytesIO(weights.read())) as h5:
            groups = []
            h5.visit(groups.append)
    assert not [name for name in groups if "optimizer" in name.lower()]  # no Adam moments saved
    assert not config.get("compile_config")  # saved uncompiled: no optimizer to restore
    model = keras.saving.load_model(small_run / "model.keras")
    assert model.name == "lenet" and model.count_params() == 1_256_080 and getattr(model, "optimizer", None) is None
    assert {weight.dtype for weight in model.weights} == {"float32"}


def test_same_seed_gives_bit_identical_weights(small_run, tmp_path):
    import keras
    assert train.main(SMALL_RUN_ARGS + ["--output", str(tmp_path / "again")]) == 0
    first, again = (keras.saving.load_model(folder / "model.keras").get_weights()
                    for folder in (small_run, tmp_path / "again"))
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    history, history_again = (json.loads((folder / "history.json").read_text()) for folder in (small_run, tmp_path / "again"))
    assert [row["val_loss"] for row in history] == [row["val_loss"] for row in history_again]


def test_threshold_is_chosen_on_validation_images_and_recorded(small_run):
    run = json.loads((small_run / "run.json").read_text())
    chosen = run["uncertainty"]
    assert chosen["chosen_on"].startswith("validation") and 0.3 <= chosen["uncertain_below"] <= 0.95
    assert chosen["validation"]["images"] == run["validation_images"] == 500
    assert chosen["test"]["images"] == 10000  # reported there, not chosen there
    below, above = chosen["validation"]["accuracy_below"], chosen["validation"]["accuracy_at_or_above"]
    if chosen["uncertain_below"] != 0.5:  # a qualifying threshold: mostly wrong under it
        assert chosen["validation"]["images_below"] >= 20 and below <= 2 / 3 < above


def test_run_card_describes_the_run(small_run):
    card = json.loads((small_run / "card.json").read_text())
    run = json.loads((small_run / "run.json").read_text())
    assert card["format"] == "lenet-run-card/1" and card["name"] == "fast" and card["parameters"] == 1_256_080
    assert card["architecture"].startswith("CONV 20@5×5 → ReLU → max-pool 2×2 → CONV 50@5×5")
    assert card["commands"]["train"] == run["command"] and "--limit 5000" in run["command"]
    curves = {series["label"]: series["points"] for series in card["curves"]["series"]}
    assert set(curves) == {"train_loss", "val_loss", "train_acc", "val_acc"} and [p[0] for p in curves["val_acc"]] == [1, 2]
    assert {m["name"]: m["value"] for m in card["metrics"]}["test accuracy"] == run["test_accuracy"]
    assert run["wall_seconds"] >= run["train_seconds"] > 0


def test_existing_run_folder_is_kept_without_overwrite(small_run, capsys):
    before = (small_run / "run.json").read_text()
    assert train.main(["--output", str(small_run), "--limit", "100"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (small_run / "run.json").read_text() == before


def cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "lenet.train", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, **kwargs)


@pytest.mark.parametrize("args, message", [
    (["--recipe", "turbo"], "invalid choice: 'turbo'"),
    (["--epochs", "0"], "must be positive"),
    (["--batch-size", "-4"], "must be positive"),
    (["--learning-rate", "nan"], "positive finite"),
    (["--limit", "many"], "expected a whole number"),
])
def test_bad_flags_give_one_clear_line(args, message):
    done = cli(*args)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_unwritable_output_is_refused_before_training(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    done = cli("--output", str(blocker / "run"), "--limit", "100")
    assert done.returncode == 2 and "cannot write into" in done.stderr and "Traceback" not in done.stderr


def test_help_explains_each_flag_with_defaults():
    done = cli("--help")
    for flag in ("--recipe", "--epochs", "--batch-size", "--learning-rate", "--seed", "--output", "--limit",
                 "--overwrite", "--data-dir"):
        assert flag in done.stdout
    assert "default: fast" in done.stdout


def test_interrupted_run_leaves_nothing(tmp_path):
    out = tmp_path / "interrupted"
    # A shell that runs pytest in the background (`pytest &`) makes its children ignore SIGINT, and
    # Python keeps an inherited "ignore": start the CLI the way a terminal would, with Ctrl-C live.
    ctrl_c_live = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
                   "sys.argv[0] = 'lenet.train'; runpy.run_module('lenet.train', run_name='__main__', alter_sys=True)")
    proc = subprocess.Popen([sys.executable, "-c", ctrl_c_live, "--limit", "30000", "--epochs", "5",
                             "--output", str(out)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.time() + 90
    for line in proc.stdout:  # wait until training has really started
        if line.startswith("training LeNet") or time.time() > deadline:
            break
    time.sleep(2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-500:]
    assert "interrupted: nothing was written" in err
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_run_that_cannot_unwind_is_ended_and_leaves_nothing(tmp_path):
    """Once in CI, Ctrl-C did not stop training within 60 s: something Keras or TensorFlow runs
    held the unwinding. Here training holds it on purpose (it catches KeyboardInterrupt and keeps
    going); the watchdog must still end the run, with the usual message, and leave no staging."""
    out = tmp_path / "stuck"
    stuck = ("import runpy, signal, sys, time; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
             "import lenet.train as train\n"
             "train.INTERRUPT_GRACE_SECONDS = 3\n"
             "def train_into(staging, args, started):\n"
             "    (staging / 'model.keras').write_text('half')\n"
             "    print('training LeNet (stuck on purpose)', flush=True)\n"
             "    while True:\n"
             "        try:\n"
             "            time.sleep(60)\n"
             "        except KeyboardInterrupt:\n"
             "            pass\n"
             "train.train_into = train_into\n"
             "sys.exit(train.main(sys.argv[1:]))\n")
    proc = subprocess.Popen([sys.executable, "-c", stuck, "--output", str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    for line in proc.stdout:
        if line.startswith("training LeNet"):
            break
    assert list(tmp_path.glob(".stuck.partial-*/model.keras"))
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err[-500:]
    assert "interrupted: nothing was written" in err
    assert list(tmp_path.iterdir()) == []
