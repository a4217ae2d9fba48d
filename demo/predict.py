"""`python -m demo.predict FILE...`: classify image files from the command line.

Same preprocessing and model as the page (and the same rule for which model: see --help; --model
takes a file or a name from --list-models). The model that answers is named on stderr first (with a
warning when it reads MNIST worse than the shipped model), and in every JSON object as "model".
Prints one line per file, or with --json a JSON list with one object per file, in order: for a digit {file,
label, confidence, sure, digit: true, probabilities, milliseconds}; for a picture that is not a
digit (reader.not_digit: a tap, a scribble, a mark, a letter) label null, digit false, sure false,
message "not a digit: <reason>", not_digit_reason, and LeNet's closest reading as model_label with
its confidence and probabilities; for --number {file, number (the best guess), doubtful (positions
of the digits shown as guesses, reader.numbers.doubt), milliseconds, digits: [{label, confidence,
sure, box}], not_digits: [boxes of ink left out as not a digit: a doodle or mark beside it],
straightened (the lean taken away from a number written in italics, columns per row; the boxes
are on the straightened ink)}; when no ink is found the label or number is null with a message; a file
that cannot be read gives {file, error}. --inside writes the Inside LeNet pictures (input, conv1,
conv1_filters, pool1, conv2, pool2, fc1 as PNG) and summary.json per file into --out/<name>/
(default ./inside-<name>/) and reports {file, inside, label, files}. Exit status 1 if any file could
not be read (the others are still answered), 2 for a bad model or flag.
"""

import argparse
import json
import sys
from pathlib import Path

from PIL import Image

from demo import number_view
from reader import pipeline
from reader.errors import InputError
from reader.inside import LayerModel, enlarge, look_inside
from reader.catalog import ModelCatalog, downgrade_warning
from reader.model import DigitModel
from reader.runs import MODEL_RULE, choose_model, display_path


def answer(model: DigitModel, path: str, number: bool) -> dict:
    if number:
        reading = pipeline.read_number(model, path)
        if reading is None:
            return {"file": path, "number": None, "message": "no ink found"}
        left_out = [list(box) for box in reading.not_digits]
        if not reading.digits:
            return {"file": path, "number": None, "not_digits": left_out,
                    "message": "no digit found (" + ("what is written does not look like digits)" if left_out
                                                     else "only specks or dots)")}
        return {"file": path, "number": reading.text, "doubtful": reading.doubtful,
                "milliseconds": round(reading.milliseconds, 2),
                "digits": [{"label": d.label, "confidence": round(d.confidence, 4), "sure": d.sure, "box": list(box)}
                           for d, box in zip(reading.digits, reading.boxes)], "not_digits": left_out,
                "straightened": round(reading.straightened, 3)}
    reading = pipeline.read_digit(model, path, heatmap=False)
    if reading is None:
        return {"file": path, "label": None, "message": "no ink found"}
    facts = {"confidence": round(reading.confidence, 4), "sure": reading.sure, "digit": reading.digit,
             "probabilities": {k: round(v, 6) for k, v in reading.probabilities.items()},
             "milliseconds": round(reading.milliseconds, 2)}
    if not reading.digit:
        return {"file": path, "label": None, "message": f"not a digit: {reading.not_digit_reason}",
                "not_digit_reason": reading.not_digit_reason, "model_label": reading.label, **facts}
    return {"file": path, "label": reading.label, **facts}


def inside_answer(model: DigitModel, layers, path: str, out: Path | None) -> dict:
    """--inside: the Inside LeNet pictures (PNG) and summary.json of one file, into a folder."""
    reading = look_inside(model, layers, path)
    if reading is None:
        return {"file": path, "inside": None, "message": "no ink found"}
    folder = out / Path(path).stem if out else Path(f"inside-{Path(path).stem}")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, picture in {"input": enlarge(reading.model_input), **reading.pictures}.items():
        Image.fromarray(picture).save(folder / f"{name}.png")
        written.append(f"{name}.png")
    (folder / "summary.json").write_text(json.dumps(reading.summary, indent=2) + "\n")
    return {"file": path, "inside": str(folder), "label": reading.summary["prediction"]["label"],
            "files": written + ["summary.json"]}


def as_text(result: dict) -> str:
    if "error" in result:
        return f"{result['file']}: error: {result['error']}"
    if result.get("message"):
        return f"{result['file']}: {result['message']}"
    if "inside" in result:
        return f"{result['file']}: {result['label']}; wrote {len(result['files'])} files to {result['inside']}/"
    if "number" in result:
        digits = " ".join(f"{d['label']}{'' if d['sure'] else '?'}({d['confidence']:.0%})" for d in result["digits"])
        guesses = "  (? = a guess)" if result["doubtful"] else ""
        left_out = number_view.left_out_note(len(result["not_digits"]))
        return f"{result['file']}: {result['number']}  [{digits}]{guesses}{f'  ({left_out})' if left_out else ''}"
    unsure = "" if result["sure"] else "  (not sure)"
    return f"{result['file']}: {result['label']}  {result['confidence']:.2%}{unsure}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.predict", description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="image files (PNG, JPEG, BMP, GIF, WebP, TIFF)")
    parser.add_argument("--model", help="exported lenet.onnx, or a model's name as --list-models shows it "
                                        f"(default, as for the page: {MODEL_RULE})")
    parser.add_argument("--list-models", action="store_true",
                        help="list the models the page offers (name, file, recipe, MNIST accuracy, date) and exit")
    parser.add_argument("--providers", help="ONNX Runtime providers in order, e.g. 'cpu'")
    parser.add_argument("--number", action="store_true", help="read a multi-digit number, left to right")
    parser.add_argument("--inside", action="store_true",
                        help="write every layer's pictures and summary.json (the page's Inside LeNet view) per file")
    parser.add_argument("--out", type=Path, help="with --inside: the folder for them (default: ./inside-<file name>/)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)
    choice = choose_model(args.model)
    catalog = ModelCatalog.find(choice.path)
    if args.list_models:
        return list_models(catalog, args.json)
    if not args.files:
        parser.error("give at least one image file (or --list-models)")
    try:
        model = DigitModel(choice.path, args.providers)
    except ValueError as error:  # ModelError: the file and the reason; or an unknown provider
        print(f"error: {error}", file=sys.stderr)
        return 2
    # which model answers, on stderr so that stdout stays one line (or one JSON object) per file
    print(f"model: {catalog.default.label} ({display_path(choice.path)}, {choice.source})", file=sys.stderr)
    if warning := downgrade_warning(catalog, model.describe()["test_accuracy"]):
        print(f"warning: {warning}", file=sys.stderr)
    layers = LayerModel.beside(model) if args.inside else None
    if args.inside and layers is None:
        print(f"error: no layers file beside {model.path} (python export/to_onnx.py RUN --layers-only adds it)",
              file=sys.stderr)
        return 2
    results = []
    for path in args.files:
        try:
            result = inside_answer(model, layers, path, args.out) if args.inside else answer(model, path, args.number)
        except InputError as error:
            result = {"file": path, "error": str(error)}
        results.append({**result, "model": catalog.default.key})
    if args.json:
        print(json.dumps(results, indent=2))  # always a list, one object per file, in order
    else:
        print("\n".join(as_text(r) for r in results))
    return 1 if any("error" in r for r in results) else 0


def list_models(catalog: ModelCatalog, as_json: bool) -> int:
    if as_json:
        print(json.dumps(catalog.as_json(), indent=2))
    else:
        for entry in catalog.entries:
            default = "  (default)" if entry is catalog.default else ""
            print(f"{entry.label}  [{display_path(entry.path)}]{default}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
