"""lenet.augment: the 'robust' recipe's augmentation on real MNIST digits — identity at inference,
random while training, values kept in [0, 1], digits still readable, repeatable under a seed."""

import numpy as np
import onnxruntime as ort
import pytest

from tests.helpers import ROOT
from lenet import augment


@pytest.fixture(scope="module")
def digits(test_digits):
    x, y = test_digits
    return x[:256], y[:256]


def stack(seed=1):
    import keras
    return keras.Sequential([keras.Input((28, 28, 1)), *augment.writers_augmentation(2, seed)])


@pytest.mark.parametrize("layer", augment.writers_augmentation(2, 1), ids=lambda layer: layer.name)
def test_each_layer_is_the_identity_at_inference_and_random_in_training(layer, digits):
    x, _ = digits
    assert np.array_equal(np.asarray(layer(x, training=False)), x)
    first, second = np.asarray(layer(x, training=True)), np.asarray(layer(x, training=True))
    assert first.shape == x.shape and first.dtype == np.float32
    assert 0.0 <= first.min() and first.max() <= 1.0
    changed = np.abs(first - x).reshape(len(x), -1).max(1) > 1e-3
    assert 0.05 < changed.mean()  # it does act ...
    assert not np.array_equal(first, second)  # ... differently each call


def test_augmented_digits_keep_their_labels(digits):
    """The shipped fast model (trained without these distortions) still reads most augmented digits:
    the distortions vary the handwriting, they do not turn a 3 into an 8."""
    x, y = digits
    session = ort.InferenceSession(str(ROOT / "artifacts" / "fast" / "lenet.onnx"), providers=["CPUExecutionProvider"])
    augmented = np.asarray(stack()(x, training=True), dtype=np.float32)
    clean = session.run(None, {"image": x})[0].argmax(1)
    distorted = session.run(None, {"image": augmented})[0].argmax(1)
    assert np.mean(clean == y) >= 0.98
    assert np.mean(distorted == y) >= 0.85, np.mean(distorted == y)


def test_geometry_is_repeatable_under_a_seed(digits):
    x, _ = digits
    one, same, other = (augment.RandomGeometry(seed=s) for s in (7, 7, 8))
    first = np.asarray(one(x, training=True))
    assert np.array_equal(first, np.asarray(same(x, training=True)))
    assert not np.array_equal(first, np.asarray(other(x, training=True)))


def test_elastic_field_is_smooth_and_of_simards_size():
    layer = augment.RandomGeometry(alpha=34.0, sigma=4.0, seed=3)
    field = np.asarray(layer.elastic_field(64, 28, 28))
    assert field.shape == (64, 28, 28, 2)
    centre = field[:, 8:20, 8:20]  # away from the zero padding at the border
    assert 0.7 < centre.std() < 2.5  # displacements of about a pixel or two, as in the paper
    neighbours = np.abs(np.diff(centre, axis=1)).mean()
    assert neighbours < 0.25 * np.abs(centre).mean()  # smooth: neighbours move together
    rows, cols = centre[..., 0].ravel(), centre[..., 1].ravel()
    assert abs(np.corrcoef(rows, cols)[0, 1]) < 0.2  # the two axes are drawn independently


def test_stroke_width_both_thickens_and_thins(digits):
    x, _ = digits
    layer = augment.StrokeWidth(rate=1.0, seed=5)
    ink_before, ink_after = x.sum((1, 2, 3)), np.asarray(layer(x, training=True)).sum((1, 2, 3))
    assert (ink_after > ink_before * 1.1).mean() > 0.2 and (ink_after < ink_before * 0.9).mean() > 0.2


def test_low_resolution_keeps_only_coarse_detail(digits):
    x, _ = digits
    coarse = np.asarray(augment.LowResolution(rate=1.0, factors=(4,), seed=2)(x, training=True))
    curvature = lambda images: np.abs(np.diff(images, n=2, axis=2)).mean()  # noqa: E731  (bilinear: piecewise flat)
    assert curvature(coarse) < 0.5 * curvature(x)
    assert np.allclose(coarse.max((1, 2, 3)), x.max((1, 2, 3)), atol=1e-5)  # still full ink


def test_robust_recipe_wraps_exactly_the_tutorial_lenet(mnist):
    from lenet import training
    recipe = training.RECIPES["robust"].with_overrides(epochs=1)
    data = training.prepare_data(*mnist, recipe, 1000, seed=1)
    model = training.compile_lenet(recipe, data, "float32", seed=1)
    assert [layer.name for layer in model.layers] == ["stroke_width", "geometry", "low_resolution", "lenet"]
    assert training.lenet_of(model).count_params() == 1_256_080 == model.count_params()  # no weights added
