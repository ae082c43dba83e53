"""Today's ComfyUI behaviour that the 0.3.75 host lacks, emulated on it (tests/support/upstream.py): the
pack must keep working when ComfyUI changes these, as upstream already has."""
import comfy.ops
import pytest
import torch

from animatediff_lightning.motion_modules import MotionModuleError, load_motion_module
from animatediff_lightning.motion_modules.loading import read_motion_module
from support.models import real_motion_module_file, tiny_motion_module_file
from support.upstream import DynamicVramOps, context_handler_class, trimmed_video_class

TINY = (32, 32, 64, 64)


def test_emulation_is_faithful_an_unloaded_module_has_no_linear_keys():
    layer = DynamicVramOps.Linear(4, 3)
    assert layer.weight is None and "weight" not in layer.state_dict()
    layer.load_state_dict({"weight": torch.ones(3, 4), "bias": torch.zeros(3)})
    assert layer(torch.ones(1, 4)).tolist() == [[4.0, 4.0, 4.0]]


@pytest.mark.parametrize("path", [lambda: tiny_motion_module_file("v2", channels=TINY), real_motion_module_file],
                         ids=["tiny", "real-shape"])
def test_motion_module_loads_with_layers_created_without_weights(path):
    """Dynamic VRAM (upstream default on NVIDIA): every file used to be refused as 'unexpected keys'."""
    file = str(path())
    lazy, _ = load_motion_module(file, ops=DynamicVramOps)
    eager, _ = load_motion_module(file, ops=comfy.ops.manual_cast)
    assert lazy.state_dict().keys() == eager.state_dict().keys()
    sd, _ = read_motion_module(file)
    for key, tensor in lazy.state_dict().items():  # the file's own tensors, assigned, not copies
        if key in sd:
            assert tensor.data_ptr() == sd[key].data_ptr() or torch.equal(tensor, sd[key]), key
    channels = lazy.down_blocks[0].motion_modules[0].temporal_transformer.proj_in.in_features
    x = torch.randn(8, channels, 4, 4)
    with torch.no_grad():
        a = lazy.down_blocks[0].motion_modules[0](x, frames=8)
        b = eager.down_blocks[0].motion_modules[0](x, frames=8)
    assert torch.equal(a, b)


@pytest.mark.parametrize("ops", ["disable_weight_init", "manual_cast"])
def test_motion_module_loads_with_the_hosts_own_lazy_layers(monkeypatch, ops):
    """On a host that has dynamic VRAM (0.33: comfy/memory_management.py, comfy/ops.py@783545f6), its own
    layers, switched to lazy as on NVIDIA (aimdo_enabled; off on a CPU), not the emulation."""
    try:
        import comfy.memory_management as mm
    except ImportError:
        mm = None
    if not hasattr(mm, "aimdo_enabled"):
        pytest.skip("this ComfyUI has no dynamic VRAM (0.3.75): see the emulated test above")
    file = str(tiny_motion_module_file("v2", channels=TINY))
    host_ops = getattr(comfy.ops, ops)
    eager, _ = load_motion_module(file, ops=host_ops)
    monkeypatch.setattr(mm, "aimdo_enabled", True)
    assert host_ops.Linear(4, 3).weight is None  # the host really leaves it unbuilt
    lazy, _ = load_motion_module(file, ops=host_ops)
    assert lazy.state_dict().keys() == eager.state_dict().keys()
    assert all(torch.equal(lazy.state_dict()[k], v) for k, v in eager.state_dict().items())


def test_layers_that_never_take_their_weights_are_a_clear_error():
    class SwallowingOps(DynamicVramOps):
        class Linear(DynamicVramOps.Linear):
            def _load_from_state_dict(self, *args, **kwargs):
                pass  # a future host that loads weights some other way
    with pytest.raises(MotionModuleError, match=r"ComfyUI's layers .* did not take .* update AnimateDiff-Lightning"):
        load_motion_module(str(tiny_motion_module_file("v2", channels=TINY)), ops=SwallowingOps)


def test_core_video_with_a_trim_and_crop_gives_exactly_those_frames(tmp_path):
    """Newer core VIDEO keeps trim/crop pending; reading its stream source would load the whole file."""
    from animatediff_lightning.glue.video import load_video
    from animatediff_lightning.video.decode import LoadOptions
    from support.clips import frame_index, make_clip
    clip = make_clip(tmp_path / "clip.mp4", frames=24, width=64, height=64, fps=12)
    Trimmed = trimmed_video_class()
    video = Trimmed(str(clip), start_time=0.5, duration=1.0, crop=(0, 0, 48, 40))  # frames 6..17
    assert video.get_stream_source() == str(clip)  # as upstream: the untrimmed file
    result = load_video("", "", LoadOptions(select_every_nth=2), video)
    assert [frame_index(f.numpy()) for f in result.images] == [6, 8, 10, 12, 14, 16]
    assert tuple(result.images.shape[1:3]) == (40, 48)
    untouched = load_video("", "", LoadOptions(), Trimmed(str(clip)))  # no edits: streamed from the file
    assert [frame_index(f.numpy()) for f in untouched.images] == list(range(24))


@pytest.mark.parametrize("source", ["emulated 783545f6", "host"])
def test_core_video_trimmed_by_video_slice_gives_exactly_those_frames(tmp_path, source):
    """0.33's core VIDEO (core's Video Slice node): a pending trim, no has_pending_frame_edits(). Read through
    get_stream_source() it would be the whole file. On a host with trims, its own VideoFromFile.as_trimmed."""
    from comfy_api.latest import InputImpl
    from animatediff_lightning.glue.video import load_video
    from animatediff_lightning.video.decode import LoadOptions
    from support.clips import frame_index, make_clip
    clip = make_clip(tmp_path / "clip.mp4", frames=24, width=64, height=64, fps=12)
    if source == "host":
        if not hasattr(InputImpl.VideoFromFile, "as_trimmed"):
            pytest.skip("this ComfyUI's VIDEO has no trims (0.3.75)")
        video = InputImpl.VideoFromFile(str(clip)).as_trimmed(0.5, 1.0)
    else:
        video = trimmed_video_class("783545f6")(str(clip), start_time=0.5, duration=1.0)
    result = load_video("", "", LoadOptions(select_every_nth=2), video)
    assert [frame_index(f.numpy()) for f in result.images] == [6, 8, 10, 12, 14, 16]


# ---- context windows ----------------------------------------------------------------------------------

def _sigma_options(sigmas):
    return {"transformer_options": {"sample_sigmas": sigmas}}


def test_core_handler_conversion_keeps_every_field_even_unknown_ones():
    from animatediff_lightning.glue.context import LightningContextHandler, make_handler
    template = make_handler(16, 4, "uniform", "pyramid", False, "per-frame")
    Upstream = context_handler_class()
    core = Upstream(template.context_schedule, template.fuse_method, 16, 4, 2, True, 0, freenoise=True,
                    cond_retain_index_list="0", latent_retain_index_list="0,1", causal_window_fix=True)
    core.callbacks = {"callbacks": {"x": {"k": [print]}}}
    core.some_field_from_2027 = object()
    ours = LightningContextHandler.from_core(core)
    assert isinstance(ours, LightningContextHandler) and ours.noise_type == "per-frame"
    for name, value in vars(core).items():
        if name != "causal_window_fix":
            assert getattr(ours, name) is value, name
    assert ours.causal_window_fix is False  # an anchor frame would shift the motion module's positions
    assert ours.freenoise is True and ours.cond_retain_index_list == [0] and ours.latent_retain_index_list == [0, 1]


def test_per_frame_timesteps_and_substeps_do_not_raise():
    from animatediff_lightning.glue.context import make_handler
    sigmas = torch.tensor([14.6, 6.0, 2.5, 0.9, 0.0])
    handler = make_handler(16, 4, "static", "pyramid", False, "per-frame")
    # per-frame timesteps (one per frame of the window; 0.3.75's own lookup compares the whole batch and
    # raises), and a sampler's substeps between two sigmas, in the order a sampler visits them: a substep
    # counts as the step it falls in, on every host (0.33's core keeps the last full step, the same one)
    for t, step in ((sigmas[1], 1), (4.0, 1), (sigmas[3], 3), (0.5, 3)):
        handler.set_step(torch.full((16,), float(t)), _sigma_options(sigmas))
        assert handler._step == step, t


def test_with_upstream_core_our_handler_defers_to_it():
    """On a core whose set_step tolerates batches and substeps, ours calls it (whatever else it records)."""
    from animatediff_lightning.glue.context import LightningContextHandler, make_handler
    Combined = type("Combined", (LightningContextHandler, context_handler_class()), {})
    template = make_handler(16, 4, "static", "pyramid", False, "per-frame")
    handler = Combined(template.context_schedule, template.fuse_method, 16, 4)
    sigmas = torch.tensor([14.6, 6.0, 2.5, 0.9, 0.0])
    handler.set_step(sigmas[2].repeat(16), _sigma_options(sigmas))
    assert handler._step == 2 and handler.steps_seen == [pytest.approx(2.5)]


# ---- wrappers -------------------------------------------------------------------------------------------

def test_our_outer_sample_wrappers_pass_unknown_keywords_through():
    """Newer core calls OUTER_SAMPLE wrappers with keywords 0.3.75 never passed (latent_shapes=, …): the
    chain of our wrappers (checks, preview, FreeNoise) must hand them on untouched."""
    import comfy.patcher_extension as pe
    import comfy.samplers
    from animatediff_lightning.glue.context import apply_context_windows, make_handler
    from animatediff_lightning.glue.injection import apply_motion_module, load_motion_module_handle
    from support.sd15_models import tiny_model_patcher, tiny_unet_config
    config = tiny_unet_config()
    channels = tuple(config["model_channels"] * m for m in config["channel_mult"])
    model = apply_motion_module(tiny_model_patcher(seed=0),
                                load_motion_module_handle(str(tiny_motion_module_file("v2", channels=channels))))
    model = apply_context_windows(model, make_handler(16, 4, "static", "pyramid", False, "FreeNoise"))
    guider = comfy.samplers.CFGGuider(model)
    wrappers = model.get_all_wrappers(pe.WrappersMP.OUTER_SAMPLE)  # what core's sampling chains
    assert len(wrappers) == 3  # our checks, our animated preview (glue/preview.py) and our FreeNoise
    seen = {}

    def outer_sample(noise, latent_image, sampler, sigmas, denoise_mask=None, callback=None, disable_pbar=False,
                     seed=None, **kwargs):
        seen.update(kwargs, noise=noise)
        return noise

    noise = torch.randn(24, 4, 8, 8)
    pe.WrapperExecutor.new_class_executor(outer_sample, guider, wrappers).execute(
        noise, torch.zeros_like(noise), None, torch.tensor([1.0, 0.0]), None, None, True, 7,
        latent_shapes=[noise.shape], a_keyword_from_2027="kept")
    assert seen["latent_shapes"] == [noise.shape] and seen["a_keyword_from_2027"] == "kept"
    assert not torch.equal(seen["noise"], noise)  # FreeNoise ran in the chain


# ---- model_options objects shared between clones ------------------------------------------------------

def test_shared_model_options_objects_are_never_changed_by_a_run(monkeypatch):
    """Upstream clones share the objects in model_options (a context handler, our wrappers): sampling one
    clone must not change what another clone holds, and two runs give the same frames."""
    import comfy.context_windows as cw
    import comfy.model_patcher
    from animatediff_lightning.glue.context import make_handler
    from animatediff_lightning.glue.injection import apply_motion_module, load_motion_module_handle
    from support.controlnet_models import tiny_controlnet
    from support.sd15_models import tiny_model_patcher, tiny_unet_config
    from support.upstream import sharing_clone
    from test_context import render
    monkeypatch.setattr(comfy.model_patcher.ModelPatcher, "clone",
                        sharing_clone(comfy.model_patcher.ModelPatcher.clone))
    config = tiny_unet_config()
    channels = tuple(config["model_channels"] * m for m in config["channel_mult"])
    model = apply_motion_module(tiny_model_patcher(seed=0),
                                load_motion_module_handle(str(tiny_motion_module_file("v2", channels=channels))))
    template = make_handler(16, 4, "static", "pyramid", False, "per-frame")
    core = cw.IndexListContextHandler(template.context_schedule, template.fuse_method, 16, 4)
    model.model_options["context_handler"] = core  # as core's Context Windows node leaves it
    other = model.clone()
    assert other.model_options["context_handler"] is core  # shared, as upstream
    g = torch.Generator().manual_seed(3)
    args = (tiny_controlnet(config), torch.rand(24, 64, 64, 3, generator=g),
            torch.randn(24, 77, config["context_dim"], generator=g), torch.randn(24, 4, 8, 8, generator=g))
    first = render(other, *args)
    assert model.model_options["context_handler"] is core and type(core) is cw.IndexListContextHandler
    assert vars(core).keys() == vars(cw.IndexListContextHandler(template.context_schedule, template.fuse_method,
                                                                16, 4)).keys()  # nothing added to core's object
    assert torch.equal(render(model, *args), first)
