"""Cold start of the app: `python app.py` to its first successful API answer.

Each round starts fresh Python processes (the OS file cache stays warm after the first round; the
first round is also reported on its own) and measures, side by side:

* `python -c pass`                 — the interpreter alone;
* `python -c "import gradio"`      — Gradio's import, for comparison;
* `python -c "import app"`         — imports + building the Blocks (model loaded), no server;
* `python app.py`                  — until GET /gradio_api/info answers, and until the first
                                     /classify_upload request (raw REST API) returns a result;
* the same with MPLBACKEND=agg      — Gradio calls matplotlib.get_backend() around every event,
                                     which imports matplotlib.pyplot on the first request unless
                                     a backend is named.

One more start measures memory: the server's RSS after its first answer (the default model and its
layers file loaded), then after every model the page lists has answered an /inside request (each
loaded when first chosen, at most `reader.catalog.MAX_LOADED` at once), with the seconds the first
request to each newly chosen model took.

One more start, outside the medians, runs `python -X importtime app.py` through a first request to
record every module the app imports: TensorFlow and Keras must not be among them (the demo reads
only the ONNX file); the slowest imports are listed, and those paid by the first request.

Target (reported, never asserted): median `python app.py` → first answer <= 8 s.

    python benchmarks/startup.py            # 5 cold starts
    python benchmarks/startup.py --quick    # 2
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import (ROOT, AppServer, api_call, default_out, machine_info, print_table,  # noqa: E402
                               rss_kib, write_json, write_upload_pngs)

TARGET_S = 8.0
FORBIDDEN = ("tensorflow", "keras", "tf_keras", "torch", "jax")
IMPORT_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def child_env() -> dict:
    return {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}


def python_seconds(code: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=child_env(), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def first_answer(png: Path, log: Path, python_flags=(), env: dict | None = None, timeout: float = 180) -> dict:
    """Start `python app.py`, wait for HTTP, send one request; seconds from Popen to each."""
    import httpx
    with AppServer(log_path=log, python_flags=python_flags, env=env) as server:
        http_s = server.wait_http(timeout=timeout)
        with httpx.Client(timeout=60) as http:
            outputs = api_call(http, server.url, "classify_upload", png, "file", fetch_outputs=False)
        answer_s = time.perf_counter() - server.started_at
    label = outputs[0].get("label") if outputs and isinstance(outputs[0], dict) else None
    return {"http_s": http_s, "answer_s": answer_s, "label": label}


def memory_with_every_model(png: Path, log: Path) -> dict:
    """RSS (MiB) after the first answer, and after each listed model answered /inside (newly loaded)."""
    import httpx
    with AppServer(log_path=log, extra_args=()) as server:
        server.wait_http()
        with httpx.Client(timeout=60) as http:
            api_call(http, server.url, "inside", png, "file", fetch_outputs=False)
            first = rss_kib(server.pid) / 1024
            listing = api_call_models(http, server.url)
            steps = []
            for entry in listing["models"]:
                started = time.perf_counter()
                api_call(http, server.url, "inside", png, "file", fetch_outputs=False, model=entry["key"])
                steps.append({"model": entry["key"], "first_request_s": time.perf_counter() - started,
                              "rss_mib": rss_kib(server.pid) / 1024})
            loaded = api_call_models(http, server.url)["loaded"]
    return {"default": listing["default"], "rss_after_first_answer_mib": first, "per_model": steps,
            "loaded_at_end": loaded, "loaded_at_most": listing["loaded_at_most"]}


def api_call_models(http, url: str) -> dict:
    """The /models endpoint's answer (raw HTTP: call, then its event stream)."""
    import json
    api = url.rstrip("/") + "/gradio_api"
    event_id = http.post(f"{api}/call/models", json={"data": []}).json()["event_id"]
    with http.stream("GET", f"{api}/call/models/{event_id}") as stream:
        for line in stream.iter_lines():
            if line.startswith("data:") and "models" in line:
                return json.loads(line.split(":", 1)[1])[0]
    raise RuntimeError("no answer from /models")


def imported_modules(log: Path) -> list[tuple[str, float, int, bool]]:
    """(module, cumulative seconds, nesting level, imported after the server printed its URL)
    from a -X importtime log (stdout and stderr unbuffered into one file, so the order holds)."""
    modules, launched = [], False
    for line in log.read_text(errors="replace").splitlines():
        launched = launched or "Running on local URL" in line
        match = IMPORT_LINE.match(line)
        if match:
            modules.append((match.group(4), int(match.group(2)) / 1e6, len(match.group(3)) // 2, launched))
    return modules


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 cold starts instead of 5")
    parser.add_argument("--out", default=default_out("startup"), help="JSON output (default: %(default)s)")
    parser.add_argument("-n", "--starts", type=int, help="cold starts (default 5, --quick 2)")
    args = parser.parse_args(argv)
    starts = args.starts or (2 if args.quick else 5)

    workdir = Path(tempfile.mkdtemp(prefix="lenet-startup-"))
    png, label = write_upload_pngs(workdir, 1)[0]
    import httpx  # noqa: F401  (the client's own import is not the server's start-up)

    measured = {"python -c pass": [], "import gradio": [], "import app (build, no launch)": [],
                "app.py → HTTP ready": [], "app.py → first API answer": [],
                "app.py → first API answer, MPLBACKEND=agg": []}
    answers = []
    for i in range(starts):
        print(f"round {i + 1}/{starts} ...", flush=True)
        measured["python -c pass"].append(python_seconds("pass"))
        measured["import gradio"].append(python_seconds("import gradio"))
        measured["import app (build, no launch)"].append(python_seconds("import app"))
        for variant in (("plain", "agg") if i % 2 == 0 else ("agg", "plain")):  # alternate who goes first
            if variant == "plain":
                result = first_answer(png, workdir / f"app-{i}.log")
                measured["app.py → HTTP ready"].append(result["http_s"])
                measured["app.py → first API answer"].append(result["answer_s"])
                answers.append(result["label"])
            else:
                result = first_answer(png, workdir / f"app-agg-{i}.log", env={"MPLBACKEND": "agg"})
                measured["app.py → first API answer, MPLBACKEND=agg"].append(result["answer_s"])

    print("one more start for memory with every listed model ...", flush=True)
    memory = memory_with_every_model(png, workdir / "app-memory.log")

    print("one more start with python -X importtime ...", flush=True)
    trace_log = workdir / "importtime.log"
    traced = first_answer(png, trace_log, python_flags=("-X", "importtime"))
    modules = imported_modules(trace_log)
    names = {name for name, *_ in modules}
    forbidden = sorted(name for name in names if name.split(".")[0] in FORBIDDEN)
    top_level = sorted(((n, s) for n, s, level, _ in modules if level == 0), key=lambda x: -x[1])[:12]
    late = sorted(((n, s) for n, s, level, after in modules if level == 0 and after), key=lambda x: -x[1])
    late_s = sum(s for _, s in late)

    stats = {name: {"median_s": float(np.median(v)), "min_s": float(np.min(v)), "max_s": float(np.max(v)),
                    "first_s": v[0], "all_s": v} for name, v in measured.items()}
    base = stats["import gradio"]["median_s"]
    rows = [[name, s["median_s"], s["min_s"], s["max_s"], s["first_s"], s["median_s"] / base]
            for name, s in stats.items()]
    print_table(["", "median s", "min s", "max s", "1st run s", "× import gradio"], rows,
                title=f"Start-up over {starts} rounds (fresh processes, warm file cache after round 1)")
    answer = stats["app.py → first API answer"]["median_s"]
    print(f"\nMedian python app.py → first API answer: {answer:.2f} s (target <= {TARGET_S:.0f} s: "
          f"{'met' if answer <= TARGET_S else 'NOT met'}). Answers: {answers} (true label {label}).")
    print(f"TensorFlow/Keras imported by the app: {'YES: ' + ', '.join(forbidden) if forbidden else 'no'} "
          f"({len(names)} modules imported through the first request; traced start {traced['answer_s']:.1f} s, "
          f"-X importtime adds its own overhead).")
    print_table(["slowest top-level imports (traced run)", "cumulative s"], [[n, s] for n, s in top_level])
    print(f"Imported only after the server was up (paid by the first request): {len(late)} top-level imports, "
          f"{late_s:.2f} s traced: " + ", ".join(f"{n} {s:.2f} s" for n, s in late[:6]))
    print_table(["after /inside with model", "first request s", "server RSS MiB"],
                [["(first answer, default " + memory["default"] + ")", "", memory["rss_after_first_answer_mib"]]]
                + [[step["model"], step["first_request_s"], step["rss_mib"]] for step in memory["per_model"]],
                title=f"Memory with every listed model (at most {memory['loaded_at_most']} loaded at once; "
                      f"loaded at the end: {', '.join(memory['loaded_at_end'])})")
    agg = stats["app.py → first API answer, MPLBACKEND=agg"]["median_s"]
    print(f"MPLBACKEND=agg (Gradio wraps every event in matplotlib.get_backend()/use('agg'); with the backend "
          f"named, matplotlib.pyplot is not imported): first answer ×{agg / answer:.2f} of the plain start.")

    write_json(args.out, {
        "benchmark": "startup", "quick": args.quick, "machine": machine_info(python_executable=sys.executable),
        "targets": {"first_answer_median_s_max": TARGET_S},
        "settings": {"starts": starts, "request": "POST /gradio_api/upload + /gradio_api/call/classify_upload",
                     "env": {"GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_SERVER_NAME": "127.0.0.1",
                             "GRADIO_SERVER_PORT": "a free port per start"}},
        "results": stats, "answers": answers, "true_label": label, "memory": memory,
        "imports": {"tensorflow_or_keras_imported": bool(forbidden), "forbidden_found": forbidden,
                    "module_count": len(names), "slowest_top_level": top_level,
                    "imported_after_launch": late, "imported_after_launch_s": late_s,
                    "traced_start_s": traced["answer_s"]},
    })
    shutil.rmtree(workdir, ignore_errors=True)  # kept only when the run failed (logs inside)
    return 0


if __name__ == "__main__":
    sys.exit(main())
