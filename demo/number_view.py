"""Show how a number was read: its ink, a box around each digit, labelled with digit and confidence.

`boxes_picture(reading)` draws a `reader.pipeline.NumberReading` as an RGB array: the ink it read,
dark on white, cropped to the digits (with a margin) so they fill the picture, brought to about
`TARGET_HEIGHT` px of ink, each digit of the best path in a green box labelled "7 · 99%", or an
orange one labelled "7? · 61%" where the digit is a guess (reader.numbers.doubt), and ink the reader
left out as not a digit (a doodle or mark beside the number) in a grey one labelled "not a digit".
Each label sits on a light backing, drawn over every box, so a touching neighbour's box line never
crosses it. The labels' size follows the picture's
width, so they stay legible wherever the page shrinks it to fit (a phone's column, ~360 px).
"""

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SURE_COLOUR = (21, 128, 61)      # 5.0:1 on white
UNSURE_COLOUR = (180, 83, 9)     # 5.0:1 on white
LEFT_OUT_COLOUR = (87, 83, 78)   # 7.3:1 on white
LEFT_OUT_LABEL = "not a digit"
LABEL_GAP = 6                    # px between two labels in one row
TARGET_HEIGHT = 120              # px: the ink's height in the picture (enlarged or shrunk to it)
MIN_LABEL = 16                   # px, the smallest label font
LABEL_SHARE = 0.045              # label font ∝ picture width: ≥ 12 px when shown 270 px wide
MARGIN = 0.15                    # of the ink's height, around the digits
LABEL_BACKING = 215              # alpha of the white behind each label (the ink under it still shows)


def geometry(reading) -> tuple[int, int, int, int, float, int]:
    """Where the picture lies in the reading's ink: the crop (x0, y0, x1, y1) around the digits
    with its margin, the scale from ink to picture pixels, and the label size."""
    ink = reading.ink
    boxes = (reading.boxes + list(reading.not_digits)) or [(0, 0, ink.shape[1], ink.shape[0])]
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    pad = max(2, round(MARGIN * (y1 - y0)))
    x0, y0, x1, y1 = max(0, x0 - pad), max(0, y0 - pad), min(ink.shape[1], x1 + pad), min(ink.shape[0], y1 + pad)
    scale = TARGET_HEIGHT / max(1, y1 - y0)
    label_size = max(MIN_LABEL, round(LABEL_SHARE * (x1 - x0) * scale))
    return x0, y0, x1, y1, scale, label_size


def labels(reading) -> list[tuple[tuple[int, int, int, int], tuple[int, int, int], str, float, int]]:
    """Each box to draw, left to right: (box in the ink, colour, label, the label's left edge in the
    picture, its row above its box: 0 just above it). A label sits on its own box's top edge; one
    that would run into a label already placed goes up a row until it meets none (a "1" touching a
    "7", or two touching digits whose boxes start at different heights: `label_rect` of any two
    never overlap)."""
    x0, y0, x1, _, scale, label_size = geometry(reading)
    width = max(1, round((x1 - x0) * scale))
    font = ImageFont.load_default(size=label_size)
    boxed = [(d.box, SURE_COLOUR if d.sure else UNSURE_COLOUR, f"{d.label}{'' if d.sure else '?'} · {d.confidence:.0%}")
             for d in reading.digits]
    boxed += [(box, LEFT_OUT_COLOUR, LEFT_OUT_LABEL) for box in reading.not_digits]
    placed, taken = [], []
    for box, colour, label in sorted(boxed, key=lambda item: item[0][0]):
        length = font.getlength(label)
        left = max(0.0, min((box[0] - x0) * scale, width - length))  # the last label stays inside
        row = 0
        while any(meet(label_rect(box, left, length, row, y0, scale, label_size), other) for other in taken):
            row += 1
        taken.append(label_rect(box, left, length, row, y0, scale, label_size))
        placed.append((box, colour, label, left, row))
    return placed


def label_rect(box, left: float, length: float, row: int, top: int, scale: float, label_size: int):
    """Where a label lies in the picture, measured from the ink's top (the band above it not
    counted): (x0, y0, x1, y1), `row` rows of `label_size` + 4 px above its box's top edge."""
    bottom = (box[1] - top) * scale - row * (label_size + 4)
    return left, bottom - (label_size + 4), left + length, bottom


def meet(a, b) -> bool:
    """Whether two label rectangles overlap, or lie closer than `LABEL_GAP` side by side."""
    return a[0] < b[2] + LABEL_GAP and b[0] < a[2] + LABEL_GAP and a[1] < b[3] and b[1] < a[3]


def label_band(placed, label_size: int) -> int:
    """The height in px of the band of `labels` (as placed) above the boxes: one row, or more where
    labels meet."""
    rows = 1 + max((row for *_, row in placed), default=0)
    return rows * (label_size + 4) + 4


def left_out_note(count: int) -> str:
    """How a number's reading says what it left out as not a digit ("" when nothing was)."""
    return f"{count} mark{'s' if count > 1 else ''} left out: not a digit" if count else ""


def boxes_picture(reading) -> np.ndarray:
    """(H, W, 3) uint8: the reading's ink, cropped to its digits, with each digit boxed and labelled
    (the labels in a band `label_band` px tall above the ink)."""
    x0, y0, x1, y1, scale, label_size = geometry(reading)
    grey = np.rint(255 - np.clip(reading.ink[y0:y1, x0:x1], 0, 1) * 255).astype(np.uint8)
    width, height = max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale))
    placed = labels(reading)
    margin = label_band(placed, label_size)  # room for the labels above the boxes
    page = Image.new("RGB", (width, height + margin), "white")
    resample = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.LANCZOS
    page.paste(Image.fromarray(grey).resize((width, height), resample).convert("RGB"), (0, margin))
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=label_size)
    line = max(2, round(label_size / 8))
    texts = []
    for box, colour, label, left, row in placed:     # every box first, then every label over them
        bx0, by0, bx1, by1 = ((box[0] - x0) * scale, (box[1] - y0) * scale, (box[2] - x0) * scale, (box[3] - y0) * scale)
        draw.rectangle([round(bx0) - line, round(by0) + margin - line, round(bx1), round(by1) + margin],
                       outline=colour, width=line)
        _, top, _, _ = label_rect(box, left, 0, row, y0, scale, label_size)
        texts.append(((left, max(0, top + margin)), label, colour))
    backing = Image.new("RGBA", page.size, (0, 0, 0, 0))
    shade = ImageDraw.Draw(backing)
    for position, label, _ in texts:   # a light backing: a neighbour's box line never crosses a label
        x, y, right, bottom = draw.textbbox(position, label, font=font)
        shade.rectangle([x - 2, y - 2, right + 2, bottom + 2], fill=(255, 255, 255, LABEL_BACKING))
    page = Image.alpha_composite(page.convert("RGBA"), backing).convert("RGB")
    draw = ImageDraw.Draw(page)
    for position, label, colour in texts:
        draw.text(position, label, fill=colour, font=font)
    return np.asarray(page)
