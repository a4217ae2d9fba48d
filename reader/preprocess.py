"""Turn a user's picture of a digit into the 28×28 input the model was trained on.

MNIST was made this way (LeCun, Cortes & Burges): each digit's longer side was fit into a 20×20
box with anti-aliasing, keeping the aspect ratio, and the result was placed in a 28×28 frame so
that its centre of mass sits at the frame's centre. The model expects float32 values in [0, 1],
white ink (1.0) on black (0.0). This module reproduces that for anything `reader.images` can load:

1. `ink_map` — how much ink each pixel holds, whatever the picture looks like: the browser
   sketchpad's opaque white canvas with black strokes, a transparent PNG whose ink is only in
   alpha, a photo of dark ink on (grey, noisy, unevenly lit) paper, or a light-on-dark image like
   MNIST itself.
2. `to_mnist` — crop to the ink, bring the stroke width to MNIST's, fit into the 20-pixel box,
   centre by mass in the 28-pixel frame.
3. `preprocess` — both, for one digit (`reader.numbers.segment` handles several digits).

Two measured MNIST facts are built in (500 test digits): the centre of mass lies at pixel index
(13.98, 14.01) ± 0.29, i.e. at image_size / 2 with integer placement; the stroke width (as
`stroke_width` measures it, on digits upscaled 10×) has a median of 2.1 px, a mean of 2.3 px,
20th–80th percentiles of 1.8 and 2.8 px and 10th–90th of 1.5 and 3.1 px in the 28×28 frame.
Bringing only widths outside 1.8–2.8 px to that range kept drawn MNIST digits closest to the
originals (mean correlation 0.94) while a 3-px pen and a 40-px brush still give similar inputs.
"""

import math

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from reader.errors import InputError
from reader.images import load_image

INK_THRESHOLD = 0.2        # an ink-map pixel above this counts as ink for shapes and components
BBOX_THRESHOLD = 0.1       # ... and above this for the digit's bounding box (as MNIST's 20-px box)
MIN_NOISE_FLOOR = 0.1      # background differences below this are never ink
NOISE_SIGMAS = 4.0         # ... nor those within this many background standard deviations
NOISY_BACKGROUND = 0.01    # a background spread above this gets a light blur before thresholding
PLANE_ROUNDS = 8           # at most this many fits of the background plane (`background_level`)
PLANE_SHARE = 0.9          # ... used only when this share of the border lies on it (else the border's median)
SPECK_FRACTION = 0.02      # ink blobs smaller than this share of the largest blob are dropped
MNIST_STROKE_WIDTHS = (1.8, 2.8)  # px at 28×28: MNIST's 20th–80th percentiles (module docstring)
MAX_THINNING = 0.3         # never thin a stroke by more than this share of its width per side
ENLARGEMENTS = (2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 25)  # factors by which a picture may be a smaller one enlarged ...
ENLARGEMENT_ERROR = 0.04   # ... when reduced and enlarged back it differs by less than this on its edges
MIN_NATIVE_SIDE = 8        # a picture is never reduced to fewer px than this along its longer side
MAX_NATIVE_SIDE = 64       # cells of an uneven blocky enlargement are looked for only up to this many along a side
CELL_EDGE = 0.15           # a line between cells steps by at least this share of the strongest line's mean step
MIN_CELL_LINES = 5         # ... seen at this many lines at least, both ways together
CHANGING_CELL_LINES = 0.25 # ... and at least this share of the lines between cells must show one
BLOCKY_SHARE = 0.65        # ... and at least this share of the picture's steps lies on those lines
SOFT_CELL_SIDE = 6         # cells at least this wide may have edges blurred over ±1 px (a noisy scan)
EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


# --- public API ----------------------------------------------------------------------------------

def preprocess(source, image_size: int = 28, digit_box: int = 20) -> np.ndarray | None:
    """The model input for a picture of one digit, or None when nothing is drawn.

    `source` is anything `reader.images.load_image` accepts (the server hands over the image that
    `demo.inputs` decoded), or None. Returns float32 (image_size, image_size) in [0, 1], white ink
    on black. Raises `InputError` for input that is not a usable image.
    """
    if source is None:
        return None
    return to_mnist(ink_map(load_image(source)), image_size=image_size, digit_box=digit_box)


def ink_map(image) -> np.ndarray:
    """Ink per pixel, float32 (H, W) in [0, 1], 1 = full ink, 0 = background, at the size
    `load_image` gives (longer side at most `reader.images.MAX_SIDE`).

    The picture (anything `load_image` accepts) is composited onto white and read as darkness, so
    an opaque white canvas with black strokes and a transparent PNG with dark ink both work. If
    that leaves no ink but alpha varies (light ink on a transparent background), alpha is the ink.
    The border's median says which way ink goes: on a light background dark pixels are ink
    (paper, sketchpad), on a dark one light pixels are (MNIST-like images, chalkboards). The
    background (`background_level`: a plane fitted to the border, for unevenly lit photos) is
    subtracted, noise within a few background standard deviations is cut,
    and the remaining contrast is stretched so the ink reaches 1.
    """
    rgba = np.asarray(load_image(image), dtype=np.float32) / 255
    alpha = rgba[..., 3]
    grey_on_white = luminance(rgba[..., :3]) * alpha + (1 - alpha)
    signal = polarity_corrected(grey_on_white)
    ink = clean_ink(signal)
    if not ink.any() and np.ptp(alpha) > MIN_NOISE_FLOOR:
        ink = clean_ink(polarity_corrected(alpha))
    if not ink.any() and np.ptp(grey_on_white) > MIN_NOISE_FLOOR:
        # A digit that fills its picture to the edges (a tight crop, another set's 8×8 digit
        # enlarged) leaves no clean border: its ink inflated the border's spread, so nothing
        # cleared the noise floor. The noise is then measured on the picture's weaker half.
        ink = clean_ink(signal, whole=True)
    return ink


def to_mnist(ink: np.ndarray, image_size: int = 28, digit_box: int = 20,
             blobs: tuple[np.ndarray, int] | None = None) -> np.ndarray | None:
    """Normalise an ink map holding one digit the way MNIST was made; None when there is no ink.

    Reads a small picture enlarged blocky from its cells (`blocky_cells`); otherwise drops specks,
    crops to the ink's bounding box, reads an enlargement by a whole factor from its own pixels
    (`at_native_resolution`); brings the stroke width to MNIST's, scales the
    longer side to `digit_box` (anti-aliased, aspect ratio kept, so a "1" stays thin) and places
    the digit in an `image_size` square with its centre of mass at pixel index image_size / 2.
    Returns float32 (image_size, image_size) in [0, 1] whose brightest pixel is 1. `blobs`:
    `ink_blobs(ink)` when the caller has it already (reader.pipeline shares it with the not-digit check).
    """
    if not 1 <= digit_box <= image_size:
        raise ValueError(f"need 1 <= digit_box <= image_size, got {digit_box} and {image_size}")
    ink = as_ink_array(ink)
    cells = blocky_cells(ink)  # before specks are dropped: that cuts faint cells 2 px from the strokes
    if cells is not None:
        native = cells, False
    else:
        crop = crop_to_ink(remove_specks(ink, blobs=blobs))
        if crop is None:
            return None
        native = at_native_resolution(crop)
    crop = crop_to_ink(normalise_stroke_width(*native, digit_box))
    if crop is None:
        return None
    return centre_by_mass(fit_in_box(crop, digit_box), image_size)


# --- ink map steps -------------------------------------------------------------------------------

def luminance(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma of an (H, W, 3) array in [0, 1]."""
    return rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def border_pixels(values: np.ndarray) -> np.ndarray:
    """The pixels of a band along the four edges (`border_mask`)."""
    return values[border_mask(values.shape)]


def border_mask(shape: tuple[int, int]) -> np.ndarray:
    """A band along the four edges, about 3 % of the shorter side wide (at least 1 px); the whole
    picture when two bands would meet."""
    band = max(1, round(0.03 * min(shape)))
    edge = np.ones(shape, dtype=bool)
    if 2 * band < min(shape):
        edge[band:-band, band:-band] = False
    return edge


def polarity_corrected(grey: np.ndarray) -> np.ndarray:
    """Difference from the background (`background_level`), signed so that ink is positive.

    Light background (border median >= 0.5) → darker pixels are ink; dark background → lighter.
    """
    background = background_level(grey)
    light = np.median(border_pixels(grey)) >= 0.5
    return (background - grey) if light else (grey - background)


def background_level(grey: np.ndarray) -> float | np.ndarray:
    """The background under each pixel: a plane a + b·x + c·y fitted to the border band, so that
    paper photographed in light brighter on one side loses its gradient (a gradient left in would
    count as noise, and the noise floor it raised cut a thin stroke's faint edges: on crowded
    tuning numbers photographed, 223 of 300 read right against 257 drawn; with the plane, 252).
    Fitted robustly: first to the border's brighter half (ink touching the edge is darker than the
    paper; fitted to all of it first, a digit cropped to its ink tilted the plane through its
    strokes and scikit-learn's 8×8 digits enlarged to their edges fell from 92.7% read to 81.1%),
    then again without the border pixels far from the last fit until they stay the same (at most
    `PLANE_ROUNDS` fits). The border's median, a constant, when the border is flat (a
    drawn canvas), dark (MNIST-like pictures, boards; an 8×8 grid enlarged to its edges) or too
    small to fit, or when less than `PLANE_SHARE` of it lies on the plane (a digit cropped to its
    ink: the border is half ink, no paper to fit)."""
    edge = border_mask(grey.shape)
    values = grey[edge]
    flat = float(np.median(values))
    if edge.all() or flat < 0.5 or np.ptp(values) <= MIN_NOISE_FLOOR / 10:
        return flat
    height, width = grey.shape
    rows, cols = np.nonzero(edge)
    terms = np.column_stack([np.ones(values.size), cols / width, rows / height])
    kept = values >= flat  # the paper's brighter half to start: ink touching the edge is darker
    for _ in range(PLANE_ROUNDS):
        plane, *_ = np.linalg.lstsq(terms[kept], values[kept], rcond=None)
        off = np.abs(values - terms @ plane)
        now_kept = off < 3 * 1.4826 * np.median(off[kept]) + MIN_NOISE_FLOOR / 10
        if np.array_equal(now_kept, kept):
            break
        kept = now_kept
    if kept.mean() < PLANE_SHARE:  # ink along the edges, not paper: no plane to trust
        return flat
    a, b, c = plane
    return (a + b * np.arange(width, dtype=np.float32)[None, :] / width
            + c * np.arange(height, dtype=np.float32)[:, None] / height).astype(np.float32)


def background_spread(signal: np.ndarray, whole: bool = False) -> float:
    """Robust standard deviation (1.4826 × median absolute deviation) of the border, or with
    `whole` of the picture's weaker half (the pixels at or below its median: background)."""
    border = signal[signal <= np.median(signal)] if whole else border_pixels(signal)
    return float(1.4826 * np.median(np.abs(border - np.median(border))))


def clean_ink(signal: np.ndarray, whole: bool = False) -> np.ndarray:
    """Cut background noise from a polarity-corrected signal and stretch the ink to [0, 1]
    (the noise measured on the border, or with `whole` on the picture's weaker half)."""
    spread = background_spread(signal, whole)
    if spread > NOISY_BACKGROUND:  # paper grain, sensor noise: blur lightly, then measure again
        signal = ndi.gaussian_filter(signal, sigma=1.0)
        spread = background_spread(signal, whole)
    floor = max(MIN_NOISE_FLOOR, NOISE_SIGMAS * spread)
    above = signal[signal > floor]
    if above.size == 0:
        return np.zeros(signal.shape, dtype=np.float32)
    peak = np.percentile(above, 95)
    scale = max(peak - floor, MIN_NOISE_FLOOR)
    return np.clip((signal - floor) / scale, 0, 1).astype(np.float32)


# --- MNIST normalisation steps -------------------------------------------------------------------

def as_ink_array(ink) -> np.ndarray:
    """`ink` as a 2-D float32 array in [0, 1] (NaN → 0, ±inf → 1 / 0); else InputError."""
    ink = np.asarray(ink)
    if ink.dtype == np.float32 and ink.ndim == 2 and ink.size and ink.min() >= 0 and ink.max() <= 1:
        return ink  # already one (NaN fails both comparisons)
    if ink.dtype.kind not in "buif":
        raise InputError("The ink map must be a numeric array.")
    if ink.ndim != 2 or ink.size == 0:
        raise InputError("The ink map must be a non-empty 2-D array.")
    ink = np.nan_to_num(ink.astype(np.float64), nan=0.0, posinf=1.0, neginf=0.0)
    return np.clip(ink, 0, 1).astype(np.float32)


def ink_blobs(ink: np.ndarray, min_fraction: float = SPECK_FRACTION) -> tuple[np.ndarray, int]:
    """The 8-connected blobs of ink (pixels above `INK_THRESHOLD`) that are not specks — at least
    `min_fraction` of the largest blob's area — as a label image (1…n; 0: background and specks),
    and n."""
    labels, count = ndi.label(ink > INK_THRESHOLD, structure=EIGHT_CONNECTED)
    if count == 0:
        return labels, 0
    areas = np.bincount(labels.ravel())
    areas[0] = 0
    kept = areas >= min_fraction * areas.max()
    kept[0] = False
    new_label = np.where(kept, np.cumsum(kept), 0).astype(labels.dtype)
    return new_label[labels], int(kept.sum())


def remove_specks(ink: np.ndarray, min_fraction: float = SPECK_FRACTION,
                  blobs: tuple[np.ndarray, int] | None = None) -> np.ndarray:
    """Zero ink blobs (`ink_blobs`) smaller than `min_fraction` of the largest, and faint haze.

    Pixels within 2 px of a kept blob keep their (anti-aliased) value; all others become 0.
    `blobs`: `ink_blobs(ink, min_fraction)` when the caller has it already.
    """
    blobs, count = blobs if blobs is not None else ink_blobs(ink, min_fraction)
    if count == 0:
        return np.zeros_like(ink)
    near_kept = ndi.maximum_filter(blobs > 0, size=5, mode="constant")  # = two 3×3 dilations
    return np.where(near_kept, ink, 0).astype(np.float32)


def ink_bbox(ink: np.ndarray, threshold: float = BBOX_THRESHOLD) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1), end-exclusive, of the pixels above `threshold`; None if there are none."""
    above = ink > threshold
    rows = np.flatnonzero(above.any(axis=1))
    cols = np.flatnonzero(above.any(axis=0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def crop_to_ink(ink: np.ndarray) -> np.ndarray | None:
    box = ink_bbox(ink)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    return ink[y0:y1, x0:x1]


def at_native_resolution(crop: np.ndarray) -> tuple[np.ndarray, bool]:
    """(crop, whether its strokes may be thinned), for a small picture enlarged by a whole factor
    (`enlargement_of`: an MNIST image zoomed) that `blocky_cells` did not already read from its
    cells: blocky, reduced to its own pixels (box means), as MNIST fit its digits into the box;
    blurred, as it is; neither is thinned. Its strokes are at least a cell of the small picture
    wide: read as a thick pen's and thinned, jagged along blocky cells, scikit-learn's 1,797 8×8
    digits enlarged read 92–94% right; read this way, 96–97% (docs/reading.md). A drawing (sharp
    edges) comes back as it is, to be thinned or thickened to MNIST's width."""
    factor, blocky = enlargement_of(crop)
    if factor == 1:
        return crop, True
    if not blocky:
        return crop, False
    return np.asarray(reduced(Image.fromarray(crop), factor), dtype=np.float32), False


def enlargement_of(crop: np.ndarray) -> tuple[int, bool]:
    """(factor, blocky): the largest factor of `ENLARGEMENTS` by which `crop` is a smaller picture
    enlarged, and whether blocky — reduced by it (box means) and enlarged back blocky (else
    bilinear), it differs from itself by less than `ENLARGEMENT_ERROR` on average over the edges (the
    pixels between empty and full ink in either); (1, False) when none does: a drawing's sharp
    edges blur when reduced (by 0.2 on average, whatever the pen), a smooth enlargement's hardly
    (0.01–0.04). Never a factor that leaves fewer than `MIN_NATIVE_SIDE` px. A drawing costs four
    checks: a blocky enlargement passes at 2, 3 or 5 (every factor listed is a multiple of one),
    a blurred one at the smallest factor listed above the blocky one's."""
    close = EnlargedBack(crop).close
    blocky_bases = [base for base in (2, 3, 5) if close(base, Image.Resampling.NEAREST)]
    blocky = next((factor for factor in sorted(ENLARGEMENTS, reverse=True)
                   if any(factor % base == 0 for base in blocky_bases) and close(factor, Image.Resampling.NEAREST)), 1)
    # A blurred enlargement differs more the more it is reduced: the largest factor that passes is
    # found by halving the range of those that fit.
    larger = [factor for factor in ENLARGEMENTS if factor > blocky and reducible(crop.shape, factor)]
    passing, failing = -1, len(larger)
    while failing - passing > 1:
        middle = (passing + failing) // 2 if passing >= 0 else 0
        if close(larger[middle], Image.Resampling.BILINEAR):
            passing = middle
        else:
            failing = middle
    if passing >= 0:
        return larger[passing], False
    return blocky, blocky > 1


def blocky_cells(crop: np.ndarray) -> np.ndarray | None:
    """The small picture of which `crop` is a blocky enlargement by any factor, whole or not
    (8×8 to 100 px: cells of 12 and 13 px), also when saved as a JPEG afterwards: one pixel per
    cell, each the mean of its cell; None when it is not one.

    `crop` may be a whole ink map: it is looked at within the strokes' box (ink above
    `INK_THRESHOLD`: faint haze around them is left out). The lines between cells are where the
    picture changes most: the columns (rows) whose mean step from the one before is a local peak of
    at least `CELL_EDGE` of the strongest (`cell_edges`), `MIN_CELL_LINES` of them at least (a
    letter "H" has 4; of scikit-learn's 1,797 digits 2 have fewer). It is blocky when those lines
    lie on one grid both ways (`cell_side`: cells of at least 2 px, `MIN_NATIVE_SIDE`–`MAX_NATIVE_SIDE` of
    them along the longer side; a JPEG's ringing may leave a part of a cell at either end, which is
    dropped when less than half a cell); when such changes fall on at least `CHANGING_CELL_LINES`
    of the grid's lines both ways (a hard-edged shape that merely has straight edges changes at
    few); when at least `BLOCKY_SHARE` of the picture's steps (the mean steps of all its lines,
    both ways) lie on the grid's lines (measured on scikit-learn's and MNIST's digits: blocky 1,
    blocky saved as a JPEG at quality 75–85 0.71–0.9; enlarged smoothly, bilinear, bicubic or
    Lanczos, 0.58 at most, as drawings and held-apart parts of digits); and when the cells' means
    (`cell_means`), enlarged back onto the cells, differ from the crop by less than
    `ENLARGEMENT_ERROR` on average over the edges, as `enlargement_of` asks of a whole factor.
    Cells at least `SOFT_CELL_SIDE` px wide may instead have soft edges, blurred over ±1 px (a
    noisy scan's ink is blurred before it is measured, `clean_ink`): then the steps within 1 px of
    the lines count as on them, the means leave out 2 px along each cell's edges, and the error is
    measured away from the lines. A drawing stops early: anti-aliased or turned strokes change at
    some line 1 px from another. No held-apart tap, doodle, mark, letter, blob, part or pair of
    digits passes, nor a drawn or printed digit (`tests/test_preprocess.py`). Looked for on the ink
    before specks are cut (`to_mnist`): that cuts faint cells 2 px from the strokes."""
    box = ink_bbox(crop, INK_THRESHOLD)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    crop = crop[y0:y1, x0:x1]
    (column_peaks, column_steps), (row_peaks, row_steps) = cell_edges(crop, axis=1), cell_edges(crop, axis=0)
    if column_peaks.size + row_peaks.size < MIN_CELL_LINES:
        return None
    side = cell_side(column_peaks, row_peaks, max(crop.shape))
    if side is None:
        return None
    column_lines, row_lines = cell_lines(column_peaks, column_steps, side), cell_lines(row_peaks, row_steps, side)
    if column_lines is None or row_lines is None:
        return None
    if (column_peaks.size < CHANGING_CELL_LINES * (column_lines.size - 2)
            or row_peaks.size < CHANGING_CELL_LINES * (row_lines.size - 2)):
        return None
    steps = column_steps.sum() + row_steps.sum()
    crop = crop[row_lines[0]:row_lines[-1], column_lines[0]:column_lines[-1]]
    row_steps, column_steps = row_steps[row_lines[0]:row_lines[-1] + 1], column_steps[column_lines[0]:column_lines[-1] + 1]
    row_lines, column_lines = row_lines - row_lines[0], column_lines - column_lines[0]
    for soft in (0, 1) if side >= SOFT_CELL_SIDE else (0,):
        # soft: edges blurred over ±1 px (a noisy scan's ink is blurred before it is measured, `clean_ink`)
        on_lines = sum(steps_at[near_lines(lines, soft, steps_at.size)].sum()
                       for steps_at, lines in ((column_steps, column_lines), (row_steps, row_lines)))
        if on_lines < BLOCKY_SHARE * steps:
            continue  # a smooth enlargement changes all along its ramps (`enlargement_of` takes it)
        cells = cell_means(crop, row_lines, column_lines, trim=1 + soft)
        back = np.repeat(np.repeat(cells, np.diff(row_lines), axis=0), np.diff(column_lines), axis=1)
        edges = partly_inked(crop) | partly_inked(back)
        if soft:
            edges &= (away_from_lines(row_lines, crop.shape[0], soft)[:, None]
                      & away_from_lines(column_lines, crop.shape[1], soft)[None, :])
        if not edges.any() or float(np.abs(crop - back)[edges].mean()) < ENLARGEMENT_ERROR:
            return cells
    return None


def near_lines(lines: np.ndarray, reach: int, size: int) -> np.ndarray:
    """The indices within `reach` of the inner `lines` (the crop's ends left out), inside [0, size)."""
    near = (lines[1:-1, None] + np.arange(-reach, reach + 1)[None, :]).ravel()
    return np.unique(near[(near >= 0) & (near < size)])


def away_from_lines(lines: np.ndarray, size: int, reach: int) -> np.ndarray:
    """Per index in [0, size): whether it lies more than `reach` px from every inner line's edge
    (a line is the first pixel of a cell: the edge lies between it and the pixel before, and the
    `reach` + 1 pixels on either side of it are near)."""
    far = np.ones(size, dtype=bool)
    for line in lines[1:-1]:
        far[max(0, line - reach - 1):line + reach + 1] = False
    return far


def cell_edges(crop: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """(the indices of the lines along `axis` (1: columns) whose mean step from the line before is
    a local peak of at least `CELL_EDGE` of the largest; the mean step before each line, 0 for
    the first)."""
    step = np.abs(np.diff(crop, axis=axis)).mean(axis=1 - axis)
    before = np.concatenate([[0.0], step])
    if step.size == 0 or step.max() <= 0:
        return np.array([], dtype=int), before
    padded = np.pad(step, 1)
    peak = (step >= CELL_EDGE * step.max()) & (step >= padded[:-2]) & (step > padded[2:])
    return np.flatnonzero(peak) + 1, before


def cell_side(column_peaks: np.ndarray, row_peaks: np.ndarray, longer: int) -> float | None:
    """The largest cell side, to 0.01 px, that puts every peak within 1 px of a grid through the
    first peak of its axis (each next peak at least a cell further), with `MIN_NATIVE_SIDE` to
    `MAX_NATIVE_SIDE` cells along the longer side, at least 2 px; None when none does. The
    largest, because half of it fits as well."""
    gaps = np.concatenate([np.diff(column_peaks), np.diff(row_peaks)])
    if gaps.size == 0:
        return None
    largest = min(float(gaps.min()) + 1, longer / (MIN_NATIVE_SIDE - 1))
    sides = np.arange(largest, max(2.0, longer / (MAX_NATIVE_SIDE + 1)), -0.01)
    fits = np.ones(sides.size, dtype=bool)
    for peaks in (column_peaks, row_peaks):
        if peaks.size < 2:
            continue
        along = (peaks[1:] - peaks[0])[None, :] / sides[:, None]
        cells = np.round(along)
        fits &= (np.abs(along - cells) * sides[:, None] <= 1).all(axis=1)
        fits &= (np.diff(cells, axis=1, prepend=0) >= 1).all(axis=1)
    found = np.flatnonzero(fits)
    return float(sides[found[0]]) if found.size else None


def cell_lines(peaks: np.ndarray, step_before: np.ndarray, side: float) -> np.ndarray | None:
    """The lines between cells along one axis, ends included: a grid of `side` through the first
    peak (or the crop's start, with none), each line moved by up to 1 px to where the picture
    steps most (the cells' real edge, where a weak step was no peak). A part of a cell at either
    end is a cell when at least half a cell long, else left out (a JPEG's ringing); None when
    fewer than one cell remains."""
    size = step_before.size
    first = int(peaks[0]) if peaks.size else 0
    guesses = first + np.arange(-math.floor(first / side), math.ceil((size - first) / side) + 1) * side
    lines = []
    for guess in np.round(guesses).astype(int):
        if not 0 < guess < size:
            continue
        near = [line for line in (guess - 1, guess, guess + 1) if 0 < line < size and (not lines or line > lines[-1])]
        if near:
            lines.append(max(near, key=lambda line: step_before[line]))
    start = 0 if not lines or lines[0] >= side / 2 else None
    end = size if not lines or size - lines[-1] >= side / 2 else None
    lines = ([start] if start is not None else []) + lines + ([end] if end is not None else [])
    return np.array(lines) if len(lines) >= 2 else None


def cell_means(crop: np.ndarray, row_lines: np.ndarray, column_lines: np.ndarray, trim: int = 1) -> np.ndarray:
    """The mean of each cell between consecutive `row_lines` and `column_lines`, leaving out its
    outer `trim` pixels where it is at least 2 × `trim` + 2 px across (a JPEG's ringing, a blur,
    lie along the cells' edges)."""
    def inner(lines):
        start, end = lines[:-1], lines[1:]
        cut = np.where(end - start >= 2 * trim + 2, trim, 0)
        return start + cut, end - cut
    summed = np.pad(crop.astype(np.float64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    (top, bottom), (left, right) = inner(row_lines), inner(column_lines)
    total = (summed[bottom][:, right] - summed[top][:, right] - summed[bottom][:, left] + summed[top][:, left])
    return (total / np.outer(bottom - top, right - left)).astype(np.float32)


class EnlargedBack:
    """`enlargement_of`'s check for one crop: reduced by a factor and enlarged back, is it close?"""

    def __init__(self, crop: np.ndarray):
        self.crop = crop
        self.image = Image.fromarray(crop.astype(np.float32))
        self.crop_edges = partly_inked(crop)

    def close(self, factor: int, how: Image.Resampling) -> bool:
        if not reducible(self.crop.shape, factor):
            return False
        back = np.asarray(reduced(self.image, factor).resize(self.image.size, how), dtype=np.float32)
        edges = self.crop_edges | partly_inked(back)
        return not edges.any() or float(np.abs(self.crop - back)[edges].mean()) < ENLARGEMENT_ERROR


def reducible(shape: tuple[int, int], factor: int) -> bool:
    """Whether a picture of `shape` reduced by `factor` keeps `MIN_NATIVE_SIDE` px along its longer side."""
    return max(shape) >= MIN_NATIVE_SIDE * factor


def reduced(image: Image.Image, factor: int) -> Image.Image:
    """`image` reduced by `factor` (box means), at least 1 px each way."""
    width, height = image.size
    return image.resize((max(1, round(width / factor)), max(1, round(height / factor))), Image.Resampling.BOX)


def partly_inked(ink: np.ndarray) -> np.ndarray:
    """The pixels between empty and full ink: a shape's edges."""
    return (ink > 0.02) & (ink < 0.98)


def stroke_width(mask: np.ndarray) -> float:
    """Typical stroke width in pixels: 2 × the median distance-transform ridge value − 1."""
    mask = np.pad(mask, 1)  # the distance transform measures to the nearest 0 in the array
    distance = ndi.distance_transform_edt(mask)
    return width_at_ridge(distance, ridge_of(mask, distance))


def ridge_of(mask: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """The strokes' middle: the pixels of `mask` where `inside`, its distance transform, is
    highest within 3×3."""
    return mask & (inside >= ndi.maximum_filter(inside, size=3))


def width_on_ridge(inside_on_ridge):
    """A stroke's width in pixels from the distance-transform value on its ridge: 2 × value − 1."""
    return 2 * inside_on_ridge - 1


def width_at_ridge(distance: np.ndarray, ridge: np.ndarray) -> float:
    """The typical stroke width in pixels: that at the median distance-transform value on the ridge."""
    return float(width_on_ridge(np.median(distance[ridge])))


def normalise_stroke_width(crop: np.ndarray, may_thin: bool, digit_box: int) -> np.ndarray:
    """Thicken or thin the strokes so that, once fit into `digit_box`, they are MNIST-wide.

    Pens on a 280-px canvas range from hairlines to 40-px brushes; most MNIST strokes are
    `MNIST_STROKE_WIDTHS` px wide at 28 × 28. A width outside that range is brought to its nearer
    end; one inside is left alone (MNIST itself varies). The crop is re-rendered from a signed
    distance map of its ink, offset per side and anti-aliased over one pixel. Crops smaller than
    twice the box are left alone (their grey levels matter more than their width). Thinning is
    capped so no stroke loses more than `MAX_THINNING` of its own width on each side (`thinned`),
    and none is thinned unless `may_thin` (`at_native_resolution` says why).
    """
    longer = max(crop.shape)
    mask = crop > 0.5
    if longer < 2 * digit_box or not mask.any():
        return crop
    offset = stroke_offset(stroke_width(mask), longer, digit_box)
    if offset is None or (offset < 0 and not may_thin):
        return crop
    return render_offset(np.pad(mask, render_pad(offset)), offset)


def stroke_offset(width: float, longer: int, digit_box: int) -> float | None:
    """How many px to grow (> 0) or thin (< 0) each side of strokes `width` px wide in a crop whose
    longer side is `longer`, so that once fit into `digit_box` they are MNIST-wide; None when they
    already are (`normalise_stroke_width` says why)."""
    final_width = width * digit_box / longer
    thinnest, thickest = MNIST_STROKE_WIDTHS
    if thinnest <= final_width <= thickest:
        return None
    target_ratio = (thinnest if final_width < thinnest else thickest) / digit_box
    # Growing each side by `offset` also grows the crop, hence the box scale: solve for both.
    offset = (target_ratio * longer - width) / (2 * (1 - target_ratio))
    return max(offset, -MAX_THINNING * width)


def render_pad(offset: float) -> int:
    """The margin a mask needs around it to be grown by `offset` px."""
    return math.ceil(max(offset, 0)) + 1


def render_offset(mask: np.ndarray, offset: float) -> np.ndarray:
    """The shape `mask` grown (offset > 0) or shrunk (< 0) by `offset` px, anti-aliased: each
    pixel's signed distance to the outline (inside − 0.5 within the shape, 0.5 − outside beyond
    it) plus offset + 0.5, clipped to [0, 1]. Growing leaves the shape at 1 (its pixels lie ≥ 1 px
    inside), thinning leaves the outside at 0: one distance transform does."""
    if offset >= 0:
        return grown(mask, ndi.distance_transform_edt(~mask), offset)
    return thinned(mask, ndi.distance_transform_edt(mask), offset)


def grown(mask: np.ndarray, outside: np.ndarray, offset: float) -> np.ndarray:
    """`render_offset` for offset ≥ 0, from the distance of each pixel to the shape."""
    return np.where(mask, 1, np.clip(1 + offset - outside, 0, 1)).astype(np.float32)


def thinned(mask: np.ndarray, inside: np.ndarray, offset: float) -> np.ndarray:
    """`render_offset` for offset < 0, from the distance of each shape pixel to the outside. Each
    pixel is thinned by −offset px but by at most `MAX_THINNING` of its own stroke's width, the
    width at its nearest ridge pixel: a pen whose width varies (a broad nib, a bold serif "0" with
    thick sides and hairline top and bottom) keeps its hairlines, which thinning by the thick
    strokes' measure would erase, leaving a "0" as two bars read "11" or "4"."""
    ridge = ridge_of(mask, inside)
    if not ridge.any():
        return np.zeros(mask.shape, np.float32)
    nearest_ridge = ndi.distance_transform_edt(~ridge, return_distances=False, return_indices=True)
    own_width = width_on_ridge(inside[tuple(nearest_ridge)])
    depth = np.minimum(-offset, MAX_THINNING * own_width)
    return np.where(mask, np.clip(inside - depth, 0, 1), 0).astype(np.float32)


def fit_in_box(crop: np.ndarray, digit_box: int) -> np.ndarray:
    """Scale so the longer side is `digit_box`, keeping the aspect ratio, anti-aliased."""
    height, width = crop.shape
    scale = digit_box / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    resized = Image.fromarray(crop.astype(np.float32)).resize(size, resample)
    return np.clip(np.asarray(resized, dtype=np.float32), 0, 1)


def centre_by_mass(digit: np.ndarray, image_size: int) -> np.ndarray | None:
    """Place `digit` in an empty square so its centre of mass is at pixel index image_size / 2.

    Integer placement, as MNIST (its centres spread ±0.29 px, that of a uniform ±0.5 px error);
    parts pushed past the frame are cut. The result is scaled so its brightest pixel is 1.
    """
    total = digit.sum(dtype=np.float64)
    if total <= 0:
        return None
    centre_y = digit.sum(axis=1, dtype=np.float64) @ np.arange(digit.shape[0]) / total
    centre_x = digit.sum(axis=0, dtype=np.float64) @ np.arange(digit.shape[1]) / total
    top = round(image_size / 2 - centre_y)
    left = round(image_size / 2 - centre_x)
    frame = np.zeros((image_size, image_size), dtype=np.float32)
    paste_clipped(frame, digit, top, left)
    peak = frame.max()
    return frame / peak if peak > 0 else None


def paste_clipped(frame: np.ndarray, patch: np.ndarray, top: int, left: int) -> None:
    """Copy `patch` into `frame` with its corner at (top, left), cutting what falls outside."""
    frame_h, frame_w = frame.shape
    patch_h, patch_w = patch.shape
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + patch_h, frame_h), min(left + patch_w, frame_w)
    if y0 < y1 and x0 < x1:
        frame[y0:y1, x0:x1] = patch[y0 - top:y1 - top, x0 - left:x1 - left]
