"""What one HTTP request may cost the public server, enforced before Gradio reads a byte of it,
and the bound on the server's disk.

`RequestLimits` is an ASGI middleware on the app Gradio serves (installed through `launch(
app_kwargs=...)`, see `demo.ui.launch_options`):

- a request with a body must declare its length (411 otherwise) and stay within the body limit
  (413 otherwise, before a byte is read): a file upload (multipart: `/gradio_api/upload`, and the
  sketchpad's pictures to `/gradio_api/component_server`) at most `MAX_UPLOAD_BODY_BYTES`, one
  image of the byte limit plus its form fields; anything else (the JSON of a call, which Gradio
  keeps in memory and queues) at most `MAX_JSON_BODY_BYTES`, room for a `data:` URL picture;
- at most `MAX_LARGE_BODIES_AT_ONCE` requests with bodies over `LARGE_BODY_BYTES` are read at
  once (503 otherwise), so bodies in memory stay bounded whatever the number of connections;
- `POST /gradio_api/upload` carries at most `MAX_UPLOAD_FILES` files (the parts are counted as the
  body streams in; Gradio's parser then deletes what it wrote and answers 400), and none is taken
  while the cache folder is over its quota (503; it frees itself as files expire).

`CacheFolder` is the app's private Gradio cache folder (uploads, the copies Gradio makes of
inputs and outputs): a background sweep deletes files older than `CACHE_MAX_AGE_S` (except those
that existed when serving began: the cached examples), measures the folder for the quota
(`CACHE_QUOTA_BYTES`, `CACHE_QUOTA_FILES` files and folders), and the whole folder is removed when the app stops.
So the disk the server uses is at most the quota plus the uploads in flight.
"""

import json
import logging
import os
import shutil
import threading
import time
from pathlib import Path

from python_multipart.exceptions import MultipartParseError

from demo.images import MAX_IMAGE_BYTES
from demo.inputs import MAX_DATA_URL_CHARS

FORM_FIELDS_BYTES = 64 * 1024
MAX_UPLOAD_BODY_BYTES = MAX_IMAGE_BYTES + FORM_FIELDS_BYTES   # one image of the byte limit, as a file
MAX_JSON_BODY_BYTES = MAX_DATA_URL_CHARS + FORM_FIELDS_BYTES  # a call's JSON, with a data: URL picture in it
UPLOAD_PATHS = ("/upload", "/component_server")   # multipart routes, under /gradio_api
MAX_UPLOAD_FILES = 4                               # files in one POST /gradio_api/upload
LARGE_BODY_BYTES = 64 * 1024
MAX_LARGE_BODIES_AT_ONCE = 8
CACHE_QUOTA_BYTES = 512 * 1024 * 1024
CACHE_QUOTA_FILES = 20_000
CACHE_MAX_AGE_S = 600                              # uploads and outputs are kept this long
CACHE_SWEEP_EVERY_S = 5
EMPTY_FOLDER_AGE_S = 60                            # empty folders go once nothing was written in them this long
BODY_METHODS = {"POST", "PUT", "PATCH"}

log = logging.getLogger("lenet.server")


class CacheFolder:
    """A private cache folder: its measured size, an expiry sweep, and removal at exit."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.kept = set()            # files present when serving began (cached examples)
        self.bytes = self.files = 0  # as last measured
        self.admitted_since_sweep = 0
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = None

    def start(self) -> None:
        self.kept = {path for path in self.path.rglob("*") if path.is_file()}
        self.sweep()
        self.thread = threading.Thread(target=self._run, name="lenet-cache-sweep", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.wait(CACHE_SWEEP_EVERY_S):
            try:
                self.sweep()
            except Exception:  # a sweep must never kill the thread; the next one retries
                log.exception("cache sweep failed")

    def sweep(self, now: float | None = None) -> None:
        """Delete expired files and empty folders; measure what is left."""
        now = time.time() if now is None else now
        total = files = 0
        for folder, subfolders, names in os.walk(self.path, topdown=False):
            for name in names:
                path = Path(folder, name)
                try:
                    info = path.lstat()
                    if path not in self.kept and now - info.st_mtime > CACHE_MAX_AGE_S:
                        path.unlink()
                        continue
                except FileNotFoundError:
                    continue
                total += info.st_size
                files += 1
            if Path(folder) != self.path and not subfolders and not names:
                try:
                    if now - os.stat(folder).st_mtime > EMPTY_FOLDER_AGE_S:
                        os.rmdir(folder)
                        continue
                except OSError:  # not empty any more, or already gone
                    pass
            files += Path(folder) != self.path
        with self.lock:
            self.bytes, self.files, self.admitted_since_sweep = total, files, 0

    def admit(self, size: int) -> bool:
        """Reserve room for an upload of `size` bytes; False when the folder is over its quota."""
        with self.lock:
            if self.bytes + self.admitted_since_sweep + size > CACHE_QUOTA_BYTES or self.files >= CACHE_QUOTA_FILES:
                return False
            self.admitted_since_sweep += size
            return True

    def remove(self) -> None:
        """Stop sweeping and delete the whole folder (at exit)."""
        self.stopped.set()
        shutil.rmtree(self.path, ignore_errors=True)


class RequestLimits:
    """ASGI middleware: body size by route, large bodies at once, upload file count, the disk quota."""

    def __init__(self, app, cache: CacheFolder | None = None):
        self.app = app
        self.cache = cache
        self.large_bodies = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is None or not length.isdigit():
            if b"transfer-encoding" in headers or length is not None:
                return await refuse(scope, send, 411, "Send a Content-Length with the request body.")
            length = b"0"
        size = int(length)
        route = scope["path"].rstrip("/")
        is_upload = route.endswith(UPLOAD_PATHS)
        limit = MAX_UPLOAD_BODY_BYTES if is_upload else MAX_JSON_BODY_BYTES
        if size > limit:
            return await refuse(scope, send, 413, too_large_message(is_upload, limit))
        if size > LARGE_BODY_BYTES and self.large_bodies >= MAX_LARGE_BODIES_AT_ONCE:
            return await refuse(scope, send, 503, "Too many large requests at once; try again in a moment.")
        if route.endswith("/upload") and self.cache is not None and not self.cache.admit(size):
            return await refuse(scope, send, 503, "The server's upload space is full; try again in a minute.")
        if route.endswith("/upload"):
            receive = count_parts(receive, multipart_boundary(headers))
        large = size > LARGE_BODY_BYTES
        self.large_bodies += large
        try:
            await self.app(scope, receive, send)
        finally:
            self.large_bodies -= large


def too_large_message(is_upload: bool, limit: int) -> str:
    if is_upload:
        return (f"The upload is too large: at most {limit:,} bytes, one image of up to "
                f"{MAX_IMAGE_BYTES // 2**20} MB.")
    return (f"The request is too large: at most {limit:,} bytes; send pictures over "
            f"{MAX_JSON_BODY_BYTES // 1024} kB as files (POST /gradio_api/upload, up to {MAX_IMAGE_BYTES // 2**20} MB).")


def multipart_boundary(headers: dict) -> bytes | None:
    content_type = headers.get(b"content-type", b"")
    for parameter in content_type.split(b";")[1:]:
        key, _, value = parameter.strip().partition(b"=")
        if key.lower() == b"boundary":
            return value.strip(b'"')
    return None


def count_parts(receive, boundary: bytes | None):
    """Wrap `receive` so that a multipart body with more than MAX_UPLOAD_FILES parts fails to
    parse (Gradio's parser then removes the files it wrote and answers 400)."""
    if not boundary:
        return receive
    marker = b"--" + boundary
    seen, tail = 0, b""

    async def receive_counted():
        nonlocal seen, tail
        message = await receive()
        if message["type"] == "http.request":
            chunk = tail + message.get("body", b"")
            seen += chunk.count(marker)
            tail = chunk[-(len(marker) - 1):] if len(marker) > 1 else b""
            if seen - 1 > MAX_UPLOAD_FILES:  # the closing delimiter is one more marker
                raise MultipartParseError(f"too many files in one upload (at most {MAX_UPLOAD_FILES})")
        return message

    return receive_counted


async def refuse(scope, send, status: int, message: str) -> None:
    """Answer without reading the body, and log one line."""
    log.warning("refused %s %s: HTTP %d, %s", scope["method"], scope["path"], status, message)
    body = json.dumps({"detail": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
