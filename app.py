"""LeNet digits — the Gradio app (`python app.py`, or a Hugging Face Space).

Serves the shipped ONNX model (artifacts/fast/lenet.onnx) or the one named by --model /
LENET_MODEL; --providers / LENET_PROVIDERS picks ONNX Runtime providers (e.g. "cpu").
GRADIO_SERVER_NAME and GRADIO_SERVER_PORT set where it listens.
"""

import argparse
import os

os.environ.setdefault("MPLBACKEND", "agg")  # Gradio asks matplotlib for its backend on every event

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
