"""Choosing and comparing models on the real server (issue 38): the /models list, each endpoint's
optional `model`, two visitors at once with different choices, the compare view, and one sentence
for an unknown choice — through gradio_client and raw HTTP, answers checked against the engine
run in-process on the same picture with the same model file."""

import concurrent.futures
import re

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from reader import pipeline
from reader.model import DigitModel
from reader.runs import ARTIFACTS
from tests.app_server import call_endpoint


def probabilities(label_output) -> dict[str, float]:
    return {c["label"]: c["confidence"] for c in label_output["confidences"]}


def model_named(verdict: str) -> str:
    return re.search(r"· model (\S+?)</small>", verdict).group(1)


@pytest.fixture(scope="module")
def disputed(tmp_path_factory):
    """A real MNIST test digit the tutorial's recipe (seed) misreads and the shipped model reads
    right, as a picture; (path, true label, seed's label)."""
    robust = DigitModel(ARTIFACTS / "robust" / "lenet.onnx", "cpu", threads=1)
    with np.load(ARTIFACTS / "seed" / "misclassified.npz") as wrong:
        for image, true, predicted in zip(wrong["images"], wrong["true"], wrong["predicted"]):
            path = tmp_path_factory.mktemp("disputed") / "digit.png"
            Image.fromarray(image).save(path)
            reading = pipeline.read_digit(robust, path, heatmap=False)
            if reading.label == str(true) and reading.sure:
                return path, str(true), str(predicted)
    raise AssertionError("no digit that seed misreads and robust reads right")


@pytest.fixture(scope="module")
def gradio_api(app_server):
    with httpx.Client(base_url=app_server + "gradio_api", timeout=60) as http:
        yield http


def uploaded(http, path) -> dict:
    with open(path, "rb") as file:
        return {"path": http.post("/upload", files={"files": file}).json()[0], "meta": {"_type": "gradio.FileData"}}


def engine(model_key: str, path) -> dict[str, float]:
    return pipeline.read_digit(DigitModel(ARTIFACTS / model_key / "lenet.onnx", "cpu", threads=1), path,
                               heatmap=False).probabilities


def test_models_are_listed_with_the_default_first_chosen_through_both_clients(app_server, gradio_api):
    listing = Client(app_server, verbose=False).predict(api_name="/models")
    keys = [entry["key"] for entry in listing["models"]]
    assert keys[:3] == ["robust", "fast", "seed"] and listing["default"] == "robust"
    robust = listing["models"][0]
    assert robust["file"] == "artifacts/robust/lenet.onnx" and robust["test_accuracy"] == pytest.approx(0.9965)
    assert robust["shipped"] and robust["recipe"] == "robust" and robust["exported"].startswith("2026")
    assert call_endpoint(gradio_api, "models")[1][0]["models"] == listing["models"]


def test_a_chosen_model_answers_and_is_named_and_leaving_it_out_gives_the_default(app_server, gradio_api, disputed):
    path, true, seed_label = disputed
    client = Client(app_server, verbose=False)
    for key in ("seed", "robust", "fast"):
        label, verdict, _, _ = client.predict(handle_file(str(path)), model=key, api_name="/classify_upload")
        assert model_named(verdict) == key
        served = probabilities(label)
        assert all(abs(served[d] - p) < 1e-4 for d, p in engine(key, path).items())
    assert label["label"] == true
    seed = client.predict(handle_file(str(path)), model="seed", api_name="/classify_upload")[0]
    assert seed["label"] == seed_label != true
    # raw HTTP: the model after the picture, or left out (the default answers)
    status, outputs = call_endpoint(gradio_api, "classify_upload", uploaded(gradio_api, path), "seed")
    assert status == "complete" and model_named(outputs[1]) == "seed" and outputs[0]["label"] == seed_label
    status, outputs = call_endpoint(gradio_api, "classify_upload", uploaded(gradio_api, path))
    assert status == "complete" and model_named(outputs[1]) == "robust" and outputs[0]["label"] == true
    text = client.predict(handle_file(str(path)), model="seed", api_name="/read_number_upload")[0]
    assert "model seed" in text


def test_an_unknown_model_gets_one_sentence_naming_the_choices(app_server, gradio_api, disputed):
    path = disputed[0]
    with pytest.raises(AppError) as refused:
        Client(app_server, verbose=False).predict(handle_file(str(path)), model="robust-2", api_name="/classify_upload")
    assert str(refused.value) == ("There is no model 'robust-2' here: choose one of robust, fast, seed (the /models "
                                  "endpoint lists them).")
    for wrong in ("../runs/x", {"key": "seed"}, 7):
        status, message = call_endpoint(gradio_api, "inside", uploaded(gradio_api, path), wrong)
        assert status == "error" and message.startswith("There is no model ") and message.endswith("lists them).")
        assert "Traceback" not in message and "\n" not in message


def test_two_visitors_at_once_with_different_choices_each_get_their_own_models_answers(app_server, disputed):
    path, true, seed_label = disputed
    expected = {"seed": seed_label, "robust": true}

    def visitor(key):
        with httpx.Client(base_url=app_server + "gradio_api", timeout=60) as http:
            answers = []
            for _ in range(6):
                status, outputs = call_endpoint(http, "classify_upload", uploaded(http, path), key)
                answers.append((status, model_named(outputs[1]), outputs[0]["label"]))
            return answers

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = dict(zip(expected, pool.map(visitor, expected)))
    for key, answers in results.items():
        assert answers == [("complete", key, expected[key])] * 6


def test_compare_reads_one_picture_by_every_model_and_marks_who_disagrees(app_server, disputed):
    path, true, seed_label = disputed
    headline, seen, table, summary = Client(app_server, verbose=False).predict(handle_file(str(path)),
                                                                               api_name="/compare_upload")
    rows = {row["model"]: row for row in summary["models"]}
    assert list(rows)[:3] == ["robust", "fast", "seed"]
    for key in ("robust", "fast", "seed"):
        assert all(abs(rows[key]["probabilities"][d] - p) < 1e-4 for d, p in engine(key, path).items())
    assert rows["robust"]["label"] == true and rows["seed"]["label"] == seed_label
    assert summary["agree"] is False and rows["seed"]["disagrees"] and not rows["robust"]["disagrees"]
    assert "They disagree" in headline and f"seed: {seed_label}" in headline
    seed_row = next(row for row in table.split("<tr")[1:] if ">seed<" in row or "seed</th>" in row)
    assert 'class="disagrees"' in seed_row and "≠" in seed_row
    robust_row = next(row for row in table.split("<tr")[1:] if "robust (default)" in row)
    assert "≠" not in robust_row
    assert Image.open(seen).size[0] >= 28


def test_compare_says_no_digit_for_an_empty_picture_and_refuses_a_broken_one_in_a_sentence(app_server, gradio_api, tmp_path):
    """Bad input on the compare endpoints gets what the Upload tab gives: a picture with no ink is
    "No digit found", a file that is not an image one sentence, nothing broken."""
    blank = tmp_path / "blank.png"
    Image.new("RGB", (280, 280), "white").save(blank)
    headline, seen, table, summary = Client(app_server, verbose=False).predict(handle_file(str(blank)),
                                                                               api_name="/compare_upload")
    assert headline.startswith("**No digit found**") and seen is None and table == "" and summary is None
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    status, message = call_endpoint(gradio_api, "compare_upload", uploaded(gradio_api, broken))
    assert status == "error" and message.startswith("The file is not an image") and "\n" not in message
