"""reader.numbers.slant: a number written in italics is straightened before it is cut into digits.

Numbers from tests/written_numbers.py, pool EVALUATION (the slant constants were chosen on the
tuning pool). Cost on the 2-core machine: ~20 s, most of it the 60 italic numbers read with and without straightening.
"""

import json

import numpy as np
import pytest
from PIL import Image

from demo import predict
from reader import pipeline
from reader.model import DigitModel
from reader.numbers import slant
from reader.preprocess import ink_map
from reader.runs import SHIPPED_MODEL
from tests import written_numbers as written
from tests.helpers import line_reader_off


@pytest.fixture(scope="module")
def model():
    return DigitModel(SHIPPED_MODEL, providers="cpu", threads=1)


@pytest.fixture(scope="module")
def digits(mnist):
    _, (images, labels) = mnist
    return images, labels


def test_lean_measures_the_shear_a_number_was_written_with(digits):
    """Written again leaning 0.3 columns per row more, a number's measured lean grows by about 0.3."""
    for number in written.ordinary_numbers(*digits, 8, seed=31):
        before = slant.lean(ink_map(number.image))
        after = slant.lean(ink_map(written.slanted(number.image, 0.3)))
        assert after - before == pytest.approx(0.3, abs=0.12), number.text


def test_a_number_leaning_as_mnists_digits_is_left_as_it_is(digits):
    number = written.ordinary_numbers(*digits, 1, seed=32)[0]
    ink = ink_map(number.image)
    shear = slant.lean(ink) - slant.MNIST_LEAN
    leaning = ink if abs(shear) <= slant.MARGIN else slant.sheared(ink, shear)  # make it lean as MNIST's
    upright, removed = slant.upright(leaning)
    assert removed == 0.0 and upright is leaning


def test_italics_are_sheared_to_mnists_lean_and_boxes_map_back(digits):
    number = written.ordinary_numbers(*digits, 1, seed=33)[0]
    italic = ink_map(written.slanted(number.image, 0.5))
    upright, removed = slant.upright(italic)
    assert removed > slant.MARGIN
    assert abs(slant.lean(upright) - slant.MNIST_LEAN) < abs(slant.lean(italic) - slant.MNIST_LEAN) / 2
    assert upright.shape == (italic.shape[0], italic.shape[1] + slant.padding(removed, italic.shape[0]))
    assert upright.sum() == pytest.approx(italic.sum(), rel=0.02)          # no ink lost at the sides
    rows, cols = np.nonzero(upright > 0.5)
    box = (int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1)
    x0, y0, x1, y1 = slant.to_original(box, removed, upright.shape[0])
    rows, cols = np.nonzero(italic > 0.5)                                  # the box, mapped back, holds the ink
    assert x0 <= cols.min() + 1 and cols.max() <= x1 + 1 and (y0, y1) == (box[1], box[3])


def test_crowded_numbers_in_italics_read_better_read_upright_too(model, digits, monkeypatch):
    """60 numbers of 3–5 digits written crowded (touching, crossing) and leaning 0.4 columns per row
    more: read as written and straightened, against as written only (`upright` never shearing).
    When written: 51 against 29 right, the upright reading kept for 53 (the line reader off: with
    it, 56 against 49)."""
    numbers = [(written.slanted(n.image, 0.4), n.text) for n in written.crowded_numbers(*digits, 60, seed=34)]
    with line_reader_off():                        # the upright reading's own work
        both = [pipeline.read_number(model, picture) for picture, _ in numbers]
        monkeypatch.setattr(slant, "upright", lambda ink: (ink, 0.0))
        as_written = [pipeline.read_number(model, picture) for picture, _ in numbers]
    right = [reading.text == text for reading, (_, text) in zip(both, numbers)]
    right_as_written = [reading.text == text for reading, (_, text) in zip(as_written, numbers)]
    assert sum(reading.straightened > slant.MARGIN for reading in both) >= len(numbers) / 2  # the upright reading won
    assert sum(right) >= sum(right_as_written) + 12


def test_a_number_read_upright_is_shown_upright(model, digits):
    """The page draws the boxes on the ink that was read: the straightened one, wider by the shear."""
    number = written.crowded_numbers(*digits, 1, seed=36)[0]
    picture = written.slanted(number.image, 0.5)
    reading = pipeline.read_number(model, picture)
    plain = ink_map(picture)
    assert reading.straightened > slant.MARGIN
    assert reading.ink.shape[1] / reading.ink.shape[0] > plain.shape[1] / plain.shape[0]
    assert abs(slant.lean(reading.ink) - slant.MNIST_LEAN) < slant.MARGIN


def test_the_command_line_says_how_much_it_straightened(digits, tmp_path, capsys):
    number = written.crowded_numbers(*digits, 1, seed=36)[0]
    upright, italic = tmp_path / "upright.png", tmp_path / "italic.png"
    number.image.save(upright)
    written.slanted(number.image, 0.5).save(italic)
    assert predict.main(["--number", "--json", str(upright), str(italic)]) == 0
    as_written, straightened = json.loads(capsys.readouterr().out)
    assert straightened["straightened"] > slant.MARGIN and straightened["number"] == number.text
    assert isinstance(as_written["straightened"], float) and as_written["number"] is not None


def test_a_digit_alone_is_read_once_however_far_it_leans(model, digits):
    """MNIST test digit #9940, a "6" leaning 0.64 columns per row, was split in two every time it was
    written alone when a lone digit too was read straightened, and read "16" by the line reader
    when it could make more digits of ink this narrow: it is one digit."""
    images, labels = digits
    picture = Image.fromarray(255 - images[9940]).resize((112, 112), Image.Resampling.BILINEAR)
    for italic in (picture, written.slanted(picture, 0.3)):
        reading = pipeline.read_number(model, italic)
        assert reading.straightened == 0.0 and reading.text == str(labels[9940]) == "6"
