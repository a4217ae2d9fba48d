"""Is a candidate one whole digit? The number reader's learned check for pieces and pairs.

LeNet was trained on whole, centred digits only, so it reads a slice of a digit, or two touching
digits, as surely as a digit: a thick "9" cut in two reads as "5" + "1" at p ≈ 1.0. LeCun et al.
(1998, §VI) trained their recognizer on such non-digits too. Here a second, small network does
that job beside the unchanged LeNet: one hidden layer of ReLU units that sees a candidate as the
model does (its 28×28 input) plus its size against the line (width and height in line heights,
the strokes its cuts go through, the pieces it joins), and gives the log-odds that it is one whole
digit. `demo.best_path` weighs that beside the model's own reading.

`benchmarks/fit_number_weights.py` trains it (scikit-learn's MLPClassifier) on numbers written
with MNIST *training* digits, a candidate counting as a digit when it is one of the written digits
(`tests/written_numbers.is_digit`), and saves its weights to `whole_digit.npz`; serving needs numpy
only.
"""

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from demo.segment import Oversegmentation

WEIGHTS_FILE = Path(__file__).with_name("whole_digit.npz")
GEOMETRY = ("width / line height", "height / line height", "strokes cut", "pieces")
MAX_LOG_ODDS = 15.0      # surer than this says no more (p ≈ 1 − 3e-7)


@dataclass(frozen=True)
class WholeDigitCheck:
    """A one-hidden-layer network: inputs (model input pixels, then GEOMETRY) → ReLU → log-odds."""
    hidden_weights: np.ndarray   # (pixels + len(GEOMETRY), hidden)
    hidden_bias: np.ndarray      # (hidden,)
    output_weights: np.ndarray   # (hidden,)
    output_bias: float

    def log_odds(self, graph: Oversegmentation, model_inputs: np.ndarray) -> np.ndarray:
        """Per candidate of `graph` (whose model inputs are `model_inputs`), the log-odds that it
        is one whole digit, within ±MAX_LOG_ODDS."""
        if not len(graph.candidates):
            return np.zeros(0)
        hidden = np.maximum(check_inputs(graph, model_inputs) @ self.hidden_weights + self.hidden_bias, 0)
        return np.clip(hidden @ self.output_weights + self.output_bias, -MAX_LOG_ODDS, MAX_LOG_ODDS)

    def save(self, path: Path = WEIGHTS_FILE) -> None:
        np.savez_compressed(path, hidden_weights=self.hidden_weights.astype(np.float32),
                            hidden_bias=self.hidden_bias.astype(np.float32),
                            output_weights=self.output_weights.astype(np.float32),
                            output_bias=np.float32(self.output_bias))


def check_inputs(graph: Oversegmentation, model_inputs: np.ndarray) -> np.ndarray:
    """(candidates, pixels + len(GEOMETRY)) float32: what the check sees of each candidate."""
    line = graph.line_height
    geometry = np.array([((c.box[2] - c.box[0]) / line, (c.box[3] - c.box[1]) / line, c.strokes_cut, c.stop - c.start)
                         for c in graph.candidates], np.float32)
    return np.hstack([model_inputs.reshape(len(model_inputs), -1), geometry]).astype(np.float32, copy=False)


def load(path: Path = WEIGHTS_FILE, pixels: int = 28 * 28) -> WholeDigitCheck:
    """The check saved at `path`; RuntimeError (saying how to make it) if it is missing or does not
    fit inputs of `pixels` pixels."""
    try:
        with np.load(path) as saved:
            check = WholeDigitCheck(saved["hidden_weights"], saved["hidden_bias"], saved["output_weights"],
                                    float(saved["output_bias"]))
        hidden = check.hidden_weights.shape[1]
        if check.hidden_weights.shape[0] != pixels + len(GEOMETRY) or check.hidden_bias.shape != (hidden,) \
                or check.output_weights.shape != (hidden,):
            raise ValueError(f"weights of shape {check.hidden_weights.shape} for {pixels} pixels")
        return check
    except (OSError, KeyError, ValueError, IndexError) as error:
        raise RuntimeError(f"{path} is missing or was made for other inputs ({error!r}): "
                           "python benchmarks/fit_number_weights.py makes it") from None


@functools.cache
def shipped() -> WholeDigitCheck:
    return load()
