"""Inside LeNet: what each layer makes of one picture, and the filters it learned — from the
exported model's companion file (lenet-layers.onnx, written and proven against Keras by
export/layers.py), run by ONNX Runtime like the main model; never Keras.

`LayerModel.beside(model)` opens the companion beside the model file, exported from the same
model.keras (their metadata's `source_model_sha256` agree).
`look_inside(model, layers, picture)` preprocesses the picture exactly like the Draw tab and
returns the input, the activation grids (conv1's 20 maps 28×28 after ReLU, the first pool's 20
maps 14×14, conv2's 50 maps 14×14, the second pool's 50 maps 7×7), the 500 FC units as a strip with
the strongest marked, conv1's 20 filters, the 10 probabilities, and a JSON summary.

Colour scales: one per map — 0 is black and that map's own largest activation for this picture is
the lightest colour, so a weak map's pattern shows as clearly as a strong one's (with one scale per
layer, conv2's and pool2's weaker maps were all but black); how strong each map is, is in the
summary (`map_max`: the weakest and strongest map's peak). Filters on a diverging scale, one per
layer (blue negative, white 0, red positive). Tiles are separated by white lines, which neither
scale uses. The FC 500 units are bars over a unit axis (`unit_strip`), the strongest in red.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from reader.model import CUDA, DigitModel, choose_providers, make_session
from reader.preprocess import preprocess

GAP = 2                          # white pixels between tiles
GAP_COLOUR = (255, 255, 255)
MAGMA = ("#000004", "#b73779", "#fcfdbf")      # activations: 0 → the map's maximum
DIVERGING = ("#2166ac", "#f7f7f7", "#b2182b")  # filters: most negative → 0 → most positive
GRIDS = {  # output → (tiles per row, enlargement) for the page
    "conv1": (5, 3), "pool1": (5, 6), "conv2": (10, 3), "pool2": (10, 6)}
STRONGEST_UNITS = 10
STRIP_SIZE = (1000, 120)         # the FC 500 bars: 2 px per unit, bars up to 120 px tall
AXIS_HEIGHT = 26                 # below the bars: a tick and the unit number every 100 units
AXIS_FONT = 18
BAR_COLOUR, STRONG_COLOUR, AXIS_COLOUR = (120, 60, 150), (200, 30, 30), (75, 85, 99)
BLOCK_GAP = 8                    # white pixels between the conv2 filter blocks
LAYERS_SUFFIX = "-layers.onnx"   # export/onnx_layers.py names the companion so


class LayerModel:
    """The companion ONNX file: activations at every stage, and the conv filters."""

    def __init__(self, path: str | Path, providers: str | None = None, threads: int | None = None):
        self.path = Path(path)
        chosen = [name for name in choose_providers(providers) if name != CUDA] or ["CPUExecutionProvider"]
        self.session = make_session(self.path, chosen, threads, spinning=not threads)
        meta = dict(self.session.get_modelmeta().custom_metadata_map)
        self.layers = json.loads(meta["layer_outputs"])
        self.filter_names = [f["name"] for f in json.loads(meta["filter_outputs"])]
        self.input_name = self.session.get_inputs()[0].name
        self.source_sha256 = meta.get("source_model_sha256")
        self._filters = None

    @classmethod
    def beside(cls, model: DigitModel, threads: int | None = None) -> "LayerModel | None":
        """The companion beside the model file (lenet.onnx → lenet-layers.onnx; an int8 model uses its
        fp32 sibling's), if it was exported from the same model.keras; else None."""
        candidates = [model.path.with_name(model.path.stem + LAYERS_SUFFIX),
                      model.path.with_name(model.path.stem.removesuffix("-int8") + LAYERS_SUFFIX)]
        for path in dict.fromkeys(candidates):
            if path.is_file():
                layers = cls(path, "cpu", threads)
                if layers.source_sha256 and layers.source_sha256 == model.metadata.get("source_model_sha256"):
                    return layers
        return None

    def activations(self, image: np.ndarray) -> dict[str, np.ndarray]:
        """Every layer output for one preprocessed image (size × size in [0, 1]), batch axis removed."""
        names = [layer["name"] for layer in self.layers]
        values = self.session.run(names, {self.input_name: image[None, :, :, None].astype(np.float32)})
        return {name: value[0] for name, value in zip(names, values)}

    def filters(self) -> dict[str, np.ndarray]:
        """The conv kernels, (5, 5, in, out) each (they do not depend on the input)."""
        if self._filters is None:
            size = self.session.get_inputs()[0].shape[1]
            blank = np.zeros((1, size, size, 1), np.float32)
            self._filters = dict(zip(self.filter_names,
                                     self.session.run(self.filter_names, {self.input_name: blank})))
        return self._filters


@dataclass
class InsideReading:
    model_input: np.ndarray          # the 28×28 the model received
    pictures: dict[str, np.ndarray]  # output name (and "conv1_filters", "fc1") → RGB picture
    probabilities: dict[str, float]
    summary: dict                    # JSON-ready


def look_inside(model: DigitModel, layers: LayerModel, source) -> InsideReading | None:
    """All layers for one picture (anything `reader.preprocess.preprocess` takes); None without ink."""
    image = preprocess(source, model.contract.image_size, model.contract.digit_box)
    if image is None:
        return None
    outputs = layers.activations(image)
    pictures = {name: activation_grid(outputs[name], *GRIDS[name]) for name in GRIDS if name in outputs}
    fc = outputs.get("fc1")
    if fc is not None:
        pictures["fc1"] = unit_strip(fc)
    kernels = layers.filters()
    if "conv1_filters" in kernels:
        pictures["conv1_filters"] = filter_grid(kernels["conv1_filters"], columns=5, scale=8)
    labels = model.contract.class_labels
    probabilities = {label: float(p) for label, p in zip(labels, outputs[model.contract.output_name])}
    return InsideReading(image, pictures, probabilities, summarise(layers.layers, outputs, probabilities))


def summarise(layers: list[dict], outputs: dict[str, np.ndarray], probabilities: dict[str, float]) -> dict:
    best = max(probabilities, key=probabilities.get)
    summary = {"prediction": {"label": best, "confidence": round(probabilities[best], 6)},
               "colour_scale": "one per map: 0 is black, the map's own largest activation for this picture the "
                               "lightest colour (map_max: the weakest and the strongest map's peak); filters: blue "
                               "negative, white 0, red positive",
               "layers": []}
    for layer in layers:
        value = outputs[layer["name"]]
        channels = value.reshape(-1, value.shape[-1]).max(axis=0)  # strongest response per map / unit
        strongest = np.argsort(-channels)[:STRONGEST_UNITS if value.ndim == 1 else 5]
        entry = {"name": layer["name"], "shows": layer.get("shows"), "shape": list(value.shape),
                 "max": round(float(value.max()), 6), "mean": round(float(value.mean()), 6),
                 "active_share": round(float((value > 0).mean()), 6),
                 "strongest": [[int(i), round(float(channels[i]), 6)] for i in strongest]}
        if value.ndim == 3:
            entry["map_max"] = [round(float(channels.min()), 6), round(float(channels.max()), 6)]
            entry["silent_maps"] = int((channels <= 0).sum())
        summary["layers"].append(entry)
    return summary


# --- pictures ------------------------------------------------------------------------------------

def coloured(values: np.ndarray, colours: tuple[str, str, str]) -> np.ndarray:
    """Values in [0, 1] → RGB through a three-colour ramp (PIL's ImageOps.colorize)."""
    grey = Image.fromarray(np.rint(np.clip(values, 0, 1) * 255).astype(np.uint8))
    return np.asarray(ImageOps.colorize(grey, black=colours[0], mid=colours[1], white=colours[2]))


def tile_grid(tiles: np.ndarray, columns: int, scale: int, gap: int = GAP) -> np.ndarray:
    """RGB tiles (n, h, w, 3) in rows of `columns`, each enlarged `scale` times, `gap` px apart."""
    count, height, width, _ = tiles.shape
    rows = -(-count // columns)
    tile_h, tile_w = height * scale, width * scale
    canvas = np.full((rows * tile_h + (rows + 1) * gap, columns * tile_w + (columns + 1) * gap, 3), GAP_COLOUR,
                     np.uint8)
    for index, tile in enumerate(tiles):
        row, column = divmod(index, columns)
        top, left = gap + row * (tile_h + gap), gap + column * (tile_w + gap)
        canvas[top:top + tile_h, left:left + tile_w] = tile.repeat(scale, 0).repeat(scale, 1)
    return canvas


def activation_grid(maps: np.ndarray, columns: int, scale: int) -> np.ndarray:
    """(h, w, channels) activations → one grid, each map on its own colour scale (0 black, its own
    peak the lightest colour); a map that is 0 everywhere stays black."""
    peaks = maps.reshape(-1, maps.shape[-1]).max(axis=0)
    scaled = np.where(peaks > 0, maps / np.where(peaks > 0, peaks, 1), 0)
    tiles = np.stack([coloured(scaled[:, :, c], MAGMA) for c in range(maps.shape[-1])])
    return tile_grid(tiles, columns, scale)


def filter_grid(kernels: np.ndarray, columns: int, scale: int) -> np.ndarray:
    """(5, 5, in, out) kernels → a grid with one row per output channel (one tile per input channel),
    or `columns` per row when there is a single input channel; one diverging scale for the layer."""
    height, width, inputs, outputs = kernels.shape
    peak = float(np.abs(kernels).max()) or 1.0
    signed = 0.5 + 0.5 * kernels / peak
    tiles = np.stack([coloured(signed[:, :, i, o], DIVERGING) for o in range(outputs) for i in range(inputs)])
    return tile_grid(tiles, columns if inputs == 1 else inputs, scale)


def filter_blocks(kernels: np.ndarray, block_columns: int, blocks_per_row: int, scale: int) -> np.ndarray:
    """(5, 5, in, out) kernels → one block per output channel (its `in` kernels in rows of
    `block_columns`), `blocks_per_row` blocks to a row, `BLOCK_GAP` px apart; one diverging scale.
    conv2's 50 filters of 20 kernels fit a page this way (10 blocks of 4×5 across) where one row
    per filter runs over 1,000 px tall."""
    height, width, inputs, outputs = kernels.shape
    peak = float(np.abs(kernels).max()) or 1.0
    signed = 0.5 + 0.5 * kernels / peak
    blocks = np.stack([tile_grid(np.stack([coloured(signed[:, :, i, o], DIVERGING) for i in range(inputs)]),
                                 block_columns, scale, gap=1) for o in range(outputs)])
    return tile_grid(blocks, blocks_per_row, 1, gap=BLOCK_GAP)


def unit_strip(units: np.ndarray) -> np.ndarray:
    """The FC units as bars over a unit axis: 2 px per unit, height ∝ activation (0 to the
    strongest unit), the `STRONGEST_UNITS` strongest in red, the rest purple; below, a tick and
    the unit number every 100 units."""
    width, height = STRIP_SIZE
    per_unit = max(1, width // len(units))
    peak = float(units.max()) or 1.0
    strongest = set(np.argsort(-units)[:STRONGEST_UNITS].tolist())
    strip = np.full((height + AXIS_HEIGHT, per_unit * len(units), 3), 255, np.uint8)
    for index, value in enumerate(units):
        bar = int(round((height - 4) * max(float(value), 0.0) / peak))
        if bar:
            strip[height - bar:height, index * per_unit:(index + 1) * per_unit] = STRONG_COLOUR if index in strongest else BAR_COLOUR
    strip[height] = AXIS_COLOUR
    picture = Image.fromarray(strip)
    draw, font = ImageDraw.Draw(picture), ImageFont.load_default(size=AXIS_FONT)
    for unit in range(0, len(units) + 1, 100):
        x = min(unit * per_unit, strip.shape[1] - 1)
        draw.line([(x, height), (x, height + 5)], fill=AXIS_COLOUR, width=2)
        anchor = "la" if unit == 0 else "ra" if unit == len(units) else "ma"
        draw.text((x, height + 6), str(unit), fill=AXIS_COLOUR, font=font, anchor=anchor)
    return np.asarray(picture)


def enlarge(image: np.ndarray, scale: int = 8) -> np.ndarray:
    """A model input (white on black, [0, 1]) as grey pixels, enlarged without smoothing."""
    size = image.shape[0] * scale
    return np.asarray(Image.fromarray((image * 255).astype(np.uint8)).resize((size, size), Image.Resampling.NEAREST))
