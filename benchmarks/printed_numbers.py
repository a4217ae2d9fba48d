"""Printed digits: numbers and lone digits set in every TrueType font found, read by the demo.

A screenshot or a photo of printed digits is a picture people upload. Printed digits are unlike
MNIST's: even strokes in a sans font, thick stems beside hairlines in a bold serif one. For each
font file under the folders given (default: /usr/share/fonts, where Debian's fonts-dejavu and
fonts-liberation put theirs; on another system pass its font folder), this sets `--count` numbers
of 2–5 random digits, each at a random size of 40–160 px, black on a white canvas, and reads them
with `reader.pipeline.read_number`; and the ten digits alone at 120 px, read with `read_digit`. The
numbers and sizes come from `--seed`, the same for every font.

    python benchmarks/printed_numbers.py                       # every font under /usr/share/fonts
    python benchmarks/printed_numbers.py --code DIR            # the demo of another checkout (before/after)
    python benchmarks/printed_numbers.py --fonts ~/Library/Fonts

No target: a check that no kind of pen or type defeats the preprocessing. The figures depend on the
fonts installed, so the JSON lists them.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SIZES = (40, 160)        # the type size of a number, px
DIGIT_SIZE = 120         # the type size of a lone digit, px


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fonts", type=Path, nargs="+", default=[Path("/usr/share/fonts")],
                        help="folders searched for .ttf and .otf files (default: %(default)s)")
    parser.add_argument("--count", type=int, default=20, help="numbers per font (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="the numbers and their sizes (default: %(default)s)")
    parser.add_argument("--code", type=Path, help="import `demo` from this checkout instead (a before/after figure)")
    parser.add_argument("--out", help="JSON output (default: benchmarks/results/printed_numbers.json)")
    args = parser.parse_args(argv)
    fonts = sorted(path for folder in args.fonts for pattern in ("*.ttf", "*.otf") for path in folder.rglob(pattern))
    if not fonts:
        parser.error(f"no .ttf or .otf font under {', '.join(map(str, args.fonts))}")
    if args.code:
        sys.path.insert(0, str(args.code.resolve()))
    sys.path.insert(1 if args.code else 0, str(ROOT))
    from PIL import ImageFont

    from benchmarks.common import FP32_MODEL, default_out, machine_info, print_table, write_json
    from reader import pipeline
    from reader.model import DigitModel

    model = DigitModel(FP32_MODEL, "cpu", 1)
    rng = np.random.default_rng(args.seed)
    numbers = ["".join(map(str, rng.integers(0, 10, int(rng.integers(2, 6))))) for _ in range(args.count)]
    sizes = [int(size) for size in rng.integers(SIZES[0], SIZES[1] + 1, args.count)]
    rows, results = [], []
    for path in fonts:
        try:
            ImageFont.truetype(str(path), DIGIT_SIZE)
        except OSError:
            continue  # not a font Pillow can set (a collection, a bitmap font)
        wrong = []
        for text, size in zip(numbers, sizes):
            reading = pipeline.read_number(model, printed(text, path, size))
            got = "".join(digit.label for digit in reading.digits) if reading else ""
            if got != text:
                wrong.append({"text": text, "size": size, "read": got})
        alone = {str(d): answer.label if (answer := pipeline.read_digit(model, printed(str(d), path, DIGIT_SIZE)))
                 else "" for d in range(10)}
        digits_right = sum(label == digit for digit, label in alone.items())
        results.append({"font": path.name, "numbers_right": args.count - len(wrong), "digits_right": digits_right,
                        "numbers_wrong": wrong, "digits_read": alone})
        rows.append([path.name, f"{args.count - len(wrong)}/{args.count}", f"{digits_right}/10",
                     ", ".join(f"{w['text']}→{w['read']}" for w in wrong[:3])])
    numbers_right = sum(r["numbers_right"] for r in results)
    digits_right = sum(r["digits_right"] for r in results)
    rows.append(["all fonts", f"{numbers_right}/{args.count * len(results)}", f"{digits_right}/{10 * len(results)}", ""])
    print_table(["font", "numbers read right", "digits alone", "read wrong (first three)"], rows,
                title=f"Printed numbers ({args.count} per font, {SIZES[0]}–{SIZES[1]} px) and the ten digits alone "
                      f"({DIGIT_SIZE} px), demo from {Path(pipeline.__file__).parent}")
    write_json(args.out or default_out("printed_numbers"), {
        "benchmark": "printed_numbers", "seed": args.seed, "count_per_font": args.count, "sizes_px": SIZES,
        "digit_size_px": DIGIT_SIZE, "demo": str(Path(pipeline.__file__).parent), "machine": machine_info(),
        "numbers_right": numbers_right, "numbers": args.count * len(results), "digits_right": digits_right,
        "digits": 10 * len(results), "fonts": results})
    return 0


def printed(text: str, font_path: Path, size: int):
    """`text` set in the font at `size` px, black on a white canvas with a margin of half a size."""
    from PIL import Image, ImageDraw, ImageFont
    font = ImageFont.truetype(str(font_path), size)
    left, top, right, bottom = font.getbbox(text)
    margin = size // 2
    canvas = Image.new("RGB", (right - left + 2 * margin, bottom - top + 2 * margin), "white")
    ImageDraw.Draw(canvas).text((margin - left, margin - top), text, font=font, fill="black")
    return canvas


if __name__ == "__main__":
    sys.exit(main())
