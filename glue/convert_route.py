"""The converter's HTTP routes, for the frontend's "Open with AnimateDiff-Lightning nodes" offer.

- ``GET  /adl/convert/types`` → ``{"convert": {node type: pack}, "absent": {node type: [pack, why]}}``: the
  foreign node types the converter rewrites, and those it knows and leaves (so the frontend can tell which
  missing nodes it can help with).
- ``POST /adl/convert`` with ``{"workflow": <UI or API workflow>}`` → 200 ``{"workflow": converted,
  "report": {...}}``; with ``"lightning": N`` (1, 2, 4 or 8) also ``"lightning": {"workflow", "steps",
  "changes"}``: the same graph switched to Lightning (workflow_files/convert/lightning.py); 400 ``{"error": message}`` for anything else (not JSON, not a workflow, nested too deep, cycles, ...);
  422 should the converter itself fail on an input (never a 5xx);
  413 above ``MAX_BYTES``; 415 unless the body is ``application/json``.

The workflow travels in the request body only: no file name, path or URL is taken from the client and nothing is
written to disk. The conversion (pure Python, the workflow_files/convert/ package) runs in a worker thread, never on the
event loop.
"""
from __future__ import annotations

import asyncio
import logging

from ..workflow_files.convert import (MAX_BYTES, ConvertError, absent_types, convert, known_types, loads,
                                      make_lightning)


async def _read_bounded(request) -> bytes | None:
    """The body, or None when it is larger than MAX_BYTES (read no further than that)."""
    if request.content_length is not None and request.content_length > MAX_BYTES:
        return None
    chunks, size = [], 0
    while True:
        chunk = await request.content.read(64 * 1024)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_BYTES:
            return None
        chunks.append(chunk)


def _convert_body(body: bytes) -> dict:
    data = loads(body)
    if not isinstance(data, dict) or not isinstance(data.get("workflow"), dict):
        raise ConvertError('send {"workflow": <the workflow as the editor saves it, or its API format>}')
    steps = data.get("lightning")
    if steps is not None and (not isinstance(steps, int) or isinstance(steps, bool)):
        raise ConvertError(f"lightning: the Lightning steps (1, 2, 4 or 8), not {steps!r}")
    converted, report = convert(data["workflow"])
    result = {"workflow": converted, "report": report}
    if steps is not None:
        lightning, changes = make_lightning(converted, steps)
        result["lightning"] = {"workflow": lightning, "steps": steps, "changes": changes}
    return result


def make_handlers():
    from aiohttp import web

    async def types(request):
        return web.json_response({"convert": known_types(),
                                  "absent": {t: list(v) for t, v in absent_types().items()}})

    async def convert_workflow(request):
        if request.content_type != "application/json":
            return web.json_response({"error": "send the workflow as application/json"}, status=415)
        body = await _read_bounded(request)
        if body is None:
            return web.json_response({"error": f"the workflow is larger than {MAX_BYTES / 1e6:.1f} MB"}, status=413)
        try:
            result = await asyncio.get_running_loop().run_in_executor(None, _convert_body, body)
        except ConvertError as e:
            return web.json_response({"error": str(e)}, status=400)
        except Exception as e:  # a converter bug on this input: answer for it, keep the server as it was
            logging.exception("AnimateDiff-Lightning: /adl/convert failed")
            return web.json_response({"error": f"the converter cannot read this workflow ({type(e).__name__}: "
                                               f"{e}); please report it with the file"}, status=422)
        return web.json_response(result)

    return types, convert_workflow


def register_convert_routes(routes) -> None:
    """Add the routes to ComfyUI's route table (called from glue/routes.py's ``register_routes``)."""
    types, convert_workflow = make_handlers()
    routes.get("/adl/convert/types")(types)
    routes.post("/adl/convert")(convert_workflow)
