"""How the page looks and behaves in the browser: its stylesheet, its one script, and the colour
legends under its pictures.

`CSS` and `PAGE_JS` go to `launch()` (demo.ui.launch_options). The script gives every picture on
the page an alt text (its block's label, or its caption in a gallery). The drawing canvases are
demo.drawing's, named and edged by themselves. The stylesheet darkens Gradio's light greys and
orange until text reaches 4.5:1 against its background, keeps answers compact so they show beside
the canvas at 1280×900 (under it on a phone), and sizes pictures to what they hold.

`legend(...)` is the HTML colour bar under a picture: what its colours mean, end to end.
"""

from html import escape

PAGE_JS = """
() => {
  // Pictures without alt text get their block's label (a gallery's, their own caption).
  const describe = () => document.querySelectorAll('img:not([alt]), img[alt=""]').forEach((img) => {
    const item = img.closest('.thumbnail-item, .gallery-item, button');
    const caption = item && item.querySelector('.caption-label, .caption');
    const block = img.closest('.block');
    const label = block && block.querySelector('label');
    const example = img.closest('.examples .gallery-item');
    const number = example ? [...example.parentElement.children].indexOf(example) + 1 : 0;
    const text = (example && `Example ${number}`) || (caption && caption.textContent.trim()) ||
                 (label && label.textContent.trim()) || 'Picture';
    img.setAttribute('alt', text);
  });
  let queued = false;
  const soon = () => { if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; describe(); }); } };
  new MutationObserver(soon).observe(document.body, {childList: true, subtree: true, characterData: true,
                                                      attributes: true, attributeFilter: ["class", "src"]});
  describe();
}
"""

# Colours chosen for contrast on white: text ≥ 4.5:1, edges of controls ≥ 3:1.
ACCENT = "#b93c09"         # 5.6:1 — Gradio's orange (#f97316, 2.8:1) darkened
SUBDUED_TEXT = "#4b5563"   # 7.6:1 — labels, footer, small print (Gradio's #9ca3af is 2.5:1)
EDGE = "#6b7280"           # 4.8:1 — the drawing area's edge and the blocks' borders on canvases

CSS = f"""
.gradio-container {{
  --color-accent: {ACCENT}; --color-accent-soft: #fff1e8; --border-color-accent: {ACCENT};
  --body-text-color-subdued: {SUBDUED_TEXT}; --block-label-text-color: {SUBDUED_TEXT};
  --block-info-text-color: {SUBDUED_TEXT}; --block-title-text-color: {SUBDUED_TEXT};
  --input-placeholder-color: {SUBDUED_TEXT}; --link-text-color: #1d4ed8; --link-text-color-hover: #1e40af;
  --button-primary-background-fill: {ACCENT}; --button-primary-background-fill-hover: #9a3412;
  --button-primary-text-color: #ffffff; --loader-color: {ACCENT}; --stat-background-fill: {ACCENT};
  --checkbox-background-color-selected: {ACCENT};
}}
footer, footer a, footer button, .footer, .show-api, .built-with, .settings {{ color: {SUBDUED_TEXT} !important; }}
/* the page's side margins: 8 px on a phone, Gradio's 32 px from a 630 px window up (Gradio prefixes the
   selectors inside @media rules with .contain, which lies inside .main: hence no media query here) */
.gradio-container > .main {{ padding-left: clamp(8px, calc((100vw - 390px) / 10), 32px) !important;
                             padding-right: clamp(8px, calc((100vw - 390px) / 10), 32px) !important; }}
.digit-examples .gallery-item, .digit-examples .gallery-item .container {{ width: 72px; height: 72px; }}
.examples .gallery-item img {{ width: 100%; height: 100%; object-fit: contain; }}
.number-examples .gallery-item, .number-examples .gallery-item .container {{ width: 168px; height: 64px; }}
.model-input img, .heatmap img, .inside-stage img, .filters img {{ image-rendering: pixelated; }}
.inline-picture {{ margin: 0; padding: 6px 8px; border: 1px solid {EDGE}; border-radius: 8px; background: #fff; }}
.inline-picture .picture-caption {{ font-size: 14px; color: {SUBDUED_TEXT}; margin-bottom: 4px; }}
.inline-picture img {{ display: block; width: 170px; height: 170px; max-width: 100%; margin: 0 auto; }}
.inline-picture .picture-waiting {{ height: 170px; display: flex; align-items: center; justify-content: center;
                                    text-align: center; font-size: 14px; color: {SUBDUED_TEXT}; }}
.inline-picture .picture-download {{ font-size: 13px; color: {SUBDUED_TEXT}; }}
.intro h1 {{ font-size: 1.75rem; margin: 0 0 .15rem 0; }}
.intro p {{ margin: 0; }}
.model-line, .model-line p {{ font-size: 14px !important; color: {SUBDUED_TEXT}; }}
.verdict {{ min-height: 4.2em; }}
.verdict p {{ font-size: 1.05rem; margin: 0 0 .2rem 0; }}
.verdict .answer {{ font-size: 1.4rem; font-weight: 700; line-height: 1.2; }}
.verdict .answer.digit {{ font-size: 2rem; }}
.picture-input .image-frame img {{ min-height: 120px; object-fit: contain; image-rendering: pixelated; }}
.verdict small {{ font-size: 14px; color: {SUBDUED_TEXT}; }}
.probabilities .confidence-set {{ margin-bottom: 2px !important; font-size: 14px; }}
.probabilities .bar {{ margin-bottom: 0 !important; }}
.probabilities .container {{ padding: 6px 10px !important; }}
.inside-stage .image-frame, .filters .image-frame, .number-boxes .image-frame {{ padding-top: 30px; }}
.table-wrap {{ overflow-x: auto; max-width: 100%; }}
.page-table {{ border-collapse: collapse; font-size: 14px; font-variant-numeric: tabular-nums; margin: 0; }}
.page-table caption {{ text-align: left; caption-side: top; color: {SUBDUED_TEXT}; padding: 0 0 4px 0; font-size: 14px; }}
.page-table th, .page-table td {{ padding: 3px 7px; border: 1px solid #e5e7eb; text-align: right; }}
.page-table thead th {{ background: #f3f4f6; color: #111827; }}
.page-table tbody th, .page-table thead th:first-child {{ text-align: left; font-weight: 600; }}
.page-table.confusion td {{ min-width: 2.4em; }}
.form:has(> .model-picker), .model-picker {{ max-width: 40rem; }}
.downgrade-warning {{ border-left: 4px solid {ACCENT}; padding: 4px 10px !important; background: #fff7ed; }}
.compare-table td {{ min-width: 2.6em; }}
.compare-table tr.disagrees th, .compare-table tr.disagrees td.said {{ color: #b91c1c; }}
.compare-table .disagrees {{ font-weight: 700; }}
.compare-note {{ font-size: 14px; color: {SUBDUED_TEXT}; margin: 4px 0 0 0; }}
.legend {{ font-size: 14px; color: {SUBDUED_TEXT}; margin: -4px 0 4px 0; }}
.legend .ramp {{ display: block; height: 12px; border-radius: 2px; border: 1px solid {EDGE}; margin: 2px 0; }}
.series-legend {{ display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 4px 0 0 0; }}
.series-legend .swatch {{ display: inline-block; width: 14px; height: 4px; margin: 0 6px 3px 0; vertical-align: middle; }}
.legend .ends {{ display: flex; justify-content: space-between; gap: 1em; }}
.number-digits .grid-wrap {{ height: auto !important; min-height: 0 !important; padding-top: 30px !important; }}
.number-digits .grid-container {{ grid-template-columns: repeat(auto-fill, 88px) !important; grid-auto-rows: auto !important; }}
.number-digits .thumbnail-item {{ width: 88px; height: auto !important; aspect-ratio: auto !important; flex-direction: column; }}
.number-digits .thumbnail-item img {{ width: 88px; height: 88px; object-fit: contain; }}
.number-digits .caption-label {{ position: static !important; font-size: 14px !important; max-width: none !important;
                                 text-align: center; background: none !important; color: #111827 !important; }}
.examples img, .gallery img {{ image-rendering: pixelated; }}
/* Gradio's translucent page-wide overlay, shown while the app finishes loading, stays a moment after
   the canvases listen: a stroke begun then went to the overlay (headless Chromium under load lost 6 of
   20 first strokes so); let pointers through to what lies under it. */
.gradio-container .main > .wrap.translucent {{ pointer-events: none; }}
@media (max-width: 640px) {{
  .intro h1 {{ font-size: 1.4rem; }}
  .intro p {{ font-size: 15px; }}
  .digit-examples .gallery-item, .digit-examples .gallery-item .container {{ width: 60px; height: 60px; }}
  .page-table {{ font-size: 13px; }}
  .page-table th, .page-table td {{ padding: 2px 4px; }}
  .page-table.confusion {{ font-size: 12px; }}
  .compare-table td.p, .compare-table th.p {{ min-width: 0; width: 12px; padding: 2px 1px; text-align: center; }}
  .compare-table td.p span {{ display: none; }}  /* on a phone the shading alone; the numbers are in the JSON */
  .page-table.confusion th, .page-table.confusion td {{ padding: 1px 1px; min-width: 0; }}
  .tab-container button, .tab-wrapper button {{ padding-left: 8px !important; padding-right: 8px !important; }}
}}
"""


def legend(colours: list[str], left: str, right: str, what: str = "") -> str:
    """An HTML colour bar: `colours` left to right, with what each end means (and what it shows)."""
    ramp = ", ".join(colours)
    caption = f"<span>{escape(what)}</span>" if what else ""
    return (f'<div class="legend" role="img" aria-label="{escape(what or "Colour scale")}: '
            f'{escape(left)} to {escape(right)}">{caption}<span class="ramp" style="background: linear-gradient(to right, {ramp})">'
            f'</span><span class="ends"><span>{escape(left)}</span><span>{escape(right)}</span></span></div>')
