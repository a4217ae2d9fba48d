"""Training mechanics shared by `python -m lenet.train` and the benchmarks: data preparation, the
recipe's augmentation in front of LeNet (active only while training), mixed precision, compiling,
the input stream and fitting. Keras 3 only (no `tf.*`). The recipes themselves are `lenet.recipes`."""

import time
from dataclasses import dataclass

import keras
import numpy as np
from keras import layers

from lenet import contract
from lenet.augment import RandomShift, writers_augmentation
from lenet.model import build_lenet
from lenet.recipes import RECIPES, Recipe  # noqa: F401  (RECIPES: re-exported for callers)

VALIDATION_SIZE = 5_000  # held out of the 60,000 training images by the fast recipe


@dataclass
class Data:
    x_train: np.ndarray  # float32 (N, 28, 28, 1) in [0, 1]
    y_train: np.ndarray  # float32 one-hot (N, classes)
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray   # integer labels (N,)


def prepare_data(train, test, recipe: Recipe, limit: int | None, seed: int) -> Data:
    """Shuffle the training images with `seed`, keep `limit` of them, hold out validation images."""
    (x_train, y_train), (x_test, y_test) = train, test
    order = np.random.default_rng(seed).permutation(len(x_train))[:limit]
    x_train, y_train = x_train[order], y_train[order]
    if recipe.validation == "holdout":
        n_val = min(VALIDATION_SIZE, len(x_train) // 10)
        x_val, y_val = x_train[:n_val], y_train[:n_val]
        x_train, y_train = x_train[n_val:], y_train[n_val:]
    else:
        x_val, y_val = x_test, y_test
    one_hot = np.eye(contract.CLASSES, dtype=np.float32)
    return Data(contract.to_model_input(x_train), one_hot[y_train], contract.to_model_input(x_val), one_hot[y_val],
                contract.to_model_input(x_test), y_test.astype(np.int64))


def make_optimizer(recipe: Recipe, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    if recipe.schedule == "one-cycle":
        total = max(1, steps_per_epoch * recipe.epochs)
        warmup = max(1, total // 5)
        rate = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=recipe.learning_rate / 25, decay_steps=max(1, total - warmup), alpha=0.0,
            warmup_target=recipe.learning_rate, warmup_steps=warmup)
    else:
        rate = recipe.learning_rate
    if recipe.optimizer == "adam":
        average = {"use_ema": True, "ema_momentum": recipe.ema_momentum} if recipe.ema_momentum else {}
        return keras.optimizers.Adam(learning_rate=rate, **average)
    return keras.optimizers.SGD(learning_rate=rate)


def steps_per_epoch(data: Data, recipe: Recipe) -> int:
    return -(-len(data.x_train) // recipe.batch_size)


def augmentation_layers(recipe: Recipe, seed: int) -> list[layers.Layer]:
    """The recipe's training-only augmentation, in the order it acts (empty for the tutorial)."""
    if recipe.distortions == "writers":
        return writers_augmentation(recipe.shift_pixels, seed)
    if recipe.distortions != "none":
        raise ValueError(f"unknown distortions {recipe.distortions!r}")
    if not recipe.shift_pixels:
        return []
    return [RandomShift(recipe.shift_pixels, seed=seed, name="random_shifts")]


def compile_lenet(recipe: Recipe, data: Data, precision: str = "float32", seed: int = 1) -> keras.Model:
    """LeNet compiled for `recipe`; `precision` "mixed_bfloat16" computes in bfloat16 (weights stay
    float32, softmax in float32). With augmentation, LeNet is wrapped behind the recipe's layers
    (`lenet.augment.RandomShift` for 'fast'), which act only while training; `lenet_of(model)` is
    LeNet itself."""
    model = build_lenet(dtype=None if precision == "float32" else precision)
    augmentation = augmentation_layers(recipe, seed)
    if augmentation:
        model = keras.Sequential([keras.Input(model.input_shape[1:]), *augmentation, model], name="lenet_augmented")
    model.compile(optimizer=make_optimizer(recipe, steps_per_epoch(data, recipe)),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def lenet_of(model: keras.Model) -> keras.Model:
    """The LeNet inside a model made by `compile_lenet`."""
    return model.get_layer("lenet") if model.name == "lenet_augmented" else model


class EpochTimer(keras.callbacks.Callback):
    """Records the wall time of each epoch (training plus validation)."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def predict_in_batches(model: keras.Model, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Probabilities for `images`, one `predict_on_batch` call per batch: no input pipeline is built."""
    return np.concatenate([np.asarray(model.predict_on_batch(images[i:i + batch_size]), dtype=np.float32)
                           for i in range(0, len(images), batch_size)])


class HeldOutMetrics(keras.callbacks.Callback):
    """Adds val_loss and val_accuracy (categorical cross-entropy and accuracy on the validation
    images) to each epoch's logs. It calls the model batch by batch (`predict_in_batches`) instead of
    passing validation_data to fit: Keras's evaluate() frees and rebuilds a tf.data iterator every
    epoch, and freeing one is what stalled training with the CPU idle (issue 16)."""

    def __init__(self, images: np.ndarray, one_hot: np.ndarray):
        super().__init__()
        self.images, self.one_hot = images, one_hot

    def on_epoch_end(self, epoch, logs=None):
        probabilities = np.clip(predict_in_batches(self.model, self.images), 1e-7, 1 - 1e-7)
        logs["val_loss"] = float(-(self.one_hot * np.log(probabilities)).sum(1).mean())
        logs["val_accuracy"] = float(np.mean(probabilities.argmax(1) == self.one_hot.argmax(1)))


class EpochBatches(keras.utils.PyDataset):
    """Training batches (images, one-hot labels) as NumPy arrays, epoch after epoch without end: each
    epoch in a new order drawn from (seed, epoch). Every example is used once per epoch; the epoch's
    one short batch (when the batch size does not divide the examples) comes first, so Keras's look at
    the first two batches sees both sizes and leaves the batch dimension open.

    Endless on purpose: with `steps_per_epoch`, Keras then keeps ONE input iterator for the whole
    `fit` instead of freeing and rebuilding a tf.data iterator at every epoch boundary, which is what
    stalled training with the CPU idle (issue 16). Batches are made in order on one thread
    (workers=1), so a seed gives the same stream every time and on every backend."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int):
        super().__init__(workers=1, use_multiprocessing=False)
        self.images, self.labels, self.batch_size, self.seed = images, labels, batch_size, seed
        self.steps_per_epoch = -(-len(images) // batch_size)
        first = len(images) - batch_size * (self.steps_per_epoch - 1)  # the short batch, or a full one
        self._bounds = [0, *range(first, len(images) + 1, batch_size)]
        self._order_of = (-1, None)

    @property
    def num_batches(self):
        return None  # endless

    def order(self, epoch: int) -> np.ndarray:
        """The example order of `epoch`: a permutation drawn from (seed, epoch)."""
        if self._order_of[0] != epoch:
            self._order_of = (epoch, np.random.default_rng([self.seed, epoch]).permutation(len(self.images)))
        return self._order_of[1]

    def __getitem__(self, index: int):
        epoch, step = divmod(index, self.steps_per_epoch)
        rows = self.order(epoch)[self._bounds[step]:self._bounds[step + 1]]
        return self.images[rows], self.labels[rows]


def fit(model: keras.Model, data: Data, recipe: Recipe, verbose=1, callbacks=(), seed: int = 1) -> list[dict]:
    """Train; return the history as one row per epoch (losses, accuracies, seconds)."""
    timer = EpochTimer()
    batches = EpochBatches(data.x_train, data.y_train, recipe.batch_size, seed)
    history = model.fit(batches, epochs=recipe.epochs, steps_per_epoch=batches.steps_per_epoch, shuffle=False, verbose=verbose,
                        callbacks=[HeldOutMetrics(data.x_val, data.y_val), timer, *callbacks])
    return [{"epoch": i + 1, **{key: float(values[i]) for key, values in history.history.items()},
             "seconds": round(timer.seconds[i], 3)} for i in range(len(timer.seconds))]
