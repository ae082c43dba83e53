"""AnimateDiff-Evolved / VideoHelperSuite / Advanced-ControlNet / FizzNodes graphs → this pack's and core nodes.

``convert(workflow)`` takes a UI-format workflow (what the editor saves) or an API-format prompt and returns
``(converted, report)``: the same graph with every foreign node the table (``mapping.json``) knows replaced,
links rewired, widget values translated, and everything else kept (positions, titles, groups, notes, reroutes,
untouched nodes). A foreign node that cannot be converted stays where it is, marked, and the report says why;
nothing is dropped silently and no value is guessed: every translation is in the table with its note.

Version recognition: foreign widgets are saved positionally and their order changed over the years; each
node type lists its layouts (count and kinds of widgets) and the one that fits is named in the report.

Standard library only; no ComfyUI, no torch. Used by ``python PACK convert``, ``render`` and the /adl/convert route.

The package: ``table`` (mapping.json), ``graph`` (reading and validating), ``values`` (layouts, value rules,
transforms), ``plan`` (the Converter), ``write`` (the converted UI/API graph); here the public API, the report,
the command line and the table as a document.
"""
from __future__ import annotations

import json
from pathlib import Path

from .graph import (
    FRONTEND_ONLY,
    KNOWN_UI_VERSIONS,
    MAX_NODES,
    ConvertError,
    Node,
    is_ui_workflow,
    read_graph,
)
from .document import support_markdown
from .lightning import make_lightning
from .plan import Converter, Emitted, Plan
from .subgraphs import WorkflowIds, as_workflow, definitions, name_of, put_back
from .table import MAPPING_PATH, absent_types, known_types, mapping, pack_of_unknown
from .values import TRANSFORMS, Refuse, recognise, translate, translate_value
from .write import (
    MARK_BGCOLOR,
    MARK_COLOR,
    PACK_BADGES,
    api_key,
    notes_for_samplers,
    write_api,
    write_ui,
)

__all__ = ["FRONTEND_ONLY", "KNOWN_UI_VERSIONS", "MAPPING_PATH", "MARK_BGCOLOR", "MARK_COLOR", "MAX_BYTES", "MAX_NODES",
           "PACK_BADGES", "TRANSFORMS", "ConvertError", "Converter", "Emitted", "Node", "Plan", "Refuse",
           "absent_types", "convert", "convert_text", "format_report", "has_foreign_nodes", "is_ui_workflow",
           "known_types", "loads", "main", "make_lightning", "mapping", "read_graph", "recognise", "summary", "support_markdown", "translate",
           "translate_value"]

MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64  # lists / objects inside each other; a saved workflow nests about 10 deep, a subgraph a few more


def loads(text: str | bytes):
    """JSON text → data, ConvertError for anything unreadable (a nesting too deep for the parser included)."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise ConvertError(f"not a workflow: lists or objects nested more than {MAX_DEPTH} deep") from None
    except ValueError as e:
        raise ConvertError(f"not JSON: {e}") from None
    check_depth(data)
    return data


def check_depth(data, limit: int = MAX_DEPTH) -> None:
    """Refuse data nested deeper than ``limit`` (walked without recursion, so any depth is safe to check)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 > limit:
                    raise ConvertError(f"not a workflow: lists or objects nested more than {limit} deep")
                stack.append((child, depth + 1))


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
    """(converted workflow in the input's format, report). Raises ConvertError for input it cannot read.
    A UI workflow's subgraph definitions are converted too, each as a graph of its own (``subgraphs``)."""
    check_depth(workflow)
    nodes, ui = read_graph(workflow)
    if not ui:
        return _convert_graph(workflow, nodes, False)
    subgraphs = definitions(workflow)
    ids = WorkflowIds(workflow, subgraphs)
    converted, report = _convert_graph(dict(workflow, last_node_id=ids.node, last_link_id=ids.link), nodes, True,
                                       first_id=ids.node + 1)
    ids.took(converted)
    if subgraphs:
        written = []
        for sg in subgraphs:
            inner = as_workflow(sg, ids)
            try:
                inner_nodes, _ui = read_graph(inner)
            except ConvertError as e:
                raise ConvertError(f"subgraph {name_of(sg)!r}: {e}") from None
            inner_converted, inner_report = _convert_graph(inner, inner_nodes, True, first_id=ids.node + 1)
            ids.took(inner_converted)
            written.append(put_back(sg, inner_converted))
            for key in ("converted", "kept"):
                report[key] += [dict(entry, subgraph=name_of(sg)) for entry in inner_report[key]]
            report["notes"] += [f"in subgraph {name_of(sg)}: {n}" for n in inner_report["notes"]]
        converted["definitions"] = dict(converted["definitions"], subgraphs=written)
        converted["last_node_id"], converted["last_link_id"] = ids.node, ids.link
        if isinstance(converted.get("state"), dict):
            converted["state"].update(lastNodeId=ids.node, lastLinkId=ids.link)
        report["summary"] = summary(report)
    return converted, report


def _convert_graph(workflow, nodes: dict, ui: bool, first_id: int = 0) -> tuple[dict, dict]:
    """One graph (the root, or a subgraph definition made closed by ``subgraphs.as_workflow``)."""
    conv = Converter(nodes, first_id)
    conv.run()
    converted = write_ui(workflow, conv) if ui else write_api(workflow, conv)
    absent = absent_types()
    table = mapping()["nodes"]
    report = {"format": "UI" if ui else "API", "converted": [], "kept": [], "notes": []}

    def rid(node_id):  # the id as the file has it (API ids are strings, "12:5" inside expanded subgraphs)
        return node_id if ui else api_key(conv, node_id)

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
                                   "reason": conv.part_refused.get(node.id) or f"not supported: {why}"})
        elif pack_of_unknown(node.type) and node.id not in conv.claimed_by:
            pack = pack_of_unknown(node.type)
            report["kept"].append({"id": rid(node.id), "type": node.type, "pack": pack,
                                   "reason": f"an unknown node with {pack}'s prefix: not in this converter's table (a "
                                             f"newer node than the table, or a name {pack} never had): left as it was"})
    report["kept"].sort(key=lambda k: (str(type(k["id"])), k["id"]))
    if ui:
        marked = {k["id"]: k["reason"] for k in report["kept"]}
        for raw in converted["nodes"]:
            if raw["id"] in marked and "adl_convert" not in raw.get("properties", {}):
                raw.setdefault("properties", {})["adl_convert"] = f"not converted: {marked[raw['id']]}"
                raw["color"], raw["bgcolor"] = MARK_COLOR, MARK_BGCOLOR
    report["notes"] = notes_for_samplers(nodes, conv.plans)
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
        lines.append(f"  converted node {c['id']}{_where(c)} {c['type']} [{c['version']}]{extra} → {', '.join(c['to'])}")
        lines += [f"      note: {n}" for n in c["notes"]]
    for k in report["kept"]:
        lines.append(f"  kept node {k['id']}{_where(k)} {k['type']} ({k['pack']}): {k['reason']}")
    lines += [f"  note: {n}" for n in report["notes"]]
    return "\n".join(lines)


def _where(entry: dict) -> str:
    return f" (in subgraph {entry['subgraph']})" if entry.get("subgraph") else ""


def convert_text(text: str | bytes) -> tuple[dict, dict]:
    """``convert`` of JSON text, bounded in size; raises ConvertError for anything unreadable."""
    if len(text) > MAX_BYTES:
        raise ConvertError(f"the workflow is {len(text) / 1e6:.1f} MB; the converter reads at most "
                           f"{MAX_BYTES / 1e6:.1f} MB")
    return convert(loads(text))


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
    p.add_argument("--lightning", type=int, choices=(1, 2, 4, 8), metavar="STEPS",
                   help="write the graph switched to Lightning (its motion module the STEPS-step Lightning file, "
                        "samplers set for it, LCM LoRAs bypassed) instead of the faithful conversion")
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
    if args.lightning:
        converted, changes = make_lightning(converted, args.lightning)
        report = dict(report, lightning={"steps": args.lightning, "changes": changes})
        print(f"Switched to Lightning ({args.lightning} steps):")
        print("\n".join(f"  {c}" for c in changes) or "  nothing to change")
    args.target.parent.mkdir(parents=True, exist_ok=True)
    args.target.write_text(json.dumps(converted, indent=2, ensure_ascii=False), encoding="utf-8")
    if args.report:
        args.report.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {args.target}")
    return EXIT_KEPT if report["kept"] else 0
