"""A server kept up past every expiry: uploads go, the page's own files (examples, the Training tab's
pictures) stay and keep answering.

Two servers of `python app.py` in their own processes, raw HTTP only:
- one with the expiry ages shortened through their settings (LENET_UPLOAD_MAX_AGE_S,
  LENET_CACHE_MAX_AGE_S), checked after both have passed;
- one with the real ages, started by the first test of the session (tests/conftest.py runs it
  first) and checked by the last, once the real output age and two sweeps have passed: the
  suite's own run time is the wait.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from benchmarks.common import AppServer
from demo import cache_folder
from tests.app_server import call_endpoint
from tests.helpers import ROOT

pytestmark = pytest.mark.slow

SEVEN = ROOT / "artifacts" / "examples" / "mnist_test_0000_digit_7.png"
MODEL = ["--model", str(ROOT / "artifacts" / "fast" / "lenet.onnx")]
SWEEPS = 2 * cache_folder.CACHE_SWEEP_EVERY_S + 3


class Client:
    def __init__(self, app: AppServer):
        self.app = app
        self.http = httpx.Client(base_url=app.url.rstrip("/") + "/gradio_api", timeout=120, trust_env=False)

    def upload(self, data: bytes, name: str) -> str:
        response = self.http.post("/upload", files={"files": (name, data, "image/png")})
        assert response.status_code == 200, response.text[:300]
        return response.json()[0]

    def call(self, endpoint: str, *data):
        return call_endpoint(self.http, endpoint, *data)

    def config(self) -> dict:
        return self.http.get(self.app.url.rstrip("/") + "/config").json()


def examples_answer(client: Client) -> int:
    """Click every example as the page does — its thumbnail gallery's click event (POST
    /gradio_api/run/predict with the event's fn_index, as the browser sends an unqueued event),
    then the input's change event with the picture the click put there — and return how many were
    read, failing on the first that is not."""
    config = client.config()
    kinds = {component["id"]: component["type"] for component in config["components"]}
    readers = {dependency["inputs"][0]: dependency["api_name"] for dependency in config["dependencies"]
               if dependency.get("api_name") in ("classify_upload", "read_number_upload")}
    read = 0
    for index, dependency in enumerate(config["dependencies"]):
        gallery, trigger = dependency["targets"][0] if dependency["targets"] else (None, None)
        if kinds.get(gallery) != "dataset" or trigger != "click" or dependency["outputs"][0] not in readers:
            continue
        samples = next(c for c in config["components"] if c["id"] == gallery)["props"]["samples"]
        for sample in range(len(samples)):
            response = client.http.post("/run/predict", json={"data": [sample], "fn_index": dependency.get("id", index),
                                                              "trigger_id": gallery, "session_hash": "server-life"})
            assert response.status_code == 200, (sample, response.status_code, response.text[:300])
            picture = response.json()["data"][0]
            target = readers[dependency["outputs"][0]]
            kind, answer = client.call(target, picture)
            assert kind == "complete", f"example {sample} of {target} failed: {answer}"
            read += 1
    return read


def on_disk(cache_base: Path, path: str) -> Path:
    """Where a file the server named (under its alias, demo.private_paths.ALIAS) lies on disk."""
    from demo.private_paths import ALIAS
    folder = next(cache_base.glob("lenet-demo-*"))
    return Path(path.replace(ALIAS, str(folder), 1)) if path.startswith(ALIAS) else Path(path)


def page_files_served(client: Client) -> int:
    """GET every file the page's config points at (examples, Training pictures); all must be served."""
    text = json.dumps(client.config())
    urls = sorted(set(part.split('"')[0] for part in text.split('"url": "')[1:] if "/gradio_api/file=" in part.split('"')[0]))
    for url in urls:
        path = url[url.index("/gradio_api/file="):]
        response = client.http.get(client.app.url.rstrip("/") + path)
        assert response.status_code == 200, (path, response.status_code)
    return len(urls)


def test_uploads_expire_and_the_pages_own_files_outlive_the_shortened_ages(tmp_path):
    upload_age, output_age = 3, 6
    app = AppServer(extra_args=MODEL, log_path=tmp_path / "server.log",
                    env={"GRADIO_TEMP_DIR": str(tmp_path / "gradio"), "LENET_UPLOAD_MAX_AGE_S": str(upload_age),
                         "LENET_CACHE_MAX_AGE_S": str(output_age)})
    with app:
        app.wait_http(timeout=120)
        client = Client(app)
        named = client.upload(SEVEN.read_bytes(), "seven.png")
        kind, outputs = client.call("classify_upload", {"path": named, "meta": {"_type": "gradio.FileData"}})
        assert kind == "complete" and outputs[0]["label"] == "7"
        uploaded, output_picture = on_disk(tmp_path / "gradio", named), on_disk(tmp_path / "gradio", outputs[2]["path"])
        assert uploaded.is_file() and output_picture.is_file()
        time.sleep(max(upload_age, output_age) + SWEEPS)
        assert not uploaded.exists(), "an upload outlived its age"
        assert not output_picture.exists(), "an output picture outlived its age"
        assert examples_answer(client) >= 10
        assert page_files_served(client) >= 10


LONG_LIVED: dict = {}


def test_a_server_started_first_to_live_past_the_real_expiry(tmp_path_factory):
    """Started first (tests/conftest.py orders it), checked by the last test of the session."""
    folder = tmp_path_factory.mktemp("long-lived")
    app = AppServer(extra_args=MODEL, log_path=folder / "server.log", env={"GRADIO_TEMP_DIR": str(folder / "gradio")})
    app.start()
    app.wait_http(timeout=180)
    client = Client(app)
    LONG_LIVED.update(app=app, client=client, started=time.monotonic(),
                      upload=on_disk(folder / "gradio", client.upload(SEVEN.read_bytes(), "seven.png")))
    assert LONG_LIVED["upload"].is_file()
    assert examples_answer(client) >= 10


def test_examples_still_answer_on_a_server_kept_past_the_real_expiry():
    """Run last: waits (if the suite was quicker) until the real output age and two sweeps have passed."""
    if not LONG_LIVED:
        pytest.fail("the long-lived server was not started: run the whole module (conftest orders its tests)")
    app, client = LONG_LIVED["app"], LONG_LIVED["client"]
    try:
        left = LONG_LIVED["started"] + cache_folder.CACHE_MAX_AGE_S + SWEEPS - time.monotonic()
        if left > 0:
            time.sleep(left)
        assert app.process.poll() is None, "the server died"
        assert not LONG_LIVED["upload"].exists(), "an upload outlived its age"
        assert examples_answer(client) >= 10
        assert page_files_served(client) >= 10
        kind, outputs = client.call("classify_upload", {"path": client.upload(SEVEN.read_bytes(), "seven.png"),
                                                        "meta": {"_type": "gradio.FileData"}})
        assert kind == "complete" and outputs[0]["label"] == "7"
    finally:
        client.http.close()
        app.stop()
