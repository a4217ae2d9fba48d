"""demo.whole_digit: the learned check that a candidate is one whole digit, not a piece or a pair.

Measured on numbers written with MNIST test digits 5,000–9,999 (the check learnt from training
digits only). ~10 s on the 2-core machine.
"""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from demo import pipeline, segment, whole_digit
from demo.model import DigitModel
from demo.preprocess import INK_THRESHOLD, ink_map
from demo.runs import SHIPPED_MODEL
from tests import written_numbers as written


@pytest.fixture(scope="module")
def scored(mnist):
    """(log-odds, is one written digit) for every candidate of 60 hard numbers."""
    _, (images, labels) = mnist
    model = DigitModel(SHIPPED_MODEL, providers="cpu", threads=1)
    check = whole_digit.shipped()
    odds, truth = [], []
    for number in written.hard_numbers(images, labels, 60, seed=31):
        graph = segment.oversegment(ink_map(number.image))
        odds.append(check.log_odds(graph, pipeline.candidate_inputs(model, graph)))
        masks = written.digit_masks(number, graph.ink.shape, INK_THRESHOLD)
        truth += [any(written.is_digit(c.box, c.ink > INK_THRESHOLD, mask) for mask in masks) for c in graph.candidates]
    return np.concatenate(odds), np.array(truth)


def test_the_check_ranks_whole_digits_above_pieces_and_pairs(scored):
    odds, truth = scored
    assert truth.sum() > 150 and (~truth).sum() > 600  # both kinds, in the proportions a number has
    # When written: AUC 0.98; a whole digit's median log-odds +5, a piece's or pair's −7.
    assert roc_auc_score(truth, odds) >= 0.95
    assert np.median(odds[truth]) > 2 and np.median(odds[~truth]) < -2
    assert np.abs(odds).max() <= whole_digit.MAX_LOG_ODDS


def test_saved_weights_read_back_the_same(tmp_path, scored):
    check = whole_digit.shipped()
    check.save(tmp_path / "check.npz")
    again = whole_digit.load(tmp_path / "check.npz")
    for name in ("hidden_weights", "hidden_bias", "output_weights"):
        assert np.array_equal(getattr(again, name), getattr(check, name))
    assert again.output_bias == check.output_bias


def test_a_missing_or_mismatched_file_says_how_to_make_it(tmp_path):
    with pytest.raises(RuntimeError, match="fit_number_weights.py makes it"):
        whole_digit.load(tmp_path / "absent.npz")
    np.savez(tmp_path / "other.npz", hidden_weights=np.zeros((100, 8)), hidden_bias=np.zeros(8),
             output_weights=np.zeros(8), output_bias=np.float32(0))
    with pytest.raises(RuntimeError, match="other inputs"):
        whole_digit.load(tmp_path / "other.npz")
    (tmp_path / "corrupt.npz").write_bytes(b"not a zip")
    with pytest.raises(RuntimeError, match="fit_number_weights.py makes it"):
        whole_digit.load(tmp_path / "corrupt.npz")
