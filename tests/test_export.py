"""export/to_onnx.py on a model trained in the tests on real MNIST: checks, parity, metadata,
dynamic batch, int8, and every failure path leaving no ONNX file behind."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from tests.helpers import ROOT

import to_onnx  # export/ is on pytest's pythonpath


def session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_export_passes_checker_and_records_parity(small_export):
    onnx.checker.check_model(str(small_export / "lenet.onnx"), full_check=True)
    report = json.loads((small_export / "export.json").read_text())
    parity = report["parity"]
    assert parity["images"] == 10000
    assert parity["max_abs_diff"] <= 1e-5 and parity["argmax_agreement"] == 1.0
    assert parity["keras_test_accuracy"] == parity["onnx_test_accuracy"]
    run = json.loads((small_export / "run.json").read_text())
    assert parity["onnx_test_accuracy"] == pytest.approx(run["test_accuracy"], abs=1e-9)
    assert report["opset"] == 17 and report["files"]["lenet.onnx"] == (small_export / "lenet.onnx").stat().st_size


def test_onnx_answers_like_keras_on_real_digits(small_export, test_digits):
    import keras
    x, _ = test_digits
    keras_p = keras.saving.load_model(small_export / "model.keras").predict(x, verbose=0)
    onnx_p = session(small_export / "lenet.onnx").run(None, {"image": x})[0]
    assert np.abs(keras_p - onnx_p).max() <= 1e-5
    assert np.array_equal(keras_p.argmax(1), onnx_p.argmax(1))


def test_input_output_names_and_dynamic_batch(small_export, test_digits):
    x, _ = test_digits
    s = session(small_export / "lenet.onnx")
    (inp,), (out,) = s.get_inputs(), s.get_outputs()
    assert inp.name == "image" and inp.type == "tensor(float)" and inp.shape[1:] == [28, 28, 1]
    assert isinstance(inp.shape[0], str) or inp.shape[0] is None
    assert out.name == "probabilities" and out.shape[1] == 10
    full = s.run(None, {"image": x[:256]})[0]
    for size in (1, 7):
        parts = np.concatenate([s.run(None, {"image": x[i:min(i + size, 256)]})[0] for i in range(0, 256, size)])
        assert np.abs(parts - full).max() <= 1e-6


def test_metadata_round_trip(small_export):
    from lenet import contract
    meta = session(small_export / "lenet.onnx").get_modelmeta().custom_metadata_map
    for key, value in contract.as_metadata().items():
        assert meta[key] == value
    assert json.loads(meta["class_labels"]) == [str(d) for d in range(10)]
    assert meta["input_polarity"] == "white_on_black" and meta["input_centering"] == "center_of_mass"
    assert json.loads(meta["recipe"])["name"] == "fast"
    run = json.loads((small_export / "run.json").read_text())
    assert float(meta["test_accuracy"]) == run["test_accuracy"]
    assert meta["source_model_sha256"] == to_onnx.sha256_file(small_export / "model.keras")
    assert "tf2onnx" in json.loads(meta["versions"]) and meta["opset"] == "17" and meta["exported"]
    assert float(meta["uncertain_below"]) == run["uncertainty"]["uncertain_below"]  # training's, chosen on validation
    assert json.loads((small_export / "export.json").read_text())["uncertainty"] == run["uncertainty"]


def test_exporter_takes_the_threshold_training_recorded_or_none(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"recipe": {"name": "seed"}, "uncertainty": None}))
    assert to_onnx.recorded_uncertainty(tmp_path) is None  # the tutorial: validated on the test set
    (tmp_path / "run.json").write_text(json.dumps({"uncertainty": {"uncertain_below": 0.71}}))
    assert to_onnx.recorded_uncertainty(tmp_path)["uncertain_below"] == 0.71
    (tmp_path / "run.json").write_text(json.dumps({"uncertainty": {"uncertain_below": 7}}))
    with pytest.raises(to_onnx.ExportError, match="unusable threshold"):
        to_onnx.recorded_uncertainty(tmp_path)


def test_export_refreshes_the_run_card(small_export):
    card = json.loads((small_export / "card.json").read_text())
    export = json.loads((small_export / "export.json").read_text())
    assert card["commands"]["export"] == export["command"] and "--quantize int8" in export["command"]
    assert card["exported_models"] == ["lenet-int8.onnx", "lenet-layers.onnx", "lenet.onnx"]
    assert {m["name"] for m in card["metrics"]} >= {"max |Keras − ONNX|", "int8 test accuracy"}


def test_int8_model_agrees_with_fp32(small_export, test_digits):
    x, y = test_digits
    fp32 = session(small_export / "lenet.onnx").run(None, {"image": x})[0].argmax(1)
    int8_session = session(small_export / "lenet-int8.onnx")
    int8 = int8_session.run(None, {"image": x})[0].argmax(1)
    assert np.mean(int8 == fp32) >= 0.99
    ops = {node.op_type for node in onnx.load(small_export / "lenet-int8.onnx").graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    assert int8_session.get_modelmeta().custom_metadata_map["precision"].startswith("int8")
    report = json.loads((small_export / "export.json").read_text())["int8"]
    assert report["agreement_with_fp32"] >= 0.99
    assert abs(report["int8_test_accuracy"] - report["fp32_test_accuracy"]) <= 0.01
    assert set(report["latency_cpu_median"]) == {"fp32", "int8"}
    assert (small_export / "lenet-int8.onnx").stat().st_size < (small_export / "lenet.onnx").stat().st_size / 3


def run_export(*args):
    return subprocess.run([sys.executable, "export/to_onnx.py", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_missing_model_is_one_clear_error(tmp_path):
    done = run_export(tmp_path, "--output", tmp_path / "out.onnx")
    assert done.returncode == 1 and "no model file" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out.onnx").exists()


def test_not_a_model_file(tmp_path):
    (tmp_path / "model.keras").write_bytes(b"this is not a zip file")
    done = run_export(tmp_path)
    assert done.returncode == 1 and "not a readable Keras model" in done.stderr
    assert not list(tmp_path.glob("*.onnx"))


def test_model_with_another_input_shape_is_refused(tmp_path):
    from lenet.model import build_lenet
    build_lenet(width=32, height=32).save(tmp_path / "model.keras")
    done = run_export(tmp_path)
    assert done.returncode == 1 and "not a LeNet digit model" in done.stderr
    assert not list(tmp_path.glob("*.onnx"))


def test_unsupported_opset_and_unwritable_output(small_run, tmp_path):
    done = run_export(small_run, "--opset", "9")
    assert done.returncode == 2 and "--opset 9 is not supported" in done.stderr
    blocker = tmp_path / "file"
    blocker.write_text("x")
    done = run_export(small_run, "--output", blocker / "lenet.onnx")
    assert done.returncode == 1 and "cannot write into" in done.stderr


def test_failed_parity_check_leaves_no_file(small_run, tmp_path):
    target = tmp_path / "strict.onnx"
    done = run_export(small_run, "--output", target, "--tolerance", "0")
    assert done.returncode == 1 and "parity check failed" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_export_that_cannot_unwind_is_ended_and_leaves_no_temporary_file(small_run, tmp_path):
    """As for training (tests/test_train.py): an export whose unwinding is held (here on purpose, by
    catching KeyboardInterrupt once the converted model is staged) is ended by the watchdog, which
    also removes the exporter's temporary files."""
    stuck = ("import signal, sys, time; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
             "sys.path.insert(0, 'export')\n"
             "import lenet.train as train, to_onnx\n"
             "train.INTERRUPT_GRACE_SECONDS = 3\n"
             "def cpu_session(path):\n"
             "    print('staged', path, flush=True)\n"
             "    while True:\n"
             "        try:\n"
             "            time.sleep(60)\n"
             "        except KeyboardInterrupt:\n"
             "            pass\n"
             "to_onnx.cpu_session = cpu_session\n"
             "sys.exit(to_onnx.main(sys.argv[1:]))\n")
    proc = subprocess.Popen([sys.executable, "-c", stuck, str(small_run), "--output", str(tmp_path / "lenet.onnx")],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    for line in proc.stdout:
        if line.startswith("staged"):
            break
    assert [p.name for p in tmp_path.iterdir()] == [".lenet.onnx.tmp"]
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-500:]
    assert "interrupted: nothing was written" in err
    assert list(tmp_path.iterdir()) == []


def test_layers_model_matches_keras_at_every_stage_and_leaves_the_main_contract_alone(small_export, test_digits):
    import keras
    import onnx_layers
    x, _ = test_digits
    main = session(small_export / "lenet.onnx")
    assert [o.name for o in main.get_outputs()] == ["probabilities"] and [i.name for i in main.get_inputs()] == ["image"]
    layers = session(small_export / "lenet-layers.onnx")
    meta = layers.get_modelmeta().custom_metadata_map
    assert meta["source_model_sha256"] == main.get_modelmeta().custom_metadata_map["source_model_sha256"]
    named = [entry["name"] for entry in json.loads(meta["layer_outputs"])]
    assert named == ["conv1", "pool1", "conv2", "pool2", "fc1", "probabilities"]
    assert [entry["name"] for entry in json.loads(meta["filter_outputs"])] == ["conv1_filters", "conv2_filters"]
    model = keras.saving.load_model(small_export / "model.keras")
    outputs = dict(zip([o.name for o in layers.get_outputs()], layers.run(None, {"image": x[:200]})))
    expected = onnx_layers.keras_taps(model).predict(x[:200], verbose=0)
    shapes = {"conv1": (28, 28, 20), "pool1": (14, 14, 20), "conv2": (14, 14, 50), "pool2": (7, 7, 50), "fc1": (500,),
              "probabilities": (10,)}
    for name, keras_value in zip(named, expected):
        assert outputs[name].shape == (200, *shapes[name])
        assert np.abs(outputs[name] - keras_value).max() < 1e-5 * max(1.0, np.abs(keras_value).max()), name
    assert np.array_equal(outputs["conv1_filters"], model.get_layer("conv1").kernel.numpy())
    assert outputs["conv2_filters"].shape == (5, 5, 20, 50)
    report = json.loads((small_export / "export.json").read_text())["layers"]
    assert report["images"] == 1000 and max(report["relative_diff"].values()) <= report["tolerance"] == 1e-5


def test_layers_only_adds_the_layers_file_and_leaves_the_model_alone(small_export, tmp_path):
    import shutil
    run = tmp_path / "run"
    shutil.copytree(small_export, run)
    (run / "lenet-layers.onnx").unlink()
    before = (run / "lenet.onnx").read_bytes()
    assert to_onnx.main([str(run), "--layers-only"]) == 0
    assert (run / "lenet.onnx").read_bytes() == before and (run / "lenet-layers.onnx").is_file()
    report = json.loads((run / "export.json").read_text())
    assert report["layers"]["file"] == "lenet-layers.onnx" and "parity" in report  # the rest of the report kept
    other = tmp_path / "other"
    shutil.copytree(small_export, other)
    (other / "model.keras").write_bytes((other / "model.keras").read_bytes() + b"\0")  # another model file
    assert to_onnx.main([str(other), "--layers-only"]) == 1
