"""reader.numbers.line_reader: the line reader, a second opinion that reads a number without cutting it.

Measured on numbers written with MNIST test digits 5,000–9,999 (the reader learnt from training
digits only). ~40 s on the 2-core machine.
"""

import itertools

import numpy as np
import pytest

from reader import pipeline
from reader.model import DigitModel
from reader.numbers import line_reader, segment
from reader.preprocess import ink_map
from reader.runs import SHIPPED_MODEL
from tests import written_numbers as written
from tests.helpers import line_reader_off

MIN_FIXED, MAX_BROKEN = 2, 0     # of 200 crowded numbers: measured 2 fixed, 0 broken


@pytest.fixture(scope="module")
def model():
    return DigitModel(SHIPPED_MODEL, providers="cpu", threads=1)


def line_of(picture) -> line_reader.Line:
    """What the line reader sees of a whole picture: its blobs at the cutter's working height."""
    blobs = segment.line_blobs(ink_map(picture))
    return line_reader.line_input(blobs.ink, blobs.labels, blobs.height)


def test_the_likelihood_of_a_reading_sums_all_its_alignments():
    """Against brute force: every sequence of 5 steps whose repeats merged and blanks dropped spell
    the text, their probabilities summed."""
    rng = np.random.default_rng(0)
    log_p = np.log(rng.dirichlet(np.full(11, 0.3), size=5))

    def by_enumeration(text):
        wanted = [1 + int(c) for c in text]
        total = 0.0
        for sequence in itertools.product(range(11), repeat=len(log_p)):
            merged = [k for i, k in enumerate(sequence) if i == 0 or k != sequence[i - 1]]
            if [k for k in merged if k != line_reader.BLANK] == wanted:
                total += np.exp(sum(log_p[t, k] for t, k in enumerate(sequence)))
        return np.log(total)

    texts = ["", "3", "33", "12", "121", "5"]
    assert np.allclose(line_reader.log_likelihoods(log_p, texts), [by_enumeration(t) for t in texts])
    assert line_reader.log_likelihoods(log_p, ["123456"])[0] == -np.inf        # 6 digits need 6 steps at least
    assert line_reader.log_likelihoods(log_p[:3], ["11"])[0] == pytest.approx(   # a repeat needs a blank between
        log_p[0, 2] + log_p[1, 0] + log_p[2, 2])


def test_the_best_reading_merges_repeats_and_drops_blanks():
    steps = [0, 4, 4, 0, 4, 6, 6, 6, 0]                 # "3", blank, "3", "5"
    log_p = np.log(np.full((len(steps), 11), 0.01))
    log_p[np.arange(len(steps)), steps] = np.log(0.9)
    assert line_reader.best_text(log_p) == "335"
    assert line_reader.digit_steps(log_p) == [1.5, 4.0, 6.0]
    probabilities = line_reader.digit_probabilities(log_p, "335")
    assert probabilities.shape == (3, 10) and np.allclose(probabilities.sum(axis=1), 1)
    assert list(probabilities.argmax(axis=1)) == [3, 3, 5] and probabilities.min() < 0.01 < 0.9 < probabilities.max()


def test_the_input_brings_the_line_to_the_digit_height_and_leaves_out_what_is_not_kept():
    ink = np.zeros((100, 300), np.float32)
    ink[20:80, 20:60] = 1.0                            # two "digits" 60 px tall ...
    ink[20:80, 100:140] = 1.0
    ink[20:80, 220:260] = 1.0                          # ... and a third, not kept
    blobs = np.zeros(ink.shape, np.int32)
    blobs[ink > 0] = 1
    blobs[:, 200:] = 0
    line = line_reader.line_input(ink, blobs, 60.0)
    assert line.pixels.shape[0] == line_reader.HEIGHT and line.pixels.shape[1] % line_reader.STRIDE == 0
    inked_columns = np.flatnonzero(line.pixels.max(axis=0) > 0.5)
    assert np.count_nonzero(line.pixels.max(axis=1) > 0.5) == line_reader.LINE_HEIGHT
    assert inked_columns[0] == line_reader.MARGIN and inked_columns[-1] < line_reader.MARGIN + 41   # 120 px → 40
    assert line.ink[:, 200:].max() == 0 and line.ink_columns(-0.5 + line_reader.MARGIN / line_reader.STRIDE) == 20
    assert line_reader.line_input(ink, np.zeros_like(blobs), 60.0) is None


def test_the_reader_reads_crowded_numbers_it_never_saw(mnist):
    """200 crowded numbers of the evaluation pool, read by the line reader alone (its best reading)."""
    _, (images, labels) = mnist
    reader = line_reader.shipped()
    crowded = written.crowded_numbers(images, labels, 200, seed=41)
    read = [line_reader.best_text(reader.log_probabilities(line_of(number.image).pixels)) for number in crowded]
    assert np.mean([r == number.text for r, number in zip(read, crowded)]) >= 0.9


def test_the_number_reader_takes_the_line_readers_reading_only_when_it_is_far_likelier(model, mnist):
    """200 crowded numbers of the evaluation pool, read with the second opinion and without it:
    the numbers it mends and those it breaks."""
    _, (images, labels) = mnist
    crowded = written.crowded_numbers(images, labels, 200, seed=41)
    with_it = [pipeline.read_number(model, number.image) for number in crowded]
    with line_reader_off():
        without = [pipeline.read_number(model, number.image) for number in crowded]
    fixed = [k for k, number in enumerate(crowded) if with_it[k].text == number.text != without[k].text]
    broken = [k for k, number in enumerate(crowded) if without[k].text == number.text != with_it[k].text]
    assert len(fixed) >= MIN_FIXED and len(broken) <= MAX_BROKEN, (fixed, broken)


@pytest.mark.parametrize("index, text, path_alone", [(19, "03297", "05297"), (113, "059", "0519"), (170, "34175", "3475")],
                         ids=["a digit misread", "a digit too many", "a digit missed"])
def test_the_line_reader_mends_crowded_numbers_the_path_misread(model, mnist, index, text, path_alone):
    """Crowded numbers of the evaluation pool (`crowded_numbers(…, seed=16)`, the benchmark's) that
    the path reads wrong and the line reader right: a substitution (its probabilities multiplied
    in), an insertion and a deletion (its own reading, each digit boxed in the columns it was read
    on: left to right, inside the picture, each box holding ink)."""
    _, (images, labels) = mnist
    number = written.crowded_numbers(images, labels, index + 1, seed=16)[index]
    assert number.text == text
    with line_reader_off():
        assert pipeline.read_number(model, number.image).text == path_alone
    reading = pipeline.read_number(model, number.image)
    assert reading.text == text
    boxes = reading.boxes
    assert [box[0] for box in boxes] == sorted(box[0] for box in boxes)
    height, width = reading.ink.shape
    for x0, y0, x1, y1 in boxes:
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height and reading.ink[y0:y1, x0:x1].max() > 0.5
    assert all(d.model_input.shape == (28, 28) and d.model_input.max() > 0 for d in reading.digits)
