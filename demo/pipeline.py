"""From what a user gives (canvas, file, array) to what the page shows: one digit or a number.

decode (demo.images) → MNIST-style preprocessing (demo.preprocess, demo.segment) → ONNX Runtime
(demo.model) → explanation (demo.explain). The page, the API and `python -m demo.predict` all
call these two functions, so they cannot drift apart.
"""

import time
from dataclasses import dataclass

import numpy as np

from demo import explain, segment
from demo.errors import InputError
from demo.model import DigitModel
from demo.preprocess import preprocess, to_mnist


@dataclass
class DigitReading:
    label: str
    confidence: float
    sure: bool
    probabilities: dict[str, float]
    model_input: np.ndarray          # the 28×28 the model received
    heatmap: np.ndarray | None       # RGB overlay of the occlusion map
    milliseconds: float


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
    """Split a written number into digits, left to right, and classify them in batches.

    A group the width rule left whole may still be a "1" touching its neighbour (a touching "17"
    is no wider than a wide "7"). For each such group the model also reads the pieces of its
    candidate cuts (`segment.one_beside_digit_cuts`); the cut wins when exactly one piece reads
    as "1", the pieces have that shape (`segment.looks_like_one_beside_digit`), and the pair is
    read with less than `CUT_DOUBT_RATIO` of the whole's doubt (1 − p₁·p₂ against 1 − p).
    """
    started = time.perf_counter()
    size, box = model.contract.image_size, model.contract.digit_box
    crops = [(crop, mnist) for crop in segment.digit_crops(source)
             if (mnist := to_mnist(crop.ink, image_size=size, digit_box=box)) is not None]
    if len(crops) > max_digits:
        raise InputError(f"found {len(crops)} separate marks; write at most {max_digits} digits")
    if not crops:
        return None
    whole = model.probabilities(np.stack([mnist for _, mnist in crops]))
    height = segment.typical_height([crop for crop, _ in crops])
    pieces: list[tuple[np.ndarray, tuple, np.ndarray]] = []  # (model input, bbox, probabilities)
    for (crop, mnist), probabilities in zip(crops, whole):
        pieces += _one_beside_digit(model, crop, probabilities, height) or [(mnist, crop.bbox, probabilities)]
    digits = [_reading(model, mnist, p, False, started) for mnist, _, p in pieces]
    text = "".join(d.label if d.sure else "?" for d in digits)
    return NumberReading(text, digits, [bbox for _, bbox, _ in pieces], (time.perf_counter() - started) * 1000)


CUT_DOUBT_RATIO = 0.5


def _one_beside_digit(model: DigitModel, crop: segment.DigitCrop, whole: np.ndarray, height: float):
    """The best cut of `crop` into a "1" and another digit, as two (model input, bbox,
    probabilities), or None when keeping it whole is the better reading."""
    size, box = model.contract.image_size, model.contract.digit_box
    cuts = []
    for left, right in segment.one_beside_digit_cuts(crop, height):
        inputs = [to_mnist(piece.ink, image_size=size, digit_box=box) for piece in (left, right)]
        if all(x is not None for x in inputs):
            cuts.append(((left, right), inputs))
    if not cuts or "1" not in model.contract.class_labels:
        return None
    one = model.contract.class_labels.index("1")
    probabilities = model.probabilities(np.stack([x for _, inputs in cuts for x in inputs]))
    best, best_score = None, 0.0
    for i, ((left, right), inputs) in enumerate(cuts):
        p_left, p_right = probabilities[2 * i], probabilities[2 * i + 1]
        if (p_left.argmax() == one) == (p_right.argmax() == one):
            continue  # exactly one piece must read as "1"
        one_piece, other = (left, right) if p_left.argmax() == one else (right, left)
        if not segment.looks_like_one_beside_digit(one_piece, other, crop):
            continue
        if 1 - p_left.max() * p_right.max() >= CUT_DOUBT_RATIO * (1 - whole.max()):
            continue
        score = min(p_left.max(), p_right.max())
        if score > best_score:
            best, best_score = [(inputs[0], left.bbox, p_left), (inputs[1], right.bbox, p_right)], score
    return best
