"""SparseCtrl (glue/sparsectrl.py) against an independent implementation, diffusers' SparseControlNetModel, on the
same random real-shape weights: the 12 + 1 residuals it adds to the UNet, for RGB (latent hints) and scribble
(image hints), hints on chosen frames only; and what a file, an index list or a window does to it."""
import pytest
import torch

import comfy.model_sampling
from animatediff_lightning.glue.context import window_control
from animatediff_lightning.glue.sparsectrl import SparseCtrl, load_sparsectrl
from animatediff_lightning.motion_modules import MotionModuleError
from animatediff_lightning.motion_modules.sparsectrl import hint_frames, parse_indexes, split_sparsectrl
from support.oracle import patch_per_frame_groupnorm
from support.sparsectrl_models import diffusers_sparsectrl, sparsectrl_file, sparsectrl_sd

FRAMES, H, W = 8, 8, 8  # latent size: 64×64 px
SIGMA = 5.0


def relative_error(a, b):
    return float((a.float() - b.float()).norm() / b.float().norm().clamp_min(1e-12))


@pytest.fixture(scope="module", params=["rgb", "scribble"])
def kind(request):
    return request.param


@pytest.fixture(scope="module")
def ours(kind):
    return load_sparsectrl(str(sparsectrl_file(kind)))


@pytest.fixture(scope="module")
def oracle(kind):
    model = diffusers_sparsectrl(kind, device="cpu")
    model.load_state_dict({k: v.float() for k, v in sparsectrl_sd(kind, layout="diffusers").items()})
    # AnimateDiff (and so SparseCtrl, trained in AnimateDiff's code) normalises each frame alone; diffusers
    # normalises over all frames: the oracle gets AnimateDiff's, as tests/test_oracle.py does
    assert patch_per_frame_groupnorm(model) == 8
    return model.eval()


def model_sampling():
    return comfy.model_sampling.ModelSamplingDiscrete(model_config=None)  # SD1.5's eps schedule


def prepared(control: SparseCtrl, hints: torch.Tensor, spread="uniform", indexes=None) -> SparseCtrl:
    c = control.placed(spread, indexes)
    c.set_cond_hint(hints, 1.0, (0.0, 1.0))
    c.pre_run(type("M", (), {"model_sampling": model_sampling()})(), lambda p: 999.0 * (1 - p))
    return c


def diffusers_residuals(oracle, cond, mask, context, timestep):
    """cond (F, C, h, w), mask (F, 1, h, w) -> diffusers' (12 down, mid) residuals for one video."""
    sample = torch.zeros(1, 4, cond.shape[0], H, W)
    with torch.no_grad():
        out = oracle(sample, timestep, encoder_hidden_states=context.repeat(cond.shape[0], 1, 1), controlnet_cond=cond.movedim(0, 1)[None],
                     conditioning_mask=mask.movedim(0, 1)[None], return_dict=False)
    return out[0], out[1]


def test_recognises_the_kind_and_splits_the_motion_modules(kind):
    spatial, motion, info = split_sparsectrl(sparsectrl_sd(kind), f"v3_sd15_sparsectrl_{kind}.ckpt")
    assert info.kind == ("RGB" if kind == "rgb" else "scribble")
    assert info.hint_channels == (4 if kind == "rgb" else 3)
    assert info.channels == (320, 640, 1280, 1280) and info.per_down == 2 and info.attention_blocks == 1
    assert info.pe_length == 32 and info.layout == "original"
    assert all(".motion_modules." in k for k in motion) and not any(".motion_modules." in k for k in spatial)
    _s, motion_d, info_d = split_sparsectrl(sparsectrl_sd(kind, layout="diffusers"))
    assert info_d.layout == "diffusers" and set(motion_d) == set(motion)


def test_residuals_match_diffusers_on_the_hinted_frames(kind, ours, oracle):
    """Scribble hints go through get_control (images, resized as core resizes hints); the RGB net is fed its
    latent hints directly (the VAE path is core's, tested end to end)."""
    g = torch.Generator().manual_seed(3)
    context = torch.randn(1, 77, 768, generator=g)
    at = [0, 5]
    ms = model_sampling()
    timestep = ms.timestep(torch.tensor([SIGMA]))
    if kind == "scribble":
        images = torch.rand(2, 3, H * 8, W * 8, generator=g)
        c = prepared(ours, images, "indexes", at)
        control = c.get_control(torch.randn(FRAMES, 4, H, W, generator=g), torch.full((FRAMES,), SIGMA),
                                {"c_crossattn": context.repeat(FRAMES, 1, 1)}, 1, {})
        hint = images
    else:
        hint = torch.randn(2, 4, H, W, generator=g)
        c = ours
        mask_cond = torch.zeros(FRAMES, 5, H, W)
        mask_cond[at, :4] = hint
        mask_cond[at, 4] = 1.0
        c.run.frames = FRAMES
        with torch.no_grad():
            control = c.control_model(x=torch.zeros(FRAMES, 4, H, W), hint=mask_cond, timesteps=timestep.repeat(FRAMES),
                                      context=context.repeat(FRAMES, 1, 1))
    cond = torch.zeros(FRAMES, hint.shape[1], *hint.shape[2:])
    cond[at] = hint
    mask = torch.zeros(FRAMES, 1, *hint.shape[2:])
    mask[at] = 1.0
    down, mid = diffusers_residuals(oracle, cond, mask, context, timestep)
    assert len(control["output"]) == len(down) == 12
    errors = [relative_error(a, b) for a, b in zip(control["output"], down)] + [relative_error(control["middle"][0], mid)]
    assert max(errors) < 1e-4, errors
    assert float(down[-1].abs().mean()) > 1e-3  # the residuals are not trivially zero


def test_moving_the_index_moves_the_effect(ours, kind):
    if kind != "scribble":
        pytest.skip("one kind is enough: the placement is the same code")
    g = torch.Generator().manual_seed(4)
    images = torch.rand(1, 3, H * 8, W * 8, generator=g)
    x = torch.randn(FRAMES, 4, H, W, generator=g)
    cond = {"c_crossattn": torch.randn(1, 77, 768, generator=g).repeat(FRAMES, 1, 1)}
    run = ours.run
    use = run.use_motion
    run.use_motion = False  # without temporal attention a frame's residual depends on its own hint only
    try:
        outs = [prepared(ours, images, "indexes", [i]).get_control(x, torch.full((FRAMES,), SIGMA), cond, 1, {})
                for i in (2, 6)]
    finally:
        run.use_motion = use
    first = outs[0]["output"][0]
    second = outs[1]["output"][0]
    diff = (first - second).flatten(1).abs().amax(1)
    assert diff[2] > 1e-3 and diff[6] > 1e-3
    assert float(diff[[0, 1, 3, 4, 5, 7]].max()) < 1e-6


def test_a_window_gets_the_hints_of_its_frames(ours, kind):
    if kind != "scribble":
        pytest.skip("one kind is enough")
    g = torch.Generator().manual_seed(5)
    images = torch.rand(2, 3, H * 8, W * 8, generator=g)
    full = 12
    c = prepared(ours, images, "indexes", [1, 10])
    window = window_control(c, list(range(6, 12)), full)
    x = torch.randn(6, 4, H, W, generator=g)
    window.get_control(x, torch.full((6,), SIGMA), {"c_crossattn": torch.randn(6, 77, 768, generator=g)}, 1, {})
    mask = window.cond_hint[:, -1, 0, 0]
    assert mask.tolist() == [0, 0, 0, 0, 1, 0]  # frame 10 is the window's 5th
    assert c.cond_hint is None  # the original is untouched


def test_hint_placement():
    assert hint_frames(3, 48, indexes=[0, 24, -1]) == [0, 24, 47]
    assert hint_frames(3, 16) == [0, 7, 15]
    assert hint_frames(2, 16, "starting") == [0, 7]
    assert hint_frames(2, 16, "ending") == [7, 15]
    assert hint_frames(2, 16, "center") == [5, 10]
    assert hint_frames(1, 16, "center") == [7]
    assert hint_frames(20, 16) == list(range(16))
    assert parse_indexes(" 0, 24 ,-1") == [0, 24, -1]


@pytest.mark.parametrize("call, message", [
    (lambda: hint_frames(2, 16, indexes=[3, 16]), "index 16 is past the video: it has 16 frames"),
    (lambda: hint_frames(3, 16, indexes=[0, 4]), "3 hint images but 2 indexes"),
    (lambda: hint_frames(2, 16, indexes=[15, -1]), "index -1 names frame 15 twice"),
    (lambda: parse_indexes("0, a"), "'a' is not a frame number"),
    (lambda: parse_indexes(" "), "indexes is empty"),
])
def test_bad_placements_are_named(call, message):
    with pytest.raises(MotionModuleError, match=message):
        call()


def test_files_that_are_not_sparsectrl_are_named(tmp_path):
    from safetensors.torch import save_file
    from support.models import motion_module_sd
    cases = {
        "mm.safetensors": (motion_module_sd(), "is a motion module, not SparseCtrl: load it with Load Motion Module"),
        "cn.safetensors": ({"control_model.zero_convs.0.0.weight": torch.zeros(1)}, "is a ControlNet without motion"),
        "other.safetensors": ({"foo.weight": torch.zeros(1)}, "is not SparseCtrl"),
    }
    for name, (sd, message) in cases.items():
        save_file(sd, str(tmp_path / name))
        with pytest.raises(MotionModuleError, match=message) as e:
            load_sparsectrl(str(tmp_path / name))
        assert name in str(e.value)
