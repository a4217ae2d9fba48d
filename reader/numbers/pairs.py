"""Two touching digits read as one: the pair reader, which reads a chosen "digit" as one or two.

Where two digits of a crowded number touch or cross, no cut parts them cleanly (their strokes
share columns), and the best path may take the blob as one digit: "2608" read as "268". LeNet
was trained on single digits and reads such a blob as one of them. The pair reader is a second,
small convolutional network trained on pictures of one digit and of two touching or crossing
digits (numbers written with MNIST *training* digits, `benchmarks/fit_pair_reader.py`): its 110
classes are the ten digits alone and the hundred ordered pairs. It sees a candidate at a fixed
height in a frame twice as wide as tall (`pair_input`), so a pair keeps its shape.

`pairs_in` asks it of each chosen digit at least `MIN_WIDTH` line heights wide; when it is surer
than `PAIR_ABOVE` that the candidate holds two digits, `reader.pipeline.read_number` makes that
digit the two (`reader.pipeline.pair_digits`). Both constants were chosen on numbers written with
the tuning pool's digits (crowded 530 → 549 of 600; benchmarks/README.md). The file,
`pair_reader.onnx`, is run by ONNX Runtime on one CPU thread.
"""

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from reader.model import fitted_session
from reader.preprocess import INK_THRESHOLD, ink_bbox

WEIGHTS_FILE = Path(__file__).with_name("pair_reader.onnx")
HEIGHT, WIDTH = 28, 56       # the reader's input frame (px)
BOX_HEIGHT = 20              # a candidate's ink is scaled to this height (MNIST's 20-px box) ...
BOX_WIDTH = 52               # ... or, if that makes it wider, to this width
SINGLES = 10                 # classes 0–9: one digit; 10 + 10 a + b: the pair "ab"
INPUT_NAME = "pairs"         # float32 (N, HEIGHT, WIDTH, 1)
OUTPUT_NAME = "probabilities"  # float32 (N, 110)
MIN_WIDTH = 0.6              # chosen digits narrower than this (× line height) are never asked
PAIR_ABOVE = 0.99            # the reader's probability of two digits needed to split one


def class_text(index: int) -> str:
    """What class `index` reads: "7" for a single digit, "27" for a pair."""
    return str(index) if index < SINGLES else f"{(index - SINGLES) // 10}{(index - SINGLES) % 10}"


def class_index(text: str) -> int:
    """The class that reads `text` (one digit or two): `class_text`'s inverse."""
    return int(text) if len(text) == 1 else SINGLES + 10 * int(text[0]) + int(text[1])


def pair_input(ink: np.ndarray) -> np.ndarray | None:
    """The pair reader's input for an ink map holding one candidate: float32 (HEIGHT, WIDTH) in
    [0, 1], its ink cropped, scaled to `BOX_HEIGHT` px tall (at most `BOX_WIDTH` wide, aspect kept,
    anti-aliased) and centred; None when it has no ink."""
    box = ink_bbox(ink, INK_THRESHOLD)
    if box is None:
        return None
    crop = ink[box[1]:box[3], box[0]:box[2]].astype(np.float32)
    scale = min(BOX_HEIGHT / crop.shape[0], BOX_WIDTH / crop.shape[1])
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    scaled = np.clip(np.asarray(Image.fromarray(crop).resize(size, resample), dtype=np.float32), 0, 1)
    frame = np.zeros((HEIGHT, WIDTH), np.float32)
    top, left = (HEIGHT - scaled.shape[0]) // 2, (WIDTH - scaled.shape[1]) // 2
    frame[top:top + scaled.shape[0], left:left + scaled.shape[1]] = scaled
    peak = frame.max()
    return frame / peak if peak > 0 else None


class PairReader:
    """The reader saved at `path`, run by ONNX Runtime on the CPU. RuntimeError (saying how to make
    it) if it is missing, corrupt or made for another input or classes."""

    def __init__(self, path: Path = WEIGHTS_FILE, threads: int = 1):
        self.session = fitted_session(path, "fit_pair_reader.py", [(INPUT_NAME, [None, HEIGHT, WIDTH, 1])],
                                      [(OUTPUT_NAME, [None, SINGLES + 100])], threads)

    def probabilities(self, inputs: np.ndarray) -> np.ndarray:
        """(N, 110) class probabilities for (N, HEIGHT, WIDTH) inputs."""
        if not len(inputs):
            return np.zeros((0, SINGLES + 100), np.float32)
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: inputs[..., None].astype(np.float32)})[0]


@functools.cache
def shipped() -> PairReader:
    return PairReader(WEIGHTS_FILE)


@dataclass(frozen=True)
class Pair:
    """A chosen digit the pair reader reads as two."""
    position: int                 # its place in the path
    text: str                     # the two digits, left to right
    probabilities: np.ndarray     # the reader's 110 probabilities for it
    two: float                    # ... of which those of a pair, together


def pairs_in(candidates: list, line_height: float, reader: PairReader | None = None) -> list[Pair]:
    """Of the chosen digits' candidates (`reader.numbers.segment.Candidate`s of a line whose digits
    are `line_height` tall), those at least `MIN_WIDTH` line heights wide that the reader is surer
    than `PAIR_ABOVE` hold two digits (`Pair.position`: the index in `candidates`)."""
    asked = [k for k, c in enumerate(candidates) if c.box[2] - c.box[0] >= MIN_WIDTH * line_height]
    inputs = [(k, pair_input(candidates[k].ink)) for k in asked]
    inputs = [(k, x) for k, x in inputs if x is not None]
    if not inputs:
        return []
    reader = reader or shipped()
    probabilities = reader.probabilities(np.stack([x for _, x in inputs]))
    found = []
    for (k, _), p in zip(inputs, probabilities):
        two = float(p[SINGLES:].sum())
        best = SINGLES + int(p[SINGLES:].argmax())
        if two > PAIR_ABOVE:
            found.append(Pair(k, class_text(best), p, two))
    return found


def split_column(ink: np.ndarray) -> int:
    """Where to draw the line between a pair's two digits (for their boxes and pictures): the
    column with the least ink in the middle third of the candidate's inked width."""
    inked = np.flatnonzero((ink > INK_THRESHOLD).any(axis=0))
    left, right = (int(inked[0]), int(inked[-1]) + 1) if inked.size else (0, ink.shape[1])
    low, high = left + (right - left) // 3, left + 2 * (right - left) // 3
    if high <= low:
        return (left + right) // 2
    return low + int(np.argmin(ink[:, low:high].sum(axis=0)))


def marginals(probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """From one row of the reader's probabilities, those of the left digit and of the right one,
    given that there are two (each sums to 1)."""
    pair = probabilities[SINGLES:].reshape(10, 10).astype(np.float64)
    total = max(pair.sum(), np.finfo(np.float64).tiny)
    return pair.sum(axis=1) / total, pair.sum(axis=0) / total
