"""reader.explain: the occlusion heatmap shown next to each answer, on the shipped model and real MNIST digits."""

import numpy as np
import pytest

from tests.helpers import ROOT
from reader import explain
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
    assert covered.all() and len(corners) == 64


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
