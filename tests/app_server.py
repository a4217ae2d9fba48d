"""Launch the real Gradio app on a free loopback port, for tests and benchmarks that talk to it over HTTP.

    from tests.app_server import launch_app, close_app
    blocks, url = launch_app()

(tests/conftest.py turns it into the session fixture `app_server`, which yields the URL.)
`launch_app()` launches `app.demo` (the module-level Blocks of app.py, exactly what
`python app.py` serves) with `demo.ui.launch_options(app.served)` (the page's script, css,
upload and request limits, the private cache folder), on 127.0.0.1 and a free port, without
blocking. It is idempotent: a Blocks that is already running is not launched twice. `close_app()`
stops it.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.request
from pathlib import Path

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Loopback requests must never go through a proxy from the environment.
os.environ["NO_PROXY"] = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"]))
os.environ["no_proxy"] = os.environ["NO_PROXY"]

HOST = "127.0.0.1"
READY_TIMEOUT_S = 60


def _wait_until_serving(url: str, timeout_s: float = READY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with opener.open(url.rstrip("/") + "/config", timeout=5) as response:
                if response.status == 200:
                    return
        except Exception as error:  # not up yet
            last_error = error
        time.sleep(0.2)
    raise RuntimeError(f"the app did not answer at {url} within {timeout_s} s: {last_error!r}")


def launch_app(blocks=None, **overrides):
    """Launch `blocks` (default: `app.demo`) on a free loopback port; return (blocks, local_url).

    `overrides` are extra `launch()` arguments on top of `launch_options()`.
    """
    import app  # builds the Blocks exactly as `python app.py` does
    if blocks is None:
        blocks = app.demo
    if getattr(blocks, "is_running", False) and getattr(blocks, "local_url", None):
        return blocks, blocks.local_url
    from demo.ui import launch_options
    options = {**launch_options(app.served), "server_name": HOST, "server_port": free_port(),
               "prevent_thread_lock": True, "quiet": True, "inbrowser": False, "share": False, **overrides}
    _, url, _ = blocks.launch(**options)
    _wait_until_serving(url)
    return blocks, url


def close_app(blocks=None) -> None:
    """Stop a Blocks started by `launch_app` (default: `app.demo`); harmless if not running."""
    if blocks is None:
        app = sys.modules.get("app")
        blocks = getattr(app, "demo", None)
    if blocks is not None and getattr(blocks, "is_running", False):
        blocks.close()


def call_endpoint(http, endpoint: str, *data) -> tuple[str, object]:
    """One call the way a raw-HTTP client makes it: POST /call/<endpoint> on `http` (an httpx client
    whose base URL ends in /gradio_api), then its event stream; ("complete", outputs) or
    ("error", message)."""
    import json
    response = http.post(f"/call/{endpoint}", json={"data": list(data)})
    assert response.status_code == 200, (endpoint, response.status_code, response.text[:300])
    event = None
    with http.stream("GET", f"/call/{endpoint}/{response.json()['event_id']}") as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                payload = json.loads(line.split(":", 1)[1])
                return (event, payload) if event == "complete" else (event, (payload or {}).get("error"))
    raise AssertionError("the event stream ended without a result")


def page_event(http, elem_class: str, event: str, data: list, session: str) -> tuple[str, object]:
    """One of the page's own events the way the browser sends it (benchmarks.common's `page_event`
    finds it in /config, `join_event` joins the queue with `data` inline and the visitor's
    `session` hash and reads the session's event stream); ("complete", outputs) or ("error",
    message). `http` is an httpx client whose base URL ends in /gradio_api."""
    from benchmarks.common import ApiError, join_event
    from benchmarks.common import page_event as find_event
    base_url = str(http.base_url).rstrip("/").removesuffix("/gradio_api")
    try:
        return "complete", join_event(http, base_url, find_event(base_url, elem_class, event), data, session)
    except ApiError as error:
        if error.refusal is None:
            raise
        return "error", error.refusal
