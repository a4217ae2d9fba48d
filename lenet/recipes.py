"""The training recipes, by name. Plain data, no Keras import, so `python -m lenet.train --help`
and its flag errors answer at once; `lenet.training` turns a recipe into a compiled model."""

from dataclasses import asdict, dataclass


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
    distortions: str = "none"  # "none", or "writers": lenet.augment.writers_augmentation
    ema_momentum: float = 0.0  # > 0: the saved weights are an exponential moving average (Adam's use_ema)

    def with_overrides(self, **overrides) -> "Recipe":
        values = asdict(self)
        values.update({key: value for key, value in overrides.items() if value is not None})
        return Recipe(**values)


RECIPES = {
    "robust": Recipe(
        "robust", "the fast recipe's Adam + one-cycle for 20 epochs with a moving average of the weights, trained "
        "on digits varied the way other writers and scanners vary them: every digit shifted up to 2 pixels; half "
        "of them also rotated up to ±15°, sheared and scaled 0.85–1.15; 30% elastically distorted (Simard 2003), "
        "30% with thicker or thinner strokes, 10% scanned at 14×14 or 7×7; 5,000 training images held out for "
        "validation and for the \"not sure\" threshold; bfloat16 compute where the hardware has it",
        optimizer="adam", learning_rate=3e-3, batch_size=128, epochs=20, schedule="one-cycle", shift_pixels=2,
        validation="holdout", precision="fastest", distortions="writers", ema_momentum=0.999),
    "fast": Recipe(
        "fast", "Adam with a one-cycle schedule (linear warm-up for 20% of steps to the peak rate, cosine decay "
        "to zero), batch 128, random shifts of up to 2 pixels, 5,000 training images held out for validation; "
        "bfloat16 compute where the hardware has it",
        optimizer="adam", learning_rate=3e-3, batch_size=128, epochs=8, schedule="one-cycle", shift_pixels=2,
        validation="holdout", precision="fastest"),
    "seed": Recipe(
        "seed", "the tutorial exactly: SGD 0.01, batch 128, 20 epochs, one-hot categorical cross-entropy, the "
        "test set as validation data",
        optimizer="sgd", learning_rate=0.01, batch_size=128, epochs=20, schedule="constant", shift_pixels=0,
        validation="test", precision="float32"),
}
DEFAULT_RECIPE = "fast"
