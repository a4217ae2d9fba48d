"""The training benchmark's peers, run as their authors wrote them, on the same MNIST arrays:

- keras-io `examples/vision/mnist_convnet.py` (fchollet): its model, `compile` settings (Adam,
  categorical cross-entropy), batch 128, 15 epochs and `validation_split=0.1`, unchanged;
- pytorch/examples `mnist/main.py`: its `Net`, Adadelta lr 1.0 with StepLR gamma 0.7 per epoch,
  batch 64, 14 epochs, inputs normalised with (0.1307, 0.3081), no shuffling (the example only
  shuffles when an accelerator is used), unchanged. torchvision is replaced by the same arithmetic
  on the same arrays. Runs only when `torch` is importable, and in a process of its own
  (`python -m benchmarks.peers torch`, which `train_speed.py` starts): with TensorFlow loaded in
  the same process, importing torch's optimizers (they import triton) crashes it with a
  segmentation fault (torch 2.14, TensorFlow 2.21).

Each is scored on the 10,000 test images after every epoch, with the clock paused while it is
scored, and stops once it reaches `stop_at`. Both return the same record as the project's recipes.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from lenet import contract


def epoch_record(name: str, curve: list[dict], samples_per_epoch: int, stop_at: float | None, **extra) -> dict:
    """The benchmark's record for a run scored after each epoch: seconds and epochs to each target."""
    reached = {}
    for point in curve:
        for target in (0.98, 0.99):
            key = f"{target:.0%}"
            if point["test_accuracy"] >= target and key not in reached:
                reached[key] = {"train_seconds": point["train_seconds"], "epoch": point["epoch"]}
    seconds = curve[-1]["train_seconds"] if curve else 0.0
    return {"name": name, "evaluation": "after every epoch", "epochs_run": len(curve), "train_seconds": seconds,
            "seconds_per_epoch": round(seconds / max(1, len(curve)), 2),
            "samples_per_second": round(samples_per_epoch * len(curve) / seconds, 1) if seconds else None,
            "reached": {key: reached.get(key) for key in ("98%", "99%")}, "stop_at": stop_at,
            "final_test_accuracy": curve[-1]["test_accuracy"] if curve else None, "curve": curve, **extra}


def keras_io_convnet(splits, seed: int, stop_at: float | None = 0.99, epochs: int = 15) -> dict:
    """keras-io's Simple MNIST convnet, exactly as published (see the module docstring)."""
    import keras
    from keras import layers

    from lenet.training import predict_in_batches

    (x_train, y_train), (x_test, y_test) = splits
    keras.utils.set_random_seed(seed)
    x_train, x_test = contract.to_model_input(x_train), contract.to_model_input(x_test)
    y_train = keras.utils.to_categorical(y_train, contract.CLASSES)
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(contract.CLASSES, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])

    class ScoreEachEpoch(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start, self.paused, self.curve = time.perf_counter(), 0.0, []

        def on_epoch_end(self, epoch, logs=None):
            seconds, paused_at = time.perf_counter() - self.start - self.paused, time.perf_counter()
            accuracy = float(np.mean(predict_in_batches(self.model, x_test).argmax(1) == y_test))
            self.curve.append({"epoch": epoch + 1, "train_seconds": round(seconds, 2), "test_accuracy": accuracy})
            self.model.stop_training = stop_at is not None and accuracy >= stop_at
            self.paused += time.perf_counter() - paused_at

    score = ScoreEachEpoch()
    model.fit(x_train, y_train, batch_size=128, epochs=epochs, validation_split=0.1, verbose=0, callbacks=[score])
    return epoch_record("keras-io mnist_convnet", score.curve, int(len(x_train) * 0.9), stop_at,
                        parameters=int(model.count_params()), source="keras-team/keras-io examples/vision/mnist_convnet.py")


def pytorch_mnist(splits, seed: int, stop_at: float | None = 0.99, epochs: int = 14) -> dict | None:
    """pytorch/examples mnist/main.py, exactly as published (see the module docstring); None
    when torch is not installed."""
    try:
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
        from torch.optim.lr_scheduler import StepLR
    except ImportError:
        return None

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = F.relu(self.conv2(F.relu(self.conv1(x))))
            x = self.dropout1(F.max_pool2d(x, 2))
            x = self.dropout2(F.relu(self.fc1(torch.flatten(x, 1))))
            return F.log_softmax(self.fc2(x), dim=1)

    def tensors(images, labels):  # transforms.ToTensor() + Normalize((0.1307,), (0.3081,))
        x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
        return (x - 0.1307) / 0.3081, torch.from_numpy(labels.astype(np.int64))

    (x_train, y_train), (x_test, y_test) = splits
    torch.manual_seed(seed)
    train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*tensors(x_train, y_train)), batch_size=64)
    test_x, test_y = tensors(x_test, y_test)
    model = Net()
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    curve, trained = [], 0.0
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        model.train()
        for data, target in train_loader:
            optimizer.zero_grad()
            loss = F.nll_loss(model(data), target)
            loss.backward()
            optimizer.step()
        trained += time.perf_counter() - started
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(test_x[i:i + 1000]).argmax(1) == test_y[i:i + 1000]).sum())
                          for i in range(0, len(test_y), 1000))
        scheduler.step()
        curve.append({"epoch": epoch, "train_seconds": round(trained, 2), "test_accuracy": correct / len(test_y)})
        if stop_at is not None and curve[-1]["test_accuracy"] >= stop_at:
            break
    return epoch_record("PyTorch examples/mnist", curve, len(x_train), stop_at,
                        parameters=sum(p.numel() for p in model.parameters()), torch=torch.__version__,
                        torch_threads=torch.get_num_threads(), source="pytorch/examples mnist/main.py")


def main(argv=None) -> int:
    """`python -m benchmarks.peers torch --out FILE`: the PyTorch row alone, in this process (no
    TensorFlow), its record written as JSON. Exit status 3 when torch is not installed."""
    parser = argparse.ArgumentParser(description="Run the PyTorch examples/mnist peer alone; write its record as JSON.")
    parser.add_argument("peer", choices=["torch"])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stop-at", type=float, default=0.99)
    parser.add_argument("--epochs", type=int, default=14)
    parser.add_argument("--limit", type=int, help="training images (a smoke run)")
    args = parser.parse_args(argv)
    from lenet.data import load_mnist
    splits = load_mnist()
    if args.limit:
        splits = tuple((x[:args.limit], y[:args.limit]) for x, y in splits)
    result = pytorch_mnist(splits, args.seed, args.stop_at, args.epochs)
    if result is None:
        return 3
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
