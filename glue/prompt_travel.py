"""Prompt travel: keyframed prompts ("0: …", "48: …") → per-frame conditioning, interpolated between keyframes.

The result is one CONDITIONING entry whose tensors have a batch of `frames`; context windows slice it per
window (glue/context.py), and without windows ComfyUI pairs conditioning i with latent frame i."""
from __future__ import annotations

import re

import torch

from ..motion_modules import MotionModuleError

_KEYFRAME = re.compile(r"^\s*(\d+)\s*:\s*(.*)$")
PAST_LAST_FRAME = ("error", "leave out")  # widget values: append only


def parse_keyframes(text: str, frames: int, past_last_frame: str = "error") -> list[tuple[int, str]]:
    """``"0: a cat\\n48: a dog"`` → [(0, "a cat"), (48, "a dog")]. A line without ``N:`` continues the prompt above.
    A keyframe at or past ``frames`` is an error, or with ``past_last_frame`` "leave out" is skipped (with the
    lines continuing it), as FizzNodes' schedules skip keyframes past max_frames."""
    if past_last_frame not in PAST_LAST_FRAME:
        raise MotionModuleError(f"prompt travel: past_last_frame must be one of {', '.join(PAST_LAST_FRAME)} "
                                f"(got '{past_last_frame}').")
    keyframes: list[tuple[int, str]] = []
    skipping = False
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _KEYFRAME.match(line)
        if match:
            frame, prompt = int(match.group(1)), match.group(2).strip()
            skipping = frame >= frames and past_last_frame == "leave out"
            if skipping:
                continue
            if frame >= frames:
                raise MotionModuleError(
                    f"prompt travel line {number}: keyframe {frame} is past the last frame ({frames - 1}). "
                    f"Lower it, raise `frames`, or set past_last_frame to 'leave out'.")
            if keyframes and frame <= keyframes[-1][0]:
                raise MotionModuleError(
                    f"prompt travel line {number}: keyframe {frame} must come after keyframe {keyframes[-1][0]}; "
                    "list keyframes in increasing order.")
            keyframes.append((frame, prompt))
        elif skipping:
            continue
        elif keyframes:
            keyframes[-1] = (keyframes[-1][0], f"{keyframes[-1][1]} {line.strip()}")
        else:
            raise MotionModuleError(
                f"prompt travel line {number} has no frame number: write each keyframe as 'FRAME: prompt', "
                "e.g. '0: a cat in the snow'.")
    if not keyframes and any(_KEYFRAME.match(x) for x in text.splitlines()):
        raise MotionModuleError(f"prompt travel: every keyframe is at or past the last frame ({frames - 1}), so "
                                "all were left out. Lower them or raise `frames`.")
    if not keyframes:
        raise MotionModuleError("prompt travel: no keyframes. Write one per line, e.g. '0: a cat' and '48: a dog'.")
    return keyframes


def interpolation_weights(keyframes: list[int], frames: int) -> torch.Tensor:
    """[frames, len(keyframes)] weights: linear between neighbouring keyframes, held before the first and after
    the last."""
    weights = torch.zeros(frames, len(keyframes), dtype=torch.float64)
    for f in range(frames):
        if f <= keyframes[0]:
            weights[f, 0] = 1.0
        elif f >= keyframes[-1]:
            weights[f, -1] = 1.0
        else:
            k = max(i for i, kf in enumerate(keyframes) if kf <= f)
            t = (f - keyframes[k]) / (keyframes[k + 1] - keyframes[k])
            weights[f, k], weights[f, k + 1] = 1.0 - t, t
    return weights


def travel_conditioning(clip, text: str, frames: int, past_last_frame: str = "error") -> list:
    keyframes = parse_keyframes(text, frames, past_last_frame)
    encoded = [clip.encode_from_tokens(clip.tokenize(prompt), return_pooled=True) for _, prompt in keyframes]
    lengths = {cond.shape[1] for cond, _ in encoded}
    if len(lengths) > 1:
        raise MotionModuleError(
            "prompt travel: the prompts encode to different lengths (over 75 tokens makes a second chunk). "
            "Keep every keyframe's prompt under 75 tokens, or all of them over.")
    weights = interpolation_weights([f for f, _ in keyframes], frames)
    conds = torch.cat([c for c, _ in encoded])                # [K, tokens, dim]
    pooled = torch.cat([p for _, p in encoded])               # [K, dim]
    w = weights.to(conds.dtype)
    per_frame = torch.einsum("fk,ktd->ftd", w, conds)
    per_frame_pooled = w @ pooled
    return [[per_frame, {"pooled_output": per_frame_pooled}]]
