"""End to end through a running server: Load SparseCtrl → Apply SparseCtrl on a Lightning graph run by core KSampler.
Moving the hint's index moves its effect (only the two frames involved change); RGB hints go through the VAE;
bad inputs fail the prompt with our message and the server runs the next one."""
import numpy as np
import pytest

from conftest import COMFYUI_PATH
from support.models import real_motion_module_file, sd15_checkpoint_file
from support.prompts import text_to_video
from support.server import ComfyServer
from support.sparsectrl_models import sparsectrl_file

MODULE = "animatediff_lightning_4step_comfyui.safetensors"
CHECKPOINT = "sd15-random-fp16.safetensors"
FRAMES = 16


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = ComfyServer(COMFYUI_PATH, tmp_path_factory.mktemp("comfy"), {
        "checkpoints": [sd15_checkpoint_file()], "animatediff_models": [real_motion_module_file()],
        "controlnet": [sparsectrl_file("rgb"), sparsectrl_file("scribble"), real_motion_module_file()]})
    srv.start()
    yield srv
    srv.stop()


def frames(server, prompt):
    return server.run_frames(prompt).astype(np.int16)


def sparse_prompt(prefix, kind="scribble", placement="indexes", indexes="3", images=1, use_motion=True,
                  motion_scale=1.0, vae=True, name=None):
    prompt = text_to_video(CHECKPOINT, MODULE, frames=FRAMES, prefix=prefix, sampler="ksampler")
    prompt["6"]["inputs"]["motion_scale"] = motion_scale
    prompt["30"] = {"class_type": "ADL_LoadSparseCtrl", "inputs": {
        "sparsectrl_name": name or sparsectrl_file(kind).name, "use_motion": use_motion, "motion_strength": 1.0,
        "motion_scale": 1.0}}
    prompt["31"] = {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": images,
                                                          "color": 0xFFFFFF}}
    apply = {"positive": ["2", 0], "negative": ["3", 0], "control_net": ["30", 0], "images": ["31", 0],
             "strength": 1.0, "start_percent": 0.0, "end_percent": 1.0, "placement": placement, "indexes": indexes}
    if vae:
        apply["vae"] = ["1", 2]
    prompt["32"] = {"class_type": "ADL_ApplySparseCtrl", "inputs": apply}
    prompt["7"]["inputs"]["positive"] = ["32", 0]
    prompt["7"]["inputs"]["negative"] = ["32", 1]
    return prompt


def changed_frames(a, b):
    return [i for i in range(a.shape[0]) if not np.array_equal(a[i], b[i])]


def test_moving_the_index_moves_the_effect(server):
    """Frames sampled independently (motion off in both modules): only the frame the hint leaves and the frame
    it goes to change."""
    at3 = frames(server, sparse_prompt("sc_at3", indexes="3", use_motion=False, motion_scale=0.0))
    at12 = frames(server, sparse_prompt("sc_at12", indexes="12", use_motion=False, motion_scale=0.0))
    assert at3.shape[0] == FRAMES
    assert changed_frames(at3, at12) == [3, 12]
    last = frames(server, sparse_prompt("sc_last", indexes="-1", use_motion=False, motion_scale=0.0))
    assert changed_frames(at3, last) == [3, 15]


def test_rgb_hints_through_the_vae_and_with_motion(server):
    plain = frames(server, text_to_video(CHECKPOINT, MODULE, frames=FRAMES, prefix="sc_plain", sampler="ksampler"))
    rgb = frames(server, sparse_prompt("sc_rgb", kind="rgb", placement="spread uniform", images=2))
    assert rgb.shape == plain.shape and not np.array_equal(rgb, plain)
    # with both motion modules on, a hint reaches the frames around it
    near = frames(server, sparse_prompt("sc_near3", indexes="3"))
    near12 = frames(server, sparse_prompt("sc_near12", indexes="12"))
    assert len(changed_frames(near, near12)) > 2


def test_bad_inputs_fail_with_our_message_and_the_server_goes_on(server):
    server.assert_fails_then_recovers(sparse_prompt("sc_past", indexes="16"), "index 16 is past the video",
                                      "16 frames")
    server.assert_fails_then_recovers(sparse_prompt("sc_count", indexes="0, 4", images=3), "3 images but 2 indexes")
    server.assert_fails_then_recovers(sparse_prompt("sc_novae", kind="rgb", vae=False), "connect the checkpoint's VAE")
    server.assert_fails_then_recovers(sparse_prompt("sc_notsparse", name=MODULE),
                                      f"{MODULE} is a motion module, not SparseCtrl")
    server.assert_fails_then_recovers(sparse_prompt("sc_text", indexes="zero"), "'zero' is not a frame number")
    assert frames(server, sparse_prompt("sc_after", indexes="5")).shape[0] == FRAMES
