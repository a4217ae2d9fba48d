"""reader.numbers.pairs: the pair reader, which reads a chosen digit as two touching digits.

Measured on pictures written with MNIST test digits 5,000–9,999 (the reader learnt from training
digits only). ~15 s on the 2-core machine.
"""

import numpy as np
import pytest

from reader import pipeline
from reader.model import DigitModel
from reader.numbers import pairs, segment
from reader.preprocess import ink_map
from reader.runs import SHIPPED_MODEL
from tests import written_numbers as written
from tests.helpers import line_reader_off

MIN_FIXED, MAX_BROKEN = 4, 1     # of 200 crowded numbers: measured 7 fixed, 0 broken


def reader_input(picture) -> np.ndarray:
    """What the pair reader sees of a whole picture, as `read_number` shows it a candidate: the ink
    at the reader's working height."""
    return pairs.pair_input(segment.line_blobs(ink_map(picture)).ink)


@pytest.fixture(scope="module")
def model():
    return DigitModel(SHIPPED_MODEL, providers="cpu", threads=1)


def test_a_pair_keeps_its_width_and_a_digit_its_narrowness():
    ink = np.zeros((80, 200), np.float32)
    ink[10:70, 20:140] = 1.0                      # 60 tall, 120 wide: scaled to 20 × 40
    seen = pairs.pair_input(ink)
    assert seen.shape == (pairs.HEIGHT, pairs.WIDTH) and seen.dtype == np.float32 and seen.max() == 1.0
    rows, columns = np.flatnonzero(seen.any(axis=1)), np.flatnonzero(seen.any(axis=0))
    assert len(rows) == pairs.BOX_HEIGHT and 39 <= len(columns) <= 41
    very_wide = np.zeros((20, 400), np.float32)
    very_wide[5:15, 10:390] = 1.0
    assert np.flatnonzero(pairs.pair_input(very_wide).any(axis=0)).size == pairs.BOX_WIDTH
    assert pairs.pair_input(np.zeros((30, 30), np.float32)) is None


def test_classes_name_a_digit_or_an_ordered_pair():
    assert [pairs.class_text(k) for k in (0, 9, 10, 11, 37, 109)] == ["0", "9", "00", "01", "27", "99"]
    probabilities = np.zeros(110)
    probabilities[pairs.SINGLES + 27] = 0.6
    probabilities[pairs.SINGLES + 21] = 0.2
    probabilities[3] = 0.2
    left, right = pairs.marginals(probabilities)
    assert left.argmax() == 2 and right.argmax() == 7 and np.isclose(right[7], 0.75) and np.isclose(left.sum(), 1)


def test_the_reader_reads_touching_pairs_it_never_saw_and_leaves_lone_digits_whole(mnist):
    """200 touching pairs and 200 lone digits of the evaluation pool."""
    _, (images, labels) = mnist
    reader = pairs.shipped()
    touching = written.touching_pairs(images, labels, 200, seed=41)
    p = reader.probabilities(np.stack([reader_input(number.image) for number in touching]))
    said_two = p[:, pairs.SINGLES:].sum(axis=1) > pairs.PAIR_ABOVE
    read = [pairs.class_text(int(k)) for k in p.argmax(axis=1)]
    assert np.mean(said_two) >= 0.95                                         # measured 99.5%
    assert np.mean([r == number.text for r, number in zip(read, touching)]) >= 0.95   # measured 99.5%
    lone = written.lone_digits(images, labels, 200, seed=42)
    p = reader.probabilities(np.stack([reader_input(number.image) for number in lone]))
    assert np.count_nonzero(p[:, pairs.SINGLES:].sum(axis=1) > pairs.PAIR_ABOVE) <= 1   # measured 0
    assert np.mean(p.argmax(axis=1) == [int(number.text) for number in lone]) >= 0.97    # measured 100%


def test_the_number_reader_splits_touching_digits_the_path_read_as_one(model, mnist):
    """200 crowded numbers of the evaluation pool (touching and crossing digits, slanted, a third
    photographed), read with the pair reader and without it: the numbers it fixes, those it breaks,
    and the two digits it makes of one (their boxes side by side, their pictures and confidences), or
    the pair it keeps that would otherwise have been left out as not a digit."""
    _, (images, labels) = mnist
    touching = written.crowded_numbers(images, labels, 200, seed=41)
    with line_reader_off():                         # the pair reader's own work
        with_pairs = [pipeline.read_number(model, number.image) for number in touching]
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(pairs, "PAIR_ABOVE", 2.0)     # never split
            without = [pipeline.read_number(model, number.image) for number in touching]
    fixed = [k for k, number in enumerate(touching) if with_pairs[k].text == number.text != without[k].text]
    broken = [k for k, number in enumerate(touching) if without[k].text == number.text != with_pairs[k].text]
    assert len(fixed) >= MIN_FIXED and len(broken) <= MAX_BROKEN, (fixed, broken)
    for k in fixed:
        if without[k].not_digits:   # the pair refused as not a digit without the reader (`not_digits.two_against_a_digit`)
            assert len(with_pairs[k].not_digits) < len(without[k].not_digits)
            continue
        assert len(with_pairs[k].digits) == len(without[k].digits) + 1
        inside = lambda small, big: big[0] <= small[0] and big[1] <= small[1] and small[2] <= big[2] and small[3] <= big[3]
        left, right = next((a, b) for a, b in zip(with_pairs[k].digits, with_pairs[k].digits[1:])
                           if any(inside(a.box, d.box) and inside(b.box, d.box) for d in without[k].digits))
        assert left.box[0] < right.box[0] and left.box[2] <= right.box[2]
        assert min(left.confidence, right.confidence) > 0.5
        assert left.model_input.shape == right.model_input.shape == (28, 28) and left.model_input.max() == 1.0


def test_class_index_is_class_texts_inverse():
    from reader.numbers import pairs
    assert [pairs.class_index(pairs.class_text(k)) for k in range(pairs.SINGLES + 100)] == list(range(pairs.SINGLES + 100))
    assert pairs.class_index("7") == 7 and pairs.class_index("07") == pairs.SINGLES + 7 and pairs.class_text(pairs.class_index("27")) == "27"
