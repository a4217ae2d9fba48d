"""Hosting: exactly what `python -m demo.deploy` would upload to a Hugging Face Space (offline), the
Space's front matter, and a serving install that resolves without TensorFlow."""

import json
import re
import shutil
import subprocess
import sys

import pytest

from demo import deploy
from reader.runs import SHIPPED_MODEL
from tests.helpers import ROOT

SHIPPED_RUNS = ("fast", "robust", "seed")  # artifacts/ folders with a run card: the page's training tab shows each
EXAMPLES = sorted(path.name for path in (ROOT / "artifacts" / "examples").glob("*.png"))


def expected_space_files() -> set[str]:
    code = {f"{package}/{path.name}" for package in ("demo", "reader", "reader/numbers")
            for pattern in ("*.py", "*.json", "*.onnx") for path in (ROOT / package).glob(pattern)}
    runs = {f"artifacts/{run}/{name}" for run in SHIPPED_RUNS
            for name in ("card.json", "report.json", "confusion.json", "confusion.png", "misclassified.npz",
                         "lenet-layers.onnx")}
    return ({"app.py", "README.md", "requirements.txt", SHIPPED_MODEL.relative_to(ROOT).as_posix()}
            | code | runs | {f"artifacts/examples/{name}" for name in EXAMPLES})


def test_the_space_gets_exactly_what_the_app_reads():
    files = deploy.space_files()
    assert set(files) == expected_space_files()
    assert {"reader/numbers/number_weights.json", "reader/numbers/whole_digit.onnx", "reader/numbers/pair_reader.onnx", "reader/numbers/line_reader.onnx", "reader/numbers/line_reader_not_digits.onnx", "reader/not_digit.onnx", "reader/pipeline.py",
            "demo/ui.py", "artifacts/robust/card.json", "artifacts/seed/confusion.png"} <= set(files)
    assert len(EXAMPLES) >= 10
    for name in files:
        assert not name.startswith(("runs/", ".venv", "tests/", "benchmarks/", "lenet/", "export/", "."))
        assert not name.endswith((".keras", "-int8.onnx"))


def test_the_space_files_fit_the_hub_and_only_the_models_need_xet_or_lfs():
    sizes = {name: (ROOT / name).stat().st_size for name in deploy.space_files()}
    assert max(sizes.values()) < deploy.HUB_FILE_LIMIT
    assert sum(sizes.values()) < 25e6
    binaries_over_1mb = {name for name, size in sizes.items() if size > deploy.HUB_PLAIN_BINARY_LIMIT}
    assert binaries_over_1mb == {SHIPPED_MODEL.relative_to(ROOT).as_posix()} | {
        f"artifacts/{run}/lenet-layers.onnx" for run in SHIPPED_RUNS}


def test_local_runs_caches_and_tests_never_go_up(tmp_path):
    """The same selection from a checkout full of what a user makes: runs, a venv, caches."""
    copy = tmp_path / "checkout"
    copy.mkdir()
    for name in ("app.py", "README.md", "requirements.txt", "demo", "reader", "artifacts"):
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy2)(ROOT / name, copy / name)
    for junk in ("runs/fast/lenet.onnx", "runs/fast/run.json", "runs/.fast.partial-1-x/model.keras",
                 ".venv/lib/x.py", "tests/test_x.py", "demo/__pycache__/ui.cpython-311.pyc", ".gradio/flagged.csv",
                 "artifacts/fast/notes.txt"):
        (copy / junk).parent.mkdir(parents=True, exist_ok=True)
        (copy / junk).write_bytes(b"x")
    assert deploy.space_files(copy) == deploy.space_files()


def test_dry_run_lists_files_and_sizes_offline():
    done = subprocess.run([sys.executable, "-m", "demo.deploy", "someone/lenet-digits", "--dry-run"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"{SHIPPED_MODEL.relative_to(ROOT)}  (binary over 1 MB: stored with Xet/LFS)" in done.stdout
    assert re.search(rf"MB  in {len(deploy.space_files())} files", done.stdout)
    done = subprocess.run([sys.executable, "-m", "demo.deploy", "no-slash", "--dry-run"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "USER/NAME" in done.stderr


def test_front_matter_makes_a_gradio_space_with_the_pinned_gradio():
    readme = (ROOT / "README.md").read_text()
    front = readme.split("---")[1]
    fields = dict(line.split(": ", 1) for line in front.strip().splitlines())
    pins = dict(line.split("==") for line in (ROOT / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#") and ";" not in line)
    assert fields["sdk"] == "gradio" and fields["app_file"] == "app.py"
    assert fields["sdk_version"] == pins["gradio"]
    assert fields["python_version"].strip('"') == "3.11"


@pytest.mark.slow
def test_the_serving_install_resolves_without_tensorflow(tmp_path):
    """pip's own resolver (a dry run, nothing installed): what a Space or `pip install -r
    requirements.txt` would get. Needs PyPI."""
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
                           "--report", str(report), "-r", str(ROOT / "requirements.txt")],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    names = {item["metadata"]["name"].lower().replace("_", "-") for item in json.loads(report.read_text())["install"]}
    assert {"gradio", "numpy", "pillow", "scipy"} <= names and ({"onnxruntime-gpu", "onnxruntime"} & names)
    assert not names & {"tensorflow", "keras", "tf2onnx", "onnx", "tf-keras", "scikit-learn", "matplotlib"}
