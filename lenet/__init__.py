"""LeNet on MNIST: data, model, training and the model's input contract.

Stages: `lenet.data` (real MNIST, verified) → `lenet.model` (the tutorial's LeNet) →
`lenet.train` (the `python -m lenet.train` command, writing a run folder).
`lenet.contract` holds the input contract that the exporter writes into the ONNX file.
"""
