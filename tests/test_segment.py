"""reader.numbers.segment: the over-segmentation graph of numbers written with real MNIST test digits.

No model here: these tests pin what the graph offers the reader. A right reading needs, for each
digit, a candidate that is that digit (holds ≥ 85 % of its ink and little of its neighbours'),
the candidates in order, and no candidate made of dots and specks alone. Reading is tested in
tests/test_number_reader.py.
"""

import numpy as np
import pytest
from PIL import Image

from reader.errors import InputError
from reader.preprocess import INK_THRESHOLD, ink_map
from reader.numbers.segment import (BEND, MAX_ASPECT, MAX_COMPONENTS, MIN_DIGIT_HEIGHT, WHOLE_BLOB_ASPECT, WORKING_HEIGHT,
                          bent_cuts, oversegment, with_bent_cuts)
from tests import written_numbers as written


@pytest.fixture(scope="module")
def digits(mnist):
    _, (images, labels) = mnist
    return images, labels


def ink_of(images, index: int, height: float) -> np.ndarray:
    return written.enlarged(images[index], height)


def candidate_for(graph, mask: np.ndarray):
    """The candidates that are the digit whose ink (in the graph's pixels) is `mask`."""
    return [c for c in graph.candidates if written.is_digit(c.box, c.ink > INK_THRESHOLD, mask)]


def layer_masks(layers, shape: tuple[int, int]) -> list[np.ndarray]:
    """Each layer's ink in the pixels of the graph's ink map of `shape` (shrunk if its digits are
    taller than `WORKING_HEIGHT`)."""
    return [np.asarray(Image.fromarray(ink_map(layer)).resize(shape[::-1], Image.Resampling.BOX)) > INK_THRESHOLD
            for layer in layers]


@pytest.mark.parametrize("gap", [6, 30])
def test_each_digit_of_a_spaced_number_is_one_whole_candidate(digits, gap):
    images, labels = digits
    indices = [int(np.flatnonzero(labels[5000:] == d)[k]) + 5000 for k, d in enumerate((2, 0, 2, 6))]
    picture, layers = written.lay_out([ink_of(images, i, 50) for i in indices], [gap] * 3)
    graph = oversegment(ink_map(picture))
    found = [candidate_for(graph, mask) for mask in layer_masks(layers, graph.ink.shape)]
    assert all(len(f) >= 1 for f in found)
    starts = [min(c.start for c in f) for f in found]
    assert starts == sorted(starts)  # in order, left to right
    assert all(any(c.strokes_cut == 0 for c in f) for f in found)  # uncut: each is its own blob


def test_touching_pairs_mostly_have_a_candidate_for_each_digit(digits):
    """Measured on these 60 pairs when written: 51 (85 %) have two candidates, one after the
    other, each holding ≥ 85 % of its digit's ink; a slanted pair's digits share columns, so a
    straight cut leaves more than 15 % of one digit's ink with the other in the rest."""
    images, labels = digits
    separated = []
    for number in written.touching_pairs(images, labels, 60, seed=5):
        graph = oversegment(ink_map(number.image))
        left, right = (candidate_for(graph, mask) for mask in written.digit_masks(number, graph.ink.shape))
        separated.append(any(a.stop <= b.start for a in left for b in right))
    assert np.mean(separated) >= 0.8


def test_bent_cuts_part_pairs_that_no_vertical_cut_parts(digits):
    """The second over-segmentation cuts wide blobs along bent cuts: of the 60 pairs above, 53
    have each digit as a candidate with straight cuts, 57 in one graph or the other (measured when
    written). A lone digit that is no wider than the line is tall gets no second graph."""
    images, labels = digits
    straight, either, second_graphs = [], [], 0
    for number in written.touching_pairs(images, labels, 60, seed=5):
        graphs = [oversegment(ink_map(number.image))]
        graphs += [bent] if (bent := with_bent_cuts(graphs[0])) is not None else []
        second_graphs += len(graphs) - 1
        parted = []
        for graph in graphs:
            left, right = (candidate_for(graph, mask) for mask in written.digit_masks(number, graph.ink.shape))
            parted.append(any(a.stop <= b.start for a in left for b in right))
        straight.append(parted[0])
        either.append(any(parted))
    assert second_graphs >= 50
    assert sum(either) >= sum(straight) + 2 and np.mean(either) >= 0.9
    lone = [int(np.flatnonzero(labels[5000:] == d)[0]) + 5000 for d in (1, 7, 8)]
    for index in lone:
        picture, _ = written.lay_out([ink_of(images, index, 50)], [])
        assert with_bent_cuts(oversegment(ink_map(picture))) is None


def test_a_bent_cut_follows_a_blank_seam_a_straight_one_crosses():
    """Two inks meeting along a slanted seam: column 13 crosses ink, the bent cut from it goes
    down the blank seam, one column at most from row to row, within `BEND` line heights."""
    height = 20
    seam = 10 + np.arange(20) // 3                 # x = 10 … 16 from top to bottom
    ink = np.ones((20, 30), np.float32)
    ink[np.arange(20), seam] = 0
    assert ink[:, 13].sum() > 0
    path, = bent_cuts(ink, [13], height)
    assert np.array_equal(path, seam)
    assert np.abs(np.diff(path)).max() <= 1 and np.abs(path - 13).max() <= BEND * height


def test_a_digit_broken_in_pieces_has_a_candidate_joining_them(digits):
    images, labels = digits
    seven = ink_of(images, int(np.flatnonzero(labels[5000:] == 7)[0]) + 5000, 60)
    broken = seven.copy()
    broken[27:31] = 0  # a gap across the stroke: two blobs
    picture, _ = written.lay_out([broken], [])
    graph = oversegment(ink_map(picture))
    assert len({piece.blob for piece in graph.pieces}) >= 2
    assert candidate_for(graph, layer_masks([picture], graph.ink.shape)[0])


@pytest.mark.parametrize("label", [0, 2, 4, 7])
def test_a_flat_digit_is_one_candidate_though_wider_than_two_digits_may_be(digits, label):
    images, labels = digits
    aspect = (MAX_ASPECT + WHOLE_BLOB_ASPECT) / 2
    for index in np.flatnonzero(labels[5000:] == label)[:5] + 5000:
        picture, _ = written.lay_out([written.flattened(ink_of(images, int(index), 60), aspect)], [])
        graph = oversegment(ink_map(picture))
        whole = candidate_for(graph, layer_masks([picture], graph.ink.shape)[0])
        assert any(c.box[2] - c.box[0] > MAX_ASPECT * (c.box[3] - c.box[1]) for c in whole)
        # parts of it are no wider than other candidates: only the whole blob may be this flat
        assert all(c.box[2] - c.box[0] <= MAX_ASPECT * max(c.box[3] - c.box[1], graph.line_height)
                   for c in graph.candidates if c not in whole)


def test_dots_and_specks_alone_are_never_candidates(digits):
    images, labels = digits
    inks = [ink_of(images, int(np.flatnonzero(labels == d)[0]), 56) for d in (9, 9, 7)]
    picture, _ = written.lay_out(inks, [40, 40])
    ink = ink_map(picture)
    ink[-25:-19, 20 + inks[0].shape[1] + 15:20 + inks[0].shape[1] + 21] = 1  # a decimal point in the gap
    ink[3:5, 3:5] = 1                                                         # specks in corners
    ink[-5:-3, -5:-3] = 1
    graph = oversegment(ink)
    assert all(c.box[3] - c.box[1] >= MIN_DIGIT_HEIGHT * graph.line_height for c in graph.candidates)
    assert not any(p.mark for p in graph.pieces if p.box[1] < 10 or p.box[3] > ink.shape[0] - 10)


def test_tall_digits_are_read_from_a_map_shrunk_to_the_working_height(digits):
    images, labels = digits
    inks = [ink_of(images, int(np.flatnonzero(labels == d)[0]), 200) for d in (3, 8)]
    picture, _ = written.lay_out(inks, [50])
    ink = ink_map(picture)
    graph = oversegment(ink)
    assert graph.line_height <= WORKING_HEIGHT + 1
    assert graph.ink.shape[0] < ink.shape[0] / 2
    for candidate in graph.candidates:
        x0, y0, x1, y1 = candidate.box
        assert x1 <= graph.ink.shape[1] and y1 <= graph.ink.shape[0]


def test_an_empty_map_has_no_pieces():
    graph = oversegment(np.zeros((50, 80), np.float32))
    assert graph.pieces == [] and graph.candidates == []


def test_noise_is_refused_as_too_many_marks():
    dots = np.zeros((600, 600), np.float32)
    dots[::3, ::3] = 1  # 40,000 separate dots
    with pytest.raises(InputError, match=f"too many separate marks \\(over {MAX_COMPONENTS}\\)"):
        oversegment(dots)


def test_thousands_of_specks_are_dropped(digits):
    images, labels = digits
    inks = [ink_of(images, int(np.flatnonzero(labels == d)[0]), 60) for d in (4, 2)]
    picture, _ = written.lay_out(inks, [40])
    ink = ink_map(picture)
    rows, cols = np.nonzero(ink == 0)
    chosen = np.random.default_rng(0).choice(rows.size, 600, replace=False)
    ink[rows[chosen], cols[chosen]] = 1  # one-pixel specks, tiny next to a digit
    graph = oversegment(ink)
    assert len({piece.blob for piece in graph.pieces if not piece.mark}) == 2  # clumped specks stay marks


def test_a_long_line_is_one_piece_not_dozens():
    line = np.zeros((100, 900), np.float32)
    line[50:53, 20:880] = 1
    graph = oversegment(line)
    assert len(graph.pieces) == 1 and len(graph.candidates) == 1


def test_the_halo_goes_to_the_nearest_piece():
    ink = np.zeros((40, 60), np.float32)
    ink[5:35, 10:14] = 1       # two strokes, far apart
    ink[5:35, 40:44] = 1
    ink[5:35, 14] = 0.1        # faint edges beside each
    ink[5:35, 39] = 0.1
    graph = oversegment(ink)
    assert [c.box for c in graph.candidates if c.stop - c.start == 1] == [(10, 5, 15, 35), (39, 5, 44, 35)]


def test_a_digit_broken_across_counts_at_its_whole_height(digits):
    """A lone digit a thin pen broke into pieces stacked over one another is one column of the
    line: the line height is the digit's, not a piece's (else every piece looks like a whole digit
    and the digit itself too tall to be one)."""
    images, labels = digits
    three = ink_of(images, int(np.flatnonzero(labels[5000:] == 3)[0]) + 5000, 60)
    broken = three.copy()
    broken[18:21] = 0  # two gaps across the strokes: three blobs over one another
    broken[38:41] = 0
    picture, _ = written.lay_out([broken], [])
    graph = oversegment(ink_map(picture))
    assert len({piece.blob for piece in graph.pieces}) >= 3
    assert graph.line_height >= 0.9 * min(60, WORKING_HEIGHT)  # a piece is ≤ 20 px: then nothing is shrunk
