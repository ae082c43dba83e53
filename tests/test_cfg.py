"""CFG keyframes (glue/cfg.py): the step's cfg against core sampling at that cfg, the switching against
AnimateDiff-Evolved's rules written out step by step, per-frame cfg, and the bad inputs. Parity with a fetched
AnimateDiff-Evolved is measured by `make parity-ade` (docs/parity.md)."""
import pytest
import torch

import comfy.sample
from animatediff_lightning.glue.cfg import CFGKeyframe, CFGScheduleRun
from animatediff_lightning.glue.injection import apply_motion_module
from animatediff_lightning.glue.sampling import euler_sampler, model_sigmas
from animatediff_lightning.motion_modules import MotionModuleError
from animatediff_lightning.nodes.cfg import CFGKeyframeNode
from animatediff_lightning.nodes.motion_control import MotionValueNode
from animatediff_lightning.nodes.noise import SampleSettingsNode
from support.sd15_models import tiny_model_patcher
from test_injection import conds, handle, noise

FRAMES = 16


@pytest.fixture(scope="module")
def base():
    return tiny_model_patcher(seed=0)


@pytest.fixture(scope="module")
def motion(tmp_path_factory):
    return handle(tmp_path_factory.mktemp("mm"))


def run(model, cfg, n, steps=4):
    pos, _ = conds(model, 0)
    _, neg = conds(model, 0, uncond_seed=5)
    return comfy.sample.sample_custom(model, n, cfg, euler_sampler(), model_sigmas(model, steps, 1.0), pos, neg,
                                      torch.zeros_like(n), disable_pbar=True, seed=0)


def with_cfg(base, motion, *keyframes):
    schedule = None
    for cfg, start, guarantee, value in keyframes:
        schedule = CFGKeyframeNode.execute(cfg, start, guarantee, previous=schedule, value=value).result[0]
    settings = SampleSettingsNode.execute("default", "comfy", 0, 0, custom_cfg=schedule).result[0]
    return apply_motion_module(base, motion, animatediff_schedule=False, sample_settings=settings)


def test_a_cfg_keyframe_samples_as_that_cfg(base, motion):
    n = noise()
    plain = apply_motion_module(base, motion, animatediff_schedule=False)
    assert torch.equal(run(with_cfg(base, motion, (2.5, 0.0, 1, None)), 1.0, n), run(plain, 2.5, n))
    assert torch.equal(run(with_cfg(base, motion, (1.0, 0.0, 1, None)), 4.0, n), run(plain, 1.0, n))


def test_keyframes_switch_as_ade_steps_them(base):
    sampling = base.get_model_object("model_sampling")
    sigmas = model_sigmas(base, 4, 1.0)
    steps = [float(s) for s in sigmas[:-1]]

    def sequence(*kfs):
        r = CFGScheduleRun(tuple(CFGKeyframe(c, s, g) for c, s, g in kfs))
        r.start(sampling, sigmas, FRAMES, 8, 8)
        return [r.current(t) for t in steps]

    # 4 trailing steps: t = 999, 749, 499, 249; a start at 0.5 is σ(t ≈ 499.5), reached at the third step
    assert sequence((1.5, 0.0, 1), (3.0, 0.5, 1)) == [1.5, 1.5, 3.0, 3.0]
    # the first keyframe holds from the start whatever its start; guarantee 2 keeps it two steps
    assert sequence((2.0, 0.3, 2), (1.0, 0.35, 1)) == [2.0, 2.0, 1.0, 1.0]
    # keyframes that guarantee nothing are passed over when a later one is reached too
    assert sequence((2.0, 0.0, 1), (5.0, 0.2, 0), (7.0, 0.25, 1)) == [2.0, 7.0, 7.0, 7.0]


def test_cfg_per_frame_equals_the_same_float_and_moves_frames(base, motion):
    n = noise()
    flat = MotionValueNode.execute(1.0, ", ".join(["2.5"] * FRAMES), 0.0, 1.0, "absolute").result[0]
    ramp = MotionValueNode.execute(1.0, ", ".join(str(1 + 0.2 * i) for i in range(FRAMES)), 0.0, 1.0,
                                   "absolute").result[0]
    as_float = run(with_cfg(base, motion, (2.5, 0.0, 1, None)), 1.0, n)
    torch.testing.assert_close(run(with_cfg(base, motion, (1.0, 0.0, 1, flat)), 1.0, n), as_float,
                               rtol=1e-5, atol=1e-4)
    assert not torch.allclose(run(with_cfg(base, motion, (1.0, 0.0, 1, ramp)), 1.0, n), as_float)


def test_bad_cfg_inputs_are_clear_errors(base, motion):
    first = CFGKeyframeNode.execute(2.0, 0.5, 1).result[0]
    with pytest.raises(MotionModuleError, match="CFG keyframes out of order"):
        CFGKeyframeNode.execute(3.0, 0.2, 1, previous=first)
    five = MotionValueNode.execute(1.0, "1, 2, 3, 4, 5", 0.0, 1.0, "absolute").result[0]
    with pytest.raises(MotionModuleError, match="has 5 frames but the video has 16"):
        run(with_cfg(base, motion, (1.0, 0.0, 1, five)), 1.0, noise())


def test_other_guiders_are_refused_with_the_reason(base, motion):
    import comfy.samplers
    model = with_cfg(base, motion, (2.0, 0.0, 1, None))
    pos, _ = conds(model, 0)
    guider = comfy.samplers.CFGGuider(model)
    guider.set_conds(pos, pos)
    guider.set_cfg(1.0)

    class Basic(comfy.samplers.CFGGuider):
        def predict_noise(self, x, timestep, model_options={}, seed=None):  # noqa: B006 (core's signature)
            return super().predict_noise(x, timestep, model_options, seed)

    basic = Basic(model)
    basic.set_conds(pos, pos)
    n = noise()
    with pytest.raises(MotionModuleError, match="needs a sampler with one cfg .* uses Basic"):
        basic.sample(n, torch.zeros_like(n), euler_sampler(), model_sigmas(model, 4, 1.0), disable_pbar=True, seed=0)
