"""Re-read the doubtful, then settle: the chosen digits read unsurely on the shrunk ink are read
again from the full-size ink, from five positions, and the path is chosen again with those
readings, until it stops changing (at most `REREAD_ROUNDS` times).
"""

import numpy as np

from reader.model import DigitModel
from reader.numbers import best_path, segment, whole_digit
from reader.numbers.candidates import model_inputs

REREAD_BELOW = 0.99   # a chosen digit read less surely than this from the shrunk ink is read again at
                      # full size (hard numbers: 3 % of digits; re-reading all gains nothing more)
NUDGES = ((1, -1), (1, 1), (2, -1), (2, 1))  # ... there also moved 1 px up, down, left and right
                      # ((axis, step) of the inputs' batch): MNIST's own centring is only ±0.5 px
REREAD_ROUNDS = 3     # the path is chosen again with what was read again, at most this many times


def settle(model: DigitModel, ink: np.ndarray, graph: segment.Oversegmentation, inputs: np.ndarray,
           probabilities: np.ndarray, check: whole_digit.WholeDigitCheck, path: list[int],
           excluded: frozenset[int] = frozenset()) -> tuple[list[int], np.ndarray, np.ndarray]:
    """The path once its unsure digits are read again at full size (`read_again_at_full_size`):
    (the path, its digits' model inputs, every candidate's probabilities with those read again).

    A digit read again may read otherwise or less surely than on the shrunk ink, so the path is
    chosen again with the new readings (`best_path.choose_path`; the whole-digit check still sees
    the shrunk inputs it was trained on); the unsure digits a new path brings are read again in
    turn, and so on, at most `REREAD_ROUNDS` times. On the tuning numbers 11 of 3,000 changed path,
    5 of them to the right reading and none away from it (benchmarks/README.md). `excluded`
    candidates are never chosen (`reader.pipeline.read_number`: two digits read as one)."""
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
            path = best_path.choose_path(graph, inputs, probabilities, check, excluded=excluded).path
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
