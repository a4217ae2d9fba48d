"""lenet.training: the recipes, the data split and the augmentation stream."""

import numpy as np

from lenet import training


def test_fast_recipe_shifts_whole_digits_by_at_most_two_pixels_only_while_training(mnist):
    recipe = training.RECIPES["fast"].with_overrides(epochs=1)
    data = training.prepare_data(*mnist, recipe, 1000, seed=1)
    model = training.compile_lenet(recipe, data, "float32", seed=1)
    lenet = training.lenet_of(model)
    assert lenet.name == "lenet" and lenet.count_params() == 1_256_080
    shifts = model.get_layer("random_shifts")
    images = np.zeros((300, 28, 28, 1), np.float32)
    images[:, 10:18, 12:16, 0] = 1.0  # a block well inside the frame
    moved = np.asarray(shifts(images, training=True))
    assert np.allclose(moved.sum(axis=(1, 2, 3)), 32.0)  # whole pixels: nothing smeared, lost or added
    rows = np.array([np.flatnonzero(m[:, :, 0].any(1))[0] for m in moved]) - 10
    cols = np.array([np.flatnonzero(m[:, :, 0].any(0))[0] for m in moved]) - 12
    assert set(rows) <= {-2, -1, 0, 1, 2} and set(cols) <= {-2, -1, 0, 1, 2}
    assert len(set(rows)) >= 4 and len(set(cols)) >= 4  # and it really does move them
    assert np.array_equal(np.asarray(shifts(images, training=False)), images)


def test_fast_recipe_holds_out_validation_and_leaves_the_test_set_alone(mnist):
    data = training.prepare_data(*mnist, training.RECIPES["fast"], None, seed=1)
    assert len(data.x_train) == 55000 and len(data.x_val) == 5000 and len(data.x_test) == 10000
    (x_train, _), (x_test, _) = mnist
    order = np.random.default_rng(1).permutation(60000)  # the split prepare_data makes for seed 1
    as_uint8 = lambda x: (x[..., 0] * 255).round().astype(np.uint8)  # noqa: E731
    assert np.array_equal(as_uint8(data.x_val), x_train[order[:5000]])
    assert np.array_equal(as_uint8(data.x_train), x_train[order[5000:]])  # disjoint from validation
    assert np.array_equal(as_uint8(data.x_test), x_test)


def test_seed_recipe_is_the_tutorial(mnist):
    recipe = training.RECIPES["seed"]
    assert (recipe.optimizer, recipe.learning_rate, recipe.batch_size, recipe.epochs) == ("sgd", 0.01, 128, 20)
    assert recipe.validation == "test" and recipe.shift_pixels == 0 and recipe.precision == "float32"
    data = training.prepare_data(*mnist, recipe, 3000, seed=1)
    assert len(data.x_train) == 3000 and np.array_equal(data.x_val, data.x_test)
