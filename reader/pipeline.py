"""From what a user gives (canvas, file, array) to what the page shows: one digit or a number.

decode (reader.images) → MNIST-style preprocessing (reader.preprocess; for a number, the stages of
reader.numbers) → ONNX Runtime (reader.model) → explanation (reader.explain). The page, the API and
`python -m demo.predict` all call these functions (one digit, one digit by several models, a
number), so they cannot drift apart.
"""

import time
from dataclasses import dataclass, field

import numpy as np

from reader import explain, not_digit
from reader.errors import InputError
from reader.images import load_image
from reader.model import DigitModel
from reader.numbers import best_path, doubt, line_not_digits, line_reader, not_digits, pairs, segment, slant, whole_digit
from reader.numbers.candidates import CandidateReadings
from reader.numbers.reread import settle
from reader.preprocess import INK_THRESHOLD, ink_bbox, ink_blobs, ink_map, to_mnist

SURE_DIGIT = 0.99     # a chosen digit on a wide blob read less surely than this ...
SURE_WHOLE = 2.0      # ... or whose whole-digit log-odds are under this: the bent cuts are read too


@dataclass
class ModelAnswer:
    """What the model says about one 28×28 input."""
    label: str
    confidence: float
    sure: bool
    probabilities: dict[str, float]
    model_input: np.ndarray          # the 28×28 the model received

    @classmethod
    def of(cls, model: DigitModel, mnist: np.ndarray, probabilities: np.ndarray, **more):
        """The answer for `mnist` from the model's `probabilities`, with this class's `more` fields."""
        labels = model.contract.class_labels
        best = int(probabilities.argmax())
        confidence = float(probabilities[best])
        return cls(labels[best], confidence, confidence >= model.contract.uncertain_below,
                   {label: float(p) for label, p in zip(labels, probabilities)}, mnist, **more)


@dataclass
class DigitReading(ModelAnswer):
    heatmap: np.ndarray | None       # RGB overlay of the occlusion map
    milliseconds: float
    digit: bool = True               # False: the not-digit check (reader.not_digit) refused it ...
    not_digit_reason: str | None = None   # ... and this says why; then `sure` is False too


@dataclass
class NumberDigit(ModelAnswer):
    """One digit of a number, as read on the best path (its time is the number's); `sure` is False
    for a digit shown as a guess (`reader.numbers.doubt`)."""
    box: tuple[int, int, int, int]   # (x0, y0, x1, y1) in `NumberReading.ink`


@dataclass
class NumberReading:
    text: str                        # the best guess: every digit's label, left to right
    digits: list[NumberDigit]        # left to right; empty when the picture holds no digit
    ink: np.ndarray                  # the ink map that was read (the boxes are in its pixels): straightened
    milliseconds: float              # for the whole number: one model call reads all its digits
    not_digits: list[tuple[int, int, int, int]] = field(default_factory=list)  # boxes of ink left out: not a digit
    straightened: float = 0.0        # the lean taken away (columns per row, reader.numbers.slant); 0: none

    @property
    def boxes(self) -> list[tuple[int, int, int, int]]:
        return [digit.box for digit in self.digits]

    @property
    def doubtful(self) -> list[int]:
        """Positions (0 = leftmost) of the digits shown as guesses (`reader.numbers.doubt`)."""
        return [position for position, digit in enumerate(self.digits) if not digit.sure]


def _reading(model: DigitModel, mnist: np.ndarray, probabilities: np.ndarray, heat: bool, started: float,
             verdict: not_digit.Verdict):
    target = int(probabilities.argmax())
    heatmap = explain.heatmap_picture(model, mnist, target) if heat else None
    reading = DigitReading.of(model, mnist, probabilities, heatmap=heatmap,
                              milliseconds=(time.perf_counter() - started) * 1000,
                              digit=verdict.digit, not_digit_reason=verdict.reason)
    reading.sure = reading.sure and verdict.digit
    return reading


def digit_parts(model: DigitModel, source) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple] | None:
    """What reading one digit computes: the ink map, the 28×28 model input, the model's
    probabilities and the ink's blobs (`ink_blobs`, which the not-digit check measures too);
    None for an empty canvas or an image with no ink."""
    parts = ink_and_input(source, model.contract.image_size, model.contract.digit_box)
    if parts is None:
        return None
    ink, blobs, mnist = parts
    return ink, mnist, model.probabilities(mnist[None])[0], blobs


def ink_and_input(source, image_size: int, digit_box: int) -> tuple[np.ndarray, tuple, np.ndarray] | None:
    """The ink map of `source`, its blobs (`ink_blobs`) and the model input for that contract;
    None for an empty canvas or an image with no ink."""
    if source is None:
        return None
    ink = ink_map(load_image(source))
    blobs, mnist = blobs_and_input(ink, image_size, digit_box)
    return None if mnist is None else (ink, blobs, mnist)


def blobs_and_input(ink: np.ndarray, image_size: int, digit_box: int) -> tuple[tuple, np.ndarray | None]:
    """An ink map's blobs (`ink_blobs`) and its model input for that contract (None: no ink)."""
    blobs = ink_blobs(ink)
    return blobs, to_mnist(ink, image_size, digit_box, blobs=blobs)


def read_digit(model: DigitModel, source, heatmap: bool = True) -> DigitReading | None:
    """Classify one digit, or say it is not one (`reader.not_digit`: a tap, a scribble, a mark, a
    letter, and why); None for an empty canvas or an image with no ink."""
    started = time.perf_counter()
    parts = digit_parts(model, source)
    if parts is None:
        return None
    ink, mnist, probabilities, blobs = parts
    verdict = not_digit.shipped().verdict(ink, mnist, blobs)
    return _reading(model, mnist, probabilities, heatmap, started, verdict)


def refused_as_one_digit(model: DigitModel, ink: np.ndarray) -> bool:
    """Whether `read_digit` would call the picture whose ink map is `ink` not a digit (the Draw
    tab's verdict, at the not-digit check's own threshold): what `read_number` asks of a picture
    it reads as one digit (`reader.numbers.not_digits`)."""
    blobs, mnist = blobs_and_input(ink, model.contract.image_size, model.contract.digit_box)
    return mnist is not None and not not_digit.shipped().verdict(ink, mnist, blobs).digit


def read_digit_by_each(models: dict[str, DigitModel], source) -> dict[str, DigitReading] | None:
    """One picture read by several models, for comparing them: the same ink map and, for models
    that share an input contract, the same 28×28 input; each model's own probabilities, "not sure"
    threshold; one not-digit verdict per input (no heatmaps). None for an empty canvas or no ink."""
    if source is None:
        return None
    ink = ink_map(load_image(source))
    blobs = ink_blobs(ink)
    inputs: dict[tuple, np.ndarray | None] = {}
    verdicts: dict[tuple, not_digit.Verdict] = {}
    readings = {}
    for key, model in models.items():
        started = time.perf_counter()
        contract = (model.contract.image_size, model.contract.digit_box)
        if contract not in inputs:
            inputs[contract] = to_mnist(ink, *contract, blobs=blobs)
        mnist = inputs[contract]
        if mnist is None:
            return None
        probabilities = model.probabilities(mnist[None])[0]
        if contract not in verdicts:
            verdicts[contract] = not_digit.shipped().verdict(ink, mnist, blobs)
        readings[key] = _reading(model, mnist, probabilities, False, started, verdicts[contract])
    return readings


def read_number(model: DigitModel, source, max_digits: int = 40) -> NumberReading | None:
    """Read a written number, left to right; None when the picture holds no ink (no digits, when
    all its ink is specks and dots).

    Recognition-based segmentation, one stage a module of `reader.numbers`: over-segment the ink
    into candidate digits (`segment`); read every candidate, preprocessed like MNIST, in one batch
    (`candidates`); choose the digits as the best path (`best_path`, with the `whole_digit` check);
    when that path doubts a digit on a blob wide enough to be two (`doubted`), over-segment again
    with bent cuts, read and choose again, and keep the path that scores higher (`best_reading`);
    when the chosen path still doubts such a digit and the number leans much more or less than
    MNIST's digits, it is read that way again straightened (`slant`), and the reading that scores
    higher kept; re-read the
    chosen digits read unsurely from the full-size ink and settle the path (`reread`); leave out
    the chosen "digits" that are not digits at all, a doodle or a mark beside the number
    (`not_digits`), but when what is left out is touching digits close to the others, choose again
    without the one refused alone, likely two digits read as one (`not_digits.two_in_one`), and
    never leaving out the number's own touching digits (`not_digits.sure_digits`,
    `not_digits.two_against_a_digit`, `not_digits.read_as_digits`); a
    picture read as one digit gets the Draw tab's not-digit verdict (`refused_as_one_digit`); a
    chosen digit wide enough to be two that the pair reader reads as two touching digits becomes
    those two (`pairs`); the line reader reads the chosen digits' ink whole, without cuts, and has
    its word (`second_opinion`); a second line reader, who has seen non-digits, leaves out the
    digits it finds are none (`line_not_digits`: a letter's strokes read as "1"s).
    Raises `InputError` for more than `max_digits` digits.
    """
    started = time.perf_counter()
    if source is None:
        return None
    ink = ink_map(load_image(source))
    if not (ink > INK_THRESHOLD).any():
        return None
    picture = ink                                      # as the Draw tab would read it
    check, readings = whole_digit.shipped(), CandidateReadings(model)
    graph, choice, inputs, probabilities = best_reading(ink, readings, check)
    upright, straightened = slant.upright(ink) if doubted(graph, choice, probabilities) else (ink, 0.0)
    if straightened:                                   # italics: read again, leaning as MNIST's digits
        again = best_reading(upright, readings, check)
        if again[1].score > choice.score:
            (graph, choice, inputs, probabilities), ink = again, upright
        else:
            straightened = 0.0
    at_most(max_digits, choice.path)
    path, chosen_inputs, probabilities = settle(model, ink, graph, inputs, probabilities, check,
                                                choice.path)               # re-read the doubtful, settle
    at_most(max_digits, path)
    not_digit_groups = not_digits.refused(model, graph, path, chosen_inputs)  # a doodle or mark beside it
    path, chosen_inputs, probabilities, not_digit_groups = without_two_in_one(
        model, ink, graph, inputs, check, max_digits, (path, chosen_inputs, probabilities, not_digit_groups))
    not_digit_groups = [group for group in not_digit_groups   # the second line reader reads them as digits
                        if not not_digits.read_as_digits(graph, path, group)]
    if len(path) == 1 and not not_digit_groups and refused_as_one_digit(model, picture):
        not_digit_groups = [[0]]                       # one digit alone: the Draw tab's verdict
    left_out = {position for group in not_digit_groups for position in group}
    kept = [position for position in range(len(path)) if position not in left_out]
    two_digits = {kept[pair.position]: pair for pair in pairs.pairs_in(   # two touching digits read as one
        [graph.candidates[path[p]] for p in kept], graph.line_height)}
    digits = []
    for position in kept:
        candidate = graph.candidates[path[position]]
        if position in two_digits:
            digits += pair_digits(model, candidate, two_digits[position])
        else:
            digits.append(NumberDigit.of(model, chosen_inputs[position], probabilities[path[position]], box=candidate.box))
    line = line_reader.line_input(graph.ink, graph.ink_of([path[p] for p in kept]), graph.line_height)
    digits = second_opinion(model, line, digits)       # the line read whole
    at_most(max_digits, digits)
    no_digits = line_not_digits.left_out(line_not_digits.shipped(), line, "".join(d.label for d in digits),
                                         [d.box for d in digits])
    guess_below = doubt.doubtful_below(model)
    for digit in digits:  # the doubt mark: chosen on validation numbers, not the model's own threshold
        digit.sure = digit.confidence >= guess_below
    boxes = [not_digits.joint_box([graph.candidates[path[p]] for p in group]) for group in not_digit_groups]
    boxes += [not_digits.box_around([digits[p].box for p in run]) for run in runs(no_digits)]
    digits = [digit for position, digit in enumerate(digits) if position not in no_digits]
    return NumberReading("".join(d.label for d in digits), digits, graph.ink, (time.perf_counter() - started) * 1000,
                         boxes, straightened)


def runs(positions: list[int]) -> list[list[int]]:
    """Sorted `positions` in runs of neighbours: [0, 1, 4] → [[0, 1], [4]]."""
    found = []
    for position in sorted(positions):
        if found and found[-1][-1] == position - 1:
            found[-1].append(position)
        else:
            found.append([position])
    return found


def second_opinion(model: DigitModel, line: line_reader.Line | None, digits: list[NumberDigit]) -> list[NumberDigit]:
    """`digits` as the line reader (`reader.numbers.line_reader`), reading the same ink whole,
    would have them. Its `line` is the ink of the chosen digits only, at the size the cutter saw it
    (what the path skipped as noise or left out as not a digit is not read again: a doodle beside
    the number stays out). Its own reading replaces
    the path's when it finds it `line_reader.SWITCH_ABOVE` likelier — `line_reader.SAME_LENGTH_ABOVE`
    when both have as many digits (`line_digits`), but never more digits than one where the path
    read one digit in ink that is one digit wide (`slant.one_digit_wide`: the line reader read a
    "6" leaning 0.6 columns per row as "16"). Else, when both have as many digits but differ, each
    digit's probabilities become the product of its own and, raised to `line_reader.WEIGHT`, the
    line reader's for that place (`line_reader.digit_probabilities`, the others as read): a digit
    changes where the line reader is sure enough of another and the model unsure enough of it.
    When its reading is the path's, that product is skipped (it changed no digit of the 2,186
    tuning numbers so read, and costs more than the reading itself: benchmarks/second_opinion.py)."""
    text = "".join(digit.label for digit in digits)
    if not text or line is None:
        return digits
    log_probabilities = line_reader.shipped().log_probabilities(line.pixels)
    other = line_reader.best_text(log_probabilities)
    if len(text) == 1 and len(other) > 1 and slant.one_digit_wide(line.ink):
        other = text                                   # narrow ink read as one digit is one (as `slant` has it)
    if other and other != text:
        mine, theirs = line_reader.log_likelihoods(log_probabilities, [text, other])
        if theirs - mine >= (line_reader.SAME_LENGTH_ABOVE if len(other) == len(text) else line_reader.SWITCH_ABOVE):
            return line_digits(model, line, log_probabilities, other, digits)
    if len(other) != len(text) or other == text:
        return digits                                  # no place to weigh: other lengths, or it agrees
    theirs = line_reader.digit_probabilities(log_probabilities, text)
    mended = []
    for digit, line_p in zip(digits, theirs):
        mine = np.array([digit.probabilities[label] for label in model.contract.class_labels])
        joint = np.exp(np.log(np.maximum(mine, 1e-30)) + line_reader.WEIGHT * np.log(np.maximum(line_p, 1e-30)))
        joint /= joint.sum()
        changed = model.contract.class_labels[int(joint.argmax())] != digit.label
        mended.append(NumberDigit.of(model, digit.model_input, joint.astype(np.float32), box=digit.box) if changed else digit)
    return mended


def line_digits(model: DigitModel, line: line_reader.Line, log_probabilities: np.ndarray, text: str,
                digits: list[NumberDigit]) -> list[NumberDigit]:
    """The digits of the line reader's reading `text`, each with the line reader's probabilities
    for it (`line_reader.digit_probabilities`): where the path read as many digits, in their boxes
    and pictures (a digit read alike keeps its own reading); else each in the columns around the
    steps it was read on, halfway to its neighbours'."""
    probabilities = line_reader.digit_probabilities(log_probabilities, text)
    if len(text) == len(digits):
        return [digit if digit.label == label else
                NumberDigit.of(model, digit.model_input, p, box=digit.box)
                for digit, label, p in zip(digits, text, probabilities)]
    centres = [line.ink_columns(step) for step in line_reader.digit_steps(log_probabilities)]
    bounds = [0] + [round((a + b) / 2) for a, b in zip(centres, centres[1:])] + [line.ink.shape[1]]
    size = model.contract.image_size
    found = []
    for (left, right), p in zip(zip(bounds, bounds[1:]), probabilities):
        ink = np.zeros_like(line.ink)
        ink[:, left:right] = line.ink[:, left:right]
        box = ink_bbox(ink, INK_THRESHOLD)
        mnist = None if box is None else to_mnist(ink, size, model.contract.digit_box)
        found.append(NumberDigit.of(model, np.zeros((size, size), np.float32) if mnist is None else mnist, p,
                                    box=box or (left, 0, max(left + 1, right), line.ink.shape[0])))
    return found


def pair_digits(model: DigitModel, candidate: segment.Candidate, pair: pairs.Pair) -> list[NumberDigit]:
    """The two digits of a chosen candidate the pair reader reads as two (`reader.numbers.pairs`):
    each with the reader's probabilities for it (given two), its ink's box on either side of
    `pairs.split_column` and, as its picture, that ink preprocessed as a digit."""
    column = pairs.split_column(candidate.ink)
    x0, y0 = candidate.box[:2]
    size = model.contract.image_size
    digits = []
    for ink, left, probabilities in zip((candidate.ink[:, :column], candidate.ink[:, column:]), (0, column),
                                        pairs.marginals(pair.probabilities)):
        inked = ink_bbox(ink, INK_THRESHOLD)
        box = candidate.box if inked is None else (x0 + left + inked[0], y0 + inked[1], x0 + left + inked[2], y0 + inked[3])
        mnist = None if inked is None else to_mnist(ink, size, model.contract.digit_box)
        digits.append(NumberDigit.of(model, np.zeros((size, size), np.float32) if mnist is None else mnist,
                                     probabilities.astype(np.float32), box=box))
    return digits


def without_two_in_one(model: DigitModel, ink: np.ndarray, graph: segment.Oversegmentation, inputs: np.ndarray,
                       check, max_digits: int, settled: tuple) -> tuple:
    """`settled` — (path, its digits' inputs, every candidate's probabilities, the groups left out
    as not digits) — or, when a group left out is touching digits close to the others
    (`not_digits.two_in_one`), the same chosen and settled again without the candidates refused
    alone (likely two digits read as one), if that leaves out fewer digits."""
    path, chosen_inputs, probabilities, left_out = settled
    merged = not_digits.two_in_one(graph, path, chosen_inputs, left_out)
    if not merged:
        return settled
    again = best_path.choose_path(graph, inputs, probabilities, check, excluded=merged)
    if not np.isfinite(again.score):
        return settled
    at_most(max_digits, again.path)
    again_path, again_inputs, again_probabilities = settle(model, ink, graph, inputs, probabilities, check,
                                                           again.path, excluded=merged)
    at_most(max_digits, again_path)
    again_left_out = not_digits.refused(model, graph, again_path, again_inputs)
    if sum(map(len, again_left_out)) < sum(map(len, left_out)):
        return again_path, again_inputs, again_probabilities, again_left_out
    return settled


def best_reading(ink: np.ndarray, readings: CandidateReadings, check) -> tuple:
    """(graph, choice, inputs, probabilities): `ink` over-segmented, every candidate read, the best
    path chosen; when that path doubts a digit on a wide blob (`doubted`), over-segmented again
    with bent cuts, read and chosen again, keeping the path that scores higher."""
    graph = segment.oversegment(ink)                                       # over-segment
    inputs, probabilities = readings.of(graph)                             # read the candidates
    choice = best_path.choose_path(graph, inputs, probabilities, check)    # the best path
    bent = segment.with_bent_cuts(graph) if doubted(graph, choice, probabilities) else None
    if bent is not None:                                                   # doubted: again, with bent cuts
        bent_inputs, bent_probabilities = readings.of(bent)
        bent_choice = best_path.choose_path(bent, bent_inputs, bent_probabilities, check)
        if bent_choice.score > choice.score:
            return bent, bent_choice, bent_inputs, bent_probabilities
    return graph, choice, inputs, probabilities


def at_most(max_digits: int, path: list) -> None:
    """Refuse, in a sentence, a path (or reading) of more than `max_digits` digits."""
    if len(path) > max_digits:
        raise InputError(f"The picture holds {len(path)} digits; write at most {max_digits}.")


def doubted(graph: segment.Oversegmentation, choice: best_path.Choice, probabilities: np.ndarray) -> bool:
    """Whether a chosen digit that holds (part of) a blob at least `segment.BENT_CUT_MIN_WIDTH`
    line heights wide is read less surely than `SURE_DIGIT`, or the whole-digit check gives it
    log-odds under `SURE_WHOLE`: only then may bent cuts read the number otherwise (on the tuning
    numbers they never changed a reading this sure, which are 38% of those with a wide blob)."""
    wide = graph.blobs.wide()
    for index in choice.path:
        candidate = graph.candidates[index]
        if any(graph.pieces[i].blob in wide for i in range(candidate.start, candidate.stop)) and (
                probabilities[index].max() < SURE_DIGIT or choice.whole_digit_log_odds[index] < SURE_WHOLE):
            return True
    return False
