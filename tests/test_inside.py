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


def test_each_map_on_its_own_colour_scale(served):
    """Every map's own peak reaches the ramp's lightest colour, however weak the map (with one scale
    per layer, conv2's weaker maps were all but black); a map that is 0 everywhere stays black."""
    maps = np.zeros((4, 4, 3), np.float32)
    maps[..., 0], maps[..., 1] = 2.0, 0.01
    maps[0, 0, 1] = 0.02
    grid = inside.activation_grid(maps, columns=3, scale=1)
    lightest = np.asarray(inside.coloured(np.ones((1, 1)), inside.MAGMA))[0, 0]
    black = np.asarray(inside.coloured(np.zeros((1, 1)), inside.MAGMA))[0, 0]
    tile = [grid[inside.GAP:inside.GAP + 4, inside.GAP + k * (4 + inside.GAP):inside.GAP + k * (4 + inside.GAP) + 4]
            for k in range(3)]
    assert (tile[0] == lightest).all()                                    # strong and flat: its peak everywhere
    assert (tile[1][0, 0] == lightest).all() and not (tile[1][1, 1] == lightest).all()  # weak: its peak still lightest
    assert (tile[2] == black).all()                                       # silent
    summary = inside.summarise([{"name": "conv", "shows": ""}], {"conv": maps}, {"0": 1.0})
    assert summary["layers"][0]["map_max"] == [0.0, 2.0] and summary["layers"][0]["silent_maps"] == 1


def test_conv2_filters_fit_a_page_as_blocks(served):
    """conv2's 50 filters as 10 blocks across, 5 down, each block 4×5 of its 5×5 kernels: about as
    wide as tall, where one row per filter is 50 rows tall."""
    _, layers = served
    blocks = inside.filter_blocks(layers.filters()["conv2_filters"], block_columns=5, blocks_per_row=10, scale=3)
    block_w, block_h = 5 * 15 + 6, 4 * 15 + 5
    assert blocks.shape == (5 * block_h + 6 * inside.BLOCK_GAP, 10 * block_w + 11 * inside.BLOCK_GAP, 3)
    assert blocks.shape[0] < 500


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
    height = inside.STRIP_SIZE[1]  # bars above, then the unit axis: a line, ticks and numbers every 100 units
    assert strip.shape[0] == height + inside.AXIS_HEIGHT and (strip[height] == inside.AXIS_COLOUR).all()
    below = (strip[height + 1:] != 255).any(axis=2)
    assert below[:, :30].any() and below[:, 985:].any() and below[:, 185:215].any()  # 0, 500 and 100


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
