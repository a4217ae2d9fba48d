"""Load test on loopback: 32 concurrent clients against `python app.py` for a fixed time.

Starts the app as a subprocess on 127.0.0.1 (a free port), then runs `--clients` threads, each with
its own `httpx.Client`, sending a mix of sketch requests (/classify_sketch: a 280×280 RGBA canvas
of a real MNIST test digit) and upload requests (/classify_upload: a 28×28 MNIST PNG) through
Gradio's REST queue API — upload → call → event stream → output images, as a page does — for
`--duration` seconds. Raw HTTP rather than gradio_client: one light client per thread, no
per-client config and API-info fetches, explicit timeouts.

Bounded: no request starts after the duration; each request gives up after `--timeout` s; threads
are daemons joined with a deadline; the server's process group is killed at the end whatever
happens (also on Ctrl-C / SIGTERM).

Inputs: `--inputs` distinct digits per kind (default 400: real drawings are rarely identical). A
small number (e.g. `--inputs 5`) reproduces many users sending the same example at once, which
makes identical output images: Gradio 6.31 writes numpy/PIL outputs to a content-addressed cache
file with a plain, non-atomic write (processing_utils.save_pil_to_cache), so a request can fetch
that file while another request rewrites it ("Too little/much data for declared Content-Length"
in the server log, a truncated download here). `--concurrency 1,4` runs one server per
LENET_CONCURRENCY value, one after the other, and compares them.

Hostile mix (`--hostile-share`, default 0.1): a second server gets the same load with that share of
requests replaced by what an attacker sends — the costliest pictures the limits accept
(tests/hostile_inputs.py: 16 Mpx PNG/TIFF/GIF/WebP in wide modes), pictures that breach the decode
budget (a progressive JPEG of 3,000 scans, a TIFF of 2 million tiles, one-pixel BMP RLE runs, a PNG
of 770,000 chunks), pictures refused from their header (1 × 40,000,000 pixels), and requests naming
server files or a URL (under .invalid: nothing is fetched) — and the normal requests' p50/p99 and
failures are reported side by side with the run without it.

Reports requests done and failed (target 0 failed), latency p50/p95/p99 per kind, throughput, the
time the server itself reports per request (so queueing shows as the difference), wrong answers,
server RSS at start / after warm-up / peak / end (psutil if installed, else /proc/PID/status VmRSS),
the CPU the server and the load generator each used (they share the machine's cores), and the disk
the server's cache folder uses before, at its peak and after (against its quota).

    python benchmarks/load.py                 # 60 s without, then 60 s with the hostile mix
    python benchmarks/load.py --quick         # 10 s each
    python benchmarks/load.py --quick --inputs 5 --concurrency 1,4 --hostile-share 0
"""

import argparse
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import (ROOT, AppServer, api_call, default_out, machine_info, print_table, rss_kib,  # noqa: E402
                               summary, write_canvases, write_json, write_upload_pngs)
from demo.cache_folder import CACHE_QUOTA_BYTES  # noqa: E402

SERVER_MS = re.compile(r"([0-9.]+) ms on")
TARGET_FAILED = 0


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process, from /proc/PID/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.records = []  # (kind, started, seconds, ok, error, server_ms, correct)

    def add(self, *record):
        with self.lock:
            self.records.append(record)


def hostile_cases(workdir: Path) -> list[tuple[str, Path | None]]:
    """(name, file to upload or None for a path probe): the worst pictures within the limits, one
    refused from its header, and requests that name files on the server."""
    from tests.hostile_inputs import costly_to_decode, png_claiming, worst_cases
    folder = workdir / "hostile"
    folder.mkdir(exist_ok=True)
    cases = []
    pictures = {**worst_cases(), **costly_to_decode(), "strip_1x40000000.png": png_claiming(1, 40_000_000)}
    for name, data in pictures.items():
        (folder / name).write_bytes(data)
        cases.append((name, folder / name))
    return cases + [("path:/etc/passwd", None), (f"path:{ROOT / 'app.py'}", None),
                    ("path:https://lenet-probe.invalid/7.png", None)]


def hostile_call(http, url: str, case: tuple[str, Path | None], timeout: float) -> str:
    """Send one hostile request; "answered" or "refused" (an error event); raises on a transport failure."""
    from benchmarks.common import ApiError, file_data
    name, path = case
    if path is not None:
        try:
            api_call(http, url, "classify_upload", path, "file", fetch_outputs=False, max_seconds=timeout)
            return "answered"
        except ApiError as error:
            if "error event" in str(error):
                return "refused"
            raise
    api = url.rstrip("/") + "/gradio_api"
    response = http.post(f"{api}/call/classify_upload", json={"data": [file_data(name.split(":", 1)[1], "x.png")]})
    response.raise_for_status()
    with http.stream("GET", f"{api}/call/classify_upload/{response.json()['event_id']}") as stream:
        for line in stream.iter_lines():
            if line.startswith("event: error"):
                return "refused"
            if line.startswith("event: complete"):
                raise RuntimeError(f"a request naming {name} was answered")
    raise RuntimeError("no result")


def worker(index: int, url: str, canvases, uploads, sketch_share: float, deadline: float, timeout: float,
           recorder: Recorder, stop: threading.Event, hostile=(), hostile_share: float = 0.0):
    import httpx
    rng = random.Random(index)
    address = {"x-forwarded-for": f"198.51.100.{index % 250 + 1}"}  # documentation range; nothing is sent there
    with httpx.Client(timeout=httpx.Timeout(timeout, connect=10), headers=address) as http:
        while not stop.is_set() and time.perf_counter() < deadline:
            if hostile and rng.random() < hostile_share:
                started = time.perf_counter()
                try:
                    outcome = hostile_call(http, url, rng.choice(hostile), timeout)
                    recorder.add("hostile", started, time.perf_counter() - started, True, outcome, None, None)
                except Exception as error:
                    recorder.add("hostile", started, time.perf_counter() - started, False,
                                 f"{type(error).__name__}: {str(error)[:200]}", None, None)
                continue
            kind = "sketch" if rng.random() < sketch_share else "upload"
            path, label = rng.choice(canvases if kind == "sketch" else uploads)
            endpoint = "classify_sketch" if kind == "sketch" else "classify_upload"
            started = time.perf_counter()
            try:
                outputs = api_call(http, url, endpoint, path, "sketch" if kind == "sketch" else "file",
                                   max_seconds=timeout)
                seconds = time.perf_counter() - started
                match = SERVER_MS.search(str(outputs[1]))
                predicted = outputs[0].get("label") if isinstance(outputs[0], dict) else None
                recorder.add(kind, started, seconds, True, None, float(match.group(1)) if match else None,
                             predicted == str(label))
            except Exception as error:  # every failure is counted, none stops the test
                recorder.add(kind, started, time.perf_counter() - started, False,
                             f"{type(error).__name__}: {str(error)[:200]}", None, None)


def folder_bytes(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        try:
            total += path.lstat().st_size if path.is_file() else 0
        except OSError:
            pass
    return total


def monitor(pid: int, samples: list, stop: threading.Event, cache_base: Path, disk: list, every: float = 0.5):
    while not stop.wait(every):
        samples.append((time.perf_counter(), rss_kib(pid)))
        disk.append(folder_bytes(cache_base))


def run_load(args, duration: float, concurrency: str | None, canvases, uploads, workdir: Path,
             hostile=(), hostile_share: float = 0.0) -> dict:
    """One server, `args.clients` clients for `duration` s; the server is killed whatever happens."""
    import httpx
    label = f"{concurrency or 'default'}-{'hostile' if hostile_share else 'normal'}"
    cache_base = workdir / f"gradio-{label}"
    # As behind a Space's proxy: each client its own address (X-Forwarded-For), so the upload share per
    # address applies to each client rather than to all of them on 127.0.0.1 together.
    env = {"GRADIO_TEMP_DIR": str(cache_base), "LENET_PROXY_HOPS": "1", "LENET_ALLOWED_HOSTS": "127.0.0.1",
           **({"LENET_CONCURRENCY": concurrency} if concurrency else {})}
    server = AppServer(log_path=workdir / f"app-{label}.log", env=env)
    recorder, stop = Recorder(), threading.Event()
    rss_samples: list = []
    disk_samples: list = []
    try:
        server.start()
        ready_s = server.wait_http(timeout=180)
        rss_start = rss_kib(server.pid)
        with httpx.Client(timeout=60) as http:  # warm-up: first-request imports, ONNX Runtime's first run
            for kind, (path, _) in (("sketch", canvases[0]), ("file", uploads[0])) * 2:
                api_call(http, server.url, "classify_sketch" if kind == "sketch" else "classify_upload", path, kind)
        rss_warm = rss_kib(server.pid)
        disk_start = folder_bytes(cache_base)
        cpu_server_0, cpu_self_0 = cpu_seconds(server.pid), time.process_time()
        watcher = threading.Thread(target=monitor, args=(server.pid, rss_samples, stop, cache_base, disk_samples),
                                   daemon=True)
        watcher.start()
        print(f"\nserver pid {server.pid} (LENET_CONCURRENCY={concurrency or 'app default'}) ready after {ready_s:.1f} s "
              f"at {server.url}; {args.clients} clients for {duration:.0f} s ({args.sketch_share:.0%} sketch, "
              f"{len(canvases)} canvases, {len(uploads)} uploads, {hostile_share:.0%} hostile) ...", flush=True)
        started = time.perf_counter()
        deadline = started + duration
        threads = [threading.Thread(target=worker, daemon=True,
                                    args=(i, server.url, canvases, uploads, args.sketch_share, deadline, args.timeout,
                                          recorder, stop, hostile, hostile_share)) for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=max(0.0, deadline + args.timeout + 10 - time.perf_counter()))
        stop.set()
        elapsed = time.perf_counter() - started
        stuck = sum(t.is_alive() for t in threads)
        cpu_server = (cpu_seconds(server.pid) or 0) - (cpu_server_0 or 0)
        cpu_self = time.process_time() - cpu_self_0
        rss_end = rss_kib(server.pid)
        disk_end = folder_bytes(cache_base)
        server_alive = server.alive()
    finally:
        stop.set()
        server.stop()
    disk_after_exit = folder_bytes(cache_base)

    records = list(recorder.records)
    hostile_records = [r for r in records if r[0] == "hostile"]
    records = [r for r in records if r[0] != "hostile"]
    ok = [r for r in records if r[3]]
    failed = [r for r in records if not r[3]]
    errors = {}
    for r in failed:
        errors[r[4]] = errors.get(r[4], 0) + 1
    by_kind = {}
    for kind in ("sketch", "upload"):
        mine = [r for r in ok if r[0] == kind]
        by_kind[kind] = {"done": len(mine), "failed": sum(1 for r in failed if r[0] == kind),
                         "latency_ms": summary([r[2] for r in mine]),
                         "server_reported_ms": summary([r[5] / 1000 for r in mine if r[5] is not None])}
    latency = summary([r[2] for r in ok])
    wrong = sum(1 for r in ok if r[6] is False)
    rss_peak = max([kib for _, kib in rss_samples if kib] + [rss_end or 0, rss_warm or 0])
    result = {
        "concurrency": concurrency or "app default", "requests_done": len(ok), "requests_failed": len(failed),
        "wrong_answers": wrong, "requests_per_s": len(ok) / elapsed, "elapsed_s": elapsed,
        "threads_still_running": stuck, "latency_ms": latency, "by_kind": by_kind, "errors": errors,
        "server_ready_s": ready_s, "server_alive_at_end": server_alive,
        "rss_mib": {"start": (rss_start or 0) / 1024, "after_warmup": (rss_warm or 0) / 1024,
                    "peak": rss_peak / 1024, "end": (rss_end or 0) / 1024},
        "rss_samples_mib": [(round(t - started, 2), kib / 1024) for t, kib in rss_samples if kib],
        "cpu_cores_used": {"server": cpu_server / elapsed, "load_generator": cpu_self / elapsed},
        "hostile_share": hostile_share,
        "hostile": {"sent": len(hostile_records), "answered": sum(1 for r in hostile_records if r[4] == "answered"),
                    "refused": sum(1 for r in hostile_records if r[4] == "refused"),
                    "failed": [r[4] for r in hostile_records if not r[3]][:20],
                    "latency_ms": summary([r[2] for r in hostile_records if r[3]])},
        "disk_mib": {"start": disk_start / 2**20, "peak": max(disk_samples + [disk_end]) / 2**20, "end": disk_end / 2**20,
                     "after_exit": disk_after_exit / 2**20, "quota": CACHE_QUOTA_BYTES / 2**20,
                     "requests": len(records) + len(hostile_records)},
    }

    rows = [["all", len(ok), len(failed), latency.get("p50"), latency.get("p95"), latency.get("p99"), len(ok) / elapsed]]
    rows += [[kind, v["done"], v["failed"], v["latency_ms"].get("p50"), v["latency_ms"].get("p95"),
              v["latency_ms"].get("p99"), v["done"] / elapsed] for kind, v in by_kind.items()]
    print_table(["requests", "done", "failed", "p50 ms", "p95 ms", "p99 ms", "per s"], rows,
                title=f"{args.clients} clients × {elapsed:.1f} s on loopback, LENET_CONCURRENCY={result['concurrency']}")
    for kind, v in by_kind.items():
        s = v["server_reported_ms"]
        if s.get("n"):
            print(f"{kind}: server-reported read_digit p50 {s['p50']:.1f} ms, p95 {s['p95']:.1f} ms "
                  f"(the rest of the {v['latency_ms']['p50']:.0f} ms p50 is queueing, HTTP and Gradio)")
    print(f"failed: {len(failed)} (target {TARGET_FAILED}: {'met' if len(failed) <= TARGET_FAILED else 'NOT met'})"
          + (f"; errors: {errors}" if errors else "") + f"; wrong answers: {wrong}; threads still running at the end: {stuck}")
    r = result["rss_mib"]
    print(f"server RSS: start {r['start']:.0f} MiB, after warm-up {r['after_warmup']:.0f} MiB, peak {r['peak']:.0f} MiB, "
          f"end {r['end']:.0f} MiB; CPU cores used: server {result['cpu_cores_used']['server']:.2f}, "
          f"load generator {result['cpu_cores_used']['load_generator']:.2f} (of {os.cpu_count()})")
    h, d = result["hostile"], result["disk_mib"]
    if hostile_records:
        print(f"hostile requests: {h['sent']} sent, {h['answered']} answered, {h['refused']} refused, "
              f"{len(h['failed'])} failed" + (f" ({h['failed'][:3]})" if h["failed"] else ""))
    print(f"cache folder after {d['requests']} requests: start {d['start']:.1f} MiB, peak {d['peak']:.1f} MiB, "
          f"end {d['end']:.1f} MiB (quota {d['quota']:.0f} MiB); after the server stopped: {d['after_exit']:.1f} MiB")
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 s instead of 60 s")
    parser.add_argument("--out", default=default_out("load"), help="JSON output (default: %(default)s)")
    parser.add_argument("--duration", type=float, help="seconds of load (default 60, --quick 10)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default: %(default)s)")
    parser.add_argument("--sketch-share", type=float, default=0.7, help="share of sketch requests (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before a request counts as failed "
                                                                     "(default: %(default)s)")
    parser.add_argument("--inputs", type=int, default=400,
                        help="distinct MNIST digits per kind (default: %(default)s; drawings are rarely identical — "
                             "a small number, e.g. 5, reproduces many users sending the same example)")
    parser.add_argument("--concurrency", help="comma-separated LENET_CONCURRENCY values to compare, one server each, "
                                              "e.g. 1,4 (default: the app's own default only)")
    parser.add_argument("--hostile-share", type=float, default=0.1,
                        help="share of hostile requests in a second run beside the normal one (0: no such run; "
                             "default: %(default)s)")
    args = parser.parse_args(argv)
    duration = args.duration or (10.0 if args.quick else 60.0)

    workdir = Path(tempfile.mkdtemp(prefix="lenet-load-"))
    canvases = write_canvases(workdir / "canvas", args.inputs)
    uploads = write_upload_pngs(workdir / "upload", args.inputs, start=5000)
    values = [v.strip() for v in args.concurrency.split(",")] if args.concurrency else [None]
    results = [run_load(args, duration, value, canvases, uploads, workdir) for value in values]
    if args.hostile_share > 0:
        hostile = hostile_cases(workdir)
        mixed = run_load(args, duration, values[0], canvases, uploads, workdir, hostile, args.hostile_share)
        base = results[0]
        print_table(["run", "normal done", "normal failed", "p50 ms", "p99 ms", "hostile sent", "hostile failed",
                     "peak RSS MiB", "peak disk MiB"],
                    [[name, r["requests_done"], r["requests_failed"], r["latency_ms"].get("p50"),
                      r["latency_ms"].get("p99"), r["hostile"]["sent"], len(r["hostile"]["failed"]),
                      r["rss_mib"]["peak"], r["disk_mib"]["peak"]]
                     for name, r in (("normal only", base), (f"{args.hostile_share:.0%} hostile", mixed))],
                    title="Normal requests without and with the hostile mix (servers run one after the other)")
        results.append(mixed)
    if len(results) > 1 and args.concurrency:
        base = results[0]
        print_table(["LENET_CONCURRENCY", "done/s", "× first", "p50 ms", "p99 ms", "failed", "server cores"],
                    [[r["concurrency"], r["requests_per_s"], r["requests_per_s"] / base["requests_per_s"],
                      r["latency_ms"].get("p50"), r["latency_ms"].get("p99"), r["requests_failed"],
                      r["cpu_cores_used"]["server"]] for r in results],
                    title="Comparison (servers run one after the other in this run)")

    write_json(args.out, {"benchmark": "load", "quick": args.quick, "machine": machine_info(),
                          "targets": {"requests_failed_max": TARGET_FAILED},
                          "settings": {"clients": args.clients, "duration_s": duration, "sketch_share": args.sketch_share,
                                       "timeout_s": args.timeout, "distinct_inputs_per_kind": args.inputs,
                                       "client": "httpx, Gradio REST queue API, one client per thread"},
                          "results": results if len(results) > 1 else results[0]})
    if any(r["requests_failed"] or r["hostile"]["failed"] for r in results):
        print(f"server logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)  # kept when a request or the run failed (logs inside)
    return 0


if __name__ == "__main__":
    sys.exit(main())
