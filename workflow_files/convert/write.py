"""Writing the converted graph: the UI format (nodes, links, ids, positions, the red marks on what was kept) and
the API format, from a ``Converter``'s plans; and the report's notes on core samplers left as they were."""
from __future__ import annotations

import copy
import re

from .plan import Converter, Emitted
from .table import mapping

MARK_COLOR, MARK_BGCOLOR = "#a33", "#633"
PACK_BADGES = re.compile("🎭🅐🅓|🎥🅥🅗🅢|🛂🅐🅒🅝|📅🅕🅝")  # the suffixes ADE, VHS, ACN and FizzNodes put on their titles


def notes_for_samplers(nodes: dict, plans: dict) -> list[str]:
    if not any(e.type == "ADL_ApplyMotionModule" for p in plans.values() for e in p.emitted):
        return []
    steps = {p.steps for p in plans.values()} - {None}
    notes = []
    for node in nodes.values():
        if node.type not in ("KSampler", "KSamplerAdvanced"):
            continue
        w = node.widget_values()
        if isinstance(w, list):
            named = _ksampler_named(node.type, w)
        else:
            named = w or {}
        if not named:
            continue
        said = []
        if named.get("sampler_name") not in (None, "euler"):
            said.append(f"sampler {named['sampler_name']} (Lightning was distilled for euler)")
        if named.get("scheduler") not in (None, "sgm_uniform", "simple"):
            said.append(f"scheduler {named['scheduler']} (sgm_uniform or simple give Lightning's trailing timesteps)")
        if named.get("cfg") not in (None, 1, 1.0):
            said.append(f"cfg {named['cfg']} (distilled for 1.0; higher costs two passes per step)")
        if len(steps) == 1 and named.get("steps") not in (None, *steps):
            said.append(f"steps {named['steps']} (the module was distilled for {steps.pop()})")
        if said:
            notes.append(f"node {node.id} ({node.type}) stays core {node.type}; it differs from what the module was "
                         f"distilled for: " + "; ".join(said))
    return notes


def _ksampler_named(kind: str, w: list) -> dict:
    if kind == "KSampler":
        names = ["seed", "control", "steps", "cfg", "sampler_name", "scheduler", "denoise"]
        if len(w) == 6:
            names.remove("control")
    else:
        names = ["add_noise", "noise_seed", "control", "steps", "cfg", "sampler_name", "scheduler", "start_at_step",
                 "end_at_step", "return_with_leftover_noise"]
        if len(w) == 9:
            names.remove("control")
    return dict(zip(names, w)) if len(w) == len(names) else {}


def widget_layout(target: str) -> list:
    """The names a target's UI widgets_values hold, in order; None where a frontend-made widget's value goes
    (the upload button's): the editor lays out widgets by the node's input_order, which does not name the
    button, so its value comes last, after the optional widgets."""
    schema = mapping()["targets"][target]
    return [name for name, _kind in schema["widgets"]] + [None] * len(schema.get("extra_values", []))


def _widget_list(target: str, values: dict) -> list:
    schema = mapping()["targets"][target]
    defaults = schema.get("defaults", {})  # a widget appended later than the code that emits the node: its default
    extra = iter(schema.get("extra_values", []))
    return [next(extra) if name is None else values.get(name, defaults.get(name)) for name in widget_layout(target)]


def _target_outputs(target: str) -> list:
    return mapping()["targets"][target]["outputs"]


def write_ui(workflow: dict, conv: Converter) -> dict:
    out = copy.deepcopy(workflow)
    nodes = conv.nodes
    emitted = {e.id: e for p in conv.plans.values() for e in p.emitted}
    removed = {c for c in conv.claimed_by if c not in emitted}
    raw_nodes = []
    out_types = {}
    for node in nodes.values():
        if node.id in emitted or node.id in removed:
            continue
        for slot, o in enumerate(node.raw.get("outputs") or []):
            out_types[(node.id, slot)] = o.get("type", "*")
    for e in emitted.values():
        for slot, (_name, kind) in enumerate(_target_outputs(e.type)):
            out_types[(e.id, slot)] = kind
    retyped = _reroute_types(conv, emitted, removed, out_types)
    old_links = {}
    dict_links = any(isinstance(link, dict) for link in workflow.get("links") or [])
    for link in workflow.get("links") or []:
        lid = link["id"] if isinstance(link, dict) else link[0]
        old_links[lid] = link
    used_ids = set()
    next_link = [max([0, *old_links.keys(), workflow.get("last_link_id") or 0]) + 1]
    new_links = []

    def link_for(src: tuple, dst_id: int, dst_slot: int, old_link_id) -> int:
        kind = out_types.get(src, "*")
        old = old_links.get(old_link_id)
        if old is not None and old_link_id not in used_ids:
            o = (old["origin_id"], old["origin_slot"]) if isinstance(old, dict) else (old[1], old[2])
            if o == src:
                link_id = old_link_id
            else:
                link_id = None
        else:
            link_id = None
        if link_id is None:
            link_id, next_link[0] = next_link[0], next_link[0] + 1
        used_ids.add(link_id)
        if dict_links:
            entry = dict(old) if isinstance(old, dict) and link_id == old_link_id else {}
            entry.update(id=link_id, origin_id=src[0], origin_slot=src[1], target_id=dst_id, target_slot=dst_slot,
                         type=kind)
        else:
            entry = [link_id, src[0], src[1], dst_id, dst_slot, kind]
        new_links.append(entry)
        return link_id

    kept_report = {}
    for node in nodes.values():
        if node.id in removed:
            continue
        if node.id in emitted:
            e = emitted[node.id]
            raw_nodes.append(_emitted_ui(e, conv, link_for))
            continue
        raw = copy.deepcopy(node.raw)
        for slot_index, socket in enumerate(raw.get("inputs") or []):
            if socket.get("link") is None:
                continue
            src = conv.resolve(("old", *node.links[socket["name"]]))
            if src[0] in removed:  # from a node removed as leading to nothing that runs: left unconnected
                socket["link"] = None
                continue
            socket["link"] = link_for(src, node.id, slot_index, socket["link"])
        if node.id in conv.refused:
            raw.setdefault("properties", {})["adl_convert"] = f"not converted: {conv.refused[node.id]}"
            raw["color"], raw["bgcolor"] = MARK_COLOR, MARK_BGCOLOR
            kept_report[node.id] = conv.refused[node.id]
        raw_nodes.append(raw)
    for e in emitted.values():
        if e.new:
            raw_nodes.append(_emitted_ui(e, conv, link_for))
    # outputs' link lists
    by_origin = {}
    for link in new_links:
        lid, src, slot = (link["id"], link["origin_id"], link["origin_slot"]) if isinstance(link, dict) \
            else (link[0], link[1], link[2])
        by_origin.setdefault((src, slot), []).append(lid)
    for raw in raw_nodes:
        for slot, o in enumerate(raw.get("outputs") or []):
            o["links"] = by_origin.get((raw["id"], slot), [])
            if (raw["id"], slot) in retyped:
                o["type"] = retyped[(raw["id"], slot)]
    out["nodes"] = raw_nodes
    out["links"] = new_links
    out["last_node_id"] = max([out.get("last_node_id") or 0, *(n["id"] for n in raw_nodes)])
    out["last_link_id"] = max([out.get("last_link_id") or 0, *used_ids])
    if isinstance(out.get("state"), dict):
        out["state"]["lastNodeId"] = out["last_node_id"]
        out["state"]["lastLinkId"] = out["last_link_id"]
    return out


def _reroute_types(conv: Converter, emitted: dict, removed: set, out_types: dict) -> dict:
    """A Reroute kept between converted nodes carries the converted type (a Motion Value, not a MULTIVAL):
    (reroute id, 0) → type, for the Reroutes whose source is an emitted node (through other Reroutes)."""
    retyped = {}
    for node in conv.nodes.values():
        if node.type != "Reroute" or node.id in emitted or node.id in removed:
            continue
        seen, current = set(), node
        while current.type == "Reroute" and current.links and current.id not in seen:
            seen.add(current.id)
            src = conv.resolve(("old", *next(iter(current.links.values()))))
            if src[0] in emitted:
                retyped[(node.id, 0)] = out_types[(node.id, 0)] = out_types.get(src, "*")
                break
            current = conv.nodes.get(src[0], current)
    return retyped


def _emitted_ui(e: Emitted, conv: Converter, link_for) -> dict:
    schema = mapping()["targets"][e.type]
    raw = e.foreign.raw
    pos = list(raw.get("pos") or [0, 0])
    if isinstance(raw.get("pos"), dict):
        pos = [raw["pos"].get("0", 0), raw["pos"].get("1", 0)]
    node = {"id": e.id, "type": e.type,
            "pos": [pos[0] + e.offset[0], pos[1] + e.offset[1]],
            "size": list(schema.get("size", [320, 120])),
            "flags": {}, "order": raw.get("order", 0), "mode": raw.get("mode", 0),
            "inputs": [], "outputs": [],
            "properties": {"Node name for S&R": e.type, "adl_converted_from": e.foreign.type},
            "widgets_values": _widget_list(e.type, e.widgets)}
    if raw.get("title") and not e.new and not PACK_BADGES.search(raw["title"]):
        node["title"] = raw["title"]  # a title the user gave; the foreign packs' own display names are dropped
    slot_index = 0
    for name, kind in schema["inputs"]:
        socket = {"name": name, "type": kind, "link": None}
        if name in e.inputs:
            socket["link"] = link_for(conv.resolve(e.inputs[name]), e.id, slot_index, _old_link_id(e, name))
        node["inputs"].append(socket)
        slot_index += 1
    for name, kind in schema["widgets"]:
        socket = {"name": name, "type": kind, "widget": {"name": name}, "link": None}
        if name in e.inputs:
            socket["link"] = link_for(conv.resolve(e.inputs[name]), e.id, slot_index, _old_link_id(e, name))
        node["inputs"].append(socket)
        slot_index += 1
    for name, kind in schema["outputs"]:
        node["outputs"].append({"name": name, "type": kind, "links": []})
    return node


def _old_link_id(e: Emitted, target_input: str):
    return None  # links into replaced nodes are new; their ids are fresh


def api_key(conv: Converter, node_id: int) -> str:
    node = conv.nodes.get(node_id)
    return node.key if node is not None and node.key is not None else str(node_id)


def write_api(prompt: dict, conv: Converter) -> dict:
    emitted = {e.id: e for p in conv.plans.values() for e in p.emitted}
    removed = {c for c in conv.claimed_by if c not in emitted}
    out = {}
    for node in conv.nodes.values():
        if node.id in removed:
            continue
        if node.id in emitted:
            out[node.key] = _emitted_api(emitted[node.id], conv)
            continue
        raw = copy.deepcopy(node.raw)
        for name in node.links:
            src = conv.resolve(("old", *node.links[name]))
            if src[0] in removed:  # from a node removed as leading to nothing that runs: left out
                raw["inputs"].pop(name, None)
                continue
            raw["inputs"][name] = [api_key(conv, src[0]), src[1]]
        out[node.key] = raw
    for e in emitted.values():
        if e.new:
            out[str(e.id)] = _emitted_api(e, conv)
    return out


def _emitted_api(e: Emitted, conv: Converter) -> dict:
    schema = mapping()["targets"][e.type]
    inputs = {name: e.widgets.get(name, schema.get("defaults", {}).get(name)) for name, _kind in schema["widgets"]}
    for name, ref in e.inputs.items():
        src = conv.resolve(ref)
        inputs[name] = [api_key(conv, src[0]), src[1]]
    result = {"class_type": e.type, "inputs": inputs}
    title = e.foreign.raw.get("_meta", {}).get("title") if not e.foreign.ui else None
    if title and not e.new and not PACK_BADGES.search(title):
        result["_meta"] = {"title": title}
    return result
