"""The digit model as the demo sees it: an ONNX file run by ONNX Runtime.

The input contract (image size, digit box, class labels, and the polarity, range, dtype and
centring this demo implements) and the confidence threshold are read from the file's metadata,
written there by export/to_onnx.py — the demo never imports TensorFlow, Keras or `lenet`. A model
whose contract the demo does not implement is refused with a clear message.

Execution providers: CUDA first when this ONNX Runtime has it, then CPU; `--providers` /
`LENET_PROVIDERS` override. When CUDA is asked for, the NVIDIA CUDA/cuDNN wheels (pip extras
`onnxruntime-gpu[cuda,cudnn]`, see requirements-gpu.txt) are preloaded if installed.
`DigitModel.provider` is what really runs; `DigitModel.cuda_note` says why CUDA was asked for
but not used (no driver, no CUDA libraries, or the provider failed).
"""

import ctypes
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from reader.errors import InputError

PROVIDER_ALIASES = {"cuda": "CUDAExecutionProvider", "cpu": "CPUExecutionProvider",
                    "tensorrt": "TensorrtExecutionProvider"}
CUDA = "CUDAExecutionProvider"
DEFAULT_UNCERTAIN_BELOW = 0.6
# ONNX Runtime's NCHWc layout rewrite blocks channels by 16 on AVX-512 (8 on AVX2), so LeNet's
# 20- and 50-channel convolutions are computed as 32 and 64 (about half of it padding); without
# it they run as im2col + GEMM. Figures: docs/performance.md and benchmarks/inference.py.
DISABLED_OPTIMIZERS = ("NchwcTransformer",)
# What this demo's preprocessing produces; a model that wants anything else is refused.
IMPLEMENTED = {"input_dtype": "float32", "input_range": [0.0, 1.0], "input_polarity": "white_on_black",
               "input_centering": "center_of_mass"}


class ModelError(ValueError):
    """The model file cannot be served; the message is one line naming the file and the reason."""


@dataclass(frozen=True)
class Contract:
    input_name: str
    output_name: str
    image_size: int
    digit_box: int
    class_labels: tuple[str, ...]
    uncertain_below: float

    @classmethod
    def from_metadata(cls, meta: dict[str, str]) -> "Contract":
        required = ("input_name", "output_name", "input_shape", "input_digit_box", "class_labels", *IMPLEMENTED)
        missing = [key for key in required if key not in meta]
        if missing:
            raise ValueError(f"the ONNX file has no input contract in its metadata (missing {', '.join(missing)}); "
                             "export it with: python export/to_onnx.py")
        for key, implemented in IMPLEMENTED.items():
            value = json.loads(meta[key]) if key == "input_range" else meta[key]
            if value != implemented:
                raise ValueError(f"the model wants {key} = {meta[key]}, but this demo prepares only {implemented}")
        shape = json.loads(meta["input_shape"])
        if len(shape) != 4 or shape[1] != shape[2] or shape[3] != 1:
            raise ValueError(f"the model wants input of shape {shape}; this demo prepares [batch, N, N, 1] grey images")
        contract = cls(input_name=meta["input_name"], output_name=meta["output_name"], image_size=int(shape[1]),
                       digit_box=int(meta["input_digit_box"]), class_labels=tuple(json.loads(meta["class_labels"])),
                       uncertain_below=float(meta.get("uncertain_below", DEFAULT_UNCERTAIN_BELOW)))
        if not 1 <= contract.digit_box <= contract.image_size:
            raise ValueError(f"the model's digit box {contract.digit_box} does not fit its {contract.image_size}-pixel input")
        return contract


def choose_providers(requested: str | None = None) -> list[str]:
    """`requested` like "cuda,cpu" or "cpu" (else $LENET_PROVIDERS); default: CUDA (if this build
    has it) then CPU."""
    requested = requested or os.environ.get("LENET_PROVIDERS")
    available = ort.get_available_providers()
    if requested:
        names = [PROVIDER_ALIASES.get(name.strip().lower(), name.strip()) for name in requested.split(",") if name.strip()]
        unknown = [name for name in names if name not in available]
        if unknown or not names:
            raise ValueError(f"provider(s) {', '.join(unknown) or repr(requested)} not available; "
                             f"this ONNX Runtime has {', '.join(available)}")
        return names
    return [name for name in (CUDA, "CPUExecutionProvider") if name in available]


CUDA_LIBRARIES = ("libcudart.so.13", "libcudnn.so.9")  # what onnxruntime-gpu 1.31 loads


def nvidia_packages_installed() -> bool:
    """True when pip's NVIDIA wheels provide the CUDA 13 runtime and cuDNN 9 that ONNX Runtime
    needs (onnxruntime-gpu's extras; TensorFlow's CUDA 12 wheels do not count)."""
    spec = importlib.util.find_spec("nvidia")
    folders = [Path(folder) for folder in (spec.submodule_search_locations or [])] if spec else []
    return all(any(any(folder.glob(f"**/{library}*")) for folder in folders) for library in CUDA_LIBRARIES)


def preload_cuda_libraries() -> None:
    """Load the pip-installed CUDA/cuDNN libraries so ONNX Runtime's CUDA provider finds them."""
    if nvidia_packages_installed() and hasattr(ort, "preload_dlls"):
        try:
            ort.preload_dlls(directory="")
        except Exception:  # the reason is reported by cuda_unavailable_reason if CUDA then fails
            pass


def nvidia_driver_present() -> bool:
    if os.path.exists("/proc/driver/nvidia/version"):
        return True
    try:
        ctypes.CDLL("libcuda.so.1")
        return True
    except OSError:
        return False


def cuda_runtime_loadable() -> bool:
    try:
        for library in CUDA_LIBRARIES:
            ctypes.CDLL(library)
        return True
    except OSError:
        return False


def cuda_unavailable_reason(driver: bool, libraries: bool) -> str:
    """One line saying why CUDA was asked for but ONNX Runtime runs on the CPU."""
    if not driver:
        return "CUDA not used: no NVIDIA driver found on this machine"
    if not libraries:
        return ("CUDA not used: the CUDA 13 / cuDNN 9 libraries are not installed "
                "(pip install -r requirements-gpu.txt)")
    return "CUDA not used: ONNX Runtime's CUDA provider failed to start (run with LENET_PROVIDERS=cuda to see its error)"


def first_line(error: Exception) -> str:
    """An error's first line (ONNX Runtime's messages run on with a stack), at most 300 characters."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]


def make_session(path: str | Path, providers: list[str], threads: int | None = None, spinning: bool = True,
                 nchwc: bool = False, optimized_model_path: str | Path | None = None) -> ort.InferenceSession:
    """An ONNX Runtime session with the demo's settings. `threads`: intra-op threads (None: ONNX
    Runtime's default, all cores); `spinning`: let idle pool threads spin; `nchwc`: allow the NCHWc
    layout rewrite (off by default, see DISABLED_OPTIMIZERS); `optimized_model_path`: also write the
    graph as ONNX Runtime optimised it, to see what really runs."""
    options = ort.SessionOptions()
    if optimized_model_path:
        options.optimized_model_filepath = str(optimized_model_path)
    options.enable_cpu_mem_arena = False  # memory stays flat under concurrent requests; same speed here
    if threads:
        options.intra_op_num_threads = threads
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=providers,
                                disabled_optimizers=[] if nchwc else list(DISABLED_OPTIMIZERS))


def fitted_session(path: str | Path, maker: str, inputs: list[tuple], outputs: list[tuple], threads: int = 1,
                   more=None) -> ort.InferenceSession:
    """A CPU session for one of the reader's fitted graphs (the not-digit and whole-digit checks,
    the pair and line readers), checked: its `inputs` and `outputs` must be these (name, shape)
    pairs, in order — a shape None for any, a size None for any — and `more(session)`, if given,
    must not raise. RuntimeError, in one line naming the file and the command that makes it
    (`python benchmarks/<maker>`), when it is missing, corrupt or made for other inputs."""
    try:
        session = make_session(path, ["CPUExecutionProvider"], threads=threads)
        found = ([(i.name, i.shape) for i in session.get_inputs()], [(o.name, o.shape) for o in session.get_outputs()])
        if not (shapes_match(found[0], inputs) and shapes_match(found[1], outputs)):
            raise ValueError(f"inputs {found[0]}, outputs {found[1]}; expected {inputs} → {outputs}")
        if more is not None:
            more(session)
        return session
    except Exception as error:  # ONNX Runtime raises its own types for a missing or corrupt file
        raise RuntimeError(f"{path} is missing or was made for other inputs ({first_line(error)}): "
                           f"python benchmarks/{maker} makes it") from None


def shapes_match(found: list[tuple], expected: list[tuple]) -> bool:
    """Whether (name, shape) pairs are the `expected` ones (`fitted_session`: None matches any)."""
    def same(shape, wanted):
        return wanted is None or (len(shape) == len(wanted) and all(w is None or s == w for s, w in zip(shape, wanted)))
    return len(found) == len(expected) and all(name == wanted_name and same(shape, wanted)
                                               for (name, shape), (wanted_name, wanted) in zip(found, expected))


class DigitModel:
    """Load an exported LeNet ONNX file; `probabilities(batch)` runs it.

    Raises `ModelError` (one line: the file and the reason) when the file is missing, is not an
    ONNX model, or carries no contract this demo implements."""

    def __init__(self, path: str | Path, providers: str | None = None, threads: int | None = None):
        """`threads`: ONNX Runtime's intra-op threads (None: its default, all cores)."""
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"no model file at {self.path}")
        chosen = choose_providers(providers)
        if CUDA in chosen:
            preload_cuda_libraries()
        # Trying CUDA on a machine without it logs an error and falls back to CPU; `cuda_note`
        # says why instead, so keep the log quiet while the session is made (unless CUDA alone
        # was asked for: then its error is the point).
        ort.set_default_logger_severity(2 if chosen == [CUDA] else 4)
        try:
            self.session = make_session(self.path, chosen, threads, spinning=not threads)
            self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
            self.contract = Contract.from_metadata(self.metadata)
        except Exception as error:  # ONNX Runtime raises its own types for a broken file
            raise ModelError(f"cannot serve {self.path}: {first_line(error)}") from None
        finally:
            ort.set_default_logger_severity(2)
        self.provider = self.session.get_providers()[0]
        self.cuda_note = None
        if CUDA in chosen and self.provider != CUDA:
            self.cuda_note = cuda_unavailable_reason(nvidia_driver_present(),
                                                     nvidia_packages_installed() or cuda_runtime_loadable())

    def describe(self) -> dict:
        """What the file says about itself: recipe, seed, test accuracy and export time (or None)."""
        recipe = json.loads(self.metadata.get("recipe") or "null") or {}
        accuracy = self.metadata.get("test_accuracy")
        return {"recipe": recipe.get("name"), "seed": self.metadata.get("seed"),
                "test_accuracy": float(accuracy) if accuracy not in (None, "None") else None,
                "exported": self.metadata.get("exported"), "precision": self.metadata.get("precision")}

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(N, size, size) or (N, size, size, 1) float32 in [0, 1] → (N, classes) probabilities."""
        images = np.asarray(images)
        size = self.contract.image_size
        if images.ndim == 3:
            images = images[..., None]
        if images.shape[1:] != (size, size, 1) or images.shape[0] == 0:
            raise InputError(f"The model takes a batch of {size}×{size} images, got an array of shape {images.shape}.")
        if not np.issubdtype(images.dtype, np.number) or np.issubdtype(images.dtype, np.complexfloating):
            raise InputError(f"The model takes numbers, got an array of {images.dtype}.")
        images = images.astype(np.float32, copy=False)
        if not np.isfinite(images).all():
            raise InputError("The image contains NaN or infinite values.")
        if images.min() < 0 or images.max() > 1:
            raise InputError("The model takes values in [0, 1].")
        return self.session.run([self.contract.output_name], {self.contract.input_name: images})[0]
