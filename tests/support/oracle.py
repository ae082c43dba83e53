"""An independent reference for correctness tests: diffusers' ``UNetMotionModel`` built from ComfyUI weights.

Nothing here imports this pack. The image UNet's weights are renamed with ComfyUI's own
``comfy.utils.unet_to_diffusers`` map, the motion module's with the original-AnimateDiff → diffusers rule of
``motion_module_v2_keys.tsv``; both load strictly. The one deliberate deviation from stock diffusers: every
motion module's GroupNorm is made per frame (original AnimateDiff, AnimateDiff-Evolved and this pack),
by patching the built instance only, never the diffusers class.
"""
from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import nn

import comfy.utils
from diffusers import UNetMotionModel
from diffusers.models.embeddings import SinusoidalPositionalEmbedding
from diffusers.models.unets.unet_motion_model import AnimateDiffTransformer3D

# What ComfyUI's SD15 model config adds to a detected unet_config (``SD15.unet_extra_config``).
SD15_HEAD_DEFAULTS = {"num_heads": 8, "num_head_channels": -1}
MOTION_HEADS = 8
# AnimateLCM files store no positional table; its code uses this length (diffusers then builds its own table).
DEFAULT_PE_LENGTH = 64

_MOTION_KEY = re.compile(
    r"^(?P<block>down_blocks\.\d+|up_blocks\.\d+|mid_block)\.motion_modules\.(?P<mod>\d+)\.temporal_transformer\.(?P<rest>.+)$")
_MOTION_RENAMES = (  # inside transformer_blocks.N: original name -> diffusers name
    (re.compile(r"\.attention_blocks\.0\."), ".attn1."),
    (re.compile(r"\.attention_blocks\.1\."), ".attn2."),
    (re.compile(r"\.norms\.0\."), ".norm1."),
    (re.compile(r"\.norms\.1\."), ".norm2."),
    (re.compile(r"\.ff_norm\."), ".norm3."),
)
_PE_KEY = re.compile(r"^(?P<head>.+\.transformer_blocks\.\d+)\.attention_blocks\.(?P<attn>\d+)\.pos_encoder\.pe$")


class PerFrameGroupNorm(nn.Module):
    """GroupNorm over each frame alone. Input and output are diffusers' ``(batch, C, frames, H, W)``."""

    def __init__(self, norm: nn.GroupNorm):
        super().__init__()
        self.num_groups, self.eps = norm.num_groups, norm.eps
        self.weight, self.bias = norm.weight, norm.bias  # same Parameters: the state dict names do not change

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, f, h, w = x.shape
        frames = x.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w)
        out = F.group_norm(frames, self.num_groups, self.weight, self.bias, self.eps)
        return out.reshape(b, f, c, h, w).permute(0, 2, 1, 3, 4)


def _per_level(value, levels: int, name: str) -> list[int]:
    if isinstance(value, int):
        return [value] * levels
    value = list(value)
    if len(value) != levels:
        raise ValueError(f"unet_config[{name!r}] has {len(value)} entries for {levels} levels")
    return value


def motion_config(unet_config: dict, motion_sd: dict) -> dict:
    """The ``UNetMotionModel`` config that mirrors a ComfyUI SD1.5-family unet_config and a motion module."""
    mult = list(unet_config["channel_mult"])
    levels = len(mult)
    if mult[0] != 1:
        raise ValueError("channel_mult[0] must be 1 (diffusers ties conv_in and the time embedding to level 0)")
    model_channels = unet_config["model_channels"]
    channels = [model_channels * m for m in mult]
    res_blocks = _per_level(unet_config["num_res_blocks"], levels, "num_res_blocks")

    # transformer_depth lists one entry per down resnet (ComfyUI's detected form); diffusers wants one per level.
    depth = list(unet_config["transformer_depth"])
    if len(depth) != sum(res_blocks):
        raise ValueError(f"transformer_depth {depth} does not list one depth per down resnet {res_blocks}")
    per_level, start = [], 0
    for n in res_blocks:
        level = depth[start:start + n]
        start += n
        if len(set(level)) != 1:
            raise ValueError(f"diffusers needs one transformer depth per level, got {level}")
        per_level.append(level[0])
    mid_depth = unet_config.get("transformer_depth_middle", per_level[-1])
    if mid_depth is None or mid_depth < 1:
        raise ValueError(f"transformer_depth_middle={mid_depth}: diffusers' mid block needs an attention")

    heads_cfg = {**SD15_HEAD_DEFAULTS, **{k: unet_config[k] for k in SD15_HEAD_DEFAULTS if k in unet_config}}
    if heads_cfg["num_head_channels"] not in (-1, None):
        heads = [c // heads_cfg["num_head_channels"] for c in channels]
    else:
        heads = [heads_cfg["num_heads"]] * levels

    pe = [v for k, v in motion_sd.items() if k.endswith(".pos_encoder.pe")]
    lengths = {tuple(v.shape)[1] for v in pe}
    if len(lengths) > 1:
        raise ValueError(f"motion module pe tables of different lengths: {sorted(lengths)}")
    blocks = {int(m.group(1)) for k in motion_sd
              if (m := re.match(r"^down_blocks\.0\.motion_modules\.0\.temporal_transformer\.transformer_blocks\.(\d+)\.", k))}
    return dict(
        sample_size=None,
        in_channels=unet_config.get("in_channels", 4),
        out_channels=unet_config.get("out_channels", 4),
        down_block_types=tuple("CrossAttnDownBlockMotion" if d else "DownBlockMotion" for d in per_level),
        up_block_types=tuple("CrossAttnUpBlockMotion" if d else "UpBlockMotion" for d in reversed(per_level)),
        block_out_channels=tuple(channels),
        layers_per_block=tuple(res_blocks),
        cross_attention_dim=unet_config["context_dim"],
        transformer_layers_per_block=tuple(max(d, 1) for d in per_level),
        transformer_layers_per_mid_block=mid_depth,
        use_linear_projection=bool(unet_config.get("use_linear_in_transformer", False)),
        num_attention_heads=tuple(heads),
        norm_num_groups=32,
        norm_eps=1e-5,
        motion_max_seq_length=lengths.pop() if lengths else DEFAULT_PE_LENGTH,
        motion_num_attention_heads=MOTION_HEADS,
        temporal_transformer_layers_per_block=max(blocks) + 1 if blocks else 1,
        use_motion_mid_block=any(k.startswith("mid_block.") for k in motion_sd),
    )


def convert_unet_keys(comfy_unet_sd: dict, unet_config: dict, wanted: set[str]) -> tuple[dict, list[str]]:
    """ComfyUI/LDM UNet keys -> diffusers names via ComfyUI's own map. Returns (converted, unexpected comfy keys)."""
    cfg = {**unet_config}
    cfg["num_res_blocks"] = _per_level(cfg["num_res_blocks"], len(cfg["channel_mult"]), "num_res_blocks")
    mapping = comfy.utils.unet_to_diffusers(cfg)  # diffusers key -> comfy key
    out, used = {}, set()
    for dkey, ckey in mapping.items():
        if ckey in comfy_unet_sd and dkey in wanted:
            out[dkey] = comfy_unet_sd[ckey]
            used.add(ckey)
    return out, sorted(k for k in comfy_unet_sd if k not in used)


def convert_motion_keys(motion_sd: dict) -> tuple[dict, list[str]]:
    """Original AnimateDiff layout -> diffusers names (the tsv's rule); pe tables become ``pos_embed.pe``.

    Returns (converted, errors). diffusers keeps one table per transformer block where the original keeps one
    per attention, so two different tables in one block are an error."""
    out, errors, pes = {}, [], {}
    for key, value in motion_sd.items():
        m = _MOTION_KEY.match(key)
        if m is None:
            errors.append(f"unexpected motion key {key}")
            continue
        new = f"{m['block']}.motion_modules.{m['mod']}.{m['rest']}"
        pe = _PE_KEY.match(new)
        if pe is not None:
            pes.setdefault(f"{pe['head']}.pos_embed.pe", []).append((key, value))
            continue
        for pattern, repl in _MOTION_RENAMES:
            new = pattern.sub(repl, new)
        out[new] = value
    for dkey, tables in pes.items():
        first_key, first = tables[0]
        for other_key, other in tables[1:]:
            if other.shape != first.shape or not torch.equal(other.to(first.dtype), first):
                errors.append(f"{other_key} differs from {first_key}: diffusers shares one pe per block")
        out[dkey] = first
    return out, errors


def patch_per_frame_groupnorm(model: UNetMotionModel) -> int:
    """Replace every motion module's ``norm`` on this instance by a per-frame GroupNorm; returns how many."""
    count = 0
    for module in model.modules():
        if isinstance(module, AnimateDiffTransformer3D) and isinstance(module.norm, nn.GroupNorm):
            module.norm = PerFrameGroupNorm(module.norm)
            count += 1
    return count


def diffusers_motion_unet(comfy_unet_sd: dict, unet_config: dict, motion_sd: dict,
                          dtype: torch.dtype = torch.float32) -> UNetMotionModel:
    """A diffusers ``UNetMotionModel`` holding ComfyUI UNet weights plus an original-layout motion module,
    with per-frame motion GroupNorm. Strict: any missing or unexpected key raises ``KeyError``."""
    config = motion_config(unet_config, motion_sd)
    with torch.device("meta"):
        model = UNetMotionModel(**config)
    expected = model.state_dict()

    motion, errors = convert_motion_keys(motion_sd)
    unet_wanted = {k for k in expected if ".motion_modules." not in k}
    unet, unexpected = convert_unet_keys(comfy_unet_sd, unet_config, unet_wanted)
    errors += [f"unexpected UNet key {k}" for k in unexpected]
    merged = {**unet, **motion}
    errors += [f"unexpected converted key {k}" for k in merged if k not in expected]
    missing = [k for k in expected if k not in merged]
    if not any(k.endswith(".pos_encoder.pe") for k in motion_sd):
        # no stored tables (AnimateLCM): the one case where diffusers' own sinusoid fills pos_embed
        for k in [k for k in missing if k.endswith(".pos_embed.pe")]:
            merged[k] = SinusoidalPositionalEmbedding(expected[k].shape[2], expected[k].shape[1]).pe
        missing = [k for k in missing if k not in merged]
    errors += [f"missing key {k}" for k in missing]
    for k, v in merged.items():
        if k in expected and tuple(v.shape) != tuple(expected[k].shape):
            errors.append(f"shape of {k}: {tuple(v.shape)} given, {tuple(expected[k].shape)} expected")
    if errors:
        raise KeyError(f"{len(errors)} load errors:\n" + "\n".join(errors[:40]))

    state = {k: v.detach().to(dtype=dtype, copy=True) for k, v in merged.items()}
    model.load_state_dict(state, strict=True, assign=True)
    leftover = [n for n, t in list(model.named_parameters()) + list(model.named_buffers()) if t.is_meta]
    if leftover:
        raise KeyError(f"tensors left on the meta device: {leftover[:10]}")
    patched = patch_per_frame_groupnorm(model)
    modules = sum(1 for k in merged if re.search(r"\.motion_modules\.\d+\.norm\.weight$", k))
    if patched != modules:
        raise RuntimeError(f"patched {patched} motion GroupNorms for {modules} motion modules")
    return model.eval().requires_grad_(False)


@torch.no_grad()
def diffusers_noise_prediction(model: UNetMotionModel, x: torch.Tensor, timestep, context: torch.Tensor,
                               frames: int) -> torch.Tensor:
    """ε prediction for one video given ComfyUI-style inputs.

    x: ``(frames, 4, h, w)``; timestep: an integer t (or 0-d tensor); context: ``(frames or 1, tokens, dim)``.
    Returns ``(frames, 4, h, w)`` in x's dtype."""
    if x.shape[0] != frames:
        raise ValueError(f"x holds {x.shape[0]} latents, expected one video of {frames} frames")
    param = next(model.parameters())
    sample = x.to(param).permute(1, 0, 2, 3).unsqueeze(0)  # (1, C, frames, h, w)
    if context.shape[0] == 1:
        context = context.expand(frames, -1, -1)
    elif context.shape[0] != frames:
        raise ValueError(f"context batch {context.shape[0]} is neither 1 nor {frames}")
    t = torch.as_tensor(timestep, device=param.device).reshape(())
    out = model(sample, t, encoder_hidden_states=context.to(param), return_dict=False)[0]
    return out[0].permute(1, 0, 2, 3).to(x.dtype)
