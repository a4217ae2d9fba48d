"""Shared fixtures: real MNIST (from the verified cache, fetched once), one small real training run
that the training, export and CLI tests all look at, and the real app served on loopback."""

import os

import pytest

from tests.helpers import SMALL_RUN_ARGS

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
COSTLY_FIXTURES = {"small_run", "small_export", "app_server", "journey", "server"}  # trains, exports or serves
COSTLY_MODULES = {"test_train", "test_training", "test_export", "test_shipped"}  # Keras/TensorFlow in every test
LONG_LIVED_START = "test_a_server_started_first_to_live_past_the_real_expiry"
LONG_LIVED_CHECK = "test_examples_still_answer_on_a_server_kept_past_the_real_expiry"


def pytest_collection_modifyitems(items):
    """Tests that train, export, load Keras or start a server are `slow` (the fast tier is
    `pytest -m "not slow and not browser"`); CI and the README's command run everything."""
    for item in items:
        if COSTLY_FIXTURES & set(getattr(item, "fixturenames", ())) or item.module.__name__ in COSTLY_MODULES:
            item.add_marker(pytest.mark.slow)
    # A server kept up past the real expiry ages (tests/test_server_life.py): started by the first
    # test of the session, checked by the last, so the rest of the suite runs while it ages.
    first = [item for item in items if item.name == LONG_LIVED_START]
    last = [item for item in items if item.name == LONG_LIVED_CHECK]
    items[:] = first + [item for item in items if item.name not in (LONG_LIVED_START, LONG_LIVED_CHECK)] + last


@pytest.fixture(scope="session")
def mnist():
    from lenet.data import load_mnist
    return load_mnist()


@pytest.fixture(scope="session")
def test_digits(mnist):
    """The first 1,000 real test images as float32 (N, 28, 28, 1) in [0, 1], and their labels."""
    from lenet.contract import to_model_input
    _, (x, y) = mnist
    return to_model_input(x[:1000]), y[:1000]


@pytest.fixture(scope="session")
def small_run(tmp_path_factory):
    """A real training run on 5,000 real MNIST images (fast recipe, 2 epochs), written by the CLI."""
    from lenet import train
    folder = tmp_path_factory.mktemp("runs") / "small"
    assert train.main(SMALL_RUN_ARGS + ["--output", str(folder)]) == 0
    return folder


@pytest.fixture(scope="session")
def small_export(small_run):
    """The small run exported to ONNX, with the int8 variant."""
    import to_onnx
    assert to_onnx.main([str(small_run), "--quantize", "int8"]) == 0
    return small_run


@pytest.fixture(scope="session")
def app_server():
    """The URL (e.g. http://127.0.0.1:PORT/) of the real app, launched once per test session."""
    from tests.app_server import close_app, launch_app
    blocks, url = launch_app()
    yield url
    close_app(blocks)
