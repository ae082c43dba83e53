"""UI subgraphs: each definition in ``definitions.subgraphs`` converted as a graph of its own.

A subgraph definition (frontend 1.24+) holds its own ``nodes`` and ``links`` (link objects); its boundary is two
virtual nodes that are not in ``nodes``: the input node (id -10, one output slot per subgraph input) and the output
node (id -20, one input slot per subgraph output). Links crossing the boundary start at -10 or end at -20, and each
boundary slot lists its links in ``linkIds``. Here the boundary becomes two stand-in nodes of a type no pack has,
so the converter sees a closed graph; after conversion the stand-ins are taken out again and every boundary slot's
``linkIds`` is recomputed from the converted links (a replaced node's links may have new ids).

The frontend numbers the nodes and links of every subgraph from the root graph's counters, so new ids are drawn
above every id used anywhere in the file (``WorkflowIds``).
"""
from __future__ import annotations

import copy

from .graph import ConvertError

SUBGRAPH_INPUT, SUBGRAPH_OUTPUT = -10, -20  # the frontend's ids of a subgraph's boundary nodes
STAND_IN = "__adl_subgraph_boundary__"


def definitions(workflow: dict) -> list:
    """The subgraph definitions of a UI workflow ([] when it has none); ConvertError naming the subgraph and the
    field when one is malformed (checked before anything reads it)."""
    defs = workflow.get("definitions") or {}
    if not isinstance(defs, dict):
        raise ConvertError("'definitions' must be an object (it holds the workflow's subgraphs)")
    subgraphs = defs.get("subgraphs") or []
    if not isinstance(subgraphs, list) or not all(isinstance(sg, dict) for sg in subgraphs):
        raise ConvertError("definitions.subgraphs must be a list of subgraph objects")
    for sg in subgraphs:
        for key in ("nodes", "links", "inputs", "outputs"):
            if not isinstance(sg.get(key) or [], list):
                raise ConvertError(f"subgraph {name_of(sg)!r}: {key!r} must be a list")
        for key in ("inputs", "outputs"):
            if not all(isinstance(slot, dict) for slot in sg.get(key) or []):
                raise ConvertError(f"subgraph {name_of(sg)!r}: each of its {key} must be an object")
        for link in sg.get("links") or []:
            ends = _ends(link)
            if len(ends) != 4 or not all(isinstance(end, int) and not isinstance(end, bool) for end in ends):
                raise ConvertError(f"subgraph {name_of(sg)!r}: a link is neither [id, from, slot, to, slot, type] "
                                   f"nor an object with origin_id/origin_slot/target_id/target_slot: {str(link)[:80]}")
    return subgraphs


def name_of(sg: dict) -> str:
    return str(sg.get("name") or sg.get("id") or "subgraph")


class WorkflowIds:
    """The highest node and link ids anywhere in a UI workflow (root graph, every subgraph, the saved counters);
    new ids are drawn above them, so no two nodes or links of the file share an id."""

    def __init__(self, workflow: dict, subgraphs: list):
        node_ids, link_ids = [0], [0]
        for graph in [workflow, *subgraphs]:
            node_ids += [n["id"] for n in graph.get("nodes") or [] if isinstance(n, dict) and isinstance(n.get("id"), int)]
            link_ids += [_link_id(link) for link in graph.get("links") or []]
            for key, ids in (("lastNodeId", node_ids), ("lastLinkId", link_ids)):
                if isinstance((graph.get("state") or {}).get(key), int):
                    ids.append(graph["state"][key])
        for key, ids in (("last_node_id", node_ids), ("last_link_id", link_ids)):
            if isinstance(workflow.get(key), int):
                ids.append(workflow[key])
        self.node, self.link = max(node_ids), max(i for i in link_ids if isinstance(i, int))

    def took(self, graph: dict) -> None:
        """Count the ids a converted graph now uses."""
        self.node = max([self.node, *(n["id"] for n in graph["nodes"])])
        self.link = max([self.link, *(_link_id(link) for link in graph["links"])])


def _link_id(link):
    return link.get("id") if isinstance(link, dict) else link[0] if isinstance(link, list) and link else 0


def _ends(link) -> tuple:
    if isinstance(link, dict):
        return link.get("origin_id"), link.get("origin_slot"), link.get("target_id"), link.get("target_slot")
    return tuple(link[1:5]) if isinstance(link, list) else ()


def as_workflow(sg: dict, ids: WorkflowIds) -> dict:
    """The definition as a closed UI graph the converter reads: its nodes, its links, and two stand-ins for the
    boundary; the counters say where new ids start."""
    links = sg.get("links") or []
    into_outputs = {}
    for link in links:
        _o, _os, target, target_slot = _ends(link)
        if target == SUBGRAPH_OUTPUT:
            into_outputs[target_slot] = _link_id(link)
    inputs = {"id": SUBGRAPH_INPUT, "type": STAND_IN, "inputs": [], "pos": [0, 0],
              "outputs": [{"name": f"input {i}", "type": s.get("type", "*"), "links": []}
                          for i, s in enumerate(sg.get("inputs") or [])]}
    outputs = {"id": SUBGRAPH_OUTPUT, "type": STAND_IN, "outputs": [], "pos": [0, 0],
               "inputs": [{"name": f"output {i}", "type": s.get("type", "*"), "link": into_outputs.get(i)}
                          for i, s in enumerate(sg.get("outputs") or [])]}
    return {"version": 1, "nodes": [inputs, outputs, *copy.deepcopy(sg.get("nodes") or [])],
            "links": copy.deepcopy(links), "last_node_id": ids.node, "last_link_id": ids.link}


def put_back(sg: dict, converted: dict) -> dict:
    """The definition with the converted graph's nodes and links (objects, as subgraphs keep them), the stand-ins
    taken out and each boundary slot's ``linkIds`` recomputed."""
    out = copy.deepcopy(sg)
    out["nodes"] = [n for n in converted["nodes"] if n.get("type") != STAND_IN]
    out["links"] = [link if isinstance(link, dict) else
                    {"id": link[0], "origin_id": link[1], "origin_slot": link[2], "target_id": link[3],
                     "target_slot": link[4], "type": link[5]} for link in converted["links"]]
    for key, end, slot_at in (("inputs", SUBGRAPH_INPUT, 0), ("outputs", SUBGRAPH_OUTPUT, 2)):
        for i, slot in enumerate(out.get(key) or []):
            if isinstance(slot, dict):
                slot["linkIds"] = [link["id"] for link in out["links"]
                                   if _ends(link)[slot_at] == end and _ends(link)[slot_at + 1] == i]
    if isinstance(out.get("state"), dict):
        out["state"]["lastNodeId"] = converted["last_node_id"]
        out["state"]["lastLinkId"] = converted["last_link_id"]
    return out
