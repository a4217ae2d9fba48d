"""Every model the demo can serve, and the few of them loaded at a time.

`ModelCatalog.find(default)` lists the shipped runs (`artifacts/<name>/lenet.onnx` with a run card)
and every export under `runs/` (`runs/<name>/lenet.onnx`), plus the served default when it lies
elsewhere (`--model FILE`). Each is named by a short key — "robust", "fast", "seed" for the shipped
runs, "runs/<name>" for yours, else the file's path — and described by its run card: recipe, MNIST
test accuracy and export date. Listing reads only the cards; it loads no model.

`LoadedModels` loads a model (its ONNX Runtime session, and for Inside LeNet the layers file beside
it) when it is first chosen, and keeps at most `MAX_LOADED` at once: the served default always, the
others least-recently-used first out. A choice is a key or the model file's path as listed; anything
else is refused with one sentence naming the choices (`UnknownModel`).

`downgrade_warning` is the "no silent downgrade" rule: a default that reads MNIST worse than the
shipped model by more than `DOWNGRADE_POINTS` percentage points is announced, with how to switch.
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from reader.errors import InputError
from reader.inside import LayerModel
from reader.model import DigitModel, ModelError
from reader.runs import ARTIFACTS, CARD_FILE, MODEL_FILE, RUNS, SHIPPED_MODEL, display_path, read_json

MAX_LOADED = 4           # models (with their layers files) held in memory at once, the default among them
DOWNGRADE_POINTS = 1.0   # a default this many points below the shipped model's MNIST accuracy is announced


class UnknownModel(InputError):
    """A model choice that names no listed model, or a listed model whose file cannot be served."""


@dataclass(frozen=True)
class ModelEntry:
    """One servable model, as its run card describes it."""
    key: str                       # what a visitor or an API call chooses it by
    path: Path
    recipe: str | None
    test_accuracy: float | None    # fraction of the 10,000 MNIST test digits read right
    exported: str | None           # ISO 8601 time the model file was written and proven
    shipped: bool                  # one of the repository's own runs (artifacts/)

    @classmethod
    def of(cls, key: str, path: Path, shipped: bool) -> "ModelEntry":
        card = read_card(path.parent / CARD_FILE)
        accuracy = next((metric.get("value") for metric in card.get("metrics", [])
                         if isinstance(metric, dict) and metric.get("name") == "test accuracy"), None)
        exported = card.get("exported")
        if not isinstance(exported, str) and path.is_file():  # a card from before the field: the file's time
            exported = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")
        name = card.get("name")
        return cls(key, path, name if isinstance(name, str) else None,
                   float(accuracy) if isinstance(accuracy, (int, float)) else None, exported, shipped)

    @property
    def label(self) -> str:
        """How the page lists it, e.g. "robust · 99.65% on MNIST · exported 2026-12-04 · shipped"."""
        facts = [self.key]
        if self.recipe and self.recipe != self.key.removeprefix("runs/"):
            facts.append(f"recipe {self.recipe}")
        facts.append(f"{self.test_accuracy:.2%} on MNIST" if self.test_accuracy is not None else "accuracy unknown")
        if self.exported:
            facts.append(f"exported {self.exported[:10]}")
        facts.append("shipped" if self.shipped else "yours")
        return " · ".join(facts)

    def as_json(self) -> dict:
        return {"key": self.key, "file": display_path(self.path), "recipe": self.recipe,
                "test_accuracy": self.test_accuracy, "exported": self.exported, "shipped": self.shipped}


def read_card(path: Path) -> dict:
    card = read_json(path)
    return card if isinstance(card, dict) else {}


@dataclass(frozen=True)
class ModelCatalog:
    entries: tuple[ModelEntry, ...]   # the shipped model first, the other shipped runs, then yours, newest first
    default: ModelEntry               # what a request that chooses nothing is answered by

    @classmethod
    def find(cls, default: Path, runs: Path = RUNS, artifacts: Path = ARTIFACTS,
             shipped: Path = SHIPPED_MODEL) -> "ModelCatalog":
        """The catalog around the served `default` (chosen by `reader.runs.choose_model`)."""
        found = [path for path in artifacts.glob(f"*/{MODEL_FILE}") if (path.parent / CARD_FILE).is_file()]
        found.sort(key=lambda path: (path.resolve() != shipped.resolve(), path.parent.name))
        entries = [ModelEntry.of(path.parent.name, path, shipped=True) for path in found]
        yours = [path for path in runs.glob(f"*/{MODEL_FILE}") if path.is_file() and not path.parent.name.startswith(".")]
        yours.sort(key=lambda path: path.stat().st_mtime, reverse=True)
        entries += [ModelEntry.of(f"runs/{path.parent.name}", path, shipped=False) for path in yours]
        chosen = next((entry for entry in entries if same_file(entry.path, default)), None)
        if chosen is None:  # --model names a file outside artifacts/ and runs/ (or an int8 sibling)
            chosen = ModelEntry.of(display_path(default), default, shipped=False)
            entries.append(chosen)
        return cls(tuple(entries), chosen)

    @property
    def keys(self) -> list[str]:
        return [entry.key for entry in self.entries]

    def entry(self, choice) -> ModelEntry:
        """The entry a choice names: None or "" for the default, else a key or the file's path as listed."""
        if choice is None or choice == "":
            return self.default
        if isinstance(choice, str):
            for entry in self.entries:
                if choice in (entry.key, display_path(entry.path), str(entry.path)):
                    return entry
        shown = (repr(choice if len(choice) <= 40 else choice[:40] + "…") if isinstance(choice, str)
                 else f"given as {type(choice).__name__}")
        raise UnknownModel(f"There is no model {shown} here: choose one of {', '.join(self.keys)} "
                           "(the /models endpoint lists them).")

    @property
    def shipped_entry(self) -> ModelEntry | None:
        return next((entry for entry in self.entries if entry.shipped and entry.key == SHIPPED_MODEL.parent.name), None)

    def as_json(self) -> dict:
        return {"default": self.default.key, "models": [entry.as_json() for entry in self.entries],
                "loaded_at_most": MAX_LOADED}


def same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def downgrade_warning(catalog: ModelCatalog, default_accuracy: float | None) -> str | None:
    """One paragraph when the default model reads MNIST more than `DOWNGRADE_POINTS` worse than the
    shipped model (its accuracy as the loaded file's metadata states it), with the three ways to
    switch; None otherwise."""
    shipped = catalog.shipped_entry
    if (shipped is None or catalog.default is shipped or default_accuracy is None
            or shipped.test_accuracy is None):
        return None
    points = (shipped.test_accuracy - default_accuracy) * 100
    if points <= DOWNGRADE_POINTS:
        return None
    file = display_path(catalog.default.path)
    return (f"The model served by default, {file}, reads MNIST at {default_accuracy:.2%}: {points:.2f} points "
            f"below the shipped model ({shipped.key}, {shipped.test_accuracy:.2%}). To use the shipped one, "
            f"choose {shipped.key} as the model, start with --model {display_path(shipped.path)}, or remove {file}.")


class LoadedModels:
    """The catalog's models, loaded when first chosen; at most `capacity` at once (the default kept)."""

    def __init__(self, catalog: ModelCatalog, default: DigitModel, providers: str | None = None,
                 threads: int | None = None, capacity: int = MAX_LOADED):
        self.catalog = catalog
        self.providers, self.threads, self.capacity = providers, threads, max(1, capacity)
        self.default = default
        self._layers: dict[str, LayerModel | None] = {}
        self._loaded: OrderedDict[str, DigitModel] = OrderedDict({catalog.default.key: default})
        self._lock = threading.Lock()

    def model(self, choice=None) -> DigitModel:
        """The loaded model for a choice (loading it, and letting the least recently used go, if needed)."""
        entry = self.catalog.entry(choice)
        with self._lock:
            model = self._loaded.get(entry.key)
            if model is not None:
                self._loaded.move_to_end(entry.key)
                return model
        try:  # outside the lock: another visitor's model answers meanwhile
            model = DigitModel(entry.path, self.providers, threads=self.threads)
        except ModelError as error:
            raise UnknownModel(f"The model {entry.key} cannot be served: {error}.") from None
        with self._lock:
            model = self._loaded.setdefault(entry.key, model)
            self._loaded.move_to_end(entry.key)
            while len(self._loaded) > self.capacity:
                evicted = next(key for key in self._loaded if key != self.catalog.default.key)
                del self._loaded[evicted]
                self._layers.pop(evicted, None)
        return model

    def layers(self, choice=None) -> LayerModel | None:
        """The layers file beside the chosen model (Inside LeNet), loaded with it; None if it has none."""
        entry = self.catalog.entry(choice)
        model = self.model(entry.key)
        with self._lock:
            if entry.key in self._layers:
                return self._layers[entry.key]
        layers = LayerModel.beside(model, threads=self.threads)
        with self._lock:
            if entry.key in self._loaded:
                self._layers[entry.key] = layers
        return layers

    @property
    def loaded(self) -> list[str]:
        """The keys of the models in memory now, least recently used first."""
        with self._lock:
            return list(self._loaded)
