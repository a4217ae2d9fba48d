"""The run card: card.json, one presentation-neutral summary of a run folder for whoever shows it
(the demo's Training tab, a model card, a report).

It is derived from the run folder's own files (run.json, history.json, export.json,
robustness.json) by `write_card`, which training, the exporter and the robustness evaluation each
call after writing theirs, so the card always describes what the folder holds. Readers need no
Keras metric names and no architecture text of their own: curves carry their display labels,
metrics their names and units. `FORMAT` names the layout; fields may be added, never renamed.
"""

import json
from pathlib import Path

FORMAT = "lenet-run-card/1"
CARD_FILE = "card.json"
CURVES = (  # history.json key → display label (the tutorial's plot legend) and what it measures
    ("loss", "train_loss", "loss"), ("val_loss", "val_loss", "loss"),
    ("accuracy", "train_acc", "accuracy"), ("val_accuracy", "val_acc", "accuracy"))
IMAGES = {"curves": "curves.png", "confusion": "confusion.png"}
DATA_FILES = {"classification_report": "report.json", "confusion_matrix": "confusion.json",
              "misclassified": "misclassified.npz", "robustness": "robustness.json"}


def _read(folder: Path, name: str):
    try:
        return json.loads((folder / name).read_text())
    except (OSError, ValueError):
        return None


def _metric(name: str, value, unit: str, detail: str = "") -> dict:
    return {"name": name, "value": value, "unit": unit, "detail": detail}


def build_card(folder: Path) -> dict:
    """The card for the run folder `folder` (run.json is required; every other file is optional)."""
    folder = Path(folder)
    run = _read(folder, "run.json")
    if run is None:
        raise FileNotFoundError(f"{folder / 'run.json'} is missing or unreadable")
    history = _read(folder, "history.json") or []
    export = _read(folder, "export.json")
    robustness = _read(folder, "robustness.json")
    recipe = run.get("recipe", {})

    metrics = [_metric("test accuracy", run.get("test_accuracy"), "fraction",
                       f"{run.get('test_images')} MNIST test images, {run.get('test_misclassified')} wrong"),
               _metric("test loss", run.get("test_loss"), "cross-entropy")]
    uncertainty = run.get("uncertainty")
    if uncertainty:
        validation = uncertainty["validation"]
        metrics.append(_metric("not-sure threshold", uncertainty["uncertain_below"], "probability",
                               f"chosen on {validation['images']} validation images: {validation['images_below']} "
                               "fall under it"))
    if export:
        parity = export.get("parity", {})
        metrics.append(_metric("max |Keras − ONNX|", parity.get("max_abs_diff"), "probability",
                               f"{parity.get('images')} test images, argmax agreement {parity.get('argmax_agreement')}"))
        if export.get("int8"):
            metrics.append(_metric("int8 test accuracy", export["int8"]["int8_test_accuracy"], "fraction",
                                   f"agreement with fp32 {export['int8']['agreement_with_fp32']}"))

    return {
        "format": FORMAT,
        "name": recipe.get("name", folder.name),
        "description": recipe.get("description", ""),
        "architecture": run.get("architecture"),
        "parameters": run.get("parameters"),
        "commands": {"train": run.get("command"), **({"export": export["command"]} if export and export.get("command")
                                                      else {}),
                     **({"robustness": robustness["command"]} if robustness and robustness.get("command") else {})},
        "training": {key: run.get(key) for key in ("seed", "train_images", "validation_images", "device", "precision",
                                                    "train_seconds", "keras_backend")}
        | {key: recipe.get(key) for key in ("optimizer", "learning_rate", "schedule", "batch_size", "epochs",
                                             "shift_pixels", "distortions", "ema_momentum", "validation")},
        "metrics": metrics,
        "uncertainty": uncertainty,
        "curves": {"x": "epoch", "x_label": "Epoch #", "y_label": "Loss/Accuracy",
                   "series": [{"key": key, "label": label, "kind": kind,
                               "points": [[row["epoch"], row[key]] for row in history if key in row]}
                              for key, label, kind in CURVES if any(key in row for row in history)]},
        "robustness": robustness and {key: robustness.get(key) for key in ("images", "path", "distortions", "command")}
        | {"models": [{"name": row["name"], "accuracy": row["accuracy"]} for row in robustness.get("models", [])]},
        "files": {role: name for role, name in {**IMAGES, **DATA_FILES}.items() if (folder / name).is_file()},
        "exported_models": sorted(export.get("files", {})) if export else [],
        "finished": run.get("finished"),                      # when training ended (UTC, ISO 8601)
        "exported": export.get("exported") if export else None,  # when lenet.onnx was written and proven
    }


def write_card(folder: Path) -> dict:
    """Build the card and write it to `folder`/card.json (through a temporary file and a rename)."""
    card = build_card(folder)
    path = Path(folder) / CARD_FILE
    tmp = path.with_name(f".{CARD_FILE}.tmp")
    tmp.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return card
