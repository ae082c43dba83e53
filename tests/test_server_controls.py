"""End to end through a running server: ControlNet Weights / Keyframe / Controls (Lightning) between core's Load
ControlNet Model and Apply ControlNet (Advanced), sampled by core KSampler. Frame strengths steer only the frames
they name; a keyframe at strength 0 is no ControlNet at all; bad inputs fail the prompt with our message, leave no
file and the server runs the next prompt."""
import numpy as np
import pytest

from conftest import COMFYUI_PATH
from support.controlnet_models import CONTROLNET_NAME, controlnet_file
from support.models import real_motion_module_file, sd15_checkpoint_file
from support.prompts import text_to_video
from support.server import ComfyServer

MODULE = "animatediff_lightning_4step_comfyui.safetensors"
CHECKPOINT = "sd15-random-fp16.safetensors"
FRAMES = 8


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = ComfyServer(COMFYUI_PATH, tmp_path_factory.mktemp("comfy"), {
        "checkpoints": [sd15_checkpoint_file()], "animatediff_models": [real_motion_module_file()],
        "controlnet": [controlnet_file()]})
    srv.start()
    yield srv
    srv.stop()


def plain(prefix):
    """Frames sampled independently (motion_scale 0), so a control's effect stays on the frames it names."""
    prompt = text_to_video(CHECKPOINT, MODULE, frames=FRAMES, prefix=prefix, sampler="ksampler")
    prompt["6"]["inputs"]["motion_scale"] = 0.0
    return prompt


def controlled(prefix, frames="", keyframe=None, weights=None, mask=None):
    """plain() with a ControlNet on a white hint, through ControlNet Controls."""
    prompt = plain(prefix)
    prompt["20"] = {"class_type": "ControlNetLoader", "inputs": {"control_net_name": CONTROLNET_NAME}}
    prompt["21"] = {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1,
                                                          "color": 0xFFFFFF}}
    controls = {"control_net": ["20", 0], "frames": frames}
    if keyframe is not None:
        prompt["22"] = {"class_type": "ADL_ControlNetKeyframe", "inputs": {
            "start_percent": 0.0, "strength": 1.0, "frames": "", "other_frames": 0.0, "inherit_missing": True,
            "guarantee_steps": 1, **keyframe}}
        controls["keyframes"] = ["22", 0]
    if weights is not None:
        prompt["23"] = {"class_type": "ADL_ControlNetWeights", "inputs": {
            "base_multiplier": 0.825, "uncond_multiplier": 1.0, "block_weights": "", **weights}}
        controls["weights"] = ["23", 0]
    if mask is not None:
        prompt["24"] = {"class_type": "SolidMask", "inputs": {"value": 1.0, **mask}}
        controls["mask"] = ["24", 0]
    prompt["25"] = {"class_type": "ADL_ControlNetControls", "inputs": controls}
    prompt["26"] = {"class_type": "ControlNetApplyAdvanced", "inputs": {
        "positive": ["2", 0], "negative": ["3", 0], "control_net": ["25", 0], "image": ["21", 0],
        "strength": 1.0, "start_percent": 0.0, "end_percent": 1.0}}
    prompt["7"]["inputs"]["positive"] = ["26", 0]
    prompt["7"]["inputs"]["negative"] = ["26", 1]
    return prompt


def frames(server, prompt):
    return server.run_frames(prompt).astype(np.int16)


def changed(a, b):
    return [i for i in range(a.shape[0]) if not np.array_equal(a[i], b[i])]


def test_frame_strengths_steer_only_the_frames_they_name(server):
    base = frames(server, plain("ctl_plain"))
    full = frames(server, controlled("ctl_full"))
    assert changed(base, full) == list(range(FRAMES))
    some = frames(server, controlled("ctl_some", frames="1, 5:7=0.8"))
    assert changed(base, some) == [1, 5, 6]
    assert np.array_equal(some[1], full[1])  # strength 1 there: the full ControlNet's frame


def test_a_strength_0_keyframe_is_no_controlnet_and_soft_weights_change_the_frames(server):
    base = frames(server, plain("ctl_base"))
    assert np.array_equal(frames(server, controlled("ctl_kf0", keyframe={"strength": 0.0})), base)
    full = frames(server, controlled("ctl_full2"))
    soft = frames(server, controlled("ctl_soft", weights={}, mask={"width": 64, "height": 64}))
    assert changed(full, soft) == list(range(FRAMES)) and changed(base, soft) == list(range(FRAMES))


def test_bad_inputs_fail_with_our_message_and_the_server_goes_on(server):
    server.assert_fails_then_recovers(controlled("ctl_past", frames="8=1"), "frame 8 is outside the video's 8 frames")
    server.assert_fails_then_recovers(controlled("ctl_text", frames="one"), "'one' is not a frame")
    server.assert_fails_then_recovers(controlled("ctl_blocks", weights={"block_weights": "1, 2, 3, 4, 5"}),
                                      "5 numbers; give 12")
    server.assert_fails_then_recovers(controlled("ctl_aspect", mask={"width": 64, "height": 32}),
                                      "another aspect ratio")
    server.assert_fails_then_recovers(controlled("ctl_kfpast", keyframe={"frames": "-9"}),
                                      "outside the video's 8 frames")
    assert frames(server, controlled("ctl_after", frames="2")).shape[0] == FRAMES
