"""Motion values and keyframes: the table's rules for sockets that carry AnimateDiff-Evolved's multivals and
keyframes (``inputs`` relinked onto Apply Motion Module / Motion Keyframe (Lightning)), which only hold when the
node at the other end converts too (``converted_inputs``, ``with_consumers``), and Motion Values made from a
widget (``motion_values``: the legacy loader's motion_scale, ADE's attention scale, onto Apply's ``scale``).

A plan's ``requires`` (nodes it needs converted) is settled after every node is planned (``Converter.settle``):
a multival, a keyframe and the apply or loader they feed convert together or not at all."""
from __future__ import annotations

from .graph import Node
from .subgraphs import STAND_IN
from .table import mapping
from .values import Refuse

REROUTE = "Reroute"


def source(conv, node: Node, name: str) -> Node | None:
    """The node feeding ``node``'s input ``name``, through Reroutes; None when it is not connected."""
    seen = set()
    link = node.links.get(name)
    while link is not None:
        src = conv.nodes[link[0]]
        if src.type != REROUTE or src.id in seen:
            return src
        seen.add(src.id)
        link = next(iter(src.links.values()), None)
    return None


def consumers(conv, node_id: int, slot: int) -> list:
    """The nodes fed by ``node_id``'s output ``slot``, through Reroutes."""
    out, todo, seen = [], [(node_id, slot)], set()
    while todo:
        for consumer_id, _name in conv.consumers.get(todo.pop(), []):
            consumer = conv.nodes[consumer_id]
            if consumer.type == REROUTE and consumer_id not in seen:
                seen.add(consumer_id)
                todo.append((consumer_id, 0))
            elif consumer.type != REROUTE:
                out.append(consumer)
    return out


def _where(node: Node) -> str:
    return "the subgraph's boundary" if node.type == STAND_IN else f"node {node.id} ({node.type})"


def require_converted(conv, node: Node, entry: dict, plan) -> None:
    """Each input in ``converted_inputs`` must come from a node the table converts; the plan holds only if
    that node converts (a MULTIVAL is no Motion Value)."""
    for name in entry.get("converted_inputs", []):
        src = source(conv, node, name)
        if src is None:
            continue
        if src.type not in conv.table:
            raise Refuse(f"its {name} comes from {_where(src)}, which has no counterpart")
        plan.requires.add(src.id)


def require_consumers(conv, node: Node, entry: dict, plan) -> None:
    """With ``with_consumers``: every node the output feeds must convert too (a Motion Value feeds nothing of
    AnimateDiff-Evolved's)."""
    if not entry.get("with_consumers"):
        return
    for consumer in consumers(conv, node.id, 0):
        if consumer.type not in conv.table:
            raise Refuse(f"it feeds {_where(consumer)}, which has no counterpart")
        plan.feeds.add(consumer.id)


def check_needed(node: Node, entry: dict) -> None:
    for name, why in entry.get("needs_linked", {}).items():
        if name not in node.links:
            raise Refuse(why)


def relinked(conv, node: Node, entry: dict, plan) -> dict:
    """Apply Motion Module's inputs the table relinks from ``node`` (scale, effect, keyframes): target name → ref."""
    require_converted(conv, node, entry, plan)
    return {target: ("old", *node.links[name]) for name, target in entry.get("inputs", {}).items()
            if name in node.links}


def apply_inputs(conv, apply_node: Node, entry: dict, named: dict, plan) -> tuple[dict, dict]:
    """A Gen2 apply node's part of Apply Motion Module: (widget values: its start/end percent, input refs: those
    widgets when fed by another node, and scale / effect / keyframes); refuses a connected input none of this
    handles."""
    rules = entry.get("widgets", {}).get("ADL_ApplyMotionModule", {})
    values, links = conv.target_widgets("ADL_ApplyMotionModule", rules, named,
                                        conv.linked_inputs(apply_node, entry, named), plan.notes)
    conv.refuse_unaccounted(apply_node, {"motion_model", "motion_lora"} | set(links.values()) | unaccounted_ok(entry))
    refs = {k: ("old", *apply_node.links[v]) for k, v in links.items()}
    refs.update(relinked(conv, apply_node, entry, plan))
    return {k: values[k] for k in rules if k not in links}, refs


def motion_values(conv, node: Node, entry: dict, named: dict, linked: set, plan) -> dict:
    """Motion Values (Lightning) the table makes from ``node``'s widgets (``motion_values``: Apply's input →
    the Motion Value's widget rules), emitted beside it unless every value is the Motion Value's default:
    Apply's input → ref."""
    refs = {}
    for target_input, spec in entry.get("motion_values", {}).items():
        notes = []
        values, links = conv.target_widgets("ADL_MotionValue", spec["widgets"], named, linked, notes)
        defaults = mapping()["targets"]["ADL_MotionValue"]["defaults"]
        if not links and all(values[k] == defaults[k] for k in spec["widgets"]):
            continue
        if target_input in entry.get("inputs", {}).values() and any(
                name in node.links for name, t in entry["inputs"].items() if t == target_input):
            raise Refuse(f"both a widget and a connected input set Apply Motion Module's {target_input}; "
                         "combine them into one Motion Value by hand")
        from .plan import Emitted
        value_id = conv.new_id()
        inputs = {name: ("old", *node.links[foreign]) for name, foreign in links.items()}
        plan.emitted.append(Emitted(value_id, "ADL_MotionValue", values, inputs, node, new=True, offset=(-360, 120)))
        shown = ", ".join(f"{k} {'(linked)' if k in links else values[k]}" for k in spec["widgets"])
        plan.notes += notes + [f"{spec['note']} ({shown})"]
        refs[target_input] = ("new", value_id, 0)
    return refs


def unaccounted_ok(entry: dict) -> set:
    """Connected inputs these rules handle (not to be refused as unaccounted)."""
    names = set(entry.get("inputs", {}))
    for spec in entry.get("motion_values", {}).values():
        names |= {r["from"] for r in spec["widgets"].values() if "from" in r}
    return names


def settle(conv) -> None:
    """Drop every plan whose required nodes (``requires``: its sources; ``feeds``: its consumers) did not
    convert, until none is left: those nodes stay as they were, with the reason."""
    changed = True
    while changed:
        changed = False
        for node_id, plan in sorted(conv.plans.items()):
            missing = [(r, "needs") for r in sorted(plan.requires) if r not in conv.claimed_by] + \
                      [(r, "feeds") for r in sorted(plan.feeds) if r not in conv.claimed_by]
            if not missing:
                continue
            r, verb = missing[0]
            why = conv.refused.get(r, "")
            conv.refused[node_id] = f"it {verb} node {r} ({conv.nodes[r].type}), which was not converted" + \
                (f": {why}" if why else "")
            del conv.plans[node_id]
            for c in [c for c, owner in conv.claimed_by.items() if owner == node_id]:
                del conv.claimed_by[c]
            changed = True
