"""An animated preview of the whole video while it samples: every frame of the current x0, every step.

``VideoPreview`` is an OUTER_SAMPLE wrapper that the Apply node puts on the MODEL (glue/injection.py), so it runs
for every sampler node that samples that model — Sample Lightning, core KSampler, SamplerCustom,
SamplerCustomAdvanced — and, wrapping the sampler's ``callback``, sees the x0 of the whole video at each step
(context windows included: the callback gets the fused latent of all frames).

Each step the frames are decoded with the host's own previewer (``latent_preview.get_previewer``: TAESD when
its decoder file is present and chosen, else the latent format's latent-to-RGB factors), which honours
ComfyUI's preview setting (``--preview-method``; newer ComfyUI sets the same argument per prompt from the
frontend's setting). With previews off, or no client to show them to, nothing is decoded or sent.

The frames go to the client that queued the prompt as one websocket event ``adl.preview``: a JPEG sprite sheet
(frames in a grid, each at most ``MAX_SIDE`` px on its longest side) and where the frames lie in it. The node
id is the one ComfyUI is executing (``comfy_execution.utils.get_executing_context``). Nothing is written to a
file, a workflow or an output. The latest sheet per (prompt, node) is kept in memory while that node samples,
for clients that connect mid-run (``GET /adl/preview``); a run that stops or fails clears it and tells the
client (``{"cleared": true}``), so no stale animation stays on the node (the frontend also clears on the
host's execution_error / execution_interrupted, for failures after sampling).
"""
from __future__ import annotations

import base64
import io
import logging
import math
import threading
import time

import torch
from PIL import Image, ImageOps

import comfy.model_management
import comfy.patcher_extension
import latent_preview
from comfy.cli_args import LatentPreviewMethod, args
from comfy_execution.utils import get_executing_context

EVENT = "adl.preview"
KEY = "animatediff_lightning_preview"
MAX_SIDE = 256  # longest side of one frame in the preview
MAX_SHEET_SIDE = 2048  # long videos get smaller frames rather than an unbounded image
JPEG_QUALITY = 80
FPS = 8
log = logging.getLogger("animatediff_lightning.preview")


def previews_enabled() -> bool:
    return args.preview_method != LatentPreviewMethod.NoPreviews


def make_previewer(model_patcher):
    """The host's previewer for this model (None when previews are off or the format has no decoder)."""
    if not previews_enabled():
        return None
    return latent_preview.get_previewer(model_patcher.load_device, model_patcher.model.latent_format)


def decode_frames(previewer, x0: torch.Tensor) -> list[Image.Image]:
    """Every frame of x0 (frames, C, H, W) as an RGB image, at most MAX_SIDE px on its longest side."""
    if getattr(x0, "is_nested", False):
        x0 = x0.unbind()[0]
    frames = []
    with torch.no_grad():
        for i in range(x0.shape[0]):
            image = previewer.decode_latent_to_preview(x0[i:i + 1])
            if image is None:
                return []
            if max(image.size) > MAX_SIDE:
                image = ImageOps.contain(image, (MAX_SIDE, MAX_SIDE), Image.Resampling.BILINEAR)
            frames.append(image.convert("RGB"))
    return frames


def sprite_sheet(frames: list[Image.Image]) -> tuple[bytes, dict]:
    """One JPEG with the frames in a grid (row by row) and where they are: {frames, cols, rows, width, height}."""
    n = len(frames)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    w, h = frames[0].size
    side = min(MAX_SIDE, MAX_SHEET_SIDE // cols, MAX_SHEET_SIDE // rows)
    if max(w, h) > side:
        scale = side / max(w, h)
        w, h = max(1, round(w * scale)), max(1, round(h * scale))
    sheet = Image.new("RGB", (cols * w, rows * h))
    for i, frame in enumerate(frames):
        if frame.size != (w, h):
            frame = frame.resize((w, h), Image.Resampling.BILINEAR)
        sheet.paste(frame, ((i % cols) * w, (i // cols) * h))
    buffer = io.BytesIO()
    sheet.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue(), {"frames": n, "cols": cols, "rows": rows, "width": w, "height": h}


def preview_message(previewer, x0, step: int, total: int) -> dict | None:
    frames = decode_frames(previewer, x0)
    if not frames:
        return None
    jpeg, layout = sprite_sheet(frames)
    return {**layout, "step": step, "total": total, "fps": FPS,
            "image": "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")}


# --- the server side: who gets it, the latest per prompt ------------------------------------------------

def prompt_server():
    """ComfyUI's running server, or None (in-process tests, scripts)."""
    try:
        from server import PromptServer
    except Exception:  # noqa: BLE001 — no ComfyUI server in this process
        return None
    return getattr(PromptServer, "instance", None)


class PreviewStore:
    """The latest preview per (prompt id, node id), kept while that node samples."""

    def __init__(self):
        self._latest: dict[tuple[str, str], dict] = {}
        self._lock = threading.Lock()

    def put(self, message: dict) -> None:
        with self._lock:
            # one prompt runs at a time: whatever another prompt left is over
            for key in [k for k in self._latest if k[0] != message["prompt_id"]]:
                del self._latest[key]
            self._latest[(message["prompt_id"], message["node"])] = message

    def drop(self, prompt_id: str, node: str) -> None:
        with self._lock:
            self._latest.pop((prompt_id, node), None)

    def current(self, client_id: str | None = None) -> list[dict]:
        """The latest previews for ``client_id`` (prompts queued without a client are everyone's)."""
        with self._lock:
            return [m for m in self._latest.values()
                    if client_id is None or m.get("client_id") in (None, client_id)]


store = PreviewStore()


class PreviewTarget:
    """Where this sampling run's previews go: the server, the prompt, the node, the client."""

    def __init__(self, server, prompt_id: str, node: str, display_node: str, client_id: str | None):
        self.server, self.prompt_id, self.node = server, prompt_id, node
        self.display_node, self.client_id = display_node, client_id

    @classmethod
    def current(cls):
        server = prompt_server()
        context = get_executing_context()
        if server is None or context is None:
            return None
        client_id = server.client_id
        display = server.last_node_id if client_id is not None and server.last_node_id is not None else context.node_id
        return cls(server, context.prompt_id, str(context.node_id), str(display), client_id)

    def header(self) -> dict:
        return {"prompt_id": self.prompt_id, "node": self.node, "display_node": self.display_node,
                "client_id": self.client_id}

    def send(self, body: dict) -> None:
        message = {**self.header(), **body}
        store.put(message)
        self.server.send_sync(EVENT, message, self.client_id)

    def done(self) -> None:
        store.drop(self.prompt_id, self.node)  # the client keeps showing the last sheet it got

    def clear(self, reason: str) -> None:
        store.drop(self.prompt_id, self.node)
        self.server.send_sync(EVENT, {**self.header(), "cleared": True, "reason": reason}, self.client_id)


class VideoPreview:
    """OUTER_SAMPLE wrapper: the sampler's callback also publishes the animated preview of all frames.
    ``target`` is for tests (default: the prompt and node ComfyUI is executing)."""

    def __init__(self, target=None):
        self.target = target
        self.seconds = 0.0  # time spent on previews in the last run (decode + encode + send)
        self.sent = 0

    def __call__(self, executor, noise, latent_image, sampler, sigmas, denoise_mask=None, callback=None,
                 disable_pbar=False, seed=None, **kwargs):
        target = self.target or PreviewTarget.current()
        previewer = None
        if target is not None:
            try:
                previewer = make_previewer(executor.class_obj.model_patcher)
            except Exception as e:  # noqa: BLE001 — a preview never breaks sampling
                log.warning("[AnimateDiff-Lightning] no animated preview: %s: %s", type(e).__name__, e)
        if previewer is None:
            return executor(noise, latent_image, sampler, sigmas, denoise_mask, callback, disable_pbar, seed,
                            **kwargs)
        self.seconds, self.sent = 0.0, 0
        total = max(int(sigmas.shape[-1]) - 1, 1)

        def preview_callback(step, x0, x, total_steps):
            if callback is not None:
                callback(step, x0, x, total_steps)  # core's progress, still preview, interrupt point
            started = time.perf_counter()
            try:
                body = preview_message(previewer, x0, step + 1, total_steps or total)
                if body is not None:
                    target.send(body)
                    self.sent += 1
            except Exception as e:  # noqa: BLE001
                log.warning("[AnimateDiff-Lightning] animated preview failed: %s: %s", type(e).__name__, e)
            self.seconds += time.perf_counter() - started

        try:
            out = executor(noise, latent_image, sampler, sigmas, denoise_mask, preview_callback, disable_pbar,
                           seed, **kwargs)
        except BaseException as e:
            interrupted = isinstance(e, comfy.model_management.InterruptProcessingException)
            target.clear("interrupted" if interrupted else "error")
            raise
        target.done()
        return out


def add_video_preview(model) -> None:
    """Put the wrapper on a MODEL (a clone the caller owns); never two of ours."""
    model.remove_wrappers_with_key(comfy.patcher_extension.WrappersMP.OUTER_SAMPLE, KEY)
    model.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.OUTER_SAMPLE, KEY, VideoPreview())


def make_handler(server):
    from aiohttp import web

    async def latest(request):
        """GET /adl/preview?clientId=… → {"previews": [the latest adl.preview message per running node]}."""
        client_id = request.rel_url.query.get("clientId") or None
        return web.json_response({"previews": store.current(client_id)})

    return latest


def register_preview_route(server) -> None:
    server.routes.get("/adl/preview")(make_handler(server))
