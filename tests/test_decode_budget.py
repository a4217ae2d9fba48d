"""demo.decode_budget in process (fast tier): the kernel ends a worker at its CPU budget, the client
gets one sentence, the next picture is read by a fresh worker, and workers are never left running."""

from pathlib import Path

import pytest

from demo import decode_budget
from reader.errors import InputError
from tests.helpers import ROOT
from tests.hostile_inputs import bmp_of_one_pixel_runs

SEVEN = (ROOT / "artifacts" / "examples" / "mnist_test_0000_digit_7.png").read_bytes()


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_picture_over_the_cpu_budget_ends_only_its_worker():
    """A 17 kB RLE BMP costs ~4 s unbounded; the worker decoding it is ended at 1 s, and the pool
    reads the next picture (a broken timer would decode it, or hang past the deadline)."""
    pool = decode_budget.DecodePool(workers=1, deadline_s=8)
    try:
        assert pool.decode(SEVEN).size == (112, 112)
        first = pool.pids()
        with pytest.raises(InputError, match="too costly to decode"):
            pool.decode(bmp_of_one_pixel_runs())
        assert pool.breaches == 1 and not running(first[0])
        assert pool.decode(SEVEN).size == (112, 112) and pool.pids() != first
    finally:
        pool.close()


def test_refusals_from_the_decoder_keep_their_sentence():
    pool = decode_budget.DecodePool(workers=1)
    try:
        with pytest.raises(InputError, match="not an image this demo can read"):
            pool.decode(b"not an image")
        assert pool.breaches == 0
    finally:
        pool.close()


def test_replaced_workers_are_stopped(monkeypatch):
    monkeypatch.setattr(decode_budget, "JOBS_PER_WORKER", 2)
    pool = decode_budget.DecodePool(workers=1)
    used = set()
    try:
        for _ in range(5):
            pool.decode(SEVEN)
            used |= set(pool.pids())
        assert len(used) == 3
        assert [pid for pid in used if running(pid)] == pool.pids()
    finally:
        pool.close()
    assert not any(running(pid) for pid in used)
