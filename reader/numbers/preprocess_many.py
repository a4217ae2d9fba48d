"""`to_mnist` for many ink maps at once: the same answers, each costly step run once for all.

The Number reader preprocesses every candidate digit of a number (reader.numbers.segment: about 30 for five
digits) the way MNIST was made. One by one, each costs two blob labellings and filters and up to
three distance transforms: small calls whose fixed cost outweighs their work. Here the ink maps
are laid side by side on one canvas, far enough apart that no step can see one part from another
(`Canvas`), and each of those steps runs once on the canvas:

- specks: one labelling, each blob's area against the largest blob *of its own part*, one
  maximum filter (reach 2 px, parts ≥ 3 px apart);
- stroke width: one distance transform and one 3×3 maximum filter for the ridges of all masks
  (parts ≥ 1 px apart: every mask pixel's nearest background is its own part's);
- re-rendering at MNIST's width: one outside distance transform for all the parts to thicken (laid
  farther apart than any growth reaches), one inside distance transform for all those to thin.

Cropping, fitting into the 20-px box and centring by mass stay per part: they are cheap. The
result equals `[to_mnist(ink) for ink in inks]` (tests/test_preprocess.py holds them equal).
"""

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from reader.preprocess import (EIGHT_CONNECTED, INK_THRESHOLD, SPECK_FRACTION, as_ink_array, at_native_resolution,
                             blocky_cells, centre_by_mass, crop_to_ink, fit_in_box, grown, render_pad, ridge_of, stroke_offset, thinned, width_at_ridge)

SPECK_REACH = 2            # remove_specks keeps ink within this many px of a kept blob (a 5×5 filter)


@dataclass
class Canvas:
    """Arrays laid left to right on one zero canvas, `gap` px of zeros around each."""
    array: np.ndarray
    slices: list[tuple[slice, slice]]

    @classmethod
    def of(cls, arrays: list[np.ndarray], gap: int, dtype=np.float32) -> "Canvas":
        height = max(a.shape[0] for a in arrays) + 2 * gap
        width = sum(a.shape[1] for a in arrays) + gap * (len(arrays) + 1)
        canvas = np.zeros((height, width), dtype)
        slices, left = [], gap
        for a in arrays:
            where = (slice(gap, gap + a.shape[0]), slice(left, left + a.shape[1]))
            canvas[where] = a
            slices.append(where)
            left += a.shape[1] + gap
        return cls(canvas, slices)

    def parts(self, array: np.ndarray) -> list[np.ndarray]:
        """`array` (of the canvas's shape) cut back into the parts."""
        return [array[where] for where in self.slices]

    def part_of(self) -> np.ndarray:
        """Per canvas pixel, the index of its part; −1 in the gaps."""
        index = np.full(self.array.shape, -1, np.int32)
        for part, where in enumerate(self.slices):
            index[where] = part
        return index


def to_mnist_many(inks, image_size: int = 28, digit_box: int = 20,
                  enlargements: bool = True) -> list[np.ndarray | None]:
    """`reader.preprocess.to_mnist` of each ink map in `inks`, in order (None where one has no ink).
    With `enlargements` False no crop is looked at as a small picture enlarged
    (`reader.preprocess.blocky_cells`, `at_native_resolution`): each is read as a drawing."""
    if not 1 <= digit_box <= image_size:
        raise ValueError(f"need 1 <= digit_box <= image_size, got {digit_box} and {image_size}")
    inks = [as_ink_array(ink) for ink in inks]
    if not inks:
        return []
    cells = [blocky_cells(ink) if enlargements else None for ink in inks]  # before specks are cut, as to_mnist
    crops = [crop_to_ink(ink) for ink in without_specks(inks)]
    present = [index for index, crop in enumerate(crops) if crop is not None or cells[index] is not None]
    normalised = stroke_widths_normalised([(cells[i], False) if cells[i] is not None
                                           else at_native_resolution(crops[i]) if enlargements else (crops[i], True)
                                           for i in present], digit_box)
    out: list[np.ndarray | None] = [None] * len(inks)
    for index, crop in zip(present, normalised):
        crop = crop_to_ink(crop)
        out[index] = None if crop is None else centre_by_mass(fit_in_box(crop, digit_box), image_size)
    return out


def without_specks(inks: list[np.ndarray]) -> list[np.ndarray]:
    """`reader.preprocess.remove_specks` of each ink map: blobs under `SPECK_FRACTION` of their own
    map's largest blob dropped, and ink farther than `SPECK_REACH` px from a kept blob."""
    canvas = Canvas.of(inks, gap=SPECK_REACH + 1)
    blobs, count = ndi.label(canvas.array > INK_THRESHOLD, structure=EIGHT_CONNECTED)
    if count == 0:
        return [np.zeros_like(ink) for ink in inks]
    areas = np.bincount(blobs.ravel(), minlength=count + 1)
    part_of_blob = np.zeros(count + 1, np.int64)
    part_of_blob[blobs.ravel()] = canvas.part_of().ravel()
    largest = np.zeros(len(inks), np.int64)
    np.maximum.at(largest, part_of_blob[1:], areas[1:])
    kept = areas >= SPECK_FRACTION * largest[part_of_blob]
    kept[0] = False
    near_kept = ndi.maximum_filter(kept[blobs], size=2 * SPECK_REACH + 1, mode="constant")
    return canvas.parts(np.where(near_kept, canvas.array, 0).astype(np.float32))


def stroke_widths_normalised(crops: list[tuple[np.ndarray, bool]], digit_box: int) -> list[np.ndarray]:
    """`reader.preprocess.normalise_stroke_width` of each (crop, may_thin) (same rule, same rendering)."""
    if not crops:
        return []
    may_thin = [thin for _, thin in crops]
    crops = [crop for crop, _ in crops]
    masks = [crop > 0.5 for crop in crops]
    measured = [i for i, (crop, mask) in enumerate(zip(crops, masks)) if max(crop.shape) >= 2 * digit_box and mask.any()]
    offsets = {}
    for index, width in zip(measured, stroke_widths([masks[i] for i in measured])):
        offset = stroke_offset(width, max(crops[index].shape), digit_box)
        if offset is not None and (offset >= 0 or may_thin[index]):
            offsets[index] = offset
    out = list(crops)
    for index, crop in zip(offsets, rendered_offsets([masks[i] for i in offsets], list(offsets.values()))):
        out[index] = crop
    return out


def stroke_widths(masks: list[np.ndarray]) -> list[float]:
    """`reader.preprocess.stroke_width` of each mask."""
    if not masks:
        return []
    canvas = Canvas.of(masks, gap=1, dtype=bool)
    distance = ndi.distance_transform_edt(canvas.array)
    ridge = ridge_of(canvas.array, distance)
    return [width_at_ridge(d, r) for d, r in zip(canvas.parts(distance), canvas.parts(ridge))]


def rendered_offsets(masks: list[np.ndarray], offsets: list[float]) -> list[np.ndarray]:
    """`reader.preprocess.render_offset` of each mask padded as `normalise_stroke_width` pads it:
    the masks to grow on one canvas (one outside distance transform; they lie farther apart than
    any growth reaches), those to thin on another (one inside distance transform)."""
    out: list[np.ndarray | None] = [None] * len(masks)
    growing = [i for i, offset in enumerate(offsets) if offset >= 0]
    thinning = [i for i, offset in enumerate(offsets) if offset < 0]
    if growing:
        pads = [render_pad(offsets[i]) for i in growing]
        canvas = Canvas.of([np.pad(masks[i], pad) for i, pad in zip(growing, pads)], gap=max(pads) + 1, dtype=bool)
        outside = ndi.distance_transform_edt(~canvas.array)
        for i, mask, distance in zip(growing, canvas.parts(canvas.array), canvas.parts(outside)):
            out[i] = grown(mask, distance, offsets[i])
    if thinning:
        canvas = Canvas.of([np.pad(masks[i], render_pad(offsets[i])) for i in thinning], gap=1, dtype=bool)
        inside = ndi.distance_transform_edt(canvas.array)
        for i, mask, distance in zip(thinning, canvas.parts(canvas.array), canvas.parts(inside)):
            out[i] = thinned(mask, distance, offsets[i])
    return out
