"""The AnimateDiff motion module (SD1.5 v1/v2/v3, AnimateLCM, Lightning) as plain torch modules.

Attribute names follow the original AnimateDiff key layout, so a state dict loads without renaming:
``down_blocks.{i}.motion_modules.{j}.temporal_transformer.…``, ``mid_block.motion_modules.0.…``,
``up_blocks.{i}.motion_modules.{j}.…``.

Weights stay in the dtype they were stored in; every layer casts its weights to the dtype and device of
its input when it runs (``CastOps``), so an fp16 file costs its stored size in memory, never an upcast copy.
The glue layer may hand in other layer classes (``ops``) and another attention function (``attention``).
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

# attention(q, k, v, heads) -> out; q, k, v and out are (batch, tokens, heads * head_dim).
AttentionFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, int], torch.Tensor]


def sdpa_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int) -> torch.Tensor:
    b, n, inner = q.shape
    q, k, v = (t.view(b, -1, heads, inner // heads).transpose(1, 2) for t in (q, k, v))
    out = F.scaled_dot_product_attention(q, k, v)
    return out.transpose(1, 2).reshape(b, n, inner)


class CastOps:
    """Layers whose weights are cast to the input's dtype and device at each call."""

    class Linear(nn.Linear):
        def forward(self, x):
            bias = None if self.bias is None else self.bias.to(x)
            return F.linear(x, self.weight.to(x), bias)

    class LayerNorm(nn.LayerNorm):
        def forward(self, x):
            return F.layer_norm(x, self.normalized_shape, self.weight.to(x), self.bias.to(x), self.eps)

    class GroupNorm(nn.GroupNorm):
        def forward(self, x):
            return F.group_norm(x, self.num_groups, self.weight.to(x), self.bias.to(x), self.eps)


def sinusoidal_positions(length: int, dim: int) -> torch.Tensor:
    """AnimateDiff's position table: pe[p, 2i] = sin(p·10000^(-2i/dim)), pe[p, 2i+1] = cos(…); [1, length, dim]."""
    position = torch.arange(length, dtype=torch.float64).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, dim, 2, dtype=torch.float64) * (-math.log(10000.0) / dim))
    pe = torch.zeros(1, length, dim, dtype=torch.float64)
    pe[0, :, 0::2] = torch.sin(position * div_term)
    pe[0, :, 1::2] = torch.cos(position * div_term)
    return pe.float()


class PositionalEncoding(nn.Module):
    def __init__(self, dim: int, length: int):
        super().__init__()
        self.register_buffer("pe", sinusoidal_positions(length, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = x.shape[1]
        return x + self.pe[:, :frames].to(x)


class TemporalSelfAttention(nn.Module):
    """Self-attention across frames: each spatial position attends over the frames of its own video."""

    def __init__(self, dim: int, heads: int, pe_length: int, ops):
        super().__init__()
        self.heads = heads
        self.to_q = ops.Linear(dim, dim, bias=False)
        self.to_k = ops.Linear(dim, dim, bias=False)
        self.to_v = ops.Linear(dim, dim, bias=False)
        self.to_out = nn.ModuleList([ops.Linear(dim, dim), nn.Dropout(0.0)])
        self.pos_encoder = PositionalEncoding(dim, pe_length)

    def forward(self, x: torch.Tensor, attention: AttentionFn, key_scale=None) -> torch.Tensor:
        x = self.pos_encoder(x)
        k = self.to_k(x)
        if key_scale is not None:  # the motion value "scale" (multival.py): a float or (b·h·w, frames, 1)
            k = k * key_scale
        out = attention(self.to_q(x), k, self.to_v(x), self.heads)
        return self.to_out[0](out)


class GEGLU(nn.Module):
    def __init__(self, dim: int, inner: int, ops):
        super().__init__()
        self.proj = ops.Linear(dim, inner * 2)

    def forward(self, x):
        value, gate = self.proj(x).chunk(2, dim=-1)
        return value * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim: int, ops, mult: int = 4):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, dim * mult, ops), nn.Dropout(0.0), ops.Linear(dim * mult, dim)])

    def forward(self, x):
        return self.net[2](self.net[0](x))


class TemporalTransformerBlock(nn.Module):
    def __init__(self, dim: int, heads: int, pe_length: int, attention_blocks: int, ops):
        super().__init__()
        self.attention_blocks = nn.ModuleList(
            TemporalSelfAttention(dim, heads, pe_length, ops) for _ in range(attention_blocks))
        self.norms = nn.ModuleList(ops.LayerNorm(dim) for _ in range(attention_blocks))
        self.ff = FeedForward(dim, ops)
        self.ff_norm = ops.LayerNorm(dim)

    def forward(self, h: torch.Tensor, attention: AttentionFn, key_scale=None) -> torch.Tensor:
        for attn, norm in zip(self.attention_blocks, self.norms):
            h = h + attn(norm(h), attention, key_scale)
        return h + self.ff(self.ff_norm(h))


class TemporalTransformer3D(nn.Module):
    def __init__(self, dim: int, heads: int, pe_length: int, attention_blocks: int, ops):
        super().__init__()
        self.norm = ops.GroupNorm(32, dim, eps=1e-6)
        self.proj_in = ops.Linear(dim, dim)
        self.transformer_blocks = nn.ModuleList(
            [TemporalTransformerBlock(dim, heads, pe_length, attention_blocks, ops)])
        self.proj_out = ops.Linear(dim, dim)

    def forward(self, x: torch.Tensor, frames: int, attention: AttentionFn, key_scale=None) -> torch.Tensor:
        """x: ``(videos·frames, C, H, W)``, frames of one video contiguous. Returns the temporal residual."""
        _, _, height, width = x.shape
        h = self.norm(x)  # GroupNorm per frame, as in original AnimateDiff
        # contiguous: a linear layer on the permuted view would run as a batched matmul over an expanded
        # copy of its weight (one per spatial position), several times slower than one copy of the activations
        h = rearrange(h, "(b f) c h w -> (b h w) f c", f=frames).contiguous()
        h = self.proj_in(h)
        for block in self.transformer_blocks:
            h = block(h, attention, key_scale)
        h = self.proj_out(h)
        return rearrange(h, "(b h w) f c -> (b f) c h w", h=height, w=width)


class MotionModule(nn.Module):
    def __init__(self, dim: int, heads: int, pe_length: int, attention_blocks: int, ops):
        super().__init__()
        self.temporal_transformer = TemporalTransformer3D(dim, heads, pe_length, attention_blocks, ops)

    def forward(self, x: torch.Tensor, frames: int, scale=1.0,
                attention: AttentionFn = sdpa_attention, key_scale=None) -> torch.Tensor:
        """``scale``: the residual's weight (the motion value "effect"), a float or ``(videos·frames, 1, H, W)``;
        ``key_scale``: the temporal attention's key scale (the motion value "scale"), None for as trained."""
        if not isinstance(scale, torch.Tensor) and scale == 0.0:
            return x
        residual = self.temporal_transformer(x, frames, attention, key_scale)
        if isinstance(scale, torch.Tensor) or scale != 1.0:
            residual = residual * scale
        return x + residual


class MotionBlock(nn.Module):
    def __init__(self, dims: list[int], heads: int, pe_length: int, attention_blocks: int, ops):
        super().__init__()
        self.motion_modules = nn.ModuleList(
            MotionModule(d, heads, pe_length, attention_blocks, ops) for d in dims)


class MotionModuleSet(nn.Module):
    """All motion modules of one file, laid out as the UNet levels they belong to."""

    def __init__(self, channels: tuple[int, ...], per_down: int, per_up: int, has_mid: bool,
                 pe_length: int, heads: int = 8, attention_blocks: int = 2, ops=CastOps):
        super().__init__()
        args = (heads, pe_length, attention_blocks, ops)
        self.down_blocks = nn.ModuleList(MotionBlock([c] * per_down, *args) for c in channels)
        self.up_blocks = nn.ModuleList(MotionBlock([c] * per_up, *args) for c in reversed(channels))
        self.mid_block: Optional[MotionBlock] = MotionBlock([channels[-1]], *args) if has_mid else None
