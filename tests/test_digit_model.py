"""reader.model: the served model's contract, read from the ONNX file's metadata, and the checks on
what the model is given — on the shipped model, real MNIST digits and model files made from it.

The contract these tests hold the code to is written out here, from the README and lenet's own
definition (lenet/contract.py), never read from `reader.model`'s constants: 28×28×1 float32 in
[0, 1], white ink on black, centred by centre of mass, a 20-pixel digit box, classes "0"–"9".
"""

import json
import re

import numpy as np
import onnx
import pytest

from demo import serving
from reader.errors import InputError
from reader.model import Contract, DigitModel, ModelError, first_line
from reader.runs import SHIPPED_MODEL
from lenet import contract as lenet_contract
from tests.helpers import ROOT, documentation


@pytest.fixture(scope="module")
def model():
    return DigitModel(SHIPPED_MODEL, providers="cpu", threads=1)


@pytest.fixture(scope="module")
def digits(test_digits):
    """Ten real test digits, (10, 28, 28, 1) float32 in [0, 1] (each has pixels at exactly 0 and 1)."""
    images, labels = test_digits
    return images[:10], labels[:10]


def readme_figure(pattern: str) -> float:
    """A "not sure" threshold as the README states it (`pattern` holds one group, the figure)."""
    found = re.search(pattern, " ".join(documentation().split()))
    assert found, f"the README no longer says {pattern!r}"
    return float(found.group(1))


SHIPPED_THRESHOLD = r"`uncertain_below`: (0\.\d+) in `artifacts/robust`"
DEFAULT_THRESHOLD = r"the demo's default, (0\.\d+)\)"


def test_the_shipped_model_carries_the_contract_lenet_defines(model):
    """The file is the only thing training and the demo share: what the demo reads from it is what
    lenet/contract.py wrote, and the threshold is the one the README states."""
    assert model.contract == Contract(input_name="image", output_name="probabilities", image_size=28, digit_box=20,
                                      class_labels=tuple("0123456789"), uncertain_below=readme_figure(SHIPPED_THRESHOLD))
    for key, value in lenet_contract.as_metadata().items():
        assert model.metadata[key] == value, key
    assert Contract.from_metadata({**lenet_contract.as_metadata(), "uncertain_below": "0.87"}) == model.contract


def test_lenet_contract_turns_mnist_bytes_into_the_model_input(mnist):
    """lenet.contract.to_model_input: uint8 0–255 → float32 (N, 28, 28, 1), 0 → 0.0 and 255 → 1.0 exactly."""
    _, (images, _) = mnist
    converted = lenet_contract.to_model_input(images[:50])
    assert converted.dtype == np.float32 and converted.shape == (50, 28, 28, 1)
    assert np.array_equal(np.rint(converted[..., 0] * 255).astype(np.uint8), images[:50])
    assert converted.min() == 0.0 and converted.max() == 1.0
    with pytest.raises(ValueError, match="uint8"):
        lenet_contract.to_model_input(images[:2].astype(np.float32))
    with pytest.raises(ValueError, match="28"):
        lenet_contract.to_model_input(np.zeros((2, 28, 27), np.uint8))


def test_real_digits_are_read_in_either_shape(model, digits):
    images, labels = digits
    with_channel = model.probabilities(images)
    assert with_channel.shape == (10, 10) and np.allclose(with_channel.sum(axis=1), 1, atol=1e-5)
    assert np.array_equal(with_channel.argmax(axis=1), labels)
    assert np.array_equal(model.probabilities(images[..., 0]), with_channel)
    assert np.allclose(model.probabilities(images.astype(np.float64)), with_channel)  # converted, not refused


def test_the_edges_of_the_range_are_accepted(model):
    """0 and 1 are inside [0, 1]: a blank input and an all-ink input are read, not refused."""
    edges = np.stack([np.zeros((28, 28), np.float32), np.ones((28, 28), np.float32)])
    assert model.probabilities(edges).shape == (2, 10)


@pytest.mark.parametrize("spoil", ["0-255", "negative", "just over 1", "just under 0"])
def test_inputs_outside_zero_to_one_are_refused(model, digits, spoil):
    """Broken variant caught: `DigitModel.probabilities` without its range check (MNIST's raw
    0–255, or a centred −0.5–0.5, would be read as confident nonsense)."""
    images, _ = digits
    spoilt = {"0-255": images * 255, "negative": images - 0.5,
              "just over 1": np.where(images == 1, np.float32(1.001), images),
              "just under 0": np.where(images == 0, np.float32(-0.001), images)}[spoil]
    with pytest.raises(InputError, match=r"^The model takes values in \[0, 1\]\.$"):
        model.probabilities(spoilt)


@pytest.mark.parametrize("shape", [(3, 28, 27), (3, 27, 28, 1), (3, 28, 28, 3), (0, 28, 28), (28, 28), (784,)])
def test_arrays_of_another_shape_are_refused(model, shape):
    with pytest.raises(InputError, match=r"^The model takes a batch of 28×28 images, got an array of shape"):
        model.probabilities(np.zeros(shape, np.float32))


@pytest.mark.parametrize("values, message", [
    (np.full((1, 28, 28), "0.5"), "numbers"),
    (np.zeros((1, 28, 28), np.complex64), "numbers"),
    (np.zeros((1, 28, 28), bool), "numbers"),
    (np.full((1, 28, 28), np.nan, np.float32), "NaN or infinite"),
    (np.where(np.eye(28, dtype=bool), np.inf, 0).astype(np.float32)[None], "NaN or infinite"),
])
def test_non_numbers_and_non_finite_values_are_refused(model, values, message):
    with pytest.raises(InputError, match=message):
        model.probabilities(values)


def model_with(tmp_path, change: dict | None = None, remove: tuple = ()):
    """The shipped model saved with its metadata changed: `change` sets keys, `remove` drops them."""
    proto = onnx.load(SHIPPED_MODEL)
    props = {p.key: p.value for p in proto.metadata_props if p.key not in remove}
    props.update(change or {})
    del proto.metadata_props[:]
    onnx.helper.set_model_props(proto, props)
    path = tmp_path / "model.onnx"
    onnx.save(proto, path)
    return path


# What a model trained or exported elsewhere may want, and what the refusal must name.
FOREIGN = {
    "black ink on white": ({"input_polarity": "black_on_white"}, "black_on_white"),
    "0-255 inputs": ({"input_range": "[0, 255]"}, "input_range"),
    "-1-1 inputs": ({"input_range": "[-1.0, 1.0]"}, "input_range"),
    "uint8 inputs": ({"input_dtype": "uint8"}, "uint8"),
    "centred by box": ({"input_centering": "bounding_box"}, "bounding_box"),
    "colour input": ({"input_shape": '["batch", 28, 28, 3]'}, "shape"),
    "non-square input": ({"input_shape": '["batch", 28, 32, 1]'}, "shape"),
    "channels first": ({"input_shape": '["batch", 1, 28, 28]'}, "shape"),
    "no batch axis": ({"input_shape": "[28, 28, 1]"}, "shape"),
    "digit box bigger than the input": ({"input_digit_box": "29"}, "digit box 29"),
    "no digit box": ({"input_digit_box": "0"}, "digit box 0"),
}


@pytest.mark.parametrize("case", FOREIGN)
def test_a_model_with_a_foreign_contract_is_refused_in_one_line(tmp_path, case):
    """Broken variant caught (before this, only by a slow subprocess test): the demo accepting a
    model whose contract it does not implement (any check in `Contract.from_metadata` removed)."""
    change, named = FOREIGN[case]
    path = model_with(tmp_path, change)
    with pytest.raises(ModelError) as refused:
        DigitModel(path, providers="cpu")
    message = str(refused.value)
    assert message.startswith(f"cannot serve {path}: ") and named in message and "\n" not in message


@pytest.mark.parametrize("missing", ["input_name", "input_shape", "input_polarity", "input_range", "input_dtype",
                                     "input_centering", "input_digit_box", "class_labels", "output_name"])
def test_a_model_without_its_contract_is_refused(tmp_path, missing):
    path = model_with(tmp_path, remove=(missing,))
    with pytest.raises(ModelError, match=rf"no input contract in its metadata \(missing {missing}\); export it with"):
        DigitModel(path, providers="cpu")


def test_the_contract_it_implements_is_accepted_whatever_else_the_file_says(tmp_path, model):
    """Keys it does not read (recipe, versions) and the threshold's absence do not matter: without
    `uncertain_below` the demo falls back to its default (the README's figure)."""
    path = model_with(tmp_path, {"recipe": "null", "versions": "{}"}, remove=("uncertain_below",))
    other = DigitModel(path, providers="cpu")
    assert other.contract == Contract("image", "probabilities", 28, 20, tuple("0123456789"),
                                    readme_figure(DEFAULT_THRESHOLD))
    path = model_with(tmp_path, {"uncertain_below": "0.42"})
    assert DigitModel(path, providers="cpu").contract.uncertain_below == 0.42


def test_a_missing_or_unreadable_file_is_refused_in_one_line(tmp_path):
    """The fast twin of the app's subprocess test: no file says so; a file that is no ONNX model
    says ONNX Runtime's first line, at most 300 characters."""
    with pytest.raises(ModelError, match=rf"^no model file at {re.escape(str(tmp_path / 'absent.onnx'))}$"):
        DigitModel(tmp_path / "absent.onnx", providers="cpu")
    (tmp_path / "text.onnx").write_text("not a model\n" * 100)
    with pytest.raises(ModelError) as refused:
        DigitModel(tmp_path / "text.onnx", providers="cpu")
    assert str(refused.value).startswith(f"cannot serve {tmp_path / 'text.onnx'}: ") and "\n" not in str(refused.value)
    assert first_line(ValueError("x" * 1000 + "\nmore")) == "x" * 300
    assert first_line(ValueError("\n  the reason\nmore")) == "the reason" and first_line(KeyError()) == "KeyError"


@pytest.mark.parametrize("box", [1, 28])
def test_a_digit_box_from_one_pixel_to_the_whole_input_is_served(tmp_path, box):
    """The digit box's edges are inside the contract (29 and 0 are refused above)."""
    assert DigitModel(model_with(tmp_path, {"input_digit_box": str(box)}), providers="cpu").contract.digit_box == box


def test_the_app_refuses_a_foreign_model_before_it_starts(tmp_path, capsys):
    """`python app.py --model FILE` (demo.serving.start, what app.py runs first): exit status 2
    and one line naming the file and what the model wants, before the process is touched."""
    path = model_with(tmp_path, {"input_polarity": "black_on_white"})
    with pytest.raises(SystemExit) as exit:
        serving.start(["--model", str(path)], announce=False)
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit.value.code == 2 and len(lines) == 1
    assert lines[0].startswith("error: cannot serve ") and str(path) in lines[0] and "black_on_white" in lines[0]


def test_the_shipped_fast_model_has_the_threshold_the_readme_says():
    """It carries none (trained before runs recorded one), so it gets the demo's default."""
    fast = DigitModel(ROOT / "artifacts" / "fast" / "lenet.onnx", providers="cpu")
    assert "uncertain_below" not in fast.metadata
    assert fast.contract.uncertain_below == readme_figure(DEFAULT_THRESHOLD)
    assert json.loads(fast.metadata["class_labels"]) == list("0123456789")


@pytest.mark.parametrize("loader, maker", [
    ("reader.not_digit.NotDigitCheck", "fit_not_digit.py"),
    ("reader.numbers.whole_digit.WholeDigitCheck", "fit_number_weights.py"),
    ("reader.numbers.pairs.PairReader", "fit_pair_reader.py"),
    ("reader.numbers.line_reader.LineReader", "fit_line_reader.py"),
    ("reader.numbers.line_not_digits.second_reader", "fit_line_reader.py --not-digits"),
], ids=["not-digit check", "whole-digit check", "pair reader", "line reader", "line reader for non-digits"])
def test_each_fitted_graph_refuses_a_missing_corrupt_or_foreign_file_and_names_its_maker(loader, maker, tmp_path):
    """The reader's fitted graphs all open through `fitted_session`: a missing file, a truncated
    one and another graph (LeNet itself) each give one RuntimeError naming the command that makes it."""
    import importlib
    module, name = loader.rsplit(".", 1)
    load = getattr(importlib.import_module(module), name)
    (tmp_path / "corrupt.onnx").write_bytes(SHIPPED_MODEL.read_bytes()[:500])
    for path in (tmp_path / "absent.onnx", tmp_path / "corrupt.onnx", SHIPPED_MODEL):
        with pytest.raises(RuntimeError) as error:
            load(path)
        message = str(error.value)
        assert "\n" not in message and str(path) in message and f"python benchmarks/{maker} makes it" in message
    assert "other inputs" in message and "inputs [('image'" in message   # what LeNet's graph has, said
