"""Show how a number was read: its ink, a box around each digit, labelled with digit and confidence.

`boxes_picture(reading)` draws a `reader.pipeline.NumberReading` as an RGB array: the ink it read,
dark on white (enlarged when small, so the labels stay legible), each digit of the best path in a
green box labelled "7 · 99%", or an orange one labelled "? · 61%" where the model is unsure.
"""

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SURE_COLOUR = (20, 150, 60)
UNSURE_COLOUR = (230, 120, 0)
MIN_WIDTH = 480          # smaller readings are enlarged (by a whole factor) to at least this width
LABEL_SIZE = 16          # px, the label font


def boxes_picture(reading) -> np.ndarray:
    """(H, W, 3) uint8: the reading's ink with its digits boxed and labelled."""
    grey = np.rint(255 - np.clip(reading.ink, 0, 1) * 255).astype(np.uint8)
    scale = max(1, -(-MIN_WIDTH // grey.shape[1]))
    margin = LABEL_SIZE + 6  # room for the labels above the boxes
    page = Image.new("RGB", (grey.shape[1] * scale, grey.shape[0] * scale + margin), "white")
    page.paste(Image.fromarray(grey).resize((grey.shape[1] * scale, grey.shape[0] * scale),
                                            Image.Resampling.NEAREST).convert("RGB"), (0, margin))
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=LABEL_SIZE)
    for digit in reading.digits:
        x0, y0, x1, y1 = (value * scale for value in digit.box)
        colour = SURE_COLOUR if digit.sure else UNSURE_COLOUR
        draw.rectangle([x0 - 1, y0 + margin - 1, x1, y1 + margin], outline=colour, width=2)
        label = f"{digit.label if digit.sure else '?'} · {digit.confidence:.0%}"
        draw.text((x0, max(0, y0 + margin - LABEL_SIZE - 4)), label, fill=colour, font=font)
    return np.asarray(page)
