"""Train the Number reader's pair reader (reader/numbers/pair_reader.onnx; reader.numbers.pairs).

Not a benchmark: this makes the file `reader.numbers.pairs` reads. Steps:

1. pictures written like the crowded numbers of tests/written_numbers.py, from MNIST *training*
   digits 0–54,999: two digits touching, crossing or close (`CROWDED_GAPS`), or one digit alone,
   each digit with its own pen, most slanted (`SLANTS`), a quarter photographed on paper (JPEG);
   each picture's ink map (`reader.preprocess.ink_map`) is shrunk to the Number reader's working
   height (`reader.numbers.segment.line_blobs`) and made the reader's input (`pairs.pair_input`);
2. a small convolutional network (three 5×5/3×3 convolutions with max-pooling, 128 ReLU units, 110
   classes: each digit alone and each ordered pair) is trained with Keras on them, and measured on
   pictures written from training digits 55,000–59,999, which it never saw;
3. it is converted with tf2onnx (export/tf_function.py, as LeNet's export is) and
   checked: ONNX Runtime must give the Keras probabilities on the held-out pictures.

    python benchmarks/fit_pair_reader.py            # ~25 min on 2 cores
    python benchmarks/fit_pair_reader.py --quick    # a check that it works (nothing written)
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.fitting import (HELD_OUT_POOL, TRAIN_POOL, kept_if_onnx_agrees, made_in_parallel,  # noqa: E402
                                training_digits, write_results)
from export.tf_function import onnx_graph  # noqa: E402
from reader.numbers import pairs, segment  # noqa: E402
from reader.preprocess import ink_map  # noqa: E402
from tests import written_numbers as written  # noqa: E402

PAIRS, SINGLES, HELD_OUT = 100_000, 25_000, 6_000   # pictures (held out: pairs and singles 4:1)
SLANTED_SHARE = 0.6        # of pictures: leaning by `written.SLANTS` (the rest upright)
PHOTO_SHARE = 0.25         # of pictures: photographed on paper (`written.photographed`)
EPOCHS = 8
RESULTS = ROOT / "benchmarks" / "results" / "pair_reader.json"

def pictures(job: tuple[int, int, bool, range]) -> tuple[np.ndarray, np.ndarray]:
    """`count` reader inputs and classes, from `seed`: two digits (`two`) or one, from `pool`."""
    seed, count, two, pool = job
    rng = np.random.default_rng(seed)
    inputs, classes = np.zeros((count, pairs.HEIGHT, pairs.WIDTH), np.float32), np.zeros(count, np.int64)
    made = 0
    while made < count:
        wanted = rng.integers(0, 10, 2 if two else 1)
        number = written.write(written.pick_digits(*training_digits(), wanted, rng, pool), rng,
                               gap_kinds=written.CROWDED_GAPS, breaks=False, marks=False, mixed_pens=True)
        image = number.image.convert("RGBA")
        if rng.random() < SLANTED_SHARE:
            image = written.slanted(image, float(rng.uniform(*written.SLANTS)))
        if rng.random() < PHOTO_SHARE:
            image = written.photographed(image, rng)
        x = pairs.pair_input(segment.line_blobs(ink_map(image)).ink)
        if x is None:
            continue
        inputs[made] = x
        classes[made] = pairs.class_index("".join(map(str, wanted)))
        made += 1
    return inputs, classes


def make_set(seed: int, two_count: int, one_count: int, pool: range, workers: int = 2):
    chunk = 2500
    jobs = [(seed * 1000 + k, min(chunk, two_count - start), True, pool) for k, start in enumerate(range(0, two_count, chunk))]
    jobs += [(seed * 1000 + 500 + k, min(chunk, one_count - start), False, pool) for k, start in enumerate(range(0, one_count, chunk))]
    return made_in_parallel(pictures, jobs, workers)


def build():
    import keras
    from keras import layers
    return keras.Sequential([
        keras.Input((pairs.HEIGHT, pairs.WIDTH, 1)),
        layers.Conv2D(20, 5, padding="same", activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(40, 5, padding="same", activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(60, 3, padding="same", activation="relu"), layers.MaxPooling2D(),
        layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dropout(0.3),
        layers.Dense(pairs.SINGLES + 100, activation="softmax"),
    ])


def convert(model):
    return onnx_graph(lambda x: {pairs.OUTPUT_NAME: model(x, training=False)},
                      {pairs.INPUT_NAME: (None, pairs.HEIGHT, pairs.WIDTH, 1)})


def scores(probabilities: np.ndarray, classes: np.ndarray) -> dict:
    two = classes >= pairs.SINGLES
    said_two = probabilities[:, pairs.SINGLES:].sum(axis=1) > pairs.PAIR_ABOVE
    right = probabilities.argmax(axis=1) == classes
    return {"pairs read right": round(float(right[two].mean()), 4),
            "pairs called two": round(float(said_two[two].mean()), 4),
            "singles read right": round(float(right[~two].mean()), 4),
            "singles called two": round(float(said_two[~two].mean()), 4)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few pictures and one epoch; nothing written")
    args = parser.parse_args(argv)
    started = time.time()
    two, one, held = (2000, 500, 500) if args.quick else (PAIRS, SINGLES, HELD_OUT)
    x, y = make_set(1, two, one, TRAIN_POOL)
    x_held, y_held = make_set(2, held * 4 // 5, held // 5, HELD_OUT_POOL)
    print(f"pictures: {len(x)} to train on, {len(x_held)} held out ({time.time() - started:.0f} s)", flush=True)

    import keras
    keras.utils.set_random_seed(0)
    model = build()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    epochs = 1 if args.quick else EPOCHS
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch: 1e-3 * (0.5 ** max(0, epoch - epochs // 2)))
    model.fit(x[..., None], y, batch_size=128, epochs=epochs, validation_data=(x_held[..., None], y_held),
              callbacks=[schedule], verbose=2)
    keras_probabilities = model.predict(x_held[..., None], batch_size=512, verbose=0)
    measured = scores(keras_probabilities, y_held)
    print("held out (Keras):", measured, flush=True)

    def largest_difference(reader):
        onnx_probabilities = reader.probabilities(x_held)
        same_answers = (onnx_probabilities.argmax(1) == keras_probabilities.argmax(1)).all()
        return np.abs(onnx_probabilities - keras_probabilities).max() if same_answers else np.inf

    gap = kept_if_onnx_agrees(convert(model), pairs.PairReader, largest_difference,
                              None if args.quick else pairs.WEIGHTS_FILE)
    if gap is None:
        return 1
    if args.quick:
        return 0
    write_results(RESULTS, "fit_pair_reader.py", {"pictures": len(x), "held out": len(x_held), "epochs": epochs,
                                          "held-out scores": measured, "largest ONNX/Keras difference": gap,
                                          "seconds": round(time.time() - started)})
    print(f"wrote {pairs.WEIGHTS_FILE} and {RESULTS} ({time.time() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
