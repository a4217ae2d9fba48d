"""Is it a digit at all? The check that lets a reading say "not a digit", and why.

LeNet was trained on digits only, so it reads a tap, a scribble, a "+" or a letter as surely as a
digit (a single dot read "0, 97.8% sure"). LeCun et al. trained their recognizer on non-digits for
that reason; here, as the number reader's `whole_digit` check does for pieces and pairs, a second,
small network sits beside the unchanged LeNet (so every model the page offers gets the same
verdict for the same picture). It sees what a reading already has:

- the 28×28 model input, through two small convolution layers;
- the ink before preprocessing (`geometry`): how many separate blobs, how long the strokes are in
  pen widths (a dot is about one), how elongated the ink and its largest blob are, how much of
  its box it fills, how large it is against the picture, how many loops (holes) it closes.

`benchmarks/fit_not_digit.py` trains it (Keras, on real MNIST training digits — as they are,
distorted, drawn on the canvas, coarse and printed — against generated taps, doodles, marks,
letters and pairs of `tests/non_digits.py`) and exports it with tf2onnx as `not_digit.onnx`,
its threshold in the file's metadata; ONNX Runtime runs it here on one CPU thread. The reason a
reading gives is read off the geometry (`reason`), so it says what was seen.
"""

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from reader.model import fitted_session
from reader.preprocess import INK_THRESHOLD, ink_bbox, ink_blobs, stroke_width

WEIGHTS_FILE = Path(__file__).with_name("not_digit.onnx")
GEOMETRY = ("blobs", "log stroke length in pen widths", "log elongation", "log largest blob's elongation",
            "fill of the box", "size against the picture", "holes")
PICTURE_NAME = "picture"      # float32 (N, 28, 28, 1): the model input
GEOMETRY_NAME = "geometry"    # float32 (N, len(GEOMETRY))
OUTPUT_NAME = "log_odds"      # float32 (N,): that each picture is a digit
DOT_LENGTH = 2.5              # ink at most this many pen widths long (each blob) is a tap or dots
BLOB_SIZE = 0.2               # ... and a filled blob, not a tap, when its side is this share of the picture
SQUAT = 1.8                   # ... and never a digit when its largest blob is also less elongated than this
MAX_BLOBS = 6
MAX_HOLES = 6                 # a digit has at most 2 (an 8); a scribble's loops make many
MEASURE_SIDE = 96             # px: `geometry` measures strokes on the ink brought to at most this


TAP = "too small to be a digit: a tap or a dot"
DOTS = "only taps or dots, no digit"
BLOB = "a filled blob, not pen strokes"
OTHER = "does not look like any digit"


@dataclass
class Verdict:
    digit: bool
    reason: str | None        # why it is not a digit; None for a digit
    log_odds: float           # that it is a digit (the threshold is the check's own)


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


def short(geometry_values: np.ndarray) -> bool:
    """Whether ink of this `geometry` has at most `DOT_LENGTH` pen widths of stroke a blob: taps,
    dots, a filled blob, or a very short bar."""
    blobs, log_length = geometry_values[0], geometry_values[1]
    return bool(log_length - np.log(blobs) <= np.log(DOT_LENGTH))


def strokeless(geometry_values: np.ndarray) -> bool:
    """Whether ink of this `geometry` has no pen stroke at all: only round or square taps, dots or a
    filled blob (at most `DOT_LENGTH` pen widths of stroke a blob, the largest less elongated than
    `SQUAT`). Such ink is never a digit. None of MNIST's 55,000 training digits has that shape (6
    are as short, blotted 8s and bold 1s, but elongated 1.82–4.3), nor do scikit-learn's coarse
    "1"s (bars 2–2.8 pen widths long); 97% of single stray taps do (`tests.non_digits.taps`)."""
    return short(geometry_values) and bool(geometry_values[3] < np.log(SQUAT))   # [3]: log largest blob's elongation


def reason(geometry_values: np.ndarray) -> str:
    """Why a reading the check refused is not a digit, from what its ink looks like."""
    if short(geometry_values):
        blobs, size = geometry_values[0], geometry_values[5]
        return DOTS if blobs > 1 else BLOB if size >= BLOB_SIZE else TAP
    return OTHER


class NotDigitCheck:
    """The check saved at `path` (an ONNX graph: picture, geometry → log-odds that it is a digit;
    the threshold under which it is not in its metadata), run by ONNX Runtime on the CPU.
    RuntimeError (saying how to make it) if it is missing, corrupt or made for other inputs."""

    def __init__(self, path: Path = WEIGHTS_FILE, threads: int = 1):
        def thresholds(session) -> tuple[float, float]:
            meta = session.get_modelmeta().custom_metadata_map
            if json.loads(meta.get("geometry", "[]")) != list(GEOMETRY):
                raise ValueError(f"geometry {meta.get('geometry')}; expected {list(GEOMETRY)}")
            return float(meta["threshold"]), float(meta["tap_threshold"])

        self.session = fitted_session(path, "fit_not_digit.py", [(PICTURE_NAME, [None, 28, 28, 1]),
                                      (GEOMETRY_NAME, [None, len(GEOMETRY)])], [(OUTPUT_NAME, None)], threads,
                                      more=thresholds)
        self.threshold, self.tap_threshold = thresholds(self.session)

    def log_odds(self, pictures: np.ndarray, geometries: np.ndarray) -> np.ndarray:
        """That each picture (model inputs, (N, 28, 28, 1)) with its `geometry` rows is a digit."""
        feeds = {PICTURE_NAME: np.asarray(pictures, np.float32).reshape(-1, 28, 28, 1),
                 GEOMETRY_NAME: np.nan_to_num(np.atleast_2d(geometries)).astype(np.float32)}
        return self.session.run([OUTPUT_NAME], feeds)[0].astype(float)

    def verdict(self, ink: np.ndarray, model_input: np.ndarray,
                blobs: tuple[np.ndarray, int] | None = None) -> Verdict:
        """Digit or not, for one reading's ink map and 28×28 model input (`blobs`: `ink_blobs(ink)`
        when the caller has them); a refusal says why (`reason`). Ink that is only taps or dots
        must score above the file's `tap_threshold` (higher) to be a digit; on the digits it was
        trained on, that shape is rare (6 of 55,000 MNIST training digits) and scores high. Ink
        without any pen stroke (`strokeless`: a round tap, a filled square or disc) is never a
        digit, whatever the network says: it was trained on round taps only, and scored a filled
        square log-odds 6–16 of a digit."""
        values = geometry(ink, blobs)
        odds = float(self.log_odds(model_input, values)[0])
        if not self.refuses(odds, values):
            return Verdict(True, None, odds)
        return Verdict(False, reason(values), odds)

    def refuses(self, odds: float, values: np.ndarray) -> bool:
        """Whether log-odds `odds` of ink of `geometry` `values` say it is not a digit."""
        return strokeless(values) or odds < (self.tap_threshold if short(values) else self.threshold)


@functools.cache
def shipped() -> NotDigitCheck:
    return NotDigitCheck(WEIGHTS_FILE)
