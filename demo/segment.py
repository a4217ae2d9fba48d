"""Split an ink map holding a written number into single digits, left to right.

`split_digits` works on the ink map from `demo.preprocess.ink_map`:

1. 8-connected components of the ink (pixels above `INK_THRESHOLD`);
2. specks — components tiny next to the largest — are dropped;
3. components whose horizontal extents overlap heavily are merged: pieces of one digit drawn in
   several strokes (a 4 in two strokes, a broken 1) sit above each other; then fragments much
   shorter than the number's typical digit height (a 5's detached top bar) join the group whose
   columns they share most;
4. stray dots, small in both directions next to the typical height, are dropped;
5. groups much wider than the typical digit height are split, as touching digits, at the
   deepest valley of their vertical ink projection near where the boundary between the
   estimated number of digits should be (the middle for two), again and again while a piece is
   still too wide.

The typical digit height is the median height of the groups once the heavily overlapping ones
are merged: all digits of a number are about equally tall, while their widths vary (a 1 against
a 0). Touching digits are found by width alone, so a touching pair that includes a narrow 1 is
no wider than one digit and stays unsplit here. For those, `one_beside_digit_cuts` proposes where
such a group could be cut and `looks_like_one_beside_digit` checks the shape of the two pieces
once the model has said which piece is the "1": `demo.pipeline.read_number` makes the choice,
because only the model can tell a "1" touching a "7" from a wide "7".

Each piece becomes a `DigitCrop` (its ink and bounding box); `digit_crops` does this for a picture,
`demo.preprocess.to_mnist` turns a crop into model input, and `demo.pipeline.read_number` runs
the whole chain with the model.
"""

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from scipy.signal import find_peaks

from demo.errors import InputError
from demo.images import load_image
from demo.preprocess import EIGHT_CONNECTED, INK_THRESHOLD, as_ink_array, ink_map

SPECK_AREA_FRACTION = 0.02   # components under this share of the largest one's area are specks
DOT_FRACTION = 0.2           # groups under this share of the typical height both ways are dots
MERGE_OVERLAP = 0.5          # merge groups sharing this share of the narrower one's width
FRAGMENT_FRACTION = 0.5      # groups shorter than this share of the typical height are fragments
SPLIT_ASPECT = 1.4          # wider than this × the typical height = touching digits (a wide 0 or 2 reaches ~1.3)
DIGIT_ASPECT = 0.8           # a digit's usual width / height (MNIST's median), to count digits
SPLIT_WINDOW = 0.4           # look for a cut within this many digit widths of the expected place
HALO = 2                     # anti-aliased pixels this close to a digit's ink belong to it
MAX_COMPONENTS = 5_000       # more separate ink blobs than this is noise, not handwriting
MAX_MARKS = 200              # more separate marks than this is not a number (noise, a page)
MAX_DIGITS_PER_GROUP = 12    # a group "holding" more digits than this is a line, not digits
ONE_PAIR_ASPECT = 0.6        # groups at least this wide (× reference height) may be a 1 touching a digit
CUT_RANGE = (0.12, 0.88)     # where such a cut may fall, as shares of the group's width
CUTS_TRIED = 3               # the most prominent valleys of the ink projection tried as cuts
VALLEY_PROMINENCE = 0.05     # valleys shallower than this share of the projection's peak are noise
ONE_HEIGHT = 0.9             # a 1 beside a digit spans at least this share of the pair's height
NEIGHBOUR_HEIGHT = 0.6       # and so does (this share) the digit beside it; pieces of one digit rarely both do


@dataclass(frozen=True)
class DigitCrop:
    """One digit cut from an ink map.

    `ink`: float32 (y1 − y0, x1 − x0) in [0, 1], this digit's ink only (others' ink zeroed).
    `bbox`: (x0, y0, x1, y1) in the ink map's pixels, end-exclusive.
    """
    ink: np.ndarray
    bbox: tuple[int, int, int, int]


def digit_crops(source) -> list[DigitCrop]:
    """`split_digits` of a picture (anything `load_image` accepts, or None)."""
    if source is None:
        return []
    return split_digits(ink_map(load_image(source)))


def split_digits(ink: np.ndarray) -> list[DigitCrop]:
    """The digits in `ink` (float32 (H, W) in [0, 1], 1 = ink), ordered left to right.

    Raises `InputError` when the picture holds more than `MAX_COMPONENTS` blobs of ink or
    `MAX_MARKS` separate marks (noise, a photo of a page): that is not a number, and sorting it
    out would take long.
    """
    ink = as_ink_array(ink)
    components = components_without_specks(ink)
    if components.max() > MAX_COMPONENTS:
        raise too_many_marks(MAX_COMPONENTS)
    groups = merge_overlapping_columns(components)
    if len(groups.boxes) > MAX_MARKS:
        raise too_many_marks(MAX_MARKS)
    height = groups.typical_height()
    attach_fragments(groups, height)
    drop_stray_dots(groups, height)
    labels = split_wide_groups(groups.labels(), ink, height)
    labels = grow_into_halo(labels, ink)
    return crops_left_to_right(labels, ink)


def too_many_marks(limit: int) -> InputError:
    return InputError(f"The picture has too many separate marks (over {limit}) to read as a number.")


Box = tuple[int, int, int, int]  # (x0, y0, x1, y1), end-exclusive


class Groups:
    """Ink components gathered into groups (digits to be), tracked by bounding box.

    `owner[component]` is the component's group (0: dropped); `boxes` maps group → bounding box.
    """

    def __init__(self, components: np.ndarray):
        self.components = components
        self.owner = np.zeros(components.max() + 1, dtype=components.dtype)
        self.boxes: dict[int, Box] = {}

    def add(self, component: int, group: int, box: Box) -> None:
        self.owner[component] = group
        self.boxes[group] = union(self.boxes[group], box) if group in self.boxes else box

    def merge(self, keep: int, absorb: int) -> None:
        self.boxes[keep] = union(self.boxes[keep], self.boxes.pop(absorb))
        self.owner[self.owner == absorb] = keep

    def drop(self, group: int) -> None:
        del self.boxes[group]
        self.owner[self.owner == group] = 0

    def typical_height(self) -> float:
        """Median height of the groups (0 when there are none)."""
        heights = [y1 - y0 for _, y0, _, y1 in self.boxes.values()]
        return float(np.median(heights)) if heights else 0.0

    def labels(self) -> np.ndarray:
        """Label image: each pixel's group (0 for background and dropped ink)."""
        return self.owner[self.components]


# --- steps ---------------------------------------------------------------------------------------

def components_without_specks(ink: np.ndarray) -> np.ndarray:
    """Label image of the 8-connected ink components without specks, labelled 1…n (0: none)."""
    labels, count = ndi.label(ink > INK_THRESHOLD, structure=EIGHT_CONNECTED)
    if count == 0:
        return labels
    areas = np.bincount(labels.ravel())
    areas[0] = 0
    is_speck = areas < SPECK_AREA_FRACTION * areas.max()
    is_speck[0] = True
    new_label = np.where(is_speck, 0, np.cumsum(~is_speck))
    return new_label[labels]


def merge_overlapping_columns(components: np.ndarray) -> Groups:
    """Group components whose column ranges overlap by `MERGE_OVERLAP` of the narrower width.

    One sweep from left to right: each component joins the open group (one whose columns reach
    this far) it overlaps most, or starts a group of its own.
    """
    groups = Groups(components)
    open_groups: list[int] = []
    for component, box in sorted(group_boxes(components).items(), key=lambda item: item[1][0]):
        open_groups = [group for group in open_groups if groups.boxes[group][2] > box[0]]
        host = most_overlapping(box, {group: groups.boxes[group] for group in open_groups})
        if host is None:
            host = component
            open_groups.append(host)
        groups.add(component, host, box)
    return groups


def most_overlapping(box: Box, candidates: dict[int, Box]) -> int | None:
    """The candidate sharing the largest share of the narrower width, if that reaches the limit."""
    best, best_share = None, MERGE_OVERLAP
    for label, other in candidates.items():
        shared = min(box[2], other[2]) - max(box[0], other[0])
        share = shared / min(box[2] - box[0], other[2] - other[0])
        if share >= best_share:
            best, best_share = label, share
    return best


def attach_fragments(groups: Groups, height: float) -> None:
    """Merge each short group into the taller group whose columns it shares most, if any."""
    for label in sorted(groups.boxes, key=lambda group: groups.boxes[group][3] - groups.boxes[group][1]):
        box = groups.boxes[label]
        own_height = box[3] - box[1]
        if own_height >= FRAGMENT_FRACTION * height:
            continue
        taller = {other: b for other, b in groups.boxes.items() if b[3] - b[1] > own_height}
        host = widest_column_share(box, taller)
        if host is not None:
            groups.merge(host, label)


def widest_column_share(box: Box, others: dict[int, Box]) -> int | None:
    """The label in `others` whose column range shares the most columns with `box`, if any."""
    shares = {label: min(box[2], other[2]) - max(box[0], other[0]) for label, other in others.items()}
    shares = {label: share for label, share in shares.items() if share > 0}
    return max(shares, key=shares.get) if shares else None


def drop_stray_dots(groups: Groups, height: float) -> None:
    """Remove groups small in both directions next to the typical height (dots, stray marks)."""
    limit = DOT_FRACTION * height
    for label, (x0, y0, x1, y1) in list(groups.boxes.items()):
        if x1 - x0 < limit and y1 - y0 < limit:
            groups.drop(label)


def split_wide_groups(labels: np.ndarray, ink: np.ndarray, height: float) -> np.ndarray:
    """Cut groups wider than `SPLIT_ASPECT` × the typical (or their own, if taller) height until
    no piece is: those are touching digits. A group that would hold more than
    `MAX_DIGITS_PER_GROUP` digits is a line or a scribble, not digits, and stays whole."""
    labels = labels.copy()
    pending = [(label, box) for label, box in group_boxes(labels).items()
               if digits_in(box, height) <= MAX_DIGITS_PER_GROUP]
    next_label = labels.max() + 1
    while pending:
        label, box = pending.pop()
        if not is_too_wide(box, height):
            continue
        x0, y0, x1, y1 = box
        region = labels[y0:y1, x0:x1]  # a view: changing it changes `labels`
        cut = valley_column(np.where(region == label, ink[y0:y1, x0:x1], 0), digits_in(box, height))
        right = region[:, cut:]
        right[right == label] = next_label
        for piece in (label, next_label):
            px0, py0, px1, py1 = mask_box(region == piece)
            pending.append((piece, (x0 + px0, y0 + py0, x0 + px1, y0 + py1)))
        next_label += 1
    return labels


def reference_height(box: Box, height: float) -> float:
    return max(box[3] - box[1], height)


def is_too_wide(box: Box, height: float) -> bool:
    return (box[2] - box[0]) > SPLIT_ASPECT * reference_height(box, height)


def digits_in(box: Box, height: float) -> int:
    """How many digits a too-wide group probably holds (MNIST's median width / height is 0.8)."""
    return max(2, round((box[2] - box[0]) / (DIGIT_ASPECT * reference_height(box, height))))


def valley_column(group_ink: np.ndarray, digits: int) -> int:
    """Column of `group_ink` (one group's ink, cropped to it) where to cut it in two.

    The cut leaves ``digits // 2`` of its `digits` digits on the left: it is the column with the
    least ink (vertical projection, lightly smoothed) within ±`SPLIT_WINDOW` digit widths of where
    that boundary should be; ties go to the column nearest to it. Both pieces keep a column.
    """
    width = group_ink.shape[1]
    profile = ndi.uniform_filter1d(group_ink.sum(axis=0), size=max(1, width // 20))
    expected = width * (digits // 2) / digits
    reach = SPLIT_WINDOW * width / digits
    low = min(max(1, round(expected - reach)), width - 1)
    high = max(low + 1, min(width - 1, round(expected + reach)))
    window = profile[low:high]
    candidates = np.flatnonzero(window <= window.min() + 1e-6) + low
    return int(candidates[np.argmin(np.abs(candidates - expected))])


def grow_into_halo(labels: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """Give faint (anti-aliased) ink within `HALO` px of a group to the nearest group."""
    if not labels.any():
        return labels
    distance, (rows, cols) = ndi.distance_transform_edt(labels == 0, return_indices=True)
    nearest = labels[rows, cols]
    return np.where((labels == 0) & (distance <= HALO) & (ink > 0), nearest, labels)


def crops_left_to_right(labels: np.ndarray, ink: np.ndarray) -> list[DigitCrop]:
    boxes = sorted(group_boxes(labels).items(), key=lambda item: (item[1][0] + item[1][2]) / 2)
    crops = []
    for label, (x0, y0, x1, y1) in boxes:
        own_ink = np.where(labels[y0:y1, x0:x1] == label, ink[y0:y1, x0:x1], 0)
        crops.append(DigitCrop(ink=own_ink.astype(np.float32), bbox=(x0, y0, x1, y1)))
    return crops


# --- a "1" touching its neighbour -----------------------------------------------------------------

def typical_height(crops: list[DigitCrop]) -> float:
    """Median height of the digits of a number (0 when there are none)."""
    return float(np.median([crop.ink.shape[0] for crop in crops])) if crops else 0.0


def one_beside_digit_cuts(crop: DigitCrop, height: float) -> list[tuple[DigitCrop, DigitCrop]]:
    """Ways to cut `crop` in two, in case it is a "1" touching another digit (left, right pieces).

    Only groups at least `ONE_PAIR_ASPECT` × their reference height wide qualify. The cuts are at
    the `CUTS_TRIED` most prominent valleys of the lightly smoothed vertical ink projection
    (`scipy.signal.find_peaks` on its negative; a flat valley floor — a 7's bar drawn with an even
    brush — gives both of its ends) within `CUT_RANGE` of the width, kept when either piece could
    be the "1" by shape (`looks_like_one_beside_digit`); each piece is cropped to its own ink.
    """
    h, w = crop.ink.shape
    if w < ONE_PAIR_ASPECT * max(h, height) or w < 3:
        return []
    profile = ndi.uniform_filter1d(crop.ink.sum(axis=0), size=max(1, w // 20))
    _, valleys = find_peaks(-profile, prominence=VALLEY_PROMINENCE * profile.max(), plateau_size=1)
    low, high = CUT_RANGE[0] * w, CUT_RANGE[1] * w
    cuts, tried = [], set()
    for i in np.argsort(-valleys["prominences"])[:CUTS_TRIED]:
        for column in (valleys["left_edges"][i], valleys["right_edges"][i] + 1):
            if not low <= column <= high or column in tried:
                continue
            tried.add(column)
            left, right = piece_of(crop, 0, column), piece_of(crop, column, w)
            if left is None or right is None:
                continue
            if looks_like_one_beside_digit(left, right, crop) or looks_like_one_beside_digit(right, left, crop):
                cuts.append((left, right))
    return cuts


def looks_like_one_beside_digit(one: DigitCrop, other: DigitCrop, group: DigitCrop) -> bool:
    """A cut's pieces have the shape of a "1" beside a digit: the 1 spans nearly the pair's full
    height (`ONE_HEIGHT`) and the other piece most of it (`NEIGHBOUR_HEIGHT`). Halves of a single
    digit cut in two rarely both do (with the model's check in demo.pipeline, 1 of 1,000 lone
    real MNIST test digits was cut)."""
    height = group.ink.shape[0]
    return (ink_rows(one) >= ONE_HEIGHT * height) and (ink_rows(other) >= NEIGHBOUR_HEIGHT * height)


def ink_rows(crop: DigitCrop) -> int:
    """Rows from the first to the last holding ink above half strength."""
    rows = np.flatnonzero((crop.ink > 0.5).any(axis=1))
    return int(rows[-1] - rows[0] + 1) if rows.size else 0


def piece_of(crop: DigitCrop, x0: int, x1: int) -> DigitCrop | None:
    """Columns x0:x1 of a crop, cropped to their ink above `INK_THRESHOLD`; None if there is none."""
    ink = crop.ink[:, x0:x1]
    mask = ink > INK_THRESHOLD
    if not mask.any():
        return None
    px0, py0, px1, py1 = mask_box(mask)
    bx, by = crop.bbox[0] + x0, crop.bbox[1]
    return DigitCrop(ink=np.ascontiguousarray(ink[py0:py1, px0:px1]), bbox=(bx + px0, by + py0, bx + px1, by + py1))


# --- box helpers ---------------------------------------------------------------------------------

def group_boxes(labels: np.ndarray) -> dict[int, Box]:
    """{label: bounding box} for every label present in a label image."""
    return {index + 1: (found[1].start, found[0].start, found[1].stop, found[0].stop)
            for index, found in enumerate(ndi.find_objects(labels)) if found is not None}


def mask_box(mask: np.ndarray) -> Box:
    """Bounding box of the True pixels of a non-empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def union(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])
