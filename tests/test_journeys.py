"""The README's journey on a clean copy of the repository: train → export → serve *your* model.

The copy holds what a fresh clone holds (tracked files and untracked ones git does not ignore: no
runs/, no .venv); the plain commands run in it as a user types them, with only the smoke-run flags
added to training. Then `python app.py`, with no arguments, must serve the model just exported —
say so on start-up and on the page — and answer like `python -m demo.predict --model` on that
file, and unlike the shipped model.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from reader.runs import SHIPPED_MODEL
from tests.helpers import ROOT, free_port

pytestmark = pytest.mark.slow


def clean_copy(destination):
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    return destination


def run(clone, *command, timeout=900):
    done = subprocess.run([sys.executable, *command], cwd=clone, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout[-1500:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def journey(tmp_path_factory, mnist):
    clone = clean_copy(tmp_path_factory.mktemp("clone"))
    assert not (clone / "runs").exists() and not (clone / ".venv").exists()
    run(clone, "-m", "lenet.train", "--limit", "3000", "--epochs", "1", "--quiet")
    run(clone, "export/to_onnx.py")
    _, (x_test, y_test) = mnist
    digit = tmp_path_factory.mktemp("digit") / "test_digit_9999.png"
    Image.fromarray(x_test[9999]).save(digit)  # a real test digit that is not among the examples
    return clone, digit


def test_your_export_is_what_app_py_serves_and_says_so(journey):
    clone, digit = journey
    assert (clone / "runs" / "fast" / "lenet.onnx").is_file()
    shipped = SHIPPED_MODEL.relative_to(ROOT)
    assert (clone / shipped).read_bytes() == SHIPPED_MODEL.read_bytes()  # the shipped model is untouched
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen([sys.executable, "app.py"], cwd=clone, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        first_line = server.stdout.readline()
        assert first_line.startswith("Serving runs/fast/lenet.onnx (your newest export: recipe fast, "), first_line
        said = [server.stdout.readline() for _ in range(3)]
        assert any(line.startswith("Visitors may choose: robust, fast, seed, runs/fast ") for line in said), said
        warning = next((line for line in said if line.startswith("warning: ")), None)
        assert warning is not None and "points below the shipped model (robust, 99.65%)" in warning, said
        assert "--model artifacts/robust/lenet.onnx" in warning and "remove runs/fast/lenet.onnx" in warning
        url = f"http://127.0.0.1:{port}/"
        deadline = time.time() + 120
        while True:
            try:
                config = urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url + "config", timeout=5).read()
                break
            except OSError:
                assert time.time() < deadline and server.poll() is None, "python app.py did not start"
                time.sleep(0.3)
        assert "runs/fast/lenet.onnx" in config.decode() and "your newest export" in config.decode()
        assert "points below the shipped model" in config.decode()  # the page's note, not only the log
        client = Client(url, verbose=False)
        listed = client.predict(api_name="/models")
        assert [m["key"] for m in listed["models"]] == ["robust", "fast", "seed", "runs/fast"]
        assert listed["default"] == "runs/fast"
        label, verdict, *_ = client.predict(handle_file(str(digit)), api_name="/classify_upload")
        assert "model runs/fast" in verdict
        served = {c["label"]: c["confidence"] for c in label["confidences"]}
        label, verdict, *_ = client.predict(handle_file(str(digit)), model="robust", api_name="/classify_upload")
        assert "model robust" in verdict
        chosen = {c["label"]: c["confidence"] for c in label["confidences"]}
    finally:
        server.terminate()
        server.wait(timeout=30)

    def cli(model):
        done = run(clone, "-m", "demo.predict", "--json", "--model", model, str(digit), timeout=120)
        return json.loads(done.stdout)[0]["probabilities"]

    yours, shipped = cli("runs/fast/lenet.onnx"), cli(str(SHIPPED_MODEL.relative_to(ROOT)))
    labels = [str(d) for d in range(10)]
    served_p, chosen_p, yours_p, shipped_p = (np.array([p[k] for k in labels]) for p in (served, chosen, yours, shipped))
    assert np.abs(served_p - yours_p).max() < 1e-4       # the page answers with your model by default ...
    assert np.abs(served_p - shipped_p).max() > 1e-3     # ... not with the shipped one ...
    assert np.abs(chosen_p - shipped_p).max() < 1e-4     # ... and with the shipped one when a visitor chooses it

    text = run(clone, "-m", "demo.predict", str(digit), timeout=120)  # text mode names its model, and warns
    assert text.stderr.startswith("model: runs/fast · ") and "on MNIST" in text.stderr, text.stderr
    assert "warning: " in text.stderr and "points below the shipped model" in text.stderr
