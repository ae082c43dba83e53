"""The example workflows' API-format twins (workflows/api/), run through a real ComfyUI server on the random
real-shape models: SD1.5 checkpoint, Lightning motion module, SD1.5 ControlNet, and generated clips."""
import json

import pytest

from conftest import COMFYUI_PATH, ROOT
from support.clips import decode_back, make_clip
from support.controlnet_models import CONTROLNET_NAME as CONTROLNET
from support.sd15_models import CHECKPOINT_NAME as CHECKPOINT
from support.server import ComfyServer, example_models_linked


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("comfy_workflows")
    make_clip(base / "input" / "input_clip.mp4", frames=24, fps=12, audio="aac")
    make_clip(base / "input" / "long_clip.mp4", frames=96, fps=24)
    srv = ComfyServer(COMFYUI_PATH, base, example_models_linked(base / "links"))
    srv.start()
    yield srv
    srv.stop()


def workflow(name: str, size: int = 64, **loader) -> dict:
    prompt = json.loads((ROOT / "workflows" / "api" / f"{name}.json").read_text())
    for node in prompt.values():
        inputs = node["inputs"]
        if node["class_type"] == "CheckpointLoaderSimple":
            inputs["ckpt_name"] = CHECKPOINT
        elif node["class_type"] == "ControlNetLoader":
            inputs["control_net_name"] = CONTROLNET
        elif node["class_type"] in ("ADL_LoadVideo", "EmptyLatentImage"):
            inputs.update(width=size, height=size, **loader)
    return prompt


def saved_video(server, result) -> dict:
    files = [f for out in result["outputs"].values() for f in out.get("images", []) + out.get("video", [])
             if f["filename"].endswith((".mp4", ".webm", ".gif"))]
    assert len(files) == 1, result["outputs"]
    return decode_back(server.base_dir / "output" / files[0]["subfolder"] / files[0]["filename"])


def run_ok(server, prompt):
    result = server.run(prompt)
    assert result["ok"], result["error"] or server.log()[-3000:]
    return result


def test_text_to_video_workflow(server):
    video = saved_video(server, run_ok(server, workflow("text_to_video_lightning_4step")))
    assert (video["frames"], video["width"], video["height"]) == (16, 64, 64)
    assert video["fps"] == pytest.approx(8.0)


def test_motion_lora_workflow(server):
    """Text-to-video with a camera Motion LoRA (.ckpt, weights-only) between loader and Apply."""
    video = saved_video(server, run_ok(server, workflow("text_to_video_motion_lora_pan_left")))
    assert (video["frames"], video["width"], video["height"]) == (16, 64, 64)


def test_video_to_video_canny_workflow(server):
    """Clip → Canny per frame → ControlNet → 4-step Lightning at denoise 0.75 → mp4 with the clip's audio."""
    video = saved_video(server, run_ok(server, workflow("video_to_video_canny_lightning_4step")))
    assert (video["frames"], video["width"], video["height"]) == (16, 64, 64)
    assert video["fps"] == pytest.approx(12.0)
    assert video["audio_seconds"] == pytest.approx(16 / 12, abs=0.05)


def test_long_video_workflow_96_frames(server):
    """96 frames in windows of 16 with overlap 4, hints per frame, FreeNoise."""
    prompt = workflow("long_video_to_video_context_windows", video="long_clip.mp4")
    video = saved_video(server, run_ok(server, prompt))
    assert (video["frames"], video["width"], video["height"]) == (96, 64, 64)


def test_image_to_video_sparsectrl_workflow(server):
    """Two keyframe images (the pack's own, copied into the input folder at start) → SparseCtrl RGB on frames 0
    and -1 (VAE-encoded) → 4-step Lightning → mp4."""
    video = saved_video(server, run_ok(server, workflow("image_to_video_sparsectrl_rgb_lightning_4step")))
    assert (video["frames"], video["width"], video["height"]) == (16, 64, 64)
    assert (server.base_dir / "input" / "keyframe_start.png").is_file()


def test_hint_count_mismatch_through_the_server(server):
    prompt = workflow("video_to_video_canny_lightning_4step")
    prompt["5"]["inputs"]["image"] = ["20", 0]
    prompt["20"] = {"class_type": "ImageFromBatch", "inputs": {"image": ["4", 0], "batch_index": 0, "length": 5}}
    result = server.run(prompt)
    assert not result["ok"] and "hint has 5 images but the video has 16 frames" in result["error"]
    assert not list((server.base_dir / "output").rglob("*.partial*"))
