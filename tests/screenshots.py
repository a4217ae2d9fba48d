"""Every tab of the real page as a visitor meets it, on a desktop (1280×900) and a phone (390×844,
touch): what each tab shows after one use, saved as screenshots, and measured.

    python -m tests.screenshots                 # launches the app on loopback, writes docs/screenshots/
    python -m tests.screenshots --url http://127.0.0.1:7860/ --out /tmp/shots --full-page

On each tab the visitor does one thing — draws a 7 (Draw, Inside LeNet, Compare models), picks the first example
(Upload, Number) or just looks (Training) — and waits for the answer. Then `visit` records, for
tests/test_browser.py: where the answer is (its box, and whether it lies in the first viewport),
the page's width against the window's (horizontal scroll), tables that scroll sideways, which points of each drawing area
something else covers, every visible text whose contrast with its background is under WCAG's
4.5:1 (3:1 for large text), and pictures or canvases without a text alternative.
Screenshots are of the first viewport (`--full-page` adds the whole page), named SIZE-TAB.png,
saved with a 128-colour palette (~25 kB each).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
SIZES = {"desktop": {"viewport": {"width": 1280, "height": 900}},
         "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}}
TABS = ("Draw", "Upload", "Number", "Inside LeNet", "Compare models", "Training")
SEVEN = [[(0.22, 0.20), (0.78, 0.20)], [(0.78, 0.20), (0.62, 0.50), (0.46, 0.84)]]  # in units of the drawing area
ANSWER_TIMEOUT_S = 30.0

MEASURE_JS = """() => {
  const panel = [...document.querySelectorAll('[role=tabpanel]')].find((p) => p.offsetParent !== null);
  const box = (el) => { if (!el) return null; const r = el.getBoundingClientRect();
                        return {x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height}; };
  const verdict = panel && panel.querySelector('.verdict');
  // each drawing area: sample a 7×7 grid of points from edge to edge; whatever the page shows there must be the canvas
  const covered = [];
  (panel ? [...panel.querySelectorAll('.drawing canvas')] : []).forEach((canvas) => {
    const r = canvas.getBoundingClientRect();
    for (let i = 0; i < 7; i++) for (let j = 0; j < 7; j++) {
      const x = r.x + r.width * (0.01 + 0.98 * i / 6), y = r.y + r.height * (0.01 + 0.98 * j / 6);
      if (y < 0 || y > innerHeight) continue;
      const hit = document.elementFromPoint(x, y);
      if (hit !== canvas) covered.push((hit ? hit.tagName + '.' + hit.className : 'nothing') + ` at ${Math.round(x)},${Math.round(y)}`);
    }
  });
  // text contrast: each visible text node against the first opaque background behind it
  const parse = (c) => { const v = c.match(/[\\d.]+/g) || []; return v.map(Number); };
  const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
                                       .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const low = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim(), el = node.parentElement;
    if (!text || !el || el.closest('script, style, svg, [aria-hidden=true], button:disabled, [disabled]')) continue;
    const rect = el.getBoundingClientRect(), style = getComputedStyle(el);
    if (!rect.width || !rect.height || style.visibility === 'hidden' || el.offsetParent === null && style.position !== 'fixed') continue;
    let fg = parse(style.color), alpha = fg.length > 3 ? fg[3] : 1, bg = null, opacity = 1;
    for (let a = el; a; a = a.parentElement) {
      const s = getComputedStyle(a);
      opacity *= Number(s.opacity);
      if (s.backgroundImage && s.backgroundImage !== 'none') { bg = 'image'; break; }
      const c = parse(s.backgroundColor);
      if (c.length === 3 || (c.length > 3 && c[3] > 0.5)) { bg = c.slice(0, 3); break; }
    }
    if (bg === 'image') continue;
    bg = bg || [255, 255, 255];
    fg = fg.slice(0, 3).map((v, i) => v * alpha * opacity + bg[i] * (1 - alpha * opacity));
    const [l1, l2] = [lum(fg), lum(bg)].sort((a, b) => b - a), ratio = (l1 + 0.05) / (l2 + 0.05);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < needed) low.push(`${ratio.toFixed(2)}:1 "${text.slice(0, 40)}" (${style.color} on rgb(${bg.join(',')}), ${size}px)`);
  }
  const unnamed = [...document.querySelectorAll('img, canvas')].filter((el) => el.offsetParent !== null &&
      el.getBoundingClientRect().width > 4 && !(el.getAttribute('alt') || el.getAttribute('aria-label') ||
      el.closest('[aria-hidden=true]')))
    .map((el) => el.tagName + ' ' + (el.getAttribute('src') || '').slice(-40));
  return {answer: box(verdict), answer_text: verdict ? verdict.textContent.trim() : null,
          seen: box(panel && panel.querySelector('.model-input img')), heat: box(panel && panel.querySelector('.heatmap img')),
          canvas: box(panel && panel.querySelector('.drawing canvas')),
          scroll_width: document.documentElement.scrollWidth, window_width: innerWidth,
          wide_tables: (panel ? [...panel.querySelectorAll('.table-wrap')] : []).filter((w) => w.offsetParent !== null &&
              w.scrollWidth > w.clientWidth + 1).map((w) => `${w.querySelector('caption').textContent.slice(0, 40)}: ${w.scrollWidth} px in ${w.clientWidth}`),
          window_height: innerHeight, scroll_y: scrollY, covered, low_contrast: low, unnamed};
}"""


@dataclass
class TabView:
    """What one tab showed after one use, measured in page pixels."""
    size: str
    tab: str
    answer: dict | None
    answer_text: str | None
    seen: dict | None       # the 28×28 the model saw (Draw, Upload, Inside LeNet)
    heat: dict | None       # the heatmap (Draw, Upload)
    canvas: dict | None
    scroll_width: int
    window_width: int
    wide_tables: list[str]  # tables that scroll sideways inside their box
    window_height: int
    scroll_y: float
    covered: list[str] = field(default_factory=list)
    low_contrast: list[str] = field(default_factory=list)
    unnamed: list[str] = field(default_factory=list)
    screenshot: Path | None = None

    def in_first_viewport(self, box: dict | None) -> bool:
        """Whether `box` (page pixels) lies wholly in the window as the page opens, unscrolled."""
        return (box is not None and box["y"] >= 0 and box["y"] + box["height"] <= self.window_height
                and box["x"] >= 0 and box["x"] + box["width"] <= self.window_width)

    @property
    def answer_in_first_viewport(self) -> bool:
        return self.in_first_viewport(self.answer)


def visible_panel(page):
    return page.locator("[role=tabpanel]:visible").first


def draw_seven(page) -> None:
    """Draw a 7 on the visible tab's drawing surface (demo.drawing: a square canvas shown at any
    size) with the mouse, as two strokes."""
    surface = visible_panel(page).locator(".drawing canvas[data-ready=true]").first
    surface.scroll_into_view_if_needed()
    box = surface.bounding_box()
    left, top, side = box["x"], box["y"], box["width"]
    for stroke in SEVEN:
        draw_stroke(page, [(left + x * side, top + y * side) for x, y in stroke])
        page.wait_for_timeout(400)


def draw_stroke(page, points) -> None:
    """One stroke with the mouse: down at the first point, through the others, up at the last."""
    page.mouse.move(*points[0])
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*point)
    page.mouse.up()


def wait_until(page, condition_js: str, what: str, timeout_s: float = ANSWER_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(condition_js):
        toasts = page.locator('[data-testid="toast-text"]').all_inner_texts()
        if toasts:
            raise AssertionError(f"{what}: the page shows an error: {toasts}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: no answer within {timeout_s:.0f} s")
        page.wait_for_timeout(150)


SETTLED = """() => { const p = [...document.querySelectorAll('[role=tabpanel]')].find((p) => p.offsetParent !== null);
  return !!p && !p.querySelector('.pending, .eta-bar, .progress-text') &&
         ![...p.querySelectorAll('.wrap')].some((w) => !w.classList.contains('hide') && /\\d(\\.\\d+)?s/.test(w.textContent)); }"""


def answer_shows(text: str) -> str:
    return ("() => { const p = [...document.querySelectorAll('[role=tabpanel]')].find((p) => p.offsetParent !== null);"
            f" const v = p && p.querySelector('.verdict'); return !!v && v.textContent.includes({text!r}); }}")


def use_tab(page, tab: str) -> None:
    """Open `tab` and do on it what a first-time visitor does; wait until the answer is shown."""
    page.get_by_role("tab", name=tab, exact=True).click()
    page.wait_for_timeout(300)
    if tab in ("Draw", "Inside LeNet", "Compare models"):
        draw_seven(page)
        wait_until(page, answer_shows("models read 7" if tab == "Compare models" else "It's a 7"), f"{tab}: a drawn 7")
        if tab == "Draw":  # the heatmap comes once drawing pauses
            wait_until(page, "() => !!document.querySelector('[role=tabpanel]:not([style*=none]) .heatmap img')",
                       "Draw: the heatmap after a pause")
    elif tab in ("Upload", "Number"):
        examples = visible_panel(page).locator(".examples button:has(img)")
        examples.first.wait_for(state="visible")
        examples.first.click()
        wait_until(page, answer_shows("It's a 7" if tab == "Upload" else "Read:"), f"{tab}: the first example")
        if tab == "Number":
            wait_until(page, "() => !!document.querySelector('[role=tabpanel]:not([style*=none]) .number-boxes img')",
                       "Number: the boxes picture")
    if tab == "Inside LeNet":
        wait_until(page, "() => document.querySelectorAll('.inside-stage img').length >= 6 && "
                         "[...document.querySelectorAll('.stage-note')].some((n) => n.textContent.includes('units respond'))",
                   "Inside LeNet: every stage and its note")
    settled_since = None
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    while settled_since is None or time.monotonic() - settled_since < 1.0:  # settled for a whole second
        settled = page.evaluate(SETTLED)
        settled_since = (settled_since or time.monotonic()) if settled else None
        assert time.monotonic() < deadline, f"{tab}: still loading after {ANSWER_TIMEOUT_S:.0f} s"
        page.wait_for_timeout(150)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.wait_for_timeout(600)  # images fade in; the script names them on the next frame


def small_png(path: Path) -> None:
    """Rewrite a screenshot with a 128-colour palette: a third of the bytes, the same to the eye."""
    from PIL import Image
    with Image.open(path) as shot:
        small = shot.convert("RGB").quantize(colors=128, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


def visit(browser, url: str, size: str, out: Path | None, full_page: bool = False) -> dict[str, TabView]:
    """Open the page at `size`, use every tab in turn, measure it and (with `out`) screenshot it."""
    context = browser.new_context(**SIZES[size], locale="en-US")
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(url)
        page.locator(".drawing canvas[data-ready=true]").first.wait_for(state="visible")
        views = {}
        for tab in TABS:
            use_tab(page, tab)
            view = TabView(size=size, tab=tab, **page.evaluate(MEASURE_JS))
            for _ in range(3):  # a late event's fade (Gradio dims what it is updating) is not a problem
                if not (view.low_contrast or view.covered or view.unnamed):
                    break
                page.wait_for_timeout(1500)
                view = TabView(size=size, tab=tab, **page.evaluate(MEASURE_JS))
            if out is not None:
                out.mkdir(parents=True, exist_ok=True)
                name = tab.split()[0].lower()
                view.screenshot = out / f"{size}-{name}.png"
                page.screenshot(path=str(view.screenshot))
                small_png(view.screenshot)
                if full_page:
                    page.screenshot(path=str(out / f"{size}-{name}-full.png"), full_page=True)
                    small_png(out / f"{size}-{name}-full.png")
            views[tab] = view
        return views
    finally:
        context.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running page (default: launch app.py's page on loopback)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder for the PNGs (default {OUT.relative_to(ROOT)})")
    parser.add_argument("--full-page", action="store_true", help="also save each tab's whole page")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from tests.chromium import chromium_executable
    url, blocks = args.url, None
    if url is None:
        from tests.app_server import launch_app
        blocks, url = launch_app()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_executable(), headless=True, args=CHROMIUM_ARGS)
            for size in SIZES:
                for tab, view in visit(browser, url, size, args.out, args.full_page).items():
                    problems = len(view.covered) + len(view.low_contrast) + len(view.unnamed) + len(view.wide_tables)
                    print(f"{size:8} {tab:13} answer in first view: {view.answer_in_first_viewport!s:5} "
                          f"page width {view.scroll_width}/{view.window_width}  problems: {problems}  {view.screenshot}")
                    for problem in view.covered + view.low_contrast + view.unnamed + view.wide_tables:
                        print("    ", problem)
            browser.close()
    finally:
        if blocks is not None:
            blocks.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
