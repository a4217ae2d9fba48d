"""The usual Gradio MNIST demo, as tutorials write it, for benchmarks/classroom.py to measure beside the page.

`gr.Interface(fn, gr.Sketchpad(), gr.Label())`: the drawing resized to 28×28 (no MNIST-style
preprocessing), read by the same ONNX model with ONNX Runtime, one thread. Not part of the product.

    python benchmarks/usual_demo.py [--model artifacts/robust/lenet.onnx]   # port: $GRADIO_SERVER_PORT
"""

import argparse
import os
import sys
from pathlib import Path

import gradio as gr
import numpy as np
import onnxruntime as ort
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "artifacts" / "robust" / "lenet.onnx"))
    args = parser.parse_args(argv)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name

    def predict(sketch):
        if sketch is None or sketch.get("composite") is None:
            return {}
        picture = Image.fromarray(sketch["composite"]).convert("RGBA")
        on_white = Image.alpha_composite(Image.new("RGBA", picture.size, "white"), picture).convert("L")
        pixels = 255 - np.asarray(on_white.resize((28, 28)), np.float32)
        probabilities = session.run(None, {input_name: (pixels / 255)[None, :, :, None]})[0][0]
        return {str(digit): float(p) for digit, p in enumerate(probabilities)}

    demo = gr.Interface(predict, gr.Sketchpad(), gr.Label(), api_name="predict")
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), quiet=True)


if __name__ == "__main__":
    sys.exit(main())
