"""AnimateDiff-Evolved's AnimateDiff settings and sample settings, converted with the loader or Use Evolved Sampling
they feed.

- **AnimateDiff settings** (``ADE_AnimateDiffSettings`` on a loader's ad_settings) hold two chains: PE adjustments
  (pe_adjust ← prev_pe_adjust ← …) and weight adjustments (weight_adjust ← prev_weight_adjust ← …), each applied
  first node first (every ADE node appends itself to the chain it gets). They become one chain of Adjust Motion
  Positions / Adjust Motion Weights (Lightning) into Load Motion Module's ``adjust``: the weight chain after the
  position chain (positions act before weights wherever they are, in both packs). An ADE weight node that sets
  several groups becomes one Adjust Motion Weights per group it changes, in the order ADE applies them to a weight.
  The settings node itself goes.
- **Sample settings** (``ADE_AnimateDiffSamplingSettings``): with nothing but noise_type default / FreeNoise they
  fold into the converted Context Options (Lightning) as before; anything else (offsets, a generator other than
  comfy, another noise type, noise layers, FreeInit, a seed override) becomes Sample Settings (Lightning) on Apply
  Motion Module's ``sample_settings``, with its noise layers (reversed: ADE puts each new layer at the start of its
  list), FreeInit, custom CFG and sigma schedule (``cfg_sigma``).

A node of these chains converts only with the loader it ends in, and only when it feeds nothing else."""
from __future__ import annotations

import math

from .graph import Node
from .parts import Emitted, Plan, absorb
from .table import absent_types, mapping
from .values import Refuse, recognise, run_checks, translate

ADE_FREENOISE = "FreeNoise (AnimateDiff-Evolved)"  # ADE's FreeNoise frame for frame, on either node
CONTEXT_NOISE = ("repeated context", "FreeNoise", ADE_FREENOISE)  # made from the drawn noise with the windows


def _no_counterpart(node: Node) -> str:
    why = absent_types().get(node.type)
    return f"node {node.id} ({node.type}), which has no counterpart" + (f": {why[1]}" if why else "")


def _rule_sources(rules: dict) -> set:
    return {r["from"] for r in rules.values() if "from" in r}


def _refs(node: Node, links: dict) -> dict:
    """Target inputs fed by ``node``'s linked widgets (target name → foreign input name) as refs."""
    return {target: ("old", *node.links[foreign]) for target, foreign in links.items()}


def _chain(conv, head: Node, input_name: str, prev_input: str, kind: str, label: str) -> list[Node]:
    """The foreign nodes of ``kind`` chained into ``head``'s ``input_name`` through their ``prev_input``, nearest
    first. Each must be of ``kind`` and feed nothing but the next one."""
    chain, successor, via = [], head, input_name
    source = head.links.get(input_name)
    while source is not None:
        node = conv.nodes[source[0]]
        entry = conv.table.get(node.type)
        where = "its" if successor is head else f"{label} node {successor.id}'s"
        if entry is None or entry["kind"] != kind:
            raise Refuse(f"{where} {via} comes from {_no_counterpart(node)}")
        others = conv.outside_consumers(node.id, 0, {successor.id})
        if others:
            conv.part_refused[node.id] = _shared([successor.id, *(c for c, _n in others)], "chain")
            raise Refuse(f"its {label} node {node.id} also feeds other nodes; give each chain its own")
        chain.append(node)
        successor, via = node, prev_input
        source = node.links.get(prev_input)
    return chain


def _shared(consumers: list, owner: str) -> str:
    """A shared chain node's own reason: which nodes it feeds."""
    ids = ", ".join(str(c) for c in sorted(set(consumers)))
    return f"it feeds several nodes ({ids}) and converts only as part of one {owner}: give each its own"


def _part(conv, node: Node, label: str, build):
    """``build()`` for one chain node; a refusal is recorded as that node's own reason and named in its owner's."""
    try:
        return build()
    except Refuse as e:
        conv.part_refused[node.id] = str(e)
        raise Refuse(f"its {label} node {node.id}: {e}") from None


# --------------------------------------------------------------------------------------------------------
# AnimateDiff settings → Adjust Motion Positions / Weights → Load Motion Module's adjust
# --------------------------------------------------------------------------------------------------------
def adjust_inputs(conv, node: Node, entry: dict, plan: Plan) -> dict:
    """Load Motion Module's inputs made from the AnimateDiff settings on ``node`` (``adjust_inputs``: foreign
    input → Load Motion Module's input): target input → ref; refuses what has no counterpart."""
    refs = {}
    for foreign, target in entry.get("adjust_inputs", {}).items():
        ref = _adjustments(conv, node, foreign, plan)
        if ref is not None:
            refs[target] = ref
    return refs


def _adjustments(conv, consumer: Node, input_name: str, plan: Plan) -> tuple | None:
    source = consumer.links.get(input_name)
    if source is None:
        return None
    node = conv.nodes[source[0]]
    entry = conv.table.get(node.type)
    if entry is None or entry["kind"] != "ad_settings":
        raise Refuse(f"its {input_name} comes from {_no_counterpart(node)}")
    others = conv.outside_consumers(node.id, 0, {consumer.id})
    if others:
        conv.part_refused[node.id] = _shared([consumer.id, *(c for c, _n in others)], "loader")
        raise Refuse(f"its AnimateDiff settings node {node.id} also feeds other nodes; give each loader its own")

    def build():
        conv.refuse_unaccounted(node, {"pe_adjust", "weight_adjust"})
        _named, version = recognise(node, entry)
        positions = _chain(conv, node, "pe_adjust", "prev_pe_adjust", "ad_pe_adjust", "PE adjustment")
        weights = _chain(conv, node, "weight_adjust", "prev_weight_adjust", "ad_weight_adjust", "weight adjustment")
        return version, positions, weights

    try:
        version, positions, weights = build()
        ref = None
        for pe in reversed(positions):  # the chain's first node (no prev_pe_adjust) acts first, as ours do
            ref = _part(conv, pe, "PE adjustment", lambda pe=pe, ref=ref: _positions(conv, pe, ref, plan))
        for weight in reversed(weights):
            ref = _part(conv, weight, "weight adjustment",
                        lambda weight=weight, ref=ref: _weights(conv, weight, ref, plan))
    except Refuse as e:
        conv.part_refused[node.id] = str(e)
        raise Refuse(f"AnimateDiff settings node {node.id}: {e}") from None
    notes = []
    if positions and weights:
        notes.append(f"its weight adjustments (from node {weights[-1].id}) follow its PE adjustments (to node "
                     f"{positions[0].id}) in one chain into Load Motion Module's adjust: positions act first, as in "
                     "AnimateDiff-Evolved")
    elif not positions and not weights:
        notes.append("no adjustments are connected to it: nothing to carry over")
    else:
        notes.append("its adjustments go into Load Motion Module's adjust; the settings node itself is gone")
    absorb(plan, node, "AnimateDiff settings", notes, version)
    return ref


def _positions(conv, node: Node, previous: tuple | None, plan: Plan) -> tuple:
    entry = conv.table[node.type]
    named, version = recognise(node, entry)
    linked = conv.linked_inputs(node, entry, named)
    conv.refuse_unaccounted(node, {"prev_pe_adjust", "print_adjustment"} | _rule_sources(entry["widgets"]))
    notes = []
    run_checks(entry, named, notes)
    values, links = conv.target_widgets("ADL_AdjustPositions", entry["widgets"], named, linked, notes)
    inputs = _refs(node, links)
    if previous is not None:
        inputs["previous"] = previous
    plan.emitted.append(Emitted(node.id, "ADL_AdjustPositions", values, inputs, node))
    absorb(plan, node, "PE adjustment", notes, version)
    return ("new", node.id, 0)


def _weights(conv, node: Node, previous: tuple | None, plan: Plan) -> tuple:
    """One Adjust Motion Weights per group ``node`` changes (a linked value counts as a change), chained in the
    order of the group choices: the order AnimateDiff-Evolved applies one node's groups to a weight (all, then the
    weight's own group), so each weight gets the same operations in the same order."""
    entry = conv.table[node.type]
    named, version = recognise(node, entry)
    linked = conv.linked_inputs(node, entry, named)
    conv.refuse_unaccounted(node, {"prev_weight_adjust", "print_adjustment"} | {w for w, _g in entry["weights"]})
    notes = []
    run_checks(entry, named, notes)
    target = mapping()["targets"]["ADL_AdjustWeights"]
    op = entry["op"]
    default = target["defaults"][op["to"]]
    order = target["options"]["group"]
    changed = []
    for widget, group in sorted(entry["weights"], key=lambda wg: order.index(wg[1])):
        value = translate({"from": widget, "default": default, "min": op["min"], "max": op["max"], "linked": "keep"},
                          named, linked, notes)
        if isinstance(value, tuple) or not math.isclose(value, default):
            changed.append((group, value))
    if not changed:
        changed = [(entry["weights"][0][1], default)]
        notes.append(f"every value is the default ({op['to']} {default}): one Adjust Motion Weights that changes "
                     "nothing keeps its place in the chain")
    elif len(changed) > 1:
        notes.append(f"one Adjust Motion Weights per group it changes ({', '.join(g for g, _v in changed)}), chained "
                     "in the order AnimateDiff-Evolved applies them to a weight")
    ref = previous
    for i, (group, value) in enumerate(changed):
        values = dict(target["defaults"], group=group)
        inputs = {} if ref is None else {"previous": ref}
        if isinstance(value, tuple):  # ("link", widget name)
            inputs[op["to"]] = ("old", *node.links[value[1]])
        else:
            values[op["to"]] = value
        node_id = node.id if i == 0 else conv.new_id()
        plan.emitted.append(Emitted(node_id, "ADL_AdjustWeights", values, inputs, node, new=i > 0, offset=(0, 150 * i)))
        ref = ("new", node_id, 0)
    absorb(plan, node, "weight adjustment", notes, version)
    return ref


# --------------------------------------------------------------------------------------------------------
# Sample settings → Sample Settings (Lightning) (or the Context Options' noise_type), noise layers, FreeInit
# --------------------------------------------------------------------------------------------------------
def sample_settings(conv, consumer: Node, plan: Plan) -> tuple[str | None, tuple | None]:
    """ADE's sample settings on ``consumer``: (the noise type for the converted context options, None) when they
    fold into those, (None, a ref to the Sample Settings (Lightning) made of them) otherwise, (None, None) without
    them; refuses what has no counterpart."""
    fed = conv.fed_by(consumer, "sample_settings", "ad_sample_settings", "sample settings")
    if fed is None:
        return None, None
    node, entry = fed
    rules = entry["widgets"]["ADL_SampleSettings"]
    notes = []
    try:
        conv.refuse_linked(node, entry)
        named, version = recognise(node, entry)
        linked = conv.linked_inputs(node, entry, named)
        conv.refuse_unaccounted(node, {"noise_layers", "iteration_opts", "seed_override", "custom_cfg", "sigma_schedule"}
                                | _rule_sources(rules))
        run_checks(entry, named, notes)
        _saved_seed_override(node, named, notes)
        values, links = conv.target_widgets("ADL_SampleSettings", rules, named, linked, notes)
        refs = _refs(node, links)
        if "seed_override" in node.links:
            refs["seed_override"] = ("old", *node.links["seed_override"])
        layers = noise_layers(conv, node, plan, notes)
        if layers is not None:
            refs["noise_layers"] = layers
        freeinit = iteration_opts(conv, node, plan)
        if freeinit is not None:
            refs["freeinit"] = freeinit
        from .cfg_sigma import custom_cfg, sigma_schedule  # it uses this module's chain helpers
        cfg = custom_cfg(conv, node, plan, notes)
        if cfg is not None:
            refs["custom_cfg"] = cfg
        sigmas = sigma_schedule(conv, node, plan)
        if sigmas is not None:
            refs["sigma_schedule"] = sigmas
    except Refuse as e:
        conv.part_refused[node.id] = str(e)
        raise Refuse(f"sample settings node {node.id}: {e}") from None
    windows = "context_options" in consumer.links
    defaults = mapping()["targets"]["ADL_SampleSettings"]["defaults"]
    if not refs and values["noise_type"] in ("default", ADE_FREENOISE) and all(
            values[k] == defaults[k] for k in ("seed_gen", "seed_offset", "batch_offset")):
        noise = "per-frame" if values["noise_type"] == "default" else ADE_FREENOISE
        if noise == ADE_FREENOISE and not windows:
            notes.append("noise_type FreeNoise only acts across context windows, and there are none: dropped")
        absorb(plan, node, "sample settings", notes, version)
        if node.id in conv.copies:
            plan.claimed.discard(node.id)
        return noise, None
    if values["noise_type"] in CONTEXT_NOISE:
        if windows:
            notes.append(f"noise_type {values['noise_type']} is made by Sample Settings (Lightning) from its own draw, "
                         "before its noise layers, as AnimateDiff-Evolved does (the Context Options keep per-frame)")
        else:
            notes.append(f"noise_type {values['noise_type']} only acts across context windows, and there are none: "
                         "the noise stays as drawn, as in AnimateDiff-Evolved")
    settings_id = conv.part_id(node)
    plan.emitted.append(Emitted(settings_id, "ADL_SampleSettings", values, refs, node, new=settings_id != node.id,
                                offset=(0, 60)))
    absorb(plan, node, "sample settings", notes, version)
    if settings_id != node.id:
        plan.claimed.discard(node.id)  # the original goes only when each loader it feeds converted (``share``)
    return None, ("new", settings_id, 0)


def _saved_seed_override(node: Node, named: dict, notes: list):
    """AnimateDiff-Evolved of early 2025 (defaultInput) saved seed_override as a widget value. Not connected, the
    frontends of that time did not send it (the sampler's seed was used): a saved 0, the default, is dropped. A
    value typed in, or one an API prompt carries, was the seed; Sample Settings (Lightning) takes one only over a
    link, so that is refused."""
    if "seed_override" not in named or "seed_override" in node.links:
        return
    value = named["seed_override"]
    if node.ui and value in (0, None):
        notes.append("seed_override was saved as a widget (AnimateDiff-Evolved, early 2025) and is not connected: the "
                     "sampler's seed is used, as the frontends of that time queued it")
        return
    raise Refuse(f"seed_override {value} is a typed value, not a connected one; this pack's seed_override takes a seed "
                 "only over a link: connect a node giving the seed to it first")


def noise_layers(conv, settings: Node, plan: Plan, notes: list) -> tuple | None:
    """The noise layers on ``settings`` as Noise Layer (Lightning) nodes; a ref to the last, or None.

    ADE inserts each layer at the start of its list (``add_to_start``): of A → B → settings, B acts first, then A.
    Ours act ``previous`` first, so the chain is reversed: B's node starts it, A's (previous ← B) ends it."""
    chain = _chain(conv, settings, "noise_layers", "prev_noise_layers", "ad_noise_layer", "noise layer")
    ref = None
    for layer in chain:  # nearest the settings first: that is the order ADE applies them in
        ref = _part(conv, layer, "noise layer", lambda layer=layer, ref=ref: _layer(conv, layer, ref, plan))
    if len(chain) > 1:
        notes.append("noise layers reversed: AnimateDiff-Evolved applies the layer nearest the settings first (node "
                     f"{chain[0].id}) and the first of its chain last (node {chain[-1].id}); Noise Layer (Lightning) "
                     f"applies previous layers first, so node {chain[0].id} now starts the chain ("
                     + " → ".join(str(n.id) for n in chain) + ") and feeds the settings through the others")
    return ref


def _layer(conv, node: Node, previous: tuple | None, plan: Plan) -> tuple:
    entry = conv.table[node.type]
    named, version = recognise(node, entry)
    linked = conv.linked_inputs(node, entry, named)
    conv.refuse_unaccounted(node, {"prev_noise_layers"} | set(entry["inputs"]) | _rule_sources(entry["widgets"]))
    notes = []
    _saved_seed_override(node, named, notes)
    values, links = conv.target_widgets("ADL_NoiseLayer", entry["widgets"], named, linked, notes)
    inputs = _refs(node, links)
    for foreign, target in entry["inputs"].items():
        if foreign in node.links:
            inputs[target] = ("old", *node.links[foreign])
    if previous is not None:
        inputs["previous"] = previous
    plan.emitted.append(Emitted(node.id, "ADL_NoiseLayer", values, inputs, node))
    absorb(plan, node, "noise layer", notes, version)
    return ("new", node.id, 0)


def iteration_opts(conv, settings: Node, plan: Plan) -> tuple | None:
    """The iteration options on ``settings``: FreeInit as FreeInit (Lightning) (a ref to it); default options with
    one iteration are dropped (None); other counts are refused."""
    source = settings.links.get("iteration_opts")
    if source is None:
        return None
    node = conv.nodes[source[0]]
    entry = conv.table.get(node.type)
    if entry is None or entry["kind"] != "ad_iteration_opts":
        raise Refuse(f"its iteration_opts come from {_no_counterpart(node)}")
    others = conv.outside_consumers(node.id, 0, {settings.id})
    if others:
        conv.part_refused[node.id] = _shared([settings.id, *(c for c, _n in others)], "sample settings node")
        raise Refuse(f"its iteration options node {node.id} also feeds other nodes; give each its own")

    def build():
        named, version = recognise(node, entry)
        rules = entry.get("widgets", {})
        conv.refuse_unaccounted(node, _rule_sources(rules))
        notes = []
        run_checks(entry, named, notes)
        if "target" not in entry:  # default iteration options: one run is sampling without them
            notes.append("iterations 1: one sampling run, the same as without iteration options: dropped")
            absorb(plan, node, "iteration options", notes, version)
            return None
        values, links = conv.target_widgets(entry["target"], rules, named, conv.linked_inputs(node, entry, named), notes)
        plan.emitted.append(Emitted(node.id, entry["target"], values, _refs(node, links), node))
        absorb(plan, node, "FreeInit", notes, version)
        return ("new", node.id, 0)

    return _part(conv, node, "iteration options", build)
