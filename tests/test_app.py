"""The app for real: launched on loopback and called through gradio_client, `python app.py` as a
subprocess, the page without a model, and `python -m demo.predict`."""

import json
import os
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from app_server import app_server, free_port  # noqa: F401  (fixture)
from conftest import ROOT


def canvas_png(digit: np.ndarray, path, scale=8, left=40, top=20, size=(280, 280)):
    """A real MNIST digit drawn like the sketchpad sends it: black ink on an opaque white RGBA canvas."""
    big = np.asarray(Image.fromarray(digit).resize((28 * scale, 28 * scale), Image.Resampling.BILINEAR))
    canvas = np.full((size[1], size[0]), 255, np.uint8)
    h, w = big.shape
    canvas[top:top + h, left:left + w] = np.minimum(canvas[top:top + h, left:left + w], 255 - big)
    rgba = np.dstack([canvas, canvas, canvas, np.full_like(canvas, 255)])
    Image.fromarray(rgba, "RGBA").save(path)
    return path


@pytest.fixture(scope="module")
def client(app_server):  # noqa: F811
    return Client(app_server, verbose=False)


def sketch(path):
    f = handle_file(str(path))
    return {"background": f, "layers": [], "composite": f}


def test_app_does_not_import_tensorflow_or_keras():
    code = "import sys, app; print(sorted(m for m in ('tensorflow', 'keras', 'lenet') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_named_endpoints(client):
    names = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    assert {"/classify_sketch", "/classify_upload", "/read_number", "/read_number_upload"} <= names


def test_sketches_of_real_test_digits_are_read(client, mnist, tmp_path):
    _, (x, y) = mnist
    rng = np.random.default_rng(7)
    picks = rng.choice(np.arange(5000, 10000), size=30, replace=False)  # not the shipped examples
    right = 0
    for i in picks:
        scale = int(rng.integers(5, 10))
        room = 280 - 28 * scale
        path = canvas_png(x[i], tmp_path / f"d{i}.png", scale, int(rng.integers(0, room + 1)), int(rng.integers(0, room + 1)))
        label, status, seen, heat = client.predict(sketch(path), api_name="/classify_sketch")
        right += label["label"] == str(y[i])
        assert len(label["confidences"]) == 10 and "ms on" in status
        assert seen and heat
    assert right >= 29, f"{right}/30 real test digits drawn large and off-centre read correctly"


def test_blank_canvas_says_draw_a_digit(client, tmp_path):
    path = tmp_path / "blank.png"
    Image.new("RGBA", (280, 280), (255, 255, 255, 255)).save(path)
    label, status, seen, heat = client.predict(sketch(path), api_name="/classify_sketch")
    assert not (label or {}).get("label") and "Draw a digit" in status and seen is None and heat is None


def test_upload_examples_are_read(client):
    for path in sorted((ROOT / "artifacts" / "examples").glob("mnist_test_*_digit_*.png")):
        label = client.predict(handle_file(str(path)), api_name="/classify_upload")[0]
        assert label["label"] == path.stem[-1], path.name


def test_number_examples_are_read(client):
    for path in sorted((ROOT / "artifacts" / "examples").glob("number_*.png")):
        text, gallery = client.predict(handle_file(str(path)), api_name="/read_number_upload")
        expected = path.stem.split("_")[1]
        assert f"Read: **{expected}**" in text, (path.name, text)
        assert len(gallery) == len(expected)


def test_bad_upload_is_a_clear_error_and_the_server_keeps_serving(client, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises(Exception) as error:
        client.predict(handle_file(str(bad)), api_name="/classify_upload")
    assert "image" in str(error.value).lower()
    good = ROOT / "artifacts" / "examples" / "mnist_test_0000_digit_7.png"
    assert client.predict(handle_file(str(good)), api_name="/classify_upload")[0]["label"] == "7"


def test_page_without_a_model_says_how_to_get_one(tmp_path):
    from demo.ui import build_app
    blocks = build_app(tmp_path / "missing.onnx")
    texts = " ".join(str(c.get("props", {}).get("value", "")) for c in blocks.config["components"])
    assert "No model to serve" in texts and "python -m lenet.train" in texts and "export/to_onnx.py" in texts


def test_provider_choice(tmp_path):
    from demo.model import DigitModel
    model = DigitModel(ROOT / "artifacts" / "fast" / "lenet.onnx", providers="cpu")
    assert model.provider == "CPUExecutionProvider"
    with pytest.raises(ValueError, match="not available"):
        DigitModel(ROOT / "artifacts" / "fast" / "lenet.onnx", providers="warp-drive")


def test_python_app_py_serves_on_the_port_it_is_given(tmp_path):
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_ANALYTICS_ENABLED": "False", "NO_PROXY": "127.0.0.1,localhost"}
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        deadline = time.time() + 90
        while True:
            try:
                page = opener.open(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
                break
            except OSError:
                assert time.time() < deadline and proc.poll() is None, "python app.py did not start"
                time.sleep(0.3)
        assert "LeNet digits" in page
        config = json.loads(opener.open(f"http://127.0.0.1:{port}/config", timeout=5).read())
        assert "CPUExecutionProvider" in json.dumps(config)  # the provider in use is on the page
        for leak in ("/gradio_api/file=/etc/passwd", "/file=/etc/passwd", "/gradio_api/file=app.py"):
            with pytest.raises(urllib.error.HTTPError):
                opener.open(f"http://127.0.0.1:{port}{leak}", timeout=5)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def predict_cli(*args):
    return subprocess.run([sys.executable, "-m", "demo.predict", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_predict_cli_text_json_number_and_errors(tmp_path):
    examples = ROOT / "artifacts" / "examples"
    done = predict_cli(examples / "mnist_test_0000_digit_7.png")
    assert done.returncode == 0 and done.stdout.split(": ")[1].startswith("7")
    done = predict_cli("--json", examples / "mnist_test_0001_digit_2.png")
    assert json.loads(done.stdout)["label"] == "2"
    done = predict_cli("--number", examples / "number_2026.png")
    assert done.returncode == 0 and ": 2026" in done.stdout
    (tmp_path / "note.txt").write_text("not an image")
    done = predict_cli(tmp_path / "note.txt", examples / "mnist_test_0000_digit_7.png")
    assert done.returncode == 1 and "error:" in done.stdout and "Traceback" not in done.stderr
    assert done.stdout.strip().splitlines()[1].split(": ")[1].startswith("7")  # the good file still answered
