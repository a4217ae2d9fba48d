"""Which of a number's chosen digits are not digits at all: a doodle, a mark or a letter beside it.

The best path reads every blob it keeps as a digit or two; a scribble written beside "2026" would
come out as one or more extra digits. The single-digit reader's not-digit check
(`reader.not_digit`) is asked about the chosen digits, grouped by the blobs they share (a blob the
path cut in two is one group), each seen alone on a square around it (a digit fills about `FILL`
of the canvas the check was trained on):

- a group of one digit is left out when it scores `MARGIN` under the check's threshold;
- a group the path cut into several digits is left out when the check refuses the whole of it
  *and* one of its digits scores `MARGIN` under the threshold: two real digits that touch are
  refused together (a pair is not one digit) but not one by one.

A group holding at least `SURE_DIGITS` digits that the check, seeing each alone, takes surely
for digits (`SURE_ODDS` over its threshold) and that are digit-wide (`DIGIT_WIDTH` line heights)
is never left out: it is the number's own touching digits, the one refused alone likely two
digits read as one, which the pair reader reads later (`reader.numbers.pairs`). Crowded numbers
whose digits all touch were read as nothing ("2608", "62856": 4 of 600 crowded tuning numbers);
a doodle's or a letter's slices that score as sure are thin ones read as "1"s. Chosen on the
tuning pool (600 each of crowded, ordinary and hard numbers and pairs; 60 numbers each with a
doodle, mark or letter beside them; 300 lone non-digits): crowded 549 → 552, nothing else changed;
on the evaluation sets (the same, seeds of `benchmarks/number_reading.py`) nothing changed.

A single digit refused alone that abuts another chosen digit (`ABUTTING` line heights) and that
the pair reader reads as two (`two_against_a_digit`) is kept: it is two touching digits of the
number read as one, refused as the check refuses any pair ("7650" had read "50"). On the tuning
sets a doodle, mark or letter beside a number lay 0.12 line heights or more from the nearest
digit but once (a doodle the pair reader does not read as two), and crowded numbers' pairs so
refused at 0: crowded tuning numbers 552 → 556 of 600, evaluation 572 → 574, nothing else changed.

Such a group within `NEAR` line heights of another chosen digit is more likely the number's own
touching digits, one of them two digits the path read as one (the one refused alone): the number
reader chooses again without it (`two_in_one`, `reader.pipeline.read_number`) and keeps that
reading when it leaves out fewer digits. On the tuning numbers (600 crowded, seed 116) 5 readings
changed, 4 to the right number ("24117" had read "24"), and none of 600 hard numbers, 600 pairs,
600 ordinary numbers, 180 numbers with a doodle, mark or letter beside them, or 300 lone non-digits
(all `NEAR` apart or alone).

A letter, mark or doodle beside a number is often one blob that the path cuts into "digits" each
of which the check takes for one seen alone (an "H" read "11", a "+" read "77"). Such a group
(two digits or more sharing blobs), refused as a whole `MARGIN` under the threshold and standing
`NEAR` line heights or more from every other chosen digit, is left out when it reads as "1"s only
or when what else reads digits does not confirm it (`unconfirmed`: the line reader and
the pair reader, each reading its ink alone). Touching digits mostly stand among touching
neighbours, and those standing apart the line and pair readers read as the path does. And a
single digit standing `APART` line heights or more from the others is held to the check's own
threshold, as the Draw tab would hold it alone. On the tuning sets (150 numbers each with a
doodle, mark or letter beside them, `tests.non_digits.TUNING`; 600 each of crowded, ordinary and
hard numbers and touching pairs, seeds 216, 215, 212, 206 of the tuning pool) numbers beside a
doodle read right 123 → 127, beside a mark 113 → 130, beside a letter 93 → 124, and no number read
right read otherwise (with the line reader's doubt alone enough for two digits, marks 137, but a
hard number's "69" standing apart, which the line reader reads "60", was left out); on the
evaluation sets (the same, `tests.non_digits.EVALUATION` and the seeds of
`benchmarks/number_reading.py`) doodles 114 → 121, marks 125 → 142, letters 77 → 116, and no
number read right read otherwise; of 2,000 crowded evaluation numbers more (seed 26) one read
right read otherwise ("65119" read "19": a touching "65" the path read "67", which the line
reader reads "65" just under `LINE_SURE`), of 2,000 ordinary ones (seed 25) none. (Without
`LINE_SURE` a crowded "48702" of tests/test_line_reader.py read "487": its "02" read "62".)

Whatever these rules would leave out is kept when it touches the number (within `NEAR` line
heights of another chosen digit) or is all of it, and the second line reader
(`reader.numbers.line_not_digits`, trained on letters, marks and doodles as well as numbers),
reading its ink alone, reads as many digits or more, surely (`read_as_digits`, `LINE_KEEPS`):
crowded numbers whose digits all touch, two of them read as one "digit" the check refuses, were
read as nothing ("74847", "628"). Asked after `two_in_one` has chosen again (asked before, it kept
a group that choice reads right: "2944" read "2444"). Tuning pool, 1,500 crowded and 1,500 hard
numbers (seeds 216, 212): crowded 1,395 → 1,409, hard as before; 600 ordinary numbers and pairs,
150 numbers beside each of a doodle, mark and letter, 100 of each lone non-digit: all as before
(at −0.5 one crowded number fewer; for groups apart too, a letter beside a number more read as a
digit). Evaluation (`benchmarks/number_reading.py`, 3,000 each): crowded 2,912 → 2,914, ordinary
2,946 → 2,947, hard numbers, pairs and lone digits as before; beside a non-digit and alone
(`benchmarks/not_digit.py`): as before.

A picture the path reads as one digit, with nothing left out, is the whole picture read as one
digit, as the Draw tab reads it: it gets the Draw tab's verdict (`reader.pipeline.refused_as_one_digit`:
the check at its own threshold, on the whole picture's ink and model input), so the two tabs agree
on a picture of one digit or of none; the margin is for digits among neighbours, cut from them or
cramped. And
a chosen digit that is only taps or dots is held to the check's higher `tap_threshold` (less the
margin), as the Draw tab holds such ink. Held-apart non-digits alone on the Number tab (`python
benchmarks/not_digit.py`, 100 a kind) read with no digit: doodles 76% → 82%, letters 60% → 67%,
filled blobs 92% → 98%, marks 89% → 90% with the one-digit verdict; stray taps 4 → 2 of 300
read as a digit with the tap threshold. No number of the tuning or evaluation sets (600 each of
crowded, ordinary and hard numbers and pairs) read otherwise, but touching pairs the path had read
as one digit, wrong either way ("41" read "4" now reads nothing); lone digits are refused about
as often as the Draw tab refuses MNIST's (0.06%): 9 of the 20,000 of `benchmarks/number_reading.py`
(read right 99.445% → 99.40%).

The margin was chosen on numbers written with MNIST test digits of the tuning pool
(`tests.written_numbers.TUNING`: 600 hard numbers, 600 touching pairs, and 60 numbers each with a
doodle, mark or letter beside them; `python benchmarks/not_digit.py --number-margin`): at the
check's own threshold it left out groups in 0 hard numbers and 8 pairs (some of them a pair the
path had read as one digit: wrong either way), with the margin in 0 and 4; doodles, marks and
letters were left out 41, 46 and 35 times in 60 against 45, 49 and 36. With the check retrained on
filled blobs too (2026-12-06, 21:45 UTC), the same margin leaves out groups in 1 hard number and 6
pairs (3 and 9 at the threshold), and doodles, marks and letters 46, 48 and 39 times in 60.
"""

import numpy as np

from reader import not_digit
from reader.model import DigitModel
from reader.numbers import line_not_digits, line_reader, pairs, segment
from reader.preprocess import to_mnist

FILL = 0.6                    # a chosen digit's longer side against the square it is measured on
MARGIN = 3.0                  # log-odds under the check's threshold a digit in a number must score to be left out
SURE_ODDS = 15.0              # log-odds over the check's threshold a chosen digit seen alone must score ...
DIGIT_WIDTH = 0.45            # ... at this many line heights wide or more (a doodle's thin slices pass as "1"s) ...
SURE_DIGITS = 2               # ... for a group holding this many such digits never to be left out
ABUTTING = 0.05               # line heights: a digit refused alone this close to another, read as two, is kept
NEAR = 0.12                   # line heights between a left-out group and the nearest chosen digit within which
                              # the group is taken for the number's own touching digits (`two_in_one`)
APART = 0.2                   # line heights from every other chosen digit: a lone digit so far off is held to the
                              # check's own threshold, without `MARGIN` (finite: there is another digit)
LINE_SURE = -0.1              # log-probability over which the line reader's reading of a group apart, with as many digits, keeps it
LINE_DOUBT = 2.0              # nats by which the line reader must prefer its own reading of a group apart ...
PAIR_DOUBT = 0.2              # ... with the pair reader's probability of its two digits under this ...
PAIR_NEVER = 0.05             # ... or under this alone, for it to be unconfirmed (`unconfirmed`)
LINE_KEEPS = -1.0             # log-probability over which the second line reader's reading of a group left out,
                              # touching the number or all of it, with as many digits or more, keeps it (`read_as_digits`)


def refused(model: DigitModel, graph: segment.Oversegmentation, path: list[int],
            chosen_inputs: np.ndarray) -> list[list[int]]:
    """The chosen digits to leave out, not digits: lists of positions on `path` (0 = leftmost),
    one list per group of blobs (a doodle the path read as two digits is one list)."""
    check = not_digit.shipped()
    groups: list[tuple[set[int], list[int]]] = []       # (blobs, positions), left to right
    for position, index in enumerate(path):
        candidate = graph.candidates[index]
        blobs = {piece.blob for piece in graph.pieces[candidate.start:candidate.stop]}
        if groups and groups[-1][0] & blobs:
            groups[-1][0].update(blobs)
            groups[-1][1].append(position)
        else:
            groups.append((blobs, [position]))
    left_out = []
    for _, positions in groups:
        candidates = [graph.candidates[path[position]] for position in positions]
        odds, alone = scored_alone(check, candidates, chosen_inputs[positions])
        if len(positions) == 1:
            if alone[0] and not two_against_a_digit(graph, path, positions[0]):
                left_out.append(positions)
            elif odds[0] < 0 and APART * graph.line_height <= gap_to_the_others(graph, path, positions) < np.inf:
                left_out.append(positions)             # standing apart, it is judged as the Draw tab judges it
            continue
        apart = NEAR * graph.line_height <= gap_to_the_others(graph, path, positions) < np.inf
        sure = sure_digits(odds, candidates, graph.line_height) >= SURE_DIGITS  # the number's own touching digits
        if not apart and (sure or not alone.any()):
            continue
        whole = joined(candidates)
        model_input = to_mnist(whole, model.contract.image_size, model.contract.digit_box)
        if model_input is None:
            continue
        whole_odds = check.log_odds(model_input, not_digit.geometry(on_square(whole)))[0] - check.threshold
        if apart and whole_odds < -MARGIN and unconfirmed(graph, path, positions, chosen_inputs, model):
            left_out.append(positions)                 # one blob cut into "digits", away from the number
        elif not sure and alone.any() and whole_odds < 0:
            left_out.append(positions)
    return left_out


def read_as_digits(graph: segment.Oversegmentation, path: list[int], positions: list[int]) -> bool:
    """Whether a group left out (`refused`; `positions` on `path`), after the number reader chose
    again without two digits read as one (`two_in_one`), is the number's own digits after all: it stands within `NEAR` line heights of another chosen digit, or it is all the path
    chose, and the second line reader (`reader.numbers.line_not_digits`, who has seen letters, marks
    and doodles and reads them as nothing), reading the group's ink alone, reads as many digits or
    more with a log-probability over `LINE_KEEPS`. The check refuses touching digits it takes for
    one (a crowded "74847" whose touching "48" was read as one digit was read as nothing at all);
    a non-digit beside a number stands further off, and is judged as before."""
    gap = gap_to_the_others(graph, path, positions)
    if NEAR * graph.line_height <= gap < np.inf:
        return False
    line = line_reader.line_input(graph.ink, graph.ink_of([path[position] for position in positions]),
                                  graph.line_height)
    if line is None:
        return False
    log_probabilities = line_not_digits.shipped().log_probabilities(line.pixels)
    best = line_reader.best_text(log_probabilities)
    return len(best) >= len(positions) and line_reader.log_likelihoods(log_probabilities, [best])[0] > LINE_KEEPS


def unconfirmed(graph: segment.Oversegmentation, path: list[int], positions: list[int],
                chosen_inputs: np.ndarray, model: DigitModel) -> bool:
    """Whether a group of digits the path cut from one blob (`positions` on `path`, two or more),
    which the check refuses as a whole and which stands `NEAR` line heights or more from every
    other chosen digit (`refused`: digits that touch mostly stand among touching neighbours), is a
    letter, mark or doodle rather than the number's own touching digits: it reads as "1"s only (a letter's
    strokes: "H" read "11") or what else reads digits does not confirm it. The line reader reads
    the group's ink alone: when it reads as many digits with a log-probability over `LINE_SURE`,
    they are digits, whatever it reads them as (a crowded "02" the path read "62"); else it doubts
    when it finds another reading `LINE_DOUBT` nats likelier than the path's, which is enough for
    three digits or more; for two, the pair reader must also give the path's pair less than
    `PAIR_DOUBT`, or less than `PAIR_NEVER` whatever the line reader says."""
    labels = model.probabilities(chosen_inputs[positions]).argmax(axis=1)
    text = "".join(model.contract.class_labels[k] for k in labels)
    if set(text) == {"1"}:
        return True
    chosen = [path[position] for position in positions]
    line_doubts = False
    line = line_reader.line_input(graph.ink, graph.ink_of(chosen), graph.line_height)
    if line is not None:
        log_probabilities = line_reader.shipped().log_probabilities(line.pixels)
        other = line_reader.best_text(log_probabilities)
        mine, theirs = line_reader.log_likelihoods(log_probabilities, [text, other])
        if len(other) == len(text) and theirs > LINE_SURE:
            return False                               # as many digits, surely: touching digits, some misread
        line_doubts = theirs - mine > LINE_DOUBT
    if len(positions) > 2:
        return line_doubts
    pair = pairs.pair_input(joined([graph.candidates[index] for index in chosen]))
    if pair is None:
        return line_doubts
    said = pairs.shipped().probabilities(pair[None])[0][pairs.class_index(text)]
    return said < PAIR_NEVER or (line_doubts and said < PAIR_DOUBT)


def refused_alone(check: not_digit.NotDigitCheck, candidates: list[segment.Candidate], inputs: np.ndarray) -> np.ndarray:
    """Per candidate, whether the check refuses it seen alone: `MARGIN` under its threshold (under
    its `tap_threshold` for ink that is only taps or dots, `reader.not_digit.short`), or ink
    without a pen stroke (`reader.not_digit.strokeless`)."""
    return scored_alone(check, candidates, inputs)[1]


def scored_alone(check: not_digit.NotDigitCheck, candidates: list[segment.Candidate],
                 inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate seen alone: the check's log-odds over its threshold, and `refused_alone`'s verdict."""
    shapes = np.stack([not_digit.geometry(on_square(c.ink)) for c in candidates])
    thresholds = np.array([check.tap_threshold if not_digit.short(s) else check.threshold for s in shapes])
    log_odds = check.log_odds(inputs, shapes)
    return log_odds - check.threshold, (log_odds < thresholds - MARGIN) | [not_digit.strokeless(s) for s in shapes]


def sure_digits(odds: np.ndarray, candidates: list[segment.Candidate], line_height: float) -> int:
    """How many of a group's digits the check, seeing each alone, takes surely for digits (`odds`,
    `scored_alone`'s, at least `SURE_ODDS` over its threshold) that are also digit-wide
    (`DIGIT_WIDTH` line heights)."""
    widths = np.array([(c.box[2] - c.box[0]) / line_height for c in candidates])
    return int(np.count_nonzero((odds >= SURE_ODDS) & (widths >= DIGIT_WIDTH)))


def two_against_a_digit(graph: segment.Oversegmentation, path: list[int], position: int) -> bool:
    """Whether the chosen digit at `position` abuts another chosen digit (`ABUTTING` line heights
    or closer) and the pair reader reads it as two digits (`reader.numbers.pairs.pairs_in`): two
    touching digits of a crowded number, read as one, that the check refuses as it refuses any
    pair; the pair reader then reads them as two."""
    candidate = graph.candidates[path[position]]
    if gap_to_the_others(graph, path, [position]) > ABUTTING * graph.line_height:
        return False
    return bool(pairs.pairs_in([candidate], graph.line_height))


def two_in_one(graph: segment.Oversegmentation, path: list[int], chosen_inputs: np.ndarray,
               left_out: list[list[int]]) -> frozenset[int]:
    """The chosen candidates (indices into `graph.candidates`) that are likely two touching digits
    read as one: in a group of several digits sharing blobs that `refused` left out, written within
    `NEAR` line heights of another chosen digit, those the check refuses alone. Touching digits are
    refused together when one of them is really a pair (crowded tuning numbers: 12 of 600 lost a
    group so); a doodle or a letter beside a number, or alone, is further apart."""
    check = not_digit.shipped()
    suspects = set()
    for positions in left_out:
        if len(positions) < 2 or gap_to_the_others(graph, path, positions) > NEAR * graph.line_height:
            continue
        candidates = [graph.candidates[path[position]] for position in positions]
        alone = refused_alone(check, candidates, chosen_inputs[positions])
        suspects.update(path[position] for position, refused in zip(positions, alone) if refused)
    return frozenset(suspects)


def gap_to_the_others(graph: segment.Oversegmentation, path: list[int], positions: list[int]) -> float:
    """Pixels between the joint box of the chosen digits at `positions` and the nearest other chosen
    digit, side to side (0 where they overlap); infinite when there is no other."""
    x0, _, x1, _ = joint_box([graph.candidates[path[position]] for position in positions])
    return min((max(graph.candidates[index].box[0] - x1, x0 - graph.candidates[index].box[2], 0)
                for other, index in enumerate(path) if other not in positions), default=float("inf"))


def on_square(ink: np.ndarray) -> np.ndarray:
    """`ink` in the middle of a square it fills `FILL` of (the longer way)."""
    side = int(np.ceil(max(ink.shape) / FILL))
    square = np.zeros((side, side), np.float32)
    top, left = (side - ink.shape[0]) // 2, (side - ink.shape[1]) // 2
    square[top:top + ink.shape[0], left:left + ink.shape[1]] = ink
    return square


def joint_box(candidates: list[segment.Candidate]) -> tuple[int, int, int, int]:
    return box_around([c.box for c in candidates])


def box_around(boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    """The smallest (x0, y0, x1, y1) box holding all of `boxes`."""
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def joined(candidates: list[segment.Candidate]) -> np.ndarray:
    """The ink of `candidates` together, in their joint box."""
    x0, y0, x1, y1 = joint_box(candidates)
    ink = np.zeros((y1 - y0, x1 - x0), np.float32)
    for c in candidates:
        region = ink[c.box[1] - y0:c.box[3] - y0, c.box[0] - x0:c.box[2] - x0]
        np.maximum(region, c.ink, out=region)
    return ink
