"""Why the model said what it said: occlusion sensitivity, computed with one batched ONNX call.

Grey-out (zero) each `patch`×`patch` window of the 28×28 input in turn, run all the occluded copies
and the original as one batch, and credit each pixel with the average drop in the predicted
class's probability over the windows that covered it. Bright = the model relied on that ink.
"""

import numpy as np
from PIL import Image

from demo.model import DigitModel


def occlusion_map(model: DigitModel, image: np.ndarray, target: int, patch: int = 6, stride: int = 2) -> np.ndarray:
    """(size, size) map ≥ 0, normalised so the strongest evidence is 1 (all zeros if none)."""
    size = image.shape[0]
    corners = [(y, x) for y in range(0, size - patch + 1, stride) for x in range(0, size - patch + 1, stride)]
    batch = np.repeat(image[None], len(corners) + 1, axis=0)
    for i, (y, x) in enumerate(corners, start=1):
        batch[i, y:y + patch, x:x + patch] = 0.0
    scores = model.probabilities(batch)[:, target]
    drop = np.clip(scores[0] - scores[1:], 0, None)
    heat, cover = np.zeros((size, size), np.float32), np.zeros((size, size), np.float32)
    for (y, x), value in zip(corners, drop):
        heat[y:y + patch, x:x + patch] += value
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


def enlarge(image: np.ndarray, scale: int = 8) -> np.ndarray:
    """The model's 28×28 input as the model sees it (white on black), enlarged without smoothing."""
    size = image.shape[0] * scale
    return np.asarray(Image.fromarray((image * 255).astype(np.uint8)).resize((size, size), Image.Resampling.NEAREST))
