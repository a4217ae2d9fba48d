"""The digit model as the demo sees it: an ONNX file run by ONNX Runtime.

The input contract (image size, digit box, polarity, range, class labels) and the confidence
threshold are read from the file's metadata, written there by export/to_onnx.py — the demo never
imports TensorFlow, Keras or `lenet`. Execution providers: CUDA first when it really runs, then
CPU; `LENET_PROVIDERS=cpu` (or `--providers`) overrides. `DigitModel.provider` is what actually runs.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from demo.images import InputError

PROVIDER_ALIASES = {"cuda": "CUDAExecutionProvider", "cpu": "CPUExecutionProvider",
                    "tensorrt": "TensorrtExecutionProvider"}
DEFAULT_UNCERTAIN_BELOW = 0.6
# ONNX Runtime's NCHWc layout rewrite blocks channels by 16 on AVX-512 (8 on AVX2), so LeNet's
# 20- and 50-channel convolutions are computed as 32 and 64: about half the arithmetic is padding.
# Without it, the convolutions run as im2col + GEMM; measured on the 2-core AVX-512 machine
# (benchmarks/inference.py, fp32, same run): batch-256 throughput ×1.9, single-image p50 ×0.8.
# `benchmarks/inference.py` keeps rows with the rewrite on so the choice can be re-checked on other CPUs.
DISABLED_OPTIMIZERS = ("NchwcTransformer",)


@dataclass(frozen=True)
class Contract:
    input_name: str
    output_name: str
    image_size: int
    digit_box: int
    polarity: str
    class_labels: tuple[str, ...]
    uncertain_below: float

    @classmethod
    def from_metadata(cls, meta: dict[str, str]) -> "Contract":
        required = ("input_name", "output_name", "input_shape", "input_digit_box", "input_polarity", "class_labels")
        missing = [key for key in required if key not in meta]
        if missing:
            raise ValueError(f"the ONNX file has no input contract in its metadata (missing {', '.join(missing)}); "
                             "export it with: python export/to_onnx.py")
        return cls(input_name=meta["input_name"], output_name=meta["output_name"],
                   image_size=int(json.loads(meta["input_shape"])[1]), digit_box=int(meta["input_digit_box"]),
                   polarity=meta["input_polarity"], class_labels=tuple(json.loads(meta["class_labels"])),
                   uncertain_below=float(meta.get("uncertain_below", DEFAULT_UNCERTAIN_BELOW)))


def choose_providers(requested: str | None = None) -> list[str]:
    """`requested` like "cuda,cpu" or "cpu"; default: CUDA (if this build has it) then CPU."""
    requested = requested or os.environ.get("LENET_PROVIDERS")
    available = ort.get_available_providers()
    if requested:
        names = [PROVIDER_ALIASES.get(name.strip().lower(), name.strip()) for name in requested.split(",") if name.strip()]
        unknown = [name for name in names if name not in available]
        if unknown:
            raise ValueError(f"provider(s) {', '.join(unknown)} not available; this ONNX Runtime has {', '.join(available)}")
        return names
    return [name for name in ("CUDAExecutionProvider", "CPUExecutionProvider") if name in available]


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


class DigitModel:
    """Load an exported LeNet ONNX file; `probabilities(batch)` runs it."""

    def __init__(self, path: str | Path, providers: str | None = None, threads: int | None = None):
        """`threads`: ONNX Runtime's intra-op threads (None: its default, all cores)."""
        self.path = Path(path)
        # Trying CUDA on a machine without it logs an error and falls back to CPU; the page shows
        # the provider really in use instead, so keep the log quiet while the session is made.
        ort.set_default_logger_severity(4)
        try:
            self.session = make_session(self.path, choose_providers(providers), threads, spinning=not threads)
        finally:
            ort.set_default_logger_severity(2)
        self.provider = self.session.get_providers()[0]
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        self.contract = Contract.from_metadata(self.metadata)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(N, size, size) or (N, size, size, 1) float32 in [0, 1] → (N, classes) probabilities."""
        images = np.asarray(images)
        size = self.contract.image_size
        if images.ndim == 3:
            images = images[..., None]
        if images.shape[1:] != (size, size, 1) or images.shape[0] == 0:
            raise InputError(f"the model takes a batch of {size}×{size} images, got an array of shape {images.shape}")
        if not np.issubdtype(images.dtype, np.number) or np.issubdtype(images.dtype, np.complexfloating):
            raise InputError(f"the model takes numbers, got an array of {images.dtype}")
        images = images.astype(np.float32, copy=False)
        if not np.isfinite(images).all():
            raise InputError("the image contains NaN or infinite values")
        if images.min() < 0 or images.max() > 1:
            raise InputError("the model takes values in [0, 1]")
        return self.session.run([self.contract.output_name], {self.contract.input_name: images})[0]
