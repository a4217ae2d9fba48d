"""LeNet digits — the Gradio app: `python app.py [--model FILE] [--providers cuda,cpu]`, or a Hugging Face Space.

Serves `--model` / LENET_MODEL, else your newest `runs/*/lenet.onnx`, else the shipped model; prints
which and why. Arguments and the model are checked before Gradio is imported (`demo.serving`).
"""

import sys

from demo import serving

served = serving.start(sys.argv[1:] if __name__ == "__main__" else [])

from demo.ui import build_app, launch_options  # noqa: E402  (Gradio is imported only once the model loads)

demo = build_app(served)

if __name__ == "__main__":
    demo.launch(**launch_options(served))
