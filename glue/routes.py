"""HTTP routes for the frontend extension: list the known files, download one of them by id.

ComfyUI's server has no authentication and serves every route also under ``/api/…``, so the download route
takes nothing from the client but an id from ``known_files.json``: never a path, repo, revision or URL.

- ``GET  /adl/known_files`` → ``{"files": [{"id", "filename", "folder", "description", "present",
  "downloading"}, …]}``
- ``POST /adl/download {"id": "lightning_4step"}`` → 202 ``{"id", "status": "started"}`` (the download runs in
  a worker thread, never on the event loop), 200 ``{"status": "present" | "running"}`` when there is nothing
  to start, 400 for anything but a known id. Progress goes to every client as websocket events
  ``adl.download`` ``{"id", "filename", "status": "progress" | "done" | "error", "done", "total", "message"}``.

``register_routes()`` is called from ``comfy_entrypoint``; without a running ``PromptServer`` (in-process
tests, scripts) it does nothing and returns False.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Optional

from .downloads import DownloadError, comfy_target_folder, download, known_file, known_files

EVENT = "adl.download"
PROGRESS_INTERVAL_S = 0.25
log = logging.getLogger("animatediff_lightning.routes")

_running: set[str] = set()
_lock = threading.Lock()
_registered = False


def _file_row(entry) -> dict:
    return {"id": entry.id, "filename": entry.filename, "folder": entry.folder, "description": entry.description,
            "present": (comfy_target_folder(entry.folder) / entry.filename).is_file(),
            "downloading": entry.id in _running}


def _download_worker(server, entry) -> None:
    """Runs in a worker thread: download, reporting progress at most every PROGRESS_INTERVAL_S."""
    last = [0.0]

    def send(status: str, done: int = 0, total: Optional[int] = None, message: str = "") -> None:
        server.send_sync(EVENT, {"id": entry.id, "filename": entry.filename, "status": status, "done": done,
                                 "total": total, "message": message})

    def progress(done: int, total: Optional[int]) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_INTERVAL_S:
            last[0] = now
            send("progress", done, total)

    try:
        result = download(entry, comfy_target_folder(entry.folder), progress)
        send("done", result.size, result.size, result.message())
    except DownloadError as e:
        send("error", message=str(e))
    except Exception as e:  # never lose a failure silently: the node shows it
        log.exception("download of %s failed", entry.filename)
        send("error", message=f"{entry.filename}: {type(e).__name__}: {e}")
    finally:
        with _lock:
            _running.discard(entry.id)


def _bad_request(message: str):
    from aiohttp import web
    return web.json_response({"error": message, "known_ids": list(known_files())}, status=400)


def make_handlers(server):
    from aiohttp import web

    async def list_files(request):
        return web.json_response({"files": [_file_row(e) for e in known_files().values()]})

    async def start_download(request):
        try:
            body = await request.json()
        except Exception:
            return _bad_request('send JSON: {"id": "<known file id>"}')
        file_id = body.get("id") if isinstance(body, dict) else None
        try:
            entry = known_file(file_id)
        except DownloadError as e:
            return _bad_request(str(e))
        if (comfy_target_folder(entry.folder) / entry.filename).is_file():
            return web.json_response({"id": entry.id, "status": "present"})
        with _lock:
            if entry.id in _running:
                return web.json_response({"id": entry.id, "status": "running"})
            _running.add(entry.id)
        try:
            asyncio.get_running_loop().run_in_executor(None, _download_worker, server, entry)
        except Exception:
            with _lock:
                _running.discard(entry.id)
            raise
        return web.json_response({"id": entry.id, "status": "started"}, status=202)

    return list_files, start_download


def register_routes() -> bool:
    """Add the routes to ComfyUI's running server; False (and nothing done) when there is none."""
    global _registered
    if _registered:
        return True
    try:
        from server import PromptServer
        server = PromptServer.instance
        routes = server.routes
    except Exception:  # no ComfyUI server in this process (tests, scripts)
        return False
    list_files, start_download = make_handlers(server)
    routes.get("/adl/known_files")(list_files)
    routes.post("/adl/download")(start_download)
    from .convert_route import register_convert_routes
    register_convert_routes(routes)
    from .preview import register_preview_route
    register_preview_route(server)
    _registered = True
    return True
