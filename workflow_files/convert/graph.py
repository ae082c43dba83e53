"""Reading and validating a workflow: UI or API format → format-neutral ``Node``s by id, within the limits
(format version, node count), with every link resolved and no cycles; ``ConvertError`` says what is wrong."""
from __future__ import annotations

from dataclasses import dataclass

MAX_NODES = 20_000
KNOWN_UI_VERSIONS = (0.4, 1)
FRONTEND_ONLY = {"Note", "MarkdownNote", "PrimitiveNode", "Reroute"}


class ConvertError(Exception):
    """The input is not a workflow this converter can read; nothing was converted."""


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
