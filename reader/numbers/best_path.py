"""Choose the digits of a number: the best path through its over-segmentation (Viterbi).

`reader.numbers.segment.oversegment` proposes candidate digits (arcs between cut positions); the model reads
every candidate in one batch; here each arc gets a score and dynamic programming finds the path
from the first cut position to the last with the highest total (LeCun et al. 1998, §VI).

A candidate's score is a weighted sum of what the model says and plain geometric priors:

- the log-probability of its best class (and of the runner-up, floored at `RUNNER_UP_FLOOR`: a
  sure reading has a far one), and that of its best class once the probabilities are softened
  (each raised to 1 / `SOFTENING`, then renormalised): how much all the other classes hold
  together, which the two above, saturated near 0 and at the floor, no longer tell apart;
- its height against the line's typical digit height (too short: a piece; too tall: two rows);
- its aspect ratio and its stroke length (half its outline) over its height, each against what
  MNIST's training digits of the class the model read have (`Fit.class_shapes`): two digits read as
  one are too wide and hold too much stroke for one digit, a slice of a digit too little;
- its ink mass against the line's typical digit;
- the strokes its cuts go through, how many blobs and pieces it joins and the widest gap
  between them, and how far the pieces beside it reach under it;
- for a piece of a cut blob, how surely the whole blob reads as one digit of the right length;
- which class it was read as (a slice of almost any digit reads as a "1");
- how surely a small network trained on pieces, pairs and whole digits says it is one whole digit
  (reader.numbers.whole_digit): the model itself reads a slice of a digit as surely as a digit.

A noise arc, which skips a mark or a piece too short to be a digit, scores by its size. The
weights and class shapes (`number_weights.json`) are made by `python
benchmarks/fit_number_weights.py`: an averaged structured perceptron (Collins 2002) on numbers
written with MNIST test digits 0–4,999 (pool TUNING of tests/written_numbers.py) moves the
weights, for each number read wrong, towards the features of the right path and away from those
of the path chosen. `benchmarks/number_reading.py` measures the result on digits 5,000–9,999.
"""

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi
from scipy.special import logsumexp

from reader.preprocess import INK_THRESHOLD
from reader.numbers.preprocess_many import Canvas
from reader.numbers.segment import Oversegmentation
from reader.numbers.whole_digit import WholeDigitCheck

WEIGHTS_FILE = Path(__file__).with_name("number_weights.json")
LOG_FLOOR = -60.0         # log-probabilities below this carry no more information (LeNet is sure of
                          # pieces too: a whole digit's runner-up lies far lower, median −12 against −3)
RUNNER_UP_FLOOR = -12.0   # ... and the runner-up's below this (a whole digit's median): summed over a
                          # path, a surer runner-up would pay a sure slice of a digit (a 0's doubled
                          # stroke read as a "1") up to 60 × its weight, more than the whole earns
MAX_Z2 = 30.0             # z² beyond this says no more
SOFTENING = 5.0           # the softened log-probability's temperature (refit with it, on the tuning numbers: 151
                          # → 142 of 4,000 hard numbers and 123 → 111 of 2,400 pairs read wrong, lone digits
                          # split 5 → 4 of 6,000; benchmarks/README.md)
DIGIT_FEATURES = ("log p", "log p runner-up", "shorter than the line²", "taller than the line²",
                  "aspect z²", "length z²", "length z above", "ink mass below typical", "strokes cut",
                  "cut", "extra blobs", "extra pieces") + tuple(f"read as {k}" for k in range(10)) + (
                  "digit", "whole blob read sure", "whole blob length z²", "gap inside",
                  "overlaps the piece before", "overlaps the piece after", "whole digit log-odds",
                  "log p softened")
NOISE_FEATURES = ("noise", "height", "width", "mark")


@dataclass(frozen=True)
class Fit:
    """What `benchmarks/fit_number_weights.py` measured and fit: per class 0–9, the mean and spread
    of log(width / height) and of log(half the outline / height) of MNIST training digits
    (`class_shapes`: {"aspect"|"length": (means, deviations)}), and the weights."""
    class_shapes: dict
    digit_weights: np.ndarray
    noise_weights: np.ndarray


def load_fit(path: Path = WEIGHTS_FILE) -> Fit:
    """The fit saved at `path`; RuntimeError (saying how to make it) if it is missing or was made
    for other features."""
    try:
        saved = json.loads(path.read_text())
        return Fit(class_shapes={name: tuple(map(tuple, values)) for name, values in saved["class_shapes"].items()},
                   digit_weights=np.array([saved["digit"][name] for name in DIGIT_FEATURES]),
                   noise_weights=np.array([saved["noise"][name] for name in NOISE_FEATURES]))
    except (OSError, KeyError, ValueError) as error:
        raise RuntimeError(f"{path} is missing or was fit for other features ({error!r}): "
                           "python benchmarks/fit_number_weights.py makes it") from None


@functools.cache
def shipped_fit() -> Fit:
    return load_fit()


@dataclass(frozen=True)
class Choice:
    """The best path through one over-segmentation."""
    path: list[int]                  # the candidates read as the number's digits, left to right
    score: float                     # its digit and noise arcs' scores together (how graphs compare)
    whole_digit_log_odds: np.ndarray  # per candidate of the graph, the check's log-odds


def choose(graph: Oversegmentation, model_inputs: np.ndarray, probabilities: np.ndarray, check: WholeDigitCheck,
           fit: Fit | None = None) -> list[int]:
    """The candidates (indices into `graph.candidates`) read as the number's digits, left to right,
    from each candidate's model input and what the model said of it, and the whole-digit `check`."""
    return choose_path(graph, model_inputs, probabilities, check, fit).path


def choose_path(graph: Oversegmentation, model_inputs: np.ndarray, probabilities: np.ndarray,
                check: WholeDigitCheck, fit: Fit | None = None, excluded: frozenset[int] = frozenset()) -> Choice:
    """`choose`'s candidates, with their path's score and what the check said of each candidate;
    never the candidates `excluded` (the score is −inf when no path is left without them)."""
    fit = fit or shipped_fit()
    whole = check.log_odds(graph, model_inputs)
    digit_scores = digit_features(graph, probabilities, fit.class_shapes, whole) @ fit.digit_weights
    digit_scores[list(excluded)] = -np.inf
    noise_scores = {piece: float(f @ fit.noise_weights) for piece, f in noise_features(graph).items()}
    arcs = best_arcs(graph, digit_scores, noise_scores)
    score = sum(float(digit_scores[arc]) if arc >= 0 else noise_scores[-1 - arc] for arc in arcs)
    return Choice([arc for arc in arcs if arc >= 0], score, whole)


def digit_features(graph: Oversegmentation, probabilities: np.ndarray, class_shapes: dict,
                   whole_digit_log_odds: np.ndarray) -> np.ndarray:
    """(candidates, len(DIGIT_FEATURES)): the features of each candidate digit of `graph`."""
    count = len(graph.candidates)
    if count == 0:
        return np.zeros((0, len(DIGIT_FEATURES)))
    boxes = np.array([c.box for c in graph.candidates], dtype=float)
    widths, heights = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    ranked = np.sort(probabilities, axis=1)
    classes = probabilities.argmax(axis=1)
    height_ratio = np.log(heights / graph.line_height)
    masks = [c.ink > INK_THRESHOLD for c in graph.candidates]
    mass = np.array([mask.sum() for mask in masks], dtype=float)
    outline = outline_lengths(masks)
    aspect_z = class_z(class_shapes["aspect"], np.log(widths / heights), classes)
    length_z = class_z(class_shapes["length"], np.log(np.maximum(outline, 1) / (2 * heights)), classes)
    typical = np.median(mass[np.abs(height_ratio) < 0.3]) if np.any(np.abs(height_ratio) < 0.3) else np.median(mass)
    strokes = np.array([c.strokes_cut for c in graph.candidates], dtype=float)
    blobs = np.array([len({graph.pieces[i].blob for i in range(c.start, c.stop)}) for c in graph.candidates])
    pieces = np.array([c.stop - c.start for c in graph.candidates])
    columns = [np.maximum(np.log(np.maximum(ranked[:, -1], 1e-30)), LOG_FLOOR),
               np.maximum(np.log(np.maximum(ranked[:, -2], 1e-30)), RUNNER_UP_FLOOR),
               np.minimum(height_ratio, 0) ** 2, np.maximum(height_ratio, 0) ** 2,
               aspect_z ** 2, length_z ** 2, np.maximum(length_z, 0),
               np.maximum(0, -np.log(np.maximum(mass, 1) / typical)), strokes, (strokes > 0).astype(float),
               blobs - 1.0, pieces - 1.0]
    columns += [np.eye(10)[classes], np.ones(count)]
    return np.column_stack(columns + list(cut_blob_features(graph, columns[0], columns[5])) + [inner_gaps(graph)]
                           + list(neighbour_overlaps(graph)) + [whole_digit_log_odds, softened_log_p(probabilities)])


def softened_log_p(probabilities: np.ndarray) -> np.ndarray:
    """Per row, the log-probability of its best class once every probability is raised to
    1 / `SOFTENING` and the row renormalised: −log Σ (p_k / p_best)^(1 / SOFTENING), 0 when the
    best class holds everything, lower the more weight the other classes hold between them."""
    scaled = np.log(np.maximum(probabilities, 1e-30)) / SOFTENING
    return scaled.max(axis=1) - logsumexp(scaled, axis=1)


def outline_lengths(masks: list[np.ndarray]) -> np.ndarray:
    """Per mask, its pixels with a 4-neighbour outside it (one erosion of all, side by side)."""
    canvas = Canvas.of(masks, gap=1, dtype=bool)
    outline = canvas.array & ~ndi.binary_erosion(canvas.array)
    return np.array([np.count_nonzero(part) for part in canvas.parts(outline)], dtype=float)


def cut_blob_features(graph: Oversegmentation, log_p: np.ndarray, length_z2: np.ndarray):
    """Per candidate, over the blobs it takes only part of: how sure the model is of the whole
    blob (its log-probability above `LOG_FLOOR`), and how far the whole blob's stroke length is
    from its class's (z², capped at `MAX_Z2`; `MAX_Z2` when the whole blob is no candidate). A blob
    read surely as one digit of the right length is seldom two."""
    pieces_of: dict[int, list[int]] = {}
    for index, piece in enumerate(graph.pieces):
        pieces_of.setdefault(piece.blob, []).append(index)
    whole = {}
    for index, candidate in enumerate(graph.candidates):
        blobs = {graph.pieces[i].blob for i in range(candidate.start, candidate.stop)}
        if len(blobs) == 1 and pieces_of[next(iter(blobs))] == list(range(candidate.start, candidate.stop)):
            whole[blobs.pop()] = index
    sure, length = np.zeros(len(graph.candidates)), np.zeros(len(graph.candidates))
    for index, candidate in enumerate(graph.candidates):
        run = set(range(candidate.start, candidate.stop))
        for blob in {graph.pieces[i].blob for i in run}:
            if not set(pieces_of[blob]) <= run:
                w = whole.get(blob)
                sure[index] += log_p[w] - LOG_FLOOR if w is not None else 0.0
                length[index] += length_z2[w] if w is not None else MAX_Z2
    return sure, np.minimum(length, MAX_Z2)


def inner_gaps(graph: Oversegmentation) -> np.ndarray:
    """Per candidate, the widest horizontal gap between its pieces, in line heights (0: they overlap)."""
    gaps = np.zeros(len(graph.candidates))
    for index, candidate in enumerate(graph.candidates):
        spans = sorted(graph.pieces[i].box[0::2] for i in range(candidate.start, candidate.stop))
        right = spans[0][1]
        for x0, x1 in spans[1:]:
            gaps[index] = max(gaps[index], x0 - right)
            right = max(right, x1)
    return gaps / graph.line_height


def neighbour_overlaps(graph: Oversegmentation) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate, how much of the narrower of it and the piece just before it (and just after
    it) share columns, marks left out: a digit's neighbours in a number hardly reach under it,
    while another piece of the same digit (a 6's loop drawn apart from its stem) does."""
    before, after = np.zeros(len(graph.candidates)), np.zeros(len(graph.candidates))
    for index, candidate in enumerate(graph.candidates):
        for neighbour, out in ((candidate.start - 1, before), (candidate.stop, after)):
            if 0 <= neighbour < len(graph.pieces) and not graph.pieces[neighbour].mark:
                x0, _, x1, _ = graph.pieces[neighbour].box
                shared = min(x1, candidate.box[2]) - max(x0, candidate.box[0])
                out[index] = max(0, shared) / min(x1 - x0, candidate.box[2] - candidate.box[0])
    return before, after


def class_z(shape, values: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """How many of its class's standard deviations each value lies from its class's mean."""
    means, deviations = (np.asarray(v) for v in shape)
    return (values - means[classes]) / deviations[classes]


def noise_features(graph: Oversegmentation) -> dict[int, np.ndarray]:
    """{piece index: features of skipping it} for the pieces that may be noise (marks, short ones)."""
    line = graph.line_height
    return {i: np.array([1.0, (p.box[3] - p.box[1]) / line, (p.box[2] - p.box[0]) / line, float(p.mark)])
            for i, p in enumerate(graph.pieces) if p.mark or p.short}


def best_arcs(graph: Oversegmentation, digit_scores: np.ndarray, noise_scores: dict[int, float]) -> list[int]:
    """The arcs of the highest-scoring path from cut position 0 to the last, left to right: a
    candidate's index, or −1 − piece for a noise arc. Every picture has a path: a piece that is not
    noise is a candidate on its own (reader.numbers.segment.candidates)."""
    nodes = len(graph.pieces)
    arcs_into: list[list[tuple[int, int, float]]] = [[] for _ in range(nodes + 1)]
    for index, candidate in enumerate(graph.candidates):
        arcs_into[candidate.stop].append((candidate.start, index, float(digit_scores[index])))
    for piece, score in noise_scores.items():
        arcs_into[piece + 1].append((piece, -1 - piece, float(score)))
    best = np.full(nodes + 1, -np.inf)
    best[0] = 0.0
    came_from = [(0, 0)] * (nodes + 1)
    for node in range(1, nodes + 1):
        for start, arc, score in arcs_into[node]:
            if best[start] + score > best[node]:
                best[node], came_from[node] = best[start] + score, (start, arc)
    path, node = [], nodes
    while node > 0:
        node, arc = came_from[node]
        path.append(arc)
    return path[::-1]
