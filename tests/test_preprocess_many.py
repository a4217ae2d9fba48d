"""reader.numbers.preprocess_many: many ink maps at once give exactly what `to_mnist` gives each alone.

The Number reader relies on it for every candidate digit, so the inputs here are the candidates
of hard numbers written with real MNIST test digits (thin and thick pens: strokes to grow and to
thin), lone digits drawn large, and the odd cases (no ink, specks only, NaN, a single pixel).
"""

import numpy as np
import pytest
from scipy import ndimage as ndi

from reader.numbers import segment
from reader.preprocess import (MNIST_STROKE_WIDTHS, crop_to_ink, ink_map, remove_specks, render_offset, ridge_of,
                             stroke_width, to_mnist)
from reader.numbers.preprocess_many import Canvas, rendered_offsets, to_mnist_many
from tests import written_numbers as written


@pytest.fixture(scope="module")
def candidate_inks(mnist):
    _, (images, labels) = mnist
    inks = []
    for number in written.hard_numbers(images, labels, 40, seed=21):
        inks += [c.ink for c in segment.oversegment(ink_map(number.image)).candidates]
    inks += [written.enlarged(images[k], 30 + 7 * (k % 12)) for k in range(5000, 5024)]
    return inks


def normalisation(ink: np.ndarray, digit_box: int = 20) -> str:
    """What `to_mnist` does to this ink's stroke width: "grow", "thin" or "keep"."""
    crop = crop_to_ink(remove_specks(ink))
    if crop is None or max(crop.shape) < 2 * digit_box:
        return "keep"
    width = stroke_width(crop > 0.5) * digit_box / max(crop.shape)
    return "grow" if width < MNIST_STROKE_WIDTHS[0] else "thin" if width > MNIST_STROKE_WIDTHS[1] else "keep"


def test_many_at_once_equal_each_alone(candidate_inks):
    odd = [np.zeros((30, 20), np.float32), np.pad(np.ones((2, 2), np.float32), 20),
           np.where(np.eye(45, dtype=bool), np.nan, candidate_inks[0][:45, :45] if candidate_inks[0].shape[0] >= 45
                    else 0.5).astype(np.float32), np.ones((1, 1), np.float32)]
    inks = candidate_inks + odd
    kinds = {normalisation(np.nan_to_num(ink)) for ink in candidate_inks}
    assert kinds == {"grow", "thin", "keep"}  # every path of the stroke-width rule is compared
    together = to_mnist_many(inks)
    alone = [to_mnist(ink) for ink in inks]
    assert len(together) == len(inks)
    for a, b in zip(alone, together):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a, b)


def test_other_frame_sizes_and_empty_lists(candidate_inks):
    assert to_mnist_many([]) == []
    for a, b in zip((to_mnist(ink, 32, 24) for ink in candidate_inks[:20]), to_mnist_many(candidate_inks[:20], 32, 24)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError):
        to_mnist_many(candidate_inks[:1], image_size=20, digit_box=28)


def random_blobs(rng: np.random.Generator) -> np.ndarray:
    """A mask of random blobs 3–7 px across (where they meet, a part may be 1 px wide)."""
    return np.pad(ndi.binary_dilation(rng.random((30, 40)) < 0.03, iterations=int(rng.integers(1, 4))), 4)


def test_render_offset_is_the_signed_distance_rule():
    """One distance transform gives what the signed distance to the outline (both transforms)
    gives, growing, and thinning by less than `MAX_THINNING` of the thinnest stroke (1 px)."""
    rng = np.random.default_rng(3)
    for _ in range(50):
        mask = random_blobs(rng)
        offset = float(rng.uniform(-0.29, 3))
        signed = np.where(mask, ndi.distance_transform_edt(mask) - 0.5, 0.5 - ndi.distance_transform_edt(~mask))
        np.testing.assert_array_equal(render_offset(mask, offset), np.clip(signed + offset + 0.5, 0, 1).astype(np.float32))


def test_thinning_never_erases_a_stroke():
    """Thinned by more than `MAX_THINNING` of a stroke's width, the stroke keeps its middle: each
    pixel is thinned by at most that share of its own stroke's width."""
    rng = np.random.default_rng(4)
    for _ in range(50):
        mask = random_blobs(rng)
        inside = ndi.distance_transform_edt(mask)
        ridge = ridge_of(mask, inside)
        thinned = render_offset(mask, float(rng.uniform(-6, -1)))
        assert (thinned[ridge] > 0).all()
        assert (thinned[~mask] == 0).all()


def test_a_part_grown_far_does_not_reach_its_neighbour_on_the_canvas():
    """A dot grown 6 px beside a dot grown 0.1 px: side by side, each still grows as if alone."""
    right_dot, left_dot = np.zeros((3, 3), bool), np.zeros((3, 3), bool)
    right_dot[1, 2], left_dot[1, 0] = True, True
    masks, offsets = [right_dot, left_dot, right_dot], [6.0, 0.1, -0.4]
    for mask, offset, rendered in zip(masks, offsets, rendered_offsets(masks, offsets)):
        np.testing.assert_array_equal(rendered, render_offset(np.pad(mask, int(np.ceil(max(offset, 0))) + 1), offset))


def test_canvas_keeps_each_part_apart_and_gives_it_back():
    parts = [np.full((3, 4), 1.0), np.full((5, 2), 2.0), np.full((1, 1), 3.0)]
    canvas = Canvas.of(parts, gap=2)
    assert canvas.array.shape == (5 + 4, 4 + 2 + 1 + 4 * 2)
    for part, back in zip(parts, canvas.parts(canvas.array)):
        np.testing.assert_array_equal(part, back)
    assert set(np.unique(canvas.part_of())) == {-1, 0, 1, 2}
    assert canvas.array[canvas.part_of() == -1].max() == 0
