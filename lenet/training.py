"""Training mechanics shared by `python -m lenet.train` and the benchmarks: the two recipes,
data preparation, the augmentation stream, compiling and fitting. Keras 3 only (no `tf.*`)."""

import time
from dataclasses import asdict, dataclass

import keras
import numpy as np

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

    def with_overrides(self, **overrides) -> "Recipe":
        values = asdict(self)
        values.update({key: value for key, value in overrides.items() if value is not None})
        return Recipe(**values)


RECIPES = {
    "seed": Recipe("seed", "the tutorial exactly: SGD 0.01, batch 128, 20 epochs, one-hot categorical "
                   "cross-entropy, the test set as validation data", "sgd", 0.01, 128, 20, "constant", 0, "test"),
    "fast": Recipe("fast", "Adam with a one-cycle schedule (linear warm-up for 20% of steps to the peak "
                   "rate, cosine decay to zero), batch 128, random shifts of up to 2 pixels, 5,000 training "
                   "images held out for validation", "adam", 3e-3, 128, 8, "one-cycle", 2, "holdout"),
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


class ShiftedBatches(keras.utils.PyDataset):
    """Shuffled batches with each image shifted by a random whole number of pixels (zero fill)."""

    def __init__(self, x, y, batch_size: int, shift: int, seed: int):
        super().__init__()
        self.x, self.y, self.batch_size, self.shift = x, y, batch_size, shift
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(x))

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        images, s = self.x[rows, :, :, 0], self.shift
        padded = np.pad(images, ((0, 0), (s, s), (s, s)))
        windows = np.lib.stride_tricks.sliding_window_view(padded, images.shape[1:], axis=(1, 2))
        dy, dx = self.rng.integers(0, 2 * s + 1, size=(2, len(rows)))
        return windows[np.arange(len(rows)), dy, dx][..., None], self.y[rows]

    def on_epoch_end(self):
        self.order = self.rng.permutation(len(self.x))


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


def compile_lenet(recipe: Recipe, data: Data) -> keras.Model:
    model = build_lenet()
    model.compile(optimizer=make_optimizer(recipe, steps_per_epoch(data, recipe)),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model


class EpochTimer(keras.callbacks.Callback):
    """Records the wall time of each epoch (training plus validation)."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def fit(model: keras.Model, data: Data, recipe: Recipe, seed: int, verbose=1, callbacks=()) -> list[dict]:
    """Train; return the history as one row per epoch (losses, accuracies, seconds)."""
    timer = EpochTimer()
    if recipe.shift_pixels:
        inputs = dict(x=ShiftedBatches(data.x_train, data.y_train, recipe.batch_size, recipe.shift_pixels, seed))
    else:
        inputs = dict(x=data.x_train, y=data.y_train, batch_size=recipe.batch_size, shuffle=True)
    history = model.fit(**inputs, epochs=recipe.epochs, validation_data=(data.x_val, data.y_val),
                        verbose=verbose, callbacks=[timer, *callbacks])
    return [{"epoch": i + 1, **{key: float(values[i]) for key, values in history.history.items()},
             "seconds": round(timer.seconds[i], 3)} for i in range(len(timer.seconds))]
