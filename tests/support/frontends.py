"""The ComfyUI frontends the browser tests run against, and the browser tools they need.

FRONTENDS: the host's own (installed with ComfyUI's requirements), the one current ComfyUI pins, and the newest
on the package index. Each other version is pip-installed (``--no-deps --target``) into .cache/frontends/<version>
on first use and served with ``--front-end-root``.
"""
from __future__ import annotations

import fcntl
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "frontends"
BROWSER_DIR = ROOT / "tests" / "browser"
ARTIFACTS = ROOT / "tests" / ".artifacts"  # screenshots, specs and each script's result, for a person to look at
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


def use_renderer(base_dir: Path, renderer: str) -> None:
    """The user settings a server in ``base_dir`` opens its page with: no tutorial, canvas or Vue nodes."""
    settings = Path(base_dir) / "user" / "default" / "comfy.settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"Comfy.TutorialCompleted": True, "Comfy.VueNodes.Enabled": renderer == "vue"}))


def run_page_script(script: str, server, spec: dict, tag: str, timeout: int = 900) -> dict:
    """Run ``tests/browser/<script>`` against ``server`` with ``spec`` (written to the artifacts as
    ``<tag>-spec.json``); return the JSON object it prints last (also kept as ``<tag>.json``). A failed script
    fails the test with its output and the server's log."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    spec_file = ARTIFACTS / f"{tag}-spec.json"
    spec_file.write_text(json.dumps({"artifacts": str(ARTIFACTS), "tag": tag, **spec}))
    done = subprocess.run(["node", str(BROWSER_DIR / script), server.url, str(spec_file)], cwd=BROWSER_DIR,
                          capture_output=True, text=True, timeout=timeout)
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines, (
        f"{script} ({tag}) failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}\n"
        f"server log:\n{server.log()[-3000:]}")
    out = json.loads(lines[-1])
    (ARTIFACTS / f"{tag}.json").write_text(json.dumps(out, indent=1))
    return out
