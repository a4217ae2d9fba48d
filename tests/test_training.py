"""lenet.training: the data split, the augmentation a recipe puts in front of LeNet, the input
stream and the validation metrics, on real MNIST."""

import keras
import numpy as np

from lenet import contract, training


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


def test_every_recipe_compiles_into_one_training_step(mnist):
    """Keras runs a model's step op by op when one layer says it cannot be compiled (on JAX: the
    fast recipe's 2 epochs took over 170 s on an H200 with Keras's RandomTranslation in front).
    Every layer of every recipe's model can be, and "auto" keeps the step compiled."""
    for name, recipe in training.RECIPES.items():
        data = training.prepare_data(*mnist, recipe.with_overrides(epochs=1), 500, seed=1)
        model = training.compile_lenet(recipe, data, "float32", seed=1)
        assert all(layer.supports_jit for layer in model._flatten_layers()), name
        assert model.jit_compile or keras.backend.backend() == "tensorflow", name  # (TF: a graph, not XLA)


def test_tutorial_recipe_trains_plain_lenet_on_every_image(mnist):
    recipe = training.RECIPES["seed"]
    data = training.prepare_data(*mnist, recipe, 3000, seed=1)
    assert len(data.x_train) == 3000 and np.array_equal(data.x_val, data.x_test)  # the tutorial validates on test
    model = training.compile_lenet(recipe, data, "float32", seed=1)
    assert model.name == "lenet" and training.lenet_of(model) is model  # no augmentation in front


def test_holdout_recipes_keep_validation_apart_and_leave_the_test_set_alone(mnist):
    data = training.prepare_data(*mnist, training.RECIPES["fast"], None, seed=1)
    assert len(data.x_train) == 55000 and len(data.x_val) == 5000 and len(data.x_test) == 10000
    (x_train, _), (x_test, _) = mnist
    order = np.random.default_rng(1).permutation(60000)  # the split prepare_data makes for seed 1
    as_uint8 = lambda x: (x[..., 0] * 255).round().astype(np.uint8)  # noqa: E731
    assert np.array_equal(as_uint8(data.x_val), x_train[order[:5000]])
    assert np.array_equal(as_uint8(data.x_train), x_train[order[5000:]])  # disjoint from validation
    assert np.array_equal(as_uint8(data.x_test), x_test)


def test_model_input_is_the_contract(mnist):
    (x_train, _), _ = mnist
    x = contract.to_model_input(x_train[:5])
    assert x.shape == (5, contract.IMAGE_SIZE, contract.IMAGE_SIZE, 1) and x.dtype == np.float32
    assert x.min() == contract.VALUE_RANGE[0] and x.max() == contract.VALUE_RANGE[1]
    assert np.array_equal(x[..., 0], x_train[:5] / np.float32(255))
    for bad in (x_train[:5].astype(np.float32), x_train[:5, :20]):
        try:
            contract.to_model_input(bad)
        except ValueError as error:
            assert "uint8" in str(error)
        else:
            raise AssertionError("accepted a non-MNIST array")


def test_epoch_batches_use_every_image_once_per_epoch_in_a_seeded_order():
    images = np.arange(300, dtype=np.float32).reshape(300, 1, 1, 1)
    labels = np.arange(300)
    stream = training.EpochBatches(images, labels, batch_size=128, seed=4)
    assert stream.num_batches is None and stream.steps_per_epoch == 3  # endless: one iterator per fit
    epochs = [[stream[epoch * 3 + step][1] for step in range(3)] for epoch in range(3)]
    assert [len(batch) for batch in epochs[0]] == [44, 128, 128]  # the short batch first
    for batches in epochs:
        assert sorted(np.concatenate(batches).tolist()) == list(range(300))  # every image, once
        assert all(np.array_equal(images[batch, 0, 0, 0], batch) for batch in batches)  # images travel with labels
    assert not np.array_equal(np.concatenate(epochs[0]), np.concatenate(epochs[1]))  # a new order each epoch
    again = training.EpochBatches(images, labels, batch_size=128, seed=4)
    assert np.array_equal(again[4][1], epochs[1][1])  # same seed, same stream, in any order of access


def test_held_out_metrics_agree_with_keras_evaluate(mnist):
    recipe = training.RECIPES["seed"].with_overrides(epochs=1)
    data = training.prepare_data(*mnist, recipe, 600, seed=1)
    model = training.compile_lenet(recipe, data, "float32", seed=1)
    metrics = training.HeldOutMetrics(data.x_val[:2000], data.y_val[:2000])
    metrics.set_model(model)
    logs = {}
    metrics.on_epoch_end(0, logs)
    loss, accuracy = model.evaluate(data.x_val[:2000], data.y_val[:2000], batch_size=500, verbose=0)
    assert abs(logs["val_loss"] - loss) < 1e-4 and abs(logs["val_accuracy"] - accuracy) < 1e-6


def test_compiled_steps_are_kept_beside_the_mnist_cache_and_only_on_jax(monkeypatch, tmp_path):
    from lenet import device
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert device.compilation_cache_dir() == tmp_path / "lenet" / "jax"
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path / "mine"))
    assert device.compilation_cache_dir() == tmp_path / "mine"   # a user's own JAX setting wins
    if keras.backend.backend() != "jax":  # other backends keep no compiled steps and touch no folder
        assert device.use_compilation_cache() is None
        assert not (tmp_path / "mine").exists()
