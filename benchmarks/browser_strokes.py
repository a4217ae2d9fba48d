"""What a real browser sends for each stroke, on the page and on the usual Gradio MNIST demo.

Headless Chromium (tests/chromium.py finds or installs it) draws digits with the mouse, as a person
does, on each server in turn, on loopback:

- **the page's Draw tab** (demo.drawing): each stroke is timed from the mouse button's release to
  the new answer on the page (the verdict's text changes), and every request the page makes is
  counted by kind — per digit also the heatmap's event (the drawing pauses) and Clear's.
- **the usual demo** (`benchmarks/usual_demo.py`: `gr.Interface(fn, gr.Sketchpad(), gr.Label())`,
  answering on Submit): the Brush is selected (its editor opens with none), the same strokes are
  drawn and the requests Gradio's stock sketchpad makes per stroke counted; then Submit is pressed
  and timed to its answer.

Prints a table (requests per stroke by kind, answer times p50/p95) and writes JSON. Headless
Chromium renders in software on this machine's CPU, which the servers share: compare the two
servers' rows, not these times with a real browser's.

    python benchmarks/browser_strokes.py              # 12 digits on each
    python benchmarks/browser_strokes.py --digits 4
"""

import argparse
import collections
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import ROOT, AppServer, default_out, machine_info, print_table, summary, write_json  # noqa: E402
from tests.chromium import chromium_executable  # noqa: E402

# digits as a person draws them, in units of the drawing area (0..1, y downwards), one list a stroke
DIGITS = {
    "7": [[(0.22, 0.20), (0.78, 0.20)], [(0.78, 0.20), (0.62, 0.50), (0.46, 0.84)]],
    "1": [[(0.53, 0.15), (0.50, 0.50), (0.47, 0.86)]],
    "0": [[(0.50 - 0.22 * math.sin(2 * math.pi * i / 12), 0.50 - 0.33 * math.cos(2 * math.pi * i / 12))
           for i in range(14)]],
    "4": [[(0.60, 0.15), (0.25, 0.60), (0.78, 0.60)], [(0.62, 0.35), (0.62, 0.88)]],
}
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]


def kind_of(url: str) -> str:
    for part, kind in (("/gradio_api/upload", "upload"), ("/component_server", "component_server"),
                       ("/queue/join", "queue join"), ("/queue/data", "event stream"), ("/file=", "file GET")):
        if part in url:
            return kind
    return "other"


def stroke(page, box, points) -> None:
    page.mouse.move(box["x"] + points[0][0] * box["width"], box["y"] + points[0][1] * box["height"])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=4)
    page.mouse.up()


def on_the_page(browser, url: str, digits: int) -> dict:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests = collections.Counter()
    page.on("request", lambda request: requests.update([kind_of(request.url)]))
    page.goto(url)
    canvas = page.locator(".draw-tab canvas[data-ready=true]")
    canvas.wait_for(state="visible")
    verdict = page.locator("[role=tabpanel]:visible .verdict").first
    requests.clear()
    times, strokes = [], 0
    names = list(DIGITS)
    for number in range(digits):
        box = canvas.bounding_box()
        for points in DIGITS[names[number % len(names)]]:
            before = verdict.inner_text()
            stroke(page, box, points)
            released = time.perf_counter()
            page.wait_for_function("([el, text]) => el.innerText !== text", arg=[verdict.element_handle(), before],
                                   polling=5, timeout=30_000)
            times.append(time.perf_counter() - released)
            strokes += 1
        page.wait_for_timeout(900)  # the pause: the heatmap's event
        page.locator(".draw-tab button.clear").click()
        page.wait_for_timeout(300)
    page.close()
    return {"server": "project", "strokes": strokes, "requests": dict(requests),
            "requests_per_stroke": round(sum(requests.values()) / strokes, 2), "stroke_to_answer_ms": summary(times)}


def on_the_usual_demo(browser, url: str, digits: int) -> dict:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests = collections.Counter()
    page.on("request", lambda request: requests.update([kind_of(request.url)]))
    page.goto(url)
    canvas = page.locator(".pixi-target canvas").first
    canvas.wait_for(state="visible")
    page.locator('button[aria-label="Brush"]').first.click()
    page.wait_for_timeout(300)
    requests.clear()
    times, strokes = [], 0
    names = list(DIGITS)
    label = page.locator('[data-testid="label-output-value"]').first
    for number in range(digits):
        box = canvas.bounding_box()
        square = min(box["width"], box["height"]) * 0.8
        area = {"x": box["x"] + (box["width"] - square) / 2, "y": box["y"] + (box["height"] - square) / 2,
                "width": square, "height": square}
        for points in DIGITS[names[number % len(names)]]:
            stroke(page, area, points)
            page.wait_for_timeout(600)
            strokes += 1
        before = label.inner_text() if label.count() else ""
        page.get_by_role("button", name="Submit").click()
        pressed = time.perf_counter()
        page.wait_for_function("(text) => { const l = document.querySelector('[data-testid=\"label-output-value\"]');"
                               " return !!l && l.innerText !== text; }", arg=before, polling=5, timeout=30_000)
        times.append(time.perf_counter() - pressed)
        page.get_by_role("button", name="Clear").first.click()
        page.wait_for_timeout(300)
        page.locator('button[aria-label="Brush"]').first.click()
    page.close()
    return {"server": "usual", "strokes": strokes, "requests": dict(requests),
            "requests_per_stroke": round(sum(requests.values()) / strokes, 2), "submit_to_answer_ms": summary(times)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--digits", type=int, default=12)
    parser.add_argument("--out", type=Path, default=default_out("browser_strokes"))
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright
    rows = []
    with tempfile.TemporaryDirectory(prefix="lenet-browser-") as temp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable(), headless=True, args=ARGS)
        for kind in ("project", "usual"):
            server = AppServer(log_path=Path(temp) / f"{kind}.log", env={"GRADIO_TEMP_DIR": str(Path(temp) / kind)})
            if kind == "usual":
                server.command = [sys.executable, str(ROOT / "benchmarks" / "usual_demo.py")]
            with server:
                server.wait_http(timeout=180, path="gradio_api/info" if kind == "project" else "")
                measure = on_the_page if kind == "project" else on_the_usual_demo
                rows.append(measure(browser, server.url, args.digits))
                print(f"  {kind}: {rows[-1]}", flush=True)
        browser.close()
    kinds = ["upload", "component_server", "queue join", "event stream", "file GET", "other"]
    table = []
    for row in rows:
        answer = row.get("stroke_to_answer_ms") or row.get("submit_to_answer_ms")
        table.append([row["server"], row["strokes"], row["requests_per_stroke"],
                      *[round(row["requests"].get(kind, 0) / row["strokes"], 2) for kind in kinds],
                      "stroke" if "stroke_to_answer_ms" in row else "Submit",
                      round(answer.get("p50", float("nan")), 1), round(answer.get("p95", float("nan")), 1)])
    print_table(["server", "strokes", "requests/stroke", *[f"{kind}/stroke" for kind in kinds], "answer on",
                 "answer p50 ms", "answer p95 ms"], table, "Headless Chromium drawing with the mouse, one page at a time")
    write_json(args.out, {"machine": machine_info(), "digits": args.digits, "rows": rows,
                          "command": "python benchmarks/browser_strokes.py" + ("" if args.digits == 12 else
                                                                                f" --digits {args.digits}")})
    return 0


if __name__ == "__main__":
    sys.exit(main())
