"""`python -m demo.deploy USER/SPACE`: publish the demo as a Hugging Face Space, with exactly the
files the Space needs.

What goes up (`space_files`): app.py, README.md (its front matter makes the repository a Gradio
Space), requirements.txt (serving only: no TensorFlow), the demo/ and reader/ packages (their code and the
number reader's fitted weights, reader/numbers/number_weights.json, reader/numbers/whole_digit.onnx,
reader/numbers/pair_reader.onnx and its two line readers, and the not-digit check, reader/not_digit.onnx), the shipped model
(`reader.runs.SHIPPED_MODEL`), the files of each shipped run folder that the training tab reads
(its run card and the files it names: `reader.runs.page_files`) and the example pictures. Never runs/, .venv, caches, tests, benchmarks,
Keras models or the int8 model (the page uses neither). They are copied into a staging folder and
uploaded with `huggingface_hub`'s `upload_folder`, which stores binary files through Xet/LFS
itself: the Hub refuses a plain `git push` of a binary over 1 MB, and lenet.onnx is 5 MB.

    python -m demo.deploy USER/SPACE --dry-run    # list the files and sizes; no network
    hf auth login                                 # once (or set HF_TOKEN)
    python -m demo.deploy USER/SPACE              # create the Space if needed and upload
"""

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from reader.runs import ARTIFACTS, CARD_FILE, ROOT, SHIPPED_MODEL, page_files

APP_FILES = ("app.py", "README.md", "requirements.txt")
PACKAGES = ("demo", "reader", "reader/numbers")  # the page and the engine
PACKAGE_PATTERNS = ("*.py", "*.json", "*.onnx")  # code and the number reader's fitted weights
EXAMPLE_PATTERN = "examples/*.png"
HUB_FILE_LIMIT = 10 * 1024 * 1024       # the Hub refuses larger files outside Xet/LFS altogether
HUB_PLAIN_BINARY_LIMIT = 1024 * 1024    # binaries over this must go through Xet/LFS (upload_folder does)
STALE_PATTERNS = ["*.py", "demo/**", "reader/**", "artifacts/**"]  # remote files no longer uploaded are deleted


def space_files(root: Path = ROOT) -> list[str]:
    """The repository paths a Space needs, sorted (relative, with forward slashes)."""
    artifacts = root / ARTIFACTS.relative_to(ROOT)
    paths = [root / name for name in APP_FILES]
    paths += [path for package in PACKAGES for pattern in PACKAGE_PATTERNS for path in sorted((root / package).glob(pattern))]
    paths.append(root / SHIPPED_MODEL.relative_to(ROOT))
    for run in sorted(folder for folder in artifacts.iterdir() if (folder / CARD_FILE).is_file()):
        paths += page_files(run)
    paths += sorted(artifacts.glob(EXAMPLE_PATTERN))
    missing = [str(path.relative_to(root)) for path in paths if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"the Space needs {', '.join(missing)}, which this checkout lacks")
    return sorted({path.relative_to(root).as_posix() for path in paths})


def stage(files: list[str], root: Path, folder: Path) -> None:
    for name in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, folder / name)


def describe(files: list[str], root: Path) -> str:
    sizes = {name: (root / name).stat().st_size for name in files}
    lines = [f"{size / 1e6:8.3f} MB  {name}{'  (binary over 1 MB: stored with Xet/LFS)' if size > HUB_PLAIN_BINARY_LIMIT and not name.endswith(('.py', '.md', '.txt', '.json')) else ''}"
             for name, size in sizes.items()]
    lines.append(f"{sum(sizes.values()) / 1e6:8.3f} MB  in {len(files)} files")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.deploy", description=__doc__.split("\n\n")[0])
    parser.add_argument("space", help="the Space to publish to, as USER/NAME (created if it does not exist)")
    parser.add_argument("--private", action="store_true", help="create the Space private")
    parser.add_argument("--dry-run", action="store_true", help="only list what would be uploaded")
    args = parser.parse_args(argv)
    if args.space.count("/") != 1:
        parser.error(f"give the Space as USER/NAME, not {args.space!r}")
    try:
        files = space_files()
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    too_big = [name for name in files if (ROOT / name).stat().st_size > HUB_FILE_LIMIT]
    print(describe(files, ROOT))
    if too_big:
        print(f"error: over the Hub's 10 MB per file: {', '.join(too_big)}", file=sys.stderr)
        return 1
    if args.dry_run:
        return 0
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError
    api = HfApi()
    try:
        api.create_repo(args.space, repo_type="space", space_sdk="gradio", private=args.private, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="lenet-space-") as folder:
            stage(files, ROOT, Path(folder))
            api.upload_folder(folder_path=folder, repo_id=args.space, repo_type="space",
                              delete_patterns=STALE_PATTERNS, commit_message="Deploy LeNet digits")
    except (HfHubHTTPError, OSError, ValueError) as error:
        print(f"error: could not publish {args.space}: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1
    print(f"published https://huggingface.co/spaces/{args.space}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
