"""benchmarks/fitting.py: a fitted graph replaces the shipped one only when ONNX Runtime answers as
Keras did, and then whole (the fits themselves take minutes and are not run here)."""

import onnx
import pytest

from benchmarks.fitting import AGREEMENT, kept_if_onnx_agrees
from reader.numbers import line_reader


@pytest.fixture(scope="module")
def graph():
    return onnx.load(str(line_reader.WEIGHTS_FILE))


def test_a_graph_that_agrees_replaces_the_file_whole(graph, tmp_path):
    destination = tmp_path / "line_reader.onnx"
    destination.write_bytes(b"the old graph")
    opened = []
    gap = kept_if_onnx_agrees(graph, lambda path: opened.append(path) or line_reader.LineReader(path),
                              lambda reader: AGREEMENT / 2, destination)
    assert gap == AGREEMENT / 2 and opened and opened[0] != destination   # checked where it was staged
    assert destination.read_bytes() == line_reader.WEIGHTS_FILE.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["line_reader.onnx"]   # no partial file left
    line_reader.LineReader(destination)


def test_a_graph_that_disagrees_or_fails_to_open_writes_nothing(graph, tmp_path, capsys):
    destination = tmp_path / "line_reader.onnx"
    destination.write_bytes(b"the old graph")
    assert kept_if_onnx_agrees(graph, line_reader.LineReader, lambda reader: AGREEMENT * 10, destination) is None
    assert "disagrees" in capsys.readouterr().out
    assert kept_if_onnx_agrees(graph, line_reader.LineReader, lambda reader: float("nan"), destination) is None
    with pytest.raises(RuntimeError, match="other inputs"):      # opened as the pair reader would open it
        from reader.numbers import pairs
        kept_if_onnx_agrees(graph, pairs.PairReader, lambda reader: 0.0, destination)
    assert destination.read_bytes() == b"the old graph"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["line_reader.onnx"]
