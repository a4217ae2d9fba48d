"""The server's disk: its private Gradio cache folder, bounded, swept, and shared fairly.

`CacheFolder` is the app's private cache folder (uploads, the copies Gradio makes of inputs and
outputs). Each upload is registered with the client that sent it (`demo.server_limits.client_of`)
and deleted `UPLOAD_MAX_AGE_S` after it arrived — long after the event that reads it has run.
Other files (output pictures) go after `CACHE_MAX_AGE_S`; files that existed when serving began
(the page's examples and its Training tab's pictures) stay for the server's whole life. One client
may send at most `CLIENT_SHARE_BYTES` of uploads in `UPLOAD_MAX_AGE_S`, so no client can fill the
folder's quota (`CACHE_QUOTA_BYTES`, `CACHE_QUOTA_FILES` files and folders) for everyone; a refusal
says when to try again. The whole folder is removed when the app stops. The expiry ages can be
shortened (for tests) through the ``LENET_UPLOAD_MAX_AGE_S`` and ``LENET_CACHE_MAX_AGE_S`` settings.
"""

import logging
import math
import os
import shutil
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from demo.private_paths import PathAlias

log = logging.getLogger("lenet.server")


def age_setting(name: str, default: int) -> int:
    """A whole number of seconds from the environment (tests shorten the expiry ages), else `default`."""
    text = os.environ.get(name, "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else default


CACHE_QUOTA_BYTES = 512 * 1024 * 1024
CACHE_QUOTA_FILES = 20_000
CLIENT_SHARE_BYTES = CACHE_QUOTA_BYTES // 8        # uploads one client address may hold at once
UPLOAD_MAX_AGE_S = age_setting("LENET_UPLOAD_MAX_AGE_S", 120)   # an upload is deleted this long after it came
CACHE_MAX_AGE_S = age_setting("LENET_CACHE_MAX_AGE_S", 600)     # output pictures and copies are kept this long
CACHE_SWEEP_EVERY_S = 5
EMPTY_FOLDER_AGE_S = 60                            # empty folders go once nothing was written in them this long


@dataclass
class ClientUse:
    """One client address's uploads: (arrival time, bytes stored) of each in the last
    `UPLOAD_MAX_AGE_S`, and the bytes of uploads it is sending now."""
    ledger: deque = field(default_factory=deque)
    reserved: int = 0

    def held(self, now: float) -> int:
        while self.ledger and self.ledger[0][0] + UPLOAD_MAX_AGE_S <= now:
            self.ledger.popleft()
        return sum(size for _, size in self.ledger)


class CacheFolder:
    """A private cache folder: its measured size, uploads by client, an expiry sweep, removal at exit."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.alias = PathAlias(path)  # how clients see the folder (demo.private_paths)
        self.kept = set()            # files present when serving began (examples, the Training tab's pictures)
        self.bytes = self.files = 0  # as last measured
        self.admitted_since_sweep = 0
        self.next_expiry = 0.0       # when the oldest file that will expire does (time.time())
        self.uploads: dict[Path, float] = {}     # an uploaded file → when it last arrived
        self.clients: dict[str, ClientUse] = {}
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

    def expires_at(self, path: Path, modified: float) -> float | None:
        """When `path` is deleted (None: never, while serving)."""
        if path in self.kept:
            return None
        arrived = self.uploads.get(path)
        return arrived + UPLOAD_MAX_AGE_S if arrived is not None else modified + CACHE_MAX_AGE_S

    def sweep(self, now: float | None = None) -> None:
        """Delete expired files and empty folders; measure what is left."""
        now = time.time() if now is None else now
        total = files = 0
        next_expiry = math.inf
        for folder, subfolders, names in os.walk(self.path, topdown=False):
            for name in names:
                path = Path(folder, name)
                try:
                    info = path.lstat()
                    with self.lock:
                        expiry = self.expires_at(path, info.st_mtime)
                    if expiry is not None and expiry <= now:
                        path.unlink()
                        self.forget(path)
                        continue
                except FileNotFoundError:
                    self.forget(path)
                    continue
                next_expiry = min(next_expiry, expiry if expiry is not None else math.inf)
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
            for path in [path for path in self.uploads if not path.exists()]:  # deleted by someone else
                del self.uploads[path]
            for client in [c for c, use in self.clients.items() if not use.held(now) and not use.reserved]:
                del self.clients[client]
            self.bytes, self.files, self.admitted_since_sweep = total, files, 0
            self.next_expiry = next_expiry

    def admit(self, size: int, client: str = "") -> str | None:
        """Reserve room for an upload of `size` bytes from `client`; None when admitted, else the
        sentence that refuses it (the folder is over its quota, or the client over its share)."""
        now = time.time()
        with self.lock:
            use = self.clients.setdefault(client, ClientUse())
            if use.held(now) + use.reserved + size > CLIENT_SHARE_BYTES:
                oldest = use.ledger[0][0] if use.ledger else now
                return (f"You have sent {CLIENT_SHARE_BYTES // 2**20} MB of uploads in the last "
                        f"{UPLOAD_MAX_AGE_S // 60 or 1} minutes, this server's share for one address; "
                        f"try again in {retry_after(oldest + UPLOAD_MAX_AGE_S)} s.")
            if self.bytes + self.admitted_since_sweep + size > CACHE_QUOTA_BYTES or self.files >= CACHE_QUOTA_FILES:
                return f"The server's upload space is full; try again in {retry_after(self.next_expiry)} s."
            self.admitted_since_sweep += size
            use.reserved += size
            return None

    def settle(self, client: str, size: int, stored: list[str]) -> None:
        """The upload admitted for `size` bytes has ended: count the files Gradio stored for it
        against the client (a file sent again counts again: the client sent it again) and expire
        each `UPLOAD_MAX_AGE_S` after it last arrived."""
        now = time.time()
        with self.lock:
            use = self.clients.setdefault(client, ClientUse())
            use.reserved -= size
            for name in stored:
                path = Path(self.alias.reveal_text(name))
                try:
                    if path.resolve().parent.parent != self.path.resolve():
                        continue
                    stored_bytes = path.stat().st_size
                except OSError:
                    continue
                self.uploads[path] = now
                use.ledger.append((now, stored_bytes))

    def forget(self, path: Path) -> None:
        with self.lock:
            self.uploads.pop(path, None)

    def held_by(self, client: str) -> int:
        with self.lock:
            use = self.clients.get(client)
            return use.held(time.time()) if use else 0

    def remove(self) -> None:
        """Stop sweeping and delete the whole folder (at exit)."""
        self.stopped.set()
        shutil.rmtree(self.path, ignore_errors=True)


def retry_after(when: float) -> int:
    """Whole seconds until `when`, plus one sweep, at least 1."""
    if not math.isfinite(when):
        return CACHE_SWEEP_EVERY_S
    return max(1, math.ceil(when - time.time()) + CACHE_SWEEP_EVERY_S)
