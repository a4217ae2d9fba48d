"""Why the model said what it said: occlusion sensitivity, computed with one batched ONNX call.

Blank out (zero) each `patch`×`patch` window of the 28×28 input in turn, run all the occluded
copies and the original as one batch, and credit each pixel with the average drop in the predicted
class's probability over the windows that covered it. Bright = the model relied on that ink.
Windows with no ink are skipped (blanking them changes nothing, so their drop is zero): the same
map for about two thirds of the work. 7×7 windows at stride 4 (49 of them, the last row and column
shifted to the edge) give much the picture of stride 3 (64 windows) for a third less work (the ONNX
batch 10.1 against 14.8 ms p50, `python benchmarks/server.py --skip-http`, 2026-12-06); stride 2 with
6×6 windows costs about three times stride 3.
"""

import numpy as np
from PIL import Image

from reader.model import DigitModel


PATCH, STRIDE = 7, 4


def window_corners(size: int, patch: int = PATCH, stride: int = STRIDE) -> list[tuple[int, int]]:
    """Top-left corners of the occlusion windows: every `stride` pixels, plus the last row/column."""
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] != size - patch:
        starts.append(size - patch)  # cover the last rows and columns too
    return [(y, x) for y in starts for x in starts]


def occlusion_batch(image: np.ndarray, corners: list[tuple[int, int]], patch: int = PATCH) -> np.ndarray:
    """The original image followed by one copy per corner with that window blanked."""
    batch = np.repeat(image[None], len(corners) + 1, axis=0)
    for i, (y, x) in enumerate(corners, start=1):
        batch[i, y:y + patch, x:x + patch] = 0.0
    return batch


def occlusion_map(model: DigitModel, image: np.ndarray, target: int, patch: int = PATCH, stride: int = STRIDE) -> np.ndarray:
    """(size, size) map ≥ 0, normalised so the strongest evidence is 1 (all zeros if none)."""
    size = image.shape[0]
    corners = window_corners(size, patch, stride)
    inked = [(y, x) for y, x in corners if image[y:y + patch, x:x + patch].any()]
    scores = model.probabilities(occlusion_batch(image, inked, patch))[:, target]
    drop = dict(zip(inked, np.clip(scores[0] - scores[1:], 0, None)))
    heat, cover = np.zeros((size, size), np.float32), np.zeros((size, size), np.float32)
    for y, x in corners:
        heat[y:y + patch, x:x + patch] += drop.get((y, x), 0.0)
        cover[y:y + patch, x:x + patch] += 1
    heat /= np.maximum(cover, 1)
    return heat / heat.max() if heat.max() > 0 else heat


def overlay(image: np.ndarray, heat: np.ndarray, scale: int = 8) -> np.ndarray:
    """The digit in grey with the evidence in red-yellow on top, enlarged (RGB uint8)."""
    grey = (image * 160).astype(np.uint8)
    red = np.clip(grey + heat * 255, 0, 255)
    green = np.clip(grey + np.clip(heat * 2 - 1, 0, 1) * 200, 0, 255)
    rgb = np.stack([red, green, grey * (1 - heat)], axis=-1).astype(np.uint8)
    size = image.shape[0] * scale
    return np.asarray(Image.fromarray(rgb).resize((size, size), Image.Resampling.NEAREST))



def heatmap_picture(model: DigitModel, image: np.ndarray, target: int, scale: int = 8) -> np.ndarray:
    """Where the model looked for `target` in its 28×28 input: the occlusion map over the digit
    (`overlay`), enlarged `scale` times (1: 28×28, for a page that enlarges it itself)."""
    return overlay(image, occlusion_map(model, image, target), scale)
