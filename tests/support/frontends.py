"""The ComfyUI frontends the browser tests run against, and the browser tools they need.

FRONTENDS: the host's own (installed with ComfyUI's requirements), the one current ComfyUI pins, and the newest
on the package index. Each other version is pip-installed (``--no-deps --target``) into .cache/frontends/<version>
on first use and served with ``--front-end-root``.
"""
from __future__ import annotations

import fcntl
import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "frontends"
BROWSER_DIR = ROOT / "tests" / "browser"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
PACKAGE = "comfyui-frontend-package"
HOST = "host"
UPSTREAM_PIN = "1.53.6"  # what Comfy-Org/ComfyUI's requirements.txt pins (0.38.x)
NEWEST = "1.58.1"  # the newest on the package index when this was written
FRONTENDS = (HOST, UPSTREAM_PIN, NEWEST)
RENDERERS = ("canvas", "vue")  # the classic LiteGraph canvas; Vue nodes (Comfy.VueNodes.Enabled)
SKIP_VARIABLE = "ADL_SKIP_BROWSER"


def host_version() -> str:
    return importlib.metadata.version(PACKAGE)


def version_of(frontend: str) -> str:
    return host_version() if frontend == HOST else frontend


def front_end_root(frontend: str) -> Path | None:
    """The static folder to serve for ``frontend`` (None: the host's own), installed into the cache if needed."""
    if frontend == HOST:
        return None
    target = CACHE / frontend
    static = target / "comfyui_frontend_package" / "static"
    if (static / "index.html").is_file():
        return static
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one installer at a time; the others find it done
        if not (static / "index.html").is_file():
            partial = CACHE / f".{frontend}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                                   "--no-deps", "--target", str(partial), f"{PACKAGE}=={frontend}"],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"could not install {PACKAGE}=={frontend}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
            shutil.rmtree(target, ignore_errors=True)
            partial.rename(target)
    return static


def browser_tools_missing() -> list[str]:
    """What the browser tests need and this machine lacks, each with how to get it."""
    missing = []
    if not CHROMIUM.is_file():
        missing.append(f"{CHROMIUM} (Debian: sudo apt-get install chromium; or set CHROMIUM=/path/to/chromium)")
    if shutil.which("node") is None:
        missing.append("node (Debian: sudo apt-get install nodejs npm)")
    if not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
        missing.append("playwright-core (npm ci --prefix tests/browser)")
    return missing


def require_browser_tools() -> None:
    """Fail (not skip) when a browser tool is missing, saying how to install it; skip only when the person
    running the tests opted out with ADL_SKIP_BROWSER=1."""
    import pytest

    if os.environ.get(SKIP_VARIABLE, "") not in ("", "0"):
        pytest.skip(f"{SKIP_VARIABLE}={os.environ[SKIP_VARIABLE]}: browser tests skipped on request")
    if missing := browser_tools_missing():
        pytest.fail("the browser tests need " + "; ".join(missing)
                    + f" — or set {SKIP_VARIABLE}=1 to skip them", pytrace=False)
