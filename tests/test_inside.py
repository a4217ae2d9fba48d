"""reader.inside: the Inside LeNet pictures and summary, from the shipped layers file (ONNX Runtime)."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from reader import inside
from reader.model import DigitModel
from reader.runs import SHIPPED_MODEL
from tests.helpers import ROOT

SEVEN = ROOT / "artifacts" / "examples" / "mnist_test_0000_digit_7.png"


@pytest.fixture(scope="module")
def served():
    model = DigitModel(SHIPPED_MODEL, "cpu", threads=1)
    return model, inside.LayerModel.beside(model)


def tiles_in(picture: np.ndarray) -> tuple[int, int]:
    """(rows, columns) of tiles in a grid, counted from its white separator lines."""
    white = (picture == 255).all(axis=2)
    def runs(lines):
        separators = np.flatnonzero(lines)
        return int(np.sum(np.diff(separators) > 1))
    return runs(white.all(axis=1)), runs(white.all(axis=0))


def test_every_stage_of_a_real_seven(served):
    model, layers = served
    reading = inside.look_inside(model, layers, SEVEN)
    assert reading.summary["prediction"]["label"] == "7"
    shapes = {layer["name"]: layer["shape"] for layer in reading.summary["layers"]}
    assert shapes == {"conv1": [28, 28, 20], "pool1": [14, 14, 20], "conv2": [14, 14, 50], "pool2": [7, 7, 50],
                      "fc1": [500], "probabilities": [10]}
    assert tiles_in(reading.pictures["conv1"]) == (4, 5) and tiles_in(reading.pictures["pool1"]) == (4, 5)
    assert tiles_in(reading.pictures["conv2"]) == (5, 10) and tiles_in(reading.pictures["pool2"]) == (5, 10)
    assert tiles_in(reading.pictures["conv1_filters"]) == (4, 5)
    assert reading.pictures["conv1"].shape == (4 * 84 + 5 * inside.GAP, 5 * 84 + 6 * inside.GAP, 3)
    assert abs(sum(reading.probabilities.values()) - 1) < 1e-5
    assert max(reading.probabilities, key=reading.probabilities.get) == "7"


def test_the_layers_file_answers_like_the_served_model(served, mnist):
    model, layers = served
    _, (x, _) = mnist
    images = (x[:50].astype(np.float32) / 255)
    direct = model.probabilities(images)
    staged = np.stack([layers.activations(image)["probabilities"] for image in images])
    assert np.abs(direct - staged).max() < 1e-5


def test_one_colour_scale_per_layer(served):
    """The strongest map of a layer reaches the ramp's lightest colour; a weaker one does not."""
    maps = np.zeros((4, 4, 2), np.float32)
    maps[..., 0], maps[..., 1] = 2.0, 0.5
    grid = inside.activation_grid(maps, columns=2, scale=1)
    lightest = np.asarray(inside.coloured(np.ones((1, 1)), inside.MAGMA))[0, 0]
    first, second = grid[inside.GAP:inside.GAP + 4, inside.GAP:inside.GAP + 4], grid[inside.GAP:inside.GAP + 4, 2 * inside.GAP + 4:2 * inside.GAP + 8]
    assert (first == lightest).all() and not (second == lightest).all()
    assert (inside.activation_grid(np.zeros((4, 4, 3), np.float32), 3, 1)[inside.GAP:-inside.GAP, inside.GAP:inside.GAP + 4] != 255).all()


def test_conv2_filters_grid_has_a_row_per_output_channel(served):
    _, layers = served
    kernels = layers.filters()
    assert kernels["conv1_filters"].shape == (5, 5, 1, 20) and kernels["conv2_filters"].shape == (5, 5, 20, 50)
    assert tiles_in(inside.filter_grid(kernels["conv2_filters"], columns=20, scale=3)) == (50, 20)


def test_the_strongest_units_are_marked(served):
    units = np.zeros(500, np.float32)
    units[[3, 77, 400]] = [1.0, 2.0, 3.0]
    strip = inside.unit_strip(units)
    red = (strip == (200, 30, 30)).all(axis=2).any(axis=0)
    assert sorted(set(np.flatnonzero(red) // 2)) == [3, 77, 400]


def test_a_layers_file_of_another_model_is_not_used(tmp_path):
    shutil.copy(ROOT / "artifacts" / "fast" / "lenet.onnx", tmp_path / "lenet.onnx")
    shutil.copy(ROOT / "artifacts" / "seed" / "lenet-layers.onnx", tmp_path / "lenet-layers.onnx")
    assert inside.LayerModel.beside(DigitModel(tmp_path / "lenet.onnx", "cpu")) is None
    (tmp_path / "lenet-layers.onnx").unlink()
    assert inside.LayerModel.beside(DigitModel(tmp_path / "lenet.onnx", "cpu")) is None


def test_blank_picture_has_nothing_inside(served):
    model, layers = served
    assert inside.look_inside(model, layers, Image.new("RGBA", (280, 280), "white")) is None


@pytest.mark.slow
def test_predict_inside_writes_the_pictures_and_summary(tmp_path):
    done = subprocess.run([sys.executable, "-m", "demo.predict", "--inside", "--json", "--out", str(tmp_path),
                           str(SEVEN)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)[0]
    folder = tmp_path / SEVEN.stem
    assert result["label"] == "7" and result["inside"] == str(folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted(result["files"])
    assert {"conv1.png", "conv2.png", "fc1.png", "summary.json"} <= set(result["files"])
    assert Image.open(folder / "conv1.png").size == (5 * 84 + 6 * inside.GAP, 4 * 84 + 5 * inside.GAP)
