"""AnimateDiff-Evolved's extras and FizzNodes' latent-driven schedule: the deprecated combine node onto Save Video
(Lightning) (transform ``ade_combine``), the unload node (kind ``ad_unload``: it goes, its MODEL the model from before
AnimateDiff), the checkpoint loader with a beta schedule (kind ``ad_checkpoint``: core Load Checkpoint + Beta Schedule
(Lightning)), and the frame count of ``BatchPromptScheduleLatentInput`` taken from the empty latent it is fed
(``latent_frames``)."""
from __future__ import annotations

from . import motion
from .graph import Node
from .parts import Plan
from .values import TRANSFORMS, Refuse, translate_value

AD_MODEL_KINDS = ("ad_loader", "ad_sampling")  # nodes that put a motion module on their model input


# --------------------------------------------------------------------------------------------------------
# ADE_AnimateDiffCombine → Save Video (Lightning)
# --------------------------------------------------------------------------------------------------------
COMBINE_NAMES = {"images", "frame_rate", "loop_count", "filename_prefix", "format", "pingpong", "save_image",
                 "deprecation_warning"}
COMBINE_CRF = {"mp4": 19, "webm": 23}  # AnimateDiff-Evolved's h264-mp4 / webm format files


def _ade_combine(named: dict, values: dict, notes: list, linked: set):
    save = named.get("save_image", True)
    if save in (False, "Disabled"):
        notes.append("save_image was off (a temp preview only): Save Video (Lightning) always saves to the output folder")
    missing = [n for n in ("filename_prefix", "format") if n not in named and n not in linked]
    if missing:
        notes.append(f"{' and '.join(missing)} not in the file: AnimateDiff-Evolved's "
                     + ", ".join({"filename_prefix": "'AnimateDiff'", "format": "'image/gif'"}[n] for n in missing)
                     + " is used")
    unknown = sorted(n for n in named if n not in COMBINE_NAMES and n not in linked)
    if unknown:
        notes.append(f"{', '.join(unknown)}: not an input AnimateDiff Combine has had; dropped")
    if values.get("format") in COMBINE_CRF:
        values["crf"] = COMBINE_CRF[values["format"]]
    if values.get("fps") is not None and not isinstance(values["fps"], tuple):
        values["fps"] = float(values["fps"])


TRANSFORMS["ade_combine"] = _ade_combine


# --------------------------------------------------------------------------------------------------------
# CheckpointLoaderSimpleWithNoiseSelect → Load Checkpoint (+ Beta Schedule (Lightning))
# --------------------------------------------------------------------------------------------------------
def plan_checkpoint(conv, node: Node, entry: dict, named: dict, plan: Plan):
    """ADE's checkpoint loader puts the model on the chosen beta schedule ('use existing': the checkpoint's own);
    core Load Checkpoint loads the same three outputs and Beta Schedule (Lightning) sets the same noise levels."""
    from .vhs import Build

    linked = conv.linked_inputs(node, entry, named)
    for name in ("beta_schedule", "use_custom_scale_factor", "scale_factor"):
        if name in linked:
            raise Refuse(f"{name} comes from another node; make it a widget first (its value decides which nodes it "
                         "becomes)")
    conv.refuse_unaccounted(node, {"ckpt_name"} & linked)
    if named.get("use_custom_scale_factor"):
        raise Refuse(f"use_custom_scale_factor is on (scale_factor {named.get('scale_factor')}): a custom latent scale "
                     "factor has no counterpart")
    schedule = named.get("beta_schedule", "use existing")
    beta = None
    if schedule == "autoselect":
        raise Refuse("beta_schedule 'autoselect' picks a schedule by motion module, and a checkpoint loader has none; "
                     "choose a schedule")
    if schedule != "use existing":
        beta = translate_value({"from": "beta_schedule", "table": "ade_sigma_beta_schedule"}, schedule, plan.notes)
    b = Build(conv, node, plan)
    ckpt = ("old", *node.links["ckpt_name"]) if "ckpt_name" in linked else None
    ckpt_id = b.emit("CheckpointLoaderSimple", {} if ckpt else {"ckpt_name": named.get("ckpt_name")},
                     {"ckpt_name": ckpt} if ckpt else {})
    model_ref = ("new", ckpt_id, 0)
    if beta is not None and b.used(0):
        model_ref = ("new", b.emit("ADL_BetaSchedule", {"beta_schedule": beta}, {"model": model_ref}), 0)
        plan.notes.append(f"beta_schedule {schedule!r}: Beta Schedule (Lightning) {beta} on the MODEL (an AnimateDiff "
                          "loader after it with its own beta_schedule replaces it, in both packs)")
    b.out(0, model_ref)
    b.out(1, ("new", ckpt_id, 1))
    b.out(2, ("new", ckpt_id, 2))


# --------------------------------------------------------------------------------------------------------
# ADE_AnimateDiffUnload: the model without AnimateDiff
# --------------------------------------------------------------------------------------------------------
def plan_unload(conv, node: Node, entry: dict, plan: Plan):
    """AnimateDiff-Evolved's unload gives its model back without the motion module put on it. Directly after a loader
    (or Use Evolved Sampling) that is the loader's own model input; with no AnimateDiff node upstream, the model as it
    comes. Anything between (a LoRA on the animated model, say) is left for a person to rebuild."""
    conv.refuse_unaccounted(node, {"model"})
    if not conv.consumers.get((node.id, 0)):
        raise Refuse("its MODEL output is not connected: nothing to wire")
    link = node.links.get("model")
    if link is None:
        return _unload_without_model(conv, node, plan)
    src = motion.source(conv, node, "model")
    if src is not None and conv.table.get(src.type, {}).get("kind") in AD_MODEL_KINDS:
        before = src.links.get("model")
        if before is None:
            raise Refuse(f"the AnimateDiff node it unloads ({src.id}, {src.type}) has no model input connected")
        plan.redirects[(node.id, 0)] = ("old", *before)
        plan.notes.append(f"removed: its MODEL is now node {src.id}'s model input, the model without AnimateDiff "
                          "(ComfyUI manages memory itself)")
    else:
        upstream = _animatediff_upstream(conv, src)
        if upstream is not None:
            raise Refuse(f"the model it unloads from comes from AnimateDiff node {upstream.id} ({upstream.type}) "
                         f"through node {src.id} ({src.type}): the model without the motion module has to be wired "
                         "by hand")
        plan.redirects[(node.id, 0)] = ("old", *link)
        plan.notes.append("removed: no AnimateDiff node is upstream, so its MODEL is the model it was given "
                          "(ComfyUI manages memory itself)")
    plan.claimed.add(node.id)


MUTED, BYPASSED = 2, 4  # the editor's node modes ("never", "bypass")


def _unload_without_model(conv, node: Node, plan: Plan):
    """An unload with no model given fails in AnimateDiff-Evolved (a required input is missing), but ComfyUI runs
    a node only where its output leads to a node that runs. Its MODEL is followed through Reroutes and bypassed
    nodes: reaching an active node, the refusal stays (the original graph fails there too); reaching only muted
    nodes and dead ends, nothing that runs needs it, and it goes (with the Reroutes that carried it; a muted or
    bypassed node's input from it is left unconnected)."""
    active, idle, reroutes = _model_reach(conv, node.id)
    if active is not None:
        raise Refuse(f"its model input is not connected, and its MODEL reaches node {active.id} ({active.type}), which "
                     "runs: the original graph fails here too (AnimateDiff-Evolved's unload has no model to give); "
                     "connect its model input or remove it")
    plan.claimed.add(node.id)
    plan.claimed.update(r.id for r in reroutes)
    reached = ", ".join(f"{n.id} ({n.type}, {'muted' if _mode(n) == MUTED else 'bypassed'})" for n in idle)
    plan.notes.append("removed: its model input is not connected (AnimateDiff-Evolved would fail on it), but its MODEL "
                      "leads to nothing that runs" + (f" (only to {reached})" if reached else "")
                      + ", so ComfyUI never ran it"
                      + (f"; the Reroute{'s' if len(reroutes) > 1 else ''} "
                         f"{', '.join(str(r.id) for r in reroutes)} that carried it went with it" if reroutes else ""))


def _mode(node: Node) -> int:
    return node.raw.get("mode", 0) if node.ui else 0


def _model_reach(conv, node_id: int):
    """Where output 0 of ``node_id`` goes: (the first active node it reaches or None, the muted / bypassed nodes
    it reaches, the Reroutes on the way). A bypassed node passes its inputs on, so its outputs are followed too."""
    idle, reroutes, seen = [], [], set()
    todo = [(node_id, 0)]
    while todo:
        key = todo.pop()
        for consumer_id, _name in conv.consumers.get(key, []):
            if consumer_id in seen:
                continue
            seen.add(consumer_id)
            consumer = conv.nodes[consumer_id]
            if consumer.type == "Reroute":
                reroutes.append(consumer)
                todo.append((consumer_id, 0))
            elif _mode(consumer) == MUTED:
                idle.append(consumer)
            elif _mode(consumer) == BYPASSED:
                idle.append(consumer)
                todo.extend((consumer_id, slot) for slot in range(len(consumer.raw.get("outputs") or [])))
            else:
                return consumer, idle, reroutes
    return None, idle, reroutes


def _animatediff_upstream(conv, node: Node | None) -> Node | None:
    """The first AnimateDiff loader / sampling node on the chain of ``model`` inputs above ``node``."""
    seen = set()
    while node is not None and node.id not in seen:
        seen.add(node.id)
        if conv.table.get(node.type, {}).get("kind") in AD_MODEL_KINDS:
            return node
        node = motion.source(conv, node, "model")
    return None


# --------------------------------------------------------------------------------------------------------
# BatchPromptScheduleLatentInput: max_frames from the latent it is fed
# --------------------------------------------------------------------------------------------------------
def latent_frames(conv, node: Node, entry: dict, named: dict, linked: set) -> dict:
    """FizzNodes counts the frames of the latent on ``num_latents`` when it runs; Prompt Travel (Lightning) takes
    frames as a number or an INT link. An empty latent's batch_size is that count: its value (named max_frames
    here), or the link that feeds it (Prompt Travel's frames input → ref, returned)."""
    spec = entry["latent_frames"]
    src = motion.source(conv, node, spec["input"])
    if src is None:
        raise Refuse(f"its {spec['input']} input is not connected: FizzNodes takes the frame count from that latent")
    widget = spec["sources"].get(src.type)
    if widget is None:
        raise Refuse(f"its frame count is the batch size of the latent from node {src.id} ({src.type}), known only when "
                     f"it runs; Prompt Travel (Lightning) takes frames as a number or an INT link (only an empty "
                     f"latent's batch_size, {', '.join(sorted(spec['sources']))}, is read here): set frames by hand")
    if widget in src.links:
        linked.add("max_frames")
        return {"frames": ("old", *src.links[widget])}
    values = src.widget_values()
    layout = conv.table[src.type]["versions"][0]["widgets"] if src.type in conv.table else None
    if isinstance(values, dict):
        count = values.get(widget)
    elif isinstance(values, list) and layout is not None and len(values) >= len(layout):
        count = dict(zip([w for w, _k in layout], values)).get(widget)
    elif isinstance(values, list) and len(values) >= 3:  # core Empty Latent Image: width, height, batch_size
        count = values[2]
    else:
        count = None
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise Refuse(f"the batch_size of node {src.id} ({src.type}), its frame count, could not be read")
    named["max_frames"] = count
    return {}
