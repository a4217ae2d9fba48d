"""ONNX Runtime inference speed on CPU for the shipped LeNet (fp32 and static int8).

Measures, interleaved round by round so that every ratio is taken side by side in one run:

* single-image latency (p50/p99 over >= 1,000 calls per setting) and batch-256 throughput
  (images/s), for fp32 and int8 at intra-op threads 1, 2, the ONNX Runtime default, and 2 with
  thread spinning off;
* the same with ONNX Runtime's NCHWc layout rewrite left on (its default; the demo turns it off)
  for fp32 at 1 and default threads and int8 at default threads;
* the app's own call path (`DigitModel.probabilities`, which validates its input) next to the raw
  `session.run`;
* the machine's float32 matrix-multiply rate (numpy 1024×1024 matmul, OpenBLAS as the environment
  has it — OPENBLAS_CORETYPE and the core type OpenBLAS picked are recorded — at its default thread
  count and at 1 thread), and batch throughput as a percentage of it at 13.0 MFLOP per image;
* a server-like load: W caller threads (W = 2 and LENET_CONCURRENCY = 4) each doing what one
  sketch request costs in inference (one image + the occlusion batch, 65 images at most), per thread setting;
* Keras `model.predict` on one image against ONNX Runtime on one image (skip with --skip-keras;
  TensorFlow is imported only for that part, at the end).

Targets (reported, never asserted): single-image p50 <= 0.3 ms; batch throughput >= 60 % of the
matmul rate; ONNX >= 100× faster than Keras predict.

    python benchmarks/inference.py            # full
    python benchmarks/inference.py --quick    # a check that it works (~1 min)
"""

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import (FP32_MODEL, INT8_MODEL, KERAS_MODEL, MFLOP_PER_IMAGE, default_out,  # noqa: E402
                               machine_info, mnist_test_digits, print_table, summary, write_json)

import onnxruntime as ort  # noqa: E402

from reader.model import DigitModel, make_session as demo_session  # noqa: E402

BATCH = 256
OCCLUSION_BATCH = 65  # reader.explain.occlusion_map at most: 8×8 windows (patch 7, stride 3) + the original
TARGET_P50_MS = 0.3
TARGET_MATMUL_SHARE = 0.60
TARGET_KERAS_RATIO = 100.0

# name → (intra_op_num_threads or None for ONNX Runtime's default, allow spinning)
THREAD_SETTINGS = {"1": (1, True), "2": (2, True), "default": (None, True), "2-nospin": (2, False)}
# Rows with ONNX Runtime's NCHWc layout rewrite left on (its default; the demo turns it off, see
# reader.model.DISABLED_OPTIMIZERS), so that choice is measured side by side in every run.
NCHWC_SUFFIX = " +NCHWc"
NCHWC_ROWS = ("fp32 threads=1", "fp32 threads=default", "int8 threads=default")


def make_session(path: Path, threads: int | None, spinning: bool, nchwc: bool = False) -> ort.InferenceSession:
    """The demo's own session settings (reader.model.make_session), CPU only."""
    return demo_session(path, ["CPUExecutionProvider"], threads, spinning, nchwc=nchwc)


def runner(session: ort.InferenceSession):
    name, output = session.get_inputs()[0].name, session.get_outputs()[0].name
    return lambda x: session.run([output], {name: x})[0]


def blas_info() -> dict:
    info = {"OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset: OpenBLAS detects the core)")}
    try:
        from threadpoolctl import threadpool_info
        info["threadpools"] = [{k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
                               for p in threadpool_info()]
    except ImportError:
        info["threadpools"] = "threadpoolctl not installed"
    return info


def matmul_seconds(a: np.ndarray, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        a @ a
        times.append(time.perf_counter() - t)
    return times


def matmul_one_thread(a: np.ndarray, repeats: int) -> list[float] | None:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    with threadpool_limits(limits=1, user_api="blas"):
        return matmul_seconds(a, repeats)


def server_like(run, single: np.ndarray, occlusion: np.ndarray, callers: int, requests_per_caller: int) -> dict:
    """`callers` threads each doing `requests_per_caller` × (1 image + the occlusion batch)."""
    latencies, lock = [], threading.Lock()

    def work():
        mine = []
        for _ in range(requests_per_caller):
            t = time.perf_counter()
            run(single)
            run(occlusion)
            mine.append(time.perf_counter() - t)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(callers)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {"wall_s": wall, "requests": callers * requests_per_caller, "latencies": latencies}


def keras_vs_onnx(single_inputs: np.ndarray, onnx_run, calls: int, onnx_block: int) -> dict:
    """Keras predict (and direct call) on one image vs ONNX Runtime on one image, alternating."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    t = time.perf_counter()
    import keras  # only here: the rest of the script (and the demo) never imports TensorFlow
    import_s = time.perf_counter() - t
    model = keras.models.load_model(KERAS_MODEL, compile=False)
    x = single_inputs[:1]
    for _ in range(2):  # the first predict builds the graph; not what a steady-state server pays
        model.predict(x, verbose=0)
        model(x, training=False)
    predict_s, call_s, onnx_s = [], [], []
    for i in range(calls):
        t = time.perf_counter()
        model.predict(x, verbose=0)
        predict_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        model(x, training=False)
        call_s.append(time.perf_counter() - t)
        for j in range(onnx_block):
            xi = single_inputs[(i * onnx_block + j) % len(single_inputs)][None]
            t = time.perf_counter()
            onnx_run(xi)
            onnx_s.append(time.perf_counter() - t)
    predict, call, onnx = summary(predict_s), summary(call_s), summary(onnx_s)
    return {"keras_version": keras.__version__, "keras_import_s": import_s, "keras_predict_ms": predict,
            "keras_call_ms": call, "onnx_single_ms": onnx,
            "predict_over_onnx_p50": predict["p50"] / onnx["p50"], "call_over_onnx_p50": call["p50"] / onnx["p50"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run to check the script works")
    parser.add_argument("--out", default=default_out("inference"), help="JSON output (default: %(default)s)")
    parser.add_argument("--skip-keras", action="store_true", help="do not import TensorFlow/Keras")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 10, --quick 4)")
    args = parser.parse_args(argv)

    rounds = args.rounds or (4 if args.quick else 10)
    single_block = max(250 if args.quick else 500, -(-1000 // rounds))  # >= 1,000 calls per setting in all
    batches_per_round = 3 if args.quick else 6
    matmul_repeats = 5 if args.quick else 10
    server_requests = 3 if args.quick else 30

    images, labels = mnist_test_digits(1000)
    inputs = (images.astype(np.float32) / 255)[..., None]  # real MNIST, (N, 28, 28, 1) in [0, 1]
    batch = np.ascontiguousarray(inputs[:BATCH])
    occlusion = np.ascontiguousarray(np.repeat(inputs[:1], OCCLUSION_BATCH, axis=0))

    configs = {}
    for model_name, path in (("fp32", FP32_MODEL), ("int8", INT8_MODEL)):
        for setting, (threads, spinning) in THREAD_SETTINGS.items():
            configs[f"{model_name} threads={setting}"] = runner(make_session(path, threads, spinning))
            if f"{model_name} threads={setting}" in NCHWC_ROWS:
                configs[f"{model_name} threads={setting}{NCHWC_SUFFIX}"] = runner(
                    make_session(path, threads, spinning, nchwc=True))
    app_model = DigitModel(FP32_MODEL, providers="cpu")  # the app's path: default threads + input checks
    configs["fp32 DigitModel.probabilities (app path)"] = app_model.probabilities

    agreement = float((configs["fp32 threads=default"](inputs).argmax(1) ==
                       configs["int8 threads=default"](inputs).argmax(1)).mean())
    accuracy = {m: float((configs[f"{m} threads=default"](inputs).argmax(1) == labels).mean()) for m in ("fp32", "int8")}

    a = np.random.default_rng(0).random((1024, 1024), dtype=np.float32)
    for run in configs.values():  # warm-up
        for _ in range(20):
            run(inputs[:1])
        run(batch)
    matmul_seconds(a, 2)

    single = {name: [] for name in configs}
    batched = {name: [] for name in configs}
    mm_default, mm_one = [], []
    names = list(configs)
    print(f"{rounds} rounds × {len(names)} settings: {single_block} single calls and {batches_per_round} "
          f"batch-{BATCH} calls per setting per round, interleaved ...", flush=True)
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]  # rotate who goes first
        for name in order:
            run = configs[name]
            for j in range(single_block):
                x = inputs[(r * single_block + j) % len(inputs)][None]
                t = time.perf_counter()
                run(x)
                single[name].append(time.perf_counter() - t)
            for _ in range(batches_per_round):
                t = time.perf_counter()
                run(batch)
                batched[name].append(time.perf_counter() - t)
        mm_default += matmul_seconds(a, matmul_repeats)
        one = matmul_one_thread(a, max(2, matmul_repeats // 2))
        if one:
            mm_one += one

    flop = 2 * a.shape[0] ** 3
    matmul = {"size": a.shape[0], "dtype": "float32", "blas": blas_info(),
              "gflops_default_threads": flop / np.median(mm_default) / 1e9,
              "gflops_1_thread": flop / np.median(mm_one) / 1e9 if mm_one else None,
              "note": "numpy a @ a, median over the rounds; OpenBLAS as the environment sets it"}

    results = {}
    rows = []
    for name in names:
        s = summary(single[name])
        throughput = BATCH / np.median(batched[name])
        one_thread = "threads=1" in name
        rate = matmul["gflops_1_thread"] if one_thread and matmul["gflops_1_thread"] else matmul["gflops_default_threads"]
        share = throughput * MFLOP_PER_IMAGE * 1e6 / (rate * 1e9)
        results[name] = {"single_ms": s, "batch_ms": summary(batched[name]), "batch_images_per_s": throughput,
                         "gflops": throughput * MFLOP_PER_IMAGE / 1000, "share_of_matmul": share,
                         "matmul_reference": "1 thread" if one_thread and matmul["gflops_1_thread"] else "default threads"}
        rows.append([name, s["p50"], s["p99"], s["n"], round(throughput), throughput * MFLOP_PER_IMAGE / 1000,
                     f"{share:.0%}", "yes" if s["p50"] <= TARGET_P50_MS else "NO",
                     "yes" if share >= TARGET_MATMUL_SHARE else "NO"])
    print_table(["setting", "1-img p50 ms", "p99 ms", "calls", f"b{BATCH} img/s", "GFLOP/s", "% matmul",
                 f"p50<={TARGET_P50_MS}", f">={TARGET_MATMUL_SHARE:.0%}"], rows,
                title="Single image and batch throughput (CPU)")
    print(f"\nnumpy float32 1024² matmul: {matmul['gflops_default_threads']:.1f} GFLOP/s at OpenBLAS default threads, "
          f"{matmul['gflops_1_thread'] or float('nan'):.1f} GFLOP/s at 1 thread "
          f"(OPENBLAS_CORETYPE {matmul['blas']['OPENBLAS_CORETYPE']}; {matmul['blas']['threadpools']}). "
          f"'% matmul' uses the 1-thread rate for threads=1 rows, else the default-threads rate; "
          f"for int8 rows it is against the float32 rate (int8 uses integer kernels), so informational only.")
    base = results["fp32 threads=default"]
    print("Ratios vs fp32 threads=default (same run): " + "; ".join(
        f"{n}: p50 ×{results[n]['single_ms']['p50'] / base['single_ms']['p50']:.2f}, "
        f"throughput ×{results[n]['batch_images_per_s'] / base['batch_images_per_s']:.2f}" for n in names if n != "fp32 threads=default"))
    nchwc_off_vs_on = {n: {"single_p50": results[n]["single_ms"]["p50"] / results[n + NCHWC_SUFFIX]["single_ms"]["p50"],
                           "batch_throughput": results[n]["batch_images_per_s"] / results[n + NCHWC_SUFFIX]["batch_images_per_s"]}
                       for n in NCHWC_ROWS}
    print("NCHWc rewrite off (the demo's setting) vs on (ONNX Runtime's default), same run: " + "; ".join(
        f"{n}: p50 ×{v['single_p50']:.2f}, throughput ×{v['batch_throughput']:.2f}" for n, v in nchwc_off_vs_on.items()))
    print(f"int8 vs fp32 argmax agreement on 1,000 test images: {agreement:.1%}; accuracy fp32 {accuracy['fp32']:.1%}, "
          f"int8 {accuracy['int8']:.1%}")

    # Server-like: caller threads × (1 image + occlusion batch), per thread setting, interleaved.
    concurrency = int(os.environ.get("LENET_CONCURRENCY", "4"))
    server = {}
    server_names = [n for n in names if n.startswith(("fp32 threads=", "int8 threads=")) and not n.endswith(NCHWC_SUFFIX)]
    for callers in sorted({2, concurrency}):
        runs = {n: [] for n in server_names}
        for r in range(1 if args.quick else 3):
            for name in server_names[r % len(server_names):] + server_names[:r % len(server_names)]:
                runs[name].append(server_like(configs[name], inputs[:1], occlusion, callers, server_requests))
        for name in server_names:
            wall = sum(x["wall_s"] for x in runs[name])
            done = sum(x["requests"] for x in runs[name])
            server[f"{name} callers={callers}"] = {"callers": callers, "requests_per_s": done / wall,
                                                   "latency_ms": summary([t for x in runs[name] for t in x["latencies"]])}
    rows = [[k, v["requests_per_s"], v["latency_ms"]["p50"], v["latency_ms"]["p99"]] for k, v in server.items()]
    print_table(["setting", "requests/s", "p50 ms", "p99 ms"], rows,
                title=f"Server-like load: caller threads × (1 image + {OCCLUSION_BATCH}-image occlusion batch)")

    caller_counts = sorted({2, concurrency})

    def overall(setting: str) -> float:  # geometric mean of requests/s over the caller counts
        return float(np.exp(np.mean([np.log(server[f"{setting} callers={c}"]["requests_per_s"]) for c in caller_counts])))

    fp32_settings = [f"fp32 threads={t}" for t in THREAD_SETTINGS]
    best = max(fp32_settings, key=overall)
    one_vs_best_single = results["fp32 threads=1"]["single_ms"]["p50"] / min(
        results[n]["single_ms"]["p50"] for n in fp32_settings)
    int8_gain = overall(best.replace("fp32", "int8")) / overall(best)
    recommendation = (
        f"For the web server (2 cores shared with Gradio's event loop, up to {concurrency} requests per event at once): "
        f"{best} gave the most sketch-request inference per second over {caller_counts} concurrent callers "
        f"(geometric mean {overall(best):.0f}/s vs {overall('fp32 threads=default'):.0f}/s for the default, "
        f"×{overall(best) / overall('fp32 threads=default'):.2f}); threads=1 costs ×{one_vs_best_single:.2f} on a lone "
        f"single-image call. The int8 model at the same setting: ×{int8_gain:.2f} requests/s.")
    print("\nRecommendation (from this run's numbers): " + recommendation)

    keras_result = None
    if not args.skip_keras:
        print("\nKeras predict vs ONNX Runtime (importing TensorFlow now) ...", flush=True)
        keras_result = keras_vs_onnx(inputs, configs["fp32 threads=default"], 5 if args.quick else 30, 50)
        k = keras_result
        print_table(["call", "p50 ms", "p99 ms", "n"],
                    [["keras model.predict(1 image)", k["keras_predict_ms"]["p50"], k["keras_predict_ms"]["p99"], k["keras_predict_ms"]["n"]],
                     ["keras model(x) direct call", k["keras_call_ms"]["p50"], k["keras_call_ms"]["p99"], k["keras_call_ms"]["n"]],
                     ["onnxruntime fp32 default threads", k["onnx_single_ms"]["p50"], k["onnx_single_ms"]["p99"], k["onnx_single_ms"]["n"]]],
                    title="Keras vs ONNX Runtime, one image, alternating in one run")
        print(f"ONNX Runtime is ×{k['predict_over_onnx_p50']:.0f} faster than model.predict (target ×{TARGET_KERAS_RATIO:.0f}: "
              f"{'met' if k['predict_over_onnx_p50'] >= TARGET_KERAS_RATIO else 'NOT met'}); "
              f"×{k['call_over_onnx_p50']:.0f} faster than a direct model(x) call. import keras took {k['keras_import_s']:.1f} s.")

    write_json(args.out, {
        "benchmark": "inference", "quick": args.quick, "machine": machine_info(matmul=matmul),
        "settings": {"rounds": rounds, "single_calls_per_setting": rounds * single_block,
                     "batch_calls_per_setting": rounds * batches_per_round, "batch": BATCH,
                     "mflop_per_image": MFLOP_PER_IMAGE, "nchwc_rows": list(NCHWC_ROWS), "thread_settings": {k: {"intra_op_num_threads": v[0], "allow_spinning": v[1]}
                                                                             for k, v in THREAD_SETTINGS.items()},
                     "models": {"fp32": str(FP32_MODEL), "int8": str(INT8_MODEL)}},
        "targets": {"single_p50_ms_max": TARGET_P50_MS, "batch_share_of_matmul_min": TARGET_MATMUL_SHARE,
                    "onnx_over_keras_predict_min": TARGET_KERAS_RATIO},
        "matmul": matmul, "results": results, "nchwc_off_vs_on": nchwc_off_vs_on, "server_like": server, "recommendation": recommendation,
        "int8_vs_fp32": {"argmax_agreement": agreement, "accuracy_1000": accuracy},
        "keras": keras_result,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
