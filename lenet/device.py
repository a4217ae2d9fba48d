"""What the Keras backend trains on, and making it deterministic. The only backend-specific code."""

import keras


def describe_device() -> str:
    """'GPU (NVIDIA H100 …)' or 'CPU', for whatever backend Keras runs on."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name)
            return f"GPU ({name}, tensorflow)"
        return "CPU (tensorflow)"
    if backend == "jax":
        import jax
        device = jax.devices()[0]
        return f"{'GPU' if device.platform == 'gpu' else device.platform.upper()} ({device.device_kind}, jax)"
    if backend == "torch":
        import torch
        return f"GPU ({torch.cuda.get_device_name(0)}, torch)" if torch.cuda.is_available() else "CPU (torch)"
    return f"unknown ({backend})"


def make_deterministic(seed: int) -> None:
    """Seed Python, NumPy and the backend; ask TensorFlow for deterministic kernels."""
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        tf.config.experimental.enable_op_determinism()
