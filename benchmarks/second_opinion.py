"""What the Number reader's second opinion (`reader.pipeline.second_opinion`) costs, part by part.

On ordinary and crowded numbers (tests/written_numbers.py, MNIST test digits 5,000–9,999), for each
number: the line reader's input (`line_reader.line_input`), its reading (`log_probabilities`, one
ONNX Runtime pass), the ten variants of every place (`digit_probabilities`, one more pass), and
the whole of `second_opinion` as the reader runs it — all in this process's CPU time, one ONNX
Runtime thread as the app, side by side in one run. Also how often the line reader's own reading
is the path's, where `second_opinion` skips the variants.

    python benchmarks/second_opinion.py              # 300 of each; table and benchmarks/results/second_opinion.json
    python benchmarks/second_opinion.py --count 50   # a quick look
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import default_out, machine_info, print_table, write_json  # noqa: E402
from lenet.data import load_mnist  # noqa: E402
from reader import pipeline  # noqa: E402
from reader.model import DigitModel  # noqa: E402
from reader.numbers import line_reader  # noqa: E402
from reader.runs import SHIPPED_MODEL  # noqa: E402
from tests import written_numbers as written  # noqa: E402

PARTS = ("line input", "reading", "ten variants a place", "second_opinion (as run)")
AGREED = "read by the line reader as by the path"


def cpu_ms(call) -> tuple[object, float]:
    started = time.process_time()
    result = call()
    return result, (time.process_time() - started) * 1000


def measure(model: DigitModel, numbers) -> dict:
    """Per part, the CPU ms of every number; and how many the line reader read as the path did."""
    times = {part: [] for part in PARTS}
    agreed = 0
    real = pipeline.second_opinion

    def timed(model_, graph, chosen, digits):
        kept = graph.ink_of(chosen)
        line, spent = cpu_ms(lambda: line_reader.line_input(graph.ink, kept, graph.line_height))
        text = "".join(digit.label for digit in digits)
        if line is not None and text:
            times["line input"].append(spent)
            log_p, spent = cpu_ms(lambda: line_reader.shipped().log_probabilities(line.pixels))
            times["reading"].append(spent)
            times["ten variants a place"].append(cpu_ms(lambda: line_reader.digit_probabilities(log_p, text))[1])
            nonlocal agreed
            agreed += line_reader.best_text(log_p) == text
        result, spent = cpu_ms(lambda: real(model_, graph, chosen, digits))
        times["second_opinion (as run)"].append(spent)
        return result

    pipeline.second_opinion = timed
    try:
        for number in numbers:
            pipeline.read_number(model, number.image)
    finally:
        pipeline.second_opinion = real
    return {"times_ms": times, AGREED: agreed, "numbers": len(numbers)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="numbers of each kind (default 300)")
    parser.add_argument("--out", default=default_out("second_opinion"))
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    model = DigitModel(SHIPPED_MODEL, "cpu", threads=1)
    line_reader.shipped()                                  # loaded before anything is timed
    _, (images, labels) = load_mnist()
    kinds = {"ordinary": written.ordinary_numbers(images, labels, args.count, 15),
             "crowded": written.crowded_numbers(images, labels, args.count, 16)}
    results, rows = {}, []
    for kind, numbers in kinds.items():
        measured = measure(model, numbers)
        results[kind] = measured
        means = {part: float(np.mean(values)) if values else 0.0 for part, values in measured["times_ms"].items()}
        rows.append([kind, *[means[part] for part in PARTS],
                     f"{measured[AGREED]} of {measured['numbers']}"])
        results[kind]["mean_ms"] = means
    print_table(["numbers", *[f"{part}, ms" for part in PARTS], "line reader = path"], rows,
                title="The second opinion's CPU time a number, mean (one ONNX Runtime thread)")
    write_json(args.out, {"machine": machine_info(), "command": "python benchmarks/second_opinion.py",
                          "count": args.count,
                          "results": {kind: {key: r[key] for key in ("mean_ms", "numbers", AGREED)}
                                      for kind, r in results.items()}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
