"""End to end through a running ComfyUI server: random real-shape SD1.5 checkpoint (UNet, CLIP-L, VAE) and
real-shape Lightning motion module → our nodes → 16 frames at 64×64 → VAE decode → saved images.
Bad inputs fail the prompt with our message, and the server runs the next prompt normally."""
import json
import os

import pytest
from PIL import Image

from support.models import real_motion_module_file, sdxl_motion_module_file, sd15_checkpoint_file
from support.prompts import text_to_video
from support.server import ComfyServer
from conftest import COMFYUI_PATH

MODULE = "animatediff_lightning_4step_comfyui.safetensors"
CORRUPT = "animatediff_lightning_8step_comfyui.safetensors"
SDXL = "mm_sdxl_v10_beta.safetensors"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("comfy")
    checkpoint = sd15_checkpoint_file()
    srv = ComfyServer(COMFYUI_PATH, base, {
        "checkpoints": [checkpoint],
        "animatediff_models": [real_motion_module_file(), sdxl_motion_module_file()],
    })
    # a download cut in half, under a name the loader lists
    (base / "models" / "animatediff_models" / CORRUPT).write_bytes(
        real_motion_module_file().open("rb").read(5_000_000))
    os.rename(base / "models" / "animatediff_models" / sdxl_motion_module_file().name,
              base / "models" / "animatediff_models" / SDXL)
    srv.start()
    yield srv
    srv.stop()


def saved_frames(server, result):
    images = [img for out in result["outputs"].values() for img in out.get("images", [])]
    paths = [server.base_dir / "output" / img["subfolder"] / img["filename"] for img in images]
    return [Image.open(p) for p in paths]


def test_pack_loaded_without_import_errors(server):
    info = server.get("/object_info")
    ours = {k for k in info if k.startswith("ADL_")}
    from animatediff_lightning.nodes import NODES
    assert ours == {node.define_schema().node_id for node in NODES}
    failed = [line for line in server.log().splitlines()
              if ("IMPORT FAILED" in line or "Cannot import" in line) and "animatediff" in line.lower()]
    assert not failed, failed
    assert MODULE in info["ADL_LoadMotionModule"]["input"]["required"]["model_name"][1]["options"]
    for node in ours:  # every input and output carries a tooltip
        spec = info[node]
        for name, (kind, *options) in [*spec["input"].get("required", {}).items(),
                                       *spec["input"].get("optional", {}).items()]:
            assert options and options[0].get("tooltip"), (node, name)
        assert all(spec["output_tooltips"]), node
        assert spec["category"].startswith("AnimateDiff-Lightning")


@pytest.mark.parametrize("sampler", ["lightning", "ksampler", "custom"])
def test_text_to_video(server, sampler):
    result = server.run(text_to_video("sd15-random-fp16.safetensors", MODULE, prefix=f"t2v_{sampler}",
                                      sampler=sampler))
    assert result["ok"], result["error"] or server.log()[-3000:]
    frames = saved_frames(server, result)
    assert len(frames) == 16 and all(f.size == (64, 64) for f in frames)
    if sampler == "lightning":  # the loader reports what it found
        text = result["outputs"]["5"]["text"][0]
        assert "Lightning 4-step" in text and "steps 4" in text


def test_missing_file(server):
    prompt = text_to_video("sd15-random-fp16.safetensors", "not_there.safetensors", prefix="bad_missing")
    server.assert_fails_then_recovers(prompt, "not_there.safetensors", "animatediff_models")


def test_corrupt_file(server):
    prompt = text_to_video("sd15-random-fp16.safetensors", CORRUPT, prefix="bad_corrupt")
    server.assert_fails_then_recovers(prompt, CORRUPT, "download it again")


def test_sdxl_module(server):
    prompt = text_to_video("sd15-random-fp16.safetensors", SDXL, prefix="bad_sdxl")
    server.assert_fails_then_recovers(prompt, SDXL, "SDXL motion module")


def test_core_audio_nodes_are_there_as_on_an_artists_comfyui(server):
    """The test host is a whole ComfyUI: core's audio nodes import (they need torchaudio, installed by the Makefile
    without its torch pin) and run — a 44.1 kHz clip saved as Opus is resampled to 48 kHz by torchaudio."""
    import math
    import struct
    import wave

    import av
    failed = [line for line in server.log().splitlines() if "IMPORT FAILED" in line or "Cannot import" in line]
    assert not failed, failed
    info = server.get("/object_info")
    assert {"LoadAudio", "SaveAudio", "SaveAudioOpus", "PreviewAudio"} <= set(info)
    with wave.open(str(server.base_dir / "input" / "tone.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 44100)))
                               for i in range(44100 // 2)))
    result = server.run({"1": {"class_type": "LoadAudio", "inputs": {"audio": "tone.wav"}},
                         "2": {"class_type": "SaveAudioOpus", "inputs": {"audio": ["1", 0], "filename_prefix":
                                                                           "audio/tone", "quality": "64k"}}})
    assert result["ok"], result["error"] or server.log()[-3000:]
    [saved] = [a for out in result["outputs"].values() for a in out.get("audio", [])]
    with av.open(str(server.base_dir / "output" / saved["subfolder"] / saved["filename"])) as f:
        stream = f.streams.audio[0]
        assert stream.rate == 48000
        assert 0.4 < sum(frame.samples for frame in f.decode(stream)) / 48000 < 0.6


def test_too_many_frames_then_next_prompt_runs(server):
    prompt = text_to_video("sd15-random-fp16.safetensors", MODULE, frames=40, prefix="bad_frames")
    server.assert_fails_then_recovers(prompt, "40 frames", "32", "context windows")
    result = server.run(text_to_video("sd15-random-fp16.safetensors", MODULE, frames=8, prefix="after_error"))
    assert result["ok"], result["error"]
    assert len(saved_frames(server, result)) == 8


def test_example_workflows_are_served_and_match_their_api_twins(server):
    """Every UI workflow in workflows/ is listed as a template of this pack, and its widgets map onto the
    inputs the server knows to give exactly the API-format twin that test_server_workflows runs."""
    from support.workflow import to_api
    from support.server import PACK_DIR_NAME
    from conftest import ROOT

    templates = set(server.get("/api/workflow_templates")[PACK_DIR_NAME])
    names = {p.stem for p in (ROOT / "workflows").glob("*.json")}
    assert names and templates == names
    object_info = server.get("/object_info")
    for name in names:
        ui = json.loads((ROOT / "workflows" / f"{name}.json").read_text())
        twin = json.loads((ROOT / "workflows" / "api" / f"{name}.json").read_text())
        assert to_api(ui, object_info) == twin, name
        assert any(node["type"] == "Note" for node in ui["nodes"]), f"{name} has no note"
        assert all(m["url"].startswith("https://huggingface.co/") for m in ui["models"])


def with_motion_controls(frames: int, per_frame: str, prefix: str, second_start: float = 0.5) -> dict:
    """text_to_video with a per-frame effect, a masked scale, two keyframes and a start/end range."""
    prompt = text_to_video("sd15-random-fp16.safetensors", MODULE, frames=frames, prefix=prefix)
    prompt["20"] = {"class_type": "ADL_MotionValue", "inputs": {
        "value": 1.0, "per_frame": per_frame, "mask_min": 0.0, "mask_max": 1.0, "mask_scaling": "absolute"}}
    prompt["21"] = {"class_type": "SolidMask", "inputs": {"value": 0.5, "width": 64, "height": 64}}
    prompt["22"] = {"class_type": "ADL_MotionValue", "inputs": {
        "value": 1.0, "per_frame": "", "mask": ["21", 0], "mask_min": 0.8, "mask_max": 1.2,
        "mask_scaling": "absolute"}}
    prompt["23"] = {"class_type": "ADL_MotionKeyframe", "inputs": {
        "start_percent": 0.3, "guarantee_steps": 1, "inherit_missing": True, "scale": ["22", 0]}}
    prompt["24"] = {"class_type": "ADL_MotionKeyframe", "inputs": {
        "start_percent": second_start, "guarantee_steps": 1, "inherit_missing": False, "previous": ["23", 0]}}
    prompt["6"]["inputs"].update({"effect": ["20", 0], "keyframes": ["24", 0], "start_percent": 0.0,
                                  "end_percent": 0.9})
    return prompt


def test_motion_controls_run_through_the_server(server):
    result = server.run(with_motion_controls(8, "1, 1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.5", "controls"))
    assert result["ok"], result["error"] or server.log()[-3000:]
    assert len(saved_frames(server, result)) == 8


def test_motion_control_bad_input_is_a_node_error(server):
    server.assert_fails_then_recovers(with_motion_controls(8, "1, 1, 0.5", "bad_per_frame"),
                                      "the motion effect has 3 frames but the video has 8")
    server.assert_fails_then_recovers(with_motion_controls(8, "1, oops", "bad_text"), "per_frame: 'oops'")
    server.assert_fails_then_recovers(with_motion_controls(8, "", "bad_order", second_start=0.1),
                                      "out of order: this one starts at 0.1, after one at 0.3")
    result = server.run(text_to_video("sd15-random-fp16.safetensors", MODULE, frames=8, prefix="after_controls"))
    assert result["ok"], result["error"]
