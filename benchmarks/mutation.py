"""Mutation testing of the modules that hold the README's promises: when the code breaks, does a
test fail?

Each mutant changes one thing in one module — a comparison (`<` → `<=`, `==` → `!=`, `in` → `not
in`), `and` ↔ `or`, a `not` or a minus dropped, an arithmetic operator, a number (n → n + 1), a
boolean, a string the code looks up or compares, `min` ↔ `max`, an `if` condition made False (a
guard that never fires), a returned value made None — module-level constants included (the
limits and the contract table live there). It is written into a private copy of the checkout
(the work tree is never touched) and the tests that pin that module run on it: the fast tier
(`pytest -x -m "not slow and not browser"`) of the target's test files, one file at a time, then,
if none failed, its whole-tier files (the server-limit tests). A mutant is killed when a test fails (or the run
passes 3× the clean run's time: timed out), and survives when every test passes. Survivors that
no test could tell from the original are listed in `EQUIVALENT` with the reason; the score is
killed / (mutants − equivalent). Target: ≥ 90 %.

    .venv/bin/python benchmarks/mutation.py                          # every target, in order
    .venv/bin/python benchmarks/mutation.py --only reader/model.py     # some modules
    .venv/bin/python benchmarks/mutation.py --list                   # count the mutants, run none
    .venv/bin/python benchmarks/mutation.py --resume                 # keep results already in --out
    .venv/bin/python benchmarks/mutation.py --only demo/inputs.py --sample 4   # every 4th mutant: an estimate
    .venv/bin/python benchmarks/mutation.py --tests-from REV --out benchmarks/results/mutation_before.json
                                            # the same mutants against the tests of an older commit

It prints a table per module and the survivors (file:line, what changed), and writes
benchmarks/results/mutation.json. No extra package: the mutator is Python's `ast` (mutmut 3, the
library, mutates only inside functions, so not the module-level limits and contract tables that
are most of what these modules promise). `--jobs N` runs N mutants at once (N copies); the
default, 1, suits a shared 2-core machine.

The three modules measured last (reader/images.py, demo/inputs.py, demo/server_limits.py: 741 mutants)
were measured with `--sample 3` (248 mutants) into benchmarks/results/mutation_rest.json: every
survivor of a fast tier runs the server-limit tests (~3 min each on a shared 2-core machine). The
middleware's own tests at the top of tests/test_server_limits.py (in process, no server) kill most
of demo/server_limits.py's mutants in seconds, before the server is started.
"""

import argparse
import ast
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from queue import Queue

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.common import default_out, machine_info, print_table, write_json  # noqa: E402

FAST = "not slow and not browser"


@dataclass(frozen=True)
class Target:
    path: str                           # the module mutated, relative to the repository
    tests: tuple[str, ...]              # test files whose fast tier must notice
    scope: tuple[str, ...] = ()         # functions/classes (qualified names, prefixes) and module-level
                                        # names mutated; empty: the whole module
    whole_tests: tuple[str, ...] = ()   # test files run whole, slow tests included
    note: str = ""


TARGETS = (
    Target("reader/model.py", ("tests/test_digit_model.py", "tests/test_not_sure.py", "tests/test_app.py"),
           ("IMPLEMENTED", "DEFAULT_UNCERTAIN_BELOW", "Contract", "DigitModel.__init__", "DigitModel.probabilities",
            "first_line"), note="the model's contract and input checks"),
    Target("lenet/contract.py", ("tests/test_digit_model.py", "tests/test_export_proof.py", "tests/test_data.py"),
           note="the contract, defined once"),
    Target("reader/pipeline.py", ("tests/test_explain.py", "tests/test_not_sure.py", "tests/test_number_reader.py"),
           ("ModelAnswer", "_reading", "read_digit", "read_number", "at_most"),
           note="the verdicts: sure / not sure, \"?\" in numbers, the Why picture"),
    Target("demo/ui.py", ("tests/test_not_sure.py", "tests/test_app.py"), ("verdict", "Page.number"),
           note="the page's verdict and the Number tab's text"),
    Target("reader/runs.py", ("tests/test_app.py", "tests/test_run_folders.py", "tests/test_space.py"),
           ("ROOT", "ARTIFACTS", "RUNS", "MODEL_FILE", "SHIPPED_MODEL", "MODEL_RULE", "choose_model", "newest_export",
            "display_path"), note="which model is served (the rule; not the training tab's RunView)"),
    Target("reader/catalog.py", ("tests/test_catalog.py",),
           ("MAX_LOADED", "DOWNGRADE_POINTS", "ModelEntry", "ModelCatalog", "downgrade_warning", "LoadedModels"),
           note="which models a visitor may choose, the downgrade warning, lazy loading"),
    Target("export/to_onnx.py", ("tests/test_export_proof.py", "tests/test_run_folders.py"),
           ("SUPPORTED_OPSETS", "PARITY_BATCH_SIZES", "check_parity", "predict", "recorded_uncertainty", "newest_run",
            "inside_artifacts"), note="the exporter's proof"),
    Target("lenet/data.py", ("tests/test_data.py",),
           ("IDX_FILES", "KERAS_NPZ_SHA256", "NPM_TARBALL_MAX_BYTES", "parse_idx", "write_atomic", "_verified",
            "_splits_from_idx", "_from_cache", "_from_keras", "_idx_files_from_tarball", "_cache_idx_files",
            "_from_npm_registry", "_from_npm", "load_mnist"),
           note="MNIST verification (the downloads from a loopback server)"),
    # Being rewritten in main (limits by content type, decoding in an OS-bounded worker pool): measured last.
    Target("reader/images.py", ("tests/test_images.py", "tests/test_inputs.py", "tests/test_preprocess_properties.py"),
           whole_tests=("tests/test_server_limits.py",), note="decoding and its limits (changing in main)"),
    Target("demo/inputs.py", ("tests/test_inputs.py", "tests/test_images.py"),
           whole_tests=("tests/test_server_limits.py",), note="the trust boundary (changing in main)"),
    Target("demo/server_limits.py", (), whole_tests=("tests/test_server_limits.py",),
           note="the server's request limits (changing in main)"),
)

# Survivors no test can tell from the original, by mutant id (see `Mutant.id`), with the reason.
CUDA_ONLY = "preloads pip's CUDA libraries or not: nothing to load without NVIDIA's wheels (no GPU machine runs the tests)"
LOG_LEVEL = "ONNX Runtime's log level while the session is made: what it prints on stderr, no promise"
DEPTH_CAP = ("accepted: the nesting cap is a guard on recursion, no stated figure; every value the page's inputs take "
             "nests at most 3 deep and is judged the same (a URL past the cap is still refused: tests/test_inputs.py)")
EQUIVALENT: dict[str, str] = {
    "reader/model.py::Contract.from_metadata: 1 -> 2 #2": "the size is read from shape[2] instead of shape[1]; the "
                                                         "check above it refuses any input that is not square",
    "reader/model.py::DigitModel.__init__: CUDA in chosen -> False": CUDA_ONLY,
    "reader/model.py::DigitModel.__init__: CUDA in chosen -> CUDA not in chosen": CUDA_ONLY,
    "reader/model.py::DigitModel.__init__: chosen == [CUDA] -> chosen != [CUDA]": LOG_LEVEL,
    "reader/model.py::DigitModel.__init__: 2 -> 3": LOG_LEVEL,
    "reader/model.py::DigitModel.__init__: 2 -> 3 #1": LOG_LEVEL,
    "reader/model.py::DigitModel.__init__: not threads -> threads": "idle threads spin or not: speed only",
    "reader/model.py::DigitModel.__init__: nvidia_packages_installed() or cuda_runtime_loadable() -> "
    "nvidia_packages_installed() and cuda_runtime_loadable()": "which reason CUDA was not used where a driver is "
                                                                 "present: no machine that runs the tests has one",
    "reader/model.py::DigitModel.probabilities: False -> True": "astype(copy=True): the same values in a new array",
    "lenet/contract.py::to_model_input: 255.0 / (high - low) -> 255.0 * (high - low)": "the range's width is 1: "
                                                                                        "dividing by it is multiplying",
    "lenet/contract.py::to_model_input: high - low -> high + low": "the range starts at 0: its width is its top",
    "export/to_onnx.py::recorded_uncertainty: 1 -> 2": "a missing threshold reads as -2 instead of -1: refused either way",
    "export/to_onnx.py::check_parity: 256 -> 257": "the batch sizes are compared on 257 images instead of 256",
    "export/to_onnx.py::predict: 256 -> 257": "batches of 257 instead of 256: the same answers (the proof checks "
                                              "that answers do not depend on the batch)",
    **{f"lenet/data.py::<module>.IDX_FILES: {size} -> {int(size) + 1}": "the sizes beside the checksums are for "
       "people: every check is the SHA-256" for size in ("47_040_016", "60_008", "7_840_016", "10_008")},
    "lenet/data.py::<module>.KERAS_NPZ_SHA256: \"731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1\" -> "
    "'XX731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1XX'": "accepted: Keras's mnist.npz cannot be "
    "fetched here and no other bytes have its hash, so no test can feed a file that matches it",
    "lenet/data.py::write_atomic: True -> False #2": "missing_ok on the failure path: the temporary file exists there",
    "lenet/data.py::_verified: True -> False": "missing_ok when deleting a file just read: it exists",
    "lenet/data.py::_from_cache: npz is not None -> False": "accepted: a cached mnist.npz with Keras's hash cannot "
                                                            "be made here (see KERAS_NPZ_SHA256)",
    "lenet/data.py::_from_cache: _splits_from_npz(npz) -> None": "accepted, as the line above",
    "lenet/data.py::_from_keras: cache_dir / KERAS_NPZ_NAME -> cache_dir * KERAS_NPZ_NAME": "accepted: reached only "
                                                            "after a download with Keras's hash (see KERAS_NPZ_SHA256)",
    "lenet/data.py::_from_npm: \"lenet-npm-\" -> 'XXlenet-npm-XX'": "the name of a temporary folder",
    "reader/catalog.py::downgrade_warning: points <= DOWNGRADE_POINTS -> points < DOWNGRADE_POINTS": "accepted: "
    "exactly one point below cannot be written in binary fractions (accuracies are floats), so no pair of "
    "accuracies sits on the boundary; 0.99 and 1.01 points are tested on each side",
    "reader/pipeline.py::read_number: ink > INK_THRESHOLD -> ink >= INK_THRESHOLD": "accepted: a picture whose darkest "
    "ink is exactly the threshold counts as a drawing; it then reads as no digit, as the original reads it as none",
    "reader/pipeline.py::read_number: bent_choice.score > choice.score -> bent_choice.score >= choice.score": "accepted: "
    "on a tie of the two paths' scores the bent cuts' path is taken; both score the same",
    "reader/images.py::<module>.MAX_PIXELS: 16_000_000 -> 16000001": "only a picture of exactly 16,000,001 pixels "
    "tells them apart, and none exists within the side and aspect limits (16,000,001 has no factor from 895 to 16,384)",
    "reader/images.py::reduced: image.convert(\"RGBA\").reduce(factor) -> None": "unreachable in Pillow 12: every mode "
    "that is not converted first (1, P, PA) or read as numbers (I;16*) reduces without ValueError, YCbCr included",
    "demo/inputs.py::names_a_remote_file: depth > 8 -> depth >= 8": DEPTH_CAP,
    "demo/inputs.py::names_a_remote_file: 1 -> 2": DEPTH_CAP,
    "demo/inputs.py::data_url_bytes: len(encoded) > MAX_DATA_URL_CHARS -> len(encoded) >= MAX_DATA_URL_CHARS": "accepted: "
    "the text limit keeps 4 characters of slack past the base64 of the documented 768 kB (1,048,576); refusing at "
    "exactly 1,048,580 still reads every picture of the documented size",
    "demo/inputs.py::payload_bytes: payload is None -> False": "None then falls through every test to the same 0",
    "demo/inputs.py::flatten: 0 -> 1 #2": "the colour under zero alpha of the empty canvas (0, 0, 1 instead of 0, 0, 0): "
    "invisible, and the preprocessing weighs colour by alpha",
    "demo/server_limits.py::trusted_proxy_hops: \"\" -> 'XXXX'": "the default of an unset LENET_PROXY_HOPS: "
    "'XXXX' is no more digits than '' (both fall to the SPACE_ID rule)",
    "demo/server_limits.py::host_name: 1 -> 2 #2": "rsplit(':', 2) instead of rsplit(':', 1), only on values with "
    "exactly one colon: the same split",
    "demo/server_limits.py::count_parts.receive_counted: len(marker) > 1 -> len(marker) >= 1": "the marker is '--' "
    "and a non-empty boundary: at least 3 bytes, so both are true",
    "reader/images.py::array_to_uint8: array.dtype == np.uint8 -> False": "uint8 then takes the next rule (fits 0-255: "
    "astype(uint8)): the same values, copied",
}


# --- making mutants ------------------------------------------------------------------------------

COMPARE_SWAP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
                ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
BINARY_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div,
               ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult, ast.BitOr: ast.BitAnd, ast.BitAnd: ast.BitOr,
               ast.LShift: ast.RShift, ast.RShift: ast.LShift, ast.MatMult: ast.Mult}
CALL_SWAP = {"min": "max", "max": "min", "any": "all", "all": "any"}
# Calls whose string arguments are messages for people (their wording is no promise a mutant can break).
MESSAGE_CALLS = {"print", "fail", "log", "info", "warning", "error", "exception", "debug", "add_argument",
                 "ArgumentParser", "InputError", "ValueError", "TypeError", "RuntimeError", "OSError", "ModelError",
                 "ExportError", "DataError", "HTTPException", "Error", "warn"}


@dataclass
class Mutant:
    path: str
    qualname: str      # the function or class it is in, or "<module>.NAME" for a module-level assignment
    line: int
    start: tuple[int, int]   # (line, UTF-8 byte column) of the replaced source
    end: tuple[int, int]
    original: str
    replacement: str
    occurrence: int = 0      # among mutants with the same qualname, original and replacement

    @property
    def id(self) -> str:
        """Stable while the code around it changes: where it is (by name) and what it changes."""
        suffix = f" #{self.occurrence}" if self.occurrence else ""
        return f"{self.path}::{self.qualname}: {short(self.original)} -> {short(self.replacement)}{suffix}"


def short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


class Collector(ast.NodeVisitor):
    """Walks a module and proposes the mutants of the nodes in scope."""

    def __init__(self, path: str, source: str, scope: tuple[str, ...]):
        self.path, self.scope = path, scope
        self.lines = source.splitlines()
        self.names: list[str] = []
        self.skipped: list[str] = []   # the context stack: why strings below are not mutated
        self.mutants: list[Mutant] = []

    # scope ------------------------------------------------------------------------------------
    def qualname(self) -> str:
        return ".".join(self.names) or "<module>"

    def in_scope(self) -> bool:
        if not self.scope:
            return True
        name = self.qualname()
        return any(name == s or name.startswith(s + ".") or name == f"<module>.{s}" for s in self.scope)

    def visit_body(self, node) -> None:
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:]  # the docstring
        for statement in body:
            self.visit(statement)

    def visit_Module(self, node):
        self.visit_body(node)

    def visit_FunctionDef(self, node):
        self.names.append(node.name)
        for default in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
            self.visit(default)
        self.visit_body(node)
        self.names.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        self.names.append(node.name)
        self.visit_body(node)
        self.names.pop()

    def visit_Assign(self, node):
        self.module_level_assignment([t for t in node.targets], node.value)

    def visit_AnnAssign(self, node):
        if node.value is not None:
            self.module_level_assignment([node.target], node.value)

    def module_level_assignment(self, targets, value):
        names = [t.id for t in targets if isinstance(t, ast.Name)]
        if not self.names and names:
            self.names.append(f"<module>.{names[0]}")
            self.visit(value)
            self.names.pop()
        else:
            self.visit(value)

    def visit_If(self, node):
        if not self.names and "__name__" in ast.unparse(node.test):
            return  # the `if __name__ == "__main__":` block
        if self.in_scope() and not self.pragma(node.test):
            self.add(node.test, "False")
        self.generic_visit(node)

    def visit_Import(self, node):
        pass

    visit_ImportFrom = visit_Import

    def visit_Raise(self, node):
        self.skipped.append("raise")
        self.generic_visit(node)
        self.skipped.pop()

    def visit_JoinedStr(self, node):
        self.skipped.append("f-string")
        self.generic_visit(node)
        self.skipped.pop()

    def visit_Return(self, node):
        if node.value is not None and not (isinstance(node.value, ast.Constant) and node.value.value is None) \
                and self.in_scope() and not self.pragma(node.value):
            self.add(node.value, "None")
        self.generic_visit(node)

    def visit_Call(self, node):
        name = node.func.id if isinstance(node.func, ast.Name) else \
            node.func.attr if isinstance(node.func, ast.Attribute) else ""
        if isinstance(node.func, ast.Name) and name in CALL_SWAP and self.in_scope() and not self.pragma(node):
            self.add(node.func, CALL_SWAP[name])
        message = name in MESSAGE_CALLS
        if message:
            self.skipped.append("message")
        self.generic_visit(node)
        if message:
            self.skipped.pop()

    def visit_Compare(self, node):
        if self.in_scope() and not self.pragma(node):
            for i, op in enumerate(node.ops):
                swapped = ast.Compare(node.left, node.ops[:i] + [COMPARE_SWAP[type(op)]()] + node.ops[i + 1:],
                                      node.comparators)
                self.add(node, ast.unparse(swapped))
        self.generic_visit(node)

    def visit_BoolOp(self, node):
        if self.in_scope() and not self.pragma(node):
            other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            self.add(node, ast.unparse(ast.BoolOp(other, node.values)))
        self.generic_visit(node)

    def visit_UnaryOp(self, node):
        if isinstance(node.op, (ast.Not, ast.USub)) and self.in_scope() and not self.pragma(node):
            self.add(node, ast.unparse(node.operand))
        self.generic_visit(node)

    def visit_BinOp(self, node):
        if type(node.op) in BINARY_SWAP and self.in_scope() and not self.pragma(node):
            self.add(node, ast.unparse(ast.BinOp(node.left, BINARY_SWAP[type(node.op)](), node.right)))
        self.generic_visit(node)

    def visit_Constant(self, node):
        if not self.in_scope() or self.pragma(node):
            return
        value = node.value
        if isinstance(value, bool):
            self.add(node, repr(not value))
        elif isinstance(value, int):
            self.add(node, repr(value + 1))
        elif isinstance(value, float):
            self.add(node, repr(value + 1.0))
        elif isinstance(value, str) and not self.skipped:
            self.add(node, repr("XX" + value + "XX"))

    # helpers ----------------------------------------------------------------------------------
    def pragma(self, node) -> bool:
        return "pragma: no mutate" in self.lines[node.lineno - 1]

    def add(self, node, replacement: str) -> None:
        self.mutants.append(Mutant(self.path, self.qualname(), node.lineno, (node.lineno, node.col_offset),
                                   (node.end_lineno, node.end_col_offset), ast.get_source_segment(
                                       "\n".join(self.lines), node) or ast.unparse(node), replacement))


def collect(target: Target, source: str) -> list[Mutant]:
    collector = Collector(target.path, source, target.scope)
    collector.visit(ast.parse(source))
    seen: dict[tuple, int] = {}
    for mutant in collector.mutants:
        key = (mutant.qualname, short(mutant.original), short(mutant.replacement))
        mutant.occurrence = seen.get(key, 0)
        seen[key] = mutant.occurrence + 1
    return collector.mutants


def apply(source: str, mutant: Mutant) -> str:
    """`source` with the mutant's span replaced (columns are UTF-8 byte offsets, as `ast` gives them)."""
    lines = source.encode().splitlines(keepends=True)
    (first, start), (last, end) = mutant.start, mutant.end
    replacement = mutant.replacement
    if not replacement.isidentifier() and replacement not in ("None", "True", "False"):
        replacement = f"({replacement})"
    head = b"".join(lines[:first - 1]) + lines[first - 1][:start]
    tail = lines[last - 1][end:] + b"".join(lines[last:])
    mutated = (head + replacement.encode() + tail).decode()
    ast.parse(mutated)  # every mutant is valid Python
    return mutated


# --- running them --------------------------------------------------------------------------------

def copy_checkout(tests_from: str | None) -> Path:
    """A private copy of the checkout's files (tracked and untracked, not ignored); with
    `tests_from`, its tests/ folder as it was at that commit."""
    folder = Path(tempfile.mkdtemp(prefix="lenet-mutation-"))
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name)
    if tests_from:
        shutil.rmtree(folder / "tests")
        archive = subprocess.run(["git", "archive", tests_from, "tests"], cwd=ROOT, capture_output=True,
                                 check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
    return folder


def run_tests(copy: Path, target: Target, timeout: float) -> tuple[str, float, str]:
    """("passed" | "failed" | "timeout", seconds, the last lines of output) for the target's tests:
    one test file at a time, in the order listed (the quick and pointed ones first), up to the
    first that fails."""
    started = time.perf_counter()
    commands = [["-m", FAST, t] for t in target.tests if (copy / t).is_file()]
    commands += [[t] for t in target.whole_tests if (copy / t).is_file()]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "PYTHONHASHSEED": "0", "TF_CPP_MIN_LOG_LEVEL": "3"}
    for args in commands:
        left = timeout - (time.perf_counter() - started)
        process = subprocess.Popen([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                                    "-p", "no:randomly", *args], cwd=copy, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            output, _ = process.communicate(timeout=max(left, 1))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            return "timeout", time.perf_counter() - started, output[-2000:]
        if process.returncode == 5 and "deselected" in output:
            continue  # every test of this file is in another tier
        if process.returncode != 0:
            return "failed", time.perf_counter() - started, output[-2000:]
    return "passed", time.perf_counter() - started, ""


def measure(target: Target, mutants: list[Mutant], copies: Queue, results: dict, out: Path, clean_s: float,
            verbose: bool) -> None:
    source = (ROOT / target.path).read_text()
    timeout = 3 * clean_s + 20

    def one(mutant: Mutant) -> None:
        copy = copies.get()
        try:
            (copy / target.path).write_text(apply(source, mutant))
            outcome, seconds, output = run_tests(copy, target, timeout)
        finally:
            (copy / target.path).write_text(source)
            copies.put(copy)
        status = {"failed": "killed", "timeout": "timeout", "passed": "survived"}[outcome]
        results[mutant.id] = {**asdict(mutant), "status": status, "seconds": round(seconds, 1),
                              "source_sha256": sha256(source), "id": mutant.id}
        if verbose or status == "survived":
            print(f"  {status:8s} {seconds:5.1f}s  {target.path}:{mutant.line}  {short(mutant.original, 60)} -> "
                  f"{short(mutant.replacement, 60)}", flush=True)
        save(out, results)

    with ThreadPoolExecutor(copies.qsize()) as pool:
        list(pool.map(one, mutants))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def save(out: Path, results: dict) -> None:
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"mutants": results}, indent=1))
    os.replace(tmp, out)


# --- the report ----------------------------------------------------------------------------------

@dataclass
class Tally:
    mutants: int = 0
    killed: int = 0
    timeout: int = 0
    survived: int = 0
    equivalent: int = 0
    survivors: list = field(default_factory=list)

    @property
    def score(self) -> float | None:
        counted = self.mutants - self.equivalent
        return (self.killed + self.timeout) / counted if counted else None


def tally(target: Target, mutants: list[Mutant], results: dict) -> Tally:
    count = Tally()
    for mutant in mutants:
        result = results.get(mutant.id)
        if result is None:
            continue
        count.mutants += 1
        if result["status"] == "survived" and mutant.id in EQUIVALENT:
            count.equivalent += 1
        elif result["status"] == "survived":
            count.survived += 1
            count.survivors.append(result)
        else:
            setattr(count, result["status"], getattr(count, result["status"]) + 1)
    return count


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", help="module paths to mutate (default: every target, in order)")
    parser.add_argument("--list", action="store_true", help="print the mutants per module and run none")
    parser.add_argument("--resume", action="store_true",
                        help="keep the killed mutants already in --out (of unchanged modules); run the rest again "
                             "(after adding tests)")
    parser.add_argument("--report", action="store_true", help="only tally the results already in --out")
    parser.add_argument("--compare", help="with --report: also tally, on the mutants both files hold, this other "
                                          "results file (e.g. benchmarks/results/mutation_before.json) beside --out")
    parser.add_argument("--tests-from", help="run the tests/ folder of this commit (e.g. the one before new tests)")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once (one copy of the checkout each)")
    parser.add_argument("--limit", type=int, help="at most this many mutants per module (a quick check)")
    parser.add_argument("--sample", type=int, default=1, help="every Nth mutant only (an estimate in 1/N of the time)")
    parser.add_argument("--verbose", action="store_true", help="print every mutant's outcome, not only survivors")
    parser.add_argument("--out", default=default_out("mutation"))
    args = parser.parse_args(argv)
    targets = [t for t in TARGETS if not args.only or t.path in args.only]
    if args.only and len(targets) != len(args.only):
        parser.error(f"--only takes some of: {', '.join(t.path for t in TARGETS)}")
    planned = {t.path: collect(t, (ROOT / t.path).read_text())[::args.sample][:args.limit] for t in targets}
    if args.list:
        for target in targets:
            print(f"{target.path}: {len(planned[target.path])} mutants")
            for mutant in planned[target.path]:
                print(f"  {mutant.line:4d}  {mutant.id}")
        return 0
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(out.read_text())["mutants"] if (args.resume or args.report) and out.is_file() else {}
    chosen = {t.path for t in targets}
    results: dict = {key: value for key, value in previous.items() if value["path"] not in chosen}  # other modules'
    for target in targets:  # results of unchanged modules are kept
        source_hash = sha256((ROOT / target.path).read_text())
        results.update({key: value for key, value in previous.items() if value["path"] == target.path
                        and value["source_sha256"] == source_hash and (args.report or value["status"] != "survived")})
    if args.report:
        report(args, targets, planned, results, {}, out)
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `kill` still removes the copies (finally below)
    copies: Queue = Queue()
    for _ in range(max(1, args.jobs)):
        copies.put(copy_checkout(args.tests_from))
    timings = {}
    try:
        for target in targets:
            todo = [m for m in planned[target.path] if m.id not in results]
            copy = copies.get()
            status, clean_s, output = run_tests(copy, target, 1800)
            copies.put(copy)
            timings[target.path] = round(clean_s, 1)
            print(f"{target.path}: {len(planned[target.path])} mutants ({len(todo)} to run), clean tests "
                  f"{status} in {clean_s:.1f} s — {target.note}", flush=True)
            if status != "passed":
                print(output, file=sys.stderr)
                return 1
            measure(target, todo, copies, results, out, clean_s, args.verbose)
    finally:
        while not copies.empty():
            shutil.rmtree(copies.get(), ignore_errors=True)
    report(args, targets, planned, results, timings, out)
    return 0


def report(args, targets: list[Target], planned: dict, results: dict, timings: dict, out: Path) -> None:
    """The table per module, the survivors, and the JSON (mutants without a result are left out)."""
    rows, survivors, totals = [], [], Tally()
    for target in targets:
        count = tally(target, planned[target.path], results)
        for name in ("mutants", "killed", "timeout", "survived", "equivalent"):
            setattr(totals, name, getattr(totals, name) + getattr(count, name))
        rows.append([target.path, count.mutants, count.killed, count.timeout, count.survived, count.equivalent,
                     f"{count.score:.1%}" if count.score is not None else "-"])
        survivors += count.survivors
    rows.append(["all", totals.mutants, totals.killed, totals.timeout, totals.survived, totals.equivalent,
                 f"{totals.score:.1%}" if totals.score is not None else "-"])
    print_table(["module", "mutants", "killed", "timed out", "survived", "equivalent", "killed of non-equivalent"],
                rows, title=f"Mutation testing ({'tests of ' + args.tests_from if args.tests_from else 'this checkout'}; "
                            "target >= 90%)")
    if survivors:
        print("\nSurvivors:")
        for result in survivors:
            print(f"  {result['path']}:{result['line']}  {result['id']}")
    if args.report and args.compare:
        other = json.loads(Path(args.compare).read_text())["mutants"]
        rows = []
        for target in targets:
            both = [m for m in planned[target.path] if m.id in results and m.id in other]
            before, after = tally(target, both, other), tally(target, both, results)
            rows.append([target.path, len(both), f"{before.score:.1%}" if before.score is not None else "-",
                         f"{after.score:.1%}" if after.score is not None else "-", before.equivalent])
        print_table(["module", "mutants in both", args.compare, args.out, "equivalent"], rows,
                    title="The same mutants, killed of non-equivalent")
    if args.report:
        return  # the results stay as they were written
    write_json(out, {"machine": machine_info(), "tests_from": args.tests_from, "clean_seconds": timings,
                     "targets": [asdict(t) for t in targets], "table": rows, "mutants": results,
                     "equivalent": {key: reason for key, reason in EQUIVALENT.items() if key in results}})


if __name__ == "__main__":
    sys.exit(main())
