"""What one HTTP request may cost the public server, enforced before Gradio reads a byte of it.

`RequestLimits` is an ASGI middleware on the app Gradio serves (installed through `launch(
app_kwargs=...)`, see `demo.ui.launch_options`):

- **who may be named**: a request's ``Host`` (and ``X-Forwarded-Host``) must be a name the server
  answers to (`allowed_hosts`: loopback names, the name it listens on, the Space's own host,
  ``LENET_ALLOWED_HOSTS``), else HTTP 400, so no client's header is reflected into the page's
  config; a path or query with a NUL byte is refused (400);
- **bodies by what they are**: a body must declare its length (411 otherwise); a multipart body
  (a file upload) is taken only on the routes that take files (`UPLOAD_ROUTES`: `/gradio_api/
  upload`, and the sketchpad's pictures to `/gradio_api/component_server`; 415 elsewhere) and up
  to `MAX_UPLOAD_BODY_BYTES`, one image of the byte limit plus its form fields; any other body, on
  any route (the JSON of a call, which Gradio keeps in memory and queues), up to
  `MAX_JSON_BODY_BYTES`, room for a `data:` URL picture (413 otherwise, before a byte is read);
- a body must keep arriving: `BODY_IDLE_S` without a byte, or slower overall than
  `MIN_BODY_BYTES_PER_S`, and the request ends (408), giving its slot back;
- at most `MAX_LARGE_BODIES_AT_ONCE` requests with bodies over `LARGE_BODY_BYTES` are read at
  once (503 otherwise), so bodies in memory stay bounded whatever the number of connections;
- `POST /gradio_api/upload` carries at most `MAX_UPLOAD_FILES` files (the parts are counted as the
  body streams in; Gradio's parser then deletes what it wrote and answers 400), and is taken only
  while the cache folder is under its quota and the client under its share of it (503, saying
  when to try again);
- nothing a client sends ends in a traceback: an exception that escapes Gradio (an unknown
  endpoint or ``fn_index``, a malformed call) becomes one sentence (HTTP 400) and one log line.

The disk the server uses, and each client's share of it, is `demo.cache_folder`'s.
"""

import asyncio
import json
import logging
import os
import socket
import time

from python_multipart.exceptions import MultipartParseError

from demo.cache_folder import CacheFolder
from demo.inputs import MAX_DATA_URL_CHARS
from reader.images import MAX_IMAGE_BYTES


FORM_FIELDS_BYTES = 64 * 1024
MAX_UPLOAD_BODY_BYTES = MAX_IMAGE_BYTES + FORM_FIELDS_BYTES   # one image of the byte limit, as a file
MAX_JSON_BODY_BYTES = MAX_DATA_URL_CHARS + FORM_FIELDS_BYTES  # a call's JSON, with a data: URL picture in it
API = "/gradio_api"
UPLOAD_ROUTES = (f"{API}/upload", f"{API}/component_server")  # the only routes that take multipart bodies
MAX_UPLOAD_FILES = 4                               # files in one POST /gradio_api/upload
LARGE_BODY_BYTES = 64 * 1024
MAX_LARGE_BODIES_AT_ONCE = 8
BODY_IDLE_S = 10                                   # a body that sends nothing for this long is dropped ...
MIN_BODY_BYTES_PER_S = 32 * 1024                   # ... and so is one slower than this overall (after 10 s)
BODY_METHODS = {"POST", "PUT", "PATCH"}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
CLIENT_FAULT = ("The server could not handle this request: it names no endpoint of this page, or its data is "
                "malformed (see the API section of docs/demo.md).")

log = logging.getLogger("lenet.server")


# --- who the client is, and which host it named -----------------------------------------------------

def trusted_proxy_hops() -> int:
    """How many proxies in front of the server append to X-Forwarded-For: ``LENET_PROXY_HOPS``, else 1
    on a Hugging Face Space (its proxy sets the header), else 0 (the socket's peer is the client)."""
    text = os.environ.get("LENET_PROXY_HOPS", "").strip()
    if text.isdigit():
        return int(text)
    return 1 if os.environ.get("SPACE_ID") else 0


def client_of(scope, hops: int | None = None) -> str:
    """The client's address: the socket's peer, or behind `hops` trusted proxies the address the
    outermost of them appended to X-Forwarded-For (entries a client wrote itself come before it and
    are ignored)."""
    hops = trusted_proxy_hops() if hops is None else hops
    peer = (scope.get("client") or ("unknown", 0))[0]
    if hops <= 0:
        return peer
    forwarded = [value.strip() for name, raw in scope["headers"] if name == b"x-forwarded-for"
                 for value in raw.decode("latin-1").split(",") if value.strip()]
    return forwarded[-hops] if len(forwarded) >= hops else peer


def allowed_hosts(server_name: str | None = None) -> set[str]:
    """Host names (without port) the server answers to: loopback, this machine's name and addresses,
    the name it listens on, a Space's own host, and those in ``LENET_ALLOWED_HOSTS`` (comma-separated;
    ``*`` allows any). Behind a trusted proxy (`trusted_proxy_hops` > 0) with no list set, any: the
    proxy routes only its own host names to the server."""
    if not os.environ.get("LENET_ALLOWED_HOSTS", "").strip() and trusted_proxy_hops() > 0:
        return {"*"}  # behind a trusted proxy (a Space's), the proxy decides which host names reach us
    names = {*LOOPBACK_HOSTS, socket.gethostname().lower()}
    try:  # this machine's own addresses, for a server on 0.0.0.0 opened by its LAN address
        names.update(info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None))
    except OSError:
        pass
    server_name = server_name or os.environ.get("GRADIO_SERVER_NAME", "")
    if server_name and server_name not in ("0.0.0.0", "::"):
        names.add(server_name.lower())
    for variable in ("SPACE_HOST", "LENET_ALLOWED_HOSTS"):
        names.update(name.strip().lower() for name in os.environ.get(variable, "").split(",") if name.strip())
    return names


def host_name(value: str) -> str:
    """'Example.org:7860' → 'example.org'; '[::1]:7860' → '::1'."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class RequestLimits:
    """ASGI middleware: hosts, bodies by kind, large bodies at once, slow bodies, uploads by client,
    and one sentence for anything that fails inside Gradio."""

    def __init__(self, app, cache: CacheFolder | None = None, hosts: set[str] | None = None):
        self.app = app
        self.cache = cache
        self.hosts = allowed_hosts() if hosts is None else hosts
        self.large_bodies = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        refusal = self.refusal(scope, headers)
        if refusal is not None:
            return await refuse(scope, send, *refusal)
        started = False

        async def send_tracked(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            if scope["method"] in BODY_METHODS:
                await self.with_body(scope, headers, receive, send_tracked)
            else:
                await self.app(scope, receive, send_tracked)
        except BodyTooSlow as slow:
            if not started:
                await refuse(scope, send, 408, str(slow))
        except Exception as error:  # a client's request must never end in a traceback
            log.warning("failed %s %s: %s", scope["method"], printable(scope["path"]), type(error).__name__)
            if not started:
                await refuse(scope, send, 400, CLIENT_FAULT, logged=True)

    def refusal(self, scope, headers: dict) -> tuple[int, str] | None:
        if "*" not in self.hosts:
            for header in (b"host", b"x-forwarded-host"):
                value = headers.get(header)
                if value is not None and host_name(value.decode("latin-1").split(",")[0]) not in self.hosts:
                    return 400, ("This server does not answer to that host name; its operator can add it "
                                 "to LENET_ALLOWED_HOSTS.")
        if "\x00" in scope["path"] or b"%00" in scope.get("raw_path", b"") or b"%00" in scope.get("query_string", b""):
            return 400, "The request's path is not valid."
        return None

    async def with_body(self, scope, headers: dict, receive, send):
        length = headers.get(b"content-length")
        if length is None or not length.isdigit():
            if b"transfer-encoding" in headers or length is not None:
                return await refuse(scope, send, 411, "Send a Content-Length with the request body.")
            length = b"0"
        size = int(length)
        route = scope["path"].rstrip("/")
        multipart = headers.get(b"content-type", b"").lower().startswith(b"multipart/")
        if multipart and route not in UPLOAD_ROUTES:
            return await refuse(scope, send, 415, f"Files are taken only by {API}/upload; send calls as JSON.")
        limit = MAX_UPLOAD_BODY_BYTES if multipart else MAX_JSON_BODY_BYTES
        if size > limit:
            return await refuse(scope, send, 413, too_large_message(multipart, limit))
        if size > LARGE_BODY_BYTES and self.large_bodies >= MAX_LARGE_BODIES_AT_ONCE:
            return await refuse(scope, send, 503, "Too many large requests at once; try again in a moment.")
        receive = within_deadline(receive, size)
        uploading = multipart and route == UPLOAD_ROUTES[0] and self.cache is not None
        client = client_of(scope)
        if uploading:
            refusal = self.cache.admit(size, client)
            if refusal is not None:
                return await refuse(scope, send, 503, refusal)
            receive = count_parts(receive, multipart_boundary(headers))
            send, stored = capture_stored_paths(send)
        large = size > LARGE_BODY_BYTES
        self.large_bodies += large
        try:
            await self.app(scope, receive, send)
        finally:
            self.large_bodies -= large
            if uploading:
                self.cache.settle(client, size, stored)


class BodyTooSlow(Exception):
    pass


def within_deadline(receive, size: int):
    """Wrap `receive` so that a body that stalls (`BODY_IDLE_S` without a message) or trickles
    (slower than `MIN_BODY_BYTES_PER_S` overall, after the first 10 s) raises BodyTooSlow."""
    deadline = time.monotonic() + BODY_IDLE_S + size / MIN_BODY_BYTES_PER_S
    body_done = False

    async def receive_in_time():
        nonlocal body_done
        if body_done:  # after the body, receive() waits for the client to disconnect: no deadline
            return await receive()
        left = min(BODY_IDLE_S, deadline - time.monotonic())
        try:
            message = await asyncio.wait_for(receive(), timeout=max(left, 0.001))
        except asyncio.TimeoutError:
            raise BodyTooSlow("The request body arrived too slowly; send it again.") from None
        body_done = message["type"] != "http.request" or not message.get("more_body", False)
        return message

    return receive_in_time


def capture_stored_paths(send):
    """Wrap `send` to collect the paths an upload's JSON answer names (Gradio's list of stored files)."""
    stored: list[str] = []
    chunks: list[bytes] = []
    status = 0

    async def send_captured(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body" and status == 200:
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                try:
                    names = json.loads(b"".join(chunks))
                except ValueError:
                    names = []
                stored.extend(name for name in names if isinstance(name, str)) if isinstance(names, list) else None
        await send(message)

    return send_captured, stored


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


def printable(text: str, limit: int = 200) -> str:
    """A client's text fit for one log line: control characters as '?', at most `limit` characters."""
    return "".join(c if c.isprintable() else "?" for c in text[:limit])


async def refuse(scope, send, status: int, message: str, logged: bool = False) -> None:
    """Answer without reading the body, and log one line (unless the caller did)."""
    if not logged:
        log.warning("refused %s %s: HTTP %d, %s", scope["method"], printable(scope["path"]), status, message)
    body = json.dumps({"detail": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
