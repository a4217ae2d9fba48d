"""The number reader: recognition-based segmentation (LeCun et al. 1998, §VI).

Stages, as `reader.pipeline.read_number` runs them: segment (over-segment the ink into pieces and
candidate digits), preprocess_many (every candidate preprocessed like MNIST, together), best_path
(the digits chosen as the best path through the candidates; number_weights.json holds the path's
fitted weights), whole_digit (with whole_digit.onnx: the learned check that a candidate is one
whole digit), reread (the unsure digits read again at full size), not_digits (a doodle or mark
beside the number left out), pairs (with pair_reader.onnx: a chosen digit read as two touching
digits becomes two).
"""
