"""Over-segment a written number into candidate digits (LeCun, Bottou, Bengio & Haffner 1998, §VI).

Cutting a number into digits by rules alone fails on the numbers people really write: touching
digits, broken strokes, detached bars, dots. Instead, `oversegment` proposes *too many* cuts and
lets the recognizer decide (reader.numbers.best_path picks the best path through them):

1. the ink map's 8-connected blobs (pixels above `INK_THRESHOLD`), specks dropped
   (`reader.preprocess.ink_blobs`: tiny next to the largest blob);
2. the line's digit height: the area-weighted median height of its columns (a blob, or blobs
   stacked over one another: a digit a thin pen broke across counts whole; all digits of a number
   are about equally tall, while a dot or a broken piece is small and light); when it is over
   `WORKING_HEIGHT` px, the ink map is shrunk to that and 1–2 done again (MNIST's digits are 20 px,
   and `to_mnist` brings strokes to MNIST's width only from twice that: more pixels only cost time,
   the distance transforms of every candidate growing with their area);
3. marks (blobs small both ways next to that height) far from all other ink are dropped: dots;
4. blobs wide enough to hold two digits (a "1" touching anything included) are cut, vertically,
   at candidate columns: the valleys of their vertical ink projection, the dips of their upper
   contour and the rises of their lower contour (`scipy.signal.find_peaks`);
   `with_bent_cuts` gives a second over-segmentation in which the blobs at least
   `BENT_CUT_MIN_WIDTH` line heights wide are cut along *bent* cuts instead: from each of those
   columns, the path from top to bottom through the least ink, straying at most `BEND` line
   heights (slanted touching digits share columns, so no vertical line parts them: two leaning
   6s, a 3 against a 0). The reader reads it too when it doubts its first reading, and the path
   that scores higher wins (reader.pipeline);
5. the blobs and their slices are the *pieces*, ordered by their blob's centre, a blob's slices
   left to right; anti-aliased ink too faint to count goes to the nearest piece within `HALO` px
   (as `to_mnist` keeps it);
6. a *candidate* digit is a run of consecutive pieces: one piece, or neighbours that overlap or
   nearly touch horizontally (a broken stroke, a 5's detached bar, a 4 drawn in two strokes)
   from at most `MAX_BLOBS` blobs, not wider than `MAX_ASPECT` × its height (a whole blob, all
   its slices and nothing else, up to `WHOLE_BLOB_ASPECT`: a flat 0, 2 or 7 is one stroke, where
   two digits side by side are seldom that wide), at least `MIN_DIGIT_HEIGHT` of the line tall,
   and not made of marks only.

The graph's nodes are the positions between pieces (0 … len(pieces)); a candidate covering
pieces i … j − 1 is an arc i → j; a mark or a piece too short to be a digit may also be skipped
(a "noise" arc i → i + 1). Each candidate carries its own ink (other pieces' ink zeroed) for
`reader.preprocess.to_mnist`, its box, and how many strokes its cuts went through.
`ink_at_full_size` takes a candidate's ink from the full-size map again, for the chosen digits'
second reading (reader.pipeline).
"""

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from scipy import ndimage as ndi
from scipy.signal import find_peaks

from reader.errors import InputError
from reader.preprocess import INK_THRESHOLD, as_ink_array, ink_blobs

MAX_COMPONENTS = 5_000       # more separate ink blobs than this is noise, not handwriting
MAX_MARKS = 200              # more pieces than this is not a number (noise, a page)
WORKING_HEIGHT = 40          # taller digits are read from the ink map shrunk to this line height (px):
                             # twice MNIST's 20-px box (5-digit p50 26 ms here against 49 ms at 64 px)
HALO = 2                     # faint ink this close (px, either axis) to a piece belongs to it
MARK_SIZE = 0.25             # pieces under this share of the line height both ways are marks
MIN_DIGIT_PX = 8             # ... and pieces under this many pixels both ways, whatever the line
ISOLATION = 0.15             # marks farther than this (× line height) from all other ink are noise
MIN_DIGIT_HEIGHT = 0.5       # a digit is at least this share of the line height tall
CUT_MIN_WIDTH = 0.25         # blobs at least this wide (× line height) may be two digits
MIN_PIECE_WIDTH = 0.08       # slices narrower than this (× line height) are not made
VALLEY_PROMINENCE = 0.05     # projection valleys shallower than this share of its peak are noise
CONTOUR_PROMINENCE = 0.08    # contour dips shallower than this (× line height) are noise
CUTS_PER_DIGIT = 3           # the most cut columns tried per digit a blob may hold
MAX_DIGITS_PER_BLOB = 12     # a blob wider than this many line heights is a line: never cut
MAX_BLOBS = 4                # the most blobs one digit is made of (a broken stroke, a detached bar)
MAX_JOIN_GAP = 0.25          # pieces of one digit are at most this far apart (× line height)
BENT_CUT_MIN_WIDTH = 1.0     # blobs at least this wide (× line height) are also cut along bent paths
BEND = 0.2                   # a bent cut strays at most this far (× line height) from its column ...
BEND_COST = 0.01             # ... and pays this much ink per pixel it strays (straight through blank space)
STACKED = 0.5                # blobs sharing this share of the narrower one's columns are one column
MAX_ASPECT = 1.6             # a candidate digit is at most this wide × max(its, the line's) height ...
WHOLE_BLOB_ASPECT = 2.2      # ... a whole blob at most this (a flat 0, 2 or 7; see benchmarks/README.md)

Box = tuple[int, int, int, int]  # (x0, y0, x1, y1), end-exclusive


@dataclass(frozen=True)
class Piece:
    """A blob, or a vertical slice of one, in the ink map."""
    box: Box                      # its pixels', faint ink included
    blob: int                     # the blob it comes from
    part: int                     # its slice of that blob, from the left (0 if not cut)
    cut_left: int                 # strokes crossed by the cut at its left edge (0: the blob's edge)
    cut_right: int                # ... at its right edge
    mark: bool                    # small both ways next to the line height: a dot, a speck, a scrap
    short: bool                   # shorter than a digit can be: may be skipped as noise


@dataclass(frozen=True)
class Candidate:
    """Pieces `start` … `stop` − 1 read as one digit."""
    start: int
    stop: int
    box: Box
    ink: np.ndarray               # float32 (y1 − y0, x1 − x0): its pieces' ink, all else 0
    strokes_cut: int              # strokes its cuts go through, at both ends


@dataclass(frozen=True)
class LineBlobs:
    """A number's blobs at the size it is cut at, marks far from the digits dropped: all that
    comes before the cuts, which both over-segmentations share."""
    ink: np.ndarray               # the ink map (shrunk if its digits were tall)
    labels: np.ndarray            # its blobs, labelled
    boxes: dict[int, Box]         # each blob's box
    height: float                 # the line's digit height

    def wide(self) -> set[int]:
        """The blobs at least `BENT_CUT_MIN_WIDTH` line heights wide: those bent cuts may part."""
        return {blob for blob, box in self.boxes.items() if box[2] - box[0] >= BENT_CUT_MIN_WIDTH * self.height}


@dataclass(frozen=True)
class Oversegmentation:
    pieces: list[Piece]
    candidates: list[Candidate]
    line_height: float
    ink: np.ndarray               # the ink map the boxes refer to (shrunk if its digits were tall)
    blobs: LineBlobs = field(repr=False, compare=False)  # what it was cut from

    def ink_of(self, chosen: list[int]) -> np.ndarray:
        """A map of the line (1: the ink of the `chosen` candidates, indices into `candidates`; 0:
        the rest), as the line reader is given it (`reader.numbers.line_reader.line_input`'s `blobs`)."""
        kept = np.zeros(self.ink.shape, np.int32)
        for index in chosen:
            candidate = self.candidates[index]
            x0, y0, x1, y1 = candidate.box
            kept[y0:y1, x0:x1][candidate.ink > 0] = 1
        return kept


def oversegment(ink: np.ndarray) -> Oversegmentation:
    """Pieces and candidate digits of the number in `ink` (float32 (H, W) in [0, 1], 1 = ink),
    every wide blob cut vertically (`with_bent_cuts` gives the second over-segmentation).

    Raises `InputError` when the picture holds more than `MAX_COMPONENTS` blobs of ink or
    `MAX_MARKS` pieces (noise, a photo of a page): that is not a number.
    """
    blobs = line_blobs(ink)
    if not blobs.boxes:  # no ink left to cut
        return Oversegmentation([], [], 0.0, blobs.ink, blobs)
    return graph_of(blobs, bent_blobs=set())


def with_bent_cuts(graph: Oversegmentation) -> Oversegmentation | None:
    """`graph`'s number over-segmented again with its blobs at least `BENT_CUT_MIN_WIDTH` line
    heights wide cut along `bent_cuts` instead of vertically; None when it has no such blob. The
    candidates that involve no bent cut are the same as `graph`'s."""
    wide = graph.blobs.wide()
    return graph_of(graph.blobs, bent_blobs=wide) if wide else None


def line_blobs(ink: np.ndarray) -> LineBlobs:
    """The blobs of `ink` at the size they are cut at (module docstring, steps 1–3); none (and a
    height of 0) when it holds no ink above the threshold."""
    ink = as_ink_array(ink)
    blobs, count = ink_blobs(ink)
    if count > MAX_COMPONENTS:
        raise too_many_marks(MAX_COMPONENTS)
    if count > MAX_MARKS:
        raise too_many_marks(MAX_MARKS)
    if count == 0:
        return LineBlobs(ink, blobs, {}, 0.0)
    blob_boxes = label_boxes(blobs)
    height = line_height(blobs, blob_boxes)
    if height > WORKING_HEIGHT:
        ink = shrunk(ink, WORKING_HEIGHT / height)
        blobs, count = ink_blobs(ink)
        if count == 0:
            return LineBlobs(ink, blobs, {}, 0.0)
        blob_boxes = label_boxes(blobs)
        height = line_height(blobs, blob_boxes)
    blobs, blob_boxes = without_isolated_marks(blobs, blob_boxes, height)
    return LineBlobs(ink, blobs, blob_boxes, height)


def graph_of(blobs: LineBlobs, bent_blobs: set[int]) -> Oversegmentation:
    """The over-segmentation of `blobs`, the `bent_blobs` among them cut along bent cuts."""
    labels, cuts = cut_wide_blobs(blobs.labels, blobs.boxes, blobs.ink, blobs.height, bent_blobs)
    if len(cuts) > MAX_MARKS:
        raise too_many_marks(MAX_MARKS)
    labels = with_halo(labels, blobs.ink)
    pieces, labels = ordered_pieces(labels, cuts, blobs.height)
    return Oversegmentation(pieces, candidates(pieces, labels, blobs.ink, blobs.height), blobs.height, blobs.ink, blobs)


def too_many_marks(limit: int) -> InputError:
    return InputError(f"The picture has too many separate marks (over {limit}) to read as a number.")


# --- steps ---------------------------------------------------------------------------------------

def shrunk(ink: np.ndarray, factor: float) -> np.ndarray:
    """The ink map scaled by `factor` < 1 (each new pixel the mean of the old ones it covers)."""
    size = (max(1, round(ink.shape[1] * factor)), max(1, round(ink.shape[0] * factor)))
    small = Image.fromarray(ink.astype(np.float32)).resize(size, Image.Resampling.BOX)
    return np.clip(np.asarray(small, dtype=np.float32), 0, 1)


def line_height(blobs: np.ndarray, boxes: dict[int, Box]) -> float:
    """The typical digit height: the median height of the line's *columns*, each weighted by its
    ink area. A column is a blob, or blobs stacked over one another (each sharing at least
    `STACKED` of the narrower one's columns with another): the pieces of one digit broken across
    by a thin pen or a gap in a stroke, a 5's detached bar. Digits of a number stand side by side,
    so a broken digit counts at its whole height, not as several short blobs. Specks (under
    `MIN_DIGIT_PX` both ways) join no column."""
    labels = list(boxes)
    areas = np.bincount(blobs.ravel(), minlength=max(boxes) + 1)
    parent = {label: label for label in labels}

    def root(label):
        while parent[label] != label:
            parent[label] = parent[parent[label]]
            label = parent[label]
        return label

    solid = [label for label in labels if max(boxes[label][2] - boxes[label][0], boxes[label][3] - boxes[label][1]) >= MIN_DIGIT_PX]
    by_left = sorted(solid, key=lambda label: boxes[label][0])
    for i, a in enumerate(by_left):
        for b in by_left[i + 1:]:
            if boxes[b][0] >= boxes[a][2]:
                break
            shared = min(boxes[a][2], boxes[b][2]) - boxes[b][0]
            if shared >= STACKED * min(boxes[a][2] - boxes[a][0], boxes[b][2] - boxes[b][0]):
                parent[root(a)] = root(b)
    columns: dict[int, tuple[Box, float]] = {}
    for label in labels:
        top = root(label)
        box, area = columns.get(top, (boxes[label], 0.0))
        columns[top] = (union(box, boxes[label]), area + float(areas[label]))
    heights = np.array([box[3] - box[1] for box, _ in columns.values()], dtype=float)
    weights = np.array([area for _, area in columns.values()])
    order = np.argsort(heights)
    cumulative = np.cumsum(weights[order])
    return float(heights[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def without_isolated_marks(blobs: np.ndarray, boxes: dict[int, Box], height: float):
    """Drop the marks (blobs small both ways) farther than `ISOLATION` × `height` from every other
    blob: a dot or a speck on its own is noise, while a scrap beside a digit may be part of it."""
    marks = [label for label, box in boxes.items() if is_mark(box, height)]
    others = [box for label, box in boxes.items() if label not in marks]
    isolated = [label for label in marks
                if all(box_distance(boxes[label], other) > ISOLATION * height for other in others)]
    if not isolated:
        return blobs, boxes
    keep = np.ones(max(boxes) + 1, dtype=bool)
    keep[isolated] = False
    return np.where(keep[blobs], blobs, 0), {label: box for label, box in boxes.items() if keep[label]}


def is_mark(box: Box, height: float) -> bool:
    """Small both ways next to the line height, or under `MIN_DIGIT_PX` (so specks alone, which
    make their own "line", are marks too)."""
    return max(box[2] - box[0], box[3] - box[1]) < max(MARK_SIZE * height, MIN_DIGIT_PX)


def cut_wide_blobs(blobs: np.ndarray, boxes: dict[int, Box], ink: np.ndarray, height: float,
                   bent_blobs: set[int]):
    """A label image of pieces: each blob at least `CUT_MIN_WIDTH` × `height` wide is sliced at its
    `cut_columns`, vertically, or along `bent_cuts` for the `bent_blobs`. Returns (labels, cuts):
    `cuts[label]` = (blob, strokes cut at the left edge, at the right edge, slice index) for every
    piece label 1…n."""
    labels = np.zeros(blobs.shape, dtype=np.int32)
    cuts: list[tuple[int, int, int, int]] = [(0, 0, 0, 0)]
    for blob, (x0, y0, x1, y1) in boxes.items():
        own = blobs[y0:y1, x0:x1] == blob
        blob_ink = np.where(own, ink[y0:y1, x0:x1], 0)
        columns = cut_columns(blob_ink, height)
        paths = bent_cuts(blob_ink, columns, height) if blob in bent_blobs else [np.full(y1 - y0, c) for c in columns]
        rows = np.arange(y1 - y0)
        strokes = [stroke_count(own[rows, path]) for path in paths]
        ys, xs = np.nonzero(own)
        slice_of_pixel = np.zeros(ys.size, dtype=np.int32)
        for path in paths:
            slice_of_pixel += xs >= path[ys]
        labels[y0 + ys, x0 + xs] = len(cuts) + slice_of_pixel
        edges = [0] + strokes + [0]
        cuts += [(blob, edges[k], edges[k + 1], k) for k in range(len(columns) + 1)]
    return labels, cuts


def bent_cuts(blob_ink: np.ndarray, columns: list[int], height: float) -> list[np.ndarray]:
    """Per column of `columns` (sorted), its bent cut: the path from the blob's top row to its
    bottom one, one column per row, moving at most one column from row to row and at most `BEND` ×
    `height` from its column, through the least ink (each column away from it costing `BEND_COST`
    more), found by dynamic programming row by row, all the blob's cuts at once; each is then kept
    right of the one before, so that they never cross. Returns each cut's column in every row."""
    if not columns:
        return []
    rows, width = blob_ink.shape
    reach = max(1, round(BEND * height))
    offsets = np.arange(-reach, reach + 1)
    xs = np.asarray(columns)[:, None] + offsets[None, :]                      # (cuts, window)
    cost = np.where((xs >= 0) & (xs < width), blob_ink[:, np.clip(xs, 0, width - 1)], np.inf)  # (rows, cuts, window)
    cost = cost + BEND_COST * np.abs(offsets)
    total = cost[0].astype(np.float64)
    step = np.zeros(cost.shape, dtype=np.int8)
    blocked = np.full((len(columns), 1), np.inf)
    for y in range(1, rows):
        best, came = np.concatenate([blocked, total[:, :-1]], axis=1), np.full(total.shape, -1, np.int8)
        for move, option in ((0, total), (1, np.concatenate([total[:, 1:], blocked], axis=1))):
            better = option < best  # ties keep the leftmost move, as argmin over (left, stay, right) would
            best, came = np.where(better, option, best), np.where(better, move, came).astype(np.int8)
        step[y] = came
        total = cost[y] + best
    position = np.empty((rows, len(columns)), dtype=np.int64)
    position[-1] = total.argmin(axis=1)
    cuts = np.arange(len(columns))
    for y in range(rows - 1, 0, -1):
        position[y - 1] = position[y] + step[y, cuts, position[y]]
    paths = []
    for path in (position + xs[:, :1].T).T:   # window index → column of the blob
        if paths:
            path = np.minimum(np.maximum(path, paths[-1] + 1), width - 1)
        paths.append(path)
    return paths


def cut_columns(blob_ink: np.ndarray, height: float) -> list[int]:
    """Columns of one blob's ink (cropped to it) where it may be cut into two digits, sorted.

    Candidates: valleys of the lightly smoothed vertical projection (both ends of a flat floor),
    dips of the upper contour and rises of the lower one (where two round digits meet, the
    projection may peak). Each piece keeps at least `MIN_PIECE_WIDTH` × `height` columns; of
    close candidates the one with less ink is kept; at most `CUTS_PER_DIGIT` per digit the blob
    may hold, those with the least ink in their column, are tried.
    """
    rows, width = blob_ink.shape
    if width < CUT_MIN_WIDTH * height or width > MAX_DIGITS_PER_BLOB * height:
        return []
    projection = ndi.uniform_filter1d(blob_ink.sum(axis=0), size=max(1, width // 20))
    _, valleys = find_peaks(-projection, prominence=VALLEY_PROMINENCE * projection.max(), plateau_size=1)
    found = list(valleys["left_edges"]) + list(valleys["right_edges"] + 1)
    inked = blob_ink > INK_THRESHOLD
    has_ink = inked.any(axis=0)
    top = np.where(has_ink, inked.argmax(axis=0), rows).astype(float)
    bottom = np.where(has_ink, rows - 1 - inked[::-1].argmax(axis=0), -1).astype(float)
    for contour in (top, -bottom):
        found += list(find_peaks(contour, prominence=CONTOUR_PROMINENCE * height, plateau_size=1)[0])
    margin = max(1, round(MIN_PIECE_WIDTH * height))
    kept: list[int] = []
    for column in sorted({int(c) for c in found if margin <= c <= width - margin}, key=lambda c: projection[c]):
        if all(abs(column - other) >= margin for other in kept):
            kept.append(column)
    most = CUTS_PER_DIGIT * max(2, int(np.ceil(width / (0.5 * height))))
    return sorted(kept[:most])


def stroke_count(column: np.ndarray) -> int:
    """How many separate runs of ink a column of a mask crosses."""
    return int(np.count_nonzero(np.diff(column.astype(np.int8), prepend=0, append=0) == 1))


def with_halo(labels: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """Give each inked pixel outside the pieces (faint anti-aliasing) to the nearest piece within
    `HALO` px in both directions, as `reader.preprocess.remove_specks` keeps it beside a blob."""
    ys, xs = np.nonzero((labels == 0) & (ink > 0))
    owner = np.zeros(ys.size, dtype=labels.dtype)
    offsets = sorted(((dy, dx) for dy in range(-HALO, HALO + 1) for dx in range(-HALO, HALO + 1) if dy or dx),
                     key=lambda d: d[0] ** 2 + d[1] ** 2)
    height, width = labels.shape
    for dy, dx in offsets:
        open_ = owner == 0
        y, x = ys + dy, xs + dx
        inside = open_ & (y >= 0) & (y < height) & (x >= 0) & (x < width)
        owner[inside] = labels[y[inside], x[inside]]
    grown = labels.copy()
    grown[ys, xs] = owner
    return grown


def ordered_pieces(labels: np.ndarray, cuts, height: float) -> tuple[list[Piece], np.ndarray]:
    """The pieces ordered by the centre of their blob's box, the slices of a blob left to right,
    and the label image renumbered to match (piece k has label k + 1). Keeping a blob's slices
    together keeps a cut digit's pieces consecutive when a neighbour reaches under it."""
    boxes = label_boxes(labels)
    blob_boxes: dict[int, Box] = {}
    for label, box in boxes.items():
        blob = cuts[label][0]
        blob_boxes[blob] = union(blob_boxes[blob], box) if blob in blob_boxes else box
    order = sorted(boxes, key=lambda label: (sum(blob_boxes[cuts[label][0]][0::2]), cuts[label][0], cuts[label][3]))
    renumber = np.zeros(len(cuts), dtype=np.int32)
    pieces = []
    for index, label in enumerate(order):
        renumber[label] = index + 1
        x0, y0, x1, y1 = boxes[label]
        blob, cut_left, cut_right, part = cuts[label]
        pieces.append(Piece(boxes[label], blob, part, cut_left, cut_right, is_mark(boxes[label], height),
                            short=(y1 - y0) < MIN_DIGIT_HEIGHT * height))
    return pieces, renumber[labels]


def candidates(pieces: list[Piece], labels: np.ndarray, ink: np.ndarray, height: float) -> list[Candidate]:
    """Every run of consecutive pieces from at most `MAX_BLOBS` blobs that could be one digit
    (module docstring). A single piece that is not short is always a candidate, so every picture
    has a reading."""
    slices = Counter(piece.blob for piece in pieces)
    found = []
    for start in range(len(pieces)):
        box, blobs = None, set()
        for stop in range(start + 1, len(pieces) + 1):
            piece = pieces[stop - 1]
            blobs.add(piece.blob)
            if box is not None and (piece.box[0] - box[2] > MAX_JOIN_GAP * height or len(blobs) > MAX_BLOBS):
                break
            box = piece.box if box is None else union(box, piece.box)
            run = pieces[start:stop]
            width, limit = box[2] - box[0], max(box[3] - box[1], height)
            if width > MAX_ASPECT * limit and stop - start > 1:
                if len(blobs) > 1 or width > WHOLE_BLOB_ASPECT * limit:
                    break
                if stop - start < slices[piece.blob]:
                    continue  # part of a wide blob: only the whole of it may be this wide
            if (box[3] - box[1]) < MIN_DIGIT_HEIGHT * height or all(p.mark for p in run):
                continue
            found.append(Candidate(start, stop, box, run_ink(labels, ink, box, start, stop),
                                   strokes_cut(pieces, start, stop)))
    return found


def run_ink(labels: np.ndarray, ink: np.ndarray, box: Box, start: int, stop: int) -> np.ndarray:
    """The ink of pieces start … stop − 1 (labels start + 1 … stop) inside `box`, all else 0."""
    x0, y0, x1, y1 = box
    region = labels[y0:y1, x0:x1]
    return np.where((region > start) & (region <= stop), ink[y0:y1, x0:x1], 0).astype(np.float32)


def strokes_cut(pieces: list[Piece], start: int, stop: int) -> int:
    """Strokes cut through by the cuts that separate this run from the rest of its blobs: a cut
    between two slices that are both in the run is healed and costs nothing."""
    run = pieces[start:stop]
    parts = {(piece.blob, piece.part) for piece in run}
    return sum(piece.cut_left * ((piece.blob, piece.part - 1) not in parts)
               + piece.cut_right * ((piece.blob, piece.part + 1) not in parts) for piece in run)


def ink_at_full_size(graph: Oversegmentation, candidate: Candidate, full_ink: np.ndarray) -> np.ndarray:
    """The candidate's ink taken from `full_ink`, the ink map `graph` was made from: when that was
    shrunk to `WORKING_HEIGHT`, every full-size pixel under the candidate's pixels (its own pieces',
    faint ink included) keeps its ink, all else is 0; otherwise just the candidate's ink. MNIST's
    digits were made from the full-size scan, and so is a digit read alone (reader.preprocess)."""
    if graph.ink.shape == full_ink.shape:
        return candidate.ink
    scale_y, scale_x = graph.ink.shape[0] / full_ink.shape[0], graph.ink.shape[1] / full_ink.shape[1]
    x0, y0, x1, y1 = candidate.box
    top, left = int(np.floor(y0 / scale_y)), int(np.floor(x0 / scale_x))
    bottom, right = min(full_ink.shape[0], int(np.ceil(y1 / scale_y))), min(full_ink.shape[1], int(np.ceil(x1 / scale_x)))
    rows = np.clip(np.floor((np.arange(top, bottom) + 0.5) * scale_y).astype(int) - y0, 0, y1 - y0 - 1)
    columns = np.clip(np.floor((np.arange(left, right) + 0.5) * scale_x).astype(int) - x0, 0, x1 - x0 - 1)
    own = (candidate.ink > 0)[rows[:, None], columns[None, :]]
    return np.where(own, full_ink[top:bottom, left:right], 0).astype(np.float32)


# --- box helpers ---------------------------------------------------------------------------------

def box_distance(a: Box, b: Box) -> int:
    """Pixels between two boxes along the axis where they are farthest apart (0 if they overlap)."""
    return max(0, b[0] - a[2], a[0] - b[2], b[1] - a[3], a[1] - b[3])


def label_boxes(labels: np.ndarray) -> dict[int, Box]:
    """{label: bounding box} for every label present in a label image."""
    return {index + 1: (found[1].start, found[0].start, found[1].stop, found[0].stop)
            for index, found in enumerate(ndi.find_objects(labels)) if found is not None}


def union(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])
