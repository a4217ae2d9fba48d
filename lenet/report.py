"""The run folder's evaluation files: classification report, confusion matrix, misclassified
digits and the training-curves plot. Pure NumPy / scikit-learn / matplotlib; no Keras."""

import json
from pathlib import Path

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix

from lenet import contract
from lenet.card import CURVES


def package_versions(*names: str) -> dict[str, str]:
    """Python's and the installed versions of `names` (those not installed are left out)."""
    import platform
    from importlib import metadata
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n")


def write_evaluation(folder: Path, y_true: np.ndarray, probabilities: np.ndarray) -> dict:
    """Write report.txt, report.json, confusion.json and misclassified.json; return the summary."""
    y_pred = probabilities.argmax(axis=1)
    labels = list(range(len(contract.CLASS_LABELS)))
    text = classification_report(y_true, y_pred, labels=labels, target_names=contract.CLASS_LABELS, digits=4)
    (folder / "report.txt").write_text(text)
    write_json(folder / "report.json", classification_report(
        y_true, y_pred, labels=labels, target_names=contract.CLASS_LABELS, digits=4, output_dict=True))
    write_json(folder / "confusion.json", {
        "labels": contract.CLASS_LABELS, "rows": "true label", "columns": "predicted label",
        "matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist()})
    wrong = np.flatnonzero(y_pred != y_true)
    write_json(folder / "misclassified.json", [
        {"index": int(i), "true": int(y_true[i]), "predicted": int(y_pred[i]),
         "confidence": round(float(probabilities[i, y_pred[i]]), 6)} for i in wrong])
    return {"test_accuracy": float(np.mean(y_pred == y_true)), "misclassified": int(wrong.size)}


def write_misclassified_gallery(folder: Path, test_images: np.ndarray, limit: int = 48) -> None:
    """misclassified.npz: the most confidently wrong test digits (uint8 28×28) with their labels,
    so the demo can show them without the dataset."""
    wrong = json.loads((folder / "misclassified.json").read_text())
    wrong = sorted(wrong, key=lambda row: -row["confidence"])[:limit]
    indices = np.array([row["index"] for row in wrong], dtype=np.int64)
    np.savez_compressed(folder / "misclassified.npz", images=test_images[indices].astype(np.uint8), index=indices,
                        true=np.array([row["true"] for row in wrong], dtype=np.int64),
                        predicted=np.array([row["predicted"] for row in wrong], dtype=np.int64),
                        confidence=np.array([row["confidence"] for row in wrong], dtype=np.float32))


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_confusion(folder: Path, title: str) -> None:
    """confusion.png: the confusion matrix as an annotated heatmap (log colour scale)."""
    plt = _pyplot()
    matrix = np.array(json.loads((folder / "confusion.json").read_text())["matrix"])
    fig, ax = plt.subplots(figsize=(6, 5.4), dpi=100)
    ax.imshow(np.log1p(matrix), cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        ax.text(col, row, str(count), ha="center", va="center", fontsize=7,
                color="white" if count > matrix.max() / 8 else "black")
    ax.set_xticks(range(10), contract.CLASS_LABELS)
    ax.set_yticks(range(10), contract.CLASS_LABELS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(folder / "confusion.png")
    plt.close(fig)


def plot_curves(history: list[dict], path: Path, title: str) -> None:
    """The tutorial's plot: train/val loss and accuracy per epoch, ggplot style."""
    plt = _pyplot()
    epochs = [row["epoch"] for row in history]
    with plt.style.context("ggplot"):
        fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
        for key, label, _ in CURVES:
            ax.plot(epochs, [row[key] for row in history], marker="o", markersize=3, label=label)
        ax.set_title(title)
        ax.set_xlabel("Epoch #")
        ax.set_ylabel("Loss/Accuracy")
        ax.legend(loc="center right")
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
