"""Switch to Lightning (workflow_files/convert/lightning.py), without a server: the converted graph's motion module
becomes the chosen steps' Lightning file, Apply Motion Module the trained schedule, the samplers Euler / simple /
those steps / cfg 1 (a partial denoise keeps the trained timesteps where core's schedule can), LCM LoRAs and LCM
model sampling bypassed (UI) or wired past (API); linked values and unknown layouts are left and listed; the
faithful conversion is not touched. Through the route and the CLI too."""
import copy
import json
import subprocess
import sys

import pytest
from conftest import ROOT
from support.foreign_workflows import FIXTURES

from animatediff_lightning.workflow_files import convert as cv
from animatediff_lightning.workflow_files.convert.lightning import make_lightning

SCHEDULE = "animatediff (sqrt_linear, as trained)"


def converted(name):
    return cv.convert(json.loads((FIXTURES / f"{name}.json").read_text()))[0]


def by_type(workflow, type_):
    return [n for n in workflow["nodes"] if n["type"] == type_]


def test_ui_graph_switched_at_each_step_count():
    original = converted("t2v_gen2_lora_context_prompt_travel")
    before = copy.deepcopy(original)
    for steps in (1, 2, 4, 8):
        switched, changes = make_lightning(original, steps)
        assert original == before  # the faithful conversion is left as it was
        assert by_type(switched, "ADL_LoadMotionModule")[0]["widgets_values"] == [
            f"animatediff_lightning_{steps}step_comfyui.safetensors"]
        assert by_type(switched, "ADL_ApplyMotionModule")[0]["widgets_values"][1] == SCHEDULE
        seed, control, s, cfg, sampler, scheduler, denoise = by_type(switched, "KSampler")[0]["widgets_values"]
        assert (s, cfg, sampler, scheduler, denoise) == (steps, 1.0, "euler", "simple", 1.0)
        assert (seed, control) == (42, "fixed")
        line = next(c for c in changes if "KSampler" in c)
        assert "sampler_name 'dpmpp_2m' → 'euler'" in line and "scheduler 'karras' → 'simple'" in line
        assert (f"steps 4 → {steps}" in line) == (steps != 4)
        assert any("ADL_LoadMotionModule" in c for c in changes) == (steps != 4)
    # the Motion LoRAs stay (a Lightning module takes them)
    assert len(by_type(switched, "ADL_LoadMotionLoRA")) == len(by_type(original, "ADL_LoadMotionLoRA"))


def api_graph(denoise=1.0, lcm="lcm_lora_sd15.safetensors", steps_link=False):
    prompt = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "dreamshaper_8.safetensors"}},
        "2": {"class_type": "LoraLoader", "inputs": {"model": ["1", 0], "clip": ["1", 1], "lora_name": lcm,
                                                     "strength_model": 1.0, "strength_clip": 1.0}},
        "3": {"class_type": "ModelSamplingDiscrete", "inputs": {"model": ["2", 0], "sampling": "lcm", "zsnr": False}},
        "4": {"class_type": "ADL_LoadMotionModule", "inputs": {"model_name": "AnimateLCM_sd15_t2v.ckpt"}},
        "5": {"class_type": "ADL_ApplyMotionModule", "inputs": {
            "model": ["3", 0], "motion_module": ["4", 0], "motion_scale": 1.0, "start_percent": 0.0,
            "end_percent": 1.0, "beta_schedule": "autoselect (lcm for AnimateLCM, else sqrt_linear)"}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["2", 1], "text": "a cat"}},
        "7": {"class_type": "KSampler", "inputs": {
            "model": ["5", 0], "positive": ["6", 0], "negative": ["6", 0], "latent_image": ["8", 0], "seed": 3,
            "steps": ["9", 0] if steps_link else 10, "cfg": 1.8, "sampler_name": "lcm", "scheduler": "sgm_uniform",
            "denoise": denoise}},
        "8": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 16}},
        "9": {"class_type": "PrimitiveInt", "inputs": {"value": 6}},
    }
    return prompt


def test_api_graph_lcm_parts_wired_past_and_samplers_set():
    switched, changes = make_lightning(api_graph(), 4)
    assert "2" not in switched and "3" not in switched
    assert switched["5"]["inputs"]["model"] == ["1", 0] and switched["6"]["inputs"]["clip"] == ["1", 1]
    assert switched["4"]["inputs"]["model_name"] == "animatediff_lightning_4step_comfyui.safetensors"
    assert switched["5"]["inputs"]["beta_schedule"] == SCHEDULE
    k = switched["7"]["inputs"]
    assert (k["steps"], k["cfg"], k["sampler_name"], k["scheduler"]) == (4, 1.0, "euler", "simple")
    assert any("node 2 LoraLoader: removed" in c and "LCM LoRA" in c for c in changes)
    assert any("node 3 ModelSamplingDiscrete: removed" in c for c in changes)
    assert any("negative prompt is not used" in c for c in changes)


@pytest.mark.parametrize("denoise, steps, exact", [(0.75, 3, True), (0.5, 2, True), (0.6, 2, False)])
def test_partial_denoise_keeps_the_trained_timesteps_where_it_can(denoise, steps, exact):
    """KSampler at denoise d runs the last steps of int(steps / d) simple steps: 3 at 0.75 are t = 749, 499, 249
    of the 4-step schedule; 0.6 has no such count, said so."""
    switched, changes = make_lightning(api_graph(denoise=denoise), 4)
    assert switched["7"]["inputs"]["steps"] == steps and switched["7"]["inputs"]["denoise"] == denoise
    assert int(steps / denoise) == 4 or not exact
    assert any("not on Lightning's trained timesteps" in c for c in changes) == (not exact)


def test_linked_values_and_other_loras_are_left_and_listed():
    switched, changes = make_lightning(api_graph(lcm="add_detail.safetensors", steps_link=True), 4)
    assert "2" in switched and "3" not in switched  # an ordinary LoRA stays; LCM sampling goes
    assert switched["7"]["inputs"]["steps"] == ["9", 0]
    assert any("steps comes from another node; set it to 4 there" in c for c in changes)


def test_ui_lcm_lora_is_bypassed_and_linked_widgets_left():
    workflow = converted("t2v_gen2_lora_context_prompt_travel")
    checkpoint = by_type(workflow, "CheckpointLoaderSimple")[0]
    lora = {"id": 900, "type": "LoraLoader", "mode": 0, "inputs": [], "outputs": [],
            "widgets_values": ["LCM_LoRA_Weights_SD15.safetensors", 1.0, 1.0]}
    workflow["nodes"].append(lora)
    sampler = by_type(workflow, "KSampler")[0]
    sampler["inputs"].append({"name": "steps", "type": "INT", "widget": {"name": "steps"}, "link": 999})
    switched, changes = make_lightning(workflow, 8)
    assert next(n for n in switched["nodes"] if n["id"] == 900)["mode"] == 4
    assert any("node 900 LoraLoader: bypassed, an LCM LoRA" in c for c in changes)
    assert by_type(switched, "KSampler")[0]["widgets_values"][2] == 4  # linked: left
    assert any("steps comes from another node; set it to 8 there" in c for c in changes)
    assert checkpoint in switched["nodes"]


def test_bad_steps_and_graphs_without_a_motion_module():
    with pytest.raises(cv.ConvertError, match="1, 2, 4, 8 steps, not 3"):
        make_lightning(api_graph(), 3)
    prompt = {"1": {"class_type": "KSampler", "inputs": {"steps": 20}}}
    switched, changes = make_lightning(prompt, 4)
    assert switched == prompt and changes == ["no motion module loader (Load Motion Module (Lightning)): nothing to switch"]


def test_cli_lightning(tmp_path):
    out = tmp_path / "out.json"
    result = subprocess.run([sys.executable, str(ROOT), "convert", FIXTURES / "t2v_gen2_lora_context_prompt_travel.json",
                             out, "--lightning", "2"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Switched to Lightning (2 steps):" in result.stdout
    assert json.loads(out.read_text()) == make_lightning(converted("t2v_gen2_lora_context_prompt_travel"), 2)[0]
    result = subprocess.run([sys.executable, str(ROOT), "convert", FIXTURES / "t2v_gen1.json", out, "--lightning", "3"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "invalid choice: 3" in result.stderr
