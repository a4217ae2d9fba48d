"""From what a user gives (canvas, file, array) to what the page shows: one digit or a number.

decode (reader.images) → MNIST-style preprocessing (reader.preprocess, reader.numbers.segment) → ONNX Runtime
(reader.model) → explanation (reader.explain). The page, the API and `python -m demo.predict` all
call these two functions, so they cannot drift apart.
"""

import time
from dataclasses import dataclass

import numpy as np

from reader.numbers import best_path, segment, whole_digit
from reader import explain
from reader.errors import InputError
from reader.images import load_image
from reader.model import DigitModel
from reader.preprocess import INK_THRESHOLD, ink_map, preprocess
from reader.numbers.preprocess_many import to_mnist_many

REREAD_BELOW = 0.99   # a chosen digit read less surely than this from the shrunk ink is read again at
                      # full size (hard numbers: 3 % of digits; re-reading all gains nothing more)
NUDGES = ((1, -1), (1, 1), (2, -1), (2, 1))  # ... there also moved 1 px up, down, left and right
                      # ((axis, step) of the inputs' batch): MNIST's own centring is only ±0.5 px
REREAD_ROUNDS = 3     # the path is chosen again with what was read again, at most this many times
SURE_DIGIT = 0.99     # a chosen digit on a wide blob read less surely than this ...
SURE_WHOLE = 2.0      # ... or whose whole-digit log-odds are under this: the bent cuts are read too


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

    Recognition-based segmentation (reader.numbers.segment, reader.numbers.best_path): candidate digits from an
    over-segmentation, every one preprocessed like MNIST and read by the model in one batch, the
    digits chosen as the best path; when that path doubts a digit on a blob wide enough to be two
    (`doubted`), the second over-segmentation, with bent cuts, is read too and the path that scores
    higher wins. The chosen digits read unsurely are read again from the full-size ink, from five
    positions, and the path chosen again with those readings (`settle`). Raises `InputError` for
    more than `max_digits` digits.
    """
    started = time.perf_counter()
    if source is None:
        return None
    ink = ink_map(load_image(source))
    if not (ink > INK_THRESHOLD).any():
        return None
    check, readings = whole_digit.shipped(), CandidateReadings(model)
    graph = segment.oversegment(ink)
    inputs, probabilities = readings.of(graph)
    choice = best_path.choose_path(graph, inputs, probabilities, check)
    bent = segment.with_bent_cuts(graph) if doubted(graph, choice, probabilities) else None
    if bent is not None:
        bent_inputs, bent_probabilities = readings.of(bent)
        bent_choice = best_path.choose_path(bent, bent_inputs, bent_probabilities, check)
        if bent_choice.score > choice.score:
            graph, choice, inputs, probabilities = bent, bent_choice, bent_inputs, bent_probabilities
    at_most(max_digits, choice.path)
    path, chosen_inputs, probabilities = settle(model, ink, graph, inputs, probabilities, check, choice.path)
    at_most(max_digits, path)
    digits = [NumberDigit.of(model, model_input, probabilities[index], box=graph.candidates[index].box)
              for index, model_input in zip(path, chosen_inputs)]
    text = "".join(d.label if d.sure else "?" for d in digits)
    return NumberReading(text, digits, graph.ink, (time.perf_counter() - started) * 1000)


def at_most(max_digits: int, path: list[int]) -> None:
    """Refuse, in a sentence, a path of more than `max_digits` digits."""
    if len(path) > max_digits:
        raise InputError(f"The picture holds {len(path)} digits; write at most {max_digits}.")


def doubted(graph: segment.Oversegmentation, choice: best_path.Choice, probabilities: np.ndarray) -> bool:
    """Whether a chosen digit that holds (part of) a blob at least `segment.BENT_CUT_MIN_WIDTH`
    line heights wide is read less surely than `SURE_DIGIT`, or the whole-digit check gives it
    log-odds under `SURE_WHOLE`: only then may bent cuts read the number otherwise (on the tuning
    numbers they never changed a reading this sure, which are 38% of those with a wide blob)."""
    wide = graph.blobs.wide()
    for index in choice.path:
        candidate = graph.candidates[index]
        if any(graph.pieces[i].blob in wide for i in range(candidate.start, candidate.stop)) and (
                probabilities[index].max() < SURE_DIGIT or choice.whole_digit_log_odds[index] < SURE_WHOLE):
            return True
    return False


class CandidateReadings:
    """The model inputs of candidate digits and the model's probabilities for them. Each distinct
    candidate (box and ink) is preprocessed and read once: the second over-segmentation shares
    every candidate that involves no bent cut with the first."""

    def __init__(self, model: DigitModel):
        self.model = model
        self.known: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def of(self, graph: segment.Oversegmentation) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, probabilities) of `graph`'s candidates, in order; the new ones in one batch."""
        keys = [(candidate.box, candidate.ink.tobytes()) for candidate in graph.candidates]
        new = {key: candidate.ink for key, candidate in zip(keys, graph.candidates) if key not in self.known}
        if new:
            inputs = model_inputs(self.model, list(new.values()))
            self.known.update(zip(new, zip(inputs, self.model.probabilities(inputs))))
        if not keys:
            size = self.model.contract.image_size
            return np.zeros((0, size, size), np.float32), np.zeros((0, len(self.model.contract.class_labels)), np.float32)
        return np.stack([self.known[key][0] for key in keys]), np.stack([self.known[key][1] for key in keys])


def candidate_inputs(model: DigitModel, graph: segment.Oversegmentation) -> np.ndarray:
    """The model input of every candidate digit of `graph`, preprocessed together
    (reader.numbers.preprocess_many): (candidates, size, size) float32, all zero for a candidate without ink."""
    return model_inputs(model, [c.ink for c in graph.candidates])


def model_inputs(model: DigitModel, inks: list[np.ndarray]) -> np.ndarray:
    """The model input of each ink map, preprocessed together: (len(inks), size, size) float32,
    all zero for one without ink."""
    size, box = model.contract.image_size, model.contract.digit_box
    inputs = np.zeros((len(inks), size, size), np.float32)
    for model_input, mnist in zip(inputs, to_mnist_many(inks, size, box)):
        if mnist is not None:
            model_input[:] = mnist
    return inputs


def settle(model: DigitModel, ink: np.ndarray, graph: segment.Oversegmentation, inputs: np.ndarray,
           probabilities: np.ndarray, check: whole_digit.WholeDigitCheck, path: list[int]
           ) -> tuple[list[int], np.ndarray, np.ndarray]:
    """The path once its unsure digits are read again at full size (`read_again_at_full_size`):
    (the path, its digits' model inputs, every candidate's probabilities with those read again).

    A digit read again may read otherwise or less surely than on the shrunk ink, so the path is
    chosen again with the new readings (`best_path.choose_path`; the whole-digit check still sees
    the shrunk inputs it was trained on); the unsure digits a new path brings are read again in
    turn, and so on, at most `REREAD_ROUNDS` times. On the tuning numbers 11 of 3,000 changed path,
    5 of them to the right reading and none away from it (benchmarks/README.md)."""
    probabilities, full_size = probabilities.copy(), {}
    seen: set[int] = set()
    for round_ in range(REREAD_ROUNDS + 1):
        new = [index for index in path if index not in seen]
        seen.update(new)
        again_inputs, again = read_again_at_full_size(model, ink, graph, new, inputs, probabilities)
        changed = [k for k, index in enumerate(new) if not np.array_equal(again[k], probabilities[index])]
        if not changed:
            break
        for k in changed:
            full_size[new[k]], probabilities[new[k]] = again_inputs[k], again[k]
        if round_ < REREAD_ROUNDS:
            path = best_path.choose_path(graph, inputs, probabilities, check).path
    chosen_inputs = inputs[path].copy()
    for k, index in enumerate(path):
        if index in full_size:
            chosen_inputs[k] = full_size[index]
    return path, chosen_inputs, probabilities


def read_again_at_full_size(model: DigitModel, ink: np.ndarray, graph: segment.Oversegmentation, path: list[int],
                            inputs: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The chosen digits' model inputs and probabilities. The path was chosen on the ink shrunk to
    `segment.WORKING_HEIGHT` (cheap enough to read every candidate). When it was, each chosen digit
    read less surely than `REREAD_BELOW` is read again from the full-size ink
    (`segment.ink_at_full_size`), as a digit read alone is: that input as it is and moved by one
    pixel each way (`NUDGES`; integer centring puts a digit up to half a pixel off, and an unsure
    reading is the one such a shift can tip). Its probabilities become those of all six readings
    together (their normalised geometric mean: an ensemble of views), and its input becomes the
    full-size one. Digits read surely keep their first reading."""
    chosen_inputs, chosen = inputs[path].copy(), probabilities[path].copy()
    unsure = np.flatnonzero(chosen.max(axis=1, initial=0.0) < REREAD_BELOW)
    if graph.ink.shape == ink.shape or not unsure.size:
        return chosen_inputs, chosen
    again = model_inputs(model, [segment.ink_at_full_size(graph, graph.candidates[path[k]], ink) for k in unsure])
    inked = again.any(axis=(1, 2))  # (a crop whose ink all falls under MNIST's thresholds keeps its first reading)
    unsure, again = unsure[inked], again[inked]
    if not unsure.size:
        return chosen_inputs, chosen
    views = np.concatenate([again] + [np.roll(again, step, axis) for axis, step in NUDGES])
    readings = np.concatenate([chosen[unsure][None], model.probabilities(views).reshape(len(NUDGES) + 1, len(again), -1)])
    joint = np.exp(np.log(np.maximum(readings, 1e-30)).mean(axis=0))  # (a zero probability vetoes no class)
    chosen[unsure] = joint / np.maximum(joint.sum(axis=1, keepdims=True), np.finfo(np.float32).tiny)
    chosen_inputs[unsure] = again
    return chosen_inputs, chosen
