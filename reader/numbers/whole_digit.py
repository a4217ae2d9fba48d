"""Is a candidate one whole digit? The number reader's learned check for pieces and pairs.

LeNet was trained on whole, centred digits only, so it reads a slice of a digit, or two touching
digits, as surely as a digit: a thick "9" cut in two reads as "5" + "1" at p ≈ 1.0. LeCun et al.
(1998, §VI) trained their recognizer on such non-digits too. Here a second, small network does
that job beside the unchanged LeNet: one hidden layer of ReLU units that sees a candidate as the
model does (its 28×28 input) plus its size against the line (width and height in line heights,
the strokes its cuts go through, the pieces it joins), and gives the log-odds that it is one whole
digit. `reader.numbers.best_path` weighs that beside the model's own reading.

`benchmarks/fit_number_weights.py` trains it (scikit-learn's MLPClassifier) on numbers written
with MNIST *training* digits, a candidate counting as a digit when it is one of the written digits
(`tests/written_numbers.is_digit`), and saves it as a two-layer ONNX graph, `whole_digit.onnx`,
which ONNX Runtime runs here on one CPU thread (numpy's matrix product would wake every core's
BLAS thread for it).
"""

import functools
from pathlib import Path

import numpy as np

from reader.model import fitted_session
from reader.numbers.segment import Oversegmentation

WEIGHTS_FILE = Path(__file__).with_name("whole_digit.onnx")
GEOMETRY = ("width / line height", "height / line height", "strokes cut", "pieces")
INPUT_NAME = "candidates"    # float32 (N, pixels + len(GEOMETRY)): `check_inputs`
OUTPUT_NAME = "log_odds"     # float32 (N,)
MAX_LOG_ODDS = 15.0          # surer than this says no more (p ≈ 1 − 3e-7)


class WholeDigitCheck:
    """The check saved at `path` (an ONNX graph: inputs → ReLU layer → log-odds), run by ONNX
    Runtime on the CPU. RuntimeError (saying how to make it) if it is missing, corrupt or made for
    other inputs than `pixels` pixels and GEOMETRY."""

    def __init__(self, path: Path = WEIGHTS_FILE, pixels: int = 28 * 28, threads: int = 1):
        self.session = fitted_session(path, "fit_number_weights.py", [(INPUT_NAME, [None, pixels + len(GEOMETRY)])],
                                      [(OUTPUT_NAME, None)], threads)

    def log_odds(self, graph: Oversegmentation, model_inputs: np.ndarray) -> np.ndarray:
        """Per candidate of `graph` (whose model inputs are `model_inputs`), the log-odds that it
        is one whole digit, within ±MAX_LOG_ODDS."""
        if not len(graph.candidates):
            return np.zeros(0)
        odds = self.session.run([OUTPUT_NAME], {INPUT_NAME: check_inputs(graph, model_inputs)})[0]
        return np.clip(odds.astype(float), -MAX_LOG_ODDS, MAX_LOG_ODDS)


def check_inputs(graph: Oversegmentation, model_inputs: np.ndarray) -> np.ndarray:
    """(candidates, pixels + len(GEOMETRY)) float32: what the check sees of each candidate."""
    line = graph.line_height
    geometry = np.array([((c.box[2] - c.box[0]) / line, (c.box[3] - c.box[1]) / line, c.strokes_cut, c.stop - c.start)
                         for c in graph.candidates], np.float32)
    return np.hstack([model_inputs.reshape(len(model_inputs), -1), geometry]).astype(np.float32, copy=False)


@functools.cache
def shipped() -> WholeDigitCheck:
    return WholeDigitCheck(WEIGHTS_FILE)
