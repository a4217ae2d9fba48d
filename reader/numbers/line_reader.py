"""The line reader: a second opinion on a whole number, read without cutting it into digits.

The Number reader cuts a number into candidate digits and reads each with LeNet (recognition-based
segmentation). Where digits touch and cross, no cut parts them cleanly, and a cut through a
crossing stroke turns a "0" into a "6". The line reader reads the whole line at once instead: a
small convolutional network slides along the line (one column of outputs every `STRIDE` px of its
input) and says, at each step, which digit it sees or none (the blank), trained with the
connectionist temporal classification loss (CTC; Graves et al. 2006) on numbers written with MNIST
*training* digits (`benchmarks/fit_line_reader.py`). It needs no cut, so crossing strokes stay
whole.

It does not replace the path; `reader.pipeline.second_opinion` asks it how likely readings are
(`log_likelihoods`, the CTC forward algorithm summing all alignments): its own best reading
(`best_text`) replaces the path's when it finds it far likelier (`SWITCH_ABOVE`,
`SAME_LENGTH_ABOVE`); otherwise, when both read as many digits, what it says of each place
(`digit_probabilities`) is multiplied into what LeNet said of that digit (`WEIGHT`). The file,
`line_reader.onnx`, is run by ONNX Runtime on one CPU thread.
"""

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage as ndi
from scipy.special import logsumexp

from reader.model import fitted_session
from reader.preprocess import INK_THRESHOLD, ink_bbox

WEIGHTS_FILE = Path(__file__).with_name("line_reader.onnx")
HEIGHT = 32                  # the reader's input height (px); its width follows the line
LINE_HEIGHT = 20             # the line's digit height is scaled to this (MNIST's 20-px box)
MARGIN = 6                   # px of background left and right
STRIDE = 4                   # input columns per output step
BLANK = 0                    # output class 0: no digit here; 1 + d: the digit d
INPUT_NAME = "line"          # float32 (N, HEIGHT, width, 1), width a multiple of STRIDE
OUTPUT_NAME = "log_probabilities"  # float32 (N, width / STRIDE, 11)
HALO = 2                     # faint ink this close (px) to a blob is kept, as the cutter keeps it
SWITCH_ABOVE = 5.0           # the line reader's reading replaces the path's when it finds it this much
                             # likelier (natural log of the ratio) ...
SAME_LENGTH_ABOVE = 10.0     # ... or this much, when both have as many digits ...
WEIGHT = 0.5                 # ... else a digit's probabilities are the model's times the line reader's
                             # to this power (all three chosen on the tuning numbers: benchmarks/README.md)


@dataclass(frozen=True)
class Line:
    """The reader's input for one line and where it came from."""
    pixels: np.ndarray            # float32 (HEIGHT, width) in [0, 1], width a multiple of STRIDE
    ink: np.ndarray               # the ink map it was made from, only its kept blobs' ink left
    scale: float                  # input px per ink-map px
    left: int                     # the ink-map column of the input's column MARGIN

    def ink_columns(self, step: float) -> float:
        """The ink-map column under the centre of output step `step` (fractional steps allowed)."""
        return self.left + ((step + 0.5) * STRIDE - MARGIN) / self.scale


def line_input(ink: np.ndarray, blobs: np.ndarray, line_height: float) -> Line | None:
    """The reader's input for a line (`Line`). `ink` is the line's ink map as the cutter sees it
    (`segment.LineBlobs.ink`), `blobs` its labelled blobs (0: nothing to read: background,
    specks, dots far from the digits, or ink left out as not a digit) and `line_height` its digit
    height. The ink of the blobs (with `HALO`) is scaled so the digits are `LINE_HEIGHT` px tall,
    cropped to its rows (scaled down further if they are taller than `HEIGHT`), centred and given
    `MARGIN` each side; None when no ink is left."""
    if line_height <= 0 or not (blobs > 0).any():
        return None
    kept = np.where(ndi.binary_dilation(blobs > 0, iterations=HALO), ink, 0).astype(np.float32)
    box = ink_bbox(kept, INK_THRESHOLD)
    if box is None:
        return None
    crop = kept[box[1]:box[3], box[0]:box[2]]
    scale = min(LINE_HEIGHT / line_height, HEIGHT / crop.shape[0])
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    scaled = np.clip(np.asarray(Image.fromarray(crop).resize(size, resample), dtype=np.float32), 0, 1)
    width = -(-(scaled.shape[1] + 2 * MARGIN) // STRIDE) * STRIDE
    frame = np.zeros((HEIGHT, width), np.float32)
    top = (HEIGHT - scaled.shape[0]) // 2
    frame[top:top + scaled.shape[0], MARGIN:MARGIN + scaled.shape[1]] = scaled
    peak = frame.max()
    if peak <= 0:
        return None
    return Line(frame / peak, kept, size[0] / crop.shape[1], box[0])


def best_text(log_probabilities: np.ndarray) -> str:
    """The reading of the most likely alignment (best path decoding): each step's likeliest class,
    repeats merged, blanks dropped."""
    best = log_probabilities.argmax(axis=1)
    merged = best[np.r_[True, best[1:] != best[:-1]]]
    return "".join(str(k - 1) for k in merged if k != BLANK)


def log_likelihoods(log_probabilities: np.ndarray, texts: list[str]) -> np.ndarray:
    """ln P(text | the line) for each of `texts`: the CTC forward algorithm, summing over every
    alignment of the text to the (steps, 11) `log_probabilities` (−inf when the line has too
    few steps for it). All texts at once, one row of states each."""
    steps = len(log_probabilities)
    lengths = np.array([2 * len(text) + 1 for text in texts])
    states = int(lengths.max())
    extended = np.full((len(texts), states), BLANK)
    for row, text in enumerate(texts):
        extended[row, 1:lengths[row]:2] = [1 + int(c) for c in text]
    valid = np.arange(states)[None] < lengths[:, None]
    skip = np.zeros_like(valid)                        # a label may follow the label before it directly,
    skip[:, 3::2] = extended[:, 3::2] != extended[:, 1:-2:2]  # skipping the blank, unless it repeats it
    emitted = np.where(valid[None], log_probabilities[:, extended], -np.inf)   # (steps, texts, states)
    alpha = np.full((len(texts), states), -np.inf)
    if steps == 0:
        return np.where(lengths == 1, 0.0, -np.inf)
    alpha[:, :2] = emitted[0, :, :2]
    for t in range(1, steps):
        step = np.pad(alpha[:, :-1], ((0, 0), (1, 0)), constant_values=-np.inf)
        jump = np.where(skip, np.pad(alpha[:, :-2], ((0, 0), (2, 0)), constant_values=-np.inf), -np.inf)
        alpha = np.logaddexp(np.logaddexp(alpha, step), jump) + emitted[t]
    rows = np.arange(len(texts))
    last = alpha[rows, lengths - 1]
    before = np.where(lengths > 1, alpha[rows, np.maximum(lengths - 2, 0)], -np.inf)
    return np.logaddexp(last, before)


def digit_probabilities(log_probabilities: np.ndarray, text: str) -> np.ndarray:
    """(len(text), 10): for each position of `text`, how likely each digit is there, the others
    kept (the likelihoods of the ten texts that differ only there, normalised)."""
    if not text:
        return np.zeros((0, 10), np.float32)
    variants = [text[:position] + str(d) + text[position + 1:] for position in range(len(text)) for d in range(10)]
    scores = log_likelihoods(log_probabilities, variants).reshape(len(text), 10)
    possible = np.isfinite(scores).any(axis=1, keepdims=True)      # (too short a line for the text: none)
    scores = np.where(possible, scores, 0.0)
    return np.exp(scores - logsumexp(scores, axis=1, keepdims=True)).astype(np.float32)


def digit_steps(log_probabilities: np.ndarray) -> list[float]:
    """For `best_text`'s digits, the middle of the run of steps each was read on."""
    best = log_probabilities.argmax(axis=1)
    centres, start = [], 0
    for t in range(1, len(best) + 1):
        if t == len(best) or best[t] != best[start]:
            if best[start] != BLANK:
                centres.append((start + t - 1) / 2)
            start = t
    return centres


class LineReader:
    """The reader saved at `path`, run by ONNX Runtime on the CPU. RuntimeError (saying how to make
    it) if it is missing, corrupt or made for another input."""

    def __init__(self, path: Path = WEIGHTS_FILE, threads: int = 1, maker: str = "fit_line_reader.py"):
        self.session = fitted_session(path, maker, [(INPUT_NAME, [None, HEIGHT, None, 1])],
                                      [(OUTPUT_NAME, [None, None, 11])], threads)

    def log_probabilities(self, line: np.ndarray) -> np.ndarray:
        """(width / STRIDE, 11) log-probabilities per step for one `line_input`."""
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: line[None, :, :, None].astype(np.float32)})[0][0]


@functools.cache
def shipped() -> LineReader:
    return LineReader(WEIGHTS_FILE)
