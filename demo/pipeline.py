"""From what a user gives (canvas, file, array) to what the page shows: one digit or a number.

decode (demo.images) → MNIST-style preprocessing (demo.preprocess, demo.segment) → ONNX Runtime
(demo.model) → explanation (demo.explain). The page, the API and `python -m demo.predict` all
call these two functions, so they cannot drift apart.
"""

import time
from dataclasses import dataclass

import numpy as np

from demo import best_path, explain, segment, whole_digit
from demo.errors import InputError
from demo.images import load_image
from demo.model import DigitModel
from demo.preprocess import INK_THRESHOLD, ink_map, preprocess
from demo.preprocess_many import to_mnist_many


@dataclass
class ModelAnswer:
    """What the model says about one 28×28 input."""
    label: str
    confidence: float
    sure: bool
    probabilities: dict[str, float]
    model_input: np.ndarray          # the 28×28 the model received

    @classmethod
    def of(cls, model: DigitModel, mnist: np.ndarray, probabilities: np.ndarray, **more):
        """The answer for `mnist` from the model's `probabilities`, with this class's `more` fields."""
        labels = model.contract.class_labels
        best = int(probabilities.argmax())
        confidence = float(probabilities[best])
        return cls(labels[best], confidence, confidence >= model.contract.uncertain_below,
                   {label: float(p) for label, p in zip(labels, probabilities)}, mnist, **more)


@dataclass
class DigitReading(ModelAnswer):
    heatmap: np.ndarray | None       # RGB overlay of the occlusion map
    milliseconds: float


@dataclass
class NumberDigit(ModelAnswer):
    """One digit of a number, as read on the best path (its time is the number's)."""
    box: tuple[int, int, int, int]   # (x0, y0, x1, y1) in `NumberReading.ink`


@dataclass
class NumberReading:
    text: str                        # the digits' labels, "?" for a digit the model is unsure of
    digits: list[NumberDigit]        # left to right; empty when the picture holds no digit
    ink: np.ndarray                  # the ink map that was read (the boxes are in its pixels)
    milliseconds: float              # for the whole number: one model call reads all its digits

    @property
    def boxes(self) -> list[tuple[int, int, int, int]]:
        return [digit.box for digit in self.digits]


def _reading(model: DigitModel, mnist: np.ndarray, probabilities: np.ndarray, heat: bool, started: float):
    target = int(probabilities.argmax())
    heatmap = explain.overlay(mnist, explain.occlusion_map(model, mnist, target)) if heat else None
    return DigitReading.of(model, mnist, probabilities, heatmap=heatmap,
                           milliseconds=(time.perf_counter() - started) * 1000)


def read_digit(model: DigitModel, source, heatmap: bool = True) -> DigitReading | None:
    """Classify one digit; None for an empty canvas or an image with no ink."""
    started = time.perf_counter()
    mnist = preprocess(source, model.contract.image_size, model.contract.digit_box)
    if mnist is None:
        return None
    probabilities = model.probabilities(mnist[None])[0]
    return _reading(model, mnist, probabilities, heatmap, started)


def read_number(model: DigitModel, source, max_digits: int = 40) -> NumberReading | None:
    """Read a written number, left to right; None when the picture holds no ink (no digits, when
    all its ink is specks and dots).

    Recognition-based segmentation (demo.segment, demo.best_path): candidate digits from an
    over-segmentation, every one preprocessed like MNIST and read by the model in one batch, the
    digits chosen as the best path. Raises `InputError` for more than `max_digits` digits.
    """
    started = time.perf_counter()
    if source is None:
        return None
    ink = ink_map(load_image(source))
    if not (ink > INK_THRESHOLD).any():
        return None
    graph = segment.oversegment(ink)
    inputs = candidate_inputs(model, graph)
    probabilities = model.probabilities(inputs) if len(inputs) else np.zeros((0, len(model.contract.class_labels)), np.float32)
    path = best_path.choose(graph, inputs, probabilities, whole_digit.shipped())
    if len(path) > max_digits:
        raise InputError(f"The picture holds {len(path)} digits; write at most {max_digits}.")
    digits = [NumberDigit.of(model, inputs[index], probabilities[index], box=graph.candidates[index].box)
              for index in path]
    text = "".join(d.label if d.sure else "?" for d in digits)
    return NumberReading(text, digits, graph.ink, (time.perf_counter() - started) * 1000)


def candidate_inputs(model: DigitModel, graph: segment.Oversegmentation) -> np.ndarray:
    """The model input of every candidate digit of `graph`, preprocessed together
    (demo.preprocess_many): (candidates, size, size) float32, all zero for a candidate without ink."""
    size, box = model.contract.image_size, model.contract.digit_box
    inputs = np.zeros((len(graph.candidates), size, size), np.float32)
    for model_input, mnist in zip(inputs, to_mnist_many([c.ink for c in graph.candidates], size, box)):
        if mnist is not None:
            model_input[:] = mnist
    return inputs
