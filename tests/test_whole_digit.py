"""reader.numbers.whole_digit: the learned check that a candidate is one whole digit, not a piece or a pair.

Measured on numbers written with MNIST test digits 5,000–9,999 (the check learnt from training
digits only). ~10 s on the 2-core machine.
"""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from reader.numbers import best_path, candidates, line_not_digits, line_reader, pairs, segment, whole_digit
from reader import pipeline
from reader.model import DigitModel
from reader.preprocess import INK_THRESHOLD, ink_map
from reader.runs import SHIPPED_MODEL
from tests import written_numbers as written


@pytest.fixture(scope="module")
def scored(mnist):
    """(log-odds, is one written digit, the best path's digit features) for every candidate of 60
    hard numbers."""
    _, (images, labels) = mnist
    model = DigitModel(SHIPPED_MODEL, providers="cpu", threads=1)
    check, fit = whole_digit.shipped(), best_path.shipped_fit()
    odds, truth, features = [], [], []
    for number in written.hard_numbers(images, labels, 60, seed=31):
        graph = segment.oversegment(ink_map(number.image))
        inputs = candidates.candidate_inputs(model, graph)
        odds.append(check.log_odds(graph, inputs))
        features.append(best_path.digit_features(graph, model.probabilities(inputs), fit.class_shapes, odds[-1]))
        masks = written.digit_masks(number, graph.ink.shape, INK_THRESHOLD)
        truth += [any(written.is_digit(c.box, c.ink > INK_THRESHOLD, mask) for mask in masks) for c in graph.candidates]
    return np.concatenate(odds), np.array(truth), np.concatenate(features)


def test_the_check_ranks_whole_digits_above_pieces_and_pairs(scored):
    odds, truth, _ = scored
    assert truth.sum() > 150 and (~truth).sum() > 600  # both kinds, in the proportions a number has
    # When written: AUC 0.98; a whole digit's median log-odds +5, a piece's or pair's −7.
    assert roc_auc_score(truth, odds) >= 0.95
    assert np.median(odds[truth]) > 2 and np.median(odds[~truth]) < -2
    assert np.abs(odds).max() <= whole_digit.MAX_LOG_ODDS


def test_the_path_weighs_the_check_enough_to_rank_whole_digits_first(scored):
    """The best path's score for a candidate digit (the shipped fit's weights on its features)
    ranks whole digits above pieces and pairs, and the check's log-odds carry that ranking: when
    written, AUC 0.958 with them and 0.895 with their weight set to 0 (no other feature's weight
    moves it by more than 0.01). Broken variant caught: the whole-digit weight in
    reader/numbers/number_weights.json set to 0 — every accuracy floor of tests/test_number_reader.py still
    passes then (hard 145 of 150, pairs 97 of 100, lone 297 of 300 against 147, 99, 299)."""
    odds, truth, features = scored
    weights = best_path.shipped_fit().digit_weights
    column = best_path.DIGIT_FEATURES.index("whole digit log-odds")
    assert np.array_equal(features[:, column], odds)  # the feature is what the check says
    without_check = weights.copy()
    without_check[column] = 0
    ranking, ranking_without_check = roc_auc_score(truth, features @ weights), roc_auc_score(truth, features @ without_check)
    assert ranking >= 0.94
    assert ranking >= ranking_without_check + 0.04


def test_the_saved_graph_is_the_network_it_was_made_from(tmp_path):
    """fit_number_weights.check_graph writes what `WholeDigitCheck` runs: the same log-odds as the
    network computed by hand (ReLU layer, then one unit), for inputs the size of a candidate's."""
    from benchmarks.fit_number_weights import check_graph
    rng = np.random.default_rng(0)
    width = 28 * 28 + len(whole_digit.GEOMETRY)
    weights = [rng.normal(0, 0.1, (width, 16)), rng.normal(0, 1, (16, 1))]
    biases = [rng.normal(0, 0.1, 16), rng.normal(0, 1, 1)]
    (tmp_path / "check.onnx").write_bytes(check_graph(weights, biases, {"held-out accuracy": 0.5}))
    check = whole_digit.WholeDigitCheck(tmp_path / "check.onnx")
    inputs = rng.random((7, width)).astype(np.float32)
    by_hand = np.maximum(inputs @ weights[0] + biases[0], 0) @ weights[1][:, 0] + biases[1][0]
    got = check.session.run([whole_digit.OUTPUT_NAME], {whole_digit.INPUT_NAME: inputs})[0]
    assert got.shape == (7,) and np.allclose(got, by_hand, atol=1e-4)


def test_a_refit_that_keeps_the_check_reads_its_scores_from_the_file():
    """`fit_number_weights.py --keep-check` fits the path weights only: the check it keeps says
    itself what it was trained on, the figures reader/numbers/number_weights.json records beside the weights."""
    import json
    from benchmarks.fit_number_weights import CHECK_SCORES, kept_check
    check_file, scores = kept_check(whole_digit.WEIGHTS_FILE)
    assert check_file == whole_digit.WEIGHTS_FILE.read_bytes()
    recorded = json.loads((whole_digit.WEIGHTS_FILE.parent / "number_weights.json").read_text())["whole_digit_check"]
    assert scores == {key: recorded[key] for key in CHECK_SCORES}
    assert 0.9 < scores["held-out accuracy"] < 1 and scores["whole digits"] < scores["candidates"]


def test_a_check_made_for_candidates_of_another_size_is_refused(tmp_path):
    from benchmarks.fit_number_weights import check_graph
    (tmp_path / "other.onnx").write_bytes(check_graph([np.zeros((100, 8)), np.zeros((8, 1))], [np.zeros(8), np.zeros(1)], {}))
    with pytest.raises(RuntimeError, match="other inputs"):
        whole_digit.WholeDigitCheck(tmp_path / "other.onnx")


@pytest.mark.parametrize("module, maker", [(whole_digit, "fit_number_weights.py"), (pairs, "fit_pair_reader.py"),
                                           (line_reader, "fit_line_reader.py"),
                                           (line_not_digits, "fit_line_reader.py --not-digits")],
                         ids=["whole-digit check", "pair reader", "line reader", "line reader for non-digits"])
def test_the_app_will_not_start_without_the_number_readers_files(module, maker, tmp_path, monkeypatch, capsys):
    """`python app.py` loads the number reader's files at start (the whole-digit check, the pair
    reader, the line reader): one line naming the file and the command that makes it, exit status 2, before it
    touches the process (signals, cache folder)."""
    from demo import serving
    monkeypatch.setattr(module, "WEIGHTS_FILE", tmp_path / "absent.onnx")
    module.shipped.cache_clear()
    try:
        with pytest.raises(SystemExit) as exit:
            serving.start(["--model", str(SHIPPED_MODEL)], announce=False)
    finally:
        module.shipped.cache_clear()
    error = capsys.readouterr().err.strip().splitlines()
    assert exit.value.code == 2 and len(error) == 1
    assert error[0].startswith("error: ") and "absent.onnx" in error[0] and f"{maker} makes it" in error[0]
