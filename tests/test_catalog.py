"""reader.catalog: which models the page lists, how a choice is named, the downgrade warning, and
lazy loading with at most a few models in memory — on copies of the shipped runs in run folders
made here (a smoke run's card says what a smoke run's says: 80.69% on MNIST)."""

import json
import os
import shutil

import numpy as np
import pytest

from reader.catalog import LoadedModels, ModelCatalog, UnknownModel, downgrade_warning
from reader.errors import InputError
from reader.model import DigitModel
from reader.runs import ARTIFACTS, SHIPPED_MODEL, choose_model
from tests.helpers import documentation

SMOKE_ACCURACY = 0.8069


def run_folder(runs, name, source="seed", accuracy=None, age_s=0):
    """runs/<name>/ with a shipped run's files (its model, layers file and card), the card's test
    accuracy replaced when `accuracy` is given, written `age_s` seconds ago."""
    folder = runs / name
    shutil.copytree(ARTIFACTS / source, folder, ignore=shutil.ignore_patterns("model.keras", "*.npz"))
    if accuracy is not None:
        card = json.loads((folder / "card.json").read_text())
        for metric in card["metrics"]:
            if metric["name"] == "test accuracy":
                metric["value"] = accuracy
        (folder / "card.json").write_text(json.dumps(card))
    stamp = os.path.getmtime(folder / "lenet.onnx") - age_s
    os.utime(folder / "lenet.onnx", (stamp, stamp))
    return folder / "lenet.onnx"


@pytest.fixture
def runs(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    return runs


def test_a_fresh_clone_lists_the_shipped_runs_only_with_the_shipped_model_first_and_default(runs):
    catalog = ModelCatalog.find(choose_model(runs=runs).path, runs=runs)
    assert catalog.keys == ["robust", "fast", "seed"]
    assert catalog.default.key == "robust" and all(entry.shipped for entry in catalog.entries)
    robust = catalog.entries[0]
    assert robust.test_accuracy == pytest.approx(0.9965) and robust.recipe == "robust"
    assert robust.exported.startswith("2026-") and "99.65% on MNIST" in robust.label
    assert downgrade_warning(catalog, 0.9965) is None


def test_your_exports_are_listed_newest_first_and_the_newest_is_the_default(runs):
    run_folder(runs, "older", age_s=3600)
    run_folder(runs, "smoke", accuracy=SMOKE_ACCURACY)
    (runs / ".hidden").mkdir()
    shutil.copy(SHIPPED_MODEL, runs / ".hidden" / "lenet.onnx")  # a partial or hidden folder is never listed
    catalog = ModelCatalog.find(choose_model(runs=runs).path, runs=runs)
    assert catalog.keys == ["robust", "fast", "seed", "runs/smoke", "runs/older"]
    assert catalog.default.key == "runs/smoke" and not catalog.default.shipped
    assert catalog.default.test_accuracy == pytest.approx(SMOKE_ACCURACY)
    assert "recipe seed" in catalog.default.label and "yours" in catalog.default.label


def test_a_choice_is_a_key_or_the_listed_file_and_anything_else_gets_one_sentence(runs):
    smoke = run_folder(runs, "smoke")
    catalog = ModelCatalog.find(smoke, runs=runs)
    assert catalog.entry(None) is catalog.default and catalog.entry("") is catalog.default
    assert catalog.entry("fast").path == ARTIFACTS / "fast" / "lenet.onnx"
    assert catalog.entry("artifacts/seed/lenet.onnx").key == "seed"
    assert catalog.entry(str(smoke)).key == "runs/smoke"
    for wrong in ("robust2", "../artifacts/robust/lenet.onnx", "x" * 500, {"key": "robust"}, ["fast"], 3):
        with pytest.raises(UnknownModel) as refused:
            catalog.entry(wrong)
        message = str(refused.value)
        assert isinstance(refused.value, InputError) and message.count(". ") == 0 and message.endswith(".")
        assert "here: choose one of robust, fast, seed, runs/smoke (the /models endpoint lists them)." in message
        assert len(message) < 200


def test_a_model_file_outside_the_listed_folders_is_listed_when_served(runs, tmp_path):
    int8 = ARTIFACTS / "robust" / "lenet-int8.onnx"
    catalog = ModelCatalog.find(int8, runs=runs)
    assert catalog.default.key == "artifacts/robust/lenet-int8.onnx" and catalog.keys[-1] == catalog.default.key


def test_a_default_more_than_a_point_below_the_shipped_model_is_announced_with_three_ways_out(runs):
    smoke = run_folder(runs, "smoke", accuracy=SMOKE_ACCURACY)
    catalog = ModelCatalog.find(smoke, runs=runs)
    warning = downgrade_warning(catalog, SMOKE_ACCURACY)
    assert "80.69%" in warning and "99.65%" in warning and "18.96 points" in warning
    assert "--model artifacts/robust/lenet.onnx" in warning and "choose robust" in warning
    assert f"remove {smoke}" in warning or "remove runs/smoke/lenet.onnx" in warning
    # the threshold is the one documented: a point, not less
    assert downgrade_warning(catalog, 0.9965 - 0.0101) is not None
    assert downgrade_warning(catalog, 0.9965 - 0.0099) is None
    assert downgrade_warning(catalog, None) is None
    assert "more than a point" in documentation()


def test_models_load_when_first_chosen_and_at_most_the_capacity_stay_loaded_the_default_among_them(runs):
    for name in ("a", "b", "c"):
        run_folder(runs, name, age_s={"a": 30, "b": 20, "c": 10}[name])
    catalog = ModelCatalog.find(SHIPPED_MODEL, runs=runs)
    default = DigitModel(SHIPPED_MODEL, "cpu", threads=1)
    models = LoadedModels(catalog, default, "cpu", threads=1, capacity=3)
    assert models.loaded == ["robust"]                     # listing loaded nothing
    assert models.model(None) is default and models.model("robust") is default
    fast = models.model("fast")
    assert isinstance(fast, DigitModel) and fast.path == ARTIFACTS / "fast" / "lenet.onnx"
    assert models.model("fast") is fast                    # loaded once
    models.model("runs/a")
    models.model("runs/b")                                 # a fourth: the least recently used non-default goes
    assert models.loaded == ["robust", "runs/a", "runs/b"]
    assert models.model("robust") is default
    models.model("runs/c")
    assert "robust" in models.loaded and len(models.loaded) == 3 and "runs/a" not in models.loaded
    assert models.layers("runs/c") is not None and models.layers("seed").path.name == "lenet-layers.onnx"
    digit = np.zeros((1, 28, 28), np.float32)
    digit[0, 4:24, 13:15] = 1.0                            # a 1
    assert models.model("seed").probabilities(digit).argmax() == 1


def test_a_listed_model_whose_file_is_broken_is_refused_with_one_sentence_not_a_crash(runs):
    broken = run_folder(runs, "broken")
    broken.write_bytes(b"not an onnx file")
    catalog = ModelCatalog.find(SHIPPED_MODEL, runs=runs)
    models = LoadedModels(catalog, DigitModel(SHIPPED_MODEL, "cpu", threads=1), "cpu", threads=1)
    with pytest.raises(UnknownModel, match=r"^The model runs/broken cannot be served: .*\.$"):
        models.model("runs/broken")
    assert models.loaded == ["robust"]


def test_the_command_line_takes_a_listed_name_for_model(runs):
    run_folder(runs, "smoke")
    assert choose_model("seed", runs=runs).path == ARTIFACTS / "seed" / "lenet.onnx"
    assert choose_model("runs/smoke", runs=runs).path == runs / "smoke" / "lenet.onnx"
    assert choose_model("nothing-here", runs=runs).path.name == "nothing-here"  # then DigitModel says no file


# --- what the mutation run (benchmarks/mutation.py --only reader/catalog.py) showed untested -------

def edit_card(folder, **changes):
    card = json.loads((folder / "card.json").read_text())
    card.update(changes)
    (folder / "card.json").write_text(json.dumps(card))
    return card


def test_each_entry_is_labelled_with_its_recipe_accuracy_date_and_origin(runs):
    """The menu's labels, exactly (kills: the recipe shown when it is the folder's name, "runs/" not
    stripped, the date's length, "shipped"/"yours" swapped, the separator)."""
    smoke = run_folder(runs, "smoke", accuracy=SMOKE_ACCURACY).parent
    fast = run_folder(runs, "fast", source="fast").parent
    edit_card(smoke, exported="2026-12-06T10:12:00+00:00")
    edit_card(fast, exported="2026-12-05T08:00:00+00:00")
    catalog = ModelCatalog.find(SHIPPED_MODEL, runs=runs)
    labels = {entry.key: entry.label for entry in catalog.entries}
    assert labels["runs/smoke"] == "runs/smoke · recipe seed · 80.69% on MNIST · exported 2026-12-06 · yours"
    assert labels["runs/fast"] == "runs/fast · 99.55% on MNIST · exported 2026-12-05 · yours"
    assert labels["robust"].startswith("robust · 99.65% on MNIST · exported 2026-") and labels["robust"].endswith(" · shipped")


def test_a_card_without_the_figures_says_so_and_the_date_comes_from_the_file(runs):
    """A card from before the export date was recorded: the file's own time (UTC, to the second);
    no test accuracy: "accuracy unknown"; the accuracy is the "test accuracy" metric wherever it is."""
    folder = run_folder(runs, "old").parent
    card = edit_card(folder, exported=None)
    stamp = 1_764_000_000
    os.utime(folder / "lenet.onnx", (stamp, stamp))
    entry = ModelCatalog.find(SHIPPED_MODEL, runs=runs).entry("runs/old")
    assert entry.exported == "2025-11-24T16:00:00+00:00"
    edit_card(folder, metrics=list(reversed(card["metrics"])))          # test loss before test accuracy
    assert ModelCatalog.find(SHIPPED_MODEL, runs=runs).entry("runs/old").test_accuracy == pytest.approx(0.9847)
    edit_card(folder, metrics=[{"name": "test loss", "value": 0.05}], exported="2026-12-01T00:00:00+00:00")
    entry = ModelCatalog.find(SHIPPED_MODEL, runs=runs).entry("runs/old")
    assert entry.test_accuracy is None and entry.label == "runs/old · recipe seed · accuracy unknown · exported 2026-12-01 · yours" and entry.exported.startswith("2026-12-01")


def test_the_models_listing_has_the_documented_fields(runs):
    """/models and `demo.predict --list-models --json` answer what docs/demo.md documents."""
    import re
    documented = re.search(r"`\{default, models: \[\{([a-z_, ]+)\}\], loaded_at_most, loaded\}`",
                           " ".join(documentation().split()))
    assert documented, "docs/demo.md no longer documents /models"
    smoke = run_folder(runs, "smoke", accuracy=SMOKE_ACCURACY)
    listing = ModelCatalog.find(smoke, runs=runs).as_json()
    assert set(listing) == {"default", "models", "loaded_at_most"} and listing["default"] == "runs/smoke"
    assert listing["loaded_at_most"] == 4                                 # the documented "at most 4"
    assert "at most 4 are held at once" in " ".join(documentation().split())
    fields = [name.strip() for name in documented.group(1).split(",")]
    for entry in listing["models"]:
        assert list(entry) == fields
    robust, smoke_entry = listing["models"][0], listing["models"][-1]
    assert robust == {"key": "robust", "file": "artifacts/robust/lenet.onnx", "recipe": "robust",
                      "test_accuracy": pytest.approx(0.9965), "exported": robust["exported"], "shipped": True}
    assert smoke_entry["key"] == "runs/smoke" and smoke_entry["shipped"] is False
    assert smoke_entry["test_accuracy"] == pytest.approx(SMOKE_ACCURACY) and smoke_entry["file"] == str(smoke)


def test_a_served_file_outside_the_listed_folders_is_not_called_shipped(runs):
    int8 = ModelCatalog.find(ARTIFACTS / "robust" / "lenet-int8.onnx", runs=runs).default
    assert int8.shipped is False and int8.label.endswith(" · yours")


def test_a_long_unknown_choice_is_cut_at_40_characters():
    catalog = ModelCatalog.find(SHIPPED_MODEL)
    with pytest.raises(UnknownModel) as forty:
        catalog.entry("y" * 40)
    assert f"'{'y' * 40}'" in str(forty.value)
    with pytest.raises(UnknownModel) as longer:
        catalog.entry("z" * 41)
    assert f"'{'z' * 40}…'" in str(longer.value)


def test_without_the_shipped_model_nothing_is_called_a_downgrade(tmp_path, runs):
    """A checkout whose artifacts/ lacks the shipped model (only another shipped run) compares the
    default with nothing: no warning, not a warning against the wrong model."""
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    shutil.copytree(ARTIFACTS / "fast", artifacts / "fast", ignore=shutil.ignore_patterns("model.keras", "*.npz"))
    smoke = run_folder(runs, "smoke", accuracy=SMOKE_ACCURACY)
    catalog = ModelCatalog.find(smoke, runs=runs, artifacts=artifacts, shipped=artifacts / "robust" / "lenet.onnx")
    assert catalog.keys == ["fast", "runs/smoke"] and catalog.shipped_entry is None
    assert downgrade_warning(catalog, SMOKE_ACCURACY) is None


def test_a_model_and_its_layers_file_are_loaded_once_and_capacity_never_drops_the_default(runs, monkeypatch):
    import reader.catalog as catalog_module
    made = {"models": 0, "layers": 0}
    real_model, real_beside = catalog_module.DigitModel, catalog_module.LayerModel.beside

    def counting_model(*args, **kwargs):
        made["models"] += 1
        return real_model(*args, **kwargs)

    def counting_beside(model, threads=None):
        made["layers"] += 1
        return real_beside(model, threads=threads)

    monkeypatch.setattr(catalog_module, "DigitModel", counting_model)
    monkeypatch.setattr(catalog_module.LayerModel, "beside", staticmethod(counting_beside))
    catalog = ModelCatalog.find(SHIPPED_MODEL, runs=runs)
    models = LoadedModels(catalog, real_model(SHIPPED_MODEL, "cpu", threads=1), "cpu", threads=1)
    fast = models.model("fast")
    assert models.model("fast") is fast and made["models"] == 1
    layers = models.layers("fast")
    assert layers is not None and models.layers("fast") is layers and made == {"models": 1, "layers": 1}
    lone = LoadedModels(catalog, models.default, "cpu", threads=1, capacity=0)   # at least the default stays
    lone.model("seed")
    assert lone.loaded == ["robust"]
