"""Does reducing the Draw tab's canvas before sending it change what is read? (demo.drawing.SEND_SCALE)

MNIST test digits drawn on the canvas (tests/non_digits.canvas_digit: a real test digit enlarged
6–13× onto the canvas, black on white, brought to the page's 280×280) are read at full size and
reduced to each scale (smoothed: PIL's Lanczos, as the browser's high-quality scaling), by the
served model's whole reading (`read_digit`: preprocessing, model, not-digit check). For each size:
the share read right, how many answers differ from the full-size reading, and the reading's CPU
time per digit (mean, one thread).

    python benchmarks/drawing_scale.py                 # 10,000 test digits, scales 1, 0.6, 0.5
    python benchmarks/drawing_scale.py --count 2000 --scales 1 0.6
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import FP32_MODEL, default_out, machine_info, mnist_test_digits, print_table, write_json  # noqa: E402
from reader.model import DigitModel  # noqa: E402
from reader.pipeline import read_digit  # noqa: E402
from tests import non_digits  # noqa: E402

CANVAS = 280


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="MNIST test digits (default all 10,000)")
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 0.6, 0.5])
    parser.add_argument("--model", type=Path, default=FP32_MODEL)
    parser.add_argument("--out", type=Path, default=default_out("drawing_scale"))
    args = parser.parse_args(argv)
    model = DigitModel(args.model, threads=1)
    images, labels = mnist_test_digits(args.count)
    rng = np.random.default_rng(11)
    sides = [round(CANVAS * scale) for scale in args.scales]
    right = dict.fromkeys(sides, 0)
    differ = dict.fromkeys(sides, 0)
    cpu = dict.fromkeys(sides, 0.0)
    for image, label in zip(images, labels):
        canvas = non_digits.canvas_digit(image, rng).resize((CANVAS, CANVAS), Image.Resampling.BILINEAR, reducing_gap=2.0)
        said = {}
        for side in sides:
            picture = canvas if side == CANVAS else canvas.resize((side, side), Image.Resampling.LANCZOS)
            started = time.process_time()
            reading = read_digit(model, picture, heatmap=False)
            cpu[side] += time.process_time() - started
            said[side] = None if reading is None or not reading.digit else reading.label
        for side in sides:
            right[side] += said[side] == str(label)
            differ[side] += said[side] != said[sides[0]]
    rows = [{"side": side, "scale": scale, "right_percent": round(100 * right[side] / args.count, 2),
             "answers_differing_from_first": differ[side], "cpu_ms_per_digit": round(1000 * cpu[side] / args.count, 2)}
            for side, scale in zip(sides, args.scales)]
    columns = ["side", "scale", "right_percent", "answers_differing_from_first", "cpu_ms_per_digit"]
    print_table(columns, [[row[c] for c in columns] for row in rows],
                f"{args.count} MNIST test digits drawn on the canvas, read at each size")
    write_json(args.out, {"machine": machine_info(), "count": args.count, "model": str(args.model), "rows": rows,
                          "command": "python benchmarks/drawing_scale.py" + ("" if args.count == 10_000 else
                                                                             f" --count {args.count}")})
    return 0


if __name__ == "__main__":
    sys.exit(main())
