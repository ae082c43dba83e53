"""Planning AnimateDiff loaders (Gen1 loaders, Use Evolved Sampling) and the parts that convert with them: the
Motion LoRA chain, context options and sample settings (copied into each loader that shares them), Apply Motion
Module. A mixin of ``plan.Converter``, which holds the graph and the plans."""
from __future__ import annotations

import re

from . import motion, settings
from .graph import Node
from .parts import Emitted, Plan
from .parts import absorb as _absorb
from .values import Refuse, recognise, run_checks


class LoaderPlanning:
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
                named, version = recognise(lora, entry)
                notes = []
                values, links = self.target_widgets("ADL_LoadMotionLoRA", entry["widgets"], named,
                                                    self.linked_inputs(lora, entry, named), notes)
                self.refuse_unaccounted(lora, {"prev_motion_lora"} | set(links.values()))
            except Refuse as e:
                raise Refuse(f"its Motion LoRA node {lora.id}: {e}") from None
            inputs = {"motion_module": ref, **{name: ("old", *lora.links[old]) for name, old in links.items()}}
            plan.emitted.append(Emitted(lora.id, "ADL_LoadMotionLoRA", values, inputs, lora))
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
            named, version = recognise(ctx, entry)
            linked = self.linked_inputs(ctx, entry, named)
            notes = []
            if named.get("start_percent", 0) not in (0, 0.0, None):
                raise Refuse(f"start_percent {named['start_percent']} (windows only from part-way) has no counterpart")
            if named.get("use_on_equal_length"):
                notes.append("use_on_equal_length was on: with as many frames as context_length no windows are used")
            values, links = self.target_widgets("ADL_ContextOptions", entry["widgets"], named, linked, notes)
            self.refuse_unaccounted(ctx, set(links.values()))
            _context_stride(values, named, notes)
            if noise_type:
                values["noise_type"] = noise_type
            if links:  # values over links: the node checks them when it runs
                notes.append(f"{', '.join(sorted(links))} {'comes' if len(links) == 1 else 'come'} from another node "
                             "and stays linked")
            elif values["context_overlap"] >= values["context_length"]:
                raise Refuse(f"context_overlap {values['context_overlap']} must be smaller than context_length")
            if values.get("context_length", 0) > 32:
                notes.append(f"context_length {values['context_length']} is more than Lightning's 32 positions")
        except Refuse as e:
            raise Refuse(f"context options node {ctx.id}: {e}") from None
        ctx_id = self.part_id(ctx)
        inputs = {"model": model_ref, **{name: ("old", *ctx.links[old]) for name, old in links.items()}}
        plan.emitted.append(Emitted(ctx_id, "ADL_ContextOptions", values, inputs, ctx,
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
        linked = self.linked_inputs(node, entry, named)
        linked -= sockets  # in place: a Linked keeps its primitives
        run_checks(entry, named, plan.notes)
        apply_rules = entry["widgets"]["ADL_ApplyMotionModule"]
        self.refuse_unaccounted(node, sockets | {r["from"] for r in apply_rules.values() if "from" in r and (
            "table" not in r or r["from"] in linked.primitives)} | motion.unaccounted_ok(entry))
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
            return self.plan_windows_only(node, named, plan)
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

    def plan_windows_only(self, node: Node, named: dict, plan: Plan):
        """Use Evolved Sampling with no motion model: AnimateDiff-Evolved then samples the plain model, its
        context options as windows over the batch (an image batch rendered in pieces) and its model sampling
        kept under autoselect. That is Context Options (Lightning) on the model, which needs no motion module."""
        if "model" not in node.links:
            raise Refuse("its model input is not connected (AnimateDiff-Evolved would stop here too)")
        if named.get("beta_schedule") not in ("autoselect", "use existing"):
            raise Refuse(f"beta_schedule {named.get('beta_schedule')!r} without a motion model replaces the model's "
                         "noise schedule; this converter carries a beta schedule only on Apply Motion Module")
        noise, settings_ref = settings.sample_settings(self, node, plan)
        if settings_ref is not None:
            raise Refuse("its sample settings need a motion module to ride on (Sample Settings (Lightning) goes on "
                         "Apply Motion Module), and no motion model is connected")
        plan.claimed.add(node.id)
        if "context_options" not in node.links:
            plan.notes.append("no motion model and no context options: AnimateDiff-Evolved passes the model on "
                              "as it is (autoselect keeps its sampling), so the node is removed")
        else:
            plan.notes.append("no motion model: AnimateDiff-Evolved samples the plain model in context windows over "
                              "the batch; Context Options (Lightning) does the same on the model, no motion module")
        model_ref = ("old", *node.links["model"])
        out = self.batched_windows(node, model_ref, plan, noise) or self.context_wrap(node, model_ref, plan, noise)
        self.finish_model_output(node, out, plan)

    def batched_windows(self, node: Node, model_ref: tuple, plan: Plan, noise: str | None) -> tuple | None:
        """ADE's batched context options (consecutive windows, no overlap, the last one shorter) on a plain model:
        every frame is denoised on its own, so any windows give the same frames; they are Context Options
        (Lightning) static with overlap 0 (its last window full-length, overlapping the one before), flat."""
        source = node.links.get("context_options")
        ctx = self.nodes[source[0]] if source else None
        if ctx is None or ctx.type != "ADE_BatchedContextOptions":
            return None
        where = f"batched context options node {ctx.id}"
        if self.outside_consumers(ctx.id, 0, {node.id}):
            raise Refuse(f"{where} also feeds other nodes; give each its own")
        if ctx.links:
            raise Refuse(f"{where}: {', '.join(sorted(ctx.links))} connected (chained schedules or linked values); "
                         "no counterpart")
        raw = ctx.widget_values()
        named = dict(zip(("context_length", "start_percent", "guarantee_steps"), raw)) if isinstance(raw, list) \
            else dict(raw or {})
        length = named.get("context_length", 16)
        if not isinstance(length, int) or length < 2:
            raise Refuse(f"{where}: context_length {length!r}; Context Options (Lightning) takes 2 or more")
        if named.get("start_percent", 0) not in (0, 0.0, None):
            raise Refuse(f"{where}: start_percent {named['start_percent']} (windows only from part-way) has no "
                         "counterpart")
        values = {"context_length": length, "context_overlap": 0, "context_schedule": "static", "fuse_method": "flat",
                  "closed_loop": False, "noise_type": noise or "per-frame"}
        ctx_id = self.part_id(ctx)
        inputs = {"model": model_ref}
        plan.emitted.append(Emitted(ctx_id, "ADL_ContextOptions", values, inputs, ctx,
                                    new=ctx_id != ctx.id, offset=(0, 60)))
        _absorb(plan, ctx, "context options", [
            f"batched windows of {length} became Context Options (Lightning) static, overlap 0, flat: its last window "
            "is full-length and overlaps the one before; with no motion module each frame is denoised on its own, "
            "so the frames are the same (the windows only bound the memory)"], "batched (context_length, start_percent, "
            "guarantee_steps)")
        return ("new", ctx_id, 0)


STRIDE_MAX = 32  # Context Options (Lightning)'s largest context_stride, AnimateDiff-Evolved's own (STRIDE_MAX)


def _context_stride(values: dict, named: dict, notes: list):
    """AnimateDiff-Evolved's context_stride onto ours: core's uniform and looped schedules take it as ADE's do (the
    same windows); static ignores it in both, so a stride there is dropped with a note."""
    stride = values.get("context_stride", 1)
    if stride is None:
        stride = values["context_stride"] = 1
    if isinstance(stride, bool) or not isinstance(stride, (int, float)) or float(stride) != int(stride) or stride < 1:
        raise Refuse(f"context_stride {stride!r} is not a whole number of at least 1")
    stride = values["context_stride"] = int(stride)
    if stride == 1:
        return
    if values.get("context_schedule") == "static":
        values["context_stride"] = 1
        notes.append(f"context_stride {stride} dropped: the static schedule ignores it (in AnimateDiff-Evolved too), "
                     "so the windows are the same")
        return
    if stride > STRIDE_MAX:
        values["context_stride"] = STRIDE_MAX
        notes.append(f"context_stride {stride} is {STRIDE_MAX} here (its largest): the same windows, as the spacings "
                     f"2^k stop at ceil(log2(frames / context_length)) + 1 levels, fewer than {STRIDE_MAX} for any "
                     f"video under context_length × 2^{STRIDE_MAX - 1} frames")
    if values.get("context_schedule") == "uniform":
        notes.append(f"context_stride {stride}: the same windows as AnimateDiff-Evolved's; on the uniform schedule a "
                     "video too short for its widest spacing 2^k ((context_length - 1) × 2^k + 1 frames) gets a window "
                     "past the last frame, which stops the run with a message (AnimateDiff-Evolved fails there too)")


def _steps_note(model_name, plan: Plan):
    match = re.search(r"lightning_(\d)step", str(model_name or ""))
    if match:
        plan.steps = int(match.group(1))
