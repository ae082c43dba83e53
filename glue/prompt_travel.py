"""Prompt travel: keyframed prompts ("0: …", "48: …") → per-frame conditioning, interpolated between keyframes.

FizzNodes' schedule text ('"0": "a cat", "48": "a dog"') is read too, as FizzNodes reads it, so a converted graph
whose schedule comes over a link from another node still runs; pre_text / app_text go around every keyframe's prompt.

The result is one CONDITIONING entry whose tensors have a batch of `frames`; context windows slice it per
window (glue/context.py), and without windows ComfyUI pairs conditioning i with latent frame i."""
from __future__ import annotations

import json
import re

import torch

from ..motion_modules import MotionModuleError

_KEYFRAME = re.compile(r"^\s*(\d+)\s*:\s*(.*)$")
PAST_LAST_FRAME = ("error", "leave out")  # widget values: append only


def around(pre_text: str, prompt: str, app_text: str) -> str:
    """A keyframe's prompt with pre_text before it and app_text after it, a space between (as FizzNodes joins them;
    CLIP's tokenizer drops the extra spaces where one is empty)."""
    return " ".join(part for part in (pre_text.strip(), prompt.strip(), app_text.strip()) if part)


def is_fizz_schedule(text: str) -> bool:
    """FizzNodes' schedule form starts with a quoted frame number; this pack's form with a bare one."""
    return text.lstrip().startswith('"')


def _fizz_lines(text: str) -> str:
    """FizzNodes' schedule ('"0": "a cat",\\n"48": "a dog"') as 'FRAME: prompt' lines, read as FizzNodes reads it
    (wrapped in braces, a trailing comma dropped, JSON); keyframes sorted by frame."""
    body = re.sub(r",\s*$", "", text.strip())
    try:
        schedule = json.loads("{" + body + "}", strict=False)  # a line break inside a prompt: a space (below)
    except ValueError as e:
        raise MotionModuleError(f"prompt travel: the text reads as a FizzNodes schedule ('\"FRAME\": \"prompt\",' per "
                                f"keyframe) but is not one ({e}). Fix the quotes and commas, or write 'FRAME: prompt' "
                                "lines.") from None
    rows = []
    for key, prompt in schedule.items():
        if not re.fullmatch(r"\s*\d+\s*", str(key)):
            raise MotionModuleError(f"prompt travel: keyframe {key!r} is an expression; only frame numbers are read "
                                    "(FizzNodes' frame expressions have no counterpart here).")
        rows.append((int(key), " ".join(str(prompt).splitlines())))
    return "\n".join(f"{frame}: {prompt}" for frame, prompt in sorted(rows))


def parse_keyframes(text: str, frames: int, past_last_frame: str = "error", pre_text: str = "",
                    app_text: str = "") -> list[tuple[int, str]]:
    """``"0: a cat\\n48: a dog"`` → [(0, "a cat"), (48, "a dog")]. A line without ``N:`` continues the prompt above.
    A keyframe at or past ``frames`` is an error, or with ``past_last_frame`` "leave out" is skipped (with the
    lines continuing it), as FizzNodes' schedules skip keyframes past max_frames. FizzNodes' form is read too;
    pre_text / app_text go before / after every prompt."""
    if past_last_frame not in PAST_LAST_FRAME:
        raise MotionModuleError(f"prompt travel: past_last_frame must be one of {', '.join(PAST_LAST_FRAME)} "
                                f"(got '{past_last_frame}').")
    fizz = is_fizz_schedule(text)
    for name, part in (("text", text if fizz else ""), ("pre_text", pre_text), ("app_text", app_text)):
        if "`" in part or "--neg" in part:
            raise MotionModuleError(
                f"prompt travel: {name} has {'`expressions`' if '`' in part else 'a --neg part'} (FizzNodes' "
                f"{'animated weights' if '`' in part else 'negative prompt per keyframe'}), which this node does not "
                "run. Remove it; put negatives in a CLIP Text Encode on the sampler's negative.")
    if fizz:
        text = _fizz_lines(text)
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
    return [(frame, around(pre_text, prompt, app_text)) for frame, prompt in keyframes]


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


def travel_conditioning(clip, text: str, frames: int, past_last_frame: str = "error", pre_text: str = "",
                        app_text: str = "") -> list:
    keyframes = parse_keyframes(text, frames, past_last_frame, pre_text, app_text)
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
