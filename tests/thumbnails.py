"""`make thumbnails`: workflows/<name>.jpg, the template browser's picture of each example workflow.

    .venv/bin/python tests/thumbnails.py                     # all of workflows/*.json
    .venv/bin/python tests/thumbnails.py text_to_video_lightning_4step --out /tmp/thumbs

The picture is the workflow's graph as the real frontend draws it (no weights are needed, none are
downloaded): a ComfyUI server with this pack, empty placeholder files under the model names the workflows
use (so no missing-model dialog, and the loaders show their files), a short generated clip (a sunset) under
the input video names, and Debian's chromium (tests/browser/thumbnails.mjs) opening each file and fitting
the graph into a square view with only the canvas visible, under a caption band (CAPTIONS) that tells the
cards apart at the template browser's size. The template browser shows thumbnails in square
cards (object-fit: cover), so the JPEG is square too.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import av
import numpy as np
from PIL import Image

from support.server import ROOT, ComfyServer

COMFYUI_PATH = Path(os.environ.get("COMFYUI_PATH", ROOT / ".host" / "ComfyUI")).resolve()
BROWSER_DIR = ROOT / "tests" / "browser"
WORKFLOWS = ROOT / "workflows"
SIZE, RENDER = 1024, 2048  # the JPEG's side; the square viewport it is drawn at (scaled down: smooth lines)
LOADERS = {"CheckpointLoaderSimple": "checkpoints", "ControlNetLoader": "controlnet",
           "ADL_LoadMotionModule": "animatediff_models", "ADL_LoadMotionLoRA": "animatediff_motion_lora",
           "ADL_LoadSparseCtrl": "controlnet"}
# The caption band of each card: (title, subtitle). A new workflow needs a line here.
CAPTIONS = {
    "text_to_video_lightning_4step": ("Text → video", "AnimateDiff-Lightning · 4 steps · cfg 1"),
    "text_to_video_motion_lora_pan_left": ("Text → video + pan", "Motion LoRA PanLeft · 4 steps"),
    "video_to_video_canny_lightning_4step": ("Video → video", "Canny ControlNet per frame · 4 steps"),
    "long_video_to_video_context_windows": ("Long video → video", "Context windows of 16 · Canny · 4 steps"),
    "image_to_video_sparsectrl_rgb_lightning_4step": ("Images → video", "SparseCtrl RGB keyframes · 4 steps"),
}
SETTINGS = {
    "Comfy.TutorialCompleted": True,
    "Comfy.Graph.CanvasInfo": False,  # the fps / node count corner
    "Comfy.Minimap.Visible": False,
    "Comfy.Canvas.SelectionToolbox": False,
    "Comfy.NodeBadge.NodeSourceBadgeMode": "None",  # every node is ours or core: the badges add nothing
    "LiteGraph.Canvas.MinFontSizeForLOD": 0,  # full detail (text, widgets) at any zoom
}


def model_names(workflow: dict) -> dict[str, set[str]]:
    """Model folder → the file names a UI workflow uses (loader widgets and its declared model list)."""
    out: dict[str, set[str]] = {}
    for node in workflow["nodes"]:
        if node["type"] in LOADERS:
            out.setdefault(LOADERS[node["type"]], set()).add(node["widgets_values"][0])
    for model in workflow.get("models", []):
        out.setdefault(model["directory"], set()).add(model["name"])
    return out


def input_clip(path: Path, frames: int = 16, size: int = 256) -> None:
    """A stand-in input video (its first frame is Load Video's preview): a sun setting over the sea."""
    path.parent.mkdir(parents=True, exist_ok=True)
    y, x = np.mgrid[0:size, 0:size] / size
    sky = np.stack([0.95 - 0.5 * y, 0.55 - 0.3 * y, 0.35 + 0.3 * y], -1)
    sea = np.stack([0.1 + 0.2 * (1 - y), 0.2 + 0.1 * (1 - y), 0.35 + 0.1 * y], -1)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            sun = (x - 0.5) ** 2 + (y - 0.45 - 0.01 * i) ** 2 < 0.012
            rgb = np.where((y < 0.6)[..., None], np.where(sun[..., None], [1.0, 0.85, 0.5], sky), sea)
            frame = av.VideoFrame.from_ndarray((rgb * 255).astype(np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def prepare(base: Path, workflows: list[Path]) -> dict[str, list[Path]]:
    """Placeholder model files, input clips and user settings under ``base``; returns the models to link."""
    models: dict[str, list[Path]] = {}
    for path in workflows:
        workflow = json.loads(path.read_text())
        for folder, names in model_names(workflow).items():
            for name in names:
                placeholder = base / "placeholders" / folder / name
                if not placeholder.exists():
                    placeholder.parent.mkdir(parents=True, exist_ok=True)
                    placeholder.touch()
                    models.setdefault(folder, []).append(placeholder)
        for node in workflow["nodes"]:
            clip = base / "input" / str((node.get("widgets_values") or [""])[0])
            if node["type"] == "ADL_LoadVideo" and not clip.exists():
                input_clip(clip)
            media = WORKFLOWS / "media" / clip.name
            if node["type"] == "LoadImage" and media.is_file() and not clip.exists():
                clip.parent.mkdir(parents=True, exist_ok=True)
                clip.write_bytes(media.read_bytes())
    settings = base / "user" / "default" / "comfy.settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps(SETTINGS))
    return models


def screenshots(url: str, shots: Path, size: int, workflows: list[Path]) -> dict:
    if missing := [p.stem for p in workflows if p.stem not in CAPTIONS]:
        sys.exit(f"no caption for {', '.join(missing)}: add one to CAPTIONS in {Path(__file__).relative_to(ROOT)}")
    captions = shots / "captions.json"
    captions.write_text(json.dumps({p.stem: CAPTIONS[p.stem] for p in workflows}, ensure_ascii=False))
    done = subprocess.run(["node", str(BROWSER_DIR / "thumbnails.mjs"), url, str(shots), str(size), str(captions),
                           *map(str, workflows)], cwd=BROWSER_DIR, capture_output=True, text=True, timeout=600)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        sys.exit(f"thumbnails.mjs failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    report = json.loads(lines[-1])
    problems = list(report["consoleErrors"])
    for shot in report["shots"]:
        if shot["missingNodesDialog"] or shot["missingModelsDialog"]:
            problems.append(f"{shot['name']}: a dialog opened: {shot['dialogs']}")
    if problems:
        sys.exit("the frontend reported problems:\n" + "\n".join(problems))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="workflow names (default: every workflows/*.json)")
    parser.add_argument("--out", type=Path, default=WORKFLOWS, help="where the JPEGs go (default: workflows/)")
    parser.add_argument("--size", type=int, default=SIZE, help="JPEG width and height in pixels")
    parser.add_argument("--render", type=int, default=RENDER, help="browser viewport (square) it is drawn at")
    parser.add_argument("--quality", type=int, default=85)
    args = parser.parse_args()
    workflows = [WORKFLOWS / f"{n}.json" for n in args.names] or sorted(WORKFLOWS.glob("*.json"))
    if missing := [str(p) for p in workflows if not p.is_file()]:
        sys.exit(f"no such workflow: {', '.join(missing)}")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="adl-thumbnails-") as tmp:
        base = Path(tmp)
        server = ComfyServer(COMFYUI_PATH, base, prepare(base, workflows))
        server.start()
        try:
            (base / "shots").mkdir()
            report = screenshots(server.url, base / "shots", args.render, workflows)
        finally:
            server.stop()
        for shot in report["shots"]:
            jpg = args.out / f"{shot['name']}.jpg"
            with Image.open(shot["png"]) as png:
                png.convert("RGB").resize((args.size, args.size), Image.LANCZOS).save(
                    jpg, "JPEG", quality=args.quality, optimize=True)
            print(f"{jpg.relative_to(ROOT) if jpg.is_relative_to(ROOT) else jpg}: {args.size}x{args.size}, "
                  f"{jpg.stat().st_size // 1024} KB (graph drawn at scale {shot['scale']:.2f}, {shot['nodes']} nodes)")


if __name__ == "__main__":
    main()
