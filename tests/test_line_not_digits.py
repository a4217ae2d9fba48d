"""The second line reader, who has seen non-digits: which digits it leaves out
(reader/numbers/line_not_digits.py), on its own and in the Number reader."""

import numpy as np
import pytest

from reader.model import DigitModel
from reader.numbers import line_not_digits
from reader.numbers.line_not_digits import matched
from reader.runs import SHIPPED_MODEL
from tests import non_digits


@pytest.fixture(scope="module")
def model():
    return DigitModel(SHIPPED_MODEL, "cpu", 1)


def test_the_digits_it_reads_are_matched_in_order_to_the_nearest_same_digits():
    centres = [10, 30, 50, 70, 90, 110]
    assert matched("738074", centres, "7380", [11, 29, 52, 69]) == {0, 1, 2, 3}    # the "74" after it left out
    assert matched("738074", centres, "74", [92, 108]) == {4, 5}                   # the same digits, by where they are
    assert matched("2017", [10, 30, 50, 70], "207", [10, 30, 70]) == {0, 1, 3}
    assert matched("11", [10, 30], "1", [28]) == {1}
    assert matched("1111", [10, 30, 50, 70], "", []) == set()


def test_a_reading_that_is_not_the_digits_with_some_taken_out_matches_nothing():
    assert matched("2017", [10, 30, 50, 70], "72", [10, 50]) is None      # out of order
    assert matched("2017", [10, 30, 50, 70], "29", [10, 50]) is None      # a digit not read


def test_a_reading_of_one_digit_is_left_to_the_draw_tabs_verdict():
    """One digit read is never left out here (the Draw tab's check has its say on it): not even asked."""
    class Unasked:
        def log_probabilities(self, pixels):
            raise AssertionError("the reader was asked about one digit")
    assert line_not_digits.left_out(Unasked(), None, "7", [(0, 0, 10, 20)]) == []


def test_letters_and_marks_alone_on_the_number_tab_read_as_no_digit(model, mnist):
    """Held-apart letters and marks (20 of each, `tests.non_digits`' evaluation split) drawn on the
    Number tab: at most 3 of 40 read as digits (measured 1, a letter read "0"; 10 before this reader
    had its say: letters cut into strokes read "11", "111", "17", a "+" read "77"), and each read as
    no digit shows where the ink it left out is."""
    from reader.pipeline import read_number
    _, (images, labels) = mnist
    read_as_digits = []
    for kind, picture in non_digits.non_digits(non_digits.EVALUATION, 20, images, labels, kinds=("letters", "marks")):
        reading = read_number(model, picture)
        if reading.digits:
            read_as_digits.append((kind, reading.text))
        else:
            assert reading.not_digits, kind
    assert len(read_as_digits) <= 3, read_as_digits


def test_a_number_drawn_with_an_even_pen_keeps_its_digits(model, mnist):
    """Ordinary numbers of MNIST test digits drawn with an even pen, as the sketchpad draws (the ink
    above a level, full black): every non-digit this reader saw was drawn so, and a reader trained
    without such digits read "2017" drawn so as "7". None of 30 loses a digit here."""
    from reader.pipeline import read_number
    from reader.preprocess import ink_map
    from tests.written_numbers import ordinary_numbers
    _, (images, labels) = mnist
    rng = np.random.default_rng(17)
    for number in ordinary_numbers(images, labels, 30, seed=17):
        even = non_digits.ink_picture((ink_map(number.image) > rng.uniform(0.3, 0.8)).astype(np.float32))
        reading = read_number(model, even)
        assert len(reading.text) >= len(number.text), (number.text, reading.text)


def test_only_a_lone_first_or_last_digit_standing_apart_is_at_an_end():
    boxes = [(0, 0, 20, 40), (40, 0, 60, 40), (64, 0, 84, 40), (94, 0, 114, 40)]   # gaps 20, 4, 10 px; height 40
    assert line_not_digits.alone_at_an_end([0], boxes)            # 20 px >= 0.15 x 40
    assert line_not_digits.alone_at_an_end([3], boxes)            # 10 px >= 6
    assert not line_not_digits.alone_at_an_end([1], boxes)        # inside the number
    assert not line_not_digits.alone_at_an_end([0, 3], boxes)     # more than one
    assert not line_not_digits.alone_at_an_end([2], boxes[:3])    # last, but 4 px from its neighbour
    assert not line_not_digits.alone_at_an_end([0], boxes[:1])    # nothing beside it


@pytest.mark.parametrize("kind, index, text", [("doodles", 9, "2569"), ("letters", 31, "6255"), ("letters", 36, "4365")])
def test_a_doodle_or_letter_read_as_a_digit_at_the_end_of_a_number_is_left_out(model, mnist, monkeypatch, kind, index,
                                                                                text):
    """Held-apart numbers with a doodle or letter beside them (tests.non_digits.EVALUATION, as
    benchmarks/not_digit.py makes them) whose non-digit the path reads as one more digit, close to
    the number's own to the reader: left out at `LEAVE_OUT_END_ABOVE`, as it stands apart at an
    end (`alone_at_an_end`); at `LEAVE_OUT_ABOVE` alone it stays, one digit too many."""
    from reader.pipeline import read_number
    _, (images, labels) = mnist
    rng = np.random.default_rng([non_digits.EVALUATION.seed, 7, non_digits.KINDS.index(kind)])
    truth, picture = [non_digits.beside_number(kind, rng, images[5000:], labels[5000:]) for _ in range(index + 1)][-1]
    assert truth == text
    reading = read_number(model, picture)
    assert reading.text == text and len(reading.not_digits) == 1
    monkeypatch.setattr(line_not_digits, "LEAVE_OUT_END_ABOVE", np.inf)
    assert len(read_number(model, picture).text) == len(text) + 1
