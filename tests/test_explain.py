"""reader.explain: the occlusion heatmap shown next to each answer (the page's "Why" picture), on the shipped
model and real MNIST digits."""

import numpy as np
import pytest
from PIL import Image

from tests.helpers import ROOT
from reader import explain, pipeline
from reader.model import DigitModel


@pytest.fixture(scope="module")
def model():
    return DigitModel(ROOT / "artifacts" / "fast" / "lenet.onnx", providers="cpu")


def full_occlusion_map(model, image, target):
    """The same map computed the slow way: every window run, none skipped."""
    size, patch = image.shape[0], explain.PATCH
    corners = explain.window_corners(size)
    scores = model.probabilities(explain.occlusion_batch(image, corners))[:, target]
    heat, cover = np.zeros((size, size)), np.zeros((size, size))
    for (y, x), score in zip(corners, scores[1:]):
        heat[y:y + patch, x:x + patch] += max(scores[0] - score, 0)
        cover[y:y + patch, x:x + patch] += 1
    heat /= cover
    return heat / heat.max()


def test_windows_cover_every_pixel_including_the_last_rows():
    corners = explain.window_corners(28)
    covered = np.zeros((28, 28), bool)
    for y, x in corners:
        covered[y:y + explain.PATCH, x:x + explain.PATCH] = True
    # 7×7 windows every 4 px (0, 4, …, 20) and one shifted to the last rows and columns (21): 49
    assert covered.all() and len(corners) == 49 and sorted({y for y, _ in corners}) == [0, 4, 8, 12, 16, 20, 21]


def test_skipping_windows_without_ink_gives_the_same_map(model, test_digits):
    for image, label in list(zip(*test_digits))[:10]:
        image = image[..., 0]  # (28, 28) float32 in [0, 1]
        fast = explain.occlusion_map(model, image, int(label))
        np.testing.assert_allclose(fast, full_occlusion_map(model, image, int(label)), atol=1e-6)


def test_map_is_normalised_and_points_at_the_ink(model, test_digits):
    images, labels = test_digits
    for image, label in zip(images[:10], labels[:10]):
        image = image[..., 0]  # (28, 28) float32 in [0, 1]
        heat = explain.occlusion_map(model, image, int(label))
        assert heat.shape == image.shape and heat.min() >= 0 and heat.max() == pytest.approx(1.0)
        # Evidence sits on and near the strokes: the hottest pixel is within one window of ink.
        y, x = np.unravel_index(heat.argmax(), heat.shape)
        near = image[max(0, y - explain.PATCH):y + explain.PATCH, max(0, x - explain.PATCH):x + explain.PATCH]
        assert near.max() > 0.5


def test_blank_image_has_an_all_zero_map(model):
    blank = np.zeros((28, 28), np.float32)
    assert not explain.occlusion_map(model, blank, 3).any()


@pytest.mark.parametrize("example", ["mnist_test_0000_digit_7.png", "mnist_test_0001_digit_2.png",
                                     "mnist_test_0061_digit_8.png"])
def test_the_why_picture_explains_the_predicted_class(model, example):
    """The heatmap `read_digit` returns (the page's "Why" picture) is the occlusion map of the class
    it predicts, not of another class. Broken variant caught: the heatmap explaining class 0 (or any
    fixed class) instead of the predicted one."""
    picture = Image.open(ROOT / "artifacts" / "examples" / example)
    reading = pipeline.read_digit(model, picture)
    predicted = int(reading.label)
    assert reading.label == example[-5]  # the examples are read right
    expected = explain.overlay(reading.model_input, explain.occlusion_map(model, reading.model_input, predicted))
    assert np.array_equal(reading.heatmap, expected)
    for other in {0, 1, (predicted + 1) % 10} - {predicted}:
        wrong = explain.overlay(reading.model_input, explain.occlusion_map(model, reading.model_input, other))
        assert not np.array_equal(reading.heatmap, wrong), other
    assert pipeline.read_digit(model, picture, heatmap=False).heatmap is None
