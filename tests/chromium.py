"""Find a Chromium for the browser test, or get one, so the README's test command needs nothing
installed by hand.

In order: `$LENET_CHROMIUM`; a Chromium or Chrome on PATH or in the usual places (Debian's
/usr/bin/chromium, macOS's Google Chrome); one that Playwright already downloaded; else get one —
on Debian as root with `apt-get install chromium` (Debian's own build, from Debian's mirrors),
elsewhere (macOS, Ubuntu, whose apt package is only a snap stub) with
`python -m playwright install chromium` (from Playwright's servers). If all of that fails,
`ChromiumNotFound` says what was tried and how to fix it; the browser test then fails, it never skips.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
MACOS_APPS = ("/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
              "/Applications/Chromium.app/Contents/MacOS/Chromium")
INSTALL_TIMEOUT_S = 900


class ChromiumNotFound(RuntimeError):
    pass


def find_chromium() -> str | None:
    """A Chromium executable already on this machine, or None."""
    if os.environ.get("LENET_CHROMIUM"):
        return os.environ["LENET_CHROMIUM"] if Path(os.environ["LENET_CHROMIUM"]).is_file() else None
    for name in CANDIDATES:
        if shutil.which(name):
            return shutil.which(name)
    for path in ("/usr/bin/chromium", *MACOS_APPS):
        if Path(path).is_file():
            return path
    return playwright_chromium()


def playwright_chromium() -> str | None:
    """The Chromium Playwright downloaded earlier (`playwright install chromium`), if any."""
    try:
        from playwright.sync_api import sync_playwright
        with sync_playwright() as playwright:
            path = playwright.chromium.executable_path
    except Exception:
        return None
    return path if path and Path(path).is_file() else None


def is_debian() -> bool:
    try:
        fields = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
    except OSError:
        return False
    return fields.get("ID", "").strip('"') == "debian"


def install_chromium(log=print) -> list[str]:
    """Try to install a Chromium; return what was tried and how it ended."""
    tried = []
    commands = []
    if is_debian() and shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        commands.append(["sh", "-c", "apt-get update -q && DEBIAN_FRONTEND=noninteractive "
                                     "apt-get install -y -q chromium"])
    commands.append([sys.executable, "-m", "playwright", "install", "chromium"])
    for command in commands:
        log(f"browser test: no Chromium found; running: {' '.join(command)}")
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
            outcome = f"exit {done.returncode}" + (f": {done.stderr.strip().splitlines()[-1]}"
                                                    if done.returncode and done.stderr.strip() else "")
        except (OSError, subprocess.TimeoutExpired) as error:
            outcome = f"{type(error).__name__}: {error}"
        tried.append(f"{' '.join(command[-3:])} ({outcome})")
        if find_chromium():
            break
    return tried


def chromium_executable() -> str:
    """A Chromium to drive: found, or installed now; else ChromiumNotFound."""
    found = find_chromium()
    if found:
        return found
    tried = install_chromium()
    found = find_chromium()
    if found:
        return found
    raise ChromiumNotFound("no Chromium found and none could be installed (tried: " + "; ".join(tried) + "). "
                           "Install one — Debian: apt-get install chromium; elsewhere: python -m playwright "
                           "install chromium — or point LENET_CHROMIUM at a Chromium binary.")
