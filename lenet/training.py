"""Training mechanics shared by `python -m lenet.train` and the benchmarks: the two recipes, data
preparation, shift augmentation (Keras's RandomTranslation), mixed precision, compiling and
fitting. Keras 3 only (no `tf.*`)."""

import time
from dataclasses import asdict, dataclass

import keras
import numpy as np
from keras import layers

from lenet.model import build_lenet

VALIDATION_SIZE = 5_000  # held out of the 60,000 training images by the fast recipe


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str
    optimizer: str          # "sgd" or "adam"
    learning_rate: float    # constant rate (sgd) or peak of the one-cycle schedule (adam)
    batch_size: int
    epochs: int
    schedule: str           # "constant" or "one-cycle"
    shift_pixels: int       # random translation of each training image by up to ± this many pixels
    validation: str         # "test" (the tutorial's choice) or "holdout" (5,000 training images)
    precision: str          # "float32", or "fastest": bfloat16 compute where the hardware has it

    def with_overrides(self, **overrides) -> "Recipe":
        values = asdict(self)
        values.update({key: value for key, value in overrides.items() if value is not None})
        return Recipe(**values)


RECIPES = {
    "seed": Recipe("seed", "the tutorial exactly: SGD 0.01, batch 128, 20 epochs, one-hot categorical "
                   "cross-entropy, the test set as validation data", "sgd", 0.01, 128, 20, "constant", 0, "test",
                   "float32"),
    "fast": Recipe("fast", "Adam with a one-cycle schedule (linear warm-up for 20% of steps to the peak "
                   "rate, cosine decay to zero), batch 128, random shifts of up to 2 pixels, 5,000 training "
                   "images held out for validation; bfloat16 compute where the hardware has it", "adam", 3e-3,
                   128, 8, "one-cycle", 2, "holdout", "fastest"),
}


@dataclass
class Data:
    x_train: np.ndarray  # float32 (N, 28, 28, 1) in [0, 1]
    y_train: np.ndarray  # float32 one-hot (N, 10)
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray   # integer labels (N,)


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) → float32 (N, 28, 28, 1) in [0, 1]."""
    return (images.astype(np.float32) / 255.0)[..., None]


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
    one_hot = np.eye(10, dtype=np.float32)
    return Data(to_model_input(x_train), one_hot[y_train], to_model_input(x_val), one_hot[y_val],
                to_model_input(x_test), y_test.astype(np.int64))


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
        return keras.optimizers.Adam(learning_rate=rate)
    return keras.optimizers.SGD(learning_rate=rate)


def steps_per_epoch(data: Data, recipe: Recipe) -> int:
    return -(-len(data.x_train) // recipe.batch_size)


def compile_lenet(recipe: Recipe, data: Data, precision: str = "float32", seed: int = 1) -> keras.Model:
    """LeNet compiled for `recipe`; `precision` "mixed_bfloat16" computes in bfloat16 (weights stay
    float32, softmax in float32). With shifts, LeNet is wrapped behind Keras's RandomTranslation
    (whole pixels, zero fill), which acts only while training; `lenet_of(model)` is LeNet itself."""
    model = build_lenet(dtype=None if precision == "float32" else precision)
    if recipe.shift_pixels:
        fraction = recipe.shift_pixels / model.input_shape[1]
        model = keras.Sequential([
            keras.Input(model.input_shape[1:]),
            layers.RandomTranslation(fraction, fraction, fill_mode="constant", interpolation="nearest", seed=seed,
                                     name="random_shifts"),
            model], name="lenet_with_shifts")
    model.compile(optimizer=make_optimizer(recipe, steps_per_epoch(data, recipe)),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def lenet_of(model: keras.Model) -> keras.Model:
    """The LeNet inside a model made by `compile_lenet`."""
    return model.get_layer("lenet") if model.name == "lenet_with_shifts" else model


class EpochTimer(keras.callbacks.Callback):
    """Records the wall time of each epoch (training plus validation)."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def fit(model: keras.Model, data: Data, recipe: Recipe, verbose=1, callbacks=()) -> list[dict]:
    """Train; return the history as one row per epoch (losses, accuracies, seconds)."""
    timer = EpochTimer()
    history = model.fit(data.x_train, data.y_train, batch_size=recipe.batch_size, epochs=recipe.epochs, shuffle=True,
                        validation_data=(data.x_val, data.y_val), verbose=verbose, callbacks=[timer, *callbacks])
    return [{"epoch": i + 1, **{key: float(values[i]) for key, values in history.history.items()},
             "seconds": round(timer.seconds[i], 3)} for i in range(len(timer.seconds))]
