"""Advanced-ControlNet's SparseCtrl, converted from its loader: ``ACN_SparseCtrlLoaderAdvanced`` becomes Load
SparseCtrl (Lightning), and every apply node its CONTROL_NET feeds (Apply Advanced ControlNet, its v2, core Apply
ControlNet) becomes Apply SparseCtrl (Lightning), with the loader's sparse method (``ACN_SparseCtrlIndexMethodNode``
/ ``ACN_SparseCtrlSpreadMethodNode``, absorbed) as its placement and, for RGB, the raw images and VAE that ACN's RGB
preprocessor (``ACN_SparseCtrlRGBPreprocessor``, absorbed) encoded: Apply SparseCtrl encodes them itself, at the
latent's size. In ACN the placement belongs to the loader; here to each apply, so one loader feeding several
applies converts too.

The method nodes and the preprocessor have no entry of their own in the table's ``nodes``: their layouts are in
the loader's entry (``sparse_method``, ``hints``) and they are listed in ``absent`` with what they convert with,
as VideoHelperSuite's video-info readers are. Anything that does not fit (a CONTROL_NET into another node, a
preprocessor feeding something else, a method node shared by two loaders) keeps the loader as it was, with the
reason; the part gets its own reason too."""
from __future__ import annotations

from . import controls, motion
from .graph import Node
from .parts import Emitted, Plan, absorb
from .table import mapping
from .values import Refuse, recognise, run_checks

NEAREST = ("nearest_hint", True)   # context_aware: a window without a hint gets the nearest one (ACN's default)
OFF = ("off", False)


def _shared(conv, part: Node, users: list) -> str:
    return f"it feeds several nodes ({', '.join(str(u) for u in users)}) and converts only with one " \
           f"SparseCtrl loader's plan: give each its own"


def _uses_context(conv) -> bool:
    return any(conv.table.get(n.type, {}).get("kind") == "ad_context" or n.type == "ADL_ContextOptions"
               for n in conv.nodes.values())


def _placement(conv, node: Node, entry: dict, plan: Plan) -> tuple[dict, dict]:
    """(placement / indexes values, input refs) from the loader's sparse_method (ACN's default: spread uniform)."""
    spec = entry["sparse_method"]
    src = motion.source(conv, node, spec["input"])
    if src is None:
        return {"placement": "spread uniform"}, {}
    part = spec["types"].get(src.type)
    if part is None:
        raise Refuse(f"its {spec['input']} comes from node {src.id} ({src.type}), which has no counterpart "
                     "(only the Index and Spread Method nodes convert, onto Apply SparseCtrl's placement)")
    users = sorted(motion.consumers(conv, src.id, 0), key=lambda n: n.id)
    others = [u for u in users if u.type != node.type or motion.source(conv, u, spec["input"]) is not src]
    if others:
        conv.part_refused[src.id] = f"it feeds node {others[0].id} ({others[0].type}) too, which is not a " \
                                    "SparseCtrl loader's sparse_method; it converts only with SparseCtrl loaders"
        raise Refuse(f"its sparse method node {src.id} also feeds node {others[0].id} ({others[0].type}), which is "
                     "not a SparseCtrl loader's sparse_method; give the loader its own")
    try:
        named, version = recognise(src, part)
        notes, refs = [], {}
        if "spread" in part["widgets"]:
            names = part["widgets"]["spread"]   # spread; from_start in the first development layout
            if any(n in src.links for n in names):
                raise Refuse("spread comes from another node; make it a widget first")
            name = next((n for n in names if n in named), names[0])
            value = named.get(name)
            row = mapping()["tables"][part["table"]].get(str(value))
            if row is None:
                raise Refuse(f"{name} {value!r} is not a spread Advanced-ControlNet had")
            if "refuse" in row:
                raise Refuse(row["refuse"])
            if row.get("note"):
                notes.append(row["note"])
            values = {"placement": row["to"]}
        else:
            names = part["widgets"]["indexes"]   # the widget's names over time (indeces, then indexes)
            linked = [n for n in names if n in src.links]
            values = {"placement": "indexes"}
            if linked:
                refs["indexes"] = ("old", *src.links[linked[0]])
            else:
                value = next((named[n] for n in names if n in named), None)
                if not isinstance(value, str):
                    raise Refuse(f"indexes {value!r} is not the typed list of frames Advanced-ControlNet reads")
                values["indexes"] = value
    except Refuse as e:
        conv.part_refused[src.id] = str(e)
        raise Refuse(f"its sparse method node {src.id}: {e}") from None
    if users[0] is node:  # one plan removes it; each loader's applies get the same placement
        absorb(plan, src, "sparse method", notes, version)
    else:
        plan.parts[src.id] = version
    if len(users) > 1:  # all of them convert or none (the method node goes with the first)
        plan.requires.update(u.id for u in users if u is not node)
        plan.notes.append(f"sparse method node {src.id} is shared with SparseCtrl loader node(s) "
                          f"{', '.join(str(u.id) for u in users if u is not node)}: each one's applies get its "
                          "placement")
    return values, refs


def _apply_widgets(conv, apply: Node, plan: Plan) -> tuple[dict, dict, str, dict]:
    """(strength / start / end values, their links as refs, layout, the apply's table entry or {}) of one apply."""
    entry = conv.table.get(apply.type)
    if entry is not None:
        conv.refuse_linked(apply, entry)
        named, version = recognise(apply, entry)
        rules = entry["widgets"]
    else:  # core Apply ControlNet: the layout this table writes for it
        schema = mapping()["targets"][apply.type]
        raw = apply.widget_values()
        names = [w for w, _k in schema["widgets"]]
        if isinstance(raw, dict):
            named, version = dict(raw), "API format (named inputs)" if not apply.ui else "named widget values"
        elif isinstance(raw, list) and len(raw) == len(names):
            named, version = dict(zip(names, raw)), f"core ({', '.join(names)})"
        else:
            raise Refuse(f"its widget values {str(raw)[:60]} are not core Apply ControlNet's {', '.join(names)}")
        rules = {n: {"from": n} for n in names}
        entry = {}
    values, refs = {}, {}
    for target, rule in rules.items():
        name = rule["from"]
        if name in apply.links:
            refs[target] = ("old", *apply.links[name])
        elif name in named:
            values[target] = named[name]
    return values, refs, version, entry


def _hint(conv, apply: Node, entry: dict, loader: Node, plan: Plan) -> dict:
    """Apply SparseCtrl's images / vae refs: the apply's image, or the raw image and VAE of ACN's RGB preprocessor
    on it (which goes: Apply SparseCtrl encodes them itself, at the latent's size)."""
    image_input = "image"
    vae_input = "vae_optional" if entry else "vae"
    if image_input not in apply.links:
        raise Refuse(f"its apply node {apply.id} has no image connected (the hint images)")
    refs = {"images": ("old", *apply.links[image_input])}
    if vae_input in apply.links:
        refs["vae"] = ("old", *apply.links[vae_input])
    src = motion.source(conv, apply, image_input)
    spec = mapping()["nodes"][loader.type]["hints"].get(src.type) if src is not None else None
    if spec is None:
        return refs
    users = sorted({c.id for c in motion.consumers(conv, src.id, 0)})
    if users != [apply.id]:
        conv.part_refused[src.id] = _shared(conv, src, users)
        raise Refuse(f"its RGB preprocessor node {src.id} also feeds other nodes (its output is a latent pretending "
                     "to be an image, which only the apply it feeds reads); give each apply its own")
    try:
        _named, version = recognise(src, spec)
        if spec["image"] not in src.links:
            raise Refuse(f"its {spec['image']} is not connected")
    except Refuse as e:
        conv.part_refused[src.id] = str(e)
        raise Refuse(f"its RGB preprocessor node {src.id}: {e}") from None
    notes = []
    if spec["vae"] not in src.links:  # saved so, it did not run in Advanced-ControlNet either
        notes.append(f"its {spec['vae']} is not connected (as saved, it could not run in Advanced-ControlNet either)")
    elif "vae" in refs:
        notes.append("the apply's vae_optional was replaced by the preprocessor's vae (the one that encoded the hints)")
    for name, why in spec.get("dropped", {}).items():
        if name in src.links:
            notes.append(f"{name} dropped: {why}")
    if spec["vae"] in src.links:
        refs["vae"] = ("old", *src.links[spec["vae"]])
    plan.redirects[(src.id, 0)] = ("old", *src.links[spec["image"]])  # a Reroute after it now carries the images
    absorb(plan, src, "RGB preprocessor", notes, version)
    return refs


def _apply(conv, apply: Node, loader: Node, placement: tuple[dict, dict], plan: Plan, rgb: bool):
    values, refs, version, entry = _apply_widgets(conv, apply, plan)
    hint = _hint(conv, apply, entry, loader, plan)
    handled = {"positive", "negative", "control_net", "image", "vae_optional" if entry else "vae"} | \
        {r["from"] for r in (entry.get("widgets", {}) if entry else {}).values()} | \
        {"strength", "start_percent", "end_percent"} | set(entry.get("outputs_passthrough", {}).values()) | \
        set(entry.get("controls", {}))
    conv.refuse_unaccounted(apply, handled)
    for name in ("positive", "negative"):
        if name not in apply.links:
            raise Refuse(f"its {name} is not connected")
    widgets = dict(mapping()["targets"]["ADL_ApplySparseCtrl"]["defaults"])
    widgets.update(values)
    widgets.update(placement[0])
    inputs = {name: ("old", *apply.links[name]) for name in ("positive", "negative", "control_net")}
    if any(name in apply.links for name in entry.get("controls", {})):  # ACN's timestep_kf, weights_override, …
        inputs["control_net"] = controls.controls_for(conv, apply, entry, inputs["control_net"], plan)
    inputs.update(refs)
    inputs.update(placement[1])
    inputs.update(hint)
    if rgb and "vae" not in inputs:
        plan.notes.append(f"apply node {apply.id}: SparseCtrl RGB encodes its hints with the VAE, and nothing feeds "
                          "its vae: connect the checkpoint's VAE to Apply SparseCtrl (Lightning)'s vae")
    plan.emitted.append(Emitted(apply.id, "ADL_ApplySparseCtrl", widgets, inputs, apply))
    # positive and negative onto Apply SparseCtrl's; ACN v1's model passthrough through
    conv.redirect_outputs(apply, entry, plan, 4, outputs={"0": 0, "1": 1}, where=f"its apply node {apply.id}'s ")
    plan.parts[apply.id] = version
    plan.claimed.add(apply.id)


def plan_loader(conv, node: Node, entry: dict, named: dict, plan: Plan):
    """``node`` (ACN_SparseCtrlLoaderAdvanced) → Load SparseCtrl (Lightning) and its applies → Apply SparseCtrl."""
    conv.refuse_linked(node, entry)
    run_checks(entry, named, plan.notes)
    linked = conv.linked_inputs(node, entry, named) - {entry["sparse_method"]["input"]}
    values, links = conv.target_widgets("ADL_LoadSparseCtrl", entry["widgets"], named, linked, plan.notes)
    conv.refuse_unaccounted(node, set(links.values()) | {entry["sparse_method"]["input"]} | set(entry["tk_inputs"]))
    aware = named.get("context_aware", "nearest_hint")
    if aware not in NEAREST + OFF:
        raise Refuse(f"context_aware {aware!r} is not a value Advanced-ControlNet had (nearest_hint, off)")
    if aware in NEAREST and _uses_context(conv):
        plan.notes.append(entry["context_note"])
    placement = _placement(conv, node, entry, plan)
    plan.emitted.append(Emitted(node.id, "ADL_LoadSparseCtrl", values,
                                {k: ("old", *node.links[v]) for k, v in links.items()}, node))
    plan.claimed.add(node.id)
    out = controls.loader_controls(conv, node, entry, ("new", node.id, 0), plan, offset=(0, 170))
    if conv.consumers.get((node.id, 0)):
        plan.redirects[(node.id, 0)] = out
    rgb = "rgb" in str(values.get("sparsectrl_name", "")).lower()
    for consumer in sorted(motion.consumers(conv, node.id, 0), key=lambda n: n.id):
        if consumer.type not in entry["applies"]:
            raise Refuse(f"its CONTROL_NET feeds node {consumer.id} ({consumer.type}), which has no SparseCtrl "
                         f"counterpart (only {', '.join(entry['applies'])} become Apply SparseCtrl (Lightning))")
        if motion.source(conv, consumer, "control_net") is not node:
            raise Refuse(f"its CONTROL_NET reaches node {consumer.id} ({consumer.type}) other than on control_net")
        try:
            _apply(conv, consumer, node, placement, plan, rgb)
        except Refuse as e:
            msg = str(e)
            conv.part_refused[consumer.id] = msg
            raise Refuse(msg if msg.startswith("its ") else f"its apply node {consumer.id}: {msg}") from None
