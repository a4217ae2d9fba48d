"""Choose the digits of a number: the best path through its over-segmentation (Viterbi).

`demo.segment.oversegment` proposes candidate digits (arcs between cut positions); the model reads
every candidate in one batch; here each arc gets a score and dynamic programming finds the path
from the first cut position to the last with the highest total (LeCun et al. 1998, §VI).

A candidate's score is a weighted sum of what the model says and plain geometric priors:

- the log-probability of its best class (and of the runner-up: a sure reading has a far one);
- its height against the line's typical digit height (too short: a piece; too tall: two rows);
- its aspect ratio and its stroke length (half its outline) over its height, each against what
  MNIST's training digits of the class the model read have (`CLASS_SHAPES`): two digits read as
  one are too wide and hold too much stroke for one digit, a slice of a digit too little;
- its ink mass against the line's typical digit;
- the strokes its cuts go through, and how many blobs and pieces it joins;
- which class it was read as (a slice of almost any digit reads as a "1").

A noise arc, which skips a mark or a piece too short to be a digit, scores by its size. The
weights (`number_weights.json`) were fit by `python benchmarks/numbers.py --fit` with an averaged
structured perceptron (Collins 2002) on numbers written with MNIST test digits 0–4,999 (pool
TUNING of tests/written_numbers.py): for each number, the weights move towards the features of
the right path and away from those of the path they chose. They are measured on digits
5,000–9,999.
"""

import json
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from demo.preprocess import INK_THRESHOLD
from demo.segment import Oversegmentation

WEIGHTS_FILE = Path(__file__).with_name("number_weights.json")
LOG_FLOOR = -8.0          # log-probabilities below this carry no more information
# Per class 0–9, mean and standard deviation over 6,000 MNIST training digits (enlarged 4×, ink
# above 0.2) of log(width / height) and of log(half the outline / height): `benchmarks/numbers.py
# --class-shapes` measures them.
CLASS_SHAPES = {
    "aspect": ((-0.1, -0.878, -0.067, -0.219, -0.224, -0.063, -0.32, -0.25, -0.27, -0.377),
               (0.193, 0.455, 0.219, 0.212, 0.203, 0.262, 0.216, 0.214, 0.218, 0.202)),
    "length": ((0.794, 0.112, 0.743, 0.731, 0.598, 0.771, 0.598, 0.523, 0.729, 0.587),
               (0.114, 0.091, 0.146, 0.155, 0.107, 0.155, 0.172, 0.123, 0.15, 0.125)),
}
DIGIT_FEATURES = ("log p", "log p runner-up", "shorter than the line²", "taller than the line²",
                  "aspect z²", "length z²", "length z above", "ink mass below typical", "strokes cut",
                  "cut", "extra blobs", "extra pieces") + tuple(f"read as {k}" for k in range(10)) + ("digit",)
NOISE_FEATURES = ("noise", "height", "width", "mark")


def load_weights(path: Path = WEIGHTS_FILE) -> tuple[np.ndarray, np.ndarray]:
    """(digit weights, noise weights) from the JSON written by `benchmarks/numbers.py --fit`."""
    saved = json.loads(path.read_text())
    digit = np.array([saved["digit"][name] for name in DIGIT_FEATURES])
    noise = np.array([saved["noise"][name] for name in NOISE_FEATURES])
    return digit, noise


def digit_features(graph: Oversegmentation, probabilities: np.ndarray) -> np.ndarray:
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
    outline = np.array([(mask & ~ndi.binary_erosion(mask)).sum() for mask in masks], dtype=float)
    aspect_z = class_z("aspect", np.log(widths / heights), classes)
    length_z = class_z("length", np.log(np.maximum(outline, 1) / (2 * heights)), classes)
    typical = np.median(mass[np.abs(height_ratio) < 0.3]) if np.any(np.abs(height_ratio) < 0.3) else np.median(mass)
    strokes = np.array([c.strokes_cut for c in graph.candidates], dtype=float)
    blobs = np.array([len({graph.pieces[i].blob for i in range(c.start, c.stop)}) for c in graph.candidates])
    pieces = np.array([c.stop - c.start for c in graph.candidates])
    columns = [np.maximum(np.log(np.maximum(ranked[:, -1], 1e-30)), LOG_FLOOR),
               np.maximum(np.log(np.maximum(ranked[:, -2], 1e-30)), LOG_FLOOR),
               np.minimum(height_ratio, 0) ** 2, np.maximum(height_ratio, 0) ** 2,
               aspect_z ** 2, length_z ** 2, np.maximum(length_z, 0),
               np.maximum(0, -np.log(np.maximum(mass, 1) / typical)), strokes, (strokes > 0).astype(float),
               blobs - 1.0, pieces - 1.0]
    return np.column_stack(columns + [np.eye(10)[classes], np.ones(count)])


def class_z(shape: str, values: np.ndarray, classes: np.ndarray) -> np.ndarray:
    means, deviations = (np.asarray(v) for v in CLASS_SHAPES[shape])
    return (values - means[classes]) / deviations[classes]


def noise_features(graph: Oversegmentation) -> dict[int, np.ndarray]:
    """{piece index: features of skipping it} for the pieces that may be noise (marks, short ones)."""
    line = graph.line_height
    return {i: np.array([1.0, (p.box[3] - p.box[1]) / line, (p.box[2] - p.box[0]) / line, float(p.mark)])
            for i, p in enumerate(graph.pieces) if p.mark or p.short}


def best_path(graph: Oversegmentation, digit_scores: np.ndarray, noise_scores: dict[int, float]) -> list[int]:
    """Indices of the candidates on the highest-scoring path from cut position 0 to the last
    (noise arcs are left out of the answer), left to right. Every picture has a path: a piece
    that is not noise is a candidate on its own (demo.segment.candidates)."""
    return [arc for arc in best_arcs(graph, digit_scores, noise_scores) if arc >= 0]


def best_arcs(graph: Oversegmentation, digit_scores: np.ndarray, noise_scores: dict[int, float]) -> list[int]:
    """The arcs of the best path, left to right: a candidate's index, or −1 − piece for a noise arc."""
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
