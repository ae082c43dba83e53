"""Planning: ``Converter`` walks the foreign nodes the table knows and makes one ``Plan`` per node that converts
(the nodes it emits, the links it redirects, the other foreign nodes it absorbs), or records why it is refused."""
from __future__ import annotations

import re

from . import controls, extras, motion, settings, sparsectrl, vhs
from .graph import Node
from .parts import Emitted, Plan
from .parts import absorb as _absorb
from .table import mapping
from .values import (
    TRANSFORMS,
    Refuse,
    recognise,
    run_checks,
    translate,
)

# why a foreign node that converts only as part of another's plan was left, when none took it
UNTAKEN = {
    "ad_lora": "a Motion LoRA is converted with the loader it feeds; it feeds none that converted",
    "ad_context": "context options are converted with the loader it feeds; it feeds none that converted",
    "ad_sample_settings": "sample settings are converted with the loader they feed; they feed none that converted",
    "ad_apply": "Apply AnimateDiff Model is converted with the Use Evolved Sampling it feeds; it feeds none that converted",
    "ad_settings": "AnimateDiff settings are converted with the loader they feed; they feed none that converted",
    "ad_pe_adjust": "a PE adjustment is converted with the AnimateDiff settings it feeds, into a loader; it feeds none "
                    "that converted",
    "ad_weight_adjust": "a weight adjustment is converted with the AnimateDiff settings it feeds, into a loader; it "
                        "feeds none that converted",
    "ad_noise_layer": "a noise layer is converted with the sample settings it feeds; it feeds none that converted",
    "ad_iteration_opts": "iteration options are converted with the sample settings they feed; they feed none that "
                         "converted",
    "ad_custom_cfg": "a custom CFG node is converted with the sample settings it feeds (through its chain); it feeds "
                     "none that converted",
    "ad_sigma_schedule": "a sigma schedule is converted with the sample settings it feeds (directly or through a "
                         "weighted mean); it feeds none that converted",
    "ad_sigma_blend": "a sigma schedule mean is converted with the sample settings it feeds, onto one of its "
                      "schedules' blend_with; it feeds none that converted",
    "acn_latent": "a latent keyframe is converted with the timestep keyframe or apply node it feeds (into its frames); "
                  "it feeds none that converted",
}


class Converter:
    def __init__(self, nodes: dict, first_id: int = 0):
        self.nodes = nodes
        self.table = mapping()["nodes"]
        self.consumers = {}
        for node in nodes.values():
            for name, (src, slot) in node.links.items():
                self.consumers.setdefault((src, slot), []).append((node.id, name))
        self.next_id = max(max(nodes, default=0) + 1, first_id)  # first_id: ids below it are used elsewhere
        self.plans: dict[int, Plan] = {}
        self.refused: dict[int, str] = {}
        self.claimed_by: dict[int, int] = {}
        self.part_refused: dict[int, str] = {}  # why a node converted as part of another's plan could not be
        self.copies: dict[int, set] = {}  # a part several loaders share (``fed_by``) -> the loaders given a copy

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

    def refuse_sources(self, node: Node, entry: dict):
        """``refuse_sources`` (input -> {types, why}): an input fed by one of those types (through Reroutes), which
        converts only with another plan (a SparseCtrl loader's, onto Apply SparseCtrl) that did not take this node."""
        for name, spec in entry.get("refuse_sources", {}).items():
            src = motion.source(self, node, name)
            if src is not None and src.type in spec["types"]:
                why = self.refused.get(src.id, "")
                raise Refuse(spec["why"].format(id=src.id, type=src.type) + (f": {why}" if why else ""))

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
        self.refuse_sources(node, entry)
        motion.check_needed(node, entry)
        motion.require_converted(self, node, entry, plan)
        motion.require_consumers(self, node, entry, plan)
        linked = self.linked_inputs(node, entry, named)
        frames = extras.latent_frames(self, node, entry, named, linked) if "latent_frames" in entry else {}
        run_checks(entry, named, plan.notes)
        target = entry["target"]
        values, widget_links = self.target_widgets(target, entry.get("widgets", {}), named, linked, plan.notes)
        if entry.get("transform"):
            TRANSFORMS[entry["transform"]](named, values, plan.notes, linked)
        self.refuse_unaccounted(node, set(entry.get("inputs", {})) | set(widget_links.values())
                                | set(entry.get("outputs_passthrough", {}).values()) | set(entry.get("adjust_inputs", {})))
        inputs = {}
        for foreign_name, target_name in entry.get("inputs", {}).items():
            if foreign_name in node.links:
                inputs[target_name] = ("old", *node.links[foreign_name])
        for target_name, foreign_name in widget_links.items():
            inputs[target_name] = ("old", *node.links[foreign_name])
        inputs.update(frames)
        inputs.update(settings.adjust_inputs(self, node, entry, plan))
        handled_slots = self.info_readers(node, entry, values, set(widget_links.values()) | linked, plan)
        slots = max([len(mapping()["targets"][target]["outputs"])] + [int(s) + 1 for s in entry.get("outputs_refused", {})]
                    + [int(s) + 1 for s in entry.get("outputs_passthrough", {})])
        self.redirect_outputs(node, entry, plan, slots + 2, handled=handled_slots)
        plan.emitted.append(Emitted(node.id, target, values, inputs, node))
        plan.claimed.add(node.id)

    def redirect_outputs(self, node: Node, entry: dict, plan: Plan, slots: int, outputs: dict | None = None,
                         handled=(), where: str = ""):
        """Each connected output of ``node`` below ``slots``: onto the emitted node's (``outputs``, by default the
        entry's), through to an input (``outputs_passthrough``), or refused (``where`` prefixes the reason)."""
        outputs = entry.get("outputs", {}) if outputs is None else outputs
        passthrough = entry.get("outputs_passthrough", {})
        for slot in range(slots):
            if not self.consumers.get((node.id, slot)) or slot in handled:
                continue
            if str(slot) in outputs:
                plan.redirects[(node.id, slot)] = ("new", node.id, outputs[str(slot)])
            elif str(slot) in passthrough:
                source = node.links.get(passthrough[str(slot)])
                if source is None:
                    raise Refuse(f"{where}output {slot} is connected but its input {passthrough[str(slot)]} is not; "
                                 "it has no counterpart")
                plan.redirects[(node.id, slot)] = ("old", *source)
            else:
                raise Refuse(entry.get("outputs_refused", {}).get(str(slot), f"{where}output {slot} has no counterpart"))

    def info_readers(self, node: Node, entry: dict, values: dict, linked: set, plan: Plan) -> set:
        """VHS's video-info readers on the loader's VHS_VIDEOINFO output (``vhs.info_readers``)."""
        return vhs.info_readers(self, node, entry, values, linked, plan)

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
            plan.emitted.append(Emitted(lora.id, "ADL_LoadMotionLoRA", values, {"motion_module": ref}, lora))
            _absorb(plan, lora, "Motion LoRA", notes, version)
            ref = ("new", lora.id, 0)
        return ref

    def fed_by(self, consumer: Node, input_name: str, kind: str, label: str) -> tuple | None:
        """(node, table entry) of the foreign node of ``kind`` on ``consumer``'s ``input_name``, which feeds
        nothing else; None when the input is not connected."""
        source = consumer.links.get(input_name)
        if source is None:
            return None
        node = self.nodes[source[0]]
        entry = self.table.get(node.type)
        if entry is None or entry["kind"] != kind:
            raise Refuse(f"its {input_name} come from node {node.id} ({node.type}), which has no counterpart")
        others = self.outside_consumers(node.id, 0, {consumer.id})
        if others:
            if node.links or any(name != input_name or self.table.get(self.nodes[c].type, {}).get("kind") not in
                                 ("ad_loader", "ad_sampling") for c, name in others):
                raise Refuse(f"its {label} node {node.id} also feeds other nodes; give each its own")
            self.copies.setdefault(node.id, set()).add(consumer.id)  # each loader gets its own copy (``share``)
        return node, entry

    def part_id(self, node: Node) -> int:
        """The id a part's converted node takes: its own, or a new one for each copy of a shared part."""
        return self.new_id() if node.id in self.copies else node.id

    def share(self):
        """A part several loaders share (nothing connected into it) went into each as a copy; the original goes
        when every node it feeds converted, and stays, with the reason, for those that did not."""
        for node_id, users in sorted(self.copies.items()):
            consumers = sorted({c for c, _n in self.consumers.get((node_id, 0), [])})
            left = [c for c in consumers if c not in self.plans]
            ids = ", ".join(map(str, consumers))
            if len(left) == len(consumers):
                self.part_refused[node_id] = f"it feeds several nodes ({ids}) and converts with each; none was converted"
                continue
            if left:
                self.part_refused[node_id] = (
                    f"it feeds several nodes ({ids}); each that converted has its own copy, and it stays for node "
                    f"{left[0]} ({self.nodes[left[0]].type}), which was not converted")
                continue
            owner = min(users)
            self.plans[owner].claimed.add(node_id)
            self.claimed_by[node_id] = owner
            for user in users:
                self.plans[user].notes.append(f"node {node_id} fed several nodes ({ids}): each has its own copy of it now")

    def context_wrap(self, consumer: Node, model_ref: tuple, plan: Plan, noise_type: str | None = None) -> tuple:
        fed = self.fed_by(consumer, "context_options", "ad_context", "context options")
        if fed is None:
            return model_ref
        ctx, entry = fed
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
        ctx_id = self.part_id(ctx)
        plan.emitted.append(Emitted(ctx_id, "ADL_ContextOptions", values, {"model": model_ref}, ctx,
                                    new=ctx_id != ctx.id, offset=(0, 60)))
        _absorb(plan, ctx, "context options", notes, version)
        if ctx_id != ctx.id:
            plan.claimed.discard(ctx.id)  # the original goes only when each node it feeds converted (``share``)
        return ("new", ctx_id, 0)

    def finish_model_output(self, node: Node, out_ref: tuple, plan: Plan):
        for slot in range(1, 4):
            if self.consumers.get((node.id, slot)):
                raise Refuse(f"output {slot} is connected and has no counterpart")
        plan.redirects[(node.id, 0)] = out_ref

    def emit_apply(self, node: Node, module_ref: tuple, values: dict, refs: dict, plan: Plan):
        """``node`` becomes ADL_ApplyMotionModule on ``module_ref`` (``refs``: its other inputs), with its sample
        settings and context options; its MODEL output then comes from the last of them."""
        inputs = {"motion_module": module_ref}
        if "model" in node.links:
            inputs["model"] = ("old", *node.links["model"])
        inputs.update(refs)
        plan.emitted.append(Emitted(node.id, "ADL_ApplyMotionModule", values, inputs, node))
        plan.claimed.add(node.id)
        noise, settings_ref = settings.sample_settings(self, node, plan)
        if settings_ref is not None:
            inputs["sample_settings"] = settings_ref
        self.finish_model_output(node, self.context_wrap(node, ("new", node.id, 0), plan, noise), plan)

    def plan_ad_loader(self, node: Node, entry: dict, named: dict, plan: Plan):
        self.refuse_linked(node, entry)
        sockets = {"model", "context_options", "motion_lora", "sample_settings"} | set(entry.get("adjust_inputs", {}))
        linked = self.linked_inputs(node, entry, named) - sockets
        run_checks(entry, named, plan.notes)
        apply_rules = entry["widgets"]["ADL_ApplyMotionModule"]
        self.refuse_unaccounted(node, sockets | {r["from"] for r in apply_rules.values() if "from" in r and "table" not in r}
                                | motion.unaccounted_ok(entry))
        load_values, _ = self.target_widgets("ADL_LoadMotionModule", entry["widgets"]["ADL_LoadMotionModule"], named,
                                             linked, plan.notes)
        apply_values, apply_links = self.target_widgets("ADL_ApplyMotionModule", entry["widgets"]["ADL_ApplyMotionModule"],
                                                        named, linked, plan.notes)
        refs = {k: ("old", *node.links[v]) for k, v in apply_links.items()}
        refs.update(motion.relinked(self, node, entry, plan))
        load_id = self.new_id()
        plan.emitted.append(Emitted(load_id, "ADL_LoadMotionModule", load_values,
                                    settings.adjust_inputs(self, node, entry, plan), node, new=True, offset=(0, 160)))
        refs.update(motion.motion_values(self, node, entry, named, linked, plan))
        module_ref = self.lora_chain(node, ("new", load_id, 0), plan)
        self.emit_apply(node, module_ref, apply_values, refs, plan)
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
            apply_named, apply_version = recognise(apply_node, apply_entry)
            apply_values, refs = motion.apply_inputs(self, apply_node, apply_entry, apply_named, plan)
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
        values.update(apply_values)
        refs.update({k: ("old", *node.links[v]) for k, v in links.items()})
        self.emit_apply(node, module_ref, values, refs, plan)

    def plan_acn_sparsectrl(self, node: Node, entry: dict, named: dict, plan: Plan):
        sparsectrl.plan_loader(self, node, entry, named, plan)

    def plan_acn_loader(self, node: Node, entry: dict, named: dict, plan: Plan):
        controls.plan_loader(self, node, entry, named, plan)

    def plan_acn_apply(self, node: Node, entry: dict, named: dict, plan: Plan):
        controls.plan_apply(self, node, entry, named, plan)

    def plan_acn_keyframe(self, node: Node, entry: dict, named: dict, plan: Plan):
        controls.plan_keyframe(self, node, entry, named, plan)

    def plan_acn_weights(self, node: Node, entry: dict, named: dict, plan: Plan):
        controls.plan_weights(self, node, entry, named, plan)

    def plan_ad_unload(self, node: Node, entry: dict, named: dict, plan: Plan):
        extras.plan_unload(self, node, entry, plan)

    def plan_vhs_core(self, node: Node, entry: dict, named: dict, plan: Plan):
        vhs.plan(self, node, entry, named, plan)

    # ---- driver ----
    def run(self):
        # SparseCtrl loaders first: they take the apply nodes they feed, which otherwise convert as plain ControlNet
        order = {"acn_sparsectrl": 0, "replace": 1, "acn_loader": 1, "acn_apply": 1, "acn_keyframe": 1, "acn_weights": 1,
                 "vhs_core": 1, "ad_unload": 1, "ad_loader": 2, "ad_sampling": 2}
        foreign = [n for n in self.nodes.values() if n.type in self.table]
        claimed_by = self.claimed_by
        for kind_rank in (0, 1, 2):
            for node in sorted(foreign, key=lambda n: n.id):
                entry = self.table[node.type]
                if order.get(entry["kind"], -1) != kind_rank or node.id in claimed_by:
                    continue
                plan = Plan()
                try:
                    named, plan.version = recognise(node, entry)
                    getattr(self, "plan_" + entry["kind"])(node, entry, named, plan)
                    missing = [r for r in plan.requires if r in self.refused]  # the rest: motion.settle
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
        owners = dict(claimed_by)
        motion.settle(self)
        for part, owner in owners.items():  # a part of a plan that settle dropped: why it stays
            if part != owner and part not in claimed_by and owner in self.refused and part not in self.part_refused:
                self.part_refused[part] = f"it converts with node {owner} ({self.nodes[owner].type}), which was not " \
                                          f"converted: {self.refused[owner]}"
        self.share()
        for node in foreign:  # absorbed kinds nobody took
            if node.id not in claimed_by and node.id not in self.refused:
                kind = self.table[node.type]["kind"]
                self.refused[node.id] = self.part_refused.get(node.id) or UNTAKEN.get(kind, "not converted")

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
