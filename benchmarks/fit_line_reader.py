"""Train the Number reader's line readers (reader/numbers/line_reader.onnx, reader.numbers.line_reader;
with --not-digits reader/numbers/line_reader_not_digits.onnx, reader.numbers.line_not_digits).

Not a benchmark: this makes the files those modules read. Steps:

1. numbers written like those of tests/written_numbers.py, from MNIST *training* digits 0–54,999
   (`KINDS`: crowded — touching, crossing, slanted, mixed pens, a third photographed on paper —,
   hard, ordinary, touching pairs and lone digits); each picture's ink map
   (`reader.preprocess.ink_map`) is taken to the Number reader's working height
   (`reader.numbers.segment.line_blobs`) and made the line reader's input (`line_input`);
   with `--not-digits` (the second reader, which only says which digits are none), besides
   them `NOT_DIGIT_TRAIN` pictures holding what is not a digit (`NOT_DIGIT_KINDS`: numbers with a
   doodle, mark or letter beside them, labelled with their digits only, and lone taps, doodles,
   marks, letters and filled blobs, labelled with nothing) and numbers drawn with an even pen, as
   the sketchpad draws them, labelled with their digits (`even_pen`; `tests/non_digits.py`, the
   tuning split's seed family and fonts, never the evaluation split's), so that it reads no digit
   where there is none (the path reads a letter's strokes as "1"s);
2. a small fully convolutional network (`build`: five 3×3 convolutions with max-pooling down to
   one row, every `STRIDE` columns a step, two 1-D convolutions along the line for context, 11
   classes: blank and the ten digits) is trained with Keras and the CTC loss, and measured on
   numbers written from training digits 55,000–59,999, which it never saw;
3. it is converted with tf2onnx (export/tf_function.py, as LeNet's export is) and
   checked: ONNX Runtime must give the Keras log-probabilities on the held-out pictures.

    python benchmarks/fit_line_reader.py            # ~40 min on 2 cores
    python benchmarks/fit_line_reader.py --not-digits   # the second reader: ~46 min on 2 cores
    python benchmarks/fit_line_reader.py --quick    # a check that it works (nothing written)
"""

import argparse
import functools
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.fitting import (HELD_OUT_POOL, TRAIN_POOL, kept_if_onnx_agrees, made_in_parallel,  # noqa: E402
                                training_digits, write_results)
from export.tf_function import onnx_graph  # noqa: E402
from reader.numbers import line_not_digits, line_reader, segment  # noqa: E402
from reader.preprocess import ink_map  # noqa: E402
from tests import non_digits, written_numbers as written  # noqa: E402

KINDS = {"crowded": 0.4, "hard": 0.25, "ordinary": 0.15, "pair": 0.12, "lone": 0.08}  # share of pictures
TRAIN, HELD_OUT = 100_000, 4_000
WIDTH = 192                # training frame width (px): pictures are padded to it; wider ones drawn again
MAX_DIGITS = 8             # labels per picture (hard numbers have at most 6)
EPOCHS = 7
NOT_DIGIT_KINDS = {"beside": 0.5, "none": 0.25, "even": 0.25}   # share of the not-digit pictures
EVEN_SHARE = 0.3           # of the numbers beside a non-digit: drawn with an even pen, as the sketchpad draws
EVEN_LEVELS = (0.3, 0.8)   # an even pen's picture is the ink above a level drawn from this range
NOT_DIGIT_TRAIN, NOT_DIGIT_HELD_OUT = 20_000, 1_000
BESIDE_KINDS = ("doodles", "marks", "letters")
ALONE_KINDS = ("taps", "doodles", "marks", "letters", "blobs")
RESULTS = ROOT / "benchmarks" / "results" / "line_reader.json"
RESULTS_NOT_DIGITS = ROOT / "benchmarks" / "results" / "line_reader_not_digits.json"

def written_number(kind: str, rng: np.random.Generator, pool: range):
    """One picture of `kind` (`KINDS`) written from `pool`'s digits: (PIL image, its text)."""
    if kind == "lone":
        wanted = rng.integers(0, 10, 1)
    elif kind == "pair":
        wanted = rng.integers(0, 10, 2)
    elif kind == "hard":
        wanted = rng.integers(0, 10, int(rng.integers(2, 7)))
    else:
        wanted = rng.integers(0, 10, int(rng.integers(3, 6)))
    digits = written.pick_digits(*training_digits(), wanted, rng, pool)
    if kind == "crowded" or kind == "pair":
        number = written.write(digits, rng, gap_kinds=written.CROWDED_GAPS, breaks=False, marks=False, mixed_pens=True)
        image = written.slanted(number.image.convert("RGBA"), float(rng.uniform(*written.SLANTS)))
        if rng.random() < written.PHOTOGRAPHED_SHARE:
            image = written.photographed(image, rng)
        return image, number.text
    if kind == "hard":
        number = written.write(digits, rng)
    elif kind == "ordinary":
        number = written.write(digits, rng, gap_kinds=written.ORDINARY_GAPS, breaks=False, marks=False)
    else:
        number = written.write(digits, rng, breaks=False, marks=False)
    return number.image, number.text


def not_digit_picture(kind: str, rng: np.random.Generator, pool: range):
    """One picture of `kind` (`NOT_DIGIT_KINDS`): a number of `pool`'s digits with a non-digit
    beside it, and its text, or a lone non-digit and "" (tests/non_digits.py, tuning fonts)."""
    images, labels = training_digits()
    images, labels = images[pool.start:pool.stop], labels[pool.start:pool.stop]
    if kind == "beside":
        text, picture = non_digits.beside_number(BESIDE_KINDS[rng.integers(len(BESIDE_KINDS))], rng, images, labels,
                                                 digits=int(rng.integers(2, 6)), split=non_digits.TUNING)
        return (even_pen(picture, rng) if rng.random() < EVEN_SHARE else picture), text
    if kind == "even":
        picture, text = written_number(kind_drawn(KINDS, rng), rng, pool)
        return even_pen(picture, rng), text
    return non_digits.non_digit(ALONE_KINDS[rng.integers(len(ALONE_KINDS))], rng, tuning_fonts(), images, labels), ""


def kind_drawn(kinds: dict[str, float], rng: np.random.Generator) -> str:
    """One of `kinds` (name: share), drawn by its share."""
    names = list(kinds)
    chances = np.array([kinds[name] for name in names])
    return names[rng.choice(len(names), p=chances / chances.sum())]


def even_pen(picture, rng: np.random.Generator):
    """`picture` as an even pen would draw it: its ink above a random level (`EVEN_LEVELS`), full
    black on white, no soft edge. Every non-digit here is drawn so; without digits drawn so too, a
    reader learns "an even pen is no digit" and reads the sketchpad's digits as nothing."""
    ink = ink_map(picture) > rng.uniform(*EVEN_LEVELS)
    return non_digits.ink_picture(ink.astype(np.float32))


@functools.cache
def tuning_fonts() -> list[str]:
    """The tuning split's font files, looked up once a process."""
    return non_digits.fonts(non_digits.TUNING)


def input_of(image) -> np.ndarray | None:
    """The line reader's input for a picture, as `reader.pipeline.read_number` makes it."""
    blobs = segment.line_blobs(ink_map(image))
    return line_reader.line_input(blobs.ink, blobs.labels, blobs.height)


def pictures(job: tuple[int, int, range, bool]) -> tuple[np.ndarray, np.ndarray]:
    """`count` inputs (uint8, padded to `WIDTH`) and their labels (1 + digit, 0-padded), from `seed`:
    written numbers (`KINDS`), or with `not_digits` pictures holding non-digits (`NOT_DIGIT_KINDS`)."""
    seed, count, pool, not_digits = job
    rng = np.random.default_rng(seed)
    kinds, make = (NOT_DIGIT_KINDS, not_digit_picture) if not_digits else (KINDS, written_number)
    inputs = np.zeros((count, line_reader.HEIGHT, WIDTH), np.uint8)
    labels = np.zeros((count, MAX_DIGITS), np.int32)
    made = 0
    while made < count:
        image, text = make(kind_drawn(kinds, rng), rng, pool)
        x = input_of(image)
        if x is None or x.pixels.shape[1] > WIDTH:
            continue
        inputs[made, :, :x.pixels.shape[1]] = np.rint(x.pixels * 255)
        labels[made, :len(text)] = [1 + int(c) for c in text]
        made += 1
    return inputs, labels


def make_set(seed: int, count: int, pool: range, not_digits: bool = False, workers: int = 2):
    chunk = 2000
    jobs = [(seed * 1000 + k, min(chunk, count - start), pool, not_digits) for k, start in enumerate(range(0, count, chunk))]
    return made_in_parallel(pictures, jobs, workers)


def build():
    import keras
    from keras import layers

    def conv(x, filters, kernel=3, padding="same"):
        x = layers.Conv2D(filters, kernel, padding=padding, use_bias=False)(x)
        return layers.ReLU()(layers.BatchNormalization()(x))

    line = keras.Input((line_reader.HEIGHT, None, 1), name=line_reader.INPUT_NAME)
    x = layers.MaxPooling2D(2)(conv(line, 16))                 # 16 × w/2
    x = layers.MaxPooling2D(2)(conv(x, 32))                    # 8 × w/4
    x = layers.MaxPooling2D((2, 1))(conv(conv(x, 48), 48))     # 4 × w/4
    x = layers.MaxPooling2D((2, 1))(conv(x, 64))               # 2 × w/4
    x = conv(x, 96, kernel=(2, 1), padding="valid")            # 1 × w/4
    x = layers.Reshape((-1, 96))(x)
    for _ in range(2):
        x = layers.ReLU()(layers.BatchNormalization()(layers.Conv1D(96, 5, padding="same", use_bias=False)(x)))
    x = layers.Dropout(0.2)(x)
    logits = layers.Dense(11)(x)
    return keras.Model(line, logits)


def ctc_loss(labels, logits):
    import keras
    lengths = keras.ops.sum(keras.ops.cast(labels > 0, "int32"), axis=1)
    steps = keras.ops.full((keras.ops.shape(logits)[0],), keras.ops.shape(logits)[1], dtype="int32")
    return keras.ops.ctc_loss(labels, logits, lengths, steps, mask_index=line_reader.BLANK)


def convert(model):
    import tensorflow as tf
    return onnx_graph(lambda x: {line_reader.OUTPUT_NAME: tf.nn.log_softmax(model(x, training=False), axis=-1)},
                      {line_reader.INPUT_NAME: (None, line_reader.HEIGHT, None, 1)})


def texts(labels: np.ndarray) -> list[str]:
    return ["".join(str(k - 1) for k in row if k > 0) for row in labels]


def read_right(log_probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean([line_reader.best_text(p) == t for p, t in zip(log_probabilities, texts(labels))]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few pictures and one epoch; nothing written")
    parser.add_argument("--cache", type=Path, help="keep the pictures in this .npz (made once, read after)")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--not-digits", action="store_true", help="train on pictures holding non-digits too "
                        f"(NOT_DIGIT_KINDS): the second line reader, {line_not_digits.WEIGHTS_FILE.name}, which "
                        "finds the digits that are none (reader.numbers.line_not_digits)")
    parser.add_argument("--output", type=Path, help="where to write the reader (default: the one the Number "
                        f"reader reads, {line_reader.WEIGHTS_FILE.name} or with --not-digits "
                        f"{line_not_digits.WEIGHTS_FILE.name}, in reader/numbers/)")
    args = parser.parse_args(argv)
    shipped = line_not_digits.WEIGHTS_FILE if args.not_digits else line_reader.WEIGHTS_FILE
    results = RESULTS_NOT_DIGITS if args.not_digits else RESULTS
    args.output = args.output or shipped
    started = time.time()
    train, held = (3000, 500) if args.quick else (TRAIN, HELD_OUT)
    nd_train, nd_held = (400, 100) if args.quick else (NOT_DIGIT_TRAIN, NOT_DIGIT_HELD_OUT)
    saved = dict(np.load(args.cache)) if args.cache and args.cache.exists() else {}
    cached = set(saved)
    if "x" not in saved:
        saved["x"], saved["y"] = make_set(1, train, TRAIN_POOL)
        saved["x_held"], saved["y_held"] = make_set(2, held, HELD_OUT_POOL)
    if args.not_digits and "x_nd" not in saved:     # a cache made before the not-digit pictures gets them added
        saved["x_nd"], saved["y_nd"] = make_set(3, nd_train, TRAIN_POOL, not_digits=True)
        saved["x_nd_held"], saved["y_nd_held"] = make_set(4, nd_held, HELD_OUT_POOL, not_digits=True)
    if args.cache and set(saved) != cached:
        np.savez(args.cache, **saved)
    empty = (np.zeros((0,) + saved["x"].shape[1:], np.uint8), np.zeros((0, MAX_DIGITS), np.int32))
    x_nd, y_nd = (saved["x_nd"], saved["y_nd"]) if args.not_digits else empty
    x_nd_held, y_nd_held = (saved["x_nd_held"], saved["y_nd_held"]) if args.not_digits else empty
    x, y = np.concatenate([saved["x"], x_nd]), np.concatenate([saved["y"], y_nd])
    x_held, y_held = saved["x_held"], saved["y_held"]
    print(f"pictures: {len(x)} to train on ({len(x_nd)} holding non-digits), {len(x_held)} + "
          f"{len(x_nd_held)} held out ({time.time() - started:.0f} s)", flush=True)

    import keras
    keras.utils.set_random_seed(0)
    model = build()
    epochs = 1 if args.quick else args.epochs
    steps = epochs * (len(x) // 128)
    schedule = keras.optimizers.schedules.CosineDecay(0.0, steps, warmup_target=2e-3, warmup_steps=steps // 20)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=ctc_loss)
    model.fit(x[..., None].astype(np.float32) / 255, y, batch_size=128, epochs=epochs, shuffle=True,
              validation_data=(x_held[..., None].astype(np.float32) / 255, y_held), verbose=2)
    held_in = x_held[..., None].astype(np.float32) / 255
    keras_log_p = np.asarray(keras.ops.log_softmax(model.predict(held_in, batch_size=256, verbose=0), axis=-1))
    measured = {"held-out numbers read right (best path)": round(read_right(keras_log_p, y_held), 4)}
    if args.not_digits:
        nd_in = x_nd_held[..., None].astype(np.float32) / 255
        nd_log_p = np.asarray(keras.ops.log_softmax(model.predict(nd_in, batch_size=256, verbose=0), axis=-1))
        beside, alone = (y_nd_held > 0).any(axis=1), ~(y_nd_held > 0).any(axis=1)
        measured["held-out numbers beside a non-digit or drawn with an even pen read right (best path)"] = round(
            read_right(nd_log_p[beside], y_nd_held[beside]), 4)
        measured["held-out lone non-digits read as no digit"] = round(read_right(nd_log_p[alone], y_nd_held[alone]), 4)
    print("held out (Keras):", measured, flush=True)

    def largest_difference(reader):
        onnx_log_p = np.stack([reader.log_probabilities(held_in[k, :, :, 0]) for k in range(min(500, len(held_in)))])
        return np.abs(np.exp(onnx_log_p) - np.exp(keras_log_p[:len(onnx_log_p)])).max()

    gap = kept_if_onnx_agrees(convert(model), line_reader.LineReader, largest_difference,
                              None if args.quick else args.output)
    if gap is None:
        return 1
    if args.quick:
        return 0
    if args.output != shipped:
        print(f"wrote {args.output} ({time.time() - started:.0f} s)")
        return 0
    write_results(results, "fit_line_reader.py" + (" --not-digits" if args.not_digits else ""),
                  {"pictures": len(x), "of them holding non-digits": len(x_nd), "held out": len(x_held) + len(x_nd_held),
                   "epochs": epochs, "held-out scores": measured, "largest ONNX/Keras difference": gap,
                   "seconds": round(time.time() - started)})
    print(f"wrote {args.output} and {results} ({time.time() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
