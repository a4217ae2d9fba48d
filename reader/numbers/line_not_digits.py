"""Digits that a line reader who has seen non-digits finds are none: a letter, a mark or a doodle
read as digits, left out.

The best path reads every blob it keeps as a digit or more, and the not-digit check
(`reader.numbers.not_digits`) sees each chosen digit, or each group of them, alone: a letter's
strokes cut into slices that each pass as a "1", a cross read "77", pass it. This reader is the
line reader's make (`reader.numbers.line_reader`) trained also on pictures that hold non-digits
(`benchmarks/fit_line_reader.py --not-digits`: numbers with a doodle, mark or letter beside them,
labelled with their digits only; lone taps, doodles, marks, letters and blobs, labelled with
nothing; numbers drawn with an even pen as the sketchpad draws them, labelled with their digits,
so that an even pen does not mean "no digit"). It reads the same line the line reader reads: the
chosen digits' ink, whole.

Where its best reading is the reading so far with one digit or more taken out, and it finds that
reading `LEAVE_OUT_ABOVE` likelier (natural log of the ratio), the digits it does not read are left
out (`left_out`); which ones, by where along the line it read the others (`matched`). One digit
alone at either end, standing `END_APART` digit heights or more from its neighbour (where a
doodle beside a number stands), is left out at `LEAVE_OUT_END_ABOVE` (`alone_at_an_end`): a doodle
read as a digit close to the number's own was kept (tuning, 600 each of ordinary, crowded, hard
numbers and pairs, 150 beside each non-digit, 100 of each lone kind: every number as before,
beside a doodle, mark, letter 132 / 143 / 138 → 134 / 145 / 140 of 150; at 3, an ordinary number
lost its last digit; evaluation: every number as before, 3,000 ordinary ones included, beside
126 / 148 / 135 → 128 / 148 / 140). Never for a
reading of one digit: a picture read as one digit gets the Draw tab's verdict
(`reader.pipeline.refused_as_one_digit`). As a second opinion on the digits themselves it reads
worse than the line reader (benchmarks/README.md), so it is asked only this.

`LEAVE_OUT_ABOVE` = 10, chosen on the tuning sets (600 each of ordinary, crowded, hard numbers,
touching pairs and ordinary numbers drawn with an even pen, tuning pool seeds 215, 216, 212, 206,
217; 150 numbers beside each of a doodle, mark, letter and 100 of each lone non-digit,
`tests.non_digits.TUNING`): every number read as before but one hard number more read right;
beside a doodle, mark, letter 127 / 130 / 118 → 132 / 143 / 136 of 150; lone doodles, marks,
letters read as no digit 75 / 86 / 72 → 84 / 97 / 98 of 100 (at 5: a crowded and an even-pen
number lost a digit). Evaluation sets (the same kinds, seeds 15, 16, 12, 13, 17,
`tests.non_digits.EVALUATION`): every number read as before; beside 121 / 142 / 116 → 126 / 148 /
135; lone doodles, marks, letters 82 / 90 / 67 → 85 / 100 / 97, taps and blobs as before.
"""

import functools
from pathlib import Path

import numpy as np

from reader.numbers import line_reader

WEIGHTS_FILE = Path(__file__).with_name("line_reader_not_digits.onnx")
MAKER = "fit_line_reader.py --not-digits"
LEAVE_OUT_ABOVE = 10.0      # chosen on the tuning sets (benchmarks/README.md)
END_APART = 0.15            # digit heights: a first or last digit standing this far from its neighbour ...
LEAVE_OUT_END_ABOVE = 6.0   # ... is left out alone when the reading without it is this much likelier


def left_out(reader: line_reader.LineReader, line: line_reader.Line | None, text: str,
             boxes: list[tuple[int, int, int, int]]) -> list[int]:
    """Positions in `text` (the digits read so far, left to right, in `boxes` of the ink map
    `line` was made from) of the digits this reader finds are no digit; [] for none (and for no
    line: no ink kept)."""
    if line is None or len(text) < 2:
        return []
    log_probabilities = reader.log_probabilities(line.pixels)
    other = line_reader.best_text(log_probabilities)
    if len(other) >= len(text):
        return []
    mine, theirs = line_reader.log_likelihoods(log_probabilities, [text, other])
    if theirs - mine < min(LEAVE_OUT_ABOVE, LEAVE_OUT_END_ABOVE):
        return []
    columns = [line.ink_columns(step) for step in line_reader.digit_steps(log_probabilities)]
    kept = matched(text, [(box[0] + box[2]) / 2 for box in boxes], other, columns)
    if kept is None:
        return []
    removed = [position for position in range(len(text)) if position not in kept]
    if theirs - mine >= LEAVE_OUT_ABOVE or (theirs - mine >= LEAVE_OUT_END_ABOVE and alone_at_an_end(removed, boxes)):
        return removed
    return []


def alone_at_an_end(positions: list[int], boxes: list[tuple[int, int, int, int]]) -> bool:
    """Whether `positions` is only the first or only the last of the digits in `boxes`, standing
    `END_APART` digit heights (the boxes' median height) or more from its neighbour: where a
    doodle or mark beside a number stands, and a number's own digit seldom."""
    if len(positions) != 1 or len(boxes) < 2 or positions[0] not in (0, len(boxes) - 1):
        return False
    height = float(np.median([box[3] - box[1] for box in boxes]))
    gap = boxes[1][0] - boxes[0][2] if positions[0] == 0 else boxes[-1][0] - boxes[-2][2]
    return gap >= END_APART * height


def matched(text: str, centres: list[float], other: str, columns: list[float]) -> set[int] | None:
    """The positions of `text` (digits at `centres`, ink-map columns) that `other`'s digits (read
    at `columns`) are, in order and each the same digit, nearest in all; None when `other` is not
    `text` with digits taken out."""
    n, m = len(text), len(other)
    cost = np.full((n + 1, m + 1), np.inf)
    cost[:, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, min(i, m) + 1):
            skip = cost[i - 1, j]
            take = cost[i - 1, j - 1] + abs(centres[i - 1] - columns[j - 1]) if text[i - 1] == other[j - 1] else np.inf
            cost[i, j] = min(skip, take)
    if not np.isfinite(cost[n, m]):
        return None
    kept, j = set(), m
    for i in range(n, 0, -1):
        if j > 0 and text[i - 1] == other[j - 1] and cost[i, j] == cost[i - 1, j - 1] + abs(centres[i - 1] - columns[j - 1]):
            kept.add(i - 1)
            j -= 1
    return kept if j == 0 else None


def second_reader(path: Path) -> line_reader.LineReader:
    """The reader saved at `path`; RuntimeError naming the command that makes it when it is missing,
    corrupt or made for another input."""
    return line_reader.LineReader(path, maker=MAKER)


@functools.cache
def shipped() -> line_reader.LineReader:
    return second_reader(WEIGHTS_FILE)
