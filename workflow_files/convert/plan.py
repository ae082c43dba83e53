"""Planning: ``Converter`` walks the foreign nodes the table knows and makes one ``Plan`` per node that converts
(the nodes it emits, the links it redirects, the other foreign nodes it absorbs), or records why it is refused."""
from __future__ import annotations

from . import controls, extras, fizz, motion, settings, sparsectrl, vhs, vhs_info  # noqa: F401 (fizz: its transform)
from .graph import Node
from .loaders import LoaderPlanning
from .parts import Emitted, Plan
from .table import mapping
from .values import (
    TRANSFORMS,
    Linked,
    Refuse,
    primitive_value,
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


class Converter(LoaderPlanning):
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
        self.linked_of: dict[int, Linked] = {}  # a node's linked widgets, as ``linked_inputs`` found them

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def entry(self, node: Node) -> dict:
        return self.table[node.type]

    def linked_inputs(self, node: Node, entry: dict, named: dict) -> set:
        """Widget names whose value comes from a link (a widget converted to an input); ``primitives`` names those
        fed by a primitive holding a literal, which a widget whose value must be translated takes typed."""
        linked = Linked(name for name in node.links if name in named or any(
            name == w[0] for v in entry.get("versions", []) for w in v["widgets"]))
        for name in linked:
            src = motion.source(self, node, name)
            value = primitive_value(src) if src is not None else None
            if value is not None:
                linked.primitives[name] = (src.id, value)
        self.linked_of[node.id] = linked
        return linked

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
        """A connected input no rule of the table handles is never dropped silently (a primitive's value typed into
        the converted node is handled: ``Linked.resolved``)."""
        handled = set(handled) | getattr(self.linked_of.get(node.id), "resolved", set())
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
        for name in entry.get("typed_from_primitive", []):  # values the transform reads: a primitive's is typed in
            if name in linked.primitives:
                src, named[name] = linked.primitives[name]
                linked.discard(name)
                linked.resolved.add(name)
                plan.notes.append(f"{name} came from a primitive (node {src}) holding {named[name]!r}: typed into the "
                                  "converted node")
        frames = extras.latent_frames(self, node, entry, named, linked) if "latent_frames" in entry else {}
        run_checks(entry, named, plan.notes)
        target = entry["target"]
        values, widget_links = self.target_widgets(target, entry.get("widgets", {}), named, linked, plan.notes)
        if entry.get("transform"):
            TRANSFORMS[entry["transform"]](named, values, plan.notes, linked)
        self.refuse_unaccounted(node, set(entry.get("inputs", {})) | set(widget_links.values()) | set(entry.get("dropped_inputs", []))
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
        """VHS's video-info readers on the loader's VHS_VIDEOINFO output (``vhs_info.info_readers``)."""
        return vhs_info.info_readers(self, node, entry, values, linked, plan)

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

    def plan_ad_checkpoint(self, node: Node, entry: dict, named: dict, plan: Plan):
        extras.plan_checkpoint(self, node, entry, named, plan)

    def plan_ad_unload(self, node: Node, entry: dict, named: dict, plan: Plan):
        extras.plan_unload(self, node, entry, plan)

    def plan_vhs_core(self, node: Node, entry: dict, named: dict, plan: Plan):
        vhs.plan(self, node, entry, named, plan)

    # ---- driver ----
    def run(self):
        # SparseCtrl loaders first: they take the apply nodes they feed, which otherwise convert as plain ControlNet
        order = {"acn_sparsectrl": 0, "replace": 1, "acn_loader": 1, "acn_apply": 1, "acn_keyframe": 1, "acn_weights": 1,
                 "vhs_core": 1, "ad_unload": 1, "ad_checkpoint": 1, "ad_loader": 2, "ad_sampling": 2}
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
