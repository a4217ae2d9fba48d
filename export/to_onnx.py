"""`python export/to_onnx.py`: convert a run folder's model.keras to ONNX and prove it answers
like Keras.

Conversion uses `tf2onnx.convert.from_function` on a `tf.function` with an explicit input
signature (`from_keras` fails on Keras 3). Every export is checked before it is kept: the ONNX
checker with full checking, parity with Keras on all 10,000 real MNIST test images (max |Δp| and
argmax agreement), and equal answers at batch sizes 1, 7 and 256. The files are written under
temporary names and renamed into place only after every check passes; the results go to
export.json beside the model, and the run card (card.json) is rewritten. `--quantize int8` adds a
static (QDQ, per-channel) int8 model calibrated on training images, with its accuracy, agreement
and latency next to float32; an export without it removes a stale int8 file beside the output. Beside the model it also
writes `lenet-layers.onnx`, LeNet's activations at every stage and its filters for the demo's
Inside LeNet view (export/onnx_layers.py), proven against Keras the same way; the main file's
metadata names it (`layers_model`), its own inputs and outputs stay `image` → `probabilities`.
The "not sure" threshold in the metadata is the one training chose on its validation images
(run.json); the exporter never picks one on the test set.

With no run named it exports the newest finished `runs/NAME/` (hidden and partial folders skipped)
into that folder. Writing into artifacts/ (the shipped model the demo and a Space serve) needs
`--ship`, so nothing replaces the shipped model by accident.
"""

import argparse
import hashlib
import json
import os
import shlex
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
sys.path.insert(0, str(Path(__file__).resolve().parent))

import onnx_layers  # noqa: E402  (beside this file)
from tf_function import onnx_graph  # noqa: E402  (beside this file)
from lenet import contract  # noqa: E402
from lenet.data import DataError, load_mnist  # noqa: E402
from lenet.card import write_card  # noqa: E402
from lenet.report import package_versions  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
RUNS = ROOT / "runs"
SUPPORTED_OPSETS = range(14, 19)  # what tf2onnx's maintainers test
DEFAULT_OPSET = 17
PARITY_BATCH_SIZES = (1, 7, 256)
CALIBRATION_IMAGES = 1_000


class ExportError(Exception):
    """One clear line for the user; nothing was written."""


def newest_run(runs: Path = RUNS) -> Path | None:
    """The most recently finished `runs/NAME/` (one with run.json); hidden and partial folders skipped."""
    finished = [p.parent for p in runs.glob("*/run.json")
                if not p.parent.name.startswith(".") and (p.parent / "model.keras").is_file()]
    return max(finished, key=lambda p: (p / "run.json").stat().st_mtime) if finished else None


def inside_artifacts(path: Path) -> bool:
    return path.resolve().is_relative_to(ARTIFACTS.resolve())


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python export/to_onnx.py", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Convert a run folder's model.keras to ONNX, check it against Keras on real MNIST, "
                    "and write lenet.onnx and export.json.")
    parser.add_argument("run", nargs="?", type=Path,
                        help="run folder with model.keras (default: the newest finished runs/*/)")
    parser.add_argument("--output", type=Path, help="ONNX file to write (default: <run>/lenet.onnx)")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET, help="ONNX opset, 14–18")
    parser.add_argument("--quantize", choices=["int8"], help="also write a static int8 model (<output>-int8.onnx)")
    parser.add_argument("--tolerance", type=float, default=1e-5, help="largest allowed |Keras − ONNX| probability")
    parser.add_argument("--data-dir", help="MNIST cache folder (default: $LENET_DATA_DIR or ~/.cache/lenet/mnist)")
    parser.add_argument("--ship", action="store_true",
                        help="allow writing into artifacts/ (the shipped models the demo and a Space serve)")
    parser.add_argument("--layers-only", action="store_true",
                        help="only add lenet-layers.onnx beside an existing export of this run (lenet.onnx unchanged)")
    args = parser.parse_args(argv)
    if args.opset not in SUPPORTED_OPSETS:
        parser.error(f"--opset {args.opset} is not supported; choose 14 to 18 (tf2onnx is tested on those)")
    args.command = shlex.join(["python", "export/to_onnx.py", *(sys.argv[1:] if argv is None else map(str, argv))])
    args.run = args.run or newest_run()
    if args.run is None:
        parser.error("no finished run in runs/ to export; train one with: python -m lenet.train "
                     "(or name a run folder)")
    args.output = args.output or args.run / "lenet.onnx"
    if inside_artifacts(args.output) and not args.ship:
        parser.error(f"{args.output} is inside artifacts/, the shipped model the demo serves; pass --ship to "
                     "replace it on purpose, or export a run under runs/")
    return args


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_keras_lenet(path: Path):
    """Load model.keras and check it takes 28×28×1 images and gives one probability per class."""
    if not path.is_file():
        raise ExportError(f"no model file at {path} (train one with: python -m lenet.train)")
    import keras
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as error:  # Keras raises many types for a bad file
        raise ExportError(f"{path} is not a readable Keras model: {str(error).splitlines()[0][:200]}") from None
    expected_in, expected_out = (None, contract.IMAGE_SIZE, contract.IMAGE_SIZE, 1), (None, contract.CLASSES)
    got_in, got_out = tuple(model.input_shape), tuple(model.output_shape)
    if got_in != expected_in or got_out != expected_out:
        raise ExportError(f"{path} is not a LeNet digit model: it takes {got_in} and gives {got_out}, "
                          f"expected {expected_in} → {expected_out}")
    return model


def convert(model, opset: int):
    size = contract.IMAGE_SIZE
    return onnx_graph(lambda image: {contract.OUTPUT_NAME: model(image, training=False)},
                      {contract.INPUT_NAME: (None, size, size, 1)}, opset)


def model_metadata(run: Path, keras_path: Path, opset: int, precision: str,
                   uncertain_below: float | None) -> dict[str, str]:
    run_info = json.loads((run / "run.json").read_text()) if (run / "run.json").is_file() else {}
    threshold = {} if uncertain_below is None else {"uncertain_below": str(uncertain_below)}
    return {**contract.as_metadata(), **threshold,
            "precision": precision, "opset": str(opset),
            "recipe": json.dumps(run_info.get("recipe")), "seed": str(run_info.get("seed")),
            "test_accuracy": str(run_info.get("test_accuracy")),
            "source_model": keras_path.name, "source_model_sha256": sha256_file(keras_path),
            "versions": json.dumps(package_versions(
                "tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime", "onnxruntime-gpu")),
            "exported": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def recorded_uncertainty(run: Path) -> dict | None:
    """The "not sure" threshold training chose on its validation images (run.json "uncertainty"),
    or None for a run that has none (the tutorial's, whose validation images are the test set, or a
    run made before thresholds were recorded): the exporter never picks one on the test set."""
    run_file = run / "run.json"
    recorded = json.loads(run_file.read_text()).get("uncertainty") if run_file.is_file() else None
    if recorded is not None and not 0.0 < float(recorded.get("uncertain_below", -1)) < 1.0:
        raise ExportError(f"{run_file} records an unusable threshold: {recorded.get('uncertain_below')!r}")
    return recorded


def set_metadata(onnx_model, props: dict[str, str]) -> None:
    import onnx
    del onnx_model.metadata_props[:]
    onnx.helper.set_model_props(onnx_model, props)
    onnx_model.producer_name = "lenet-digits export/to_onnx.py"
    onnx_model.doc_string = "LeNet (LeCun et al. 1998) trained on MNIST; input contract in metadata_props."


def cpu_session(path: Path):
    import onnxruntime as ort
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def predict(session, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    return np.concatenate([session.run(None, {contract.INPUT_NAME: images[i:i + batch_size]})[0]
                           for i in range(0, len(images), batch_size)])


def check_parity(session, x_test, y_test, keras_probabilities, tolerance: float) -> dict:
    onnx_probabilities = predict(session, x_test)
    batches = {size: predict(session, x_test[:256], size) for size in PARITY_BATCH_SIZES}
    result = {
        "images": len(x_test),
        "max_abs_diff": float(np.abs(onnx_probabilities - keras_probabilities).max()),
        "argmax_agreement": float(np.mean(onnx_probabilities.argmax(1) == keras_probabilities.argmax(1))),
        "keras_test_accuracy": float(np.mean(keras_probabilities.argmax(1) == y_test)),
        "onnx_test_accuracy": float(np.mean(onnx_probabilities.argmax(1) == y_test)),
        "batch_sizes": list(PARITY_BATCH_SIZES),
        "max_abs_diff_across_batch_sizes": float(max(np.abs(b - batches[256]).max() for b in batches.values())),
        "tolerance": tolerance,
    }
    failures = []
    if not result["max_abs_diff"] <= tolerance:
        failures.append(f"max |Keras − ONNX| {result['max_abs_diff']:.2e} > {tolerance:.0e}")
    if result["argmax_agreement"] != 1.0:
        failures.append(f"argmax agreement {result['argmax_agreement']:.4%} < 100%")
    if result["keras_test_accuracy"] != result["onnx_test_accuracy"]:
        failures.append("test accuracy differs between Keras and ONNX")
    if not result["max_abs_diff_across_batch_sizes"] <= tolerance:
        failures.append(f"batch sizes disagree by {result['max_abs_diff_across_batch_sizes']:.2e}")
    if failures:
        raise ExportError("parity check failed: " + "; ".join(failures) + "; no ONNX file was written")
    return result


def median_latency_ms(session, batch: np.ndarray, calls: int) -> float:
    feed = {contract.INPUT_NAME: batch}
    session.run(None, feed)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def quantize_int8(fp32_path: Path, int8_path: Path, calibration: np.ndarray) -> None:
    """Static post-training quantization: QDQ format, per-channel int8 weights, uint8 activations.

    Weights use 7 bits (`reduce_range`): x86 CPUs without VNNI (AVX2 only) multiply uint8 by int8
    in pairs summed in 16 bits, which saturate with full 8-bit weights, so the same int8 file gave
    99.56% on an AVX2 CPU and 99.64% on a VNNI one (robust run). With 7 bits no sum can saturate
    and every x86 CPU computes the same integers."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Calibration(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(calibration[i:i + 100] for i in range(0, len(calibration), 100))

        def get_next(self):
            batch = next(self.batches, None)
            return None if batch is None else {contract.INPUT_NAME: batch}

    prepared = int8_path.with_name(int8_path.name + ".prep.onnx")
    try:
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        quantize_static(str(prepared), str(int8_path), Calibration(), quant_format=QuantFormat.QDQ,
                        per_channel=True, reduce_range=True, weight_type=QuantType.QInt8,
                        activation_type=QuantType.QUInt8)
    finally:
        prepared.unlink(missing_ok=True)


def compare_int8(fp32_session, int8_session, x_test, y_test) -> dict:
    fp32 = predict(fp32_session, x_test).argmax(1)
    int8 = predict(int8_session, x_test).argmax(1)
    one, batch = x_test[:1], x_test[:256]
    latency = {name: {"single_image_ms": median_latency_ms(s, one, 500),
                      "batch256_ms": median_latency_ms(s, batch, 30)}
               for name, s in (("fp32", fp32_session), ("int8", int8_session))}
    return {"int8_test_accuracy": float(np.mean(int8 == y_test)), "fp32_test_accuracy": float(np.mean(fp32 == y_test)),
            "agreement_with_fp32": float(np.mean(int8 == fp32)), "latency_cpu_median": latency}


def export(args, staged: list[Path]) -> dict:
    """Convert, prove and publish; every temporary file goes into `staged` (the watchdog of
    `lenet.train.interrupts_stop_cleanly` removes them should an interrupt not unwind this)."""
    import onnx

    keras_path = args.run / "model.keras"
    model = load_keras_lenet(keras_path)
    (x_train, _), (x_test_u8, y_test) = load_mnist(args.data_dir)
    x_test = contract.to_model_input(x_test_u8)
    keras_probabilities = model.predict(x_test, batch_size=1024, verbose=0)

    uncertainty = recorded_uncertainty(args.run)
    uncertain_below = uncertainty and uncertainty["uncertain_below"]
    output = args.output
    metadata = model_metadata(args.run, keras_path, args.opset, "float32", uncertain_below)
    if args.layers_only:
        return export_layers_only(args, model, keras_path, x_test, metadata, staged)
    onnx_model = convert(model, args.opset)
    set_metadata(onnx_model, metadata)
    try:
        fp32_tmp = output.with_name(f".{output.name}.tmp")
        staged.append(fp32_tmp)
        onnx.save(onnx_model, fp32_tmp)
        onnx.checker.check_model(str(fp32_tmp), full_check=True)
        import onnxruntime as ort
        session = cpu_session(fp32_tmp)
        result = {"source": str(keras_path), "source_sha256": sha256_file(keras_path), "opset": args.opset,
                  "command": args.command,
                  "onnxruntime": ort.__version__, "provider": session.get_providers()[0],
                  "checker": "passed (full_check)", "uncertainty": uncertainty,
                  "parity": check_parity(session, x_test, y_test, keras_probabilities, args.tolerance),
                  "files": {output.name: fp32_tmp.stat().st_size}}
        publish = [(fp32_tmp, output)]
        layers_result, layers_tmp, layers_path = write_layers(model, output, x_test, args, metadata, staged)
        result["layers"] = layers_result
        result["files"][layers_path.name] = layers_tmp.stat().st_size
        publish.append((layers_tmp, layers_path))
        if args.quantize:
            int8_path = output.with_name(output.stem + "-int8.onnx")
            int8_tmp = int8_path.with_name(f".{int8_path.name}.tmp")
            staged.append(int8_tmp)
            order = np.random.default_rng(0).permutation(len(x_train))[:CALIBRATION_IMAGES]
            quantize_int8(fp32_tmp, int8_tmp, contract.to_model_input(x_train[order]))
            int8_model = onnx.load(int8_tmp)
            set_metadata(int8_model, model_metadata(
                args.run, keras_path, args.opset, "int8 (static QDQ, per-channel, 7-bit weights)", uncertain_below))
            onnx.save(int8_model, int8_tmp)
            onnx.checker.check_model(str(int8_tmp), full_check=True)
            result["int8"] = {"weights": "int8 per channel in 7 bits (reduce_range: the same answers with and without VNNI)",
                              "calibration_images": CALIBRATION_IMAGES, "calibration_source": "MNIST training set",
                              **compare_int8(session, cpu_session(int8_tmp), x_test, y_test)}
            result["files"][int8_path.name] = int8_tmp.stat().st_size
            publish.append((int8_tmp, int8_path))
        result["exported"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        publish_export(output, result, publish, staged)
        if not args.quantize:  # an int8 model from an earlier export would no longer match this one
            output.with_name(output.stem + "-int8.onnx").unlink(missing_ok=True)
        refresh_card(args.run, output)
        return result
    finally:
        for tmp in staged:
            tmp.unlink(missing_ok=True)


def write_layers(model, output: Path, x_test, args, metadata: dict, staged: list) -> tuple[dict, Path, Path]:
    """The companion lenet-layers.onnx (export/onnx_layers.py), checked and proven against Keras,
    written under a temporary name that the caller renames into place."""
    import onnx
    layers_path = onnx_layers.layers_path(output)
    layers_tmp = layers_path.with_name(f".{layers_path.name}.tmp")
    staged.append(layers_tmp)
    layers_model = onnx_layers.convert_layers(model, args.opset)
    set_metadata(layers_model, {**metadata, **onnx_layers.layers_metadata(layers_model)})
    onnx.save(layers_model, layers_tmp)
    onnx.checker.check_model(str(layers_tmp), full_check=True)
    proof = onnx_layers.prove_layers(cpu_session(layers_tmp), model, x_test, args.tolerance)
    if proof.pop("failures"):
        raise ExportError("layers model parity failed (|Keras − ONNX| relative to each output's scale): " + "; ".join(
            f"{name} {diff:.2e}" for name, diff in proof["relative_diff"].items() if not diff <= args.tolerance)
            + "; no ONNX file was written")
    return {"file": layers_path.name, **proof}, layers_tmp, layers_path


def export_layers_only(args, model, keras_path: Path, x_test, metadata: dict, staged: list[Path]) -> dict:
    """Add the layers file beside an existing export of the same model.keras, leaving lenet.onnx as it is."""
    import onnxruntime as ort
    output = args.output
    if not output.is_file():
        raise ExportError(f"--layers-only needs {output}; export the model first")
    main_sha = ort.InferenceSession(str(output), providers=["CPUExecutionProvider"]).get_modelmeta() \
        .custom_metadata_map.get("source_model_sha256")
    if main_sha != metadata["source_model_sha256"]:
        raise ExportError(f"{output} was not exported from {keras_path}; export it again without --layers-only")
    try:
        layers_result, layers_tmp, layers_path = write_layers(model, output, x_test, args, metadata, staged)
        report_path = output.with_name("export.json")
        report = json.loads(report_path.read_text()) if report_path.is_file() else {}
        report["layers"] = layers_result
        report.setdefault("files", {})[layers_path.name] = layers_tmp.stat().st_size
        publish_export(output, report, [(layers_tmp, layers_path)], staged)
        refresh_card(args.run, output)
        return report
    finally:
        for tmp in staged:
            tmp.unlink(missing_ok=True)


def publish_export(output: Path, report: dict, moves: list[tuple[Path, Path]], staged: list[Path]) -> None:
    """Stage export.json beside `output`, then move every staged file into place, the report last."""
    json_tmp = output.with_name(".export.json.tmp")
    staged.append(json_tmp)
    json_tmp.write_text(json.dumps(report, indent=2) + "\n")
    for tmp, final in moves + [(json_tmp, output.with_name("export.json"))]:
        os.replace(tmp, final)


def refresh_card(run: Path, output: Path) -> None:
    """Rewrite the run's card when the export went into that run's own folder."""
    if (run / "run.json").is_file() and output.parent.resolve() == run.resolve():
        write_card(run)


def check_writable(output: Path) -> None:
    if output.is_dir():
        raise ExportError(f"--output {output} is a folder; give a file path such as {output / 'lenet.onnx'}")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=output.parent).close()
    except OSError as error:
        raise ExportError(f"cannot write into {output.parent}: {error.strerror or error}") from None


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    args = parse_args(argv)
    from lenet.train import PendingRun, interrupts_stop_cleanly
    pending = PendingRun()
    try:
        with interrupts_stop_cleanly(pending):  # Ctrl-C and kill unwind export(), which removes its temporary files
            check_writable(args.output)
            result = export(args, pending.files)
    except (ExportError, DataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: nothing was written", file=sys.stderr)
        return 130
    layers = result["layers"]
    layers_line = (f"wrote {args.output.with_name(layers['file'])}: every stage within "
                   f"{max(layers['relative_diff'].values()):.1e} of Keras (relative to its scale) on "
                   f"{layers['images']} test images")
    if args.layers_only:
        print(layers_line)
        return 0
    parity = result["parity"]
    print(f"wrote {args.output} ({result['files'][args.output.name] / 1e6:.2f} MB, opset {args.opset}): "
          f"max |Keras − ONNX| {parity['max_abs_diff']:.2e} on {parity['images']} test images, argmax agreement "
          f"{parity['argmax_agreement']:.2%}, test accuracy {parity['onnx_test_accuracy']:.2%}")
    print(layers_line)
    if result["uncertainty"] is None:
        print("note: the run records no \"not sure\" threshold (none chosen on held-out images), so the model "
              "carries none; the demo uses its default")
    if "int8" in result:
        q = result["int8"]
        print(f"int8: test accuracy {q['int8_test_accuracy']:.2%} (fp32 {q['fp32_test_accuracy']:.2%}), "
              f"agreement {q['agreement_with_fp32']:.2%}, latency {json.dumps(q['latency_cpu_median'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
