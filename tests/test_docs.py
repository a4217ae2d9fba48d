"""The documentation stays a true map as code moves: every relative link in README.md, docs/*.md,
CHANGELOG.md and benchmarks/README.md points at a file (and, for a markdown file, a heading) that
exists; every module path the docs name in backticks exists; the README stays short and keeps the
set-up commands at its top. No network."""

import re

import pytest

from tests.helpers import ROOT

DOCS = [ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "benchmarks" / "README.md",
        *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 250
# Pictures another change writes (the page's screenshot script); the link is checked once they exist.

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
CODE_PATH = re.compile(r"`((?:lenet|export|evaluate|reader|demo|benchmarks|tests)/[\w/]+\.(?:py|json|onnx))`")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    text = FENCE.sub("", markdown)
    return {anchor(line.lstrip("#")) for line in text.splitlines() if re.match(r"#{1,6} ", line)}


def links(doc):
    text = FENCE.sub("", doc.read_text())
    return [target for target in LINK.findall(text) if not re.match(r"[a-z]+:", target)]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(doc):
    broken = []
    for target in links(doc):
        path, _, fragment = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        if not file.exists():
            broken.append(target)
        elif fragment and file.suffix == ".md" and fragment not in anchors(file.read_text()):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"{doc.relative_to(ROOT)} links to what does not exist: {broken}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_path_named_exists(doc):
    missing = sorted({path for path in CODE_PATH.findall(doc.read_text()) if not (ROOT / path).exists()})
    assert not missing, f"{doc.relative_to(ROOT)} names files that do not exist: {missing}"


def test_the_readme_is_a_short_map():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; keep the depth in docs/"


def test_the_readme_opens_with_the_two_set_up_commands():
    body = (ROOT / "README.md").read_text().split("---", 2)[2]
    blocks = re.findall(r"^```\n(.*?)\n```", body, re.S | re.M)
    assert blocks[:2] == [
        "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt && .venv/bin/python app.py",
        "python3 -m venv .venv && .venv/bin/pip install -q -r requirements-test.txt && .venv/bin/python -m pytest"]


def test_the_anchor_rule_matches_githubs():
    assert anchor("Robustness: `python -m evaluate.robustness`") == "robustness-python--m-evaluaterobustness"
    assert anchor("A number: segmentation by recognition") == "a-number-segmentation-by-recognition"
