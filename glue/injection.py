"""Put a motion module into ComfyUI's SD1.5 UNet through the ModelPatcher, and take it out again.

- ``set_injections`` inserts a ``MotionModuleSlot`` into each UNet block that gets a motion module (on patch)
  and removes it (on unpatch): after sampling the UNet's module tree is exactly the original.
- A slot is a parameter-free placeholder that *refers* to its motion module without registering it, so the
  UNet's state dict, size and weight patches stay its own; the motion module itself rides as an
  additional model, which ComfyUI loads, offloads and counts together with the UNet.
- ``forward_timestep_embed_patch`` hands each slot the ``transformer_options``, from which it reads how many
  videos (cond, uncond, …) share the batch, so frames never attend across the cond/uncond boundary.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

import comfy.model_management
import comfy.model_patcher
import comfy.ops
import comfy.patcher_extension
import comfy.supported_models
from comfy.ldm.modules.attention import attention_pytorch, optimized_attention
from comfy.ldm.modules.diffusionmodules.openaimodel import ResBlock, Upsample

from ..motion_modules import MotionModuleError, MotionModuleInfo, MotionModuleSet
from ..motion_modules.adjust import PositionAdjust, apply_adjustments, position_length
from ..motion_modules.loading import build_motion_modules, read_motion_module
from .checks import SamplingChecks
from .motion_control import KEY as CONTROL_KEY, MotionControl, add_motion_control, slot_values
from .noise import SampleSettings, add_sample_settings
from .preview import add_video_preview
from .schedules import AUTOSELECT, animatediff_model_sampling, autoselect, beta_model_sampling

KEY = "animatediff_lightning"
SLOT_NAME = "animatediff_motion_module"


@dataclass
class MotionModuleHandle:
    """What the loader node hands to the apply node: the module (as a ModelPatcher) and what it is."""
    patcher: comfy.model_patcher.ModelPatcher
    info: MotionModuleInfo

    @property
    def model(self) -> MotionModuleSet:
        return self.patcher.model


FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32)


def module_dtype(stored: torch.dtype, parameters: int) -> torch.dtype:
    """The dtype ComfyUI picks for an SD1.5 UNet stored in ``stored`` on this machine (the same policy and
    the same flags: --fp32-unet, --fp16-unet, …), so the module is kept as the UNet it rides in is: fp16 on a
    GPU computing in fp16 (no copy), fp32 on a CPU (converted once at load instead of cast at every call)."""
    dtype = comfy.model_management.unet_dtype(
        model_params=parameters, supported_dtypes=comfy.supported_models.SD15.supported_inference_dtypes,
        weight_dtype=stored)
    return dtype if dtype in FLOAT_DTYPES else stored


def load_motion_module_handle(path: str, adjusts: tuple = ()) -> MotionModuleHandle:
    """The module of ``path`` ready to apply; ``adjusts`` (motion_modules/adjust.py) change its position tables
    and weights first, in the file's dtype, as AnimateDiff-Evolved's settings do."""
    sd, info = read_motion_module(path)
    if adjusts:
        sd, info = adjusted(sd, info, adjusts)
    dtype = module_dtype(info.dtype, info.parameters)
    for key, tensor in sd.items():  # one tensor at a time: the stored copy of each is released as we go
        if tensor.is_floating_point() and tensor.dtype != dtype:
            sd[key] = tensor.to(dtype)
    # as ComfyUI builds the UNet: plain layers where it computes in the stored dtype, casting ones where not
    compute = comfy.model_management.unet_manual_cast(
        dtype, comfy.model_management.get_torch_device(), comfy.supported_models.SD15.supported_inference_dtypes)
    model = build_motion_modules(sd, info, ops=comfy.ops.manual_cast if compute else comfy.ops.disable_weight_init)
    model.compute_dtype = compute or dtype
    del sd
    patcher = comfy.model_patcher.ModelPatcher(
        model, load_device=comfy.model_management.get_torch_device(),
        offload_device=comfy.model_management.unet_offload_device())
    return MotionModuleHandle(patcher, info)


def adjusted(sd: dict, info: MotionModuleInfo, adjusts: tuple) -> tuple[dict, MotionModuleInfo]:
    active = tuple(a for a in adjusts if a.active())
    if not active:
        return sd, info
    sd = apply_adjustments(sd, active, info.name or "the motion module")
    notes = tuple(a.describe() for a in active)
    if not info.pe_stored and any(isinstance(a, PositionAdjust) for a in active):
        notes += ("(this module stores no position tables: position adjustments do nothing)",)
    length = position_length(sd) if info.pe_stored else None
    return sd, replace(info, pe_length=length or info.pe_length, adjustments=notes)


class MotionModuleSlot(nn.Module):
    """Stands in a UNet block where a motion module runs; holds the module without owning it."""

    def __init__(self, module: nn.Module, scale: float, where: str, compute_dtype: torch.dtype | None = None):
        super().__init__()
        object.__setattr__(self, "motion_module", module)  # not a child module: see the module docstring
        self.scale = scale
        self.where = where
        self.compute_dtype = compute_dtype

    def forward(self, x: torch.Tensor, transformer_options: dict) -> torch.Tensor:
        videos = len(transformer_options.get("cond_or_uncond") or (None,))
        if x.shape[0] % videos:
            raise MotionModuleError(
                f"the latent batch ({x.shape[0]}) does not split into {videos} videos; the motion module "
                "treats the latent batch as the frames of one video.")
        frames = x.shape[0] // videos
        indices = getattr(transformer_options.get("context_window"), "index_list", None)
        if indices is not None and frames != len(indices):
            raise MotionModuleError(  # a host that pads windows (e.g. a causal anchor frame) shifts every position
                f"ComfyUI handed the motion module {frames} frames for a context window of "
                f"{len(indices)} ({indices[0]}..{indices[-1]}): this ComfyUI, or "
                "another pack's context windows, adds frames to each window, which would shift the motion. Use "
                "this pack's Context Options or core's Context Windows node; if that is what you use, please "
                "report it with your ComfyUI version.")
        dtype = self.compute_dtype or x.dtype
        # A UNet computing in another dtype than the module (a per-model dtype override): run the module in
        # its own and hand back the UNet's; a no-op in the usual case where both follow ComfyUI's policy.
        x_in = x.to(dtype)
        step = transformer_options.get(CONTROL_KEY)
        if step is None:  # no motion control on this model: the plain path
            out = self.motion_module(x_in, frames, self.scale, attention=temporal_attention(x))
        else:
            effect, key_scale = slot_values(step, self.scale, x_in, videos, frames, indices)
            out = self.motion_module(x_in, frames, effect, attention=temporal_attention(x), key_scale=key_scale)
        return out.to(x.dtype)

    def extra_repr(self) -> str:
        return f"{self.where}, scale={self.scale}"


def temporal_attention(x: torch.Tensor):
    """ComfyUI's attention for the module's 16–32-frame sequences. On a CPU ComfyUI picks a memory-saving
    backend (sub-quadratic / split) made for long image sequences; for sequences this short its SDPA wrapper
    is 10–50 % faster at every SD1.5 level (measured, docs/benchmarks.md) and needs no memory to speak of."""
    return attention_pytorch if x.device.type == "cpu" else optimized_attention


def run_slot(layer, x, emb, context, transformer_options, *args):
    """The ``forward_timestep_embed_patch`` handler for ``MotionModuleSlot``."""
    return layer(x, transformer_options)


def motion_module_places(unet, motion: MotionModuleSet):
    """(where, block, insert index, motion module) for every slot, checking the UNet is SD1.5-shaped."""
    per_down = len(motion.down_blocks[0].motion_modules)
    per_up = len(motion.up_blocks[0].motion_modules)
    places = []

    def place(where, block, module, before_upsample=False, before_last=False):
        resblocks = [layer for layer in block if isinstance(layer, ResBlock)]
        width = resblocks[0].out_channels if resblocks else None
        dim = module.temporal_transformer.proj_in.in_features
        if width != dim:
            raise MotionModuleError(
                f"the motion module does not fit this model's UNet: {where} has {width} channels, the module "
                f"expects {dim}. Motion modules need an SD1.5 checkpoint (channels 320/640/1280/1280).")
        index = len(block)
        if before_last:
            index = len(block) - 1
        elif before_upsample:
            index = next((i for i, layer in enumerate(block) if isinstance(layer, Upsample)), len(block))
        places.append((where, block, index, module))

    expected_inputs = 1 + len(motion.down_blocks) * (per_down + 1) - 1
    if len(unet.input_blocks) != expected_inputs or len(unet.output_blocks) != len(motion.up_blocks) * per_up:
        raise MotionModuleError(
            f"the motion module does not fit this model's UNet ({len(unet.input_blocks)} input and "
            f"{len(unet.output_blocks)} output blocks; the module expects {expected_inputs} and "
            f"{len(motion.up_blocks) * per_up}). Use an SD1.5 checkpoint.")
    for level, down in enumerate(motion.down_blocks):
        for j, module in enumerate(down.motion_modules):
            index = 1 + level * (per_down + 1) + j
            place(f"input_blocks.{index}", unet.input_blocks[index], module)
    if motion.mid_block is not None:
        place("middle_block", unet.middle_block, motion.mid_block.motion_modules[0], before_last=True)
    for level, up in enumerate(motion.up_blocks):
        for j, module in enumerate(up.motion_modules):
            index = level * per_up + j
            place(f"output_blocks.{index}", unet.output_blocks[index], module, before_upsample=True)
    return places


def _unet_blocks(unet):
    return [*unet.input_blocks, unet.middle_block, *unet.output_blocks]


class MotionInjection:
    """inject/eject for ``set_injections``; a plain object so clones copy it cheaply."""

    def __init__(self, scale: float):
        self.scale = scale

    def inject(self, patcher: comfy.model_patcher.ModelPatcher):
        motion = patcher.get_additional_models_with_key(KEY)[0].model
        unet = patcher.model.diffusion_model
        self.eject(patcher)  # never two motion modules in one UNet
        for where, block, index, module in motion_module_places(unet, motion):
            # Insert under a name of its own, in place: every existing layer keeps its index-name, so weight
            # keys (LoRA patches, backups, partial loading) mean the same while the slot is in.
            layers = list(block._modules.items())
            slot = MotionModuleSlot(module, self.scale, where, getattr(motion, "compute_dtype", None))
            layers.insert(index, (SLOT_NAME, slot))
            block._modules.clear()
            block._modules.update(layers)

    def eject(self, patcher: comfy.model_patcher.ModelPatcher):
        for block in _unet_blocks(patcher.model.diffusion_model):
            block._modules.pop(SLOT_NAME, None)


def apply_motion_module(model: comfy.model_patcher.ModelPatcher, handle: MotionModuleHandle,
                        motion_scale: float = 1.0, animatediff_schedule: bool | str = True,
                        control: MotionControl | None = None, sample_settings: SampleSettings | None = None):
    """A clone of ``model`` that runs ``handle``'s motion module; ``model`` itself is left untouched.
    ``animatediff_schedule``: True for AnimateDiff's betas, False to keep the model's, or a name of
    ``schedules.BETA_SCHEDULES``. ``control``: scale / effect per frame, per region and over the steps
    (glue/motion_control.py). ``sample_settings``: the initial noise and FreeInit (glue/noise.py)."""
    motion_module_places(model.model.diffusion_model, handle.model)  # fail now, not at sampling time
    m = model.clone()
    m.set_additional_models(KEY, [handle.patcher.clone()])
    injection = MotionInjection(motion_scale)
    m.set_injections(KEY, [comfy.patcher_extension.PatcherInjection(injection.inject, injection.eject)])
    patches = m.model_options["transformer_options"].get("patches", {}).get("forward_timestep_embed_patch", [])
    if not any(cls is MotionModuleSlot for cls, _ in patches):
        m.set_model_forward_timestep_embed_patch((MotionModuleSlot, run_slot))
    m.remove_wrappers_with_key(comfy.patcher_extension.WrappersMP.OUTER_SAMPLE, KEY)
    m.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.OUTER_SAMPLE, KEY, SamplingChecks(handle.info))
    add_motion_control(m, control)
    add_video_preview(m)  # glue/preview.py: the animated preview of all frames while sampling
    m.set_attachments(KEY, handle.info)
    if animatediff_schedule == AUTOSELECT:
        animatediff_schedule = autoselect(handle.info.family)
    if isinstance(animatediff_schedule, str):
        m.add_object_patch("model_sampling", beta_model_sampling(model.get_model_object("model_sampling"),
                                                                 animatediff_schedule))
    elif animatediff_schedule:
        m.add_object_patch("model_sampling", animatediff_model_sampling(model.get_model_object("model_sampling")))
    add_sample_settings(m, sample_settings)  # last: its sigma schedule replaces the beta schedule
    return m


def motion_info(model) -> MotionModuleInfo | None:
    """What motion module a MODEL carries (None for a plain model)."""
    return model.get_attachment(KEY) if hasattr(model, "get_attachment") else None
