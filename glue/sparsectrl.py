"""SparseCtrl as a core ControlNet: core's ``comfy.cldm.cldm.ControlNet`` for the spatial encoder, the file's motion
modules (motion_modules/model.py) inside its input blocks, and a ``comfy.controlnet.ControlNet`` subclass that turns
K hint images into the per-frame hint + conditioning mask SparseCtrl was trained with.

- The motion modules are children of this ControlNet instance only (built here, owned by it): the UNet and every
  other ControlNet are untouched. Core's ``forward_timestep_embed`` calls a layer it does not know as ``layer(x)``;
  the frame count comes from ``SparseRun``, set before each call.
- The noisy latent is replaced by zeros, as SparseCtrl was trained (``set_noisy_sample_input_to_zero``).
- RGB hints are the VAE latents of the hint images (core's ControlNet machinery encodes them with the VAE given to
  the apply node, ``latent_format`` set); scribble hints are the images, as for any ControlNet.
- Hints follow their frames: under this pack's context windows each window gets the hints of the frames it holds
  (``windowed``, called by glue/context.py), and a window holding none gets none (mask 0).
"""
from __future__ import annotations

import copy
import os

import torch
from torch import nn

import comfy.cldm.cldm
import comfy.controlnet
import comfy.latent_formats
import comfy.model_detection
import comfy.model_management
import comfy.ops
import comfy.utils
from comfy.ldm.modules.diffusionmodules.openaimodel import ResBlock, TimestepEmbedSequential

from ..motion_modules import MotionModuleError, MotionModuleInfo
from ..motion_modules.loading import build_motion_modules, read_state_dict
from ..motion_modules.sparsectrl import RGB, SparseCtrlInfo, hint_frames, place_hints, split_sparsectrl
from .injection import temporal_attention

MOTION_NAME = "sparsectrl_motion_module"


class SparseRun:
    """What the motion modules of one SparseCtrl need at a call: shared by the instance's layers."""

    def __init__(self, use_motion: bool, strength: float, scale: float):
        self.use_motion, self.strength, self.scale = use_motion, strength, scale
        self.frames = 1


class SparseMotion(nn.Module):
    """One motion module inside the ControlNet's input block (a real child: it moves and loads with the net)."""

    def __init__(self, module: nn.Module, run: SparseRun, where: str, pe_length: int):
        super().__init__()
        self.motion_module = module
        object.__setattr__(self, "run", run)  # shared, not a child
        self.where, self.pe_length = where, pe_length

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        run = self.run
        if not run.use_motion or run.strength == 0.0:
            return x
        if run.frames > self.pe_length:
            raise MotionModuleError(
                f"SparseCtrl's motion modules hold {self.pe_length} frames and got {run.frames}: use Context "
                f"Options (Lightning) with a context_length of at most {self.pe_length}, or turn use_motion off.")
        key_scale = None if run.scale == 1.0 else run.scale
        return self.motion_module(x, run.frames, run.strength, attention=temporal_attention(x), key_scale=key_scale)


def _diffusers_keys(spatial: dict, config: dict, info: SparseCtrlInfo) -> dict:
    """diffusers name -> core cldm name for every spatial tensor (as core maps a diffusers ControlNet)."""
    keys = comfy.utils.unet_to_diffusers(config)
    keys["controlnet_mid_block.weight"] = "middle_block_out.0.weight"
    keys["controlnet_mid_block.bias"] = "middle_block_out.0.bias"
    for k in spatial:
        if k.startswith("controlnet_down_blocks."):
            index, suffix = k[len("controlnet_down_blocks."):].split(".", 1)
            keys[k] = f"zero_convs.{index}.0.{suffix}"
        elif k.startswith("controlnet_cond_embedding."):
            rest = k[len("controlnet_cond_embedding."):]
            if info.kind == RGB:
                keys[k] = f"input_hint_block.0.{rest}"
            else:
                part, suffix = rest.rsplit(".", 1)
                if part == "conv_in":
                    keys[k] = f"input_hint_block.0.{suffix}"
                elif part.startswith("blocks."):
                    keys[k] = f"input_hint_block.{2 * (int(part.split('.')[1]) + 1)}.{suffix}"
                elif part == "conv_out":
                    blocks = len({kk.split(".")[2] for kk in spatial if kk.startswith("controlnet_cond_embedding.blocks.")})
                    keys[k] = f"input_hint_block.{2 * (blocks + 1)}.{suffix}"
    return keys


def _spatial_net(spatial: dict, info: SparseCtrlInfo, dtype, operations) -> comfy.cldm.cldm.ControlNet:
    label = info.name or "the SparseCtrl file"
    config = comfy.model_detection.unet_config_from_diffusers_unet(spatial, dtype)
    if config is None:
        raise MotionModuleError(f"{label}: its ControlNet is not an SD1.5 one this ComfyUI recognises (no matching "
                                "UNet configuration). Use v3_sd15_sparsectrl_rgb or v3_sd15_sparsectrl_scribble.")
    names = _diffusers_keys(spatial, config, info)
    sd = {names[k]: v for k, v in spatial.items() if k in names}
    left = sorted(k for k in spatial if k not in names)
    if left:
        raise MotionModuleError(f"{label}: {len(left)} of its ControlNet tensors have no place (e.g. {left[0]}). It "
                                "is damaged or an unsupported variant.")
    config = {k: v for k, v in config.items() if k not in ("out_channels", "dtype", "device", "operations")}
    device = comfy.model_management.unet_offload_device()
    net = comfy.cldm.cldm.ControlNet(**config, hint_channels=info.hint_channels + 1, operations=operations,
                                     dtype=dtype, device=device)
    if info.kind == RGB:  # one convolution from latent + mask to the first level (AnimateDiff's simplified embedding)
        net.input_hint_block = TimestepEmbedSequential(operations.conv_nd(
            2, info.hint_channels + 1, net.model_channels, 3, padding=1, dtype=dtype, device=device))
    missing, unexpected = net.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise MotionModuleError(f"{label}: its ControlNet does not match ComfyUI's layout ({len(missing)} missing, e.g. "
                                f"{(missing or ['-'])[0]}; {len(unexpected)} unexpected, e.g. {(unexpected or ['-'])[0]}).")
    return net


def _insert_motion(net, motion: dict, info: SparseCtrlInfo, run: SparseRun, operations):
    minfo = MotionModuleInfo(family="SparseCtrl", version="v3", layout="original", channels=info.channels,
                             per_down=info.per_down, per_up=0, has_mid=False, pe_length=info.pe_length,
                             pe_stored=info.pe_stored, attention_blocks=info.attention_blocks, dtype=info.dtype,
                             parameters=0, name=info.name)
    modules = build_motion_modules(motion, minfo, ops=operations)
    expected = 1 + len(info.channels) * (info.per_down + 1) - 1
    if len(net.input_blocks) != expected:
        raise MotionModuleError(f"{info.name}: its motion modules ({len(info.channels)} levels × {info.per_down}) do not "
                                f"fit its ControlNet ({len(net.input_blocks)} input blocks).")
    for level, down in enumerate(modules.down_blocks):
        for j, module in enumerate(down.motion_modules):
            index = 1 + level * (info.per_down + 1) + j
            block = net.input_blocks[index]
            width = next((layer.out_channels for layer in block if isinstance(layer, ResBlock)), None)
            if width != module.temporal_transformer.proj_in.in_features:
                raise MotionModuleError(f"{info.name}: motion module {level}.{j} has "
                                        f"{module.temporal_transformer.proj_in.in_features} channels, its ControlNet "
                                        f"block {width}. The file is damaged.")
            block.add_module(MOTION_NAME, SparseMotion(module, run, f"input_blocks.{index}", info.pe_length))


def load_sparsectrl(path: str, use_motion: bool = True, motion_strength: float = 1.0,
                    motion_scale: float = 1.0) -> "SparseCtrl":
    name = os.path.basename(path)
    sd, _metadata = read_state_dict(path)
    spatial, motion, info = split_sparsectrl(sd, name)
    del sd
    dtype = comfy.model_management.unet_dtype(model_params=-1, weight_dtype=info.dtype)
    load_device = comfy.model_management.get_torch_device()
    manual_cast = comfy.model_management.unet_manual_cast(dtype, load_device)
    operations = comfy.ops.manual_cast if manual_cast is not None else comfy.ops.disable_weight_init
    net = _spatial_net(spatial, info, dtype, operations)
    run = SparseRun(use_motion, motion_strength, motion_scale)
    if info.has_motion:
        motion = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in motion.items()}
        _insert_motion(net, motion, info, run, operations)
    net = net.to(dtype).eval().requires_grad_(False)
    return SparseCtrl(net, info, run, load_device=load_device, manual_cast_dtype=manual_cast)


class SparseCtrl(comfy.controlnet.ControlNet):
    def __init__(self, control_model, info: SparseCtrlInfo, run: SparseRun, load_device=None, manual_cast_dtype=None):
        rgb = info.kind == RGB
        super().__init__(control_model, compression_ratio=1 if rgb else 8,
                         latent_format=comfy.latent_formats.SD15() if rgb else None,
                         load_device=load_device, manual_cast_dtype=manual_cast_dtype)
        self.info, self.run = info, run
        self.spread, self.indexes = "uniform", None
        self.window_indices, self.full_frames = None, None
        self.hint_cache: dict = {}
        self._cond_key = None

    def placed(self, spread: str, indexes: list[int] | None) -> "SparseCtrl":
        c = self.copy()
        c.spread, c.indexes = spread, indexes
        return c

    def windowed(self, indices: list[int], frames: int) -> "SparseCtrl":
        """A shallow copy for one context window (glue/context.py): its hints are those of ``indices``."""
        c = copy.copy(self)
        c.window_indices, c.full_frames = list(indices), frames
        c.cond_hint, c._cond_key = None, None
        return c

    def check_frames(self, frames: int) -> None:
        """Before sampling (glue/checks.py): the placement fits a video of ``frames`` frames."""
        hint_frames(self.cond_hint_original.shape[0], frames, self.spread, self.indexes)

    def copy(self):
        c = SparseCtrl(None, self.info, self.run, load_device=self.load_device, manual_cast_dtype=self.manual_cast_dtype)
        c.control_model = self.control_model
        c.control_model_wrapped = self.control_model_wrapped
        self.copy_to(c)
        c.spread, c.indexes = self.spread, self.indexes
        return c

    def _encoded_hints(self, height: int, width: int, device) -> torch.Tensor:
        """The K hints at this latent size: images resized as core resizes ControlNet hints, and for RGB their
        VAE latents (encoded once per size: each apply makes a copy of its own, so its hints never change;
        core's cleanup drops the placed ``cond_hint`` after a run, these few latents stay with the copy)."""
        key = (height, width)
        if key not in self.hint_cache:
            scale = self.compression_ratio
            if self.latent_format is not None:
                if self.vae is None:
                    raise MotionModuleError("SparseCtrl RGB needs the VAE to encode its hint images: connect the VAE to "
                                            "Apply SparseCtrl (Lightning)'s vae input.")
                scale *= self.vae.spacial_compression_encode()
            hints = comfy.utils.common_upscale(self.cond_hint_original, width * scale, height * scale,
                                               self.upscale_algorithm, "center")
            if self.vae is not None and self.latent_format is not None:
                loaded = comfy.model_management.loaded_models(only_currently_used=True)
                hints = self.latent_format.process_in(self.vae.encode(hints.movedim(1, -1)))
                comfy.model_management.load_models_gpu(loaded)
            self.hint_cache[key] = hints.to(device)
        return self.hint_cache[key]

    def get_control(self, x_noisy, t, cond, batched_number, transformer_options):
        control_prev = None
        if self.previous_controlnet is not None:
            control_prev = self.previous_controlnet.get_control(x_noisy, t, cond, batched_number, transformer_options)
        if self.timestep_range is not None and (t[0] > self.timestep_range[0] or t[0] < self.timestep_range[1]):
            return control_prev
        dtype = self.manual_cast_dtype or self.control_model.dtype
        frames = x_noisy.shape[0] // batched_number
        indices = self.window_indices or list(range(frames))
        full = self.full_frames or frames
        if len(indices) != frames:
            raise MotionModuleError(f"SparseCtrl got {frames} frames for a window of {len(indices)}: this ComfyUI's "
                                    "context windows add frames; use Context Options (Lightning).")
        key = (full, tuple(indices), tuple(x_noisy.shape[2:]))  # the placement is fixed per copy (placed)
        if self.cond_hint is None or self._cond_key != key:
            hints = self._encoded_hints(x_noisy.shape[2], x_noisy.shape[3], x_noisy.device)
            at = hint_frames(hints.shape[0], full, self.spread, self.indexes)
            placed, mask = place_hints(hints, at, full)
            self.cond_hint = torch.cat([placed[indices], mask[indices]], dim=1).to(x_noisy.device, dtype)
            self._cond_key = key
        hint = self.cond_hint
        if x_noisy.shape[0] != hint.shape[0]:
            hint = comfy.controlnet.broadcast_image_to(hint, x_noisy.shape[0], batched_number)
        context = cond.get("crossattn_controlnet", cond["c_crossattn"])
        timestep = self.model_sampling_current.timestep(t)
        self.run.frames = frames
        control = self.control_model(x=torch.zeros_like(x_noisy, dtype=dtype), hint=hint, timesteps=timestep.to(dtype),
                                     context=comfy.model_management.cast_to_device(context, x_noisy.device, dtype))
        return self.control_merge(control, control_prev, output_dtype=None)
