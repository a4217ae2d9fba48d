"""The server's disk never shows in what a client reads: the cache folder under an alias.

Gradio names every file it serves by its absolute path on the server (uploads, examples, output
pictures: ``/gradio_api/file=/tmp/lenet-demo-x1y2/…``), in the page's config, in event results and
in the upload route's answer. `HideCachePath` is an ASGI middleware that shows clients the cache
folder as `ALIAS` instead and translates back what they send:

- text answers (JSON, event streams, HTML, JavaScript) have the folder's path replaced by the alias
  (Content-Length adjusted);
- a request's path (``/gradio_api/file=<alias>/…``) and a JSON body (a call naming an uploaded
  file) have the alias replaced by the folder's path before Gradio reads them; multipart bodies
  (the files themselves) are never touched.

A client that writes ``<alias>/../..`` gets the same refusal as one that writes the real path:
every check after this one (Gradio's, `demo.inputs`) resolves the path first. JSON bodies are read
whole here, after `demo.server_limits.RequestLimits` (the outer middleware) has bounded them.
"""

import os
from pathlib import Path

ALIAS = "/lenet-cache"
TEXT_TYPES = (b"application/json", b"text/event-stream", b"text/html", b"text/javascript",
              b"application/javascript", b"text/plain")


class PathAlias:
    """Both ways between the cache folder's real path (as given and resolved) and `ALIAS`."""

    def __init__(self, folder: str | Path, alias: str = ALIAS):
        forms = {str(folder).rstrip("/"), os.path.realpath(folder).rstrip("/")}
        self.real = sorted(forms, key=len, reverse=True)  # the longer first: one may contain the other
        self.alias = alias

    def hide(self, data: bytes) -> bytes:
        for real in self.real:
            data = data.replace(real.encode(), self.alias.encode())
        return data

    def reveal(self, data: bytes) -> bytes:
        return data.replace(self.alias.encode(), self.real[0].encode())

    def reveal_text(self, text: str) -> str:
        return text.replace(self.alias, self.real[0])


class HideCachePath:
    """ASGI middleware: see the module's doc."""

    def __init__(self, app, alias: PathAlias):
        self.app = app
        self.alias = alias

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if self.alias.alias in scope["path"]:
            scope = dict(scope, path=self.alias.reveal_text(scope["path"]),
                         raw_path=self.alias.reveal(scope.get("raw_path") or scope["path"].encode()))
        headers = dict(scope["headers"])
        if headers.get(b"content-type", b"").lower().startswith(b"application/json"):
            scope, receive = await self.revealed_body(scope, receive)
        await self.app(scope, receive, self.hiding(send))

    async def revealed_body(self, scope, receive):
        """Read the JSON body whole, put the real path in place of the alias, replay it."""
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return scope, replay([message])
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = self.alias.reveal(b"".join(chunks))
        headers = [(name, value) for name, value in scope["headers"] if name != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        return dict(scope, headers=headers), replay([{"type": "http.request", "body": body, "more_body": False}],
                                                    then=receive)

    def hiding(self, send):
        """Wrap `send`: text answers get the alias; a Content-Length is recomputed (the answer is then
        held until its last chunk)."""
        start = None
        started = False
        held: list[bytes] = []

        async def send_hidden(message):
            nonlocal start, started
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers", [])).get(b"content-type", b"").lower()
                if not content_type.startswith(TEXT_TYPES):
                    return await send(message)
                start = message
                return None
            if message["type"] != "http.response.body" or start is None:
                return await send(message)
            body = message.get("body", b"")
            more = message.get("more_body", False)
            has_length = any(name == b"content-length" for name, _ in start.get("headers", []))
            if has_length:
                held.append(body)
                if more:
                    return None
                body = self.alias.hide(b"".join(held))
                headers = [(n, v) for n, v in start["headers"] if n != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send(dict(start, headers=headers))
                return await send({"type": "http.response.body", "body": body, "more_body": False})
            if not started:
                started = True
                await send(start)
            return await send(dict(message, body=self.alias.hide(body)))

        return send_hidden


def replay(messages: list[dict], then=None):
    """A `receive` that gives `messages` first, then defers to `then` (e.g. for the disconnect)."""
    pending = list(messages)

    async def receive():
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive
