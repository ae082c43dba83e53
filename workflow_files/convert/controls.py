"""Advanced-ControlNet's ControlNet controls onto ControlNet Weights / Keyframe / Controls (Lightning).

- **Weights** (``ACN_ScaledSoftControlNetWeights``, the SD1.5 soft / custom weights, ``ACN_DefaultUniversalWeights``
  and the deprecated ones) become ControlNet Weights (Lightning): base_multiplier, uncond_multiplier, or the 12 + 1
  block weights as one ``block_weights`` text. Their TK_SHORTCUT output (a keyframe group of one keyframe at 0 with
  those weights) becomes a ControlNet Keyframe (Lightning) with the weights linked.
- **Timestep keyframes** (``TimestepKeyframe``) become ControlNet Keyframe (Lightning), one for one, chained as saved:
  both packs add each keyframe to the chain it is given and sort by start_percent, equal starts in the order added.
- **Latent keyframes** have no node of their own: a chain of them becomes the ``frames`` text of the keyframe or
  Controls node it feeds (``frames``).
- **Loaders** (``ACN_ControlNetLoaderAdvanced``, ``ControlNetLoaderAdvanced``) become core Load ControlNet Model, the
  diff ones (``ACN_DiffControlNetLoaderAdvanced``, ``DiffControlNetLoaderAdvanced``) core Load ControlNet Model (diff)
  on the same model; with timestep keyframes, followed by ControlNet Controls (Lightning) carrying them.
- **Applies** (``ACN_AdvancedControlNetApply[_v2]``) become core Apply ControlNet; with timestep_kf /
  latent_kf_override / weights_override / mask_optional their control_net goes through a ControlNet Controls
  (Lightning) of their own. Controls replace all the controls a CONTROL_NET had, so a loader's keyframes are carried
  into the apply's Controls unless the apply has its own (Advanced-ControlNet's apply replaces them too).

Weights and keyframes convert each on their own, but only when every node they feed and are fed by converts too
(``requires`` / ``feeds``, settled by ``motion.settle``). A latent keyframe converts as part of the one node it feeds.
"""
from __future__ import annotations

import math

from . import motion
from .frames import latent_frames
from .graph import Node
from .parts import Emitted, Plan
from .settings import _no_counterpart
from .table import absent_types, mapping
from .values import Refuse

KEYFRAME, WEIGHTS, LOADER, SPARSECTRL = "acn_keyframe", "acn_weights", "acn_loader", "acn_sparsectrl"
MAX_GUARANTEE = 10_000  # ControlNet Keyframe (Lightning)'s guarantee_steps maximum: longer than any run


def _kind(conv, node: Node | None) -> str | None:
    return None if node is None else conv.table.get(node.type, {}).get("kind")


def _source_slot(conv, node: Node, name: str) -> tuple[Node, int] | None:
    """(node, output slot) feeding ``node``'s ``name``, through Reroutes."""
    link, seen = node.links.get(name), set()
    while link is not None:
        src = conv.nodes[link[0]]
        if src.type != motion.REROUTE or src.id in seen:
            return src, link[1]
        seen.add(src.id)
        link = next(iter(src.links.values()), None)
    return None


def _require(conv, node: Node, name: str, want: str, plan: Plan) -> tuple:
    """The ref of ``node``'s ``name`` (keyframes or weights), whose source must be a node converted to that; the
    plan holds only when it converts."""
    src, slot = _source_slot(conv, node, name) or (None, 0)
    if src is None:
        raise Refuse(f"its {name} comes from the subgraph's boundary or nothing; it has no counterpart")
    kind = _kind(conv, src)
    ok = kind == KEYFRAME or kind == WEIGHTS and slot == 1 if want == "keyframes" else kind == WEIGHTS and slot == 0
    if not ok:
        raise Refuse(f"its {name} comes from {_no_counterpart(src) if kind is None else f'node {src.id} ({src.type}), output {slot}, which has no {want} counterpart'}")
    plan.requires.add(src.id)
    return ("old", *node.links[name])


def _feeds(conv, node: Node, slots: int, plan: Plan):
    """Every node ``node``'s outputs feed must convert too (a ControlNet Keyframe feeds nothing foreign)."""
    for slot in range(slots):
        for consumer in motion.consumers(conv, node.id, slot):
            if consumer.type not in conv.table:
                raise Refuse(f"it feeds {motion._where(consumer)}, which has no counterpart")
            plan.feeds.add(consumer.id)


def _defaults(target: str) -> dict:
    return dict(mapping()["targets"][target].get("defaults", {}))


# --------------------------------------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------------------------------------
def plan_weights(conv, node: Node, entry: dict, named: dict, plan: Plan):
    conv.refuse_linked(node, entry)
    linked = conv.linked_inputs(node, entry, named)
    blocks, flip = entry.get("block_weights", []), entry.get("flip_weights")
    for name in blocks:
        if name in linked:
            raise Refuse(f"{name} comes from another node; the block weights become one block_weights text, so make "
                         "it a widget first")
    rules = entry["widgets"]
    conv.refuse_unaccounted(node, {r["from"] for r in rules.values() if "from" in r} | set(blocks) | {flip})
    values, links = conv.target_widgets("ADL_ControlNetWeights", rules, named, linked, plan.notes)
    if blocks:
        weights = []
        for name, default in zip(blocks, entry["block_defaults"]):
            value = named.get(name, default)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise Refuse(f"{name} {value!r} is not a weight of 0 or more")
            weights.append(repr(float(value)))
        values["block_weights"] = ", ".join(weights)
    if flip and (flip in linked or named.get(flip)):
        plan.notes.append(f"{flip} dropped: Advanced-ControlNet has not used it since badf1d3 2023-11-28")
    inputs = {k: ("old", *node.links[v]) for k, v in links.items()}
    _feeds(conv, node, 2, plan)
    plan.emitted.append(Emitted(node.id, "ADL_ControlNetWeights", values, inputs, node))
    plan.claimed.add(node.id)
    if conv.consumers.get((node.id, 0)):
        plan.redirects[(node.id, 0)] = ("new", node.id, 0)
    if conv.consumers.get((node.id, 1)):  # TK_SHORTCUT: one keyframe at 0 with these weights (guarantee 1, as ACN's)
        kf = conv.new_id()
        plan.emitted.append(Emitted(kf, "ADL_ControlNetKeyframe", _defaults("ADL_ControlNetKeyframe"),
                                    {"weights": ("new", node.id, 0)}, node, new=True, offset=(0, 170)))
        plan.redirects[(node.id, 1)] = ("new", kf, 0)
        plan.notes.append("TK_SHORTCUT became a ControlNet Keyframe (Lightning) at 0 with these weights")


# --------------------------------------------------------------------------------------------------------
# Timestep keyframes
# --------------------------------------------------------------------------------------------------------
def plan_keyframe(conv, node: Node, entry: dict, named: dict, plan: Plan):
    conv.refuse_linked(node, entry)
    linked = conv.linked_inputs(node, entry, named)
    rules = entry["widgets"]
    conv.refuse_unaccounted(node, set(entry["inputs"]) | set(entry["latent_inputs"])
                            | {r["from"] for r in rules.values() if "from" in r})
    if plan.version.startswith("354a8ce"):
        plan.notes.append(entry["old_note"])
    named = dict(named)
    if "guarantee_steps" not in named and "guarantee_usage" in named:  # as Advanced-ControlNet reads the old toggle
        named["guarantee_steps"] = int(bool(named["guarantee_usage"]))
        plan.notes.append(f"guarantee_usage {'on' if named['guarantee_usage'] else 'off'} became guarantee_steps "
                          f"{named['guarantee_steps']}, as Advanced-ControlNet reads it")
    values, links = conv.target_widgets("ADL_ControlNetKeyframe", rules, named, linked, plan.notes)
    steps = values["guarantee_steps"]
    if not isinstance(steps, tuple):
        if isinstance(steps, bool) or not isinstance(steps, (int, float)) or not float(steps).is_integer():
            raise Refuse(f"guarantee_steps {steps!r} is not a whole number")
        if steps > MAX_GUARANTEE:
            plan.notes.append(f"guarantee_steps {steps} became {MAX_GUARANTEE}, the most ControlNet Keyframe "
                              "(Lightning) takes (more steps than any run)")
        values["guarantee_steps"] = min(int(steps), MAX_GUARANTEE)
    inputs = {k: ("old", *node.links[v]) for k, v in links.items()}
    for foreign, target in entry["inputs"].items():
        if foreign not in node.links:
            continue
        if target in inputs:
            raise Refuse(f"both {foreign} and the input it was renamed from or to are connected")
        if target == "mask":
            inputs[target] = ("old", *node.links[foreign])
        else:
            inputs[target] = _require(conv, node, foreign, "keyframes" if target == "previous" else "weights", plan)
    for name in entry["latent_inputs"]:
        frames = latent_frames(conv, node, name, plan)
        if frames is not None:
            values["frames"] = frames
    _feeds(conv, node, 1, plan)
    plan.emitted.append(Emitted(node.id, "ADL_ControlNetKeyframe", values, inputs, node))
    plan.claimed.add(node.id)
    if conv.consumers.get((node.id, 0)):
        plan.redirects[(node.id, 0)] = ("new", node.id, 0)


# --------------------------------------------------------------------------------------------------------
# Loaders and applies
# --------------------------------------------------------------------------------------------------------
def _loader_tk(node: Node, entry: dict) -> str | None:
    linked = [n for n in entry.get("tk_inputs", []) if n in node.links]
    if len(linked) > 1:
        raise Refuse(f"both {linked[0]} and {linked[1]} are connected (the same input under two names)")
    return linked[0] if linked else None


def loader_controls(conv, node: Node, entry: dict, out: tuple, plan: Plan, offset=(0, 130)) -> tuple:
    """``out`` (the loaded CONTROL_NET) through a ControlNet Controls (Lightning) carrying the loader's timestep
    keyframes (its ``tk_inputs``), or ``out`` itself when none are connected."""
    tk = _loader_tk(node, entry)
    if tk is None:
        return out
    controls = conv.new_id()
    plan.emitted.append(Emitted(controls, "ADL_ControlNetControls", _defaults("ADL_ControlNetControls"),
                                {"control_net": out, "keyframes": _require(conv, node, tk, "keyframes", plan)},
                                node, new=True, offset=offset))
    plan.notes.append(f"its {tk} (timestep keyframes) went onto ControlNet Controls (Lightning) after it")
    return ("new", controls, 0)


def plan_loader(conv, node: Node, entry: dict, named: dict, plan: Plan):
    """Load ControlNet Model (core ``ControlNetLoader``, or ``DiffControlNetLoader`` with the diff loaders' model)."""
    conv.refuse_linked(node, entry)
    target = entry["target"]
    linked = conv.linked_inputs(node, entry, named)
    values, links = conv.target_widgets(target, entry["widgets"], named, linked, plan.notes)
    sockets = entry.get("inputs", {})
    conv.refuse_unaccounted(node, set(entry.get("tk_inputs", [])) | set(links.values()) | set(sockets))
    inputs = {k: ("old", *node.links[v]) for k, v in links.items()}
    inputs.update({t: ("old", *node.links[f]) for f, t in sockets.items() if f in node.links})
    for foreign, name in sockets.items():
        if foreign not in node.links:
            plan.notes.append(f"its {foreign} is not connected; the converted node needs it as much as the original "
                              f"did: connect one to its {name}")
    plan.emitted.append(Emitted(node.id, target, values, inputs, node))
    plan.claimed.add(node.id)
    out = loader_controls(conv, node, entry, ("new", node.id, 0), plan)
    if conv.consumers.get((node.id, 0)):
        plan.redirects[(node.id, 0)] = out


def controls_for(conv, node: Node, entry: dict, control_ref: tuple, plan: Plan) -> tuple:
    """``control_ref`` through a new ControlNet Controls (Lightning) with the apply's timestep_kf /
    latent_kf_override / weights_override / mask_optional (``entry["controls"]``); ``control_ref`` itself when none
    is connected."""
    spec = entry["controls"]
    values, inputs = _defaults("ADL_ControlNetControls"), {}
    for foreign, target in spec.items():
        if foreign not in node.links:
            continue
        if target == "frames":
            values["frames"] = latent_frames(conv, node, foreign, plan)
        elif target == "mask":
            inputs["mask"] = ("old", *node.links[foreign])
        else:
            inputs[target] = _require(conv, node, foreign, target, plan)
    if not inputs and "latent_kf_override" not in node.links:
        return control_ref
    loader = motion.source(conv, node, "control_net")
    if loader is not None and _kind(conv, loader) in (LOADER, SPARSECTRL):
        plan.requires.add(loader.id)
        tk = _loader_tk(loader, conv.table[loader.type])
        if tk is not None and "keyframes" in inputs:
            plan.notes.append(f"its timestep_kf replaces the keyframes of loader node {loader.id}, as in "
                              "Advanced-ControlNet")
        elif tk is not None:
            inputs["keyframes"] = ("old", *loader.links[tk])
            plan.notes.append(f"the timestep keyframes of loader node {loader.id} are on its ControlNet Controls "
                              "(Lightning) too (Controls replace all the controls a ControlNet had)")
    elif loader is not None and loader.type in absent_types():
        raise Refuse(f"its control_net comes from {_no_counterpart(loader)}; ControlNet Controls (Lightning) takes "
                     "the ControlNets that core's and this pack's loaders load")
    controls = conv.new_id()
    inputs["control_net"] = control_ref
    plan.emitted.append(Emitted(controls, "ADL_ControlNetControls", values, inputs, node, new=True,
                                offset=(-360, 40)))
    return ("new", controls, 0)


def plan_apply(conv, node: Node, entry: dict, named: dict, plan: Plan):
    conv.refuse_linked(node, entry)
    conv.refuse_sources(node, entry)
    linked = conv.linked_inputs(node, entry, named)
    values, links = conv.target_widgets("ControlNetApplyAdvanced", entry["widgets"], named, linked, plan.notes)
    conv.refuse_unaccounted(node, set(entry["inputs"]) | set(links.values()) | set(entry["controls"])
                            | set(entry.get("outputs_passthrough", {}).values()))
    inputs = {t: ("old", *node.links[f]) for f, t in entry["inputs"].items() if f in node.links}
    inputs.update({k: ("old", *node.links[v]) for k, v in links.items()})
    if any(name in node.links for name in entry["controls"]):
        if "control_net" not in inputs:
            raise Refuse("its control_net is not connected")
        inputs["control_net"] = controls_for(conv, node, entry, inputs["control_net"], plan)
    conv.redirect_outputs(node, entry, plan, 4)
    plan.emitted.append(Emitted(node.id, "ControlNetApplyAdvanced", values, inputs, node))
    plan.claimed.add(node.id)
