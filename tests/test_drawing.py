"""The Draw tab's drawing surface (demo.drawing) on the real app, as the browser uses it: each stroke
is one queue join with the canvas inline as a PNG data URL (no upload), the answer's pictures come
inline (nothing to fetch), and the heatmap comes with the surface's submit event once drawing
pauses, from what the visitor's session kept. Raw HTTP on loopback; the browser itself draws in
tests/test_browser.py."""

import base64
import io
import re
import uuid

import httpx
import numpy as np
import pytest
from PIL import Image

from demo import inputs
from reader import explain, pipeline
from tests.app_server import page_event
from tests.test_app import canvas_png

UNEXPECTED = "The drawing arrived in an unexpected form; please draw again."
NOT_READABLE = inputs.NOT_READABLE  # a FileData naming a file that was never uploaded (Gradio's own check)


@pytest.fixture(scope="module")
def http(app_server):
    with httpx.Client(base_url=app_server.rstrip("/") + "/gradio_api", timeout=60) as client:
        yield client


def data_url(path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def inline_pictures(html: str) -> list[np.ndarray]:
    """The pictures an answer's HTML carries inline (img src="data:image/png;base64,…")."""
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(found))))
            for found in re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)]


def stroke(http, session: str, value, model=None):
    """(kind, [probabilities, verdict, model input, heatmap]) of the surface's change event."""
    return page_event(http, "draw-tab", "change", [value, model], session)


def pause(http, session: str):
    """(kind, the heatmap's HTML) of the surface's submit event (no inputs: the session's last drawing)."""
    kind, outputs = page_event(http, "draw-tab", "submit", [], session)
    return kind, outputs[0] if kind == "complete" else outputs


@pytest.fixture(scope="module")
def seven(mnist, tmp_path_factory):
    (_, _), (x_test, y_test) = mnist
    index = int(np.flatnonzero(y_test == 7)[0])
    return canvas_png(x_test[index], tmp_path_factory.mktemp("drawing") / "seven.png")


def test_a_stroke_is_answered_with_its_pictures_inline_and_the_heatmap_comes_on_pause(http, seven):
    import app
    session = uuid.uuid4().hex
    kind, (probabilities, verdict, seen, heat) = stroke(http, session, data_url(seven))
    assert kind == "complete"
    assert probabilities["label"] == "7" and "model robust" in verdict, verdict
    assert re.sub(r"<[^>]+>", "", verdict).startswith("It's a 7"), verdict
    expected = pipeline.read_digit(app.served.model, Image.open(seven), heatmap=False)
    [model_input] = inline_pictures(seen)
    assert model_input.shape == (28, 28)
    assert np.abs(model_input.astype(int) - np.rint(expected.model_input * 255)).max() <= 1
    assert inline_pictures(heat) == [] and "Appears when you pause drawing" in heat
    kind, heatmap = pause(http, session)
    assert kind == "complete"
    [picture] = inline_pictures(heatmap)
    target = list(expected.probabilities).index("7")
    wanted = explain.heatmap_picture(app.served.model, expected.model_input, target, scale=1)
    assert picture.shape == (28, 28, 3) and np.array_equal(picture, wanted)


def test_the_pause_reads_the_visitors_own_last_drawing(http, seven, mnist, tmp_path):
    """Two visitors at once: each one's heatmap is of the digit that visitor drew last."""
    import app
    (_, _), (x_test, y_test) = mnist
    zero = canvas_png(x_test[int(np.flatnonzero(y_test == 0)[0])], tmp_path / "zero.png")
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    assert stroke(http, first, data_url(seven))[1][0]["label"] == "7"
    assert stroke(http, second, data_url(zero))[1][0]["label"] == "0"
    expected = pipeline.read_digit(app.served.model, Image.open(seven), heatmap=False)
    wanted = explain.heatmap_picture(app.served.model, expected.model_input, list(expected.probabilities).index("7"), 1)
    assert np.array_equal(inline_pictures(pause(http, first)[1])[0], wanted)


def test_a_cleared_canvas_says_draw_a_digit_and_its_pause_shows_no_heatmap(http, seven):
    session = uuid.uuid4().hex
    stroke(http, session, data_url(seven))
    kind, (probabilities, verdict, seen, heat) = stroke(http, session, "")
    assert kind == "complete" and not probabilities and verdict.startswith("**Draw a digit**")
    assert inline_pictures(seen) == [] and inline_pictures(heat) == []
    assert inline_pictures(pause(http, session)[1]) == []


def test_the_chosen_model_reads_the_drawing_and_draws_the_heatmap(http, seven):
    session = uuid.uuid4().hex
    kind, (probabilities, verdict, _, _) = stroke(http, session, data_url(seven), "seed")
    assert kind == "complete" and probabilities["label"] == "7" and "model seed" in verdict, verdict
    assert len(inline_pictures(pause(http, session)[1])) == 1


@pytest.mark.parametrize("value", ["/etc/passwd", {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}},
                                   "data:image/png;base64,@@@@", ["x"], 12])
def test_anything_but_a_drawing_gets_one_sentence_and_the_server_keeps_drawing(http, seven, value):
    session = uuid.uuid4().hex
    kind, message = stroke(http, session, value)
    assert kind == "error" and message in (UNEXPECTED, NOT_READABLE, "The image data URL is not valid base64."), message
    assert stroke(http, session, data_url(seven))[1][0]["label"] == "7"


def test_the_queue_looks_for_work_every_4_ms_not_every_1_ms():
    """demo.ui.QUEUE_POLL_S: Gradio's queue polls for work every 1 ms while idle (6.5% of a core)."""
    import app
    from demo.ui import QUEUE_POLL_S
    assert QUEUE_POLL_S == 0.004 and app.demo._queue.sleep_when_free == QUEUE_POLL_S


def test_the_queue_summarises_its_event_log_rarely():
    """demo.serving.prepare_process: Gradio's queue would re-summarise its log of up to 10,000 events
    (a pandas group-by) after every event; the server asks for every 1,000, over 1,000."""
    import app
    from demo.serving import ANALYTICS_EVERY
    assert ANALYTICS_EVERY == 1000
    assert app.demo._queue.ANAYLTICS_CACHE_FREQUENCY == ANALYTICS_EVERY
    assert app.demo._queue.ANALYTICS_MAX_EVENTS == ANALYTICS_EVERY


def test_last_drawings_are_kept_per_visitor_and_bounded():
    from demo.ui import LastDrawings
    kept = LastDrawings(capacity=2)
    kept.keep("a", 1), kept.keep("b", 2), kept.keep("a", 3), kept.keep("c", 4)  # "b" drew least recently
    assert (kept.get("a"), kept.get("b"), kept.get("c")) == (3, None, 4)
    kept.forget("a"), kept.keep(None, 5)
    assert kept.get("a") is None and kept.get(None) is None and len(kept.kept) == 1
