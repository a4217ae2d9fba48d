"""Hard written numbers made of real MNIST **test** digits, for the Number reader's tests and benchmark.

Never training digits. The 10,000 test digits are split in two pools: `TUNING` (indices 0–4,999),
on which the reader's constants were chosen, and `EVALUATION` (5,000–9,999), on which the tests
and `benchmarks/numbers.py` measure it.

A number is written like a person would: each digit is a real test digit cropped to its ink and
enlarged to the number's digit height (36–110 px) times its own size factor (±30 %), its bottom
jittered by up to ±10 % of the height; the pen is the same for the whole number (strokes thinned,
left, or thickened). Neighbours are placed by the gap between their inks, row by row: wide
(0.3–0.8 × height), normal (0.08–0.3), touching (the inks meet) or slightly overlapping (the strokes
cross by 1 px up to 6 % of the height). Some digits get a broken stroke (a thin band erased across
the digit at a random angle: a 5 with a detached bar, a broken 0), some numbers get specks (1–3 px)
and dots (a decimal point or a colon, 8–16 % of the height) that never touch a digit. Half are
drawn like the sketchpad sends them (dark on an opaque white canvas), half as transparent PNGs
(black ink whose strength is only in alpha).

    numbers = hard_numbers(images, labels, 1000, seed=12)     # 2–6 digits, everything above
    pairs = touching_pairs(images, labels, 1000, seed=13)      # two digits whose inks meet or cross
    lone = lone_digits(images, labels, 1000, seed=14)          # one digit, no specks, no breaks
    plain = ordinary_numbers(images, labels, 1000, seed=15)    # 3–5 digits, ordinary gaps, one pen
    crowded = crowded_numbers(images, labels, 1000, seed=16)   # touching, slanted, mixed pens, a third photographed
    picture, alone = lay_out(inks, gaps)                       # your digits, boxes gaps px apart
    flat = flattened(enlarged(images[i], 60), 1.9)             # a digit stretched sideways
    italic = slanted(pairs[0].image, 0.25)                     # the picture leaning right (sheared)
"""

import io
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

TUNING = range(0, 5000)
EVALUATION = range(5000, 10000)

HEIGHTS = (36, 110)            # the number's digit height in px (a digit of size factor 1)
SIZE_JITTER = 0.3              # each digit's size factor is in 1 ± this
BASELINE_JITTER = 0.1          # each digit's bottom moves by up to this share of the height
GAP_KINDS = {                  # kind: (probability, gap range as shares of the height)
    "wide": (0.35, (0.3, 0.8)),
    "normal": (0.45, (0.08, 0.3)),
    "touching": (0.12, (0.0, 0.0)),
    "overlapping": (0.08, (-0.06, 0.0)),
}
ORDINARY_GAPS = {kind: GAP_KINDS[kind] for kind in ("wide", "normal")}
CROWDED_GAPS = {"normal": (0.25, (0.04, 0.15)), "touching": (0.4, (0.0, 0.0)), "overlapping": (0.35, (-0.06, 0.0))}
SLANTS = (-0.1, 0.35)          # a crowded number leans by this many columns per row (italics lean right)
PHOTOGRAPHED_SHARE = 1 / 3     # of crowded numbers: photographed on paper (`photographed`)
THINNING = (0.25, 0.45)        # a thin pen: ink below this level is cut (the stroke's soft edge)
THICKENING = 0.035             # a thick pen: strokes grow by 1 px up to this share of the height
BREAK_CHANCE = 0.08            # per digit: a band erased across it
BREAK_WIDTH = (0.02, 0.05)     # the band's width, as shares of the height (at least 1.5 px)
SPECK_CHANCE = 0.3             # per number: 1–5 specks of 1–3 px
DOT_CHANCE = 0.2               # per number: a dot (decimal point) or a colon
DOT_SIZE = (0.08, 0.16)        # a dot's diameter, as shares of the height
CLEARANCE = 3                  # px of background kept between a speck or dot and any digit
SOLID = 0.5                    # ink above this is the stroke itself (for gaps and touching)
MAX_BOX_OVERLAP = 0.15         # a digit's box covers at most this share of its left neighbour's

Box = tuple[int, int, int, int]  # (x0, y0, x1, y1), end-exclusive


@dataclass(frozen=True)
class WrittenNumber:
    """One generated picture and what is really in it."""
    text: str                       # the digits' true labels, left to right
    image: Image.Image              # RGBA
    digit_boxes: tuple[Box, ...]    # each digit's ink (above 0.1), left to right
    digit_inks: tuple[np.ndarray, ...]  # each digit's own ink inside its box (float32 in [0, 1])
    touching: tuple[bool, ...]      # per neighbouring pair: their strokes meet or cross
    mark_boxes: tuple[Box, ...]     # specks and dots: never digits
    broken: tuple[bool, ...]        # per digit: drawn with a stroke cut
    test_indices: tuple[int, ...]   # the MNIST test images used
    style: str                      # "canvas" (opaque, dark on white), "transparent", or "photo" (JPEG of paper)
    pen: float                      # < 0: strokes thinned (ink below −pen cut), > 0: thickened by pen px


# --- the sets ------------------------------------------------------------------------------------

def hard_numbers(images, labels, count: int, seed: int, pool=EVALUATION) -> list[WrittenNumber]:
    """`count` numbers of 2–6 digits with everything in the module docstring."""
    rng = np.random.default_rng(seed)
    return [write(pick_digits(images, labels, rng.integers(0, 10, int(rng.integers(2, 7))), rng, pool), rng)
            for _ in range(count)]


def touching_pairs(images, labels, count: int, seed: int, pool=EVALUATION) -> list[WrittenNumber]:
    """`count` two-digit numbers whose strokes meet or cross; every ordered pair of labels as often
    as `count` allows. A pair whose strokes do not touch once placed (the box-overlap limit can
    hold a digit back) is drawn again. No specks, no broken strokes."""
    rng = np.random.default_rng(seed)
    gap_kinds = {kind: GAP_KINDS[kind] for kind in ("touching", "overlapping")}
    pairs = []
    for i in range(count):
        while True:
            pair = write(pick_digits(images, labels, [i // 10 % 10, i % 10], rng, pool), rng, gap_kinds=gap_kinds,
                         breaks=False, marks=False)
            if pair.touching[0]:
                break
        pairs.append(pair)
    return pairs


def ordinary_numbers(images, labels, count: int, seed: int, pool=EVALUATION) -> list[WrittenNumber]:
    """`count` numbers of 3–5 digits as most people write them: wide and normal gaps only, one pen,
    whole strokes, no specks or dots."""
    rng = np.random.default_rng(seed)
    return [write(pick_digits(images, labels, rng.integers(0, 10, int(rng.integers(3, 6))), rng, pool), rng,
                  gap_kinds=ORDINARY_GAPS, breaks=False, marks=False) for _ in range(count)]


def crowded_numbers(images, labels, count: int, seed: int, pool=EVALUATION) -> list[WrittenNumber]:
    """`count` numbers of 3–5 digits written crowded: most neighbours touching or crossing, each digit
    with its own pen, the whole number slanted (`SLANTS`), a third of them photographed on paper and
    sent as a JPEG (`photographed`, style "photo"). Their boxes, inks and marks are not kept (the
    slant moved them): read them for their text."""
    rng = np.random.default_rng(seed)
    numbers = []
    for _ in range(count):
        digits = pick_digits(images, labels, rng.integers(0, 10, int(rng.integers(3, 6))), rng, pool)
        number = write(digits, rng, gap_kinds=CROWDED_GAPS, breaks=False, marks=False, mixed_pens=True)
        image, style = slanted(number.image.convert("RGBA"), float(rng.uniform(*SLANTS))), number.style
        if rng.random() < PHOTOGRAPHED_SHARE:
            image, style = photographed(image, rng), "photo"
        numbers.append(replace(number, image=image, style=style, digit_boxes=(), digit_inks=(), mark_boxes=()))
    return numbers


def photographed(picture: Image.Image, rng: np.random.Generator) -> Image.Image:
    """`picture`'s ink (darkness on opaque white, or alpha) as a photo of dark ink on paper: grey paper
    lit unevenly (brighter on one side), ink of a random darkness, sensor noise, a slight blur, then
    saved as a JPEG (quality 60–90) and opened again, as a phone would send it."""
    rgba = np.asarray(picture.convert("RGBA"), dtype=np.float32) / 255
    ink = np.maximum(1 - rgba[..., :3].mean(axis=2), 0) * rgba[..., 3]
    rows, cols = np.mgrid[0:ink.shape[0], 0:ink.shape[1]]
    angle = rng.uniform(0, 2 * np.pi)
    light = (np.cos(angle) * cols / ink.shape[1] + np.sin(angle) * rows / ink.shape[0])
    paper = rng.uniform(160, 225) + rng.uniform(10, 30) * (light - light.mean())
    dark = rng.uniform(25, 90)
    grey = paper - (paper - dark) * ink + rng.normal(0, rng.uniform(2, 6), ink.shape)
    grey = ndi.gaussian_filter(np.clip(grey, 0, 255), rng.uniform(0.5, 1.1))
    tint = np.array([1.0, rng.uniform(0.96, 1.0), rng.uniform(0.88, 0.97)])       # warm paper light
    rgb = np.clip(np.rint(grey[..., None] * tint), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buffer, "JPEG", quality=int(rng.integers(60, 91)))
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def lone_digits(images, labels, count: int, seed: int, pool=EVALUATION) -> list[WrittenNumber]:
    """`count` single digits (every label as often as `count` allows), pen and size varied; no
    specks, no broken strokes."""
    rng = np.random.default_rng(seed)
    return [write(pick_digits(images, labels, [i % 10], rng, pool), rng, breaks=False, marks=False)
            for i in range(count)]


def pick_digits(images, labels, digits, rng: np.random.Generator, pool) -> list[tuple[int, np.ndarray, int]]:
    """(label, uint8 28×28 image, test index) for each wanted label, drawn at random from `pool`."""
    start, stop = pool.start, pool.stop
    chosen = []
    for digit in digits:
        candidates = np.flatnonzero(labels[start:stop] == digit) + start
        index = int(rng.choice(candidates))
        chosen.append((int(digit), images[index], index))
    return chosen


# --- writing one number --------------------------------------------------------------------------

def write(digits, rng: np.random.Generator, gap_kinds=GAP_KINDS, breaks: bool = True,
          marks: bool = True, mixed_pens: bool = False) -> WrittenNumber:
    """Write the (label, image, index) `digits` as a number with random pen (one for the whole
    number, or with `mixed_pens` one per digit), sizes and gaps."""
    height = float(rng.uniform(*HEIGHTS))
    pen = pen_change(rng, height)
    inks, broken = [], []
    for _, image, _ in digits:
        if mixed_pens:
            pen = pen_change(rng, height)
        ink = apply_pen(enlarged(image, height * rng.uniform(1 - SIZE_JITTER, 1 + SIZE_JITTER)), pen)
        cut = breaks and rng.random() < BREAK_CHANCE
        inks.append(with_broken_stroke(ink, height, rng) if cut else ink)
        broken.append(bool(cut))
    names = list(gap_kinds)
    chances = np.array([gap_kinds[name][0] for name in names])
    gaps = []
    for _ in range(len(inks) - 1):
        low, high = gap_kinds[names[rng.choice(len(names), p=chances / chances.sum())]][1]
        gaps.append(int(np.floor(rng.uniform(low, high) * height)) if high > low else 0)
    offsets = [int(round(rng.uniform(-BASELINE_JITTER, BASELINE_JITTER) * height)) for _ in inks]
    margin = int(rng.uniform(0.2, 0.6) * height) + 4
    ink, layers = place(inks, gaps, offsets, margin)
    mark_boxes = add_marks(ink, layers, height, rng) if marks else []
    style = "canvas" if rng.random() < 0.5 else "transparent"
    boxes = [ink_box(layer) for layer in layers]
    return WrittenNumber(text="".join(str(label) for label, _, _ in digits), image=picture(ink, style),
                         digit_boxes=tuple(boxes),
                         digit_inks=tuple(layer[y0:y1, x0:x1] for layer, (x0, y0, x1, y1) in zip(layers, boxes)),
                         touching=tuple(strokes_touch(a, b) for a, b in zip(layers, layers[1:])),
                         mark_boxes=tuple(mark_boxes), broken=tuple(broken),
                         test_indices=tuple(index for _, _, index in digits), style=style, pen=pen)


def lay_out(inks: list[np.ndarray], gaps: list[int], offsets: list[int] | None = None, margin: int = 20,
            style: str = "canvas") -> tuple[Image.Image, list[Image.Image]]:
    """`inks` side by side, their boxes `gaps` px apart (each digit's bottom on the baseline + its
    offset), and one picture per digit of the same size with only that digit in its place (to
    read it alone)."""
    offsets = offsets or [0] * len(inks)
    spread = max(abs(o) for o in offsets)
    height = max(ink.shape[0] for ink in inks) + 2 * spread + 2 * margin
    width = sum(ink.shape[1] for ink in inks) + sum(gaps) + 2 * margin
    layers, left = [], margin
    for ink, gap, offset in zip(inks, [0] + list(gaps), offsets):
        left += gap
        layer = np.zeros((height, width), np.float32)
        bottom = height - margin - spread + offset
        layer[bottom - ink.shape[0]:bottom, left:left + ink.shape[1]] = ink
        layers.append(layer)
        left += ink.shape[1]
    return picture(np.max(layers, axis=0), style), [picture(layer, style) for layer in layers]


def enlarged(image: np.ndarray, height: float) -> np.ndarray:
    """An MNIST digit cropped to its ink and enlarged to `height` px, as float ink in [0, 1]."""
    rows = np.flatnonzero(image.max(axis=1) > 0)
    columns = np.flatnonzero(image.max(axis=0) > 0)
    crop = image[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1]
    scale = height / crop.shape[0]
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    resized = Image.fromarray(crop).resize(size, Image.Resampling.BICUBIC)
    return np.asarray(resized, dtype=np.float32) / 255


def flattened(ink: np.ndarray, aspect: float) -> np.ndarray:
    """`ink` stretched sideways to `aspect` × its height: a flat digit (a wide 0, a long-tailed 2)."""
    size = (round(aspect * ink.shape[0]), ink.shape[0])
    return np.asarray(Image.fromarray(ink).resize(size, Image.Resampling.BILINEAR), dtype=np.float32)


def slanted(picture: Image.Image, slant: float) -> Image.Image:
    """`picture` sheared to lean right by `slant` (columns per row, the middle row kept), widened
    so that no ink leaves it, its background (the top-left pixel) filling the new corners: a
    number written in italics, whose touching digits share columns so no vertical cut parts them."""
    width, height = picture.size
    extra = int(np.ceil(abs(slant) * height)) + 2
    fill = picture.getpixel((0, 0))
    wider = Image.new(picture.mode, (width + extra, height), fill)
    wider.paste(picture, (extra // 2, 0))
    return wider.transform(wider.size, Image.Transform.AFFINE, (1, slant, -slant * height / 2, 0, 1, 0),
                           resample=Image.Resampling.BILINEAR, fillcolor=fill)


def pen_change(rng: np.random.Generator, height: float) -> float:
    """The pen for a whole number: < 0 thins (cuts the ink's lower levels), > 0 thickens (px)."""
    kind = rng.random()
    if kind < 0.25:
        return -float(rng.uniform(*THINNING))
    if kind < 0.65:
        return 0.0
    return float(rng.uniform(1, max(1.5, THICKENING * height)))


def apply_pen(ink: np.ndarray, change: float) -> np.ndarray:
    if change < 0:  # thinner: only the stronger part of the stroke stays, stretched to full ink
        level = -change
        return np.clip((ink - level) / (1 - level), 0, 1).astype(np.float32)
    if change > 0:  # thicker: grey dilation with a disc
        radius = int(np.ceil(change))
        y, x = np.mgrid[-radius:radius + 1, -radius:radius + 1]
        padded = np.pad(ink, radius)
        return ndi.grey_dilation(padded, footprint=x * x + y * y <= change * change).astype(np.float32)
    return ink


def with_broken_stroke(ink: np.ndarray, height: float, rng: np.random.Generator) -> np.ndarray:
    """The ink with a straight band erased through a random inked point at a random angle."""
    ys, xs = np.nonzero(ink > SOLID)
    if ys.size == 0:
        return ink
    i = int(rng.integers(ys.size))
    angle = rng.uniform(0, np.pi)
    width = max(1.5, rng.uniform(*BREAK_WIDTH) * height)
    rows, cols = np.mgrid[0:ink.shape[0], 0:ink.shape[1]]
    distance = np.abs((cols - xs[i]) * np.sin(angle) - (rows - ys[i]) * np.cos(angle))
    return np.where(distance < width / 2, 0, ink).astype(np.float32)


def place(inks, gaps, offsets, margin: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Compose digits left to right. Each one's bottom sits at the common baseline + its offset;
    it is moved so that the smallest gap between its solid ink and the solid ink to its left, over
    the rows both have, is its gap (0: they touch; < 0: they cross), else by bounding boxes — but
    never so far left that its box covers more than `MAX_BOX_OVERLAP` of the narrower of its and
    its left neighbour's (people do not write a digit inside the previous one).
    Returns the ink of the number and one full-size layer per digit."""
    spread = 2 * max(abs(o) for o in offsets)
    baseline = margin + max(ink.shape[0] for ink in inks) + spread
    width = sum(ink.shape[1] for ink in inks) + sum(max(g, 0) for g in gaps) + 2 * margin
    total = np.zeros((baseline + margin + spread, width), np.float32)
    layers, right_edge = [], np.full(total.shape[0], -1)  # per row: rightmost solid ink so far
    for i, ink in enumerate(inks):
        top = baseline + offsets[i] - ink.shape[0]
        solid = ink > SOLID
        has = solid.any(axis=1)
        first = np.where(has, solid.argmax(axis=1), -1)
        if i == 0:
            left = margin
        else:
            rows = np.flatnonzero(has & (right_edge[top:top + ink.shape[0]] >= 0))
            reach = right_edge[top + rows] - first[rows] if rows.size else [right_edge.max()]
            left = int(np.max(reach)) + 1 + gaps[i - 1]
            previous = ink_box(layers[-1])
            overlap = MAX_BOX_OVERLAP * min(previous[2] - previous[0], ink.shape[1])
            left = max(left, int(np.ceil(previous[2] - overlap)), 0)
        layer = np.zeros_like(total)
        layer[top:top + ink.shape[0], left:left + ink.shape[1]] = ink[:, :total.shape[1] - left]
        layers.append(layer)
        np.maximum(total, layer, out=total)
        solid_rows = (layer > SOLID)
        last = np.where(solid_rows.any(axis=1), total.shape[1] - 1 - solid_rows[:, ::-1].argmax(axis=1), -1)
        right_edge = np.maximum(right_edge, last)
    x1 = max(ink_box(layer)[2] for layer in layers) + margin
    return total[:, :x1], [layer[:, :x1] for layer in layers]


def add_marks(ink: np.ndarray, layers, height: float, rng: np.random.Generator) -> list[Box]:
    """Specks and dots drawn into `ink`, none within `CLEARANCE` px of a digit; their boxes."""
    keep_out = ndi.binary_dilation(ink > 0, iterations=CLEARANCE + 1)
    boxes = []
    if rng.random() < SPECK_CHANCE:
        for _ in range(int(rng.integers(1, 6))):
            boxes += draw_blob(ink, keep_out, rng, diameter=float(rng.uniform(1, 3)), anywhere=True)
    if rng.random() < DOT_CHANCE:
        diameter = max(3.0, float(rng.uniform(*DOT_SIZE)) * height)
        colon = rng.random() < 0.3
        bottoms = [ink_box(layer)[3] for layer in layers]
        boxes += draw_blob(ink, keep_out, rng, diameter, anywhere=False, baseline=int(np.median(bottoms)),
                           above=0.45 * height if colon else None)
    return boxes


def draw_blob(ink, keep_out, rng, diameter: float, anywhere: bool, baseline: int = 0,
              above: float | None = None, tries: int = 200) -> list[Box]:
    """A filled disc (or two, `above` px apart: a colon) where it touches no digit: anywhere, or
    with its bottom on the baseline. Returns the boxes drawn (none if no free place was found)."""
    radius = diameter / 2
    reach = int(np.ceil(radius)) + 1
    h, w = ink.shape
    for _ in range(tries):
        x = rng.uniform(reach, w - reach)
        y = rng.uniform(reach, h - reach) if anywhere else baseline - radius
        centres = [(x, y)] + ([(x, y - above)] if above else [])
        boxes = [(int(cx - reach), int(cy - reach), int(cx + reach) + 1, int(cy + reach) + 1) for cx, cy in centres]
        if any(b[0] < 0 or b[1] < 0 or b[2] > w or b[3] > h or keep_out[b[1]:b[3], b[0]:b[2]].any() for b in boxes):
            continue
        for (cx, cy), (x0, y0, x1, y1) in zip(centres, boxes):
            rows, cols = np.mgrid[y0:y1, x0:x1]
            disc = np.clip(radius + 0.5 - np.hypot(cols - cx, rows - cy), 0, 1)
            np.maximum(ink[y0:y1, x0:x1], disc, out=ink[y0:y1, x0:x1])
            keep_out[max(0, y0 - CLEARANCE):y1 + CLEARANCE, max(0, x0 - CLEARANCE):x1 + CLEARANCE] = True
        return [ink_box(ink[y0:y1, x0:x1], (x0, y0)) for x0, y0, x1, y1 in boxes]
    return []


# --- pictures and boxes --------------------------------------------------------------------------

def picture(ink: np.ndarray, style: str) -> Image.Image:
    """Ink as the sketchpad sends it ("canvas": dark on opaque white) or as a transparent PNG."""
    level = np.rint(np.clip(ink, 0, 1) * 255).astype(np.uint8)
    if style == "canvas":
        grey = 255 - level
        return Image.fromarray(np.dstack([grey, grey, grey, np.full_like(grey, 255)]), "RGBA")
    if style == "transparent":
        black = np.zeros_like(level)
        return Image.fromarray(np.dstack([black, black, black, level]), "RGBA")
    raise ValueError(f"unknown style {style!r}")


def ink_box(ink: np.ndarray, origin=(0, 0), threshold: float = 0.1) -> Box:
    rows = np.flatnonzero((ink > threshold).any(axis=1))
    cols = np.flatnonzero((ink > threshold).any(axis=0))
    x, y = origin
    return x + int(cols[0]), y + int(rows[0]), x + int(cols[-1]) + 1, y + int(rows[-1]) + 1


def strokes_touch(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two digits' solid strokes meet (8-connected) or cross."""
    return bool((ndi.binary_dilation(a > SOLID, structure=np.ones((3, 3), bool)) & (b > SOLID)).any())


def marks_read_as_digits(number: WrittenNumber, boxes) -> int:
    """How many of a reading's digit boxes (picture pixels) lie inside a speck's or dot's box (with
    `CLEARANCE` px to spare): a mark read as a digit."""
    return sum(any(mx0 - CLEARANCE <= x0 and my0 - CLEARANCE <= y0 and x1 <= mx1 + CLEARANCE and y1 <= my1 + CLEARANCE
                   for mx0, my0, mx1, my1 in number.mark_boxes) for x0, y0, x1, y1 in boxes)


def digit_masks(number: WrittenNumber, shape: tuple[int, int], threshold: float = 0.2) -> list[np.ndarray]:
    """Each digit's ink above `threshold`, in the pixels of an ink map of the picture of `shape`
    (the reader may have shrunk the picture): each digit alone on a picture-sized layer, shrunk
    whole the way the reader shrinks (a box filter), so its pixels fall where the reader's do."""
    width, height = number.image.size
    masks = []
    for (x0, y0, x1, y1), ink in zip(number.digit_boxes, number.digit_inks):
        layer = np.zeros((height, width), np.float32)
        layer[y0:y1, x0:x1] = ink
        if layer.shape != tuple(shape):
            layer = np.asarray(Image.fromarray(layer).resize(shape[::-1], Image.Resampling.BOX))
        masks.append(layer > threshold)
    return masks


def is_digit(box, ink_above_threshold: np.ndarray, mask: np.ndarray, coverage: float = 0.85,
             intrusion: float = 0.15) -> bool:
    """Whether a candidate (its box and its ink mask) is the digit whose ink is `mask`: it holds
    at least `coverage` of that ink, and other ink of at most `intrusion` of it."""
    x0, y0, x1, y1 = box
    inside = np.count_nonzero(ink_above_threshold & mask[y0:y1, x0:x1])
    size = mask.sum()
    return bool(size) and inside >= coverage * size and ink_above_threshold.sum() - inside <= intrusion * size
