"""Is it a digit at all? The check that lets a reading say "not a digit", and why.

LeNet was trained on digits only, so it reads a tap, a scribble, a "+" or a letter as surely as a
digit (a single dot reads "0, 97.8% sure"). LeCun et al. trained their recognizer on non-digits for
that reason; here, as the number reader's `whole_digit` check does for pieces and pairs, a small
separate check sits beside the unchanged LeNet. It sees what the engine already has:

- the ink before preprocessing (`geometry`): how many separate blobs, how long the strokes are in
  pen widths (a dot is about one), how elongated the ink and its largest blob are, how much of
  its box it fills, how large it is against the picture, how many loops (holes) it closes;
- the 28×28 model input, pooled to 14×14;
- LeNet's probabilities (the best, and the entropy).

A small network (one ReLU layer) over those, fitted by `benchmarks/fit_not_digit.py` (scikit-learn, on real MNIST
training digits and drawn digits against generated non-digits of `tests/non_digits.py`), shipped as
`not_digit.json` (standardisation, weights, threshold) and applied here with numpy. The reason a
reading gives is read off the geometry (`reason`), so it says what was seen.

Applied today to taps and dots only: a tap, one to three stray dots, read "not a digit" and the
page says so; the check's other refusals (scribbles, marks, letters) are measured but not acted on
until they stop refusing real drawn digits (`NotDigitCheck.verdict` gives the figures).
"""

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from reader.preprocess import INK_THRESHOLD, ink_bbox, ink_blobs, stroke_width

WEIGHTS_FILE = Path(__file__).with_name("not_digit.json")
GEOMETRY = ("blobs", "log stroke length in pen widths", "log elongation", "log largest blob's elongation",
            "fill of the box", "size against the picture", "holes")
MODEL = ("best probability", "entropy")
POOL = 2                      # the 28×28 input is averaged over POOL × POOL squares
DOT_LENGTH = 2.5              # ink at most this many pen widths long (each blob) is a tap or dots
MAX_BLOBS = 6
MAX_HOLES = 6                 # a digit has at most 2 (an 8); a scribble's loops make many
MEASURE_SIDE = 96             # px: `geometry` measures strokes on the ink brought to at most this


TAP = "too small to be a digit: a tap or a dot"
DOTS = "only taps or dots, no digit"
APPLIED_REASONS = (TAP, DOTS)   # the refusals a reading acts on (see NotDigitCheck.verdict)


@dataclass
class Verdict:
    digit: bool
    reason: str | None        # why it is not a digit; None for a digit
    log_odds: float           # that it is a digit (the threshold is the check's own)
    refusal: str | None = None  # the check's own refusal when it is not applied (benchmarks report it)


def geometry(ink: np.ndarray, blobs: tuple[np.ndarray, int] | None = None) -> np.ndarray:
    """GEOMETRY of an ink map (`reader.preprocess.ink_map`) that holds ink. Stroke width and length
    are measured on the kept ink brought to at most MEASURE_SIDE px (block means): the same ratios
    for less work on a large canvas. `blobs`: `ink_blobs(ink)` when the caller has it already."""
    blobs, count = blobs if blobs is not None else ink_blobs(ink)
    x0, y0, x1, y1 = ink_bbox((blobs > 0).astype(np.float32), 0.5)
    blobs = blobs[y0:y1, x0:x1]
    side = max(x1 - x0, y1 - y0)
    factor = max(1, math.ceil(side / MEASURE_SIDE))
    kept = np.where(blobs > 0, ink[y0:y1, x0:x1], 0)
    small = block_mean(kept, factor) if factor > 1 else kept
    mask = next((small > level for level in (0.5, INK_THRESHOLD, 0) if (small > level).any()))
    width = max(stroke_width(mask), 1.0) * factor
    areas = np.bincount(blobs.ravel(), minlength=count + 1)[1:]
    largest = blobs == 1 + int(areas.argmax())
    ly, lx = np.flatnonzero(largest.any(1)), np.flatnonzero(largest.any(0))
    largest_side = max(ly[-1] - ly[0], lx[-1] - lx[0]) + 1
    area = mask.sum() * factor ** 2
    return np.array([min(count, MAX_BLOBS), np.log(max(area, 1) / width ** 2), np.log(side / width),
                     np.log(largest_side / width), area / ((x1 - x0) * (y1 - y0)), side / min(ink.shape),
                     min(holes(small > INK_THRESHOLD, width / factor), MAX_HOLES)], np.float32)


def holes(mask: np.ndarray, width: float) -> int:
    """Enclosed background regions of `mask` at least a pen width square: the loops
    of a 0, 6, 8, 9 or 4, or of a scribble."""
    background, count = ndi.label(np.pad(~mask, 1, constant_values=True))
    if count <= 1:
        return 0
    areas = np.bincount(background.ravel())[1:]
    outside = background[0, 0] - 1
    areas[outside] = 0
    return int((areas >= max(2.0, width ** 2)).sum())


def block_mean(values: np.ndarray, factor: int) -> np.ndarray:
    """`values` averaged over factor × factor blocks (padded with zeros to whole blocks)."""
    h, w = (-(-n // factor) * factor for n in values.shape)
    padded = np.zeros((h, w), np.float32)
    padded[:values.shape[0], :values.shape[1]] = values
    return padded.reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))


def features(ink: np.ndarray, model_input: np.ndarray, probabilities: np.ndarray,
             blobs: tuple[np.ndarray, int] | None = None) -> np.ndarray:
    """All the check sees of one reading: GEOMETRY, MODEL, then the pooled input."""
    p = np.clip(probabilities.astype(np.float64), 1e-12, 1)
    size = model_input.shape[0] // POOL * POOL
    pooled = model_input[:size, :size].reshape(size // POOL, POOL, size // POOL, POOL).mean(axis=(1, 3))
    values = np.concatenate([geometry(ink, blobs), [p.max(), -(p * np.log(p)).sum()], pooled.ravel()])
    return np.nan_to_num(values).astype(np.float32)


def reason(geometry_values: np.ndarray) -> str:
    """Why a reading the check refused is not a digit, from what its ink looks like."""
    blobs, log_length = geometry_values[0], geometry_values[1]
    if log_length - np.log(blobs) <= np.log(DOT_LENGTH):
        return TAP if blobs == 1 else DOTS
    return "does not look like any digit"


class NotDigitCheck:
    """The fitted check saved at `path`: standardisation, then layers (ReLU between them) ending in
    one log-odds that the reading is a digit, and the threshold under which it is not. RuntimeError
    (saying how to make it) if it is missing or was made for other features."""

    def __init__(self, path: Path = WEIGHTS_FILE):
        try:
            saved = json.loads(Path(path).read_text())
            self.mean, self.scale = np.array(saved["mean"]), np.array(saved["scale"])
            self.layers = [(np.array(layer["weights"]), np.array(layer["bias"])) for layer in saved["layers"]]
            self.threshold = float(saved["threshold"])
            width = len(GEOMETRY) + len(MODEL) + (28 // POOL) ** 2
            if saved["geometry"] != list(GEOMETRY) or saved["model"] != list(MODEL) or saved["pool"] != POOL \
                    or not len(self.mean) == len(self.scale) == len(self.layers[0][0]) == width \
                    or self.layers[-1][0].shape[1:] != (1,):
                raise ValueError("made for other features")
        except (OSError, ValueError, KeyError, TypeError, IndexError) as error:
            raise RuntimeError(f"{path} is missing or was made for other features ({error}): "
                               "python benchmarks/fit_not_digit.py makes it") from None

    def log_odds(self, values: np.ndarray) -> np.ndarray:
        """That each row of `features` values is a digit (elementwise products, not a matrix
        product, which would wake every core's BLAS thread for a few thousand multiplications; many
        rows at once, as the benchmarks send, do use one)."""
        hidden = (np.atleast_2d(values) - self.mean) / self.scale
        for index, (weights, bias) in enumerate(self.layers):
            hidden = (hidden @ weights if len(hidden) > 8 else (hidden[:, :, None] * weights[None]).sum(axis=1)) + bias
            if index < len(self.layers) - 1:
                hidden = np.maximum(hidden, 0)
        return hidden[:, 0]

    def verdict(self, ink: np.ndarray, model_input: np.ndarray, probabilities: np.ndarray,
                blobs: tuple[np.ndarray, int] | None = None) -> Verdict:
        """Not a digit only when the check refuses it AND its ink is taps or dots (`APPLIED_REASONS`):
        its other refusals would also refuse 2.5–7.5% of MNIST digits drawn on the canvas
        (benchmarks/not_digit.py, docs/reading.md), so today they are measured (`refusal`), not applied."""
        values = features(ink, model_input, probabilities, blobs)
        odds = float(self.log_odds(values)[0])
        refusal = None if odds >= self.threshold else reason(values[:len(GEOMETRY)])
        if refusal in APPLIED_REASONS:
            return Verdict(False, refusal, odds)
        return Verdict(True, None, odds, refusal)


@functools.cache
def shipped() -> NotDigitCheck:
    return NotDigitCheck(WEIGHTS_FILE)
