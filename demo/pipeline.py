"""From what a user gives (canvas, file, array) to what the page shows: one digit or a number.

decode (demo.images) → MNIST-style preprocessing (demo.preprocess, demo.segment) → ONNX Runtime
(demo.model) → explanation (demo.explain). The page, the API and `python -m demo.predict` all
call these two functions, so they cannot drift apart.
"""

import time
from dataclasses import dataclass

import numpy as np

from demo import explain, segment
from demo.images import InputError
from demo.model import DigitModel
from demo.preprocess import preprocess


@dataclass
class DigitReading:
    label: str
    confidence: float
    sure: bool
    probabilities: dict[str, float]
    model_input: np.ndarray          # the 28×28 the model received
    heatmap: np.ndarray | None       # RGB overlay of the occlusion map
    milliseconds: float

    def verdict(self) -> str:
        if self.sure:
            return f"It's a **{self.label}** ({self.confidence:.1%} sure)."
        runner_up = sorted(self.probabilities.items(), key=lambda kv: -kv[1])[1]
        return (f"**Not sure.** Maybe a {self.label} ({self.confidence:.0%}) or a {runner_up[0]} "
                f"({runner_up[1]:.0%}) — try writing it larger and clearer.")


@dataclass
class NumberReading:
    text: str
    digits: list[DigitReading]
    boxes: list[tuple[int, int, int, int]]
    milliseconds: float


def _reading(model: DigitModel, mnist: np.ndarray, probabilities: np.ndarray, heat: bool, started: float):
    labels = model.contract.class_labels
    best = int(probabilities.argmax())
    confidence = float(probabilities[best])
    heatmap = explain.overlay(mnist, explain.occlusion_map(model, mnist, best)) if heat else None
    return DigitReading(labels[best], confidence, confidence >= model.contract.uncertain_below,
                        {label: float(p) for label, p in zip(labels, probabilities)}, mnist, heatmap,
                        (time.perf_counter() - started) * 1000)


def read_digit(model: DigitModel, source, heatmap: bool = True) -> DigitReading | None:
    """Classify one digit; None for an empty canvas or an image with no ink."""
    started = time.perf_counter()
    mnist = preprocess(source, model.contract.image_size, model.contract.digit_box)
    if mnist is None:
        return None
    probabilities = model.probabilities(mnist[None])[0]
    return _reading(model, mnist, probabilities, heatmap, started)


def read_number(model: DigitModel, source, max_digits: int = 40) -> NumberReading | None:
    """Split a written number into digits, left to right, and classify them in one batch."""
    started = time.perf_counter()
    pairs = segment.read_number(source, model.contract.image_size, model.contract.digit_box)
    if len(pairs) > max_digits:
        raise InputError(f"found {len(pairs)} separate marks; write at most {max_digits} digits")
    if not pairs:
        return None
    batch = np.stack([mnist for mnist, _ in pairs])
    digits = [_reading(model, mnist, p, False, started) for mnist, p in zip(batch, model.probabilities(batch))]
    text = "".join(d.label if d.sure else "?" for d in digits)
    return NumberReading(text, digits, [box for _, box in pairs], (time.perf_counter() - started) * 1000)
