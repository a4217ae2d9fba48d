"""Start-up of the server (`python app.py`, a Hugging Face Space): arguments, which model, process
settings — all before Gradio is imported, so mistakes are answered in about a second.

`start(argv)` parses the command line (``--help`` and wrong flags answer at once), picks the model
by `reader.runs.MODEL_RULE`, loads it (a missing or broken file ends the process with one line and
exit status 2), prints which model is served and why, which others a visitor may choose, and a
warning when the default reads MNIST worse than the shipped model (`reader.catalog`), checks the LENET_* settings, and prepares the
process for serving: a private Gradio cache folder (removed at exit), the pool of worker processes
that decode clients' pictures under an OS-enforced budget (`demo.decode_budget`), glibc's heap
arenas bounded, matplotlib without a display. `demo.ui` builds the page from what it returns.
"""

import argparse
import atexit
import ctypes
import logging
import os
import signal
import sys
import tempfile
from dataclasses import dataclass
from functools import cached_property

from demo.decode_budget import DecodePool
from reader.catalog import LoadedModels, ModelCatalog, downgrade_warning
from reader.model import DigitModel, ModelError
from reader.runs import MODEL_RULE, ModelChoice, choose_model, display_path

DEFAULT_CONCURRENCY = 2   # model requests at once: two suits two cores
DEFAULT_THREADS = 1       # ONNX Runtime threads per request
ANALYTICS_EVERY = 1000    # Gradio's queue summarises its event log every this many events (prepare_process)
MALLOC_ARENAS = 2
GRADIO_TEMP_DIR_AT_START = os.environ.get("GRADIO_TEMP_DIR")


@dataclass
class Served:
    """What the page serves: the default model, why it was chosen, every model a visitor may choose
    instead (`reader.catalog`: listed at start-up, loaded when first chosen), and the server's settings."""
    model: DigitModel                # the default: answers every request that chooses no model
    choice: ModelChoice
    concurrency: int
    threads: int
    cache_folder: str
    decoder: DecodePool              # decodes clients' pictures in worker processes, under an OS budget
    providers: str | None = None     # --providers, for the models loaded later
    models: LoadedModels | None = None

    def __post_init__(self):
        if self.models is None:
            self.models = LoadedModels(ModelCatalog.find(self.choice.path), self.model, self.providers, self.threads)

    @property
    def catalog(self) -> ModelCatalog:
        return self.models.catalog

    @cached_property
    def downgrade(self) -> str | None:
        """The warning when the default reads MNIST worse than the shipped model (reader.catalog)."""
        return downgrade_warning(self.catalog, self.model.describe()["test_accuracy"])

    def summary(self) -> str:
        """One line: the model file, why it was chosen, its recipe, test accuracy and export date."""
        about = self.model.describe()
        facts = [f"recipe {about['recipe']}" if about["recipe"] else None,
                 f"{about['test_accuracy']:.2%} test accuracy" if about["test_accuracy"] is not None else None,
                 f"exported {about['exported'][:16].replace('T', ' ')} UTC" if about["exported"] else None]
        facts = ", ".join(fact for fact in facts if fact)
        return f"{display_path(self.choice.path)} ({self.choice.source}{': ' + facts if facts else ''})"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python app.py", description="Serve the LeNet digits page (Gradio) with an exported ONNX model.",
        epilog=f"Which model: {MODEL_RULE}. Environment: GRADIO_SERVER_NAME, GRADIO_SERVER_PORT, "
               f"LENET_PROVIDERS, LENET_CONCURRENCY (default {DEFAULT_CONCURRENCY}), "
               f"LENET_THREADS (default {DEFAULT_THREADS}).")
    parser.add_argument("--model", help=f"exported lenet.onnx to serve (default: {MODEL_RULE.split(', ', 1)[1]})")
    parser.add_argument("--providers", help="ONNX Runtime providers in order, e.g. 'cuda,cpu' or 'cpu' "
                                            "(default: $LENET_PROVIDERS, else CUDA when it runs, then CPU)")
    return parser.parse_args(argv)


def positive_setting(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        fail(f"{name} must be a whole number of at least 1, not {text!r}")
    return int(text)


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def start(argv: list[str] | None = None, announce: bool = True) -> Served:
    """Everything `python app.py` does before building the page; exits with one line on a mistake."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    concurrency = positive_setting("LENET_CONCURRENCY", DEFAULT_CONCURRENCY)
    threads = positive_setting("LENET_THREADS", DEFAULT_THREADS)
    choice = choose_model(args.model)
    try:
        model = DigitModel(choice.path, args.providers, threads=threads)
    except (ModelError, ValueError) as error:
        fail(f"{error} (chosen as {choice.source}; rule: {MODEL_RULE})")
    try:  # the number reader's fitted files: a broken checkout says so now, not at the first number
        from reader.numbers import best_path, line_not_digits, line_reader, pairs, whole_digit  # here: a bad --model exits before scipy loads
        best_path.shipped_fit(), whole_digit.shipped(), pairs.shipped(), line_reader.shipped(), line_not_digits.shipped()
    except RuntimeError as error:
        fail(str(error))
    prepare_process()
    decoder = DecodePool(workers=concurrency)
    atexit.register(decoder.close)
    served = Served(model, choice, concurrency, threads, private_cache_folder(), decoder, args.providers)
    if announce:
        print(f"Serving {served.summary()} on {model.provider}.", flush=True)
        if model.cuda_note:
            print(model.cuda_note, flush=True)
        print(f"Visitors may choose: {', '.join(served.catalog.keys)} (each loaded when first chosen).", flush=True)
        if served.downgrade:
            print(f"warning: {served.downgrade}", flush=True)
    return served


def prepare_process() -> None:
    """Settings for a long-running server process on a small machine."""
    os.environ.setdefault("MPLBACKEND", "agg")  # Gradio asks matplotlib for its backend on every event
    # Gradio's queue re-summarises its event log (a pandas group-by over up to 10,000 events) after
    # every event by default: 3 ms per event on a fresh server, 14 ms once the log is full (about
    # six minutes of a busy classroom). Summarise every 1,000 events, over the last 1,000.
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", str(ANALYTICS_EVERY))
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", str(ANALYTICS_EVERY))
    if threading_main():  # `kill`, `docker stop`, a Space's restart: exit normally, so the cache folder goes
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    limit_malloc_arenas(MALLOC_ARENAS)
    logger = logging.getLogger("lenet")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s", "%Y-%m-%d %H:%M:%S"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def threading_main() -> bool:
    import threading
    return threading.current_thread() is threading.main_thread()


def limit_malloc_arenas(arenas: int) -> None:
    """glibc gives each worker thread its own heap arena; with Gradio's thread pool, numpy's
    short-lived image buffers then fragment many arenas and RSS keeps growing. Same as
    MALLOC_ARENA_MAX; a no-op outside glibc."""
    try:
        ctypes.CDLL("libc.so.6").mallopt(-8, arenas)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


def private_cache_folder() -> str:
    """A cache folder for this process alone (inside $GRADIO_TEMP_DIR if set), used by Gradio for
    uploads and outputs; `demo.cache_folder.CacheFolder` bounds it and removes it at exit."""
    base = GRADIO_TEMP_DIR_AT_START or tempfile.gettempdir()  # a second start in this process nests nothing
    os.makedirs(base, exist_ok=True)
    folder = tempfile.mkdtemp(prefix="lenet-demo-", dir=base)
    os.environ["GRADIO_TEMP_DIR"] = folder
    atexit.register(lambda: __import__("shutil").rmtree(folder, ignore_errors=True))
    return folder
