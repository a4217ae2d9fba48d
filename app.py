"""LeNet digits — the Gradio app (`python app.py`, or a Hugging Face Space).

Serves the shipped ONNX model (artifacts/fast/lenet.onnx) or the one named by --model /
LENET_MODEL; --providers / LENET_PROVIDERS picks ONNX Runtime providers (e.g. "cpu").
GRADIO_SERVER_NAME and GRADIO_SERVER_PORT set where it listens.
"""

import argparse
import os

os.environ.setdefault("MPLBACKEND", "agg")  # Gradio asks matplotlib for its backend on every event


def limit_malloc_arenas(arenas: int = 2) -> None:
    """glibc gives each worker thread its own heap arena; with Gradio's thread pool, numpy's
    short-lived image buffers then fragment many arenas and RSS keeps growing (load test: 688 MiB
    after 30 s, 433 MiB with 2 arenas). Same as MALLOC_ARENA_MAX=2; a no-op outside glibc."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").mallopt(-8, arenas)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


limit_malloc_arenas()

from demo.ui import build_app, launch_options

demo = build_app()

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="exported lenet.onnx to serve (default: $LENET_MODEL or artifacts/fast/lenet.onnx)")
    parser.add_argument("--providers", help="ONNX Runtime providers in order, e.g. 'cuda,cpu' or 'cpu'")
    args = parser.parse_args()
    if args.model or args.providers:
        demo = build_app(args.model, args.providers)
    demo.launch(**launch_options())
