"""The Draw tab's drawing surface and its answer pictures: one small request per stroke.

Gradio's stock sketchpad (an image editor) sends about 17 uploads and 3 server-function calls
for every stroke before the event itself (counted in headless Chromium: 73 requests for 3
strokes), which is most of a classroom's load on a 2-core server. `drawing_surface` is a plain
HTML canvas made with Gradio's own `gr.HTML` (its `js_on_load` script and `props.value`): at the
end of each stroke the page sends the whole canvas once, as a PNG data URL inside the event's
own request (one queue join, no upload), and when drawing pauses for `PAUSE_MS` it fires the
surface's `submit` event, which the page uses for the slower "where it looked" heatmap.

The canvas is `width`×`height` px, white, with a round black pen of `pen` px — what the stock
sketchpad sent (alpha 255, white background, black ink) — shown at any size the page gives it
(strokes are scaled back to canvas pixels), and sent reduced to `SEND_SCALE` of its size. Mouse, finger and pen draw alike (pointer events,
no scrolling while drawing); Undo and Clear are buttons under it, and each sends the canvas as
it then stands ("" when empty).

`picture_html` shows a small picture (the model's 28×28 input, the 28×28 heatmap) inline as a
PNG data URL enlarged by the browser with square pixels, with a download link: no file written,
no second request to fetch it.
"""

import base64
import io
from html import escape

import gradio as gr
import numpy as np
from PIL import Image

PAUSE_MS = 600          # drawing paused this long → the surface's submit event (the heatmap)
PICTURE_PX = 170        # the answer pictures' side on the page
# The canvas is sent reduced to this scale (280 → 168 px): the reading's work falls by 40% (8.1 → 4.8 ms
# a digit) and 10,000 MNIST test digits drawn on the canvas read as at full size (99.55% either way, 15
# answers differ; benchmarks/drawing_scale.py). The pen stays 7 px wide there.
SEND_SCALE = 0.6

_TEMPLATE = """
<div class="drawing-surface">
  <div class="drawing-label">__LABEL__</div>
  <canvas width="__WIDTH__" height="__HEIGHT__" role="img" aria-label="__LABEL__: draw with a mouse, a finger or a pen"></canvas>
  <div class="drawing-buttons">
    <button type="button" class="undo" title="Undo the last stroke">Undo</button>
    <button type="button" class="clear" title="Clear the drawing">Clear</button>
  </div>
</div>
"""

_CSS = """
.drawing-surface { display: flex; flex-direction: column; gap: 6px; }
.drawing-label { font-size: var(--block-label-text-size); color: var(--block-label-text-color); }
.drawing-surface canvas { width: 100%; max-width: __MAXWIDTH__px; aspect-ratio: __WIDTH__ / __HEIGHT__; height: auto;
  background: #fff; border: 2px solid #6b7280; border-radius: 6px; touch-action: none; cursor: crosshair;
  box-sizing: border-box; }
.drawing-buttons { display: flex; gap: 8px; }
.drawing-buttons button { padding: 4px 14px; border: 1px solid #6b7280; border-radius: 6px; background: #fff;
  color: #1f2937; font-size: 0.9rem; cursor: pointer; }
.drawing-buttons button:hover { background: #f3f4f6; }
"""

_SCRIPT = """
const canvas = element.querySelector('canvas');
const context = canvas.getContext('2d');
const PEN = __PEN__, PAUSE_MS = __PAUSE__;
let strokes = [], current = null, pause = null;
const point = (event) => {
  const box = canvas.getBoundingClientRect();
  return [(event.clientX - box.left) * canvas.width / box.width, (event.clientY - box.top) * canvas.height / box.height];
};
const line = (points, from) => {
  context.lineWidth = PEN; context.lineCap = 'round'; context.lineJoin = 'round'; context.strokeStyle = '#000';
  context.beginPath();
  const start = points[Math.max(0, from - 1)];
  context.moveTo(start[0], start[1]);
  for (let i = Math.max(0, from); i < points.length; i++) context.lineTo(points[i][0], points[i][1]);
  if (points.length === 1) context.lineTo(start[0] + 0.01, start[1]);
  context.stroke();
};
const paint = () => {
  context.fillStyle = '#fff'; context.fillRect(0, 0, canvas.width, canvas.height);
  strokes.forEach((points) => line(points, 0));
};
// what is sent: the canvas reduced to SEND_WIDTH × SEND_HEIGHT, smoothed (SEND_SCALE in demo/drawing.py)
const sent = document.createElement('canvas');
sent.width = __SENDW__; sent.height = __SENDH__;
const sentContext = sent.getContext('2d');
sentContext.imageSmoothingEnabled = true; sentContext.imageSmoothingQuality = 'high';
const picture = () => {
  sentContext.fillStyle = '#fff'; sentContext.fillRect(0, 0, sent.width, sent.height);
  sentContext.drawImage(canvas, 0, 0, sent.width, sent.height);
  return sent.toDataURL('image/png');
};
const send = () => {
  clearTimeout(pause);
  props.value = strokes.length ? picture() : '';
  if (strokes.length) pause = setTimeout(() => trigger('submit'), PAUSE_MS);
};
canvas.addEventListener('pointerdown', (event) => {
  if (event.pointerType === 'mouse' && event.button !== 0) return;
  event.preventDefault();
  clearTimeout(pause);
  current = [point(event)];
  strokes.push(current);
  canvas.setPointerCapture(event.pointerId);
  line(current, 0);
});
canvas.addEventListener('pointermove', (event) => {
  if (!current) return;
  const from = current.length;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  (events.length ? events : [event]).forEach((each) => current.push(point(each)));
  line(current, from);
});
const finish = () => { if (!current) return; current = null; send(); };
canvas.addEventListener('pointerup', finish);
canvas.addEventListener('pointercancel', finish);
element.querySelector('button.undo').addEventListener('click', () => { strokes.pop(); paint(); send(); });
element.querySelector('button.clear').addEventListener('click', () => { strokes = []; paint(); send(); });
paint();
canvas.dataset.ready = 'true';  // listening: strokes from now on are sent
"""


def drawing_surface(label: str, size: tuple[int, int], pen: int, elem_classes: list[str] | None = None,
                    send_scale: float = SEND_SCALE) -> gr.HTML:
    """A `size` canvas with a black `pen`, shown at most 1.5 × its size; its value is the drawing
    reduced to `send_scale`, as a PNG data URL ("" when empty)."""
    width, height = size
    max_width = round(1.5 * width)
    fill = {"__LABEL__": escape(label), "__WIDTH__": str(width), "__HEIGHT__": str(height), "__PEN__": str(pen),
            "__PAUSE__": str(PAUSE_MS), "__MAXWIDTH__": str(max_width),
            "__SENDW__": str(round(width * send_scale)), "__SENDH__": str(round(height * send_scale))}
    return gr.HTML("", html_template=_filled(_TEMPLATE, fill), css_template=_filled(_CSS, fill),
                   js_on_load=_filled(_SCRIPT, fill), apply_default_css=False,
                   elem_classes=["drawing", *(elem_classes or [])])


def _filled(text: str, values: dict) -> str:
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def png_data_url(pixels: np.ndarray) -> str:
    """A uint8 (grey or RGB) or [0, 1] float picture as a PNG data URL."""
    if pixels.dtype != np.uint8:
        pixels = np.clip(np.rint(np.asarray(pixels, np.float32) * 255), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(np.squeeze(pixels)).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def picture_html(caption: str, pixels: np.ndarray | None, file_name: str, alt: str, waiting: str = "") -> str:
    """A captioned picture shown inline (enlarged with square pixels) with a download link; with no
    picture, the caption and `waiting` (what will appear, and when)."""
    head = f'<div class="picture-caption">{escape(caption)}</div>'
    if pixels is None:
        return f'<figure class="inline-picture">{head}<div class="picture-waiting">{escape(waiting)}</div></figure>'
    url = png_data_url(pixels)
    return (f'<figure class="inline-picture">{head}<img src="{url}" alt="{escape(alt)}" width="{PICTURE_PX}" '
            f'height="{PICTURE_PX}"><a class="picture-download" download="{escape(file_name)}" href="{url}">'
            f'Download</a></figure>')
