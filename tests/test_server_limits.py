"""The public server as an attacker meets it: `python app.py` in its own process, raw HTTP only.

One regression test per way in which a hostile client could read the server's files or exhaust it
(issue "Safe on the public internet"), each asserting the refusal *and* that a normal request still
answers right afterwards; plus the resource test: every worst-case input within the limits is
answered within bounded CPU time and memory, measured from outside the server process
(/proc/PID/stat and /proc/PID/status), and the cache folder stays bounded and goes at exit.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import os
import re
import signal
import socket
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from PIL import Image

from benchmarks.common import AppServer
from demo import cache_folder, decode_budget, inputs, private_paths, server_limits
from demo.server_limits import RequestLimits
from reader.images import MAX_ASPECT, MAX_IMAGE_BYTES
from tests.app_server import call_endpoint
from tests.helpers import ROOT, png_bytes
from tests.hostile_inputs import costly_to_decode, png_claiming, worst_cases

pytestmark = pytest.mark.slow

SEVEN = ROOT / "artifacts" / "examples" / "mnist_test_0000_digit_7.png"
SERVER_FILE = ROOT / "artifacts" / "examples" / "mnist_test_0001_digit_2.png"  # exists, readable, an image
CPU_SECONDS_PER_REQUEST = 2.0   # the README's aim is ~1 s of CPU; this is the regression tripwire
PEAK_MIB_PER_REQUEST = 300
REFUSAL_CPU_SECONDS = 0.5
BREACH_CPU_SECONDS = 1.0 + 0.6  # the decode budget, plus a replacement worker's start-up (~0.3 s)
LIMITS_DOC = (ROOT / "docs" / "serving.md").read_text()   # the "Limits and security" table the README links to


def readme_bytes(row_start: str) -> int:
    """The byte limit docs/serving.md's "Limits and security" table states in the row starting `row_start`."""
    import re
    row = next(line for line in LIMITS_DOC.splitlines() if line.startswith(row_start))
    return int(re.search(r"([\d,]{7,}) bytes", row).group(1).replace(",", ""))


# --- 0. the middleware in process: each limit against a stand-in for Gradio, no server, no clock ----

GUARD_S = 60  # far past what any of these takes; only a hang reaches it


def run(coroutine):
    """asyncio.run with a guard: a broken middleware that never answers fails the test, not the suite."""
    return asyncio.run(asyncio.wait_for(coroutine, GUARD_S))


def limits_row(name: str) -> str:
    """The row of docs/serving.md's "Limits and security" table that starts with `name`."""
    return next(line for line in LIMITS_DOC.splitlines() if line.startswith(f"| {name}"))


def documented_large_bodies() -> tuple[int, int]:
    """docs/serving.md: "large bodies (over 64 kB) read at once | 8" → (bytes, how many)."""
    found = re.search(r"\| large bodies \(over (\d+) kB\) read at once \| (\d+) \|", LIMITS_DOC)
    return int(found.group(1)) * 1024, int(found.group(2))


class Gradio:
    """What stands behind the middleware: reads the whole body, then answers 200 with `answer` (its
    last message without `more_body`, as Starlette sends it); or raises, before or after answering;
    or waits for `hold` before answering."""

    def __init__(self, answer: bytes = b'{"ok": true}', fail: str = "", hold: asyncio.Event | None = None):
        self.answer, self.fail, self.hold = answer, fail, hold
        self.bodies: list[bytes] = []

    async def __call__(self, scope, receive, send):
        body = b""
        if scope["method"] in ("POST", "PUT", "PATCH"):
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body", False):
                    break
        self.bodies.append(body)
        if self.hold is not None:
            await self.hold.wait()
        if self.fail == "before":
            raise ValueError("an unknown fn_index")
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        if self.fail == "after":
            raise ValueError("failed while streaming")
        await send({"type": "http.response.body", "body": self.answer})


async def asgi_request(limits, method="POST", path="/gradio_api/queue/join", body=b"", length: int | None = None,
                       headers: dict | None = None, chunks: list[bytes] | None = None, query=b"", raw_path=None,
                       delay: float = 0.0):
    """Send one request through `limits`; the messages it answered with. `length` (default: the body's)
    is the declared Content-Length, -1 for none; `chunks` sends the body in pieces, each `delay`
    seconds after it is asked for."""
    pieces = list(chunks) if chunks is not None else [body]
    declared = sum(map(len, pieces)) if length is None else length
    header_list = [(b"host", b"127.0.0.1:7860")]
    if declared >= 0:
        header_list.append((b"content-length", str(declared).encode()))
    header_list += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {"type": "http", "method": method, "path": path, "raw_path": raw_path or path.encode(),
             "query_string": query, "headers": header_list, "client": ("192.0.2.1", 5000)}

    async def receive():
        if pieces:
            piece = pieces.pop(0)
            await asyncio.sleep(delay)
            return {"type": "http.request", "body": piece, "more_body": bool(pieces)}
        return {"type": "http.disconnect"}

    sent = []

    async def send(message):
        sent.append(message)

    await limits(scope, receive, send)
    return sent


def answer(sent) -> tuple[int, dict | None]:
    """(status, JSON body or None) of the first response in `sent`."""
    starts = [m for m in sent if m["type"] == "http.response.start"]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return starts[0]["status"], json.loads(body) if body else None


def one_sentence(text: str) -> bool:
    return bool(text) and text[0].isupper() and text.endswith(".") and "\n" not in text


def test_in_process_bodies_up_to_the_documented_limits_are_read_and_past_them_refused():
    """The JSON and upload limits of docs/serving.md, one byte either side, on a POST (bodies are
    refused before a byte is read). Broken variants caught: other limits (64 / 1024 B of form
    fields, the form fields subtracted, a limit itself refused with `>=`), POST not counted as a
    method with a body, a 413 without its sentence, its figures wrong ("up to 0 MB", "262144 MB",
    "1088.0039 kB")."""
    image_mb = int(re.search(r"\| (\d+) MB", limits_row("image file")).group(1))
    for path, content_type, limit in (("/gradio_api/queue/join", "application/json", JSON_LIMIT),
                                      ("/gradio_api/upload", "multipart/form-data; boundary=x", UPLOAD_LIMIT)):
        app = Gradio()
        kind = {"content-type": content_type}
        assert answer(run(asgi_request(RequestLimits(app), path=path, body=b" " * limit, headers=kind)))[0] == 200
        assert app.bodies == [b" " * limit]
        status, refusal = answer(run(asgi_request(RequestLimits(app), path=path, length=limit + 1, headers=kind)))
        assert status == 413 and "too large" in refusal["detail"] and one_sentence(refusal["detail"])
        assert f"at most {limit:,} bytes" in refusal["detail"] and f"up to {image_mb} MB" in refusal["detail"]
        assert len(app.bodies) == 1  # the refused body never reached Gradio
    status, refusal = answer(run(asgi_request(RequestLimits(Gradio()), length=JSON_LIMIT + 1)))
    assert f"send pictures over {JSON_LIMIT // 1024} kB as files (POST /gradio_api/upload, up to {image_mb} MB)" \
        in refusal["detail"]


def test_in_process_large_bodies_at_once_are_bounded_by_the_documented_count():
    """docs/serving.md: 8 bodies over 64 kB read at once, the next refused (503 "Too many large
    requests at once"); a body of exactly 64 kB is not large; a finished one gives its slot back.
    Broken variants caught: a larger LARGE_BODY_BYTES (64 × 1,025 B), the count starting at 1, the
    check dropped or allowing 9 (`>`), the refusal's sentence changed."""
    large, at_once = documented_large_bodies()
    quote = re.search(r'HTTP 503 "([^"]+)"', limits_row("large bodies")).group(1)

    async def scenario():
        hold = asyncio.Event()
        app = Gradio(hold=hold)
        limits = RequestLimits(app)
        held = [asyncio.create_task(asgi_request(limits, body=b" " * (large + 1))) for _ in range(at_once)]
        while len(app.bodies) + sum(task.done() for task in held) < at_once:  # each read by Gradio, or refused
            await asyncio.sleep(0)
        one_more = asyncio.create_task(asgi_request(limits, body=b" " * (large + 1)))
        free = asyncio.create_task(asgi_request(limits, body=b" " * large))  # not a large body
        while len(app.bodies) + sum(task.done() for task in held + [one_more]) < at_once + 1 + 1:
            await asyncio.sleep(0)  # until each of the two is read by Gradio or refused
        hold.set()
        done = [answer(sent)[0] for sent in await asyncio.gather(*held)]
        after = answer(await asgi_request(limits, body=b" " * (large + 1)))[0]
        return answer(await one_more), done, answer(await free)[0], after

    (status, refusal), done, free, after = run(scenario())
    assert done == [200] * at_once and free == 200 and after == 200
    assert status == 503 and refusal["detail"].startswith(quote) and one_sentence(refusal["detail"])


def test_in_process_a_body_must_declare_its_length():
    """Broken variants caught: a chunked body (no length) or one of length "abc" read anyway or failed
    as a malformed call (400), a POST without a body refused, the 411's sentence changed."""
    app = Gradio()
    for headers, length in (({"transfer-encoding": "chunked"}, -1), ({}, None)):
        sent = run(asgi_request(RequestLimits(app), body=b"{}", length=length, headers=headers))
        if length == -1:
            status, refusal = answer(sent)
            assert status == 411 and "Content-Length" in refusal["detail"] and one_sentence(refusal["detail"])
    scope_length = [(b"host", b"127.0.0.1"), (b"content-length", b"abc")]

    async def bad_length():
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"{}", "more_body": False}

        async def send(message):
            sent.append(message)
        await RequestLimits(app)({"type": "http", "method": "POST", "path": "/gradio_api/queue/join",
                                  "raw_path": b"/gradio_api/queue/join", "query_string": b"",
                                  "headers": scope_length, "client": ("192.0.2.1", 1)}, receive, send)
        return sent
    assert answer(run(bad_length()))[0] == 411
    assert answer(run(asgi_request(RequestLimits(app), length=-1)))[0] == 200  # no body at all: read
    assert app.bodies == [b"{}", b""]


def test_in_process_multipart_bodies_go_only_to_the_routes_that_take_files():
    """Broken variants caught: multipart taken on any route, or refused without an answer."""
    form = {"content-type": "multipart/form-data; boundary=x"}
    app = Gradio()
    status, refusal = answer(run(asgi_request(RequestLimits(app), body=b"--x--", headers=form)))
    assert status == 415 and "/gradio_api/upload" in refusal["detail"] and app.bodies == []
    for path in ("/gradio_api/upload/", "/gradio_api/component_server"):
        assert answer(run(asgi_request(RequestLimits(app), path=path, body=b"--x--", headers=form)))[0] == 200


class Cache:
    """A stand-in for demo.cache_folder.CacheFolder: admits or refuses, records what was settled."""

    def __init__(self, refusal: str | None = None):
        self.refusal, self.admitted, self.settled = refusal, [], []

    def admit(self, size, client):
        self.admitted.append((size, client))
        return self.refusal

    def settle(self, client, size, stored):
        self.settled.append((client, size, list(stored)))


def test_in_process_uploads_are_admitted_by_the_cache_and_settled_with_what_gradio_stored(monkeypatch):
    """Only POST /gradio_api/upload is admitted against the disk quota, by the client's address
    (X-Forwarded-For behind the trusted proxy, else the socket's peer), and settled with the paths
    Gradio's answer names; a refusal is HTTP 503 with the cache's sentence. Broken variants caught:
    the component_server route taken for the upload route, the cache's refusal ignored or 504, the
    stored paths not collected (status or message type misread, the last message never parsed), the
    client's address misread."""
    monkeypatch.setenv("LENET_PROXY_HOPS", "1")
    form = {"content-type": "multipart/form-data; boundary=x"}
    body = b"--x\r\n\r\npicture\r\n--x--\r\n"
    cache = Cache()
    app = Gradio(answer=b'["/tmp/gradio/abc/seven.png", 7]')
    sent = run(asgi_request(RequestLimits(app, cache), path="/gradio_api/upload", body=body,
                                    headers={**form, "x-forwarded-for": "198.51.100.9, 203.0.113.7"}))
    assert answer(sent)[0] == 200
    assert cache.admitted == [(len(body), "203.0.113.7")]
    assert cache.settled == [("203.0.113.7", len(body), ["/tmp/gradio/abc/seven.png"])]
    monkeypatch.setenv("LENET_PROXY_HOPS", "0")
    run(asgi_request(RequestLimits(app, cache), path="/gradio_api/upload", body=body, headers=form))
    assert cache.admitted[-1] == (len(body), "192.0.2.1")
    run(asgi_request(RequestLimits(app, cache), path="/gradio_api/component_server", body=body, headers=form))
    assert len(cache.admitted) == 2  # the sketchpad's parts are held in memory, not on disk
    full = Cache(refusal="The server's upload space is full; try again in 5 s.")
    status, refusal = answer(run(asgi_request(RequestLimits(app, full), path="/gradio_api/upload", body=body,
                                                      headers=form)))
    assert status == 503 and refusal["detail"] == full.refusal and full.settled == []


def multipart_body(boundary: bytes, files: int) -> bytes:
    parts = b"".join(b"--" + boundary + b'\r\nContent-Disposition: form-data; name="files"; filename="f%d.png"\r\n'
                     b"\r\n" % i + b"x" * 10 + b"\r\n" for i in range(files))
    return parts + b"--" + boundary + b"--\r\n"


def read_counted(body: bytes, boundary: bytes, cuts: str) -> list[dict]:
    """The messages `count_parts` passes on for `body` sent in pieces: cut right after each marker,
    or through the middle of each."""
    marker = b"--" + boundary
    ends = [i + len(marker) - (len(marker) // 2 if cuts == "inside" else 0)
            for i in range(len(body)) if body.startswith(marker, i)]
    pieces = [body[a:b] for a, b in zip([0] + ends, ends + [len(body)])]

    async def receive():
        piece = pieces.pop(0)
        return {"type": "http.request", "body": piece, "more_body": bool(pieces)}

    async def read():
        counted = server_limits.count_parts(receive, boundary)
        messages = [await counted()]
        while messages[-1]["more_body"]:
            messages.append(await counted())
        return messages
    return run(read())


@pytest.mark.parametrize("cuts", ["after", "inside"])
def test_in_process_files_in_one_upload_are_counted_up_to_the_documented_number(cuts):
    """docs/serving.md: 4 files in one upload; the fifth makes the body fail to parse. Counted however
    the body is cut into messages. Broken variants caught: a larger MAX_UPLOAD_FILES, exactly 4
    refused (`>=`), parts never counted, a marker at a message's end counted twice (a tail one byte
    too long), the messages not passed on, the boundary parameter missed when it comes first or
    quoted."""
    from python_multipart.exceptions import MultipartParseError
    files = int(re.search(r"\| files in one upload \| (\d+) \|", LIMITS_DOC).group(1))
    headers = {b"content-type": b'multipart/form-data; boundary="lenet-7"; charset=utf-8'}
    boundary = server_limits.multipart_boundary(headers)
    assert boundary == b"lenet-7"
    messages = read_counted(multipart_body(boundary, files), boundary, cuts)
    assert b"".join(m["body"] for m in messages) == multipart_body(boundary, files)
    with pytest.raises(MultipartParseError, match="too many files"):
        read_counted(multipart_body(boundary, files + 1), boundary, cuts)


def test_in_process_a_body_without_a_boundary_is_passed_on_uncounted():
    async def receive():
        return {"type": "http.request", "body": b"x", "more_body": False}
    assert server_limits.count_parts(receive, None) is receive
    assert server_limits.multipart_boundary({b"content-type": b"multipart/form-data"}) is None


class Clock:
    """A stand-in for server_limits' `time` whose monotonic() the test moves (asyncio keeps its own)."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now


def documented_body_pace() -> tuple[float, float]:
    """docs/serving.md: "10 s without a byte, or slower than 32 kB/s overall after the first 10 s"."""
    found = re.search(r"(\d+) s without a byte, or slower than (\d+) kB/s overall", limits_row("a body that stalls"))
    return float(found.group(1)), float(found.group(2)) * 1024


@pytest.mark.parametrize("elapsed, too_slow", [(-1.0, False), (1.0, True)])
def test_in_process_a_body_slower_than_the_documented_pace_is_cut(monkeypatch, elapsed, too_slow):
    """A 1 MB body's second piece arrives when its allowance (10 s + size ÷ 32 kB/s, by a clock the
    test moves) has just ended, or is just about to. Broken variants caught: an allowance shorter or
    far longer than documented, no deadline from the start (`body_done = True`) or after the first
    piece (`more_body` misread), waiting the full idle time past the deadline (`max`, 1.001 s)."""
    idle, pace = documented_body_pace()
    size = 1_000_000
    clock = Clock()
    monkeypatch.setattr(server_limits, "time", clock)
    pieces = [b" " * 1000, b" " * (size - 1000)]

    async def receive():
        piece = pieces.pop(0)
        await asyncio.sleep(0.05 if not pieces else 0)  # the last piece takes a moment (real time)
        return {"type": "http.request", "body": piece, "more_body": bool(pieces)}

    async def read():
        timed = server_limits.within_deadline(receive, size)
        first = await timed()
        clock.now += idle + size / pace + elapsed  # the second piece is asked for at the moment the test chose
        return [first, await timed()]
    if too_slow:
        with pytest.raises(server_limits.BodyTooSlow):
            run(read())
    else:
        assert [len(m["body"]) for m in run(read())] == [1000, size - 1000]


def test_in_process_a_body_too_slow_is_answered_408(monkeypatch):
    """Broken variant caught: no answer to a body cut for slowness."""
    clock = Clock()
    monkeypatch.setattr(server_limits, "time", clock)
    idle, pace = documented_body_pace()

    class Late(Gradio):
        async def __call__(self, scope, receive, send):
            clock.now += idle + 2  # Gradio reads the body past its allowance
            return await super().__call__(scope, receive, send)
    status, refusal = answer(run(asgi_request(RequestLimits(Late()), body=b"{}", delay=0.05)))
    assert status == 408 and one_sentence(refusal["detail"])


def test_in_process_failures_inside_gradio_are_one_sentence_and_one_log_line(caplog):
    """Broken variants caught: a failure answered with nothing, or logged twice (`logged=True`
    dropped), a failure after Gradio began its answer answered a second time, the sentence changed."""
    caplog.set_level(logging.WARNING, logger="lenet.server")
    status, refusal = answer(run(asgi_request(RequestLimits(Gradio(fail="before")), body=b"{}")))
    assert status == 400 and one_sentence(refusal["detail"]) and "docs/demo.md" in refusal["detail"]
    assert len(caplog.records) == 1
    sent = run(asgi_request(RequestLimits(Gradio(fail="after")), method="GET", length=-1))
    assert [m.get("status") for m in sent if m["type"] == "http.response.start"] == [200]


def test_in_process_refusals_answer_json_and_log_one_printable_line(caplog):
    """Broken variants caught: a refusal not logged, its path not made printable, its JSON key, its
    headers or its body missing."""
    caplog.set_level(logging.WARNING, logger="lenet.server")
    sent = run(asgi_request(RequestLimits(Gradio()), path="/gradio_api/queue/join\x1b[2J", length=JSON_LIMIT + 1))
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert dict(start["headers"])[b"content-type"] == b"application/json"
    assert dict(start["headers"])[b"connection"] == b"close"
    assert "too large" in json.loads(sent[1]["body"])["detail"]
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 1 and "refused POST /gradio_api/queue/join?[2J: HTTP 413" in lines[0], lines


def without_host_settings(monkeypatch):
    for name in ("LENET_ALLOWED_HOSTS", "LENET_PROXY_HOPS", "SPACE_ID", "SPACE_HOST", "GRADIO_SERVER_NAME"):
        monkeypatch.delenv(name, raising=False)
    machine = SimpleNamespace(gethostname=lambda: "Lenet-Box",
                              getaddrinfo=lambda host, port: [(2, 1, 6, "", ("10.0.0.5", 0))])
    monkeypatch.setattr(server_limits, "socket", machine)


def test_in_process_the_host_names_the_server_answers_to(monkeypatch):
    """docs/serving.md: loopback, this machine's name and addresses, GRADIO_SERVER_NAME, SPACE_HOST and
    LENET_ALLOWED_HOSTS; behind a trusted proxy with no list, any. Broken variants caught: 127.0.0.1
    missing, a made-up name added when a variable is unset, the machine's addresses misread, the
    listening name ignored or 0.0.0.0 / :: / "" taken for a name, the list ignored or the proxy rule
    wrong (hops > 1), the proxy hops not read from SPACE_ID."""
    without_host_settings(monkeypatch)
    base = {"127.0.0.1", "localhost", "::1", "lenet-box", "10.0.0.5"}
    assert server_limits.trusted_proxy_hops() == 0
    assert server_limits.allowed_hosts() == base
    for listening in ("0.0.0.0", "::", ""):
        assert server_limits.allowed_hosts(listening) == base
    assert server_limits.allowed_hosts("Lenet.Example") == base | {"lenet.example"}
    monkeypatch.setenv("GRADIO_SERVER_NAME", "served.example")
    monkeypatch.setenv("SPACE_HOST", "me-lenet.hf.space")
    monkeypatch.setenv("LENET_ALLOWED_HOSTS", " A.example, b.example ,")
    assert server_limits.allowed_hosts() == base | {"served.example", "me-lenet.hf.space", "a.example", "b.example"}
    monkeypatch.setenv("LENET_PROXY_HOPS", "1")
    assert "*" not in server_limits.allowed_hosts()  # a list set: it holds behind a proxy too
    monkeypatch.delenv("LENET_ALLOWED_HOSTS")
    assert server_limits.allowed_hosts() == {"*"}
    monkeypatch.delenv("LENET_PROXY_HOPS")
    monkeypatch.setenv("SPACE_ID", "someone/lenet")
    assert server_limits.trusted_proxy_hops() == 1 and server_limits.allowed_hosts() == {"*"}
    monkeypatch.setenv("LENET_PROXY_HOPS", "2")
    assert server_limits.trusted_proxy_hops() == 2


@pytest.mark.parametrize("value, name", [("Example.org:7860", "example.org"), ("[::1]:7860", "::1"),
                                         ("[::1]", "::1"), ("::1", "::1"), ("[::1", "[::1"), ("LOCALHOST", "localhost")])
def test_in_process_host_header_to_name(value, name):
    """Broken variants caught: brackets or ports not taken off (IPv6 and host:port)."""
    assert server_limits.host_name(value) == name


def test_in_process_hosts_and_nul_bytes_are_refused_before_gradio(monkeypatch):
    """Broken variants caught: a host refusal never sent or not 400, "*" not honoured, the first
    X-Forwarded-Host entry not taken, a NUL byte let through in the path, the raw path or the query
    (or every query refused)."""
    app = Gradio()
    limits = RequestLimits(app, hosts={"127.0.0.1", "localhost"})
    status, refusal = answer(run(asgi_request(limits, method="GET", length=-1,
                                                      headers={"x-forwarded-host": "evil.invalid"})))
    assert status == 400 and "LENET_ALLOWED_HOSTS" in refusal["detail"] and app.bodies == []
    for headers in ({"x-forwarded-host": "localhost, proxy.internal"}, {}):
        assert answer(run(asgi_request(limits, method="GET", length=-1, headers=headers)))[0] == 200
    anyone = RequestLimits(app, hosts={"*"})
    assert answer(run(asgi_request(anyone, method="GET", length=-1, headers={"x-forwarded-host": "a.b"})))[0] == 200
    for kind in ({"path": "/gradio_api/file=/tmp/a\x00b"}, {"raw_path": b"/gradio_api/file=/tmp/a%00b"},
                 {"query": b"name=a%00b"}):
        status, refusal = answer(run(asgi_request(limits, method="GET", length=-1, **kind)))
        assert status == 400 and refusal["detail"] == "The request's path is not valid.", kind
    assert answer(run(asgi_request(limits, method="GET", length=-1, query=b"name=ab")))[0] == 200


# --- the server and a raw HTTP client ------------------------------------------------------------

class Server:
    def __init__(self, app: AppServer, base: Path, log: Path):
        self.app, self.base, self.log = app, base, log
        self.http = httpx.Client(base_url=app.url.rstrip("/") + "/gradio_api", timeout=120, trust_env=False)

    @property
    def cache(self) -> Path:
        return next(self.base.glob("lenet-demo-*"))

    def upload(self, data: bytes, name: str = "picture.png") -> dict:
        response = self.http.post("/upload", files={"files": (name, data, "application/octet-stream")})
        assert response.status_code == 200, (response.status_code, response.text[:300])
        return {"path": response.json()[0], "orig_name": name, "meta": {"_type": "gradio.FileData"}}

    def call(self, endpoint: str, *data) -> tuple[str, object]:
        """("complete", outputs) or ("error", message), through /call/<endpoint> and its event stream."""
        return call_endpoint(self.http, endpoint, *data)

    def reads_a_seven(self) -> bool:
        kind, outputs = self.call("classify_upload", self.upload(SEVEN.read_bytes(), "seven.png"))
        return kind == "complete" and outputs[0]["label"] == "7"

    def cpu_seconds(self) -> float:
        """The server's CPU time, its decoding workers' included: its own threads, the workers it has
        reaped (cutime + cstime) and those alive now."""
        fields = Path(f"/proc/{self.app.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
        for child in self.children():
            try:
                child_fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(child_fields[11]) + int(child_fields[12])
            except OSError:
                pass
        return ticks / os.sysconf("SC_CLK_TCK")

    def children(self) -> list[int]:
        """Process ids of the server's child processes (its decoding workers)."""
        pids = []
        for task in Path(f"/proc/{self.app.pid}/task").iterdir():
            try:
                pids += [int(pid) for pid in (task / "children").read_text().split()]
            except OSError:
                pass
        return pids

    def status_kib(self, key: str) -> int:
        for line in Path(f"/proc/{self.app.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        raise KeyError(key)

    def reset_peak(self) -> None:
        Path(f"/proc/{self.app.pid}/clear_refs").write_text("5")  # VmHWM := VmRSS (Linux ≥ 4.0)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("gradio")
    log = base.parent / "server.log"
    app = AppServer(extra_args=["--model", str(ROOT / "artifacts" / "fast" / "lenet.onnx")],
                    env={"GRADIO_TEMP_DIR": str(base), "LENET_PROXY_HOPS": "1", "LENET_ALLOWED_HOSTS": "127.0.0.1"},
                    log_path=log)  # as behind a Space's proxy: clients are told apart by X-Forwarded-For
    with app:
        app.wait_http(timeout=120)
        served = Server(app, base, log)
        assert served.reads_a_seven()  # warm: model, pools and caches loaded before anything is measured
        yield served
        served.http.close()


# --- 1. no server file is reachable --------------------------------------------------------------

FILE_ENDPOINTS = ("classify_upload", "read_number_upload")
SKETCH_ENDPOINTS = ("classify_sketch", "read_number")


def file_payloads(path: str) -> dict:
    return {"path": {"path": path, "meta": {"_type": "gradio.FileData"}},
            "url_without_path": {"path": None, "url": path, "meta": {"_type": "gradio.FileData"}}}


@pytest.mark.parametrize("target", ["existing", "missing", "etc_passwd"])
@pytest.mark.parametrize("endpoint", FILE_ENDPOINTS + SKETCH_ENDPOINTS + ("classify_photo",))
def test_no_endpoint_reads_a_file_the_client_names(server, endpoint, target):
    path = {"existing": str(SERVER_FILE), "missing": str(SERVER_FILE.with_name("no_such_file.png")),
            "etc_passwd": "/etc/passwd"}[target]
    answers = []
    for kind, entry in file_payloads(path).items():
        if endpoint in SKETCH_ENDPOINTS:
            for slot in ("composite", "background", "layers"):
                value = {"background": None, "layers": [entry] if slot == "layers" else [], "composite": None}
                if slot != "layers":
                    value[slot] = entry
                answers.append(server.call(endpoint, value))
        else:
            answers.append(server.call(endpoint, entry))
    for kind, message in answers:
        assert kind == "error", f"{endpoint} answered a request naming {path}: {message}"
        assert message == inputs.NOT_READABLE or message.startswith("The request's data does not fit"), message
        assert "could not be found" not in message and "not an image" not in message  # no oracle
    assert server.reads_a_seven()


@pytest.mark.parametrize("path", ["README.md", "app.py", "artifacts/fast/lenet.onnx", str(ROOT / "artifacts/fast/lenet.onnx"),
                                  str(SERVER_FILE), "/etc/passwd", "../../etc/passwd", "%2Fetc%2Fpasswd",
                                  "/proc/self/environ"])
def test_the_file_route_serves_no_server_file(server, path):
    response = server.http.get(f"/file={path}")
    assert response.status_code in (403, 404), (path, response.status_code)


REMOTE = "https://lenet-probe.invalid/7.png"  # RFC 2606: never resolves; nothing may even try


def remote_file(url: str = REMOTE, slot: str = "path") -> dict:
    return {"path": url if slot == "path" else None, "url": url, "meta": {"_type": "gradio.FileData"}}


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/x.png", "file:///etc/passwd", REMOTE])
def test_urls_are_never_fetched(server, url):
    kind, message = server.call("classify_photo", remote_file(url, slot="url"))
    assert kind == "error" and message == inputs.NOT_READABLE
    assert server.reads_a_seven()


@pytest.mark.parametrize("endpoint", FILE_ENDPOINTS + SKETCH_ENDPOINTS + ("classify_photo", "inside", "inside_sketch"))
def test_a_file_whose_path_is_a_url_is_refused_before_anything_fetches_it(server, endpoint):
    """Gradio's own preprocessing downloads a FileData whose path is an http(s) URL; the page refuses
    such a request first, in every slot (a sketch's background, layers and composite too)."""
    before = server.log.read_text(errors="replace")
    if endpoint in SKETCH_ENDPOINTS + ("inside_sketch",):
        values = [{"background": remote_file(), "layers": [], "composite": None},
                  {"background": None, "layers": [remote_file()], "composite": None},
                  {"background": None, "layers": [], "composite": remote_file()}]
    else:
        values = [remote_file()]
    for value in values:
        kind, message = server.call(endpoint, value)
        assert kind == "error" and message == inputs.NOT_READABLE, message
    time.sleep(0.3)
    new = server.log.read_text(errors="replace")[len(before):]
    assert "lenet-probe.invalid" not in new and "resolve" not in new.lower()  # no download was attempted
    assert server.reads_a_seven()


@pytest.mark.parametrize("endpoint", FILE_ENDPOINTS + SKETCH_ENDPOINTS)
def test_a_path_with_a_nul_byte_gets_the_unreadable_file_sentence(server, endpoint):
    """Gradio's preprocessing fails on a path with a NUL byte with Python's bare "embedded null
    byte"; the page refuses it first, with the sentence of any file it may not read."""
    nul = {"path": "\x00", "meta": {"_type": "gradio.FileData"}}
    value = {"background": nul, "layers": [], "composite": None} if endpoint in SKETCH_ENDPOINTS else nul
    kind, message = server.call(endpoint, value)
    assert kind == "error" and message == inputs.NOT_READABLE, message
    assert server.reads_a_seven()


def test_no_download_or_name_lookup_is_even_attempted_for_a_url_path(app_server, monkeypatch):
    """In process, with spies on Gradio's downloader and on name resolution: a call naming
    https://lenet-probe.invalid/… as its file's path is refused and neither spy is ever called."""
    import socket as socket_module
    from gradio import processing_utils
    from gradio_client import Client
    attempts = []

    async def download_spy(url, *args, **kwargs):
        attempts.append(("download", url))
        raise AssertionError("the server tried to download a client's URL")

    real_getaddrinfo = socket_module.getaddrinfo

    def getaddrinfo_spy(host, *args, **kwargs):
        if "invalid" in str(host):
            attempts.append(("resolve", host))
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(processing_utils, "async_ssrf_protected_download", download_spy)
    monkeypatch.setattr(socket_module, "getaddrinfo", getaddrinfo_spy)
    client = Client(app_server, verbose=False)
    for endpoint, value in (("/classify_upload", remote_file()),
                            ("/classify_sketch", {"background": None, "layers": [remote_file()], "composite": None})):
        with pytest.raises(Exception, match="Upload the picture first"):
            client.predict(value, api_name=endpoint)
    assert attempts == []


def test_data_urls_within_the_byte_limit_are_read_and_larger_ones_refused(server):
    url = "data:image/png;base64," + base64.b64encode(SEVEN.read_bytes()).decode()
    kind, outputs = server.call("classify_photo", {"path": None, "url": url, "meta": {"_type": "gradio.FileData"}})
    assert kind == "complete" and outputs[0]["label"] == "7"
    too_big = "data:image/png;base64," + "A" * (inputs.MAX_DATA_URL_CHARS + 8)  # under the body limit
    kind, message = server.call("classify_photo", {"path": None, "url": too_big, "meta": {"_type": "gradio.FileData"}})
    assert kind == "error" and "too large" in message and "/gradio_api/upload" in message
    assert server.reads_a_seven()


# --- 2./3. costly pictures: refused from the header, or bounded ----------------------------------

@pytest.mark.parametrize("size", [(1, 40_000_000), (40_000_000, 1), (20_000, 20_000), (MAX_ASPECT * 200 + 1, 200)])
def test_extreme_shapes_are_refused_from_the_header_at_little_cost(server, size):
    data = png_claiming(*size)
    upload = server.upload(data, "strip.png")
    before = server.cpu_seconds()
    kind, message = server.call("classify_upload", upload)
    spent = server.cpu_seconds() - before
    assert kind == "error" and ("too large" in message or "long and thin" in message), message
    assert spent < REFUSAL_CPU_SECONDS, f"refusing {size} cost {spent:.2f} s of server CPU"
    assert server.reads_a_seven()


@pytest.mark.parametrize("name", sorted(worst_cases()))
def test_worst_cases_within_the_limits_cost_bounded_cpu_and_memory(server, name):
    upload = server.upload(worst_cases()[name], name)
    for endpoint in ("classify_upload", "read_number_upload"):
        server.reset_peak()
        rss_before, cpu_before = server.status_kib("VmRSS"), server.cpu_seconds()
        kind, outputs = server.call(endpoint, upload)
        spent, peak_mib = server.cpu_seconds() - cpu_before, (server.status_kib("VmHWM") - rss_before) / 1024
        print(f"{name} {endpoint}: {spent:.2f} s CPU, peak +{peak_mib:.0f} MiB")
        assert kind == "complete" or "marks" in str(outputs), f"{name} was not answered: {outputs}"
        assert spent <= CPU_SECONDS_PER_REQUEST, f"{name} {endpoint} cost {spent:.2f} s of server CPU"
        assert peak_mib <= PEAK_MIB_PER_REQUEST, f"{name} {endpoint} raised the server's peak RSS by {peak_mib:.0f} MiB"
    assert server.reads_a_seven()


@pytest.mark.parametrize("name", sorted(costly_to_decode()))
def test_pictures_costly_to_decode_are_stopped_by_the_decode_budget(server, name):
    """Within every byte and header limit, yet seconds of CPU to decode unbounded (a progressive JPEG
    of 3,000 scans, a TIFF of 2 million tiles, one-pixel RLE runs, 770,000 PNG chunks): the worker
    decoding it is ended by the kernel at its CPU budget, the client gets one sentence, and the
    next picture is read by a fresh worker."""
    upload = server.upload(costly_to_decode()[name], name)
    workers_before = set(server.children())
    before = server.cpu_seconds()
    kind, message = server.call("classify_upload", upload)
    spent = server.cpu_seconds() - before
    print(f"{name}: {spent:.2f} s of server CPU, workers included")
    assert kind == "error" and message == decode_budget.TOO_COSTLY, message
    assert spent <= BREACH_CPU_SECONDS, f"{name} cost {spent:.2f} s of server CPU"
    assert server.reads_a_seven()
    assert set(server.children()) != workers_before  # the breaching worker was replaced
    assert "over its CPU budget" in server.log.read_text(errors="replace")


def test_a_breach_ends_only_its_own_worker(server):
    """A costly picture and normal ones at the same time: the normal ones are answered right."""
    import concurrent.futures
    costly = server.upload(costly_to_decode()["tiff_two_million_tiles.tif"], "tiles.tif")
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        attack = pool.submit(server.call, "classify_upload", costly)
        time.sleep(0.2)
        normal = [pool.submit(server.reads_a_seven) for _ in range(4)]
        assert all(future.result(timeout=60) for future in normal)
        kind, message = attack.result(timeout=60)
    assert kind == "error" and message == decode_budget.TOO_COSTLY
    assert server.reads_a_seven()


# --- 4. request bodies ---------------------------------------------------------------------------

JSON_LIMIT = readme_bytes("| request body, everything else")   # the README's figure, not the constant
UPLOAD_LIMIT = readme_bytes("| request body, file uploads")


def test_the_readme_states_the_limits_the_code_enforces():
    assert (JSON_LIMIT, UPLOAD_LIMIT) == (server_limits.MAX_JSON_BODY_BYTES, server_limits.MAX_UPLOAD_BODY_BYTES)


def test_oversized_bodies_are_refused_before_they_are_read(server):
    """Every route, whatever its path ends with: a JSON body over the README's limit is refused
    (/gradio_api/run/upload and /call/upload were once judged as uploads by their suffix)."""
    rss_before = server.status_kib("VmRSS")
    json_routes = ("/queue/join", "/call/classify_upload", "/run/predict", "/run/upload", "/call/upload",
                   "/upload", "/component_server/")
    for path in json_routes:
        for size in (JSON_LIMIT + 1, 50 * 2**20):
            response = server.http.post(path, content=b"{" * size, headers={"content-type": "application/json"})
            assert response.status_code == 413 and "too large" in response.json()["detail"], (path, size)
    for path in ("/upload", "/component_server/"):
        form = {"content-type": "multipart/form-data; boundary=x"}
        response = server.http.post(path, content=b"-" * (UPLOAD_LIMIT + 1), headers=form)
        assert response.status_code == 413 and "too large" in response.json()["detail"], path
    with socket.create_connection(("127.0.0.1", server.app.port)) as sock:  # a client that claims 50 GB
        sock.sendall(b"POST /gradio_api/queue/join HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 50000000000\r\n"
                     b"Content-Type: application/json\r\n\r\n{")
        assert sock.recv(64).startswith(b"HTTP/1.1 413")
    response = server.http.post("/queue/join", content=iter([b"{", b"}"]), headers={"content-type": "application/json"})
    assert response.status_code == 411  # no length: refused rather than read without a bound
    assert server.status_kib("VmRSS") - rss_before < 50 * 1024
    assert server.reads_a_seven()


def test_bodies_at_the_stated_limit_are_read(server):
    """The limit is not smaller than the README says: a body of exactly the limit reaches Gradio
    (which answers it as the malformed call it is), and a data: URL picture that fits is read."""
    response = server.http.post("/queue/join", content=b" " * (JSON_LIMIT - 2) + b"{}",
                                headers={"content-type": "application/json"})
    assert response.status_code != 413, response.text[:200]
    assert server.reads_a_seven()


def test_multipart_bodies_go_only_to_the_routes_that_take_files(server):
    for path in ("/queue/join", "/call/classify_upload", "/run/upload", "/call/upload"):
        response = server.http.post(path, files={"files": ("seven.png", SEVEN.read_bytes(), "image/png")})
        assert response.status_code == 415 and "/gradio_api/upload" in response.json()["detail"], path
    assert server.reads_a_seven()


def test_a_body_that_stalls_gives_its_slot_back(server):
    """A client that declares a body and stops sending is answered 408 after the idle deadline; a
    normal request meanwhile and afterwards is served."""
    with socket.create_connection(("127.0.0.1", server.app.port)) as sock:
        sock.sendall(b"POST /gradio_api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n"
                     b"Content-Type: multipart/form-data; boundary=x\r\n\r\n--x\r\n")
        assert server.reads_a_seven()
        sock.settimeout(server_limits.BODY_IDLE_S + 20)
        started = time.monotonic()
        answer = sock.recv(200)
        waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert waited < server_limits.BODY_IDLE_S + 15
    assert server.reads_a_seven()


# --- 4b. what a client sends never ends in a traceback or reads the server's disk -----------------

@pytest.mark.parametrize("method, path, body", [
    ("POST", "/queue/join", {"data": [], "fn_index": 99999, "session_hash": "abc"}),
    ("POST", "/queue/join", {"data": [], "fn_index": -1, "session_hash": "abc"}),
    ("POST", "/run/predict", {"data": [1]}),
    ("POST", "/run/upload", {"data": [1]}),
    ("POST", "/call/upload", {"data": [1]}),
    ("POST", "/call/no_such_endpoint", {"data": []}),
    ("GET", "/file=/tmp/a%00b", None),
    ("GET", "/no/such/route", None),
])
def test_malformed_requests_get_one_sentence_and_one_log_line(server, method, path, body):
    before = server.log.read_text(errors="replace")
    response = server.http.request(method, path, json=body)
    assert response.status_code in (400, 404, 405, 422), (response.status_code, response.text[:300])
    assert "Traceback" not in response.text and "/tmp" not in response.text and "\\u0000" not in response.text
    time.sleep(0.3)
    new = server.log.read_text(errors="replace")[len(before):]
    assert "Traceback" not in new and "\x00" not in new
    assert len([line for line in new.splitlines() if line.strip()]) <= 1, new
    assert server.reads_a_seven()


def test_an_upload_with_an_empty_file_name_is_stored_or_refused_cleanly(server):
    response = server.http.post("/upload", files={"files": ("", SEVEN.read_bytes(), "image/png")})
    assert response.status_code in (200, 400), response.text[:300]
    if response.status_code == 200:
        kind, outputs = server.call("classify_upload", {"path": response.json()[0], "meta": {"_type": "gradio.FileData"}})
        assert kind == "complete" and outputs[0]["label"] == "7"
    assert server.reads_a_seven()


def test_the_config_names_no_host_the_client_chose(server):
    response = server.http.get(server.app.url.rstrip("/") + "/config", headers={"host": "evil.invalid"})
    assert response.status_code == 400 and "evil.invalid" not in response.text
    response = server.http.get(server.app.url.rstrip("/") + "/config", headers={"x-forwarded-host": "evil.invalid"})
    assert response.status_code == 400 and "evil.invalid" not in response.text
    response = server.http.get(server.app.url.rstrip("/") + "/config")
    assert response.status_code == 200 and response.json()["root"].startswith("http://127.0.0.1:")


def test_a_data_url_too_large_for_a_call_is_refused_with_where_to_send_it(server):
    big = "data:image/png;base64," + "A" * (2 * server_limits.MAX_JSON_BODY_BYTES)
    response = server.http.post("/call/classify_photo",
                                json={"data": [{"path": None, "url": big, "meta": {"_type": "gradio.FileData"}}]})
    assert response.status_code == 413 and "/gradio_api/upload" in response.json()["detail"]
    assert server.reads_a_seven()


def test_nothing_a_client_reads_names_the_servers_disk(server):
    """The page, its config, an upload's answer, a call's results and a refusal name files only
    under the alias; the alias works both ways (the files download, an uploaded path is read)."""
    secret = str(server.cache)
    page = server.http.get(server.app.url).text
    config = server.http.get(server.app.url.rstrip("/") + "/config").text
    response = server.http.post("/upload", files={"files": ("seven.png", SEVEN.read_bytes(), "image/png")})
    uploaded = response.json()[0]
    kind, outputs = server.call("classify_upload", {"path": uploaded, "meta": {"_type": "gradio.FileData"}})
    refusal = server.call("classify_upload", {"path": uploaded + "/../../../etc/passwd", "meta": {"_type": "gradio.FileData"}})
    for text in (page, config, response.text, json.dumps(outputs), json.dumps(refusal)):
        assert secret not in text and str(server.base) not in text
    assert uploaded.startswith(private_paths.ALIAS + "/") and kind == "complete" and outputs[0]["label"] == "7"
    assert refusal == ("error", inputs.NOT_READABLE)
    picture = server.http.get(outputs[2]["url"].split("/gradio_api", 1)[1])
    assert picture.status_code == 200 and picture.content.startswith(b"\x89PNG")
    assert server.http.get(f"/file={private_paths.ALIAS}/../../../../etc/passwd").status_code in (400, 403, 404)


# --- the page's sketchpad: pictures sent ahead to the editor's server function ----------------------

def component_id(server, label: str) -> int:
    config = server.http.get(server.app.url.rstrip("/") + "/config").json()
    return next(c["id"] for c in config["components"] if c.get("props", {}).get("label") == label)


def send_sketch_part(server, sketch_id: str, data: bytes, part="composite", index="null", label="Draw one digit"):
    """What the browser's sketchpad does after each stroke (Gradio's client, read from its source)."""
    fields = {"type": part, "index": index, "id": sketch_id, "component_id": str(component_id(server, label)),
              "fn_name": "accept_blobs", "session_hash": "attacker"}
    return server.http.post("/component_server/", data=fields, files={"file": ("blob", data, "image/png")})


def canvas_of_seven() -> bytes:
    seven = Image.open(SEVEN).convert("L").resize((224, 224))
    canvas = Image.new("L", (280, 280), 255)
    canvas.paste(Image.eval(seven, lambda v: 255 - v), (28, 28))
    return png_bytes(canvas.convert("RGBA"))


def test_a_sketch_sent_ahead_as_the_browser_does_is_read(server):
    assert send_sketch_part(server, "stroke-1", canvas_of_seven()).status_code == 200
    kind, outputs = server.call("classify_sketch", {"background": None, "layers": [], "composite": None, "id": "stroke-1"})
    assert kind == "complete" and outputs[0]["label"] == "7"
    kind, outputs = server.call("classify_sketch", {"background": None, "layers": [], "composite": None, "id": "stroke-1"})
    assert kind == "complete" and not outputs[0] and "Draw a digit" in outputs[1]  # used once, then gone


@pytest.mark.parametrize("part, index, fragment", [("layer", "1000000000", "index"), ("layer", "-1", "index"),
                                                   ("palette", "null", "must be one of")])
def test_sketch_parts_with_a_hostile_index_or_kind_are_refused(server, part, index, fragment):
    rss_before = server.status_kib("VmRSS")
    response = send_sketch_part(server, "hostile", canvas_of_seven(), part=part, index=index)
    assert response.status_code == 400 and fragment in response.json()["detail"]
    assert server.status_kib("VmRSS") - rss_before < 20 * 1024  # no billion-entry layer list
    assert server.reads_a_seven()


def test_sketch_parts_never_collected_stay_within_their_bound(server):
    blob = os.urandom(1024 * 1024)  # 1 MB each, 150 distinct drawings never submitted: 150 MB sent
    rss_before = server.status_kib("VmRSS")
    for i in range(150):
        assert send_sketch_part(server, f"flood-{i}", blob).status_code == 200
    grown_mib = (server.status_kib("VmRSS") - rss_before) / 1024
    print(f"RSS grew {grown_mib:.0f} MiB after 150 MB of sketch parts (held at most "
          f"{inputs.MAX_SKETCH_BYTES_HELD // 2**20} MiB)")
    assert grown_mib < inputs.MAX_SKETCH_BYTES_HELD / 2**20 + 48
    assert server.reads_a_seven()


def test_upload_route_limits_file_size_and_count_and_leaves_no_files(server):
    def files_in_cache():
        return sorted(p for p in server.cache.rglob("*") if p.is_file())
    before = files_in_cache()
    response = server.http.post("/upload", files={"files": ("big.png", b"\0" * (MAX_IMAGE_BYTES + 1), "image/png")})
    assert response.status_code == 413  # Gradio's max_file_size, set to the same byte limit
    many = [("files", (f"f{i}.png", png_bytes(Image.new("L", (8, 8))), "image/png"))
            for i in range(server_limits.MAX_UPLOAD_FILES + 1)]
    response = server.http.post("/upload", files=many)
    assert response.status_code == 400 and "too many files" in response.text
    assert files_in_cache() == before  # the refused uploads left nothing behind
    response = server.http.post("/upload", files=many[:server_limits.MAX_UPLOAD_FILES])
    assert response.status_code == 200 and len(response.json()) == server_limits.MAX_UPLOAD_FILES
    assert server.reads_a_seven()


def test_one_client_cannot_fill_the_upload_space_for_everyone(server):
    """One address sends uploads until refused: it is refused at its share, told when to retry, and
    another address (X-Forwarded-For from the trusted proxy) can still upload and be read."""
    flood = {"x-forwarded-for": "203.0.113.7"}  # documentation address; nothing is sent to it
    picture = os.urandom(MAX_IMAGE_BYTES - 1024)
    sent = 0
    for _ in range(cache_folder.CACHE_QUOTA_BYTES // len(picture) + 1):
        response = server.http.post("/upload", headers=flood, files={"files": ("noise.png", picture, "image/png")})
        if response.status_code != 200:
            break
        sent += len(picture)
    assert response.status_code == 503, "one client filled the whole upload space"
    detail = response.json()["detail"]
    wait = int(detail.rsplit("try again in ", 1)[1].split(" s", 1)[0])
    assert 0 < wait <= cache_folder.UPLOAD_MAX_AGE_S + cache_folder.CACHE_SWEEP_EVERY_S, detail
    assert sent <= cache_folder.CLIENT_SHARE_BYTES < cache_folder.CACHE_QUOTA_BYTES
    other = {"x-forwarded-for": "198.51.100.9"}
    response = server.http.post("/upload", headers=other, files={"files": ("tiny.png", b"\x89PNG tiny", "image/png")})
    assert response.status_code == 200
    kind, outputs = server.call("classify_upload", server.upload(SEVEN.read_bytes(), "seven.png"))
    assert kind == "complete" and outputs[0]["label"] == "7"


# --- 5. disk -------------------------------------------------------------------------------------

def test_disk_use_is_bounded_no_empty_temp_files_and_the_folder_goes_at_exit(tmp_path):
    base, log = tmp_path / "gradio", tmp_path / "server.log"
    app = AppServer(extra_args=["--model", str(ROOT / "artifacts" / "fast" / "lenet.onnx")],
                    env={"GRADIO_TEMP_DIR": str(base)}, log_path=log)
    with app:
        app.wait_http(timeout=120)
        served = Server(app, base, log)
        cache = served.cache
        start_bytes = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())
        for i in range(60):  # uploads, the page's two output images each, and the files Gradio copies
            kind, _ = served.call("classify_upload", served.upload(SEVEN.read_bytes(), f"seven{i}.png"))
            assert kind == "complete"
        files = [p for p in cache.rglob("*") if p.is_file()]
        assert not [p for p in files if p.stat().st_size == 0], "empty temp files are left per request"
        grown = sum(p.stat().st_size for p in files) - start_bytes
        assert grown < 60 * 20_000  # ~ one upload and two small PNGs per request, nothing else
        assert grown < cache_folder.CACHE_QUOTA_BYTES
        os.kill(app.pid, signal.SIGTERM)
        app.process.wait(timeout=30)
    assert not cache.exists() and list(base.iterdir()) == []


def test_the_page_still_writes_its_pictures_after_everything_in_the_cache_has_aged(tmp_path):
    """An idle server sweeps empty folders away; the page's output pictures must not depend on one."""
    import numpy as np
    from demo.ui import OutputImages
    cache = tmp_path / "cache"
    cache.mkdir()
    outputs = OutputImages(cache)
    first = Path(outputs.save(np.zeros((8, 8), np.uint8)))
    (cache / "abc").mkdir()
    long_ago = time.time() - 2 * cache_folder.CACHE_MAX_AGE_S
    for path in (first, cache / "abc"):
        os.utime(path, (long_ago, long_ago))
    cache_folder.CacheFolder(cache).sweep()
    assert not first.exists() and not (cache / "abc").exists() and cache.is_dir()
    assert Path(outputs.save(np.zeros((8, 8), np.uint8))).is_file()


def test_cache_folder_expires_old_files_keeps_the_examples_and_enforces_its_quota(tmp_path, monkeypatch):
    kept = tmp_path / "examples" / "seven.png"
    kept.parent.mkdir()
    kept.write_bytes(b"x" * 1000)
    folder = cache_folder.CacheFolder(tmp_path)
    folder.start()
    try:
        old = tmp_path / "abc" / "upload.png"
        old.parent.mkdir()
        old.write_bytes(b"y" * 5000)
        long_ago = time.time() - cache_folder.CACHE_MAX_AGE_S - 1
        os.utime(old, (long_ago, long_ago))
        os.utime(kept, (long_ago, long_ago))
        fresh = tmp_path / "def" / "upload.png"
        fresh.parent.mkdir()
        fresh.write_bytes(b"z" * 7000)
        folder.sweep()
        assert kept.exists() and fresh.exists() and not old.exists()
        assert folder.bytes == 8000
        monkeypatch.setattr(cache_folder, "CACHE_QUOTA_BYTES", 10_000)
        assert folder.admit(1500) is None  # 8,000 + 1,500 admitted
        assert "upload space is full" in folder.admit(1000)  # 10,500 would pass 10,000
        folder.sweep()  # measured again: the admitted upload never came
        assert folder.admit(1000) is None
    finally:
        folder.remove()
    assert not tmp_path.exists()


def test_a_clients_share_counts_every_upload_it_sent_and_frees_as_they_age(tmp_path, monkeypatch):
    """The same file sent again is stored once by Gradio but counts again against its sender; the
    share frees when the uploads age out, and another client is never held back by it."""
    monkeypatch.setattr(cache_folder, "CLIENT_SHARE_BYTES", 10_000)
    folder = cache_folder.CacheFolder(tmp_path)
    stored = tmp_path / "abc" / "upload.png"
    stored.parent.mkdir()
    stored.write_bytes(b"u" * 4000)
    for _ in range(2):
        assert folder.admit(4100, "203.0.113.7") is None
        folder.settle("203.0.113.7", 4100, [str(stored)])
    assert folder.held_by("203.0.113.7") == 8000
    refusal = folder.admit(4100, "203.0.113.7")
    assert refusal is not None and "share for one address" in refusal
    assert int(refusal.rsplit("try again in ", 1)[1].split(" s")[0]) <= cache_folder.UPLOAD_MAX_AGE_S + 6
    assert folder.admit(4100, "198.51.100.9") is None
    later = time.time() + cache_folder.UPLOAD_MAX_AGE_S + 1
    monkeypatch.setattr(cache_folder.time, "time", lambda: later)
    folder.sweep()
    assert not stored.exists() and folder.held_by("203.0.113.7") == 0
    assert folder.admit(4100, "203.0.113.7") is None


@pytest.mark.parametrize("forwarded, hops, expected", [
    (None, 0, "192.0.2.1"), ("203.0.113.7", 0, "192.0.2.1"), ("203.0.113.7", 1, "203.0.113.7"),
    ("198.51.100.9, 203.0.113.7", 1, "203.0.113.7"),  # the client's own first entry is ignored
    ("198.51.100.9, 203.0.113.7, 10.0.0.2", 2, "203.0.113.7"), (None, 1, "192.0.2.1")])
def test_the_client_is_the_address_the_trusted_proxy_saw(forwarded, hops, expected):
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    assert server_limits.client_of({"client": ("192.0.2.1", 5000), "headers": headers}, hops) == expected


# --- 6. formats and 7. logs ----------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["PCX", "JPEG2000", "EPS", "TGA"])
def test_only_the_listed_formats_are_decoded(server, fmt):
    buffer = io.BytesIO()
    try:
        Image.new("RGB", (64, 64), "white").save(buffer, fmt)
    except (OSError, KeyError):
        pytest.skip(f"this Pillow cannot write {fmt}")
    kind, message = server.call("classify_upload", server.upload(buffer.getvalue(), f"x.{fmt.lower()}"))
    assert kind == "error" and "not an image this demo can read" in message
    assert server.reads_a_seven()


def test_refused_input_is_one_log_line_without_a_traceback(server):
    before = server.log.read_text(errors="replace")
    server.call("classify_upload", server.upload(b"not an image at all", "notes.png"))
    server.call("classify_upload", {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}})
    server.call("classify_sketch", {"background": None, "layers": "abc", "composite": None})
    time.sleep(0.5)
    new = server.log.read_text(errors="replace")[len(before):]
    refused = [line for line in new.splitlines() if " refused /" in line]
    assert len(refused) == 3, new
    assert "refused /classify_upload: The file is not an image this demo can read" in refused[0]
    assert refused[0].endswith("(19 bytes)")
    assert "Traceback" not in new
