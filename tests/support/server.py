"""A real ComfyUI server with this pack loaded, driven over HTTP and its websocket (as the frontend does)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import websocket

ROOT = Path(__file__).resolve().parents[2]
PACK_DIR_NAME = "comfyui-animatediff-lightning"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def example_workflow_models() -> dict[str, Path]:
    """Model folder → the random real-shape stand-in for every kind of model the example workflows load
    (generated into the test cache on first use)."""
    from .controlnet_models import controlnet_file
    from .lora_models import real_motion_lora_ckpt
    from .models import real_motion_module_file, sd15_checkpoint_file
    return {"checkpoints": sd15_checkpoint_file(), "animatediff_models": real_motion_module_file(),
            "animatediff_motion_lora": real_motion_lora_ckpt(), "controlnet": controlnet_file()}


SPARSECTRL_RGB = "v3_sd15_sparsectrl_rgb.ckpt"  # the name the image-to-video template loads


def example_named_models() -> dict[str, dict[str, Path]]:
    """Model folder → file name → stand-in, for the example workflows' files that are another kind of model than
    their folder's usual one (``example_workflow_models``): SparseCtrl in models/controlnet."""
    from .sparsectrl_models import sparsectrl_ckpt
    return {"controlnet": {SPARSECTRL_RGB: sparsectrl_ckpt("rgb")}}


def example_models_linked(links: Path) -> dict[str, list[Path]]:
    """Every example-workflow stand-in for a server: the usual one per folder, and the named ones linked under
    the names the workflows use."""
    models = {k: [v] for k, v in example_workflow_models().items()}
    for folder, files in example_named_models().items():
        for name, source in files.items():
            links.joinpath(folder).mkdir(parents=True, exist_ok=True)
            link = links / folder / name
            if not link.exists():
                link.symlink_to(source.resolve())
            models.setdefault(folder, []).append(link)
    return models


class ComfyServer:
    """ComfyUI on 127.0.0.1 with ``base_dir`` as its base directory (models, input, output, custom_nodes)."""

    def __init__(self, comfyui_path: Path, base_dir: Path, models: dict[str, list[Path]],
                 extra_env: dict[str, str] | None = None, front_end_root: Path | None = None,
                 extra_args: list[str] | tuple[str, ...] = (),
                 extra_custom_nodes: dict[str, Path] | None = None):
        """``extra_env`` is added to the server process's environment (over the offline defaults);
        ``front_end_root`` serves that frontend build (a ``comfyui_frontend_package/static`` folder) instead of
        the one installed with the host; ``extra_args`` are appended to ComfyUI's command line
        (e.g. ``["--preview-method", "none"]``); ``extra_custom_nodes`` (folder name → a pack's checkout) are linked
        into custom_nodes beside this pack."""
        self.comfyui_path, self.base_dir = Path(comfyui_path), Path(base_dir)
        self.extra_env = dict(extra_env or {})
        self.front_end_root = Path(front_end_root) if front_end_root else None
        self.extra_args = list(extra_args)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.client_id = uuid.uuid4().hex
        self.log_path = self.base_dir / "server.log"
        (self.base_dir / "custom_nodes").mkdir(parents=True, exist_ok=True)
        link = self.base_dir / "custom_nodes" / PACK_DIR_NAME
        if not link.exists():
            link.symlink_to(ROOT, target_is_directory=True)
        for name, path in (extra_custom_nodes or {}).items():
            extra = self.base_dir / "custom_nodes" / name
            if not extra.exists():
                extra.symlink_to(Path(path).resolve(), target_is_directory=True)
        for folder, files in models.items():
            target = self.base_dir / "models" / folder
            target.mkdir(parents=True, exist_ok=True)
            for f in files:
                dst = target / Path(f).name
                if not dst.exists():
                    dst.symlink_to(Path(f).resolve())
        self.process = None

    def start(self, timeout: float = 180.0) -> "ComfyServer":
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", **self.extra_env}
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(self.port),
             "--disable-auto-launch", "--database-url", "sqlite:///:memory:",
             "--base-directory", str(self.base_dir),
             *(["--front-end-root", str(self.front_end_root)] if self.front_end_root else []), *self.extra_args],
            cwd=self.comfyui_path, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ComfyUI exited at start:\n{self.log()[-4000:]}")
            try:
                self.get("/system_stats")
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.5)
        raise RuntimeError(f"ComfyUI did not start in {timeout}s:\n{self.log()[-4000:]}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.process:
            self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def get(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=30) as r:
            return json.loads(r.read())

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def run(self, prompt: dict, timeout: float = 900.0) -> dict:
        """Queue an API-format prompt and wait for it. Returns
        ``{"ok": bool, "status": http status, "error": message or None, "node_errors": …, "outputs": …}``."""
        ws = websocket.create_connection(f"ws://127.0.0.1:{self.port}/ws?clientId={self.client_id}",
                                         timeout=timeout)
        try:
            status, body = self.post("/prompt", {"prompt": prompt, "client_id": self.client_id})
            if status != 200:
                return {"ok": False, "status": status, "error": json.dumps(body),
                        "node_errors": body.get("node_errors", {}), "outputs": {}}
            prompt_id = body["prompt_id"]
            error = None
            deadline = time.time() + timeout
            while time.time() < deadline:
                message = ws.recv()
                if not isinstance(message, str):
                    continue  # binary previews
                event = json.loads(message)
                data = event.get("data", {})
                if data.get("prompt_id") != prompt_id:
                    continue
                if event["type"] == "execution_error":
                    error = f"{data.get('exception_type')}: {data.get('exception_message')}"
                if event["type"] in ("execution_error", "execution_interrupted") or (
                        event["type"] == "executing" and data.get("node") is None):
                    break
            else:
                raise TimeoutError(f"prompt {prompt_id} did not finish in {timeout}s")
            history = self.get(f"/history/{prompt_id}").get(prompt_id, {})
            return {"ok": error is None, "status": status, "error": error, "node_errors": {},
                    "outputs": history.get("outputs", {})}
        finally:
            ws.close()

    def run_frames(self, prompt: dict):
        """Run a prompt that must succeed; the images it saved (SaveImage), stacked ``(frames, H, W, C)`` uint8."""
        import numpy as np
        from PIL import Image
        result = self.run(prompt)
        assert result["ok"], result["error"] or self.log()[-3000:]
        images = [img for out in result["outputs"].values() for img in out.get("images", [])]
        return np.stack([np.asarray(Image.open(self.base_dir / "output" / i["subfolder"] / i["filename"]))
                         for i in images])

    def _written_files(self) -> set[Path]:
        """Files a prompt could have saved: everything under output/, and the base directory's own files
        (where a ``../`` filename prefix lands)."""
        output = self.base_dir / "output"
        found = {p for p in output.rglob("*") if p.is_file()} if output.exists() else set()
        return found | {p for p in self.base_dir.iterdir() if p.is_file()}

    def assert_fails_then_recovers(self, prompt: dict, *fragments: str) -> str:
        """Run a prompt that must fail with a message holding every fragment; the server must answer
        afterwards and the prompt must have left no file behind. Returns the message."""
        before = self._written_files()
        result = self.run(prompt)
        assert not result["ok"], f"the prompt ran: {result['outputs']}"
        message = result["error"] or ""
        missing = [f for f in fragments if f not in message]
        assert not missing, f"{missing} not in the error: {message}"
        assert self.alive() and self.get("/system_stats"), f"the server died:\n{self.log()[-3000:]}"
        left = sorted(str(p.relative_to(self.base_dir)) for p in self._written_files() - before)
        assert not left, f"a failed prompt left files behind: {left}"
        return message
