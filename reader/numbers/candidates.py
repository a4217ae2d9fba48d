"""Read the candidates: every candidate digit of an over-segmentation preprocessed like MNIST
(together, `reader.numbers.preprocess_many`) and read by the model in one batch.

`CandidateReadings` reads each distinct candidate once, so the second over-segmentation (with bent
cuts) pays only for its new candidates; `model_inputs` is the same preprocessing for any list of
ink maps (the re-reading stage uses it for full-size crops).
"""

import numpy as np

from reader.model import DigitModel
from reader.numbers import segment
from reader.numbers.preprocess_many import to_mnist_many


class CandidateReadings:
    """The model inputs of candidate digits and the model's probabilities for them. Each distinct
    candidate (box and ink) is preprocessed and read once: the second over-segmentation shares
    every candidate that involves no bent cut with the first."""

    def __init__(self, model: DigitModel):
        self.model = model
        self.known: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def of(self, graph: segment.Oversegmentation) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, probabilities) of `graph`'s candidates, in order; the new ones in one batch."""
        keys = [(candidate.box, candidate.ink.tobytes()) for candidate in graph.candidates]
        new = {key: candidate.ink for key, candidate in zip(keys, graph.candidates) if key not in self.known}
        if new:
            inputs = model_inputs(self.model, list(new.values()), enlargements=False)
            self.known.update(zip(new, zip(inputs, self.model.probabilities(inputs))))
        if not keys:
            size = self.model.contract.image_size
            return np.zeros((0, size, size), np.float32), np.zeros((0, len(self.model.contract.class_labels)), np.float32)
        return np.stack([self.known[key][0] for key in keys]), np.stack([self.known[key][1] for key in keys])


def candidate_inputs(model: DigitModel, graph: segment.Oversegmentation) -> np.ndarray:
    """The model input of every candidate digit of `graph`, preprocessed together
    (`to_mnist_many`, as `CandidateReadings` reads them): (candidates, size, size) float32, all zero
    for a candidate without ink."""
    return model_inputs(model, [c.ink for c in graph.candidates], enlargements=False)


def model_inputs(model: DigitModel, inks: list[np.ndarray], enlargements: bool = True) -> np.ndarray:
    """The model input of each ink map, preprocessed together: (len(inks), size, size) float32,
    all zero for one without ink. Candidates cut from the ink shrunk to `segment.WORKING_HEIGHT`
    are read without `enlargements` (`to_mnist_many`): at a 40-px line a digit is read from its few
    pixels anyway, and looking for an enlargement in each of ~30 candidates cost a 5-digit number
    ×1.45 CPU for no change in any number set (benchmarks/README.md); crops read again at full
    size are looked at."""
    size, box = model.contract.image_size, model.contract.digit_box
    inputs = np.zeros((len(inks), size, size), np.float32)
    for model_input, mnist in zip(inputs, to_mnist_many(inks, size, box, enlargements)):
        if mnist is not None:
            model_input[:] = mnist
    return inputs
