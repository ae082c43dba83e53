"""AnimateDiff-Evolved's custom CFG and sigma schedules, converted with the sample settings they feed
(``settings.sample_settings``).

- **Custom CFG** (custom_cfg ← ``ADE_CustomCFG[Simple]`` / ``ADE_CustomCFGKeyframe[Simple]`` ← prev_custom_cfg ← …)
  becomes a chain of CFG Keyframe (Lightning) on Sample Settings' custom_cfg. ADE adds each node's keyframe to the
  group it is given (the first of the chain first) and sorts the group by start_percent, equal starts keeping the
  order they were added in; CFG Keyframe (Lightning) takes its keyframes earliest first and refuses them out of
  order, so the chain is written in ADE's sorted order. A multival's cfg (cfg_multival) becomes cfg 1 × the Motion
  Value (Lightning) the multival converts to (on value).
- **Sigma schedules**: ``ADE_SigmaSchedule`` becomes Sigma Schedule (Lightning). A weighted mean of schedule_A and
  schedule_B (``ADE_SigmaScheduleWeightedAverage[Interp]``: A·w + B·(1 − w), w from weight_A_Start at the largest σ
  to weight_A_End) has no node of its own: it becomes blend_with on A's node, whose weight_start / weight_end are
  ADE's weight_A_Start / weight_A_End (glue/schedules.py reverses them onto core's ascending σ as ADE does). When A is
  itself a mean, it goes onto B's node with blend_with A and the weights 1 − w: every interpolation this pack has is
  start + (end − start)·f(position), so 1 − w is the same curve from 1 − start to 1 − end. A mean of two means has
  no counterpart.

Each node of these converts only as part of the sample settings it ends in, and only when it feeds nothing else."""
from __future__ import annotations

from dataclasses import dataclass

from . import motion
from .graph import Node
from .parts import Emitted, Plan, absorb
from .settings import _chain, _no_counterpart, _part, _refs, _rule_sources, _shared
from .values import Refuse, recognise

SCHEDULE, BLEND = "ad_sigma_schedule", "ad_sigma_blend"


# --------------------------------------------------------------------------------------------------------
# Custom CFG → CFG Keyframe (Lightning) chain
# --------------------------------------------------------------------------------------------------------
@dataclass
class _Keyframe:
    node: Node
    values: dict
    inputs: dict
    notes: list
    version: str


def custom_cfg(conv, settings: Node, plan: Plan, notes: list) -> tuple | None:
    """The custom CFG on ``settings`` as CFG Keyframe (Lightning) nodes in start_percent order; a ref to the last,
    or None."""
    chain = _chain(conv, settings, "custom_cfg", "prev_custom_cfg", "ad_custom_cfg", "custom CFG")
    if not chain:
        return None
    added = chain[::-1]  # the order ADE adds the keyframes in: the first of the chain (no prev_custom_cfg) first
    keyframes = [_part(conv, node, "custom CFG", lambda node=node: _keyframe(conv, node, plan, len(chain) > 1))
                 for node in added]
    ordered = sorted(keyframes, key=lambda k: k.values["start_percent"])  # stable, as ADE's sort
    ref = None
    for k in ordered:
        inputs = dict(k.inputs)
        if ref is not None:
            inputs["previous"] = ref
        plan.emitted.append(Emitted(k.node.id, "ADL_CFGKeyframe", k.values, inputs, k.node))
        absorb(plan, k.node, "custom CFG", k.notes, k.version)
        ref = ("new", k.node.id, 0)
    if [k.node.id for k in ordered] != [k.node.id for k in keyframes]:
        notes.append("custom CFG keyframes reordered: AnimateDiff-Evolved sorts its keyframes by start_percent (equal "
                     "starts in the order added, the first of the chain first); CFG Keyframe (Lightning) takes them "
                     "earliest first, so they are chained " + " → ".join(
                         f"{k.node.id} ({k.values['start_percent']})" for k in ordered)
                     + " (was " + " → ".join(str(k.node.id) for k in keyframes) + ")")
    return ref


def _keyframe(conv, node: Node, plan: Plan, several: bool) -> _Keyframe:
    entry = conv.table[node.type]
    conv.refuse_linked(node, entry)
    named, version = recognise(node, entry)
    linked = conv.linked_inputs(node, entry, named) - {"autosize"}
    multival = entry.get("multival")
    conv.refuse_unaccounted(node, {"prev_custom_cfg"} | ({multival} if multival else set())
                            | _rule_sources(entry["widgets"]))
    notes = []
    values, links = conv.target_widgets("ADL_CFGKeyframe", entry["widgets"], named, linked, notes)
    if several and "start_percent" in links:
        raise Refuse("start_percent comes from another node: AnimateDiff-Evolved orders its keyframes by start_percent "
                     "when it runs, CFG Keyframe (Lightning) takes them in the order they are chained, and that order "
                     "cannot be known here; make it a widget first")
    inputs = _refs(node, links)
    if multival:
        src = motion.source(conv, node, multival)
        if src is None:
            raise Refuse(f"its {multival} is not connected (AnimateDiff-Evolved does not run it without one)")
        target = conv.table.get(src.type, {}).get("target")
        if target != "ADL_MotionValue":
            raise Refuse(f"its {multival} comes from {_no_counterpart(src)}")
        plan.requires.add(src.id)
        inputs["value"] = ("old", *node.links[multival])
        notes.append(f"its {multival} (node {src.id}) is the CFG Keyframe's value: cfg 1 × that Motion Value")
    return _Keyframe(node, values, inputs, notes, version)


# --------------------------------------------------------------------------------------------------------
# Sigma schedules → Sigma Schedule (Lightning), a weighted mean onto blend_with
# --------------------------------------------------------------------------------------------------------
def sigma_schedule(conv, settings: Node, plan: Plan) -> tuple | None:
    """The sigma schedule on ``settings`` as Sigma Schedule (Lightning) nodes; a ref to the one Sample Settings
    takes, or None."""
    if "sigma_schedule" not in settings.links:
        return None
    return _schedule(conv, settings, "sigma_schedule", plan, top=True)


def _fed(conv, consumer: Node, input_name: str, top: bool) -> tuple[Node, dict]:
    """The sigma schedule node on ``consumer``'s ``input_name`` and its entry, checked to feed nothing else."""
    node = conv.nodes[consumer.links[input_name][0]]
    entry = conv.table.get(node.type)
    where = "its" if top else f"sigma schedule mean node {consumer.id}'s"
    if entry is None or entry["kind"] not in (SCHEDULE, BLEND):
        raise Refuse(f"{where} {input_name} comes from {_no_counterpart(node)}")
    others = conv.outside_consumers(node.id, 0, {consumer.id})
    if others:
        conv.part_refused[node.id] = _shared([consumer.id, *(c for c, _n in others)], "sigma schedule")
        raise Refuse(f"its sigma schedule node {node.id} also feeds other nodes; give each its own")
    return node, entry


def _schedule(conv, consumer: Node, input_name: str, plan: Plan, top: bool = False) -> tuple:
    node, entry = _fed(conv, consumer, input_name, top)
    if entry["kind"] == SCHEDULE:
        return _part(conv, node, "sigma schedule", lambda: _plain(conv, node, entry, plan))
    return _part(conv, node, "sigma schedule mean", lambda: _blend(conv, node, entry, plan))


def _plain(conv, node: Node, entry: dict, plan: Plan, blend: tuple | None = None, weights: dict | None = None,
           weight_refs: dict | None = None) -> tuple:
    named, version = recognise(node, entry)
    linked = conv.linked_inputs(node, entry, named) - {"autosize"}
    conv.refuse_unaccounted(node, _rule_sources(entry["widgets"]))
    notes = []
    values, links = conv.target_widgets("ADL_SigmaSchedule", entry["widgets"], named, linked, notes)
    inputs = _refs(node, links)
    if blend is not None:
        inputs["blend_with"] = blend
        values.update(weights)
        inputs.update(weight_refs or {})
    plan.emitted.append(Emitted(node.id, "ADL_SigmaSchedule", values, inputs, node))
    absorb(plan, node, "sigma schedule", notes, version)
    return ("new", node.id, 0)


def _blend(conv, node: Node, entry: dict, plan: Plan) -> tuple:
    named, version = recognise(node, entry)
    linked = conv.linked_inputs(node, entry, named) - {"autosize"}
    conv.refuse_unaccounted(node, {"schedule_A", "schedule_B"} | _rule_sources(entry["widgets"]))
    for name in ("schedule_A", "schedule_B"):
        if name not in node.links:
            raise Refuse(f"its {name} is not connected (AnimateDiff-Evolved does not run it without one)")
    notes = []
    values, links = conv.target_widgets("ADL_SigmaSchedule", entry["widgets"], named, linked, notes)
    weights = {k: values[k] for k in ("weight_start", "weight_end", "interpolation")}
    refs = _refs(node, links)
    if node.links["schedule_A"] == node.links["schedule_B"]:
        notes.append("schedule_A and schedule_B are the same schedule: its mean with itself is that schedule "
                     "(S·w + S·(1 − w) = S), so the mean node goes")
        ref = _schedule(conv, node, "schedule_A", plan)
        return _gone(plan, node, notes, version, ref)
    a_kind, b_kind = (conv.table.get(conv.nodes[node.links[n][0]].type, {}).get("kind") for n in ("schedule_A", "schedule_B"))
    if a_kind == SCHEDULE:
        own_input, other_input, said = "schedule_A", "schedule_B", "schedule_A"
    elif b_kind == SCHEDULE:  # A is a mean itself: B's node blends with A, weights 1 − w
        own_input, other_input = "schedule_B", "schedule_A"
        if links:
            raise Refuse(f"{', '.join(sorted(set(links.values())))} comes from another node: with schedule_A a mean "
                         "itself, the mean is written on schedule_B's Sigma Schedule (Lightning) with the weights "
                         "1 − weight_A, which a link cannot carry; make it a widget first")
        weights = dict(weights, weight_start=round(1.0 - weights["weight_start"], 10),
                       weight_end=round(1.0 - weights["weight_end"], 10))
        said = "schedule_B (schedule_A is a mean itself), with the weights 1 − weight_A"
    elif a_kind == BLEND and b_kind == BLEND:
        raise Refuse("schedule_A and schedule_B are both weighted means themselves: a mean of two means has no "
                     "counterpart (Sigma Schedule (Lightning) blends its own beta schedule with one other schedule)")
    else:  # one of them has no counterpart: say which
        _fed(conv, node, "schedule_A" if a_kind not in (SCHEDULE, BLEND) else "schedule_B", False)
        raise Refuse("one of its schedules has no counterpart")  # not reached: _fed says which
    own, own_entry = _fed(conv, node, own_input, False)
    other = _schedule(conv, node, other_input, plan)
    shown = ", ".join(f"{k} (linked)" if k in links else f"{k} {weights[k]}" for k in ("weight_start", "weight_end")) \
        + f", {weights['interpolation']}"
    ref = _part(conv, own, "sigma schedule", lambda: _plain(conv, own, own_entry, plan, other, weights, refs))
    notes.append(f"the weighted mean became blend_with (node {node.links[other_input][0]}'s schedule) on {said}: node "
                 f"{own.id}'s Sigma Schedule (Lightning) ({shown})")
    return _gone(plan, node, notes, version, ref)


def _gone(plan: Plan, node: Node, notes: list, version: str, ref: tuple) -> tuple:
    plan.redirects[(node.id, 0)] = ref
    absorb(plan, node, "sigma schedule mean", notes, version)
    return ref
