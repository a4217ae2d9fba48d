"""What decoding costs under the server's OS-enforced budget (demo.decode_budget), picture by picture.

For every worst case the limits accept (tests/hostile_inputs.worst_cases) and every picture built to
be costly to decode (costly_to_decode), one fresh worker decodes it; the worker's CPU time (user +
system, /proc) and its peak resident memory above its idle size (VmHWM − idle VmRSS) are reported
with the answer (decoded, or refused with the budget's sentence). Then the cost the pool adds to a
normal picture: a 28×28 MNIST PNG and a 280×280 canvas, decoded in process and through the pool,
side by side in one run (ratios matter on a noisy machine, not milliseconds).

    python benchmarks/decode_budget.py              # table, and benchmarks/results/decode_budget.json
    python benchmarks/decode_budget.py --unbounded  # also what each costly picture costs in process, unbounded
"""

import argparse
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import ROOT, default_out, machine_info, print_table, write_json  # noqa: E402
from demo.decode_budget import DECODE_CPU_SECONDS, DECODE_MEMORY_BYTES, TOO_COSTLY, DecodePool  # noqa: E402
from reader.errors import InputError  # noqa: E402
from reader.images import decode_bytes  # noqa: E402
from tests.hostile_inputs import costly_to_decode, worst_cases  # noqa: E402

SEVEN = ROOT / "artifacts" / "examples" / "mnist_test_0000_digit_7.png"


def proc_fields(pid: int) -> tuple[float, int]:
    """(CPU seconds, VmHWM in KiB) of a live process."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return cpu, int(status["VmHWM"].split()[0])


def measure(name: str, data: bytes) -> dict:
    """Decode `data` in a fresh one-worker pool; the worker's CPU and peak memory for it."""
    pool = DecodePool(workers=1)
    try:
        pool.decode(SEVEN.read_bytes())  # start the worker and warm it
        pid = pool.pids()[0]
        cpu_before, _ = proc_fields(pid)
        idle_kib = int(Path(f"/proc/{pid}/status").read_text().split("VmRSS:")[1].split()[0])
        before_children = os.times()
        started = time.perf_counter()
        try:
            image = pool.decode(data)
            answer, cpu, peak = f"decoded {image.size[0]}×{image.size[1]}", *proc_fields(pid)
            cpu -= cpu_before
        except InputError as error:
            answer = "refused: budget" if str(error) == TOO_COSTLY else f"refused: {error}"
            after = os.times()  # the ended worker was reaped: its CPU is in the children's times
            cpu = after.children_user + after.children_system - before_children.children_user - \
                before_children.children_system - cpu_before
            peak = None
        wall = time.perf_counter() - started
    finally:
        pool.close()
    return {"picture": name, "bytes": len(data), "answer": answer, "worker_cpu_s": round(cpu, 3),
            "peak_above_idle_mib": None if peak is None else round((peak - idle_kib) / 1024, 1),
            "wall_s": round(wall, 3)}


def canvas_png() -> bytes:
    from PIL import Image
    seven = Image.open(SEVEN).convert("L").resize((224, 224))
    canvas = Image.new("RGBA", (280, 280), (255, 255, 255, 255))
    canvas.paste(Image.eval(seven, lambda v: 255 - v).convert("RGBA"), (28, 28))
    buffer = io.BytesIO()
    canvas.save(buffer, "PNG")
    return buffer.getvalue()


def normal_cost(repeats: int) -> list[dict]:
    pool = DecodePool(workers=1)
    rows = []
    try:
        for name, data in (("28×28 MNIST PNG", SEVEN.read_bytes()), ("280×280 canvas PNG", canvas_png())):
            pool.decode(data)
            timings = {}
            for where, decode in (("in process", decode_bytes), ("pool", pool.decode)):
                started = time.perf_counter()
                for _ in range(repeats):
                    decode(data)
                timings[where] = (time.perf_counter() - started) / repeats * 1000
            rows.append({"picture": name, "in_process_ms": round(timings["in process"], 3),
                         "pool_ms": round(timings["pool"], 3),
                         "pool_adds_ms": round(timings["pool"] - timings["in process"], 3)})
    finally:
        pool.close()
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=300, help="normal pictures decoded per way (default 300)")
    parser.add_argument("--unbounded", action="store_true",
                        help="also decode each costly picture in this process, without a budget (~25 s)")
    parser.add_argument("--out", type=Path, default=default_out("decode_budget"), help="JSON results file")
    args = parser.parse_args(argv)
    print(f"Budget: {DECODE_CPU_SECONDS:g} s CPU, {DECODE_MEMORY_BYTES // 2**20} MiB above the idle worker.\n")
    pictures = {**worst_cases(), **costly_to_decode()}
    rows = []
    for name, data in pictures.items():
        rows.append(measure(name, data))
        print(f"  {name}: {rows[-1]['answer']}, {rows[-1]['worker_cpu_s']} s CPU", flush=True)
    if args.unbounded:
        for row in rows:
            if row["picture"] in costly_to_decode():
                started = time.process_time()
                decode_bytes(costly_to_decode()[row["picture"]])
                row["unbounded_cpu_s"] = round(time.process_time() - started, 2)
    columns = ["picture", "bytes", "answer", "worker_cpu_s", "peak_above_idle_mib", "wall_s"] + \
        (["unbounded_cpu_s"] if args.unbounded else [])
    print_table(columns, [[row.get(c) for c in columns] for row in rows], "Each picture in a fresh worker")
    normal = normal_cost(args.repeats)
    columns = ["picture", "in_process_ms", "pool_ms", "pool_adds_ms"]
    print_table(columns, [[row[c] for c in columns] for row in normal], "A normal picture, per decode")
    write_json(args.out, {"machine": machine_info(), "budget": {"cpu_s": DECODE_CPU_SECONDS,
                                                                 "memory_mib": DECODE_MEMORY_BYTES // 2**20},
                          "pictures": rows, "normal_pictures": normal,
                          "command": "python benchmarks/decode_budget.py"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
