"""Generated non-digits (and drawn digits) on a 400×400 canvas, as the page's sketchpad sends them.

Black strokes on an opaque white RGBA canvas, pens 12–24 px wide (the sketchpad's 12 px at 280 px
is 17 px at 400). Kinds of non-digit: one to three stray `taps`, random `doodles` (`DOODLES`),
`marks` (+, ×, #, *, outlines of a square or a triangle, a crossed circle), `letters` that do not
look like digits (from the fonts given, else PIL's built-in scalable font), `parts` of real MNIST
digits (a half or a third), `pairs` of MNIST digits side by side, and filled `blobs` (`BLOBS`).
Drawn digits: real MNIST
digits enlarged onto the canvas (`canvas_digit`: opaque, thin or paper style) and digits in fonts
(`font_digit`). A number of real MNIST digits with a non-digit beside it: `beside_number`.

`benchmarks/fit_not_digit.py` tunes on one seed, fonts and MNIST's training digits;
`benchmarks/not_digit.py` and the tests measure on other seeds, other fonts and MNIST's test
digits (`TUNING` and `EVALUATION`).
"""

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage as ndi

SIDE = 400
PEN = (12, 24)                       # px at 400: the sketchpad's pen is 12 px at 280 ≈ 17 px here
KINDS = ("taps", "doodles", "marks", "letters", "parts", "pairs", "blobs")
MARKS = ("plus", "times", "hash", "star", "square", "triangle", "crossed circle")
BLOBS = ("blotch", "disc", "square", "triangle")
# Letters that no one would take for a digit (not O, o, D, Q, I, l, i, J, j, L, S, s, Z, z, B, b, G, g, q, T, t, y)
LETTERS = "ACEFHKMNPRUVWXYacefhkmnpruvwx"
FONT_FOLDERS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation"))


@dataclass(frozen=True)
class Split:
    """Which seeds, font family and MNIST part a set is made from."""
    seed: int
    font_prefix: str                 # file names starting so; "" picks PIL's built-in font only


TUNING = Split(seed=3901, font_prefix="DejaVu")
EVALUATION = Split(seed=3999, font_prefix="Liberation")


def fonts(split: Split) -> list[str]:
    """The font files of `split`'s family found on this machine (none on a bare CI machine)."""
    if not split.font_prefix:
        return []
    return sorted(str(p) for folder in FONT_FOLDERS if folder.is_dir()
                  for p in folder.glob(f"{split.font_prefix}*.ttf") if "Math" not in p.name)


def font(files: list[str], size: int, rng: np.random.Generator):
    """A font of `files` at `size` px, or PIL's built-in scalable one (always there)."""
    if files and rng.random() < 0.85:
        return ImageFont.truetype(files[rng.integers(len(files))], size)
    return ImageFont.load_default(size=size)


# --- the canvas ----------------------------------------------------------------------------------

def blank() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    picture = Image.new("RGBA", (SIDE, SIDE), (255, 255, 255, 255))
    return picture, ImageDraw.Draw(picture)


def stroke(draw: ImageDraw.ImageDraw, points, width: float) -> None:
    """A pen stroke through `points` with round caps and joints, as the sketchpad draws."""
    points = [(float(x), float(y)) for x, y in points]
    if len(points) > 1:
        draw.line(points, fill=(0, 0, 0, 255), width=round(width), joint="curve")
    r = width / 2
    for x, y in points:
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(0, 0, 0, 255))


def pen(rng: np.random.Generator) -> float:
    return float(rng.uniform(*PEN))


def ink_picture(ink: np.ndarray, paper: bool = False, rng: np.random.Generator | None = None) -> Image.Image:
    """An ink map (1 = full ink) as black on an opaque white canvas, or dark on noisy grey paper."""
    if not paper:
        grey = 255 * (1 - ink)
    else:
        background, dark = rng.uniform(190, 235), rng.uniform(20, 80)
        grey = background - (background - dark) * ink + rng.normal(0, 4, ink.shape)
    grey = np.clip(np.rint(grey), 0, 255).astype(np.uint8)
    return Image.fromarray(np.dstack([grey, grey, grey, np.full_like(grey, 255)]), "RGBA")


# --- non-digits ----------------------------------------------------------------------------------

def taps(rng: np.random.Generator) -> Image.Image:
    """One to three stray taps: dots, some dragged a few pixels."""
    picture, draw = blank()
    for _ in range(rng.integers(1, 4)):
        x, y = rng.uniform(40, SIDE - 40, 2)
        drag = rng.normal(0, 4, 2) if rng.random() < 0.5 else np.zeros(2)
        stroke(draw, [(x, y), (x + drag[0], y + drag[1])], pen(rng))
    return picture


DOODLES = ("wander", "zigzag", "spiral", "loops", "hatching")


def doodle(rng: np.random.Generator, which: str | None = None) -> Image.Image:
    """A random scribble (`DOODLES`): strokes whose heading wanders, a zigzag, a spiral of two or
    more turns, a chain of cursive loops, or back-and-forth hatching."""
    which = which or DOODLES[rng.integers(len(DOODLES))]
    picture, draw = blank()
    width = pen(rng)
    if which == "wander":
        for _ in range(rng.integers(1, 3)):
            stroke(draw, wander(rng), width)
    elif which == "zigzag":
        x, y = rng.uniform(60, 160), rng.uniform(80, SIDE - 80)
        points, up = [(x, y)], rng.random() < 0.5
        for _ in range(rng.integers(5, 11)):
            x += rng.uniform(20, 45)
            y = float(np.clip(y + (-1 if up else 1) * rng.uniform(60, 160), 20, SIDE - 20))
            up = not up
            points.append((min(x, SIDE - 20), y))
        stroke(draw, turned(points, rng), width)
    elif which == "spiral":
        cx, cy = rng.uniform(150, SIDE - 150, 2)
        turns, radius = rng.uniform(2, 3.5), rng.uniform(90, 150)
        start = rng.uniform(0, 2 * math.pi)
        t = np.linspace(0, 1, 160)
        angle = start + (1 if rng.random() < 0.5 else -1) * 2 * math.pi * turns * t
        r = radius * (0.08 + 0.92 * t)
        stroke(draw, list(zip(cx + r * np.cos(angle), cy + r * np.sin(angle) * rng.uniform(0.7, 1))), width)
    elif which == "loops":
        loops = int(rng.integers(3, 7))
        size = rng.uniform(30, min(55, (SIDE - 80) / (loops * 1.1 + 1)))
        x0, y0 = rng.uniform(30, SIDE - 30 - loops * size * 1.1), rng.uniform(120, SIDE - 120)
        t = np.linspace(0, loops * 2 * math.pi, 60 * loops)
        xs = x0 + size * (t / (2 * math.pi)) * 1.1 - size * 0.5 * np.sin(t)
        ys = y0 - size * 0.8 * (1 - np.cos(t)) / 2 * rng.uniform(1, 2)
        stroke(draw, turned(list(zip(xs, ys)), rng), width)
    elif which == "hatching":
        x, y = rng.uniform(60, 160), rng.uniform(60, 160)
        span, lines = rng.uniform(120, 240), int(rng.integers(5, 12))
        step = rng.uniform(14, 30)
        points = []
        for k in range(lines):
            points += [(x + k * step, y + rng.normal(0, 8)), (x + k * step + rng.normal(0, 10), y + span + rng.normal(0, 8))][::1 if k % 2 == 0 else -1]
        stroke(draw, turned(points, rng, spread=45), width)
    else:
        raise ValueError(f"unknown doodle {which!r}; the doodles are {DOODLES}")
    return picture


def wander(rng: np.random.Generator) -> list[tuple[float, float]]:
    """The points of one stroke whose heading wanders."""
    x, y = rng.uniform(100, SIDE - 100, 2)
    heading, step = rng.uniform(0, 2 * math.pi), rng.uniform(8, 18)
    turn = rng.normal(0, 0.35)
    points = [(x, y)]
    for _ in range(rng.integers(20, 70)):
        turn = 0.8 * turn + rng.normal(0, 0.18)
        heading += turn
        x = float(np.clip(x + step * math.cos(heading), 20, SIDE - 20))
        y = float(np.clip(y + step * math.sin(heading), 20, SIDE - 20))
        points.append((x, y))
    return points


def turned(points, rng: np.random.Generator, spread: float = 25) -> list[tuple[float, float]]:
    """`points` turned about the canvas centre by up to ±`spread` degrees, kept on the canvas."""
    angle = math.radians(rng.uniform(-spread, spread))
    c, s = math.cos(angle), math.sin(angle)
    middle = SIDE / 2
    return [(float(np.clip(middle + (x - middle) * c - (y - middle) * s, 15, SIDE - 15)),
             float(np.clip(middle + (x - middle) * s + (y - middle) * c, 15, SIDE - 15))) for x, y in points]


def mark(rng: np.random.Generator, which: str | None = None) -> Image.Image:
    """A mark (`MARKS`), hand-drawn: its corners a little off, turned a little."""
    which = which or MARKS[rng.integers(len(MARKS))]
    picture, draw = blank()
    width, size = pen(rng), rng.uniform(120, 320)
    cx, cy = rng.uniform(size / 2 + 20, SIDE - size / 2 - 20, 2)
    angle = math.radians(rng.uniform(-12, 12))

    def at(u, v):  # u, v in [-0.5, 0.5] of the mark's box → canvas, jittered and turned
        u, v = u + rng.normal(0, 0.025), v + rng.normal(0, 0.025)
        return (cx + size * (u * math.cos(angle) - v * math.sin(angle)),
                cy + size * (u * math.sin(angle) + v * math.cos(angle)))

    def ring(points: int = 24):
        return [at(0.5 * math.cos(2 * math.pi * k / points), 0.5 * math.sin(2 * math.pi * k / points))
                for k in range(points + 1)]

    lines = {
        "plus": [[at(0, -0.5), at(0, 0.5)], [at(-0.5, 0), at(0.5, 0)]],
        "times": [[at(-0.5, -0.5), at(0.5, 0.5)], [at(0.5, -0.5), at(-0.5, 0.5)]],
        "hash": [[at(-0.2, -0.5), at(-0.2, 0.5)], [at(0.2, -0.5), at(0.2, 0.5)],
                 [at(-0.5, -0.2), at(0.5, -0.2)], [at(-0.5, 0.2), at(0.5, 0.2)]],
        "star": [[at(0, -0.5), at(0, 0.5)], [at(-0.43, -0.25), at(0.43, 0.25)], [at(0.43, -0.25), at(-0.43, 0.25)]],
        "square": [[at(-0.5, -0.5), at(0.5, -0.5), at(0.5, 0.5), at(-0.5, 0.5), at(-0.5, -0.5)]],
        "triangle": [[at(0, -0.5), at(0.5, 0.45), at(-0.5, 0.45), at(0, -0.5)]],
        "crossed circle": [ring(), [at(-0.5, -0.5), at(0.5, 0.5)], [at(0.5, -0.5), at(-0.5, 0.5)]],
    }[which]
    for points in lines:
        stroke(draw, points, width)
    return picture


def blob(rng: np.random.Generator, which: str | None = None) -> Image.Image:
    """A filled shape (`BLOBS`), as a finger or a fat brush paints one: a blotch (an irregular
    polygon), a disc or an ellipse, a square or a short rectangle, a triangle; 40–320 px across,
    up to 1.6 times as long as wide, turned any way, somewhere on the canvas."""
    which = which or BLOBS[rng.integers(len(BLOBS))]
    picture, draw = blank()
    size, aspect, angle = rng.uniform(40, 320), rng.uniform(1.0, 1.6), rng.uniform(0, 2 * math.pi)
    cx, cy = rng.uniform(size / 2 + 10, SIDE - size / 2 - 10, 2)
    if which == "blotch":
        turns = np.sort(rng.uniform(0, 2 * math.pi, int(rng.integers(6, 12))))
        shape = [(r * math.cos(t), r * math.sin(t)) for t, r in zip(turns, rng.uniform(0.25, 0.5, len(turns)))]
    elif which == "disc":
        shape = [(0.5 * math.cos(t), 0.5 * math.sin(t) / aspect) for t in np.linspace(0, 2 * math.pi, 48, endpoint=False)]
    elif which == "square":
        shape = [(-0.5, -0.5 / aspect), (0.5, -0.5 / aspect), (0.5, 0.5 / aspect), (-0.5, 0.5 / aspect)]
    else:
        shape = [(0, -0.5), (0.5, 0.45), (-0.5, 0.45)]
    draw.polygon([(cx + size * (u * math.cos(angle) - v * math.sin(angle)),
                   cy + size * (u * math.sin(angle) + v * math.cos(angle))) for u, v in shape], fill=(0, 0, 0, 255))
    return picture


def letter(rng: np.random.Generator, files: list[str], which: str | None = None) -> Image.Image:
    """A letter of `LETTERS` in a font of `files` (or PIL's own), 150–320 px, somewhere on the canvas."""
    which = which or LETTERS[rng.integers(len(LETTERS))]
    picture, draw = blank()
    face = font(files, int(rng.integers(150, 320)), rng)
    x0, y0, x1, y1 = draw.textbbox((0, 0), which, font=face)
    w, h = x1 - x0, y1 - y0
    x = rng.uniform(10, max(11, SIDE - 10 - w)) - x0
    y = rng.uniform(10, max(11, SIDE - 10 - h)) - y0
    draw.text((x, y), which, font=face, fill=(0, 0, 0, 255))
    return picture


def enlarged_ink(digit: np.ndarray, scale: float) -> np.ndarray:
    """A 28×28 MNIST picture (0–255, white ink) enlarged `scale` times, as ink in [0, 1]."""
    size = max(28, round(28 * scale))
    big = Image.fromarray(digit.astype(np.uint8)).resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(big, np.float32) / 255


def placed(inks: list[np.ndarray], rng: np.random.Generator, gap: float = 0.0) -> np.ndarray:
    """Inks side by side (`gap` px apart, negative overlaps) somewhere on a SIDE × SIDE ink map."""
    crops = [ink[np.ix_((ink > 0.1).any(1), (ink > 0.1).any(0))] for ink in inks]
    height = max(c.shape[0] for c in crops)
    width = sum(c.shape[1] for c in crops) + round(gap) * (len(crops) - 1)
    canvas = np.zeros((SIDE, SIDE), np.float32)
    top = int(rng.integers(0, max(1, SIDE - height)))
    left = int(rng.integers(0, max(1, SIDE - width)))
    for crop in crops:
        h, w = min(crop.shape[0], SIDE - top), min(crop.shape[1], SIDE - left)
        if h > 0 and w > 0:
            y = top + (height - crop.shape[0]) // 2
            h = min(crop.shape[0], SIDE - y)
            canvas[y:y + h, left:left + w] = np.maximum(canvas[y:y + h, left:left + w], crop[:h, :w])
        left += crop.shape[1] + round(gap)
    return canvas


def part(rng: np.random.Generator, images: np.ndarray, labels: np.ndarray) -> Image.Image:
    """A half or a third of a real MNIST digit (never of a 1, whose halves are 1s), enlarged."""
    while True:
        index = int(rng.integers(len(images)))
        if labels[index] != 1:
            break
    digit = images[index].astype(np.float32)
    rows, cols = np.flatnonzero(digit.max(1) > 25), np.flatnonzero(digit.max(0) > 25)
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    share = rng.choice([1 / 2, 1 / 3])
    side = rng.integers(4)
    keep = np.zeros_like(digit)
    if side == 0:
        keep[y0:y0 + max(1, round((y1 - y0) * share))] = 1
    elif side == 1:
        keep[y1 - max(1, round((y1 - y0) * share)):y1] = 1
    elif side == 2:
        keep[:, x0:x0 + max(1, round((x1 - x0) * share))] = 1
    else:
        keep[:, x1 - max(1, round((x1 - x0) * share)):x1] = 1
    piece = digit * keep
    if (piece > 25).sum() < 6:  # an empty slice: take the top half instead
        piece = digit.copy()
        piece[(y0 + y1) // 2:] = 0
    return ink_picture(placed([enlarged_ink(piece, rng.uniform(7, 13))], rng))


def pair(rng: np.random.Generator, images: np.ndarray) -> Image.Image:
    """Two real MNIST digits side by side, touching or a little apart."""
    first, second = (images[int(rng.integers(len(images)))] for _ in range(2))
    scale = rng.uniform(5, 8)
    inks = [enlarged_ink(first, scale), enlarged_ink(second, scale)]
    return ink_picture(placed(inks, rng, gap=rng.uniform(-0.1, 0.3) * 20 * scale))


def non_digit(kind: str, rng: np.random.Generator, files: list[str], images: np.ndarray,
              labels: np.ndarray) -> Image.Image:
    if kind == "taps":
        return taps(rng)
    if kind == "doodles":
        return doodle(rng)
    if kind == "marks":
        return mark(rng)
    if kind == "letters":
        return letter(rng, files)
    if kind == "parts":
        return part(rng, images, labels)
    if kind == "pairs":
        return pair(rng, images)
    if kind == "blobs":
        return blob(rng)
    raise ValueError(f"unknown kind {kind!r}; the kinds are {KINDS}")


def non_digits(split: Split, per_kind: int, images: np.ndarray, labels: np.ndarray, kinds=KINDS):
    """`per_kind` pictures of each kind, as (kind, picture), the same for the same split."""
    files = fonts(split)
    rng = np.random.default_rng(split.seed)
    return [(kind, non_digit(kind, rng, files, images, labels)) for kind in kinds for _ in range(per_kind)]


# --- digits --------------------------------------------------------------------------------------

DIGIT_STYLES = ("canvas", "thin", "paper")


def canvas_digit(digit: np.ndarray, rng: np.random.Generator, style: str = "canvas") -> Image.Image:
    """A real MNIST digit (28×28, white ink 0–255) enlarged 6–13× onto the canvas: black on white
    ("canvas"), about a pixel thinner first ("thin", as evaluate.robustness's thin strokes), or dark
    on noisy grey paper ("paper")."""
    if style == "thin":
        digit = ndi.grey_erosion(digit, size=(2, 2))
    ink = placed([enlarged_ink(digit, rng.uniform(6, 13))], rng)
    return ink_picture(ink, paper=style == "paper", rng=rng)


def font_digit(digit: int, rng: np.random.Generator, files: list[str]) -> Image.Image:
    """A printed digit in a font of `files` (or PIL's own), as `letter` draws letters."""
    return letter(rng, files, which=str(digit))


# --- a number with a non-digit beside it ----------------------------------------------------------

def beside_number(kind: str, rng: np.random.Generator, images: np.ndarray, labels: np.ndarray,
                  digits: int = 4, split: Split = EVALUATION) -> tuple[str, Image.Image]:
    """(the number's text, its picture): `digits` real MNIST digits written side by side at one
    height (tests.written_numbers.lay_out), and a non-digit of `kind` (doodles, marks or letters)
    at about that height, left or right of them, a normal to wide gap apart (letters in `split`'s fonts)."""
    from tests.written_numbers import enlarged, lay_out
    height = float(rng.uniform(50, 100))
    chosen = rng.integers(len(images), size=digits)
    inks = [enlarged(images[i], height) for i in chosen]
    made = non_digit(kind, rng, fonts(split), images, labels)
    ink = 1 - np.asarray(made.convert("L"), np.float32) / 255
    ink = ink[np.ix_((ink > 0.1).any(1), (ink > 0.1).any(0))]
    scale = height * rng.uniform(0.8, 1.1) / ink.shape[0]
    scale = min(scale, 1.4 * height / ink.shape[1])
    size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
    ink = np.asarray(Image.fromarray(np.uint8(ink * 255)).resize(size, Image.Resampling.LANCZOS), np.float32) / 255
    where = 0 if rng.random() < 0.5 else len(inks)
    inks.insert(where, ink)
    gaps = [int(rng.uniform(0.15, 0.6) * height) for _ in range(len(inks) - 1)]
    picture, _ = lay_out(inks, gaps, margin=int(0.4 * height))
    return "".join(str(labels[i]) for i in chosen), picture
