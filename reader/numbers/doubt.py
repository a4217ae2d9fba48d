"""When a digit of a number is shown as a guess: the doubt mark.

A number is always shown as its best guess, digit by digit; a digit read with less confidence than
`doubtful_below()` is marked as a guess (the page writes a small "?" after it; the API and the
command line list it as doubtful), with the runner-up beside it. The threshold is chosen by
`benchmarks/fit_number_doubt.py` on numbers written with the training digits the shipped recipes
hold out for validation — never test digits — by the rule recorded with it in `doubt.json`: a mark
is a real warning (the guesses it marks are wrong at least 1 time in 5). It was chosen for the
shipped model and serves every model; without the file, a model's own "not sure" threshold is used.
"""

import functools
import json
from pathlib import Path

DOUBT_FILE = Path(__file__).with_name("doubt.json")


@functools.cache
def fitted() -> dict | None:
    try:
        fit = json.loads(DOUBT_FILE.read_text())
    except (OSError, ValueError):
        return None
    threshold = fit.get("doubtful_below") if isinstance(fit, dict) else None
    return fit if isinstance(threshold, (int, float)) and 0 < threshold < 1 else None


def doubtful_below(model) -> float:
    """The confidence under which a digit of a number is marked as a guess."""
    fit = fitted()
    return float(fit["doubtful_below"]) if fit else model.contract.uncertain_below
