"""Advanced-ControlNet's latent keyframes (``LatentKeyframe``, ``LatentKeyframeGroup``, ``LatentKeyframeTiming``) as the
frames text of ControlNet Keyframe / Controls (Lightning). They have no node of their own: a chain of them is worked
out as Advanced-ControlNet builds its group (one strength per batch index; LatentKeyframe replaces prev's on its
index, a group or timing node is replaced by prev's) and written as slices ``a:b=s`` in batch-index order (a run to the last frame ending in ``-1=s``), so that an
index past the video is skipped as Advanced-ControlNet skips it (a single frame outside the video is an error in
this pack's text), negative indexes count from the end in both, and a later entry wins on the same frame as the
later keyframe does there. An empty group makes every frame the keyframe's other_frames: ``0:0``, an empty slice.
A latent keyframe converts as part of the one node it feeds, or not at all."""
from __future__ import annotations

import math

from . import motion
from .graph import Node
from .parts import Plan, absorb
from .settings import _no_counterpart
from .values import Refuse, recognise

LATENT = "acn_latent"
MAX_INDEXES = 100_000   # a latent keyframe range larger than this is refused rather than expanded
INTERPOLATIONS = ("linear", "ease-in", "ease-out", "ease-in-out")


def latent_frames(conv, consumer: Node, name: str, plan: Plan) -> str | None:
    """The latent keyframe chain on ``consumer``'s ``name`` as a frames text (its nodes absorbed); None when the
    input is not connected."""
    if name not in consumer.links:
        return None
    return frames_text(_group(conv, consumer, name, plan, "its"))


def _group(conv, consumer: Node, name: str, plan: Plan, where: str) -> dict:
    src = motion.source(conv, consumer, name)
    if src is None or conv.table.get(src.type, {}).get("kind") != LATENT:
        raise Refuse(f"{where} {name} comes from " + ("nothing" if src is None else _no_counterpart(src)))
    users = sorted({c.id for c in motion.consumers(conv, src.id, 0)})
    if users != [consumer.id]:
        conv.part_refused[src.id] = (f"it feeds several nodes ({', '.join(map(str, users))}) and converts only as "
                                     "part of one: give each its own")
        raise Refuse(f"its latent keyframe node {src.id} also feeds other nodes; give each its own")
    notes: list = []
    try:
        group, version = _latent(conv, src, conv.table[src.type], notes, plan)
    except Refuse as e:
        conv.part_refused[src.id] = str(e)
        raise Refuse(f"its latent keyframe node {src.id}: {e}") from None
    absorb(plan, src, "latent keyframe", notes, version)
    return group


def _latent(conv, node: Node, entry: dict, notes: list, plan: Plan) -> tuple[dict, str]:
    """Advanced-ControlNet's group of ``node``: batch index → strength."""
    named, version = recognise(node, entry)
    prev = next((n for n in entry["prev"] if n in node.links), None)
    latent = next((n for n in entry.get("latent", []) if n in node.links), None)
    widgets = {w for v in entry["versions"] for w, _k in v["widgets"]} - {"autosize", "print_keyframes"}
    for name in sorted(widgets & set(node.links)):
        raise Refuse(f"{name} comes from another node; the latent keyframes become one frames text, so make it a "
                     "widget first")
    conv.refuse_unaccounted(node, set(entry["prev"]) | set(entry.get("latent", [])) | {"print_keyframes"})
    if named.get("print_keyframes"):
        notes.append("print_keyframes dropped (it only logged the keyframes)")
    if node.type == "LatentKeyframe":
        own = {_int(named.get("batch_index", 0), "batch_index"): _strength(named.get("strength", 1.0), "strength")}
    elif node.type == "LatentKeyframeGroup":
        own = _parse_group(named.get("index_strengths", ""), latent is not None)
        if latent is not None:
            notes.append(f"{latent} dropped: Advanced-ControlNet only checked the indexes against its frames (and "
                         "ended ranges at its last frame); here they are checked against the video sampled")
    else:
        own = _timing(named)
    before = _group(conv, node, prev, plan, f"latent keyframe node {node.id}'s") if prev else {}
    if node.type == "LatentKeyframe":  # the new keyframe replaces prev's on its index
        return {**before, **own}, version
    return {**own, **before}, version  # the group's own first; prev's replace them on the same index


def _int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
        raise Refuse(f"{what} {value!r} is not a whole number")
    return int(value)


def _strength(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise Refuse(f"{what} {value!r} is not a number")
    if value < 0:
        raise Refuse(f"{what} {value} is negative; frame strengths are 0 or more")
    return float(value)


def _parse_group(text, latent: bool) -> dict:
    """index_strengths as Advanced-ControlNet reads it: comma-separated "i", "a:b", either with "=s"; without
    latent_optional a range is range(a, b) and a single index must not be negative."""
    if not isinstance(text, str):
        raise Refuse(f"index_strengths {text!r} is not text")
    if not text:
        return {}
    out: dict = {}
    for part in (g.strip() for g in text.split(",")):
        where, strength = part, 1.0
        if "=" in part:
            where, value = part.split("=", 1)
            where = where.strip()
            try:
                strength = float(value.strip())
            except ValueError:
                raise Refuse(f"index_strengths {text!r}: strength {value.strip()!r} is not a number (Advanced-"
                             "ControlNet fails on it)") from None
            strength = _strength(strength, f"index_strengths {text!r}: strength")
        try:
            if ":" in where:
                a, b = (int(s.strip()) for s in where.split(":", 1))
                indexes = range(a, b)
                negative = a < 0 or b < 0
            else:
                indexes = [int(where)]
                negative = indexes[0] < 0
                if negative and not latent:
                    raise Refuse(f"index_strengths {text!r}: index {indexes[0]} is negative without latent_optional, "
                                 "which Advanced-ControlNet refuses (IndexError)")
        except ValueError:
            raise Refuse(f"index_strengths {text!r}: {where!r} is not an index or an a:b range (Advanced-ControlNet "
                         "fails on it)") from None
        if negative and latent:
            raise Refuse(f"index_strengths {text!r}: {where!r} counts from the end of latent_optional's frames, which "
                         "is known only when it runs; write frame numbers, or disconnect latent_optional")
        if len(indexes) > MAX_INDEXES:
            raise Refuse(f"index_strengths {text!r}: the range {where!r} holds {len(indexes)} indexes; more than the "
                         f"{MAX_INDEXES} this converter expands")
        for i in indexes:
            if out.get(i, strength) != strength:
                raise Refuse(f"index_strengths {text!r}: index {i} is given strengths {out[i]} and {strength}; "
                             "Advanced-ControlNet keeps one of them in no fixed order (they go through a set)")
            out[i] = strength
    return out


def _timing(named: dict) -> dict:
    """LatentKeyframeTiming's keyframes, the strengths computed as Advanced-ControlNet does (numpy, float64)."""
    a, b = _int(named.get("batch_index_from", 0), "batch_index_from"), _int(named.get("batch_index_to_excl", 0),
                                                                            "batch_index_to_excl")
    s_from = _strength(named.get("strength_from", 1.0), "strength_from")
    s_to = _strength(named.get("strength_to", 1.0), "strength_to")
    how = named.get("interpolation", "linear")
    if a > b:
        raise Refuse(f"batch_index_from {a} is past batch_index_to_excl {b} (Advanced-ControlNet fails on it)")
    if a < 0 <= b:
        raise Refuse(f"batch_index_from {a} is negative and batch_index_to_excl {b} is not (Advanced-ControlNet "
                     "fails on it)")
    if how not in INTERPOLATIONS:
        raise Refuse(f"interpolation {how!r} is not one Advanced-ControlNet has ({', '.join(INTERPOLATIONS)})")
    if b - a > MAX_INDEXES:
        raise Refuse(f"{b - a} indexes; more than the {MAX_INDEXES} this converter expands")
    try:
        import numpy as np
    except ImportError:
        raise Refuse("the strengths need numpy to be computed as Advanced-ControlNet does") from None
    steps, diff = b - a, s_to - s_from
    index = np.linspace(0, 1, steps)
    weights = {"linear": lambda: np.linspace(s_from, s_to, steps),
               "ease-in": lambda: diff * np.power(index, 2) + s_from,
               "ease-out": lambda: diff * (1 - np.power(1 - index, 2)) + s_from,
               "ease-in-out": lambda: diff * ((1 - np.cos(index * np.pi)) / 2) + s_from}[how]()
    return {a + i: float(weights[i]) for i in range(steps)}


def frames_text(group: dict) -> str:
    """``group`` (batch index → strength) as slices in batch-index order (Advanced-ControlNet applies them in that
    order, a later one winning on the same frame, as here); consecutive indexes with one strength share a slice."""
    if not group:
        return "0:0"
    runs: list = []
    for i, s in sorted(group.items()):
        if runs and runs[-1][1] == i - 1 and runs[-1][2] == s and (i < 0) == (runs[-1][0] < 0):
            runs[-1][1] = i
        else:
            runs.append([i, i, s])
    parts = []
    for a, b, s in runs:  # a run to the last frame (-1) ends in a single -1: "a:" would read as frame a alone
        if b == -1:
            parts += ([f"{a}:-1={s!r}"] if a < -1 else []) + [f"-1={s!r}"]
        else:
            parts.append(f"{a}:{b + 1}={s!r}")
    return ", ".join(parts)
