"""Run folders between the stages: killed runs leave nothing that a later stage picks up, the
shipped artifacts are never replaced without `--ship`, and an export never leaves a stale int8
model beside a new fp32 one."""

import os
import shutil
import subprocess
import sys
import time

import pytest

from lenet import train
from tests.helpers import ROOT

import to_onnx  # export/ is on pytest's pythonpath


def test_staging_folders_of_killed_runs_are_removed_and_live_ones_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    killed = tmp_path / f".fast.partial-{dead.pid}-k2j3"
    legacy = tmp_path / ".fast.partial-x8q1"             # written by versions without the PID
    running = tmp_path / f".fast.partial-{os.getpid()}-a9z0"
    replaced = tmp_path / f".fast.old-{dead.pid}"
    for folder in (killed, legacy, running, replaced):
        folder.mkdir()
        (folder / "model.keras").write_bytes(b"")      # what a SIGKILL leaves: a 0-byte model
    removed = train.remove_stale_staging(tmp_path)
    assert sorted(removed) == sorted([killed, legacy, replaced])
    assert running.exists() and not killed.exists() and not legacy.exists()


def test_export_picks_the_newest_finished_run_and_never_a_hidden_or_partial_one(small_run, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(small_run, runs / "older")
    time.sleep(0.05)
    shutil.copytree(small_run, runs / "newer")
    (runs / ".newer.partial-123-abc").mkdir()  # newest of all, but hidden and unfinished
    (runs / ".newer.partial-123-abc" / "model.keras").write_bytes(b"")
    (runs / "unfinished").mkdir()
    (runs / "unfinished" / "model.keras").write_bytes(b"")  # no run.json: the run never completed
    assert to_onnx.newest_run(runs) == runs / "newer"
    assert to_onnx.newest_run(tmp_path / "no-runs-yet") is None


def test_the_newest_finished_run_is_the_one_exported_by_default(tmp_path):
    """The fast twin of the test above, on run folders made here: finished means run.json and
    model.keras; hidden (staging) folders and folders without a model never count."""
    runs = tmp_path / "runs"
    for name, age, files in (("older", 300, ("run.json", "model.keras")), ("newer", 100, ("run.json", "model.keras")),
                             (".newer.partial-123-abc", 0, ("run.json", "model.keras")),
                             ("no-model", 0, ("run.json",)), ("unfinished", 0, ("model.keras",))):
        (runs / name).mkdir(parents=True)
        for file in files:
            (runs / name / file).write_text("{}")
            os.utime(runs / name / file, (time.time() - age, time.time() - age))
    assert to_onnx.newest_run(runs) == runs / "newer"
    os.utime(runs / "older" / "run.json")  # finished again just now
    assert to_onnx.newest_run(runs) == runs / "older"
    assert to_onnx.newest_run(tmp_path / "no-runs-yet") is None


def test_no_finished_run_is_a_clear_error_not_the_shipped_model(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(to_onnx, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(to_onnx.newest_run, "__defaults__", (tmp_path / "runs",))
    with pytest.raises(SystemExit) as exit_:
        to_onnx.parse_args([])
    assert exit_.value.code == 2 and "no finished run in runs/" in capsys.readouterr().err


@pytest.mark.parametrize("command", [
    [sys.executable, "-m", "lenet.train", "--output", "artifacts/fast", "--overwrite"],
    [sys.executable, "export/to_onnx.py", "artifacts/fast"],
    [sys.executable, "export/to_onnx.py", "artifacts/fast", "--output", "artifacts/fast/lenet.onnx"],
])
def test_writing_into_the_shipped_artifacts_needs_ship(command):
    before = {p.name: p.stat().st_mtime for p in (ROOT / "artifacts" / "fast").iterdir()}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "inside artifacts/" in done.stderr and "--ship" in done.stderr
    assert "Traceback" not in done.stderr
    assert time.perf_counter() - started < 60  # refused before any training or conversion
    assert {p.name: p.stat().st_mtime for p in (ROOT / "artifacts" / "fast").iterdir()} == before


@pytest.mark.slow
def test_export_without_int8_removes_the_stale_int8_model(small_export, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(small_export, run)
    assert (run / "lenet-int8.onnx").exists()
    assert to_onnx.main([str(run)]) == 0
    assert (run / "lenet.onnx").exists() and not (run / "lenet-int8.onnx").exists()


@pytest.mark.slow
def test_a_run_stopped_with_sigterm_leaves_nothing(tmp_path):
    """`kill`, `docker stop`, a CI timeout: like Ctrl-C, the staging folder goes."""
    import signal
    out = tmp_path / "stopped"
    proc = subprocess.Popen([sys.executable, "-m", "lenet.train", "--limit", "30000", "--epochs", "5", "--output",
                             str(out)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.time() + 120
    for line in proc.stdout:  # wait until training has really started
        if line.startswith("training LeNet") or time.time() > deadline:
            break
    assert list(tmp_path.glob(".stopped.partial-*")), "training should be writing its staging folder by now"
    time.sleep(2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted: nothing was written" in err, err[-500:]
    assert list(tmp_path.iterdir()) == []
