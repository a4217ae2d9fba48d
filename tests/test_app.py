"""The app for real: launched on loopback and called through gradio_client, `python app.py` as a
subprocess (which model it serves and why, failing fast on a bad model or flag), and
`python -m demo.predict`."""

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from reader.runs import choose_model
from tests.helpers import ROOT, documentation, free_port


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
def client(app_server):
    return Client(app_server, verbose=False)


def sketch(path):
    f = handle_file(str(path))
    return {"background": f, "layers": [], "composite": f}


@pytest.mark.slow
def test_app_does_not_import_tensorflow_or_keras():
    code = "import sys, app; print(sorted(m for m in ('tensorflow', 'keras', 'lenet') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_named_endpoints(client):
    names = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    assert {"/classify_sketch", "/classify_upload", "/classify_photo", "/read_number", "/read_number_upload"} <= names


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
        assert f"<small>{len(expected)} digits, " in text
    one_digit = ROOT / "artifacts" / "examples" / "mnist_test_0000_digit_7.png"
    text, gallery = client.predict(handle_file(str(one_digit)), api_name="/read_number_upload")
    assert "Read: **7**" in text and "<small>1 digit, " in text and len(gallery) == 1


def test_bad_upload_is_a_clear_error_and_the_server_keeps_serving(client, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises(AppError, match="The file is not an image this demo can read"):
        client.predict(handle_file(str(bad)), api_name="/classify_upload")
    good = ROOT / "artifacts" / "examples" / "mnist_test_0000_digit_7.png"
    assert client.predict(handle_file(str(good)), api_name="/classify_upload")[0]["label"] == "7"


def run_app(*args, env=None, timeout=60):
    return subprocess.run([sys.executable, "app.py", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})})


@pytest.mark.slow
@pytest.mark.parametrize("problem", ["missing", "not_onnx", "no_contract", "other_contract"])
def test_app_with_an_unusable_model_exits_at_once_with_one_line(tmp_path, problem):
    """Before Gradio is imported: exit status 2, one line naming the file and the reason."""
    import onnx
    path = tmp_path / "model.onnx"
    if problem == "not_onnx":
        path.write_text("not a model")
    elif problem in ("no_contract", "other_contract"):
        model = onnx.load(ROOT / "artifacts" / "fast" / "lenet.onnx")
        props = {p.key: p.value for p in model.metadata_props}
        del model.metadata_props[:]
        if problem == "other_contract":
            onnx.helper.set_model_props(model, {**props, "input_polarity": "black_on_white"})
        onnx.save(model, path)
    started = time.perf_counter()
    done = run_app("--model", path)
    seconds = time.perf_counter() - started
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: ") and str(path) in lines[0]
    assert {"missing": "no model file", "not_onnx": "cannot serve", "no_contract": "no input contract",
            "other_contract": "black_on_white"}[problem] in lines[0]
    assert "Traceback" not in done.stderr and "Running on" not in done.stdout
    print(f"{problem}: {seconds:.2f} s")  # about the time of importing onnxruntime (~1 s), never Gradio's


@pytest.mark.slow
def test_app_help_and_wrong_flags_answer_without_building_the_page():
    done = run_app("--help")
    assert done.returncode == 0 and "--model" in done.stdout and "LENET_MODEL" in done.stdout
    done = run_app("--no-such-flag")
    assert done.returncode == 2 and "unrecognized arguments: --no-such-flag" in done.stderr
    done = run_app(env={"LENET_CONCURRENCY": "lots"})
    assert done.returncode == 2 and done.stderr.strip() == "error: LENET_CONCURRENCY must be a whole number of at least 1, not 'lots'"
    done = run_app("--providers", "warp-drive")
    assert done.returncode == 2 and "warp-drive" in done.stderr and "Traceback" not in done.stderr


def test_which_model_is_served_follows_the_printed_rule(tmp_path):
    runs, shipped = tmp_path / "runs", tmp_path / "shipped.onnx"
    assert choose_model(None, runs, shipped, environ={}).source == "the shipped model"
    for name, age in (("old", 300), ("new", 100), (".new.partial-123-x", 0)):
        (runs / name).mkdir(parents=True)
        (runs / name / "lenet.onnx").write_bytes(b"x")
        os.utime(runs / name / "lenet.onnx", (time.time() - age, time.time() - age))
    (runs / "trained-not-exported").mkdir()
    (runs / "trained-not-exported" / "model.keras").write_bytes(b"x")
    choice = choose_model(None, runs, shipped, environ={})
    assert choice.path == runs / "new" / "lenet.onnx" and choice.source == "your newest export"
    choice = choose_model(None, runs, shipped, environ={"LENET_MODEL": "/x/env.onnx"})
    assert choice.path == Path("/x/env.onnx") and choice.source == "LENET_MODEL"
    choice = choose_model("flag.onnx", runs, shipped, environ={"LENET_MODEL": "/x/env.onnx"})
    assert choice.path == Path("flag.onnx") and choice.source == "--model"


def test_the_rule_serves_from_the_folders_the_readme_names():
    """The README's rule: your newest `runs/*/lenet.onnx`, else the shipped model in
    artifacts/robust; the paths the page and the start-up line print are relative to the checkout."""
    import inspect
    import re
    from reader import runs
    rule = " ".join(documentation().split())
    newest = re.search(r"your newest export \(the newest `([^`*]+)/\*/([^`]+)`\)", rule)
    assert newest, "the README no longer states where your newest export is looked for"
    defaults = inspect.signature(choose_model).parameters
    assert defaults["runs"].default == ROOT / newest.group(1) and runs.MODEL_FILE == newest.group(2)
    assert runs.display_path(defaults["shipped"].default) == f"artifacts/robust/{newest.group(2)}"
    assert f"{newest.group(1)}/*/{newest.group(2)}" in runs.MODEL_RULE and "artifacts/robust" in runs.MODEL_RULE
    assert runs.display_path(Path("/elsewhere/model.onnx")) == "/elsewhere/model.onnx"


def test_cuda_asked_for_but_not_used_says_why():
    from reader.model import DigitModel, cuda_unavailable_reason, nvidia_driver_present
    model = DigitModel(ROOT / "artifacts" / "fast" / "lenet.onnx")  # default: CUDA first where this build has it
    if model.provider == "CUDAExecutionProvider":
        assert model.cuda_note is None
    else:
        assert model.cuda_note and model.cuda_note.startswith("CUDA not used: ")
        assert ("no NVIDIA driver" in model.cuda_note) == (not nvidia_driver_present())
    assert DigitModel(ROOT / "artifacts" / "fast" / "lenet.onnx", providers="cpu").cuda_note is None  # not asked
    assert "no NVIDIA driver" in cuda_unavailable_reason(driver=False, libraries=False)
    assert "requirements-gpu.txt" in cuda_unavailable_reason(driver=True, libraries=False)
    assert "failed to start" in cuda_unavailable_reason(driver=True, libraries=True)


def test_pip_installed_cuda_libraries_are_found_in_the_wheels_layout(tmp_path, monkeypatch):
    """onnxruntime-gpu[cuda,cudnn] puts libcudart.so.13 under nvidia/cu13/lib and cuDNN 9 under
    nvidia/cudnn/lib (read from the wheels); TensorFlow's CUDA 12 wheels alone are not enough."""
    import importlib
    from reader.model import nvidia_packages_installed
    site = tmp_path / "site-packages"
    for library in ("nvidia/cuda_runtime/lib/libcudart.so.12", "nvidia/cudnn/lib/libcudnn.so.9"):
        (site / library).parent.mkdir(parents=True, exist_ok=True)
        (site / library).write_bytes(b"")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    assert not nvidia_packages_installed()  # CUDA 12 runtime only (TensorFlow's)
    (site / "nvidia/cu13/lib").mkdir(parents=True)
    (site / "nvidia/cu13/lib/libcudart.so.13").write_bytes(b"")
    importlib.invalidate_caches()
    assert nvidia_packages_installed()


def test_provider_choice(tmp_path):
    from reader.model import DigitModel
    model = DigitModel(ROOT / "artifacts" / "fast" / "lenet.onnx", providers="cpu")
    assert model.provider == "CPUExecutionProvider"
    with pytest.raises(ValueError, match="not available"):
        DigitModel(ROOT / "artifacts" / "fast" / "lenet.onnx", providers="warp-drive")
    with pytest.raises(ValueError, match="not available"):
        DigitModel(ROOT / "artifacts" / "fast" / "lenet.onnx", providers=" , ")


@pytest.mark.slow
def test_python_app_py_serves_on_the_port_it_is_given(tmp_path):
    port = free_port()
    gradio_base = tmp_path / "gradio"
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_ANALYTICS_ENABLED": "False", "NO_PROXY": "127.0.0.1,localhost", "GRADIO_TEMP_DIR": str(gradio_base)}
    proc = subprocess.Popen([sys.executable, "app.py", "--model", "artifacts/fast/lenet.onnx"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
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
        config = json.dumps(json.loads(opener.open(f"http://127.0.0.1:{port}/config", timeout=5).read()))
        assert "CPUExecutionProvider" in config  # the provider in use is on the page
        assert "artifacts/fast/lenet.onnx" in config and "99.55% test accuracy" in config  # and the model served
        for leak in ("/gradio_api/file=/etc/passwd", "/file=/etc/passwd", "/gradio_api/file=app.py"):
            with pytest.raises(urllib.error.HTTPError):
                opener.open(f"http://127.0.0.1:{port}{leak}", timeout=5)
        assert len(list(gradio_base.glob("lenet-demo-*"))) == 1  # uploads and outputs live in a private folder
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    first_line = proc.stdout.readline()
    assert first_line.startswith("Serving artifacts/fast/lenet.onnx (--model: recipe fast, 99.55% test accuracy")
    assert list(gradio_base.iterdir()) == []  # and it goes when the server is stopped


def predict_cli(*args):
    return subprocess.run([sys.executable, "-m", "demo.predict", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.slow
def test_predict_cli_text_json_number_and_errors(tmp_path):
    examples = ROOT / "artifacts" / "examples"
    done = predict_cli(examples / "mnist_test_0000_digit_7.png")
    assert done.returncode == 0 and done.stdout.split(": ")[1].startswith("7")
    done = predict_cli("--json", examples / "mnist_test_0001_digit_2.png")
    assert [r["label"] for r in json.loads(done.stdout)] == ["2"]  # always a list, also for one file
    done = predict_cli("--json", examples / "mnist_test_0001_digit_2.png", examples / "mnist_test_0000_digit_7.png")
    assert [r["label"] for r in json.loads(done.stdout)] == ["2", "7"]
    done = predict_cli("--number", examples / "number_2026.png")
    assert done.returncode == 0 and ": 2026" in done.stdout
    (tmp_path / "note.txt").write_text("not an image")
    done = predict_cli(tmp_path / "note.txt", examples / "mnist_test_0000_digit_7.png")
    assert done.returncode == 1 and "error:" in done.stdout and "Traceback" not in done.stderr
    assert done.stdout.strip().splitlines()[1].split(": ")[1].startswith("7")  # the good file still answered


def test_inside_endpoint_returns_every_stage_and_a_summary(client, mnist, tmp_path):
    from tests.test_inside import tiles_in
    _, (x, y) = mnist
    path = tmp_path / "digit.png"
    Image.fromarray(x[4321]).save(path)  # a real test digit that is not among the examples
    status, seen, label, conv1, conv1_filters, pool1, conv2, pool2, fc1, summary = client.predict(
        handle_file(str(path)), api_name="/inside")
    assert label["label"] == str(y[4321]) == summary["prediction"]["label"]
    assert [layer["name"] for layer in summary["layers"]] == ["conv1", "pool1", "conv2", "pool2", "fc1", "probabilities"]
    grids = {name: np.asarray(Image.open(picture).convert("RGB")) for name, picture in
             (("conv1", conv1), ("conv1_filters", conv1_filters), ("pool1", pool1), ("conv2", conv2), ("pool2", pool2))}
    assert {name: tiles_in(grid) for name, grid in grids.items()} == {
        "conv1": (4, 5), "conv1_filters": (4, 5), "pool1": (4, 5), "conv2": (5, 10), "pool2": (5, 10)}
    assert Image.open(seen).size == (224, 224) and Image.open(fc1).size[0] == 1000


def test_inside_refuses_a_blank_picture_like_the_draw_tab(client, tmp_path):
    path = tmp_path / "blank.png"
    Image.new("RGBA", (280, 280), (255, 255, 255, 255)).save(path)
    inside_status = client.predict(handle_file(str(path)), api_name="/inside")[0]
    draw_status = client.predict(sketch(path), api_name="/classify_sketch")[1]
    assert inside_status == draw_status and "Draw a digit" in draw_status


def test_a_number_on_the_upload_tab_points_to_the_number_tab(client):
    """A picture of several digits sent to the one-digit endpoints says so and names the Number
    tab; none of the one-digit examples does."""
    examples = ROOT / "artifacts" / "examples"
    for api in ("/classify_upload", "/classify_photo"):
        status = client.predict(handle_file(str(examples / "number_2026.png")), api_name=api)[1]
        assert '<span class="answer">Several digits?</span>' in status and "hold 4 side by side" in status, status
        assert "**Number** tab" in status and "It's a" not in status
    for path in sorted(examples.glob("mnist_*.png")):
        status = client.predict(handle_file(str(path)), api_name="/classify_upload")[1]
        assert "Several digits" not in status and status.startswith("It's a"), (path.name, status)


def test_an_unsure_reading_has_one_headline_saying_so(client, mnist, tmp_path):
    """When the model is not sure, the headline is "Not sure" with the two likeliest digits, never a
    digit; the probabilities carry no heading of their own (gr.Label show_heading=False)."""
    from reader import pipeline
    from reader.model import DigitModel
    from reader.runs import SHIPPED_MODEL
    _, (x, _) = mnist
    model = DigitModel(SHIPPED_MODEL, "cpu", threads=1)
    unsure = next(i for i in range(len(x)) if not pipeline.read_digit(model, x[i], heatmap=False).sure)
    path = tmp_path / "unsure.png"
    Image.fromarray(x[unsure]).save(path)
    label, status, _, _ = client.predict(handle_file(str(path)), api_name="/classify_upload")
    ranked = sorted(label["confidences"], key=lambda c: -c["confidence"])
    assert status.startswith('<span class="answer">Not sure</span> — maybe'), status  # no digit headline
    assert f"{ranked[0]['label']} ({ranked[0]['confidence']:.0%})" in status and f" {ranked[1]['label']} (" in status
    assert "It's a" not in status
    config = json.loads(urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
        client.src.rstrip("/") + "/config", timeout=10).read())
    labels = [c["props"] for c in config["components"] if c.get("type") == "label"]
    assert labels and all(props.get("show_heading") is False for props in labels)


def test_a_path_never_reaches_a_reader_even_if_gradio_skips_the_trust_boundary(client):
    """Gradio rebuilds a component for a session from its constructor when an event updates its
    properties, dropping the preprocessing `accept_images` set, and then hands the function the raw
    value. The page's functions refuse anything but a decoded picture, so a path a client wrote is
    never read from the server's disk (a broken guard reads this repository's example and answers 7)."""
    import gradio as gr
    import app
    from demo import inputs
    from demo.ui import Page
    page = Page(app.served)
    example = str(ROOT / "artifacts" / "examples" / "mnist_test_0000_digit_7.png")
    for read in (page.digit, page.number, page.inside):
        with pytest.raises(gr.Error) as refused:
            read(example, "/classify_upload")
        assert str(refused.value.message) == inputs.NOT_READABLE
    assert page.digit(Image.open(example).convert("RGBA"), "/classify_upload")[0]["7"] > 0.9


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The functions behind the page's events (`demo.ui.Page`), for the shipped model, called directly."""
    from reader.model import DigitModel
    from reader.runs import SHIPPED_MODEL, ModelChoice
    from demo.serving import Served
    from demo.ui import Page
    model = DigitModel(SHIPPED_MODEL, providers="cpu", threads=1)
    from demo.decode_budget import DecodePool
    return Page(Served(model, ModelChoice(SHIPPED_MODEL, "the shipped model"), concurrency=1, threads=1,
                       cache_folder=str(tmp_path_factory.mktemp("page-cache")), decoder=DecodePool(workers=1)))


def test_the_number_tab_says_what_it_read_and_shows_what_the_model_saw(page):
    """The Number tab's text (the number, how many digits), and its gallery: each digit's 28×28
    model input enlarged 4× and captioned with its label and confidence."""
    from reader.inside import enlarge
    from reader.pipeline import read_number
    for name, text in (("number_1998.png", "1998"), ("mnist_test_0000_digit_7.png", "7")):
        picture = Image.open(ROOT / "artifacts" / "examples" / name)
        said, gallery, reading = page.number(picture, "/read_number_upload")
        count = f"{len(text)} digit" + ("s" if len(text) > 1 else "")
        assert said.startswith(f"Read: **{text}**  \n<small>{count}, ") and "not sure" not in said
        assert reading.text == read_number(page.model, picture).text == text
        assert [caption for _, caption in gallery] == [f"{d.label} · {d.confidence:.0%}" for d in reading.digits]
        for (path, _), digit in zip(gallery, reading.digits):
            assert np.array_equal(np.asarray(Image.open(path)), enlarge(digit.model_input, 4))


def test_the_page_says_draw_or_no_digit_when_there_is_nothing_to_read(page):
    blank = Image.new("RGBA", (700, 240), "white")
    said, gallery, reading = page.number(blank, "/read_number")
    assert "Write a number" in said and gallery == [] and reading is None
    specks = Image.new("RGBA", (700, 240), "white")
    specks.paste((0, 0, 0, 255), (200, 100, 204, 104))  # a dot, and a speck far from it
    said, gallery, reading = page.number(specks, "/read_number")
    assert said.startswith("**No digit found**") and gallery == [] and reading.digits == []
    assert page.number_boxes(None) is None
    from tests import non_digits                        # a painted blob the Number tab once read as "8"
    blob = non_digits.blob(np.random.default_rng([non_digits.EVALUATION.seed, 13, non_digits.KINDS.index("blobs")]))
    said, gallery, reading = page.number(blob, "/read_number")
    assert said.startswith("**No digit found** — what is written does not look like any digit") and gallery == []
    assert reading.digits == [] and len(reading.not_digits) == 1 and page.number_boxes(reading) is not None
    label, status, seen, heat = page.digit(Image.new("RGBA", (280, 280), "white"), "/classify_sketch")
    assert label is None and "Draw a digit" in status and seen is None and heat is None
