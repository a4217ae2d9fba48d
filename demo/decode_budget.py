"""Decoding a client's picture under a budget the operating system enforces.

Header checks (`reader.images`) refuse pictures that are too large before any pixel is decoded, but
a file within every limit can still be made costly to decode: a progressive JPEG with thousands of
scans, a TIFF cut into millions of tiles, a BMP of one-pixel RLE runs, a PNG of a million chunks.
Rather than list each format's pathologies, the server decodes every client picture in a small pool
of worker processes (`DecodePool`), each bounded by the kernel:

- **CPU**: a profiling timer (`setitimer(ITIMER_PROF)`, user + system time of the worker) armed at
  `DECODE_CPU_SECONDS` for each picture; when it fires the kernel ends the worker (SIGPROF's default
  action), wherever it is, C code included;
- **memory**: the worker's address space (`RLIMIT_AS`) is capped at what it uses when idle plus
  `DECODE_MEMORY_BYTES`; an allocation past it fails inside the decoder;
- **wall clock**: the parent waits at most `DECODE_DEADLINE_S` for an answer, then kills the worker.

A picture that breaches the budget ends only its own worker: the client gets one sentence
(`TOO_COSTLY`), a new worker takes its place, and other visitors' pictures go on in the other
workers. The worker runs `reader.images.decode_bytes`, the same code the command line uses in
process, and sends back the bounded RGBA picture (longer side ≤ `reader.images.WORKING_SIDE`).

Run as `python -m demo.decode_budget` it is a worker: length-prefixed picture bytes on stdin, one
answer per picture on stdout (see `answer`).
"""

import logging
import os
import resource
import selectors
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from PIL import Image

from reader.errors import InputError

DECODE_CPU_SECONDS = 1.0                   # CPU (user + system) one picture may cost its worker
DECODE_MEMORY_BYTES = 300 * 1024 * 1024    # memory one picture may add to an idle worker
DECODE_DEADLINE_S = 10.0                   # wall clock for one picture (a busy machine is slower)
JOBS_PER_WORKER = 500                      # a worker is replaced after this many pictures
TOO_COSTLY = (f"The picture is too costly to decode (over {DECODE_CPU_SECONDS:g} s of CPU or "
              f"{DECODE_MEMORY_BYTES // 2**20} MB of memory); send a plainer image: a PNG or an ordinary JPEG.")
UNAVAILABLE = "The server could not decode the picture just now; please try again."
ROOT = Path(__file__).resolve().parents[1]
IMAGE, REFUSED, READY = b"I", b"E", b"R"

log = logging.getLogger("lenet.decode")


class DecodePool:
    """`workers` decoding processes; `decode(data)` returns an RGBA PIL image or raises InputError."""

    def __init__(self, workers: int = 2, cpu_seconds: float = DECODE_CPU_SECONDS,
                 memory_bytes: int = DECODE_MEMORY_BYTES, deadline_s: float = DECODE_DEADLINE_S):
        self.limits = (cpu_seconds, memory_bytes)
        self.deadline_s = deadline_s
        self.idle: list[Worker | None] = [None] * workers   # None: started when first needed
        self.available = threading.Semaphore(workers)
        self.lock = threading.Lock()
        self.breaches = 0

    def decode(self, data: bytes) -> Image.Image:
        with self.available:
            with self.lock:
                worker = self.idle.pop()
            try:
                if worker is not None and not worker.usable():
                    worker.stop()  # it ended, or has decoded JOBS_PER_WORKER pictures: replaced, never left running
                    worker = None
                worker = worker if worker is not None else Worker(*self.limits)
                image = worker.decode(data, self.deadline_s)
            except WorkerBreach as breach:
                self.breaches += 1
                log.warning("decode worker %s ended: %s (%s bytes)", breach.pid, breach.reason, f"{len(data):,}")
                worker.stop()
                worker = Worker(*self.limits)  # its replacement starts now, ready for the next picture
                raise InputError(TOO_COSTLY) from None
            except WorkerUnavailable as error:
                log.error("decode worker failed to start: %s", error)
                worker.stop()
                worker = None
                raise InputError(UNAVAILABLE) from None
            finally:
                with self.lock:
                    self.idle.append(worker)
            return image

    def pids(self) -> list[int]:
        """Process ids of the workers alive now (for tests and benchmarks that read /proc)."""
        with self.lock:
            return [w.process.pid for w in self.idle if w is not None and w.process.poll() is None]

    def close(self) -> None:
        with self.lock:
            workers, self.idle = self.idle, [None] * len(self.idle)
        for worker in workers:
            if worker is not None:
                worker.stop()


class WorkerBreach(Exception):
    def __init__(self, pid: int, reason: str):
        super().__init__(reason)
        self.pid, self.reason = pid, reason


class WorkerUnavailable(Exception):
    pass


class Worker:
    """One decoding process (`python -m demo.decode_budget`) and its pipes."""

    def __init__(self, cpu_seconds: float, memory_bytes: int):
        environment = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                       "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "demo.decode_budget", str(cpu_seconds), str(memory_bytes)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=environment,
            cwd=ROOT, start_new_session=True)
        self.jobs = 0
        self.ready = False

    def usable(self) -> bool:
        return self.process.poll() is None and self.jobs < JOBS_PER_WORKER

    def decode(self, data: bytes, deadline_s: float) -> Image.Image:
        if not self.ready:  # the first picture also waits for the imports (~0.3 s)
            if self.read(1, time.monotonic() + 30) != READY:
                raise WorkerUnavailable(f"worker {self.process.pid} did not start")
            self.ready = True
        self.jobs += 1
        deadline = time.monotonic() + deadline_s
        try:
            self.process.stdin.write(struct.pack(">Q", len(data)) + data)
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise WorkerBreach(self.process.pid, "its pipe closed") from None
        kind = self.read(1, deadline)
        if kind == IMAGE:
            width, height = struct.unpack(">II", self.read(8, deadline))
            return Image.frombytes("RGBA", (width, height), self.read(width * height * 4, deadline))
        if kind == REFUSED:
            (length,) = struct.unpack(">I", self.read(4, deadline))
            raise InputError(self.read(length, deadline).decode())
        raise WorkerBreach(self.process.pid, f"unexpected answer {kind!r}")

    def read(self, size: int, deadline: float) -> bytes:
        """Exactly `size` bytes from the worker before `deadline`; else the worker has breached."""
        chunks, needed, pipe = [], size, self.process.stdout
        with selectors.DefaultSelector() as selector:
            selector.register(pipe, selectors.EVENT_READ)
            while needed:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    raise WorkerBreach(self.process.pid, "over its wall-clock deadline")
                chunk = os.read(pipe.fileno(), min(needed, 1 << 20))
                if not chunk:
                    self.process.wait(timeout=5)
                    raise WorkerBreach(self.process.pid, ended_by(self.process.returncode))
                chunks.append(chunk)
                needed -= len(chunk)
        return b"".join(chunks)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=5)
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:
                pass


def ended_by(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        name = signal.Signals(-returncode).name
        return {"SIGPROF": "over its CPU budget", "SIGKILL": "killed"}.get(name, f"ended by {name}")
    return f"exited with status {returncode}"


# --- the worker process ----------------------------------------------------------------------------

def answer(data: bytes) -> tuple[bytes, bool]:
    """The worker's reply to one picture — IMAGE, width, height, RGBA bytes; or REFUSED and a
    sentence — and whether the worker should end after sending it (an allocation failed)."""
    from reader.images import decode_bytes
    try:
        image = decode_bytes(data)
    except InputError as error:
        return refusal(str(error)), False
    except MemoryError:
        return refusal(TOO_COSTLY), True
    return IMAGE + struct.pack(">II", *image.size) + image.tobytes(), False


def refusal(message: str) -> bytes:
    encoded = message.encode()
    return REFUSED + struct.pack(">I", len(encoded)) + encoded


def memory_in_use() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def read_exactly(stream, size: int) -> bytes | None:
    data = stream.read(size)
    return data if len(data) == size else None


def serve(cpu_seconds: float, memory_bytes: int) -> None:
    """Answer pictures from stdin until it closes; each one under the CPU timer and memory cap."""
    import reader.images  # noqa: F401  (imported before the memory cap is measured)
    signal.signal(signal.SIGPROF, signal.SIG_DFL)
    if memory_bytes > 0 and Path("/proc/self/status").exists():
        cap = memory_in_use() + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    sink.write(READY)
    sink.flush()
    while (header := read_exactly(source, 8)) is not None:
        (length,) = struct.unpack(">Q", header)
        data = read_exactly(source, length)
        if data is None:
            return
        signal.setitimer(signal.ITIMER_PROF, cpu_seconds)
        reply, spent = answer(data)
        signal.setitimer(signal.ITIMER_PROF, 0)
        sink.write(reply)
        sink.flush()
        if spent:
            return  # after a failed allocation, a fresh worker is started for the next picture


if __name__ == "__main__":
    serve(float(sys.argv[1]), int(sys.argv[2]))
