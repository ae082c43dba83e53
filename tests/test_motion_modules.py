"""motion_modules/: recognising files from keys and shapes, conversion, loading, and the errors for bad files."""
import os

import pytest
import torch
from safetensors.torch import save_file

from animatediff_lightning.motion_modules import (MotionModuleError, describe, from_diffusers, lightning_steps,
                                                  load_motion_module, read_motion_module)
from support.models import (hotshot_sd, motion_module_sd, real_motion_module_file, sdxl_motion_module_sd,
                            tiny_motion_module_file)

TINY = (32, 32, 64, 64)


@pytest.mark.parametrize("version,mid,pe", [("v1", False, 24), ("v2", True, 32), ("v3", False, 32),
                                            ("AnimateLCM", True, 64)])
def test_describe_each_family(version, mid, pe):
    info = describe(motion_module_sd(version, channels=TINY, dtype=torch.float32))
    assert (info.version, info.has_mid, info.pe_length) == (version, mid, pe)
    assert info.family == ("AnimateLCM" if version == "AnimateLCM" else "AnimateDiff")
    assert info.channels == TINY and (info.per_down, info.per_up, info.attention_blocks) == (2, 3, 2)


def test_diffusers_layout_converts_to_original():
    original = motion_module_sd("v2", channels=TINY, dtype=torch.float32)
    converted = from_diffusers(motion_module_sd("v2", channels=TINY, dtype=torch.float32, layout="diffusers"))
    assert set(converted) == set(original)
    for key, tensor in original.items():
        assert torch.equal(converted[key], tensor), key


def test_diffusers_file_loads(tmp_path):
    path = tmp_path / "animatediff_lightning_2step_diffusers.safetensors"
    save_file(motion_module_sd("v2", channels=TINY, layout="diffusers"), str(path))
    model, info = load_motion_module(str(path))
    assert (info.layout, info.version, info.lightning_steps) == ("diffusers", "v2", 2)
    reference = motion_module_sd("v2", channels=TINY)
    for key, tensor in model.state_dict().items():
        assert torch.equal(tensor, reference[key]), key


def test_weights_keep_their_stored_dtype_and_storage(tmp_path):
    path = tiny_motion_module_file("v2", channels=TINY)
    model, info = load_motion_module(str(path))
    assert info.dtype == torch.float16
    assert {p.dtype for p in model.parameters()} == {torch.float16}
    x = torch.randn(2 * 8, TINY[0], 4, 4)
    out = model.down_blocks[0].motion_modules[0](x, frames=8)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()


def test_lightning_step_count_from_name_or_metadata():
    assert lightning_steps("animatediff_lightning_4step_comfyui.safetensors") == 4
    assert lightning_steps("AnimateDiff-Lightning-8step.safetensors") == 8
    assert lightning_steps("my_motion.safetensors", {"lightning_steps": "2"}) == 2
    assert lightning_steps("mm_sd_v15_v2.ckpt") is None


def test_step_count_only_for_v2_layout(tmp_path):
    path = tmp_path / "animatediff_lightning_4step_v3.safetensors"
    save_file(motion_module_sd("v3", channels=TINY), str(path))
    assert read_motion_module(str(path))[1].lightning_steps is None


def test_real_shape_lightning_file_detected():
    path = real_motion_module_file()
    assert os.path.getsize(path) == 908_929_664
    sd, info = read_motion_module(str(path))
    assert (info.version, info.has_mid, info.pe_length, info.lightning_steps) == ("v2", True, 32, 4)
    assert info.channels == (320, 640, 1280, 1280) and info.dtype == torch.float16
    assert info.parameters == 453_209_280 and len(sd) == 588
    assert "AnimateDiff-Lightning 4-step" in info.summary() and "steps 4" in info.summary()


def test_ckpt_loads_weights_only(tmp_path):
    path = tmp_path / "mm_sd_v15_v2.ckpt"
    torch.save({"state_dict": motion_module_sd("v2", channels=TINY)}, path)
    model, info = load_motion_module(str(path))
    assert info.version == "v2" and info.lightning_steps is None


# --- bad files: each gives a message naming the file and what to do -------------------------------------

def test_truncated_file(tmp_path):
    good = tiny_motion_module_file("v2", channels=TINY)
    path = tmp_path / "animatediff_lightning_4step_comfyui.safetensors"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(MotionModuleError, match=r"animatediff_lightning_4step_comfyui\.safetensors.*"
                                                r"(truncated|corrupt).*download it again"):
        load_motion_module(str(path))


def test_text_file_named_safetensors(tmp_path):
    path = tmp_path / "motion.safetensors"
    path.write_text("not a model")
    with pytest.raises(MotionModuleError, match="motion.safetensors cannot be read"):
        load_motion_module(str(path))


def test_foreign_keys(tmp_path):
    path = tmp_path / "some_lora.safetensors"
    save_file({"lora_unet_down.weight": torch.zeros(4, 4)}, str(path))
    with pytest.raises(MotionModuleError, match="some_lora.safetensors is not a motion module"):
        load_motion_module(str(path))


def test_sdxl_module_refused(tmp_path):
    path = tmp_path / "mm_sdxl_v10_beta.safetensors"
    save_file(sdxl_motion_module_sd(), str(path))
    with pytest.raises(MotionModuleError, match="mm_sdxl_v10_beta.safetensors is an SDXL motion module"):
        load_motion_module(str(path))


def test_hotshot_refused(tmp_path):
    path = tmp_path / "hsxl_temporal_layers.safetensors"
    save_file(hotshot_sd(), str(path))
    with pytest.raises(MotionModuleError, match="HotshotXL"):
        load_motion_module(str(path))


def test_missing_keys(tmp_path):
    sd = motion_module_sd("v2", channels=TINY)
    sd.pop("up_blocks.3.motion_modules.2.temporal_transformer.proj_out.weight")
    path = tmp_path / "damaged.safetensors"
    save_file(sd, str(path))
    with pytest.raises(MotionModuleError, match="damaged.safetensors does not match .* 1 missing"):
        load_motion_module(str(path))


def test_unsupported_extension(tmp_path):
    path = tmp_path / "motion.gguf"
    path.write_bytes(b"GGUF")
    with pytest.raises(MotionModuleError, match=r"'\.gguf' files are not loaded.*\.safetensors"):
        load_motion_module(str(path))


def test_pickle_with_code_refused(tmp_path):
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": motion_module_sd("v2", channels=TINY), "cfg": os.stat_result((0,) * 10)}, path)
    with pytest.raises(MotionModuleError, match="evil.ckpt cannot be loaded safely"):
        load_motion_module(str(path))


@pytest.mark.parametrize("steps,fragments", [
    (1, ["Lightning: distilled for 1 step", "steps 1", "research"]),
    (2, ["steps 2", "3 steps also work well on the 2-step model"]),
    (8, ["AnimateDiff-Lightning 8-step", "steps 8"]),
    (None, ["step count unknown", "cfg 7.5"]),
])
def test_summary_states_what_was_detected_and_the_recommended_settings(steps, fragments):
    from animatediff_lightning.motion_modules.formats import with_lightning_steps
    text = with_lightning_steps(describe(motion_module_sd("v2", channels=TINY), "x"), steps).summary()
    for fragment in ["family: AnimateDiff, version: v2", "frames: up to 32", "float16", *fragments]:
        assert fragment in text, text
    if steps:
        assert "Euler, trailing (Lightning) schedule, cfg 1.0" in text
