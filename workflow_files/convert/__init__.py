"""AnimateDiff-Evolved / VideoHelperSuite / Advanced-ControlNet / FizzNodes graphs → this pack's and core nodes.

``convert(workflow)`` takes a UI-format workflow (what the editor saves) or an API-format prompt and returns
``(converted, report)``: the same graph with every foreign node the table (``mapping.json``) knows replaced,
links rewired, widget values translated, and everything else kept (positions, titles, groups, notes, reroutes,
untouched nodes). A foreign node that cannot be converted stays where it is, marked, and the report says why;
nothing is dropped silently and no value is guessed: every translation is in the table with its note.

Version recognition: foreign widgets are saved positionally and their order changed over the years; each
node type lists its layouts (count and kinds of widgets) and the one that fits is named in the report.

Standard library only; no ComfyUI, no torch. Used by ``python PACK convert``, ``render`` and the /adl/convert route.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

MAPPING_PATH = Path(__file__).with_name("mapping.json")
MAX_NODES = 20_000
MAX_BYTES = 8 * 1024 * 1024
KNOWN_UI_VERSIONS = (0.4, 1)
FRONTEND_ONLY = {"Note", "MarkdownNote", "PrimitiveNode", "Reroute"}
MARK_COLOR, MARK_BGCOLOR = "#a33", "#633"
PACK_BADGES = re.compile("🎭🅐🅓|🎥🅥🅗🅢|🛂🅐🅒🅝|📅🅕🅝")  # the suffixes ADE, VHS, ACN and FizzNodes put on their titles


class ConvertError(Exception):
    """The input is not a workflow this converter can read; nothing was converted."""


class Refuse(Exception):
    """One node cannot be converted; the message is the reason shown to the user."""


@lru_cache(maxsize=1)
def mapping() -> dict:
    return json.loads(MAPPING_PATH.read_text(encoding="utf-8"))


def known_types() -> dict[str, str]:
    """Every foreign node type the table converts → its pack."""
    return {t: e["pack"] for t, e in mapping()["nodes"].items()}


def absent_types() -> dict[str, tuple[str, str]]:
    """Foreign node types known and *not* converted → (pack, why)."""
    return {t: (pack, why) for pack, entries in mapping()["absent"].items() for t, why in entries.items()}


# --------------------------------------------------------------------------------------------------------
# The graph, format-neutral
# --------------------------------------------------------------------------------------------------------
@dataclass
class Node:
    id: int
    type: str
    links: dict            # input name -> (source id, source slot)
    raw: dict              # the node as read (UI) or {"class_type", "inputs"} (API)
    ui: bool
    key: str | None = None  # API format: the node's own id ("12", or "12:5" inside an expanded subgraph)

    def widget_values(self):
        return self.raw.get("widgets_values") if self.ui else {
            k: v for k, v in self.raw.get("inputs", {}).items() if not _is_api_link(v)}


@dataclass
class Emitted:
    id: int
    type: str
    widgets: dict
    inputs: dict           # name -> ref: ("old", id, slot) | ("new", id, slot)
    foreign: Node          # the node it comes from (position, title, mode)
    new: bool = False      # a node that did not exist before (placed beside ``foreign``)
    offset: tuple = (0, 0)


@dataclass
class Plan:
    emitted: list = field(default_factory=list)
    redirects: dict = field(default_factory=dict)   # (old id, slot) -> ref
    claimed: set = field(default_factory=set)        # foreign ids this plan removes or rewrites
    notes: list = field(default_factory=list)
    version: str = ""
    requires: set = field(default_factory=set)      # foreign ids that must convert for this plan to hold
    parts: dict = field(default_factory=dict)        # other foreign nodes this plan converts -> their layout
    steps: int | None = None                         # the step count a Lightning module's file name gives


def _is_api_link(v) -> bool:
    return isinstance(v, list) and len(v) == 2 and isinstance(v[0], (str, int)) and isinstance(v[1], int) \
        and not isinstance(v[1], bool)


def is_ui_workflow(data) -> bool:
    return isinstance(data, dict) and isinstance(data.get("nodes"), list) and "links" in data


def _ui_links(workflow: dict) -> dict:
    out = {}
    for link in workflow.get("links") or []:
        if isinstance(link, dict):
            try:
                out[link["id"]] = (link["origin_id"], link["origin_slot"], link["target_id"], link["target_slot"])
            except KeyError:
                raise ConvertError("a link is missing origin_id/origin_slot/target_id/target_slot") from None
        elif isinstance(link, list) and len(link) >= 5:
            out[link[0]] = tuple(link[1:5])
        else:
            raise ConvertError(f"a link is neither [id, from, slot, to, slot, type] nor an object: {str(link)[:80]}")
    return out


def read_graph(workflow) -> tuple[dict, bool]:
    """Validated nodes by id; raises ConvertError with what is wrong."""
    if not isinstance(workflow, dict):
        raise ConvertError("a workflow is a JSON object (UI format with 'nodes' and 'links', or API format)")
    if is_ui_workflow(workflow):
        version = workflow.get("version", 0.4)
        if version not in KNOWN_UI_VERSIONS:
            raise ConvertError(f"workflow format version {version!r} is not one this converter reads "
                               f"({', '.join(map(str, KNOWN_UI_VERSIONS))})")
        if len(workflow["nodes"]) > MAX_NODES:
            raise ConvertError(f"{len(workflow['nodes'])} nodes: more than the {MAX_NODES} this converter reads")
        links = _ui_links(workflow)
        nodes = {}
        for raw in workflow["nodes"]:
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), int) or not isinstance(raw.get("type"), str):
                raise ConvertError(f"a node needs an integer 'id' and a 'type': {str(raw)[:80]}")
            if raw["id"] in nodes:
                raise ConvertError(f"node id {raw['id']} appears twice")
            inputs = raw.get("inputs") or []
            if not isinstance(inputs, list) or not all(isinstance(i, dict) and isinstance(i.get("name"), str)
                                                       for i in inputs):
                raise ConvertError(f"node {raw['id']}: 'inputs' must be a list of sockets with names")
            node_links = {}
            for socket in inputs:
                link_id = socket.get("link")
                if link_id is None:
                    continue
                if link_id not in links:
                    raise ConvertError(f"node {raw['id']} input {socket['name']!r}: link {link_id} is not in 'links'")
                node_links[socket["name"]] = (links[link_id][0], links[link_id][1])
            nodes[raw["id"]] = Node(raw["id"], raw["type"], node_links, raw, True)
        ui = True
    else:
        if len(workflow) > MAX_NODES:
            raise ConvertError(f"{len(workflow)} nodes: more than the {MAX_NODES} this converter reads")
        nodes = {}
        ids = {}  # the prompt's ids → ints: numbers as they are, others ("12:5") numbered below zero
        for key in workflow:
            ids[str(key)] = int(key) if str(key).isdigit() else -(len(ids) + 1)
        for key, raw in workflow.items():
            if not isinstance(raw, dict) or not isinstance(raw.get("class_type"), str) \
                    or not isinstance(raw.get("inputs", {}), dict):
                raise ConvertError("not a workflow: expected UI format ('nodes' and 'links') or API format "
                                   f"(node id → {{class_type, inputs}}); entry {str(key)[:40]!r} is neither")
            links = {}
            for name, v in raw.get("inputs", {}).items():
                if _is_api_link(v):
                    if str(v[0]) not in ids:
                        raise ConvertError(f"node {key} input {name!r} comes from node {v[0]}, which is not in the graph")
                    links[name] = (ids[str(v[0])], v[1])
            node_id = ids[str(key)]
            nodes[node_id] = Node(node_id, raw["class_type"], links, raw, False, str(key))
        ui = False
    for node in nodes.values():
        for name, (src, _slot) in node.links.items():
            if src not in nodes:
                raise ConvertError(f"node {node.id} input {name!r} comes from node {src}, which is not in the graph")
    _check_acyclic(nodes)
    return nodes, ui


def _check_acyclic(nodes: dict):
    state = {}
    for start, start_node in nodes.items():
        if start in state:
            continue
        stack = [(start, iter(start_node.links.values()))]
        state[start] = 1
        while stack:
            current, children = stack[-1]
            for src, _slot in children:
                if state.get(src) == 1:
                    raise ConvertError(f"the graph has a cycle: node {src} ({nodes[src].type}) depends on itself "
                                       f"through node {current} ({nodes[current].type})")
                if src not in state:
                    state[src] = 1
                    stack.append((src, iter(nodes[src].links.values())))
                    break
            else:
                state[current] = 2
                stack.pop()


# --------------------------------------------------------------------------------------------------------
# Widgets: versions and value translation
# --------------------------------------------------------------------------------------------------------
def _kind_ok(kind: str, v) -> bool:
    if kind == "any":
        return True
    if kind == "bool":
        return isinstance(v, bool)
    if kind == "int":
        return isinstance(v, int) and not isinstance(v, bool) or isinstance(v, float) and v.is_integer()
    if kind == "num":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if kind == "str":
        return isinstance(v, str)
    if kind == "dict":
        return isinstance(v, dict)
    if kind == "null":
        return v is None
    return False


def _describe(values) -> str:
    names = {bool: "bool", int: "int", float: "float", str: "str", dict: "dict", list: "list", type(None): "null"}
    return f"{len(values)} values ({', '.join(names.get(type(v), type(v).__name__) for v in values)})"


def recognise(node: Node, entry: dict) -> tuple[dict, str]:
    """Named widget values and the layout assumed. Raises Refuse when no known layout fits."""
    raw = node.widget_values()
    versions = entry.get("versions", [])
    if raw is None:
        raw = []
    if isinstance(raw, dict):
        label = "named widget values" if node.ui else "API format (named inputs)"
        return {k: v for k, v in raw.items()}, label
    if not isinstance(raw, list):
        raise Refuse(f"widgets_values is neither a list nor an object: {str(raw)[:60]}")
    trailing = entry.get("trailing", {"max": 0, "kinds": []})
    fits = []
    for version in versions:
        layout = version["widgets"]
        if len(raw) < len(layout) or len(raw) > len(layout) + trailing["max"]:
            continue
        head, tail = raw[:len(layout)], raw[len(layout):]
        if all(_kind_ok(kind, v) for (_name, kind), v in zip(layout, head)) and \
                all(any(_kind_ok(k, v) for k in trailing["kinds"]) for v in tail):
            fits.append(version)
    if not fits:
        known = "; ".join(f"{v['name']}: {len(v['widgets'])} widgets" for v in versions)
        raise Refuse(f"its widget values ({_describe(raw)}) fit no layout this converter knows ({known}); "
                     "open and re-save it with a current version of its pack, or rebuild it by hand")
    best = max(fits, key=lambda v: len(v["widgets"]))  # the longest fit: trailing values never shadow a widget
    return {name: v for (name, _kind), v in zip(best["widgets"], raw)}, best["name"]


def translate(spec: dict, named: dict, linked: set, notes: list) -> object:
    """One target widget's value from the foreign widgets by its rule in the table; may raise Refuse."""
    if "value" in spec:
        return spec["value"]
    name = spec["from"]
    if name in linked:
        if "table" in spec or "min" in spec or "max" in spec:
            raise Refuse(f"{name} comes from another node, so its value cannot be translated; make it a widget first")
        return ("link", name)
    if name not in named:
        if "default" in spec:
            return translate_value(spec, spec["default"], notes)
        raise Refuse(f"widget {name!r} is missing")
    return translate_value(spec, named[name], notes)


def translate_value(spec: dict, value, notes: list):
    if "table" in spec:
        table = mapping()["tables"][spec["table"]]
        row = table.get(str(value)) if isinstance(value, (str, int, float)) else None
        row = row if row is not None else table.get("*")
        if row is None:
            raise Refuse(f"{spec['from']} {value!r} is not a value this converter knows")
        if "refuse" in row:
            raise Refuse(row["refuse"].format(value=value))
        if row.get("note"):
            notes.append(row["note"].format(value=value))
        value = row["to"]
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if number and ("min" in spec and value < spec["min"] or "max" in spec and value > spec["max"]):
        raise Refuse(f"{spec['from']} {value} is outside what the replacement takes "
                         f"({spec.get('min', '-∞')} to {spec.get('max', '∞')})")
    return value


def run_checks(entry: dict, named: dict, notes: list):
    for check in entry.get("checks", []):
        value = named.get(check["widget"], check.get("default"))
        if value is None or value == check["equals"]:
            continue
        message = check["say"].format(value=value)
        if check["else"] == "refuse":
            raise Refuse(message)
        notes.append(message)


# --------------------------------------------------------------------------------------------------------
# Planning: one Plan per foreign node that converts
# --------------------------------------------------------------------------------------------------------
class Converter:
    def __init__(self, nodes: dict):
        self.nodes = nodes
        self.table = mapping()["nodes"]
        self.consumers = {}
        for node in nodes.values():
            for name, (src, slot) in node.links.items():
                self.consumers.setdefault((src, slot), []).append((node.id, name))
        self.next_id = max(nodes, default=0) + 1
        self.plans: dict[int, Plan] = {}
        self.refused: dict[int, str] = {}

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def entry(self, node: Node) -> dict:
        return self.table[node.type]

    def linked_inputs(self, node: Node, entry: dict, named: dict) -> set:
        """Widget names whose value comes from a link (a widget converted to an input)."""
        return {name for name in node.links if name in named or any(
            name == w[0] for v in entry.get("versions", []) for w in v["widgets"])}

    def refuse_linked(self, node: Node, entry: dict):
        for name, why in entry.get("refuse_linked", {}).items():
            if name in node.links:
                raise Refuse(f"input {name} is connected: {why}")

    def refuse_unaccounted(self, node: Node, handled: set):
        """A connected input no rule of the table handles is never dropped silently."""
        for name in sorted(set(node.links) - handled):
            raise Refuse(f"input {name} is connected, and this converter has no counterpart for what it feeds in")

    def outside_consumers(self, node_id: int, slot: int, allowed: set) -> list:
        return [c for c in self.consumers.get((node_id, slot), []) if c[0] not in allowed]

    def target_widgets(self, target: str, rules: dict, named: dict, linked: set, notes: list) -> tuple[dict, dict]:
        """Values and linked widgets of a target node (defaults where the table sets nothing)."""
        schema = mapping()["targets"][target]
        values = dict(schema.get("defaults", {}))
        links = {}
        for name, spec in rules.items():
            got = translate(spec, named, linked, notes)
            if isinstance(got, tuple) and got[:1] == ("link",):
                links[name] = got[1]
            else:
                values[name] = got
        return values, links

    # ---- kinds ----
    def plan_replace(self, node: Node, entry: dict, named: dict, plan: Plan):
        self.refuse_linked(node, entry)
        linked = self.linked_inputs(node, entry, named)
        run_checks(entry, named, plan.notes)
        target = entry["target"]
        values, widget_links = self.target_widgets(target, entry.get("widgets", {}), named, linked, plan.notes)
        if entry.get("transform"):
            TRANSFORMS[entry["transform"]](named, values, plan.notes, linked)
        self.refuse_unaccounted(node, set(entry.get("inputs", {})) | set(widget_links.values())
                                | set(entry.get("outputs_passthrough", {}).values()))
        inputs = {}
        for foreign_name, target_name in entry.get("inputs", {}).items():
            if foreign_name in node.links:
                inputs[target_name] = ("old", *node.links[foreign_name])
        for target_name, foreign_name in widget_links.items():
            inputs[target_name] = ("old", *node.links[foreign_name])
        handled_slots = self.info_readers(node, entry, plan)
        slots = max([len(mapping()["targets"][target]["outputs"])] + [int(s) + 1 for s in entry.get("outputs_refused", {})]
                    + [int(s) + 1 for s in entry.get("outputs_passthrough", {})])
        for slot in range(slots + 2):
            if not self.consumers.get((node.id, slot)) or slot in handled_slots:
                continue
            if str(slot) in entry.get("outputs", {}):
                plan.redirects[(node.id, slot)] = ("new", node.id, entry["outputs"][str(slot)])
            elif str(slot) in entry.get("outputs_passthrough", {}):
                source = node.links.get(entry["outputs_passthrough"][str(slot)])
                if source is None:
                    raise Refuse(f"output {slot} is connected but its input "
                                 f"{entry['outputs_passthrough'][str(slot)]} is not; it has no counterpart")
                plan.redirects[(node.id, slot)] = ("old", *source)
            else:
                raise Refuse(entry.get("outputs_refused", {}).get(str(slot), f"output {slot} has no counterpart"))
        plan.emitted.append(Emitted(node.id, target, values, inputs, node))
        plan.claimed.add(node.id)

    def info_readers(self, node: Node, entry: dict, plan: Plan) -> set:
        """VHS's video-info readers on the loader's VHS_VIDEOINFO output: the slots the table maps (fps,
        frame_count) come from the converted loader's outputs instead, and the readers go. Returns the
        loader's output slots so handled."""
        spec = entry.get("info_output")
        if not spec or not self.consumers.get((node.id, spec["slot"])):
            return set()
        for reader_id, _input in self.consumers[(node.id, spec["slot"])]:
            reader = self.nodes[reader_id]
            slots = spec["readers"].get(reader.type)
            if slots is None:
                raise Refuse(entry["outputs_refused"][str(spec["slot"])] + f" (node {reader_id} {reader.type} reads it)")
            used = sorted({s for (src, s) in self.consumers if src == reader_id and self.consumers[(src, s)]})
            extra = [s for s in used if str(s) not in slots]
            if extra:
                raise Refuse(f"node {reader_id} ({reader.type}) output {extra[0]} is used; only "
                             f"{', '.join(slots)} (fps, frame_count of the loaded frames) have a counterpart")
            for slot, target_slot in slots.items():
                plan.redirects[(reader_id, int(slot))] = ("new", node.id, target_slot)
            plan.claimed.add(reader_id)
            plan.parts[reader_id] = "reads fps / frame_count: now the loader's own outputs"
        return {spec["slot"]}

    def lora_chain(self, consumer: Node, module_ref: tuple, plan: Plan) -> tuple:
        """The Motion LoRAs on ``consumer``'s motion_lora input as ADL_LoadMotionLoRA nodes after ``module_ref``."""
        chain, source = [], consumer.links.get("motion_lora")
        while source is not None:
            lora = self.nodes[source[0]]
            entry = self.table.get(lora.type)
            if entry is None or entry["kind"] != "ad_lora":
                raise Refuse(f"its motion_lora comes from node {lora.id} ({lora.type}), which has no counterpart")
            if lora.id in {n.id for n in chain}:
                break
            chain.append(lora)
            source = lora.links.get("prev_motion_lora")
        ref = module_ref
        users = {consumer.id}
        for lora in reversed(chain):  # ADE applies every LoRA in the chain; ours stack, so order is kept as is
            entry = self.table[lora.type]
            if self.outside_consumers(lora.id, 0, users | {n.id for n in chain}):
                raise Refuse(f"its Motion LoRA node {lora.id} also feeds other nodes; give each loader its own LoRA nodes")
            try:
                self.refuse_unaccounted(lora, {"prev_motion_lora"})
                named, version = recognise(lora, entry)
                notes = []
                values, _ = self.target_widgets("ADL_LoadMotionLoRA", entry["widgets"], named, set(), notes)
            except Refuse as e:
                raise Refuse(f"its Motion LoRA node {lora.id}: {e}") from None
            plan.notes += [f"Motion LoRA node {lora.id}: {n}" for n in notes]
            plan.parts[lora.id] = version
            plan.emitted.append(Emitted(lora.id, "ADL_LoadMotionLoRA", values, {"motion_module": ref}, lora))
            plan.claimed.add(lora.id)
            ref = ("new", lora.id, 0)
        return ref

    def sample_settings(self, consumer: Node, plan: Plan) -> str | None:
        """The noise type ADE's sample settings on ``consumer`` ask for (None without them); refuses what has no
        counterpart. FreeNoise goes to the converted context options."""
        source = consumer.links.get("sample_settings")
        if source is None:
            return None
        node = self.nodes[source[0]]
        entry = self.table.get(node.type)
        if entry is None or entry["kind"] != "ad_sample_settings":
            raise Refuse(f"its sample_settings come from node {node.id} ({node.type}), which has no counterpart")
        if self.outside_consumers(node.id, 0, {consumer.id}):
            raise Refuse(f"its sample settings node {node.id} also feeds other nodes; give each its own")
        try:
            self.refuse_linked(node, entry)
            self.refuse_unaccounted(node, set())
            named, version = recognise(node, entry)
            notes = []
            run_checks(entry, named, notes)
            noise = translate_value({"from": "noise_type", "table": entry["tables"]["noise_type"]},
                                    named.get("noise_type", "default"), notes)
            translate_value({"from": "seed_gen", "table": entry["tables"]["seed_gen"]}, named.get("seed_gen", "comfy"), notes)
        except Refuse as e:
            raise Refuse(f"sample settings node {node.id}: {e}") from None
        if noise == "FreeNoise" and "context_options" not in consumer.links:
            notes.append("noise_type FreeNoise only acts across context windows, and there are none: dropped")
        plan.notes += [f"sample settings node {node.id}: {n}" for n in notes]
        plan.parts[node.id] = version
        plan.claimed.add(node.id)
        return noise

    def context_wrap(self, consumer: Node, model_ref: tuple, plan: Plan, noise_type: str | None = None) -> tuple:
        source = consumer.links.get("context_options")
        if source is None:
            return model_ref
        ctx = self.nodes[source[0]]
        entry = self.table.get(ctx.type)
        if entry is None or entry["kind"] != "ad_context":
            raise Refuse(f"its context_options come from node {ctx.id} ({ctx.type}), which has no counterpart")
        if self.outside_consumers(ctx.id, 0, {consumer.id}):
            raise Refuse(f"its context options node {ctx.id} also feeds other nodes; give each its own")
        for name, why in {"prev_context": "chained context options (several schedules over the steps)",
                          "view_opts": "view options"}.items():
            if name in ctx.links:
                raise Refuse(f"context options node {ctx.id}: input {name} is connected: {why} have no counterpart")
        try:
            self.refuse_unaccounted(ctx, set())
            named, version = recognise(ctx, entry)
            notes = []
            if named.get("context_stride", 1) not in (1, None):
                raise Refuse(f"context_stride {named['context_stride']} has no counterpart (windows with stride 1 only)")
            if named.get("start_percent", 0) not in (0, 0.0, None):
                raise Refuse(f"start_percent {named['start_percent']} (windows only from part-way) has no counterpart")
            if named.get("use_on_equal_length"):
                notes.append("use_on_equal_length was on: with as many frames as context_length no windows are used")
            values, _ = self.target_widgets("ADL_ContextOptions", entry["widgets"], named, set(), notes)
            if noise_type:
                values["noise_type"] = noise_type
            if values["context_overlap"] >= values["context_length"]:
                raise Refuse(f"context_overlap {values['context_overlap']} must be smaller than context_length")
            if values["context_length"] > 32:
                notes.append(f"context_length {values['context_length']} is more than Lightning's 32 positions")
        except Refuse as e:
            raise Refuse(f"context options node {ctx.id}: {e}") from None
        plan.notes += [f"context options node {ctx.id}: {n}" for n in notes]
        plan.parts[ctx.id] = version
        plan.emitted.append(Emitted(ctx.id, "ADL_ContextOptions", values, {"model": model_ref}, ctx))
        plan.claimed.add(ctx.id)
        return ("new", ctx.id, 0)

    def finish_model_output(self, node: Node, out_ref: tuple, plan: Plan):
        for slot in range(1, 4):
            if self.consumers.get((node.id, slot)):
                raise Refuse(f"output {slot} is connected and has no counterpart")
        plan.redirects[(node.id, 0)] = out_ref

    def plan_ad_loader(self, node: Node, entry: dict, named: dict, plan: Plan):
        self.refuse_linked(node, entry)
        linked = self.linked_inputs(node, entry, named) - {"model", "context_options", "motion_lora", "sample_settings"}
        run_checks(entry, named, plan.notes)
        apply_rules = entry["widgets"]["ADL_ApplyMotionModule"]
        self.refuse_unaccounted(node, {"model", "context_options", "motion_lora", "sample_settings"}
                                | {r["from"] for r in apply_rules.values() if "from" in r and "table" not in r})
        load_values, _ = self.target_widgets("ADL_LoadMotionModule", entry["widgets"]["ADL_LoadMotionModule"], named,
                                             linked, plan.notes)
        apply_values, apply_links = self.target_widgets("ADL_ApplyMotionModule", entry["widgets"]["ADL_ApplyMotionModule"],
                                                        named, linked, plan.notes)
        load_id = self.new_id()
        plan.emitted.append(Emitted(load_id, "ADL_LoadMotionModule", load_values, {}, node, new=True, offset=(0, 160)))
        module_ref = self.lora_chain(node, ("new", load_id, 0), plan)
        inputs = {"motion_module": module_ref}
        if "model" in node.links:
            inputs["model"] = ("old", *node.links["model"])
        inputs.update({k: ("old", *node.links[v]) for k, v in apply_links.items()})
        plan.emitted.append(Emitted(node.id, "ADL_ApplyMotionModule", apply_values, inputs, node))
        plan.claimed.add(node.id)
        noise = self.sample_settings(node, plan)
        self.finish_model_output(node, self.context_wrap(node, ("new", node.id, 0), plan, noise), plan)
        _steps_note(load_values.get("model_name"), plan)

    def plan_ad_sampling(self, node: Node, entry: dict, named: dict, plan: Plan):
        self.refuse_linked(node, entry)
        self.refuse_unaccounted(node, {"model", "m_models", "context_options", "sample_settings"})
        source = node.links.get("m_models")
        if source is None:
            raise Refuse("no motion model is connected (m_models): nothing to convert it to")
        apply_node = self.nodes[source[0]]
        apply_entry = self.table.get(apply_node.type)
        if apply_entry is None or apply_entry["kind"] != "ad_apply":
            raise Refuse(f"its m_models come from node {apply_node.id} ({apply_node.type}), which has no counterpart")
        if self.outside_consumers(apply_node.id, 0, {node.id}):
            raise Refuse(f"its Apply AnimateDiff Model node {apply_node.id} also feeds other nodes")
        try:
            self.refuse_linked(apply_node, apply_entry)
            self.refuse_unaccounted(apply_node, {"motion_model", "motion_lora"})
            apply_named, apply_version = recognise(apply_node, apply_entry)
            run_checks(apply_entry, apply_named, plan.notes)
        except Refuse as e:
            raise Refuse(f"its Apply AnimateDiff Model node {apply_node.id}: {e}") from None
        plan.parts[apply_node.id] = apply_version
        loader_source = apply_node.links.get("motion_model")
        if loader_source is None:
            raise Refuse(f"its Apply AnimateDiff Model node {apply_node.id} has no motion_model connected")
        loader = self.nodes[loader_source[0]]
        if loader.type not in self.table or self.table[loader.type].get("target") != "ADL_LoadMotionModule":
            raise Refuse(f"the motion model comes from node {loader.id} ({loader.type}), which has no counterpart")
        plan.requires.add(loader.id)
        module_ref = self.lora_chain(apply_node, ("old", loader.id, 0), plan)
        plan.claimed.add(apply_node.id)
        linked = self.linked_inputs(node, entry, named) - {"model", "m_models", "context_options", "sample_settings"}
        run_checks(entry, named, plan.notes)
        values, links = self.target_widgets("ADL_ApplyMotionModule", entry["widgets"]["ADL_ApplyMotionModule"], named,
                                            linked, plan.notes)
        inputs = {"motion_module": module_ref}
        if "model" in node.links:
            inputs["model"] = ("old", *node.links["model"])
        inputs.update({k: ("old", *node.links[v]) for k, v in links.items()})
        plan.emitted.append(Emitted(node.id, "ADL_ApplyMotionModule", values, inputs, node))
        plan.claimed.add(node.id)
        noise = self.sample_settings(node, plan)
        self.finish_model_output(node, self.context_wrap(node, ("new", node.id, 0), plan, noise), plan)

    # ---- driver ----
    def run(self):
        order = {"replace": 0, "ad_loader": 1, "ad_sampling": 1}
        foreign = [n for n in self.nodes.values() if n.type in self.table]
        claimed_by = {}
        for kind_rank in (0, 1):
            for node in sorted(foreign, key=lambda n: n.id):
                entry = self.table[node.type]
                if order.get(entry["kind"], -1) != kind_rank or node.id in claimed_by:
                    continue
                plan = Plan()
                try:
                    named, plan.version = recognise(node, entry)
                    getattr(self, "plan_" + entry["kind"])(node, entry, named, plan)
                    missing = [r for r in plan.requires if r not in self.plans]
                    if missing:
                        raise Refuse(f"it needs node {missing[0]} ({self.nodes[missing[0]].type}), which was not converted"
                                     f": {self.refused.get(missing[0], '')}".rstrip(": "))
                    taken = [c for c in plan.claimed if c in claimed_by and c != node.id]
                    if taken:
                        raise Refuse(f"node {taken[0]} is already converted as part of node {claimed_by[taken[0]]}")
                except Refuse as e:
                    self.refused[node.id] = str(e)
                    continue
                self.plans[node.id] = plan
                for c in plan.claimed:
                    claimed_by[c] = node.id
        for node in foreign:  # absorbed kinds nobody took
            if node.id not in claimed_by and node.id not in self.refused:
                kind = self.table[node.type]["kind"]
                self.refused[node.id] = {
                    "ad_lora": "a Motion LoRA is converted with the loader it feeds; it feeds none that converted",
                    "ad_context": "context options are converted with the loader it feeds; it feeds none that converted",
                    "ad_sample_settings": "sample settings are converted with the loader they feed; they feed none "
                                          "that converted",
                    "ad_apply": "Apply AnimateDiff Model is converted with the Use Evolved Sampling it feeds; "
                                "it feeds none that converted",
                }.get(kind, "not converted")
        self.claimed_by = claimed_by

    def resolve(self, ref: tuple, depth: int = 0) -> tuple:
        """A ref in the new graph: ("new"/"old", id, slot) → (id, slot) after redirects."""
        kind, node_id, slot = ref
        if kind == "new":
            return node_id, slot
        owner = self.claimed_by.get(node_id)
        if owner is None or depth > 50:
            return node_id, slot
        target = self.plans[owner].redirects.get((node_id, slot))
        if target is None:
            return node_id, slot
        return self.resolve(target, depth + 1)


def _steps_note(model_name, plan: Plan):
    match = re.search(r"lightning_(\d)step", str(model_name or ""))
    if match:
        plan.steps = int(match.group(1))


# --------------------------------------------------------------------------------------------------------
# Transforms named in the table (logic that a lookup cannot express)
# --------------------------------------------------------------------------------------------------------
_PRESET = re.compile(r"^(\?|\d+)x(\?|\d+)$")


def _vhs_load_video(named: dict, values: dict, notes: list, linked: set):
    size = named.get("force_size")
    width, height = named.get("custom_width", 0) or 0, named.get("custom_height", 0) or 0
    if size is None or size == "Disabled":
        if size == "Disabled":
            width = height = 0
    elif size == "Custom Width":
        height = 0
    elif size == "Custom Height":
        width = 0
    elif size == "Custom":
        pass
    elif _PRESET.match(str(size)):
        w, h = _PRESET.match(size).groups()
        width, height = (0 if w == "?" else int(w)), (0 if h == "?" else int(h))
    else:
        raise Refuse(f"force_size {size!r} is not a value VideoHelperSuite had")
    if {"custom_width", "custom_height"} & linked:
        raise Refuse("custom_width/custom_height come from other nodes; make them widgets first")
    values["width"], values["height"] = int(width), int(height)
    if width and height:
        values["resize_mode"] = "crop"
        notes.append(f"size {width}x{height}: scaled to cover and centre-cropped (resize_mode crop), as VHS does")
    fmt = named.get("format")
    if fmt is not None:
        translate_value({"from": "format", "table": "vhs_load_format"}, fmt, notes)


def _vhs_load_video_path(named: dict, values: dict, notes: list, linked: set):
    """VHS paths are typed paths (absolute, or relative to ComfyUI's folder); ours are under the input folder."""
    _vhs_load_video(named, values, notes, linked)
    if "video" in linked:
        raise Refuse("the video path comes from another node; type it into the converted node's path instead")
    path = str(named.get("video") or "").strip().strip('"').replace("\\", "/")
    if path.startswith("input/"):
        path = path[len("input/"):]
        notes.append(f"path 'input/{path}' became '{path}' (Load Video (Lightning) reads paths under the input folder)")
    elif path.startswith("/") or re.match(r"^[A-Za-z]:/", path) or ".." in path.split("/"):
        notes.append(f"path {path!r} is outside ComfyUI's input folder: Load Video (Lightning) reads only under it, "
                     "so move the clip there and set path to its name (the node says so when it runs)")
    values["path"] = path


def _vhs_video_combine(named: dict, values: dict, notes: list, linked: set):
    crf = named.get("crf")
    fmt = values.get("format")
    if crf is not None and "crf" not in linked:
        limit = {"mp4": 51, "webm": 63}.get(fmt)
        if limit is not None and crf > limit:
            notes.append(f"crf {crf} is above {fmt}'s {limit}: {limit} is used")
            crf = limit
        values["crf"] = int(crf)
    if named.get("pix_fmt") not in (None, "yuv420p"):
        notes.append(f"pix_fmt {named['pix_fmt']} is not offered: yuv420p is used")
    if values.get("fps") is not None and not isinstance(values["fps"], tuple):
        values["fps"] = float(values["fps"])


def _start_time(named: dict, values: dict, notes: list, linked: set):
    """VHS's FFmpeg loaders start at a time in seconds; Load Video (Lightning) skips frames, counted at force_rate."""
    start = named.get("start_time") or 0
    if "start_time" in linked:
        raise Refuse("start_time comes from another node; make it a widget first")
    if not start:
        return
    rate = named.get("force_rate") or 0
    if not rate:
        raise Refuse(f"start_time {start} s: Load Video (Lightning) skips whole frames counted at force_rate, and "
                     "force_rate is 0 (the clip's own rate, unknown here); set force_rate in the original first")
    values["skip_first_frames"] = int(round(start * rate))
    notes.append(f"start_time {start} s at force_rate {rate} became skip_first_frames {values['skip_first_frames']}")


def _vhs_load_video_ffmpeg(named: dict, values: dict, notes: list, linked: set):
    _vhs_load_video(named, values, notes, linked)
    _start_time(named, values, notes, linked)


def _vhs_load_video_ffmpeg_path(named: dict, values: dict, notes: list, linked: set):
    _vhs_load_video_path(named, values, notes, linked)
    _start_time(named, values, notes, linked)


_FIZZ_KEY = re.compile(r"^\s*(\d+)\s*$")


def _fizz_prompt_schedule(named: dict, values: dict, notes: list, linked: set):
    text, frames = named.get("text"), named.get("max_frames")
    if not isinstance(text, str) or not isinstance(frames, int) or frames < 1:
        raise Refuse("text or max_frames is missing")
    body = text.replace("\n", "").strip()
    body = re.sub(r",\s*$", "", body)
    try:
        keyframes = json.loads("{" + body + "}")
    except ValueError as e:
        raise Refuse(f"its schedule text is not the '\"FRAME\": \"prompt\",' list FizzNodes reads ({e})") from None
    pre = str(named.get("pre_text") or "")
    app = str(named.get("app_text") or "")
    rows = []
    for key, prompt in keyframes.items():
        match = _FIZZ_KEY.match(str(key))
        if not match:
            raise Refuse(f"keyframe {key!r} is an expression; only frame numbers are converted")
        prompt = str(prompt)
        if "`" in prompt or "`" in pre or "`" in app:
            raise Refuse("the schedule uses `expressions` (animated weights with pw_a..pw_d or t); no counterpart")
        if "--neg" in prompt or "--neg" in pre or "--neg" in app:
            raise Refuse("the schedule has '--neg' parts (negative prompts per keyframe); no counterpart")
        full = " ".join(p for p in (pre.strip(), prompt.strip(), app.strip()) if p)
        frame = int(match.group(1))
        if frame >= frames:
            notes.append(f"keyframe {frame} is past max_frames {frames} and was left out")
            continue
        rows.append((frame, full.replace("\n", " ")))
    if not rows:
        raise Refuse("its schedule has no keyframe inside max_frames")
    rows.sort()
    if any(named.get(k) for k in ("pw_a", "pw_b", "pw_c", "pw_d")):
        notes.append("pw_a..pw_d were set but the schedule has no expressions using them: dropped")
    if pre or app:
        notes.append("pre_text/app_text were folded into every keyframe")
    if rows[0][0] != 0:
        notes.append(f"the first keyframe is {rows[0][0]}: frames before it hold its prompt (as FizzNodes does)")
    values["text"] = "\n".join(f"{f}: {p}" for f, p in rows)
    values["frames"] = frames
    notes.append("FizzNodes blends neighbouring keyframes' conditionings; Prompt Travel interpolates linearly between "
                 "keyframes too, per frame")


TRANSFORMS = {"vhs_load_video": _vhs_load_video, "vhs_load_video_path": _vhs_load_video_path, "vhs_video_combine": _vhs_video_combine,
              "fizz_prompt_schedule": _fizz_prompt_schedule, "vhs_load_video_ffmpeg": _vhs_load_video_ffmpeg,
              "vhs_load_video_ffmpeg_path": _vhs_load_video_ffmpeg_path}


# --------------------------------------------------------------------------------------------------------
# Writing the graph back
# --------------------------------------------------------------------------------------------------------
def _notes_for_samplers(nodes: dict, plans: dict) -> list[str]:
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


def _widget_list(target: str, values: dict) -> list:
    schema = mapping()["targets"][target]
    return [values.get(name) for name, _kind in schema["widgets"]] + list(schema.get("extra_values", []))


def _target_outputs(target: str) -> list:
    return mapping()["targets"][target]["outputs"]


def _write_ui(workflow: dict, conv: Converter) -> dict:
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
    out["nodes"] = raw_nodes
    out["links"] = new_links
    out["last_node_id"] = max([out.get("last_node_id") or 0, *(n["id"] for n in raw_nodes)])
    out["last_link_id"] = max([out.get("last_link_id") or 0, *used_ids])
    if isinstance(out.get("state"), dict):
        out["state"]["lastNodeId"] = out["last_node_id"]
        out["state"]["lastLinkId"] = out["last_link_id"]
    return out


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


def _api_key(conv: Converter, node_id: int) -> str:
    node = conv.nodes.get(node_id)
    return node.key if node is not None and node.key is not None else str(node_id)


def _write_api(prompt: dict, conv: Converter) -> dict:
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
            raw["inputs"][name] = [_api_key(conv, src[0]), src[1]]
        out[node.key] = raw
    for e in emitted.values():
        if e.new:
            out[str(e.id)] = _emitted_api(e, conv)
    return out


def _emitted_api(e: Emitted, conv: Converter) -> dict:
    inputs = {name: e.widgets.get(name) for name, _kind in mapping()["targets"][e.type]["widgets"]}
    for name, ref in e.inputs.items():
        src = conv.resolve(ref)
        inputs[name] = [_api_key(conv, src[0]), src[1]]
    result = {"class_type": e.type, "inputs": inputs}
    title = e.foreign.raw.get("_meta", {}).get("title") if not e.foreign.ui else None
    if title and not e.new and not PACK_BADGES.search(title):
        result["_meta"] = {"title": title}
    return result


# --------------------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------------------
def has_foreign_nodes(workflow) -> bool:
    """Whether a workflow holds node types from the packs this converter knows (converted or not)."""
    known = {**known_types(), **{t: p for t, (p, _w) in absent_types().items()}}
    if is_ui_workflow(workflow):
        types = [n.get("type") for n in workflow.get("nodes") or [] if isinstance(n, dict)]
    elif isinstance(workflow, dict):
        types = [n.get("class_type") for n in workflow.values() if isinstance(n, dict)]
    else:
        return False
    return any(t in known for t in types)


def convert(workflow) -> tuple[dict, dict]:
    """(converted workflow in the input's format, report). Raises ConvertError for input it cannot read."""
    nodes, ui = read_graph(workflow)
    conv = Converter(nodes)
    conv.run()
    converted = _write_ui(workflow, conv) if ui else _write_api(workflow, conv)
    absent = absent_types()
    table = mapping()["nodes"]
    report = {"format": "UI" if ui else "API", "converted": [], "kept": [], "notes": []}

    def rid(node_id):  # the id as the file has it (API ids are strings, "12:5" inside expanded subgraphs)
        return node_id if ui else _api_key(conv, node_id)

    for node_id in sorted(conv.plans):
        plan = conv.plans[node_id]
        node = nodes[node_id]
        report["converted"].append({
            "id": rid(node_id), "type": node.type, "pack": table[node.type]["pack"], "version": plan.version,
            "to": [f"{e.type} (node {rid(e.id)})" for e in plan.emitted],
            "with": [f"{nodes[c].type} (node {rid(c)}) [{v}]" for c, v in sorted(plan.parts.items())],
            "notes": plan.notes})
    for node_id in sorted(conv.refused):
        node = nodes[node_id]
        report["kept"].append({"id": rid(node_id), "type": node.type, "pack": table[node.type]["pack"],
                               "reason": conv.refused[node_id]})
    for node in sorted(nodes.values(), key=lambda n: n.id):
        if node.type in absent and node.id not in conv.claimed_by:
            pack, why = absent[node.type]
            report["kept"].append({"id": rid(node.id), "type": node.type, "pack": pack,
                                   "reason": f"not supported: {why}"})
    report["kept"].sort(key=lambda k: (str(type(k["id"])), k["id"]))
    if ui:
        marked = {k["id"]: k["reason"] for k in report["kept"]}
        for raw in converted["nodes"]:
            if raw["id"] in marked and "adl_convert" not in raw.get("properties", {}):
                raw.setdefault("properties", {})["adl_convert"] = f"not converted: {marked[raw['id']]}"
                raw["color"], raw["bgcolor"] = MARK_COLOR, MARK_BGCOLOR
        subgraphs = (workflow.get("definitions") or {}).get("subgraphs") or []
        for sg in subgraphs:
            for raw in sg.get("nodes", []) if isinstance(sg, dict) else []:
                if isinstance(raw, dict) and (raw.get("type") in table or raw.get("type") in absent):
                    report["kept"].append({"id": raw.get("id"), "type": raw.get("type"),
                                           "pack": (table.get(raw["type"]) or {}).get("pack") or absent[raw["type"]][0],
                                           "reason": f"inside subgraph {sg.get('name') or sg.get('id')}: unpack the "
                                                     "subgraph in the editor, save, and convert again"})
    report["notes"] = _notes_for_samplers(nodes, conv.plans)
    report["summary"] = summary(report)
    return converted, report


def summary(report: dict) -> str:
    n_conv, n_kept = len(report["converted"]), len(report["kept"])
    if not n_conv and not n_kept:
        return "Nothing to convert: no AnimateDiff-Evolved, VideoHelperSuite, Advanced-ControlNet or FizzNodes nodes."
    text = f"Converted {n_conv} node{'s' * (n_conv != 1)}"
    text += f"; {n_kept} left as they were (marked red)." if n_kept else "; nothing left behind."
    return text


def format_report(report: dict) -> str:
    """The report as plain lines, for the command line."""
    lines = [report["summary"]]
    for c in report["converted"]:
        extra = f" with {', '.join(c['with'])}" if c["with"] else ""
        lines.append(f"  converted node {c['id']} {c['type']} [{c['version']}]{extra} → {', '.join(c['to'])}")
        lines += [f"      note: {n}" for n in c["notes"]]
    for k in report["kept"]:
        lines.append(f"  kept node {k['id']} {k['type']} ({k['pack']}): {k['reason']}")
    lines += [f"  note: {n}" for n in report["notes"]]
    return "\n".join(lines)


def convert_text(text: str | bytes) -> tuple[dict, dict]:
    """``convert`` of JSON text, bounded in size; raises ConvertError for anything unreadable."""
    if len(text) > MAX_BYTES:
        raise ConvertError(f"the workflow is {len(text) / 1e6:.1f} MB; the converter reads at most "
                           f"{MAX_BYTES / 1e6:.1f} MB")
    try:
        data = json.loads(text)
    except ValueError as e:
        raise ConvertError(f"not JSON: {e}") from None
    return convert(data)


# --------------------------------------------------------------------------------------------------------
# Command line: python PACK convert IN.json OUT.json
# --------------------------------------------------------------------------------------------------------
EXIT_KEPT = 3


def main(argv: list[str]) -> int:
    import argparse
    import sys

    p = argparse.ArgumentParser(prog="python path/to/pack convert",
                                description="Rewrite an AnimateDiff-Evolved / VideoHelperSuite / Advanced-ControlNet / "
                                            "FizzNodes workflow with AnimateDiff-Lightning and core nodes. Prints what "
                                            "was converted and what was left as it was, and why.")
    p.add_argument("source", type=Path, help="workflow JSON (UI format as saved by the editor, or API format)")
    p.add_argument("target", type=Path, help="where to write the converted workflow (never the source)")
    p.add_argument("--strict", action="store_true", help="write nothing unless every foreign node converts")
    p.add_argument("--report", type=Path, help="also write the report as JSON here")
    args = p.parse_args(argv)
    try:
        if args.source.resolve() == args.target.resolve():
            raise ConvertError("the target is the source: write the converted workflow to another file")
        if args.source.stat().st_size > MAX_BYTES:
            raise ConvertError(f"{args.source} is {args.source.stat().st_size / 1e6:.1f} MB; the converter reads "
                               f"at most {MAX_BYTES / 1e6:.1f} MB")
        converted, report = convert_text(args.source.read_bytes())
    except (ConvertError, OSError) as e:
        print(f"error: {args.source}: {e}", file=sys.stderr)
        return 2
    print(format_report(report))
    if not report["converted"] and not report["kept"]:
        print("nothing written", file=sys.stderr)
        return 2
    if args.strict and report["kept"]:
        print(f"error: --strict: {len(report['kept'])} node(s) left as they were; nothing written", file=sys.stderr)
        return EXIT_KEPT
    args.target.parent.mkdir(parents=True, exist_ok=True)
    args.target.write_text(json.dumps(converted, indent=2, ensure_ascii=False), encoding="utf-8")
    if args.report:
        args.report.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {args.target}")
    return EXIT_KEPT if report["kept"] else 0


# --------------------------------------------------------------------------------------------------------
# The table as a document (docs/converting.md is this, checked by tests/test_convert.py)
# --------------------------------------------------------------------------------------------------------
def support_markdown() -> str:
    m = mapping()
    kinds = {"ad_loader": "Load Motion Module + Apply Motion Module (+ its Motion LoRAs and context options)",
             "ad_sampling": "Apply Motion Module (with the Gen2 loader, apply node, LoRAs and context options it is fed)",
             "ad_apply": "folded into the Apply Motion Module of the Use Evolved Sampling it feeds",
             "ad_lora": "Load Motion LoRA (Lightning), chained between Load Motion Module and Apply",
             "ad_context": "Context Options (Lightning), on the MODEL after Apply Motion Module",
             "ad_sample_settings": "its noise_type: FreeNoise on the converted Context Options (Lightning); defaults dropped"}
    lines = ["# Opening AnimateDiff-Evolved / VideoHelperSuite / Advanced-ControlNet / FizzNodes workflows", "",
             "Generated from `workflow_files/mapping.json` by `workflow_files.convert.support_markdown()`; "
             "`tests/test_convert.py` checks it is current.", "",
             "In the editor: open the workflow; when it has missing node types listed below, a panel offers "
             "**Open with AnimateDiff-Lightning nodes** (the converted graph opens in a new tab, the original stays). "
             "On the command line: `python path/to/pack convert IN.json OUT.json` (prints the report; exit status 0: "
             "all converted, 3: some nodes left as they were, marked red; 2: unreadable, nothing written), or "
             "`python path/to/pack render IN.json --out DIR`, which converts first. "
             "KSampler nodes stay core KSampler (euler with sgm_uniform or simple gives Lightning's timesteps); the "
             "report says where their settings differ from what the module was distilled for.", "",
             "## Converted", "", "| node type | pack | becomes | widget layouts recognised |", "|---|---|---|---|"]
    for t, e in m["nodes"].items():
        target = e.get("target") or kinds[e["kind"]]
        layouts = "; ".join(v["name"] for v in e["versions"]) + "; named widget values; API format"
        lines.append(f"| `{t}` | {e['pack']} | {target} | {layouts} |")
    lines += ["", "Within a converted node, a setting without a counterpart either keeps the node as it was (with the "
              "reason) or is converted with a note in the report; every such translation is in `mapping.json` "
              "(`tables`, `checks`, `refuse_linked`).", "", "## Known and not converted", "",
              "| node type | pack | why |", "|---|---|---|"]
    for pack, entries in m["absent"].items():
        for t, why in entries.items():
            lines.append(f"| `{t}` | {pack} | {why} |")
    return "\n".join(lines) + "\n"
