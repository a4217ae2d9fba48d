"""The confidence below which the demo says "not sure" instead of guessing.

Chosen by training on the validation images held out from training (never the test set), recorded
in run.json under "uncertainty", and copied by the exporter into the ONNX metadata
(`uncertain_below`). The test set only reports how the chosen threshold does there.
"""

import numpy as np

SEARCHED = np.round(np.arange(0.30, 0.96, 0.01), 2)  # thresholds tried, lowest first
MOSTLY_WRONG = 2 / 3    # below the threshold, answers may be right at most this often ...
MIN_IMAGES_BELOW = 20   # ... measured on at least this many images
FALLBACK = 0.5          # when no threshold qualifies
RULE = ("highest threshold in 0.30-0.95 under which the answers on the validation images are right at most "
        "2/3 of the time (at least 20 images under it); 0.5 when none qualifies")


def split_by_confidence(probabilities: np.ndarray, labels: np.ndarray, threshold: float) -> dict:
    """How many images fall under `threshold`, and the accuracy under it and at or above it."""
    confidence, correct = probabilities.max(1), probabilities.argmax(1) == labels
    below = confidence < threshold
    return {"images": int(len(labels)), "images_below": int(below.sum()),
            "accuracy_below": float(correct[below].mean()) if below.any() else None,
            "accuracy_at_or_above": float(correct[~below].mean()) if (~below).any() else None}


def choose_threshold(val_probabilities: np.ndarray, val_labels: np.ndarray,
                     test_probabilities: np.ndarray | None = None, test_labels: np.ndarray | None = None) -> dict:
    """The threshold by RULE on the validation images, with its figures there (and on the test set
    when given, for the record only)."""
    confidence, correct = val_probabilities.max(1), val_probabilities.argmax(1) == val_labels
    chosen = FALLBACK
    for threshold in SEARCHED:
        below = confidence < threshold
        if below.sum() >= MIN_IMAGES_BELOW and correct[below].mean() <= MOSTLY_WRONG:
            chosen = float(threshold)
    result = {"uncertain_below": chosen, "rule": RULE, "chosen_on": "validation images held out from training",
              "validation": split_by_confidence(val_probabilities, val_labels, chosen)}
    if test_probabilities is not None:
        result["test"] = split_by_confidence(test_probabilities, test_labels, chosen)
    return result
