"""End to end through a running server: module adjustments and sample settings (noise, noise layers, FreeInit,
CFG keyframes, sigma schedule) change the frames of a graph run by core KSampler; defaults leave them as they
were; bad values fail the prompt with our message and the server runs the next prompt."""
import numpy as np
import pytest

from conftest import COMFYUI_PATH
from support.models import real_motion_module_file, sd15_checkpoint_file
from support.prompts import text_to_video
from support.server import ComfyServer

MODULE = "animatediff_lightning_4step_comfyui.safetensors"
CHECKPOINT = "sd15-random-fp16.safetensors"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = ComfyServer(COMFYUI_PATH, tmp_path_factory.mktemp("comfy"), {
        "checkpoints": [sd15_checkpoint_file()], "animatediff_models": [real_motion_module_file()]})
    srv.start()
    yield srv
    srv.stop()


def frames(server, prompt):
    return server.run_frames(prompt)


def settings_prompt(prefix: str, *, noise_type="default", seed_offset=0, layers=False, freeinit=False, cfg=None,
                    sigma=None, adjust=False, keyframes_out_of_order=False) -> dict:
    prompt = text_to_video(CHECKPOINT, MODULE, prefix=prefix, sampler="ksampler")
    settings = {"noise_type": noise_type, "seed_gen": "comfy", "seed_offset": seed_offset, "batch_offset": 0}
    if layers:
        prompt["20"] = {"class_type": "ADL_NoiseLayer", "inputs": {
            "application": "add weighted", "noise_type": "constant", "seed_gen": "auto1111", "seed_offset": 3,
            "batch_offset": 0, "weight": 0.4, "balance": 1.0}}
        settings["noise_layers"] = ["20", 0]
    if freeinit:
        prompt["21"] = {"class_type": "ADL_FreeInit", "inputs": {
            "iterations": 2, "filter": "gaussian", "d_s": 0.25, "d_t": 0.25, "n_butterworth": 4, "sigma_step": 999,
            "apply_to_first": False, "method": "FreeInit [sampler sigma]", "iter_batch_offset": 0,
            "iter_seed_offset": 1}}
        settings["freeinit"] = ["21", 0]
    if cfg is not None:
        prompt["22"] = {"class_type": "ADL_CFGKeyframe", "inputs": {"cfg": cfg[0], "start_percent": 0.6,
                                                                   "guarantee_steps": 1}}
        prompt["23"] = {"class_type": "ADL_CFGKeyframe", "inputs": {
            "cfg": cfg[1], "start_percent": 0.2 if keyframes_out_of_order else 0.7, "guarantee_steps": 1,
            "previous": ["22", 0]}}
        settings["custom_cfg"] = ["23", 0]
    if sigma is not None:
        prompt["24"] = {"class_type": "ADL_SigmaSchedule", "inputs": {"beta_schedule": sigma, "zsnr": False}}
        settings["sigma_schedule"] = ["24", 0]
    prompt["25"] = {"class_type": "ADL_SampleSettings", "inputs": settings}
    prompt["6"]["inputs"]["sample_settings"] = ["25", 0]
    if adjust:
        prompt["26"] = {"class_type": "ADL_AdjustPositions", "inputs": {
            "stretch": 0, "initial_offset": 0, "cap": 16, "interpolate_to": 32, "final_offset": 0}}
        prompt["27"] = {"class_type": "ADL_AdjustWeights", "inputs": {"group": "attention", "add": 0.0,
                                                                      "multiply": 0.9, "previous": ["26", 0]}}
        prompt["5"]["inputs"]["adjust"] = ["27", 0]
    return prompt


def test_defaults_keep_the_frames_and_each_setting_changes_them(server):
    plain = frames(server, text_to_video(CHECKPOINT, MODULE, prefix="set_plain", sampler="ksampler"))
    assert np.array_equal(frames(server, settings_prompt("set_default")), plain)
    runs = {
        "offset": settings_prompt("set_offset", seed_offset=1),
        "constant": settings_prompt("set_constant", noise_type="constant"),
        "layers": settings_prompt("set_layers", layers=True),
        "freeinit": settings_prompt("set_freeinit", freeinit=True),
        "cfg": settings_prompt("set_cfg", cfg=(1.0, 3.0)),
        "sigma": settings_prompt("set_sigma", sigma="linear"),
        "adjust": settings_prompt("set_adjust", adjust=True),
    }
    results = {name: frames(server, prompt) for name, prompt in runs.items()}
    for name, video in results.items():
        assert video.shape == plain.shape and not np.array_equal(video, plain), name


def test_bad_settings_fail_with_our_message_and_the_server_goes_on(server):
    server.assert_fails_then_recovers(settings_prompt("set_bad_cfg", cfg=(1.0, 2.0), keyframes_out_of_order=True),
                                      "CFG keyframes out of order", "earliest to the latest")
    bad = settings_prompt("set_bad_pe", adjust=True)
    bad["26"]["inputs"].update(cap=0, interpolate_to=0, initial_offset=500)
    server.assert_fails_then_recovers(bad, "leaves no positions", "lower the offsets")
    blend = settings_prompt("set_bad_blend", sigma="lcm")
    blend["28"] = {"class_type": "ADL_SigmaSchedule", "inputs": {"beta_schedule": "linear", "zsnr": False}}
    blend["24"]["inputs"]["blend_with"] = ["28", 0]
    server.assert_fails_then_recovers(blend, "cannot be blended")
    assert frames(server, settings_prompt("set_after_errors", seed_offset=2)).shape[0] == 16
