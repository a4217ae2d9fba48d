"""export/to_onnx.py's proof, in the fast tier: `check_parity` refuses an export for each way an
ONNX file can answer otherwise than Keras, and `recorded_uncertainty` takes only a usable threshold.

The ONNX side is a real ONNX Runtime session on the shipped model (and, for the batch check, a
real ONNX graph whose answers depend on the batch it is run in, as a batch norm exported in
training mode does), run on the first 1,000 real MNIST test images; the reference ("Keras") is
that session's own answers, changed by a known amount. Broken variants caught: the export's own
parity check not refusing (any of its four conditions dropped, `<=` made `<`, the tolerance
ignored), and the exporter taking a threshold of 0, 1 or more.
"""

import json
import re

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from reader.runs import SHIPPED_MODEL
from tests.helpers import ROOT, documentation

import to_onnx  # export/ is on pytest's pythonpath

TOLERANCE = 1e-5  # the exporter's default (`--tolerance`)


@pytest.fixture(scope="module")
def shipped():
    return to_onnx.cpu_session(SHIPPED_MODEL)


@pytest.fixture(scope="module")
def answers(shipped, test_digits):
    """The shipped model's probabilities for the 1,000 test digits (what an exact Keras would give)."""
    images, _ = test_digits
    return shipped.run(None, {"image": images})[0]


def parity(session, test_digits, reference, tolerance=TOLERANCE):
    images, labels = test_digits
    return to_onnx.check_parity(session, images, labels, reference, tolerance)


def test_an_onnx_file_that_answers_like_its_reference_passes_with_its_figures(shipped, test_digits, answers):
    images, labels = test_digits
    result = parity(shipped, test_digits, answers)
    assert result["images"] == 1000 and result["tolerance"] == TOLERANCE
    assert result["max_abs_diff"] == 0.0 and result["argmax_agreement"] == 1.0
    accuracy = float(np.mean(answers.argmax(1) == labels))
    assert accuracy > 0.99 and result["keras_test_accuracy"] == result["onnx_test_accuracy"] == accuracy
    assert result["batch_sizes"] == [1, 7, 256] and result["max_abs_diff_across_batch_sizes"] <= 1e-6


def test_probabilities_further_than_the_tolerance_refuse_the_export(shipped, test_digits, answers):
    """One probability of one image 2e-5 off (its answer unchanged) is refused at 1e-5, and passes
    at a tolerance equal to the difference (the tolerance is the largest allowed)."""
    reference = answers.copy()
    runner_up = np.argsort(reference[17])[-2]
    reference[17, runner_up] += np.float32(2e-5)
    assert reference[17].argmax() == answers[17].argmax()
    with pytest.raises(to_onnx.ExportError) as refused:
        parity(shipped, test_digits, reference)
    message = str(refused.value)
    assert message.startswith("parity check failed: max |Keras − ONNX| 2.00e-05 > 1e-05")
    assert message.endswith("; no ONNX file was written") and "argmax" not in message
    difference = float(np.abs(answers - reference).max())
    assert parity(shipped, test_digits, reference, tolerance=difference)["max_abs_diff"] == difference
    with pytest.raises(to_onnx.ExportError, match="max"):
        parity(shipped, test_digits, reference, tolerance=difference * 0.999)


def swapped(answers, index):
    """`answers` with image `index`'s two likeliest classes swapped."""
    changed = answers.copy()
    top, second = np.argsort(changed[index])[-1], np.argsort(changed[index])[-2]
    changed[index, [top, second]] = changed[index, [second, top]]
    return changed


def test_a_different_answer_refuses_the_export_whatever_the_tolerance(shipped, test_digits, answers):
    """One image answered otherwise: refused for the agreement (99.9%) and the accuracy it changes,
    even with a tolerance that lets any probability through."""
    _, labels = test_digits
    right = int(np.flatnonzero(answers.argmax(1) == labels)[0])
    with pytest.raises(to_onnx.ExportError) as refused:
        parity(shipped, test_digits, swapped(answers, right), tolerance=1.0)
    message = str(refused.value)
    assert "argmax agreement 99.9000% < 100%; test accuracy differs between Keras and ONNX;" in message
    assert "max |Keras" not in message


def test_answers_that_change_with_the_batch_refuse_the_export(test_digits, tmp_path):
    """A model that centres its logits on the batch's mean (a batch norm exported in training mode
    does the like) answers image by image otherwise than in batches of 256: refused for the batch
    sizes alone, its reference being its own answers in batches of 256."""
    rng = np.random.default_rng(0)
    weights = numpy_helper.from_array(rng.normal(0, 0.05, (784, 10)).astype(np.float32), "weights")
    shape = numpy_helper.from_array(np.array([-1, 784], np.int64), "shape")
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["image", "shape"], ["flat"]),
         helper.make_node("MatMul", ["flat", "weights"], ["logits"]),
         helper.make_node("ReduceMean", ["logits"], ["batch_mean"], axes=[0], keepdims=1),
         helper.make_node("Sub", ["logits", "batch_mean"], ["centred"]),
         helper.make_node("Softmax", ["centred"], ["probabilities"], axis=1)],
        "batch_dependent", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 28, 28, 1])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 10])], [weights, shape])
    path = tmp_path / "batch_dependent.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)
    session = to_onnx.cpu_session(path)
    images, _ = test_digits
    own = to_onnx.predict(session, images)
    with pytest.raises(to_onnx.ExportError) as refused:
        parity(session, test_digits, own)
    assert str(refused.value).startswith("parity check failed: batch sizes disagree by ")
    assert "max |Keras" not in str(refused.value) and "argmax" not in str(refused.value)
    one_by_one = to_onnx.predict(session, images[:256], batch_size=1)
    assert np.abs(one_by_one - own[:256]).max() > 1e-3  # the graph really depends on its batch


def test_predict_reads_every_image_once_in_order(shipped, test_digits, answers):
    images, _ = test_digits
    for batch_size in (1000, 256, 7):
        assert np.allclose(to_onnx.predict(shipped, images, batch_size), answers, atol=1e-6)


@pytest.mark.parametrize("recorded, usable", [(None, True), (0.5, True), (0.999, True), (0.001, True),
                                              (0.0, False), (1.0, False), (7, False), (-0.2, False),
                                              ("missing", False)])
def test_the_exporter_takes_only_a_threshold_between_0_and_1(tmp_path, recorded, usable):
    """run.json's "uncertainty" as training recorded it: none (the tutorial's), a threshold strictly
    between 0 and 1, or refused with one line naming the file."""
    uncertainty = None if recorded is None else ({} if recorded == "missing" else {"uncertain_below": recorded})
    (tmp_path / "run.json").write_text(json.dumps({"recipe": {"name": "fast"}, "uncertainty": uncertainty}))
    if usable:
        assert to_onnx.recorded_uncertainty(tmp_path) == uncertainty
    else:
        with pytest.raises(to_onnx.ExportError, match=r"run\.json records an unusable threshold"):
            to_onnx.recorded_uncertainty(tmp_path)
    (tmp_path / "run.json").unlink()
    assert to_onnx.recorded_uncertainty(tmp_path) is None  # a run folder without run.json


def test_the_shipped_exports_passed_this_proof():
    """export.json of each shipped model records a proof that passed on all 10,000 test images."""
    for run in ("robust", "fast"):
        proof = json.loads((ROOT / "artifacts" / run / "export.json").read_text())["parity"]
        assert proof["images"] == 10000 and proof["argmax_agreement"] == 1.0
        assert proof["max_abs_diff"] <= proof["tolerance"] == TOLERANCE
        assert proof["keras_test_accuracy"] == proof["onnx_test_accuracy"]


def test_the_exporter_takes_the_opsets_the_readme_names(tmp_path, capsys):
    """README ("Export"): opset 17 by default, `--opset` within 14–18 (what tf2onnx is tested on);
    one outside is refused before anything is loaded."""
    found = re.search(r"opset (\d+) \(tf2onnx is tested on (\d+)–(\d+); `--opset`\)",
                      " ".join(documentation().split()))
    assert found, "the README no longer states the export's opsets"
    default, low, high = map(int, found.groups())
    assert to_onnx.parse_args([str(tmp_path)]).opset == default
    for opset in (low, high):
        assert to_onnx.parse_args([str(tmp_path), "--opset", str(opset)]).opset == opset
    for opset in (low - 1, high + 1):
        with pytest.raises(SystemExit) as refused:
            to_onnx.parse_args([str(tmp_path), "--opset", str(opset)])
        assert refused.value.code == 2 and f"--opset {opset} is not supported" in capsys.readouterr().err
