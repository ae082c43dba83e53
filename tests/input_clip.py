"""Draw the example input clip the pack ships (`workflows/media/input_clip.mp4`): `make input-clip`.

The video-to-video templates read `input_clip.mp4` from ComfyUI's input folder; the pack copies this file
there on start when it is absent (glue/folders.py), so every template runs on a fresh install. The clip is
drawn here from scratch (no third-party footage, so no license question): a boat crossing a sunset sea
under drifting clouds, 512×512, 48 frames at 12 fps (4 s: longer than one 16-frame context window and than
the 32 frames the module sees at once, for the long-video template), strong edges for the Canny example.
Its first and last frames are also written as `keyframe_start.png` / `keyframe_end.png`, the two keyframes of
the image-to-video (SparseCtrl) template.
"""
from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "workflows" / "media" / "input_clip.mp4"
SIZE, FRAMES, FPS = 512, 48, 12


def draw(i: int, size: int = SIZE, frames: int = FRAMES) -> np.ndarray:
    """Frame ``i`` as uint8 RGB [size, size, 3]."""
    t = i / frames
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    horizon = 0.58
    sky = np.stack([0.98 - 0.45 * y, 0.62 - 0.45 * y, 0.38 + 0.35 * y], -1)
    depth = np.clip((y - horizon) / (1 - horizon), 0, 1)
    waves = 0.04 * np.sin(60 * y * (1 + depth) - 2 * np.pi * 3 * t + 3 * x)
    sea = np.stack([0.12 + 0.25 * (1 - depth) + waves, 0.18 + 0.12 * (1 - depth) + waves, 0.35 + 0.1 * depth], -1)
    img = (np.clip(np.where((y < horizon)[..., None], sky, sea), 0, 1) * 255).astype(np.uint8)
    line = int(size * horizon)
    sea_rows = img[line:].copy()
    cv2.circle(img, (size // 2, int(size * (0.40 + 0.10 * t))), size // 9, (255, 214, 128), -1, cv2.LINE_AA)
    img[line:] = sea_rows  # the sun sets behind the horizon
    for k, (cy, speed, width) in enumerate(((0.16, 0.5, 0.28), (0.27, 0.8, 0.2), (0.08, 0.3, 0.22))):
        cx = ((0.15 + 0.33 * k + speed * t) % 1.3 - 0.15) * size
        for dx, dy, r in ((0, 0, 0.5), (0.35, 0.12, 0.38), (-0.35, 0.12, 0.38)):
            cv2.ellipse(img, (int(cx + dx * width * size), int((cy + dy * 0.1) * size)),
                        (int(r * width * size), int(r * width * size * 0.45)), 0, 0, 360, (250, 236, 226), -1,
                        cv2.LINE_AA)
    bx, by = int((0.1 + 0.75 * t) * size), int(size * 0.74)
    hull = np.array([[bx - 60, by], [bx + 60, by], [bx + 40, by + 22], [bx - 40, by + 22]], np.int32)
    cv2.fillPoly(img, [hull], (60, 36, 30), cv2.LINE_AA)
    cv2.line(img, (bx, by), (bx, by - 110), (50, 30, 25), 4, cv2.LINE_AA)
    sail = np.array([[bx + 4, by - 105], [bx + 4, by - 8], [bx + 62, by - 8]], np.int32)
    cv2.fillPoly(img, [sail], (245, 240, 230), cv2.LINE_AA)
    return img


KEYFRAMES = {"keyframe_start.png": 0, "keyframe_end.png": FRAMES - 1}


def write_keyframes(folder: Path = OUT.parent) -> list[Path]:
    from PIL import Image
    out = []
    for name, i in KEYFRAMES.items():
        path = folder / name
        Image.fromarray(draw(i)).save(path, optimize=True)
        out.append(path)
    return out


def write(path: Path = OUT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(tmp), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(FPS))
        stream.width = stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "26", "preset": "slow"}
        container.metadata["title"] = "AnimateDiff-Lightning example input (drawn by tests/input_clip.py)"
        for i in range(FRAMES):
            frame = av.VideoFrame.from_ndarray(draw(i), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    tmp.replace(path)
    return path


if __name__ == "__main__":
    out = write(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
    for path in [out, *write_keyframes(out.parent)]:
        print(f"{path}: {path.stat().st_size} bytes")
