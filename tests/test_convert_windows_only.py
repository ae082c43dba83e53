"""Use Evolved Sampling with no motion model (an image batch rendered in context windows, as BrushNet's and
other packs' big-batch files do): AnimateDiff-Evolved then samples the plain model in windows over the batch and
keeps its model sampling under autoselect; the converter makes Context Options (Lightning) on the model, and the
windows over a plain image model give the frames the model gives without them."""
import pytest
import torch

import comfy.sample
from animatediff_lightning.glue.sampling import euler_sampler, model_sigmas
from animatediff_lightning.nodes.context import ContextOptions
from animatediff_lightning.workflow_files import convert as cv
from support.foreign_workflows import UIGraph
from support.sd15_models import tiny_model_patcher, tiny_unet_config
from test_convert import _consistent, _links, by_type, named

CKPT = [("MODEL", "MODEL"), ("CLIP", "CLIP"), ("VAE", "VAE")]


def windows_only(beta="autoselect", context=True, settings=None, batched=None):
    g = UIGraph()
    ckpt = g.node("CheckpointLoaderSimple", ["m.safetensors"], outputs=CKPT)
    use = g.node("ADE_UseEvolvedSampling", [beta], inputs=[("model", "MODEL"), ("m_models", "M_MODELS"),
                                                           ("context_options", "CONTEXT_OPTIONS"),
                                                           ("sample_settings", "SAMPLE_SETTINGS")],
                 outputs=[("MODEL", "MODEL")])
    g.link(ckpt, 0, use, "model")
    if batched is not None:
        ctx = g.node("ADE_BatchedContextOptions", batched, inputs=[("prev_context", "CONTEXT_OPTIONS")],
                     outputs=[("CONTEXT_OPTS", "CONTEXT_OPTIONS")])
        g.link(ctx, 0, use, "context_options")
    elif context:
        ctx = g.node("ADE_StandardStaticContextOptions", [8, 4, "pyramid", False, 0, 1],
                     outputs=[("CONTEXT_OPTS", "CONTEXT_OPTIONS")])
        g.link(ctx, 0, use, "context_options")
    if settings is not None:
        s = g.node("ADE_AnimateDiffSamplingSettings", settings, outputs=[("settings", "SAMPLE_SETTINGS")])
        g.link(s, 0, use, "sample_settings")
    ks = g.node("KSampler", [0, "fixed", 4, 1.0, "euler", "simple", 1.0], inputs=[("model", "MODEL")],
                outputs=[("LATENT", "LATENT")])
    g.link(use, 0, ks, "model")
    return cv.convert(g.workflow())


def test_context_options_go_onto_the_plain_model():
    converted, report = windows_only()
    _consistent(converted)
    assert not report["kept"], report["kept"]
    links = _links(converted)
    assert ("CheckpointLoaderSimple", 0, "ADL_ContextOptions", "model") in links
    assert ("ADL_ContextOptions", 0, "KSampler", "model") in links
    assert not by_type(converted, "ADL_ApplyMotionModule") and not by_type(converted, "ADL_LoadMotionModule")
    [ctx] = by_type(converted, "ADL_ContextOptions")
    assert (named(ctx)["context_length"], named(ctx)["context_overlap"], named(ctx)["context_schedule"]) == (8, 4, "static")
    assert "samples the plain model in context windows" in cv.format_report(report)


def test_without_context_options_the_node_is_removed():
    converted, report = windows_only(context=False)
    assert not report["kept"] and ("CheckpointLoaderSimple", 0, "KSampler", "model") in _links(converted)
    assert "passes the model on as it is" in cv.format_report(report)


def test_freenoise_sample_settings_fold_into_the_windows():
    converted, report = windows_only(settings=[0, "FreeNoise", "comfy", 0, False])
    assert not report["kept"], report["kept"]
    [ctx] = by_type(converted, "ADL_ContextOptions")
    assert named(ctx)["noise_type"] == "FreeNoise (AnimateDiff-Evolved)"


def test_batched_windows_become_static_windows_without_overlap():
    converted, report = windows_only(batched=[16, 0, 1])
    _consistent(converted)
    assert not report["kept"], report["kept"]
    [ctx] = by_type(converted, "ADL_ContextOptions")
    assert named(ctx) == {"context_length": 16, "context_overlap": 0, "context_schedule": "static",
                          "fuse_method": "flat", "closed_loop": False, "noise_type": "per-frame", "context_stride": 1}
    assert "each frame is denoised on its own, so the frames are the same" in cv.format_report(report)


@pytest.mark.parametrize("kwargs, reason", [
    ({"batched": [16, 0.5, 1]}, "start_percent 0.5"),
    ({"batched": [1, 0, 1]}, "context_length 1"),
    ({"beta": "lcm"}, "beta_schedule 'lcm' without a motion model"),
    ({"settings": [2, "default", "comfy", 0, False]}, "need a motion module to ride on"),
])
def test_what_needs_a_motion_module_is_kept_with_the_reason(kwargs, reason):
    converted, report = windows_only(**kwargs)
    assert any(k["type"] == "ADE_UseEvolvedSampling" and reason in k["reason"] for k in report["kept"]), report["kept"]
    assert by_type(converted, "ADE_UseEvolvedSampling")


@pytest.mark.parametrize("length, overlap, fuse", [(8, 4, "pyramid"), (8, 0, "flat")])
def test_windows_over_a_plain_image_model_give_its_frames(length, overlap, fuse):
    """No motion module: every frame is denoised on its own, so windows (each frame in one or two, blended
    with weights that sum to 1) give what the model gives on the whole batch — 20 frames: with overlap 0 the last
    window of 8 overlaps the one before, as ADE's batched windows' shorter last one does not."""
    base = tiny_model_patcher(seed=0)
    config = tiny_unet_config()
    g = torch.Generator().manual_seed(3)
    noise = torch.randn(20, 4, 8, 8, generator=g)
    cond = [[torch.randn(1, 77, config["context_dim"], generator=g), {}]]
    negative = [[torch.zeros(1, 77, config["context_dim"]), {}]]

    def run(model):
        sigmas = model_sigmas(model, 2, 1.0)
        return comfy.sample.sample_custom(model, noise, 1.0, euler_sampler(), sigmas, cond, negative,
                                          torch.zeros_like(noise), disable_pbar=True, seed=0)
    plain = run(base)
    windowed = run(ContextOptions.execute(base, length, overlap, "static", fuse, False, "per-frame").result[0])
    assert float((windowed - plain).norm() / plain.norm()) < 1e-5
