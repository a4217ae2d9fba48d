"""Training-only augmentation: how other writers and scanners differ from MNIST.

`writers_augmentation()` is the 'robust' recipe's stack, applied to float32 batches (N, 28, 28, 1)
in [0, 1] in front of LeNet: thicker or thinner strokes (`StrokeWidth`), small rotations, shear,
scale, shifts and elastic distortion (Simard, Steinkraus & Platt 2003) in one resampling
(`RandomGeometry`), and occasional low resolution (`LowResolution`). Written in backend-agnostic
`keras.ops`, vectorised over the batch, with Keras seed generators, so training runs on TensorFlow
and JAX alike (compiled into the training step) and a seed gives the same stream. `RandomShift` is
the 'fast' recipe's whole-pixel shifts. Every layer is the identity when `training` is
false, keeps values in [0, 1] and leaves labels alone.

Why not Keras's RandomRotation, RandomShear, RandomZoom and RandomTranslation: each resamples the
whole batch, and four resamplings cost more than LeNet's own training step on a 2-core CPU and blur
the digit four times; one composed resampling does the same geometry once. Keras's
RandomElasticTransform draws its x and y displacement fields from the same seed, so every pixel
moves along the diagonal; `RandomGeometry` draws them independently.
"""

import keras
import numpy as np
from keras import layers, ops


class StrokeWidth(layers.Layer):
    """Thicker or thinner strokes: each image, with probability `rate`, is blended toward its 3×3 grey
    dilation (by up to `max_thicken`) or erosion (by up to `max_thin`), then rescaled so its brightest
    pixel is as bright as before."""

    def __init__(self, rate: float = 0.5, max_thicken: float = 1.0, max_thin: float = 0.6, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.max_thicken, self.max_thin, self.seed = rate, max_thicken, max_thin, seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=False):
        if not training:
            return images
        per_image = (ops.shape(images)[0], 1, 1, 1)
        amount = keras.random.uniform(per_image, -1.0, 1.0, seed=self.generator)  # < 0 thinner, > 0 thicker
        amount = ops.where(keras.random.uniform(per_image, seed=self.generator) < self.rate, amount, 0.0)
        dilated = ops.max_pool(images, 3, strides=1, padding="same")
        eroded = -ops.max_pool(-images, 3, strides=1, padding="same")
        changed = (images + ops.relu(amount) * self.max_thicken * (dilated - images)
                   + ops.relu(-amount) * self.max_thin * (eroded - images))
        return keep_brightest(images, changed)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "max_thicken": self.max_thicken,
                "max_thin": self.max_thin, "seed": self.seed}


class RandomGeometry(layers.Layer):
    """Rotation, shear, scale, shift and elastic distortion in ONE bilinear resampling (zero outside).

    Per image: a shift up to ±`shift_pixels` on each axis; with probability `rate`, also a rotation
    up to ±`degrees`, a horizontal shear up to ±`shear` (x += shear·y) and a scale in
    [1 − `scale`, 1 + `scale`]; and with probability `elastic_rate`, Simard et al.'s (2003) elastic
    field: per-pixel displacements uniform in [-1, 1] on each axis (drawn independently), smoothed
    by a Gaussian of `sigma` pixels, scaled by `alpha`. Composing them costs one resampling instead
    of five, and blurs the digit once."""

    def __init__(self, degrees: float = 15.0, shear: float = 0.2, scale: float = 0.15, shift_pixels: float = 2.0,
                 alpha: float = 34.0, sigma: float = 4.0, rate: float = 1.0, elastic_rate: float = 0.5, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.degrees, self.shear, self.scale, self.shift_pixels = degrees, shear, scale, shift_pixels
        self.alpha, self.sigma, self.rate, self.elastic_rate, self.seed = alpha, sigma, rate, elastic_rate, seed
        self.generator = keras.random.SeedGenerator(seed)

    def elastic_field(self, batch, height: int, width: int):
        """(batch, height, width, 2) smoothed displacements in pixels (rows, columns)."""
        noise = keras.random.uniform((batch, height, width, 2), -1.0, 1.0, seed=self.generator)
        taps = np.arange(-int(3 * self.sigma), int(3 * self.sigma) + 1, dtype=np.float32)
        kernel = np.exp(-0.5 * (taps / self.sigma) ** 2)
        kernel = np.tile((kernel / kernel.sum())[:, None, None], (1, 2, 1))  # (taps, 2 channels, 1)
        smooth = ops.depthwise_conv(noise, kernel[:, None], padding="same")       # along rows
        smooth = ops.depthwise_conv(smooth, kernel[None, :], padding="same")      # along columns
        return self.alpha * smooth

    def call(self, images, training=False):
        if not training:
            return images
        batch, height, width = ops.shape(images)[0], images.shape[1], images.shape[2]

        def uniform(limit):
            return keras.random.uniform((batch, 1, 1), -limit, limit, seed=self.generator)

        warp = ops.cast(keras.random.uniform((batch, 1, 1), seed=self.generator) < self.rate, "float32")
        angle = warp * uniform(np.deg2rad(self.degrees))
        shear, zoom = warp * uniform(self.shear), 1.0 + warp * uniform(self.scale)
        shift_rows, shift_cols = uniform(self.shift_pixels), uniform(self.shift_pixels)
        # output pixel (y, x) relative to the centre reads the input at R(angle)·Shear·(y, x)/zoom
        y = ops.arange(height, dtype="float32")[None, :, None] - (height - 1) / 2
        x = ops.arange(width, dtype="float32")[None, None, :] - (width - 1) / 2
        x = x + shear * y
        cos, sin = ops.cos(angle), ops.sin(angle)
        rows = (cos * y - sin * x) / zoom + (height - 1) / 2 + shift_rows
        cols = (sin * y + cos * x) / zoom + (width - 1) / 2 + shift_cols
        elastic = self.elastic_field(batch, height, width)
        elastic = ops.where(keras.random.uniform((batch, 1, 1, 1), seed=self.generator) < self.elastic_rate,
                            elastic, 0.0)
        return bilinear_sample(images, rows + elastic[..., 0], cols + elastic[..., 1])

    def get_config(self):
        return {**super().get_config(), "degrees": self.degrees, "shear": self.shear, "scale": self.scale,
                "shift_pixels": self.shift_pixels, "alpha": self.alpha, "sigma": self.sigma, "rate": self.rate,
                "elastic_rate": self.elastic_rate, "seed": self.seed}


class LowResolution(layers.Layer):
    """A coarse scan: each image, with probability `rate`, is averaged down by one of `factors`
    (28 → 14 or 7 pixels) and upsampled back bilinearly; its brightest pixel is then as bright as
    before."""

    def __init__(self, rate: float = 0.15, factors=(2, 4), seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.factors, self.seed = rate, tuple(factors), seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=False):
        if not training:
            return images
        size = (images.shape[1], images.shape[2])
        coarse = [ops.image.resize(ops.average_pool(images, factor, strides=factor), size) for factor in self.factors]
        per_image = (ops.shape(images)[0],)
        choice = keras.random.randint(per_image, 0, len(self.factors), seed=self.generator)
        choice = ops.where(keras.random.uniform(per_image, seed=self.generator) < self.rate, choice, -1)
        changed = images
        for k, version in enumerate(coarse):
            changed = ops.where(ops.reshape(choice == k, (-1, 1, 1, 1)), version, changed)
        return keep_brightest(images, ops.clip(changed, 0.0, 1.0))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "factors": list(self.factors), "seed": self.seed}


class RandomShift(layers.Layer):
    """Whole-pixel shifts: each image moved by up to ±`pixels` rows and columns, zero filled. An
    offset is drawn uniform in [−`pixels`, `pixels`] and rounded, as Keras's RandomTranslation with
    nearest interpolation draws it; the move is two products with one-hot shift matrices, so the
    layer compiles into the training step (RandomTranslation says it cannot be compiled, and then
    Keras runs the whole step op by op on JAX: >170 s for the fast recipe's 2 epochs on an H200)."""

    def __init__(self, pixels: int = 2, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.pixels, self.seed = pixels, seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=False):
        if not training:
            return images
        per_image = (ops.shape(images)[0], 1, 1)
        down = ops.round(keras.random.uniform(per_image, -self.pixels, self.pixels, seed=self.generator))
        right = ops.round(keras.random.uniform(per_image, -self.pixels, self.pixels, seed=self.generator))
        rows = shift_matrices(images.shape[1], down, images.dtype)      # (batch, to, from)
        columns = shift_matrices(images.shape[2], right, images.dtype)
        return ops.einsum("bij,bjkc,blk->bilc", rows, images, columns)

    def get_config(self):
        return {**super().get_config(), "pixels": self.pixels, "seed": self.seed}


def shift_matrices(size: int, offsets, dtype):
    """(batch, size, size) one-hot matrices M with M[b, i, j] = 1 where j = i − offsets[b]: M @ x
    moves x's rows (or columns) by offsets[b], what moves out dropped, zeros moved in."""
    to = ops.reshape(ops.arange(size, dtype="float32"), (1, size, 1))
    source = ops.reshape(ops.arange(size, dtype="float32"), (1, 1, size))
    return ops.cast(ops.equal(source, to - offsets), dtype)


def bilinear_sample(images, rows, cols):
    """Images (N, H, W, 1) read at fractional (rows, cols) of shape (N, H, W); zero outside."""
    batch, height, width = ops.shape(images)[0], images.shape[1], images.shape[2]
    padded = ops.reshape(ops.pad(images[..., 0], [[0, 0], [1, 1], [1, 1]]), (-1,))  # a zero border to read outside
    base = ops.arange(batch)[:, None, None] * ((height + 2) * (width + 2))
    top, left = ops.floor(rows), ops.floor(cols)
    down, right = rows - top, cols - left

    def read(r, c):
        r = ops.clip(ops.cast(r, "int32") + 1, 0, height + 1)
        c = ops.clip(ops.cast(c, "int32") + 1, 0, width + 1)
        return ops.take(padded, base + r * (width + 2) + c)

    value = ((1 - down) * ((1 - right) * read(top, left) + right * read(top, left + 1))
             + down * ((1 - right) * read(top + 1, left) + right * read(top + 1, left + 1)))
    return ops.clip(value, 0.0, 1.0)[..., None]


def keep_brightest(original, changed):
    """`changed` rescaled per image so that its brightest pixel equals the original's (MNIST's
    digits, and the demo's inputs, all reach full ink)."""
    before = ops.max(original, axis=(1, 2, 3), keepdims=True)
    after = ops.max(changed, axis=(1, 2, 3), keepdims=True)
    return changed * ops.where(after > 0, before / ops.maximum(after, 1e-6), 1.0)


def writers_augmentation(shift_pixels: int, seed: int) -> list[layers.Layer]:
    """The 'robust' recipe's layers, in the order they act. `seed` makes the stream repeatable."""
    return [StrokeWidth(rate=0.3, seed=seed, name="stroke_width"),
            RandomGeometry(shift_pixels=shift_pixels, rate=0.5, elastic_rate=0.3, seed=seed + 1, name="geometry"),
            LowResolution(rate=0.1, seed=seed + 2, name="low_resolution")]
