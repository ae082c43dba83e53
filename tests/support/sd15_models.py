"""Random-weight SD1.5 image models with the real key names and shapes, taken from ComfyUI's own modules.

Keys and shapes come from instantiating ComfyUI's UNet (``openaimodel.UNetModel``), SD1 CLIP-L text
encoder (``sd1_clip.SD1ClipModel``) and KL VAE (``autoencoder.AutoencoderKL``) on the meta device, and
are mapped to the original LDM checkpoint layout with ComfyUI's own ``*_for_saving`` converters of
``supported_models.SD15`` — the inverse of what ``comfy.sd.load_checkpoint_guess_config`` does on load:

- ``model.diffusion_model.*``                       UNet, 686 tensors, 859,520,964 parameters
- ``cond_stage_model.transformer.text_model.*``     CLIP-L, 196 tensors (+ ``embeddings.position_ids``)
- ``first_stage_model.*``                           VAE, 248 tensors

Weight scales (``model_cache.random_param``): matrices N(0, 1/fan_in), residual-branch outputs at half
that, norms 1/0, biases ~0.02. With a unit-variance input every UNet block's output has std ~1 (max ~5).
Random weights never denoise (their ε̂ is uncorrelated with the noise), so a sampled latent keeps
σ_max-sized values: late steps feed the UNet inputs ~10x larger (block outputs up to ~80) and the VAE
decodes latents of std ~90 (decoder activations up to ~530). Finite, and far below fp16's 65504: a
4-step Euler run over 16 frames at 64 px plus VAE decode stays finite (also checked with fp16 compute).

Building a ModelPatcher on CPU (what ``tiny_model_patcher`` does)::

    config = comfy.supported_models.SD15(tiny_unet_config())   # adds num_heads=8, num_head_channels=-1
    config.set_inference_dtype(torch.float32, None)            # weight dtype, manual-cast dtype
    model = config.get_model({})                               # BaseModel(EPS) around a UNetModel
    model.load_model_weights(tiny_unet_sd(seed), "")            # keys as in UNetModel.state_dict()
    patcher = comfy.model_patcher.ModelPatcher(model, load_device=..., offload_device=...)

The real-shape UNet goes through ComfyUI's detection instead: ``comfy.sd.load_diffusion_model_state_dict``.
"""
from __future__ import annotations

import functools
from pathlib import Path

import torch

from .model_cache import cached_file, random_param

# The UNet config ComfyUI detects for SD1.5 (``model_detection``), as passed to ``UNetModel(**config)``
# once ``SD15.unet_extra_config`` (num_heads 8, num_head_channels -1) is added.
SD15_UNET_CONFIG = {
    "use_checkpoint": False, "image_size": 32, "in_channels": 4, "out_channels": 4, "model_channels": 320,
    "num_res_blocks": [2, 2, 2, 2], "channel_mult": [1, 2, 4, 4],
    "transformer_depth": [1, 1, 1, 1, 1, 1, 0, 0], "transformer_depth_middle": 1,
    "transformer_depth_output": [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
    "use_spatial_transformer": True, "legacy": False, "adm_in_channels": None,
    "use_linear_in_transformer": False, "context_dim": 768,
    "use_temporal_attention": False, "use_temporal_resblock": False,
}
# The SD1.x KL VAE (``comfy.sd.VAE`` builds this when it sees ``decoder.conv_in.weight``).
SD_VAE_DDCONFIG = {"double_z": True, "z_channels": 4, "resolution": 256, "in_channels": 3, "out_ch": 3, "ch": 128,
                   "ch_mult": [1, 2, 4, 4], "num_res_blocks": 2, "attn_resolutions": [], "dropout": 0.0}
CHECKPOINT_NAME = "sd15-random-fp16.safetensors"


def tiny_unet_config(model_channels: int = 32, channel_mult: tuple[int, ...] = (1, 1, 2, 2)) -> dict:
    """An SD1.5-shaped UNet at 1/10 width: 4 levels, 2 resblocks per level, cross-attention transformers
    (depth 1) at levels 0-2 and in the mid block, none at level 3, 8 heads, context 768 (real CLIP-L
    conditioning fits). The default channels (32, 32, 64, 64) are divisible by 32 (GroupNorm) and by 8
    heads and match ``TINY_CHANNELS`` of the tiny motion modules (3,483,076 parameters). Because level 1
    keeps level 0's width it has no ``input_blocks.4.0.skip_connection`` (684 keys, not 686); pass
    ``channel_mult=(1, 2, 4, 4)`` for exactly SD1.5's key names at channels (32, 64, 128, 128)."""
    return {**SD15_UNET_CONFIG, "model_channels": model_channels, "channel_mult": list(channel_mult)}


def _meta_shapes(module: torch.nn.Module) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    return {k: (tuple(v.shape), v.dtype) for k, v in module.state_dict().items()}


@functools.lru_cache(maxsize=4)
def _unet_shapes(config_items: tuple) -> dict:
    import comfy.ops
    from comfy.ldm.modules.diffusionmodules.openaimodel import UNetModel
    config = {k: list(v) if isinstance(v, tuple) else v for k, v in config_items}
    config.update(num_heads=8, num_head_channels=-1)
    with torch.device("meta"):
        unet = UNetModel(**config, dtype=torch.float32, device="meta", operations=comfy.ops.disable_weight_init)
    return _meta_shapes(unet)


def unet_shapes(config: dict | None = None) -> dict[str, tuple[int, ...]]:
    """Keys (``UNetModel.state_dict()`` names) and shapes of a UNet with ``config`` (default: SD1.5)."""
    config = SD15_UNET_CONFIG if config is None else config
    items = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in config.items()))
    return {k: shape for k, (shape, _) in _unet_shapes(items).items()}


@functools.lru_cache(maxsize=1)
def _clip_shapes() -> dict:
    import comfy.sd1_clip
    with torch.device("meta"):
        clip = comfy.sd1_clip.SD1ClipModel(device="meta", dtype=torch.float32)
    return _meta_shapes(clip)


@functools.lru_cache(maxsize=1)
def _vae_shapes() -> dict:
    from comfy.ldm.models.autoencoder import AutoencoderKL
    with torch.device("meta"):
        vae = AutoencoderKL(ddconfig=SD_VAE_DDCONFIG, embed_dim=4)
    return _meta_shapes(vae)


def _randomise(shapes: dict, dtype: torch.dtype, seed: int, prefix: str = "") -> dict[str, torch.Tensor]:
    # Seeded by the ComfyUI-internal key (``prefix`` + key), so sd15_unet_sd() equals the checkpoint's UNet.
    return {k: random_param(prefix + k, shape, dtype, seed) for k, shape in shapes.items()}


def sd15_unet_sd(dtype: torch.dtype = torch.float16, seed: int = 0) -> dict[str, torch.Tensor]:
    """The real-shape SD1.5 UNet in ComfyUI ``diffusion_model`` names (no prefix). ~4 s on 2 cores."""
    return _randomise(unet_shapes(), dtype, seed)


def tiny_unet_sd(seed: int = 0, dtype: torch.dtype = torch.float32, config: dict | None = None) -> dict[str, torch.Tensor]:
    """Random weights for ``config`` (default ``tiny_unet_config()``), in ``UNetModel.state_dict()`` names."""
    return _randomise(unet_shapes(config or tiny_unet_config()), dtype, seed)


def sd15_checkpoint_sd(dtype: torch.dtype = torch.float16, seed: int = 0) -> dict[str, torch.Tensor]:
    """A whole SD1.5 checkpoint (UNet + CLIP-L + VAE) in the original LDM key layout."""
    import comfy.supported_models
    config = comfy.supported_models.SD15(SD15_UNET_CONFIG)
    unet = config.process_unet_state_dict_for_saving(sd15_unet_sd(dtype, seed))
    clip_shapes = {k: shape for k, (shape, _) in _clip_shapes().items()}
    # Drops clip_l.logit_scale and text_projection (SD1.5 files have neither) and renames clip_l. -> cond_stage_model.
    clip = config.process_clip_state_dict_for_saving(_randomise(clip_shapes, dtype, seed))
    # Real SD1.5 files carry the int64 position ids of old `transformers`; ComfyUI ignores them on load.
    clip["cond_stage_model.transformer.text_model.embeddings.position_ids"] = torch.arange(77)[None]
    vae_shapes = {k: shape for k, (shape, _) in _vae_shapes().items()}
    vae = config.process_vae_state_dict_for_saving(_randomise(vae_shapes, dtype, seed, prefix="vae."))
    return {**unet, **clip, **vae}


def sd15_checkpoint_file(seed: int = 0) -> Path:
    """The cached fp16 checkpoint (2,132,625,894 bytes; ~10 s to generate the first time on 2 cores)."""
    name = CHECKPOINT_NAME if seed == 0 else CHECKPOINT_NAME.replace("fp16", f"fp16-s{seed}")
    return cached_file(name, lambda: sd15_checkpoint_sd(torch.float16, seed))


def _devices():
    import comfy.model_management as mm
    return mm.get_torch_device(), mm.unet_offload_device()


def tiny_model_patcher(seed: int = 0, config: dict | None = None):
    """A ``ModelPatcher`` around a tiny SD1.5-shaped ``BaseModel`` (EPS, ComfyUI's default SD1.5 schedule),
    fp32 weights, built directly (ComfyUI's detection would not call this SD1.5: it checks channels).
    ``config`` defaults to ``tiny_unet_config()``."""
    import comfy.model_patcher
    import comfy.supported_models
    config = config or tiny_unet_config()
    model_config = comfy.supported_models.SD15(config)
    model_config.set_inference_dtype(torch.float32, None)
    model = model_config.get_model({})
    model.load_model_weights(tiny_unet_sd(seed, torch.float32, config), "")
    load_device, offload_device = _devices()
    return comfy.model_patcher.ModelPatcher(model, load_device=load_device, offload_device=offload_device)


def sd15_model_patcher(seed: int = 0):
    """The real-shape SD1.5 UNet alone, detected and loaded by ``comfy.sd.load_diffusion_model_state_dict``.

    Its weights are the UNet of ``sd15_checkpoint_file(seed)`` (read back from the cached file, which is
    generated if missing), so a test can mix this patcher with the checkpoint's CLIP and VAE.
    """
    import comfy.sd
    import comfy.utils
    sd = comfy.utils.load_torch_file(str(sd15_checkpoint_file(seed)))
    unet = {k[len("model.diffusion_model."):]: v for k, v in sd.items() if k.startswith("model.diffusion_model.")}
    patcher = comfy.sd.load_diffusion_model_state_dict(unet)
    if patcher is None:
        raise RuntimeError("ComfyUI did not recognise the generated SD1.5 UNet")
    return patcher
