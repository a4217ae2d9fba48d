"""A classroom on loopback: students drawing at once on the page, beside the usual Gradio MNIST demo.

Both servers run in turn in this one run, on the same machine, with the same model
(benchmarks/usual_demo.py is the usual demo: `gr.Interface(fn, gr.Sketchpad(), gr.Label())`).
Each student or client keeps one session, as a page does, and sends what its page sends:

- before the class, untimed, the teacher opens the page and draws one digit on each server (a
  fresh process's first answers load code and sessions once), and every page payload is made
  before the run (a browser makes its canvas on its own machine, not on the server's cores);
- both: the page opens (the project's page sends its load event, `open_page`, which makes the
  visitor's Gradio session then; the usual demo's page sends none), and the first stroke is sent
  a stroke's time (`STROKE_GAP_S`) later;
- the usual demo: upload the canvas (POST /gradio_api/upload), call the endpoint, read the event
  stream (as its page does once the stock sketchpad's own uploads are done);
- the project's Draw tab (demo.drawing): one queue join per stroke with the canvas inline as a PNG
  data URL, then the session's event stream; the answer's pictures come inline (nothing to fetch);
  when drawing pauses (`PAUSE_S`), one more event for the heatmap, from what the session kept.

Runs:

- **classroom**: `--students` threads (default 30), each its own client and address. A student
  draws a real MNIST test digit in 3 strokes 0.4 s apart — each stroke sends the canvas as it
  stands then — then looks for 1.5–3 s (the project's page asks for the heatmap 0.6 s into it) and
  draws the next. Stroke-to-answer time is from the stroke's first byte sent to its answer read;
  the heatmaps are timed apart ("pause" columns), their CPU counted in the strokes'. The p95 is
  also given for the strokes sent after the first `WARM_UP_S` (the students start together).
- **saturation**: `--clients` threads (default 16) sending back to back: the sketch (the page's
  stroke event on the project) on both servers, and on the project's also /classify_sketch (the
  API's sketch call, heatmap included), upload, number and Inside requests.
- **classroom under the hostile mix** (the project only): 10% of strokes replaced by what an
  attacker sends (benchmarks/load.py's hostile cases: costly pictures, paths and URLs).

For each run: requests done and failed, p50/p95/p99 (ms), requests/s, and the server's CPU per
request (its process and its children — the page's decoding workers — from /proc). Targets
(issue "a classroom of 30"): stroke-to-answer p95 ≤ 100 ms, 0 failures, the page's CPU per sketch
request ≤ 1.25 × the usual demo's; printed beside the figures, never enforced.

    python benchmarks/classroom.py            # 60 s classroom, 30 s saturation runs
    python benchmarks/classroom.py --quick    # 20 s and 10 s
"""

import argparse
import base64
import functools
import io
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import (ROOT, ApiError, AppServer, api_call, default_out, join_event, machine_info,  # noqa: E402
                               page_event, load_events, open_page, mnist_test_digits, print_table, summary, write_json)
from demo.drawing import PAUSE_MS, SEND_SCALE  # noqa: E402  (what the Draw tab sends, and when)

STROKES = 3
PAUSE_S = PAUSE_MS / 1000  # the page asks for the heatmap once drawing pauses this long
STROKE_GAP_S = 0.4
LOOK_S = (1.5, 3.0)
WARM_UP_S = 5.0         # students open the page within 2 s (the project's makes each one's session then: ~15 ms of CPU)
NUMBER = ROOT / "artifacts" / "examples" / "number_2026.png"
TARGET_P95_MS = 100
TARGET_CPU_RATIO = 1.25


def stroke_canvases(folder: Path, count: int) -> list[list[Path]]:
    """For each of `count` MNIST test digits, the canvas after each of its `STROKES` strokes (the ink
    revealed top to bottom in equal parts), as the page's sketchpad sends it: 280×280 RGBA, white,
    black ink, alpha 255."""
    from PIL import Image
    folder.mkdir(parents=True, exist_ok=True)
    digits, _ = mnist_test_digits(count)
    drawings = []
    for index, digit in enumerate(digits):
        big = np.asarray(Image.fromarray(digit).resize((280, 280), Image.Resampling.BILINEAR), np.float32) / 255
        ink = np.clip((big - 0.25) / 0.35, 0, 1)
        rows = np.flatnonzero(ink.max(axis=1) > 0)
        cuts = np.linspace(rows.min(), rows.max() + 1, STROKES + 1).astype(int)[1:] if rows.size else [280] * STROKES
        strokes = []
        for stroke, cut in enumerate(cuts):
            part = ink.copy()
            part[cut:] = 0
            grey = np.rint(255 * (1 - part)).astype(np.uint8)
            path = folder / f"digit_{index:03d}_stroke_{stroke}.png"
            Image.fromarray(np.dstack([grey, grey, grey, np.full_like(grey, 255)]), "RGBA").save(path)
            strokes.append(path)
        drawings.append(strokes)
    return drawings


def cpu_seconds(pid: int) -> float:
    """CPU time of `pid` and its children, live and reaped (the page's decoding workers)."""
    ticks = 0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += sum(int(fields[i]) for i in (11, 12, 13, 14))
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                child_fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(child_fields[11]) + int(child_fields[12])
    except OSError:
        pass
    return ticks / os.sysconf("SC_CLK_TCK")


class Tally:
    """Request times (with when each was sent, for the figures after the warm-up) and failures."""

    def __init__(self):
        self.times: list[float] = []
        self.sent_at: list[float] = []
        self.failures: list[str] = []
        self.hostile = 0
        self.lock = threading.Lock()

    def add(self, seconds: float | None, failure: str | None = None) -> None:
        with self.lock:
            if failure is None:
                self.times.append(seconds)
                self.sent_at.append(time.perf_counter() - seconds)
            else:
                self.failures.append(failure)

    def after(self, moment: float) -> list[float]:
        """The times of the requests sent at or after `moment` (time.perf_counter())."""
        with self.lock:
            return [seconds for seconds, sent in zip(self.times, self.sent_at) if sent >= moment]


class Flow:
    """What one visitor's page sends for a stroke, on one server: `stroke(http, png)` → outputs, and
    `pause(http)` (the project's heatmap once drawing pauses; None for the usual demo). Each
    visitor keeps one session, as a page does."""

    def __init__(self, kind: str, url: str, session: str, timeout: float, events: dict | None = None):
        self.kind, self.url, self.session, self.timeout, self.events = kind, url, session, timeout, events or {}

    def open(self, http) -> None:
        """The page opens: its load events (the project's makes the visitor's session then)."""
        open_page(http, self.url, self.events.get("load", []), self.session)

    def stroke(self, http, png: Path) -> list:
        if self.kind == "usual":  # the usual demo's page: upload the canvas, call, event stream
            return api_call(http, self.url, "predict", png, "sketch", max_seconds=self.timeout, session=self.session)
        # the project's Draw tab: the canvas inline (a PNG data URL) in the stroke's one event
        return join_event(http, self.url, self.events["stroke"], [data_url(png), None], self.session, self.timeout)

    def pause(self, http) -> list | None:
        if self.kind == "usual":
            return None
        return join_event(http, self.url, self.events["pause"], [], self.session, self.timeout)


@functools.lru_cache(maxsize=None)
def data_url(png: Path) -> str:
    """The canvas as the Draw tab sends it: reduced to demo.drawing's SEND_SCALE (smoothed, as the
    browser's high-quality scaling), as a PNG data URL."""
    from PIL import Image
    with Image.open(png) as canvas:
        side = round(canvas.width * SEND_SCALE)
        small = canvas.convert("RGBA").resize((side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def student(index: int, url: str, kind: str, drawings, tally: Tally, deadline: float, timeout: float,
            hostile=(), hostile_share: float = 0.0, events: dict | None = None, paused: "Tally | None" = None) -> None:
    import httpx
    from benchmarks.load import hostile_call
    rng = random.Random(index)
    address = {"x-forwarded-for": f"198.51.100.{index % 250 + 1}"}  # documentation range; never contacted
    flow = Flow(kind, url, f"student-{index}-{rng.randrange(10**9)}", timeout, events)
    time.sleep(rng.uniform(0, 2))  # students do not open the page in the same millisecond
    with httpx.Client(timeout=httpx.Timeout(timeout, connect=10), headers=address) as http:
        try:
            flow.open(http)
        except Exception as error:
            tally.add(None, f"page open: {type(error).__name__}: {str(error)[:120]}")
        time.sleep(STROKE_GAP_S)  # the first stroke is drawn before it is sent
        while time.perf_counter() < deadline:
            for stroke in rng.choice(drawings):
                if time.perf_counter() >= deadline:
                    return
                started = time.perf_counter()
                try:
                    if hostile and rng.random() < hostile_share:
                        hostile_call(http, url, rng.choice(hostile), timeout)
                        with tally.lock:
                            tally.hostile += 1
                    else:
                        flow.stroke(http, stroke)
                        tally.add(time.perf_counter() - started)
                except (ApiError, Exception) as error:  # every failure is counted, none stops the student
                    tally.add(None, f"{type(error).__name__}: {str(error)[:120]}")
                time.sleep(max(0.0, STROKE_GAP_S - (time.perf_counter() - started)))
            look = rng.uniform(*LOOK_S)
            if kind != "usual" and time.perf_counter() < deadline:  # the page asks for the heatmap once drawing pauses
                time.sleep(PAUSE_S)
                started = time.perf_counter()
                try:
                    flow.pause(http)
                    paused.add(time.perf_counter() - started)
                except Exception as error:
                    paused.add(None, f"{type(error).__name__}: {str(error)[:120]}")
                look -= time.perf_counter() - started + PAUSE_S
            time.sleep(max(0.0, look))


def teacher(url: str, kind: str, strokes, timeout: float, events: dict | None = None) -> None:
    """Before the class, untimed: the teacher opens the page and draws one digit (the server's first
    answers load what a fresh process loads once)."""
    import httpx
    flow = Flow(kind, url, f"teacher-{random.randrange(10**9)}", timeout, events)
    with httpx.Client(timeout=timeout) as http:
        flow.open(http)
        for png in strokes:
            flow.stroke(http, png)
        flow.pause(http)


def back_to_back(index: int, url: str, endpoint: str, pictures, kind: str, tally: Tally, deadline: float,
                 timeout: float, events: dict | None = None) -> None:
    """Requests sent back to back: an API call of `endpoint` (kind "sketch" or "file"), or with kind
    "page", the Draw tab's stroke event as the page sends it."""
    import httpx
    rng = random.Random(1000 + index)
    session = f"client-{index}-{rng.randrange(10**9)}"
    with httpx.Client(timeout=httpx.Timeout(timeout, connect=10),
                      headers={"x-forwarded-for": f"203.0.113.{index % 250 + 1}"}) as http:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                if kind == "page":
                    join_event(http, url, events["stroke"], [data_url(rng.choice(pictures)), None], session, timeout)
                else:
                    api_call(http, url, endpoint, rng.choice(pictures), kind, max_seconds=timeout, session=session)
                tally.add(time.perf_counter() - started)
            except Exception as error:
                tally.add(None, f"{type(error).__name__}: {str(error)[:120]}")


def run(server: AppServer, label: str, target, args_list, seconds: float, with_pauses: bool = False) -> dict:
    """Threads of `target` for `seconds` against a started server; the row for the table. With
    `with_pauses`, the students' heatmap requests (sent when drawing pauses) are timed apart and
    their CPU counted in the strokes': CPU per request is the server's CPU over every request sent."""
    tally, paused = Tally(), Tally()
    deadline = time.perf_counter() + seconds
    cpu_before, started = cpu_seconds(server.pid), time.perf_counter()
    threads = [threading.Thread(target=target, args=(*args, tally, deadline, *rest),
                                kwargs={"paused": paused} if with_pauses else {}, daemon=True)
               for args, rest in args_list]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    elapsed, cpu = time.perf_counter() - started, cpu_seconds(server.pid) - cpu_before
    done = len(tally.times)
    stats = summary(tally.times)
    ms = {key: round(stats[key], 1) if key in stats else None for key in ("p50", "p95", "p99")}
    warm = summary(tally.after(started + WARM_UP_S))  # every student's session exists by then
    row = {"run": label, "done": done, "failed": len(tally.failures) + len(paused.failures), "hostile_sent": tally.hostile,
           "p50_ms": ms["p50"], "p95_ms": ms["p95"], "p99_ms": ms["p99"],
           "p95_after_warm_up_ms": round(warm["p95"], 1) if "p95" in warm else None,
           "per_s": round(done / elapsed, 2),
           "cpu_ms_per_request": round(1000 * cpu / max(1, done + tally.hostile), 1),
           "failures": (tally.failures + paused.failures)[:5]}
    if with_pauses:
        heat = summary(paused.times)
        row |= {"pause_requests": len(paused.times), "pause_p95_ms": round(heat["p95"], 1) if "p95" in heat else None}
    print(f"  {label}: {done} done, {row['failed']} failed, p50/p95/p99 {row['p50_ms']}/{row['p95_ms']}/"
          f"{row['p99_ms']} ms (p95 after {WARM_UP_S:g} s: {row['p95_after_warm_up_ms']} ms), {row['per_s']}/s, "
          f"{row['cpu_ms_per_request']} ms CPU per stroke"
          + (f" (with {row['pause_requests']} heatmaps after a pause, p95 {row['pause_p95_ms']} ms)" if with_pauses else ""),
          flush=True)
    return row


def serve(kind: str, workdir: Path) -> AppServer:
    env = {"GRADIO_TEMP_DIR": str(workdir / f"gradio-{kind}"), "LENET_PROXY_HOPS": "1", "LENET_ALLOWED_HOSTS": "127.0.0.1"}
    server = AppServer(log_path=workdir / f"{kind}.log", env=env)
    if kind == "usual":
        server.command = [sys.executable, str(ROOT / "benchmarks" / "usual_demo.py")]
    server.start()
    server.wait_http(timeout=180, path="gradio_api/info" if kind == "project" else "")
    return server


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--clients", type=int, default=16, help="back-to-back clients in the saturation runs")
    parser.add_argument("--seconds", type=float, default=60.0, help="classroom run length (default 60)")
    parser.add_argument("--saturation-seconds", type=float, default=30.0)
    parser.add_argument("--quick", action="store_true", help="20 s classroom, 10 s saturation")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before a request counts as failed")
    parser.add_argument("--out", type=Path, default=default_out("classroom"))
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.saturation_seconds = 20.0, 10.0
    rows = []
    with tempfile.TemporaryDirectory(prefix="lenet-classroom-") as temp:
        workdir = Path(temp)
        drawings = stroke_canvases(workdir / "strokes", 60)
        finals = [strokes[-1] for strokes in drawings]
        for strokes in drawings:  # the page's payloads, made before the run: a browser makes them on its own machine
            for png in strokes:
                data_url(png)
        from benchmarks.common import write_upload_pngs
        from benchmarks.load import hostile_cases
        uploads = [path for path, _ in write_upload_pngs(workdir / "uploads", 60)]
        for kind in ("usual", "project"):
            print(f"{kind} server ...", flush=True)
            server = serve(kind, workdir)
            try:
                url = server.url
                project = kind == "project"
                events = {"stroke": page_event(url, "draw-tab"), "pause": page_event(url, "draw-tab", "submit"),
                          "load": load_events(url)} if project else None
                teacher(url, kind, drawings[0], args.timeout, events)
                students = [((i, url, kind, drawings), (args.timeout, (), 0.0, events)) for i in range(args.students)]
                rows.append({"server": kind, **run(server, f"classroom ×{args.students}", student, students, args.seconds,
                                                   with_pauses=project)})
                clients = [((i, url, "predict", finals, "page" if project else "sketch"), (args.timeout, events))
                           for i in range(args.clients)]
                rows.append({"server": kind, **run(server, f"saturation sketch ×{args.clients}", back_to_back, clients,
                                                   args.saturation_seconds)})
                if project:
                    for label, name, pictures, as_kind in (("API sketch", "classify_sketch", finals, "sketch"),
                                                           ("upload", "classify_upload", uploads, "file"),
                                                           ("number", "read_number_upload", [NUMBER], "file"),
                                                           ("inside", "inside", uploads, "file")):
                        clients = [((i, url, name, pictures, as_kind), (args.timeout,)) for i in range(args.clients)]
                        rows.append({"server": kind, **run(server, f"saturation {label} ×{args.clients}", back_to_back,
                                                           clients, args.saturation_seconds)})
                    hostile = hostile_cases(workdir)
                    students = [((i, url, kind, drawings), (args.timeout, hostile, 0.1, events)) for i in range(args.students)]
                    rows.append({"server": kind, **run(server, f"classroom ×{args.students}, 10% hostile", student,
                                                       students, args.seconds, with_pauses=True)})
            finally:
                server.stop()
    columns = ["server", "run", "done", "failed", "p50_ms", "p95_ms", "p99_ms", "p95_after_warm_up_ms", "per_s",
               "cpu_ms_per_request", "pause_requests", "pause_p95_ms"]
    print_table(columns, [[row.get(c) for c in columns] for row in rows], "Classroom and saturation, one run")
    usual = {row["run"]: row for row in rows if row["server"] == "usual"}
    ratios = {}
    for row in rows:
        if row["server"] == "project" and row["run"] in usual and usual[row["run"]]["cpu_ms_per_request"]:
            ratios[row["run"]] = round(row["cpu_ms_per_request"] / usual[row["run"]]["cpu_ms_per_request"], 2)
    classroom = next(row for row in rows if row["server"] == "project" and row["run"].startswith("classroom") and
                     "hostile" not in row["run"])
    print(f"\nthe page's CPU per request ÷ the usual demo's: {ratios} (target ≤ {TARGET_CPU_RATIO})")
    print(f"the page's classroom stroke-to-answer p95: {classroom['p95_ms']} ms, {classroom['p95_after_warm_up_ms']} ms "
          f"after the first {WARM_UP_S:g} s (target ≤ {TARGET_P95_MS}), failures {classroom['failed']} (target 0)")
    write_json(args.out, {"machine": machine_info(), "students": args.students, "clients": args.clients,
                          "seconds": args.seconds, "saturation_seconds": args.saturation_seconds, "rows": rows,
                          "cpu_ratio_page_over_usual": ratios, "targets": {"p95_ms": TARGET_P95_MS,
                                                                           "cpu_ratio": TARGET_CPU_RATIO},
                          "command": "python benchmarks/classroom.py" + (" --quick" if args.quick else "")})
    return 0


if __name__ == "__main__":
    sys.exit(main())
