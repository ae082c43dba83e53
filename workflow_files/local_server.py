"""Which ComfyUI a headless render talks to: a given URL, one already answering on 127.0.0.1:8188, or one
started for the render (on a free port, with this pack linked in) and stopped after it.

Standard library only (no ComfyUI or torch import), like workflow_files/render.py, which uses it.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from .workflow_api import WorkflowError

PACK_DIR = Path(__file__).resolve().parents[1]
DEFAULT_SERVER = "http://127.0.0.1:8188"


class StartError(Exception):
    """A ComfyUI to use is not there, or a started one did not come up; the message says why."""


def answers(url: str, timeout: float = 3) -> bool:
    """Whether a ComfyUI answers at ``url`` (its /system_stats)."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/system_stats", timeout=timeout) as r:
            r.read()
        return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def find_comfyui(explicit: str | None) -> Path:
    """The ComfyUI folder to start: ``explicit``, $COMFYUI_PATH, the host this pack sits in, or the dev host."""
    candidates = [explicit, os.environ.get("COMFYUI_PATH")]
    if PACK_DIR.parent.name == "custom_nodes":
        candidates.append(str(PACK_DIR.parent.parent))
    candidates.append(str(PACK_DIR / ".host" / "ComfyUI"))
    for c in candidates:
        if c and (Path(c) / "main.py").is_file():
            return Path(c).resolve()
    raise WorkflowError("no ComfyUI to start: pass --comfyui PATH (a folder with main.py), set COMFYUI_PATH, "
                        "or --server URL of a running one")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pack_linked(custom_nodes: Path) -> bool:
    if not custom_nodes.is_dir():
        return False
    return any(entry.resolve() == PACK_DIR for entry in custom_nodes.iterdir())


def _link_pack(custom_nodes: Path):
    custom_nodes.mkdir(parents=True, exist_ok=True)
    (custom_nodes / PACK_DIR.name).symlink_to(PACK_DIR, target_is_directory=True)


class LocalServer:
    """A ComfyUI started for this render and stopped after it."""

    def __init__(self, comfyui: Path, base_dir: str | None, cpu: bool | None, extra_args: list[str], log):
        self.comfyui, self.log = comfyui, log
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.temp = Path(tempfile.mkdtemp(prefix="adl-render-"))
        self.log_path = self.temp / "comfyui.log"
        args = [sys.executable, "main.py", "--listen", "127.0.0.1", "--port", str(self.port),
                "--disable-auto-launch", "--database-url", "sqlite:///:memory:"]
        in_host = _pack_linked(comfyui / "custom_nodes")
        if base_dir:
            base = Path(base_dir).resolve()
            if not _pack_linked(base / "custom_nodes"):
                _link_pack(base / "custom_nodes")
                log(f"linked this pack into {base / 'custom_nodes'}")
            args += ["--base-directory", str(base)]
        elif not in_host:  # a dev checkout: a throw-away base with this pack and the host's models and input
            base = self.temp / "base"
            _link_pack(base / "custom_nodes")
            for folder in ("models", "input"):
                if (comfyui / folder).is_dir():
                    (base / folder).symlink_to(comfyui / folder, target_is_directory=True)
            args += ["--base-directory", str(base)]
        if cpu is None:
            cpu = not (Path("/dev/nvidia0").exists() or Path("/dev/kfd").exists() or sys.platform == "darwin")
        if cpu:
            args.append("--cpu")
        self.args = args + list(extra_args)
        self.process = None

    def start(self, timeout: float = 300.0) -> "LocalServer":
        self.log(f"starting ComfyUI from {self.comfyui} on {self.url} (log: {self.log_path})")
        self._log_file = open(self.log_path, "w")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(self.args, cwd=self.comfyui, stdout=self._log_file,
                                        stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise StartError(f"ComfyUI exited at start (status {self.process.returncode}):\n{self.tail()}")
            if answers(self.url):
                return self
            time.sleep(0.5)
        raise StartError(f"ComfyUI did not answer within {timeout:.0f}s:\n{self.tail()}")

    def tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def import_failures(self) -> list[str]:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return [line for line in text.splitlines() if "IMPORT FAILED" in line and PACK_DIR.name in line]

    def stop(self, keep_log: bool = False):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            self._log_file.close()
        if not keep_log:
            shutil.rmtree(self.temp, ignore_errors=True)


def connect(server: str | None, fresh: bool, comfyui: str | None, base_dir: str | None, cpu: bool | None,
            extra_args: list[str], log) -> tuple[str, LocalServer | None]:
    """The URL to use and, when one was started for it, the LocalServer to stop afterwards: ``server`` as
    given, else a ComfyUI answering on :8188 (unless ``fresh``), else a new one from ``find_comfyui``."""
    if server:
        if not answers(server):
            raise StartError(f"no ComfyUI answers at {server}")
        return server, None
    if not fresh and answers(DEFAULT_SERVER):
        log(f"reusing the ComfyUI at {DEFAULT_SERVER}")
        return DEFAULT_SERVER, None
    started = LocalServer(find_comfyui(comfyui), base_dir, cpu, extra_args, log)
    try:
        return started.url, started.start()
    except BaseException:
        started.stop(keep_log=True)  # the log's path was printed; the message has its tail
        raise
