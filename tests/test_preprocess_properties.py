"""Property tests: whatever array, bytes or sketchpad value arrives, preprocessing (and the trust
boundary before it) either gives a valid model input (or None for "nothing drawn") or raises
InputError — never another exception."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays
from PIL import Image

from demo import inputs
from reader.errors import InputError
from reader.images import WORKING_SIDE as MAX_SIDE
from reader.images import load_image
from reader.preprocess import preprocess, to_mnist
from reader.numbers.best_path import noise_features
from reader.numbers.segment import oversegment

SETTINGS = settings(max_examples=200, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

DTYPES = st.sampled_from([np.uint8, np.uint16, np.int8, np.int16, np.int32, np.int64, np.uint64, np.float16,
                          np.float32, np.float64, np.bool_])
SHAPES = array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=48)
IMAGE_SHAPES = st.one_of(array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=64),
                         st.tuples(st.integers(1, 64), st.integers(1, 64), st.sampled_from([1, 2, 3, 4])))


def any_array():
    """Arrays of any dtype and shape, values anywhere in the dtype's range (NaN, ±inf included)."""
    return DTYPES.flatmap(lambda dtype: arrays(dtype, SHAPES))


def image_like_array():
    """Arrays shaped like images, with arbitrary values, so most of them reach preprocessing."""
    return DTYPES.flatmap(lambda dtype: arrays(dtype, IMAGE_SHAPES))


def float_image():
    """Float images mostly in [0, 1], sometimes with NaN or infinity."""
    values = st.one_of(st.floats(0, 1, width=32), st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1.0]))
    return arrays(np.float32, IMAGE_SHAPES, elements=values)


def assert_valid_model_input(result, size: int = 28) -> None:
    if result is None:
        return
    assert isinstance(result, np.ndarray)
    assert result.dtype == np.float32 and result.shape == (size, size)
    assert np.isfinite(result).all() and result.min() >= 0 and result.max() <= 1


def preprocess_or_input_error(source):
    try:
        return preprocess(source)
    except InputError as error:
        assert str(error)
        return None


@SETTINGS
@given(any_array())
def test_load_image_gives_rgba_or_input_error(array):
    try:
        image = load_image(array)
    except InputError as error:
        assert str(error)
        return
    assert isinstance(image, Image.Image) and image.mode == "RGBA"
    assert max(image.size) <= MAX_SIDE and min(image.size) >= 1


@SETTINGS
@given(st.one_of(any_array(), image_like_array(), float_image()))
def test_preprocess_gives_model_input_none_or_input_error(array):
    assert_valid_model_input(preprocess_or_input_error(array))


@SETTINGS
@given(image_like_array(), st.integers(8, 40), st.integers(4, 40))
def test_other_sizes_keep_their_promise(array, image_size, digit_box):
    digit_box = min(digit_box, image_size)
    try:
        result = preprocess(array, image_size=image_size, digit_box=digit_box)
    except InputError:
        return
    assert_valid_model_input(result, size=image_size)


@SETTINGS
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_crash(data):
    assert_valid_model_input(preprocess_or_input_error(data))


@SETTINGS
@given(st.one_of(arrays(np.float64, array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=48)),
                 arrays(np.float32, array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=48),
                        elements=st.floats(0, 1, width=32))))
def test_to_mnist_and_oversegment_accept_any_2d_map(ink):
    assert_valid_model_input(to_mnist(ink))
    try:
        graph = oversegment(ink)
    except InputError:  # too many separate marks
        return
    for candidate in graph.candidates:  # arcs of the graph: runs of pieces inside the map, with ink
        assert 0 <= candidate.start < candidate.stop <= len(graph.pieces)
        x0, y0, x1, y1 = candidate.box
        assert 0 <= x0 < x1 <= ink.shape[1] and 0 <= y0 < y1 <= ink.shape[0]
        assert candidate.ink.dtype == np.float32 and candidate.ink.shape == (y1 - y0, x1 - x0)
        assert np.isfinite(candidate.ink).all() and candidate.ink.max() > 0
        assert_valid_model_input(to_mnist(candidate.ink))
    # every picture has a reading: a path of arcs (candidate digits, skippable noise pieces) from the
    # first cut position to the last
    arcs = [(c.start, c.stop) for c in graph.candidates] + [(i, i + 1) for i in noise_features(graph)]
    reached = {0}
    for start, stop in sorted(arcs):
        if start in reached:
            reached.add(stop)
    assert len(graph.pieces) in reached


ENTRIES = st.one_of(st.none(), st.integers(), st.text(max_size=5), st.binary(max_size=20),
                    st.dictionaries(st.sampled_from(["path", "url"]), st.one_of(st.none(), st.text(max_size=5))),
                    image_like_array())
EDITOR_VALUES = st.one_of(
    ENTRIES,
    st.dictionaries(st.sampled_from(["background", "layers", "composite", "id"]),
                    st.one_of(ENTRIES, st.lists(ENTRIES, max_size=3)), max_size=4),
)


@SETTINGS
@given(value=EDITOR_VALUES)
def test_any_editor_value_gives_an_image_none_or_input_error(tmp_path_factory, value):
    try:
        image = inputs.image_from_sketch(value, tmp_path_factory.getbasetemp())
    except InputError:
        return
    assert image is None or (isinstance(image, Image.Image) and image.mode == "RGBA")
    if image is not None:
        assert_valid_model_input(preprocess_or_input_error(image))
