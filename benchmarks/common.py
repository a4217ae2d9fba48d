"""Shared helpers for the benchmark scripts: machine facts, percentiles, tables, JSON, real MNIST
canvases and a `python app.py` server that is always killed.

Nothing here times anything by itself and nothing asserts on time: the scripts report numbers
and ratios measured side by side in one run; the targets are printed next to them, never enforced.
"""

import datetime
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FP32_MODEL = ROOT / "artifacts" / "robust" / "lenet.onnx"   # the model the demo serves
INT8_MODEL = ROOT / "artifacts" / "robust" / "lenet-int8.onnx"
KERAS_MODEL = ROOT / "artifacts" / "robust" / "model.keras"
MFLOP_PER_IMAGE = 13.0  # 6.52 M multiply-adds per LeNet forward pass, counted from the layer shapes
CANVAS = 280            # the app's Sketchpad canvas_size


# --- machine and results -------------------------------------------------------------------------

def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine_info(**extra) -> dict:
    """What the numbers were taken on. The load average tells a busy machine from a quiet one."""
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "hostname": platform.node(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average_1_5_15_min": load_average(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "env": {key: os.environ.get(key) for key in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS",
                                                     "OMP_NUM_THREADS", "LENET_CONCURRENCY", "LENET_PROVIDERS")},
    }
    try:
        import onnxruntime
        info["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        info["onnxruntime"] = None
    info.update(extra)
    return info


def summary(values_s, scale: float = 1000.0) -> dict:
    """Median and percentiles of durations in seconds, reported in ms (scale=1000)."""
    values = np.asarray(values_s, dtype=np.float64) * scale
    if values.size == 0:
        return {"n": 0}
    p = np.percentile(values, [50, 90, 95, 99])
    return {"n": int(values.size), "p50": float(p[0]), "p90": float(p[1]), "p95": float(p[2]),
            "p99": float(p[3]), "min": float(values.min()), "max": float(values.max()),
            "mean": float(values.mean())}


def print_table(headers: list[str], rows: list[list], title: str | None = None) -> None:
    def cell(value):
        if isinstance(value, float):
            return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
        return "" if value is None else str(value)
    text = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in text)) if text else len(h) for i, h in enumerate(headers)]
    if title:
        print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for row in text:
        print("  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(row, widths))))


def write_json(path: str | Path, data: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))
    print(f"\nwrote {path}")
    return path


def default_out(name: str) -> str:
    return str(RESULTS / f"{name}.json")


# --- real MNIST digits drawn on the app's canvas -------------------------------------------------

def mnist_test_digits(count: int, start: int = 0):
    """`count` real MNIST test images (uint8 28×28) and labels, from the verified cache."""
    from lenet.data import load_mnist
    _, (x_test, y_test) = load_mnist()
    return x_test[start:start + count], y_test[start:start + count]


def canvas_png(digit: np.ndarray, path: Path, size: int = CANVAS) -> Path:
    """A real MNIST digit drawn large, as the browser's Sketchpad sends it: RGBA `size`², alpha 255
    everywhere, white background, black strokes with soft (anti-aliased) edges."""
    from PIL import Image
    big = Image.fromarray(digit).resize((size, size), Image.Resampling.BILINEAR)
    ink = np.clip((np.asarray(big, np.float32) / 255 - 0.25) / 0.35, 0, 1)  # pen-like: solid core
    grey = np.rint(255 * (1 - ink)).astype(np.uint8)
    rgba = np.dstack([grey, grey, grey, np.full_like(grey, 255)])
    Image.fromarray(rgba, "RGBA").save(path)
    return path


def write_canvases(folder: Path, count: int) -> list[tuple[Path, int]]:
    """PNG canvases of the first `count` MNIST test digits; [(path, true label)]."""
    folder.mkdir(parents=True, exist_ok=True)
    digits, labels = mnist_test_digits(count)
    return [(canvas_png(d, folder / f"canvas_{i:03d}_{int(y)}.png"), int(y)) for i, (d, y) in enumerate(zip(digits, labels))]


def write_upload_pngs(folder: Path, count: int, start: int = 100) -> list[tuple[Path, int]]:
    """Plain 28×28 MNIST test images as PNG files (what the Upload tab gets); [(path, label)]."""
    from PIL import Image
    folder.mkdir(parents=True, exist_ok=True)
    digits, labels = mnist_test_digits(count, start)
    out = []
    for i, (d, y) in enumerate(zip(digits, labels)):
        path = folder / f"upload_{i:03d}_{int(y)}.png"
        Image.fromarray(d).save(path)
        out.append((path, int(y)))
    return out


# --- the app as a subprocess ---------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int | None:
    """Resident set size of `pid` in KiB (psutil if installed, else /proc/PID/status VmRSS)."""
    try:
        import psutil
        return psutil.Process(pid).memory_info().rss // 1024
    except ImportError:
        pass
    except Exception:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class AppServer:
    """`python app.py` on 127.0.0.1:<free port>, in its own process group; killed on exit.

    Use as a context manager. `start()` returns at once; `wait_http(timeout)` waits until the page
    answers. The process group is killed in `stop()`, which `__exit__`, an atexit hook and SIGTERM
    all call, so no server outlives the benchmark.
    """

    def __init__(self, python: str = sys.executable, extra_args=("--model", str(FP32_MODEL)), env: dict | None = None,
                 log_path: Path | None = None, python_flags=()):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.command = [python, *python_flags, str(ROOT / "app.py"), *extra_args]
        self.env = {**os.environ, "GRADIO_SERVER_PORT": str(self.port), "GRADIO_SERVER_NAME": "127.0.0.1",
                    "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1", **(env or {})}
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.started_at = None

    def start(self) -> "AppServer":
        import atexit
        log = open(self.log_path, "wb") if self.log_path else subprocess.DEVNULL
        self.started_at = time.perf_counter()
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        if self.log_path:
            log.close()
        atexit.register(self.stop)
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # runs finally blocks and atexit
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_http(self, timeout: float = 120.0, path: str = "gradio_api/info") -> float:
        """Seconds from start until GET `path` answers 200; raises if the server dies or times out."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if not self.alive():
                raise RuntimeError(f"app.py exited with code {self.process.returncode}{self._log_tail()}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=2) as response:
                    if response.status == 200:
                        return time.perf_counter() - self.started_at
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"app.py did not answer within {timeout:.0f} s{self._log_tail()}")

    def _log_tail(self) -> str:
        if self.log_path and Path(self.log_path).exists():
            return "; log tail:\n" + Path(self.log_path).read_text(errors="replace")[-2000:]
        return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)  # our own process group (start_new_session)
            self.process.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def sketch_value(file_data) -> dict:
    """A Sketchpad value as the API takes it: the canvas as the composite, no layers."""
    return {"background": file_data, "layers": [], "composite": file_data}


# --- a raw HTTP client for Gradio's queue API (what a browser or curl does) ----------------------

class ApiError(RuntimeError):
    """The server answered, but not with a result (an `error` event, a bad status, no answer);
    `refusal` is the server's own sentence when it answered an event with an error."""

    def __init__(self, text: str, refusal: str | None = None):
        super().__init__(text)
        self.refusal = refusal


def file_data(server_path: str, name: str) -> dict:
    return {"path": server_path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}


def api_call(http, base_url: str, endpoint: str, png: Path, kind: str, fetch_outputs: bool = True,
             max_seconds: float | None = None, model: str | None = None, session: str | None = None) -> list:
    """One request through Gradio's REST queue API with an `httpx.Client`:

    POST /gradio_api/upload (the PNG) → POST /gradio_api/call/<endpoint> → read the SSE stream
    GET /gradio_api/call/<endpoint>/<event_id> until `complete` → GET the output images (as a page
    would). `kind` is "sketch" (the file sent as a Sketchpad value) or "file". Returns the outputs;
    raises ApiError naming the step that failed. Each read is bounded by the client's timeout;
    `max_seconds` also bounds the wait on the event stream (checked at each line, and Gradio sends
    a heartbeat line every few seconds). `model` is the endpoint's optional model choice (a key of
    /models; None: the server's default). `session` is the session hash a page keeps for its visitor
    (None: Gradio makes a new session for each call, as for an API client that sends none).
    """
    started = time.perf_counter()
    api = base_url.rstrip("/") + "/gradio_api"
    step = "upload"
    try:
        response = http.post(f"{api}/upload", files={"files": (png.name, png.read_bytes(), "image/png")})
        response.raise_for_status()
        uploaded = file_data(response.json()[0], png.name)
        data = [sketch_value(uploaded)] if kind == "sketch" else [uploaded]
        data += [model] if model is not None else []
        step = "call"
        response = http.post(f"{api}/call/{endpoint}", json={"data": data} | ({"session_hash": session} if session else {}))
        response.raise_for_status()
        event_id = response.json()["event_id"]
        step = "stream"
        event, outputs = None, None
        with http.stream("GET", f"{api}/call/{endpoint}/{event_id}") as stream:
            stream.raise_for_status()
            for line in stream.iter_lines():
                if max_seconds is not None and time.perf_counter() - started > max_seconds:
                    raise ApiError(f"no result within {max_seconds:.0f} s")
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    payload = line.split(":", 1)[1].strip()
                    if event == "error":
                        raise ApiError(f"error event: {payload[:300]}")
                    outputs = json.loads(payload)
                    break
        if outputs is None:
            raise ApiError("the event stream ended without a result")
        step = "fetch outputs"
        if fetch_outputs:
            for item in outputs:
                if isinstance(item, dict) and item.get("url"):
                    http.get(item["url"]).raise_for_status()
        return outputs
    except Exception as error:
        raise ApiError(f"{step}: {type(error).__name__}: {error}") from error


def page_event(base_url: str, elem_class: str, event: str = "change") -> tuple[int, int]:
    """(fn_index, trigger_id) of the page's `event` on the block with CSS class `elem_class`, read
    from the page's /config as the browser reads it (the page's own events are not named API
    endpoints)."""
    import httpx
    config = httpx.get(base_url.rstrip("/") + "/config", timeout=30).json()
    ids = [c["id"] for c in config["components"] if elem_class in (c.get("props", {}).get("elem_classes") or [])]
    for dependency in config["dependencies"]:
        for target, name in dependency.get("targets", []):
            if target in ids and name == event:
                return dependency["id"], target
    raise LookupError(f"no {event} event on a block of class {elem_class!r}")


def load_events(base_url: str) -> list[tuple[int, int]]:
    """(fn_index, trigger_id) of each event the page runs as it opens (its load events), from /config."""
    import httpx
    config = httpx.get(base_url.rstrip("/") + "/config", timeout=30).json()
    return [(dependency["id"], target) for dependency in config["dependencies"]
            for target, name in dependency.get("targets", []) if name == "load"]


def open_page(http, base_url: str, events: list[tuple[int, int]], session: str) -> None:
    """What a browser sends as the page opens, beside its files: each load event, unqueued, as
    POST /gradio_api/run/predict with the visitor's session hash (the page's heartbeat is left out)."""
    for fn_index, trigger in events:
        response = http.post(base_url.rstrip("/") + "/gradio_api/run/predict",
                             json={"data": [], "event_data": None, "fn_index": fn_index, "trigger_id": trigger,
                                   "session_hash": session})
        response.raise_for_status()


def join_event(http, base_url: str, event: tuple[int, int], data: list, session: str,
               max_seconds: float | None = None) -> list:
    """One event as the page sends it: POST /gradio_api/queue/join (the data inline, the visitor's
    session hash) → read the session's event stream GET /gradio_api/queue/data until this event's
    `process_completed`. Returns the outputs; raises ApiError naming the step that failed."""
    started = time.perf_counter()
    api = base_url.rstrip("/") + "/gradio_api"
    step = "join"
    try:
        response = http.post(f"{api}/queue/join", json={"data": data, "event_data": None, "fn_index": event[0],
                                                        "trigger_id": event[1], "session_hash": session})
        response.raise_for_status()
        event_id = response.json()["event_id"]
        step = "stream"
        with http.stream("GET", f"{api}/queue/data", params={"session_hash": session}) as stream:
            stream.raise_for_status()
            for line in stream.iter_lines():
                if max_seconds is not None and time.perf_counter() - started > max_seconds:
                    raise ApiError(f"no result within {max_seconds:.0f} s")
                if not line.startswith("data:"):
                    continue
                message = json.loads(line.split(":", 1)[1])
                if message.get("event_id") == event_id and message.get("msg") == "process_completed":
                    if not message.get("success"):
                        output = message.get("output") or {}
                        raise ApiError(f"error: {str(output)[:300]}", refusal=output.get("error"))
                    return message["output"]["data"]
        raise ApiError("the event stream ended without a result")
    except ApiError:
        raise
    except Exception as error:
        raise ApiError(f"{step}: {type(error).__name__}: {error}") from error
