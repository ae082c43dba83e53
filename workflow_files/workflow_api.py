"""Workflow files → API prompts: UI-format conversion by the server's /object_info, and `--set` overrides.

Standard library only; shared by `render` (workflow_files/render.py) and the tests.
"""
from __future__ import annotations

import json

# --------------------------------------------------------------------------------------------------------
# UI-format workflow -> API-format prompt
# --------------------------------------------------------------------------------------------------------
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
FRONTEND_ONLY = {"Note", "MarkdownNote", "PrimitiveNode", "Reroute"}
CONTROL_VALUES = {"fixed", "increment", "decrement", "randomize"}
UPLOAD_OPTIONS = ("image_upload", "video_upload", "animated_image_upload")  # a combo the editor adds a button to
UPLOAD = "UPLOAD"  # the button's own widget: its value is saved, it is no input
MODE_ALWAYS, MODE_NEVER, MODE_BYPASS = 0, 2, 4


class WorkflowError(Exception):
    """The workflow file cannot be turned into a prompt (unknown node type, bad --set, …)."""


def is_ui_workflow(data: dict) -> bool:
    return isinstance(data, dict) and isinstance(data.get("nodes"), list) and "links" in data


def _widget_inputs(spec: dict):
    """(name, kind, has control_after_generate) of each widget input, in the order the frontend shows them; an
    upload button as kind UPLOAD. The editor adds the button to the required inputs but lays widgets out by
    the node's ``input_order``, which does not name it: with an input_order it comes last, after the optional
    widgets (as every frontend since input_order shows it); without one, after the required widgets."""
    last = "input_order" in spec
    upload = False
    for section in ("required", "optional"):
        for name, (kind, *rest) in spec["input"].get(section, {}).items():
            options = rest[0] if rest and isinstance(rest[0], dict) else {}
            upload = upload or (section == "required" and any(options.get(o) is True for o in UPLOAD_OPTIONS))
            if isinstance(kind, list) or kind in WIDGET_TYPES:
                yield name, ("COMBO" if isinstance(kind, list) else kind), bool(options.get("control_after_generate"))
        if upload and (section == "optional" or not last):
            yield "upload", UPLOAD, False
            upload = False


def _positional(spec: dict, values: list) -> list:
    """(name, kind, has_control, values) of the widgets the values of a list-form widgets_values fill. A file
    saved before an optional widget was appended has a value fewer for each, and the upload button's value
    last (the button comes after the optional widgets): that value goes to the button, the widgets it skipped
    keep their defaults (left out of the prompt)."""
    widgets = list(_widget_inputs(spec))
    wanted = sum(1 + has_control for _n, _k, has_control in widgets)
    if widgets and widgets[-1][1] == UPLOAD and 0 < len(values) < wanted:
        missing = wanted - len(values)
        values = values[:-1] + [_UNSET] * missing + values[-1:]
    return widgets, values


_UNSET = object()  # a widget a file predates: the server's default


def to_api(workflow: dict, object_info: dict) -> dict:
    """UI-format workflow → API-format prompt, as the frontend's graphToPrompt does for flat graphs.

    Widget values are positional over a node's widget inputs as /object_info lists them (a dict of values
    is read by name); an INT with ``control_after_generate`` carries one extra value. Notes are dropped;
    Reroutes and bypassed nodes are wired through (a bypassed node passes its first input of the output's
    type); muted nodes are dropped; a PrimitiveNode's value goes into the widget it feeds.
    """
    if workflow.get("definitions", {}).get("subgraphs"):
        raise WorkflowError("workflows with subgraphs are not supported: unpack them in the editor first")
    nodes = {node["id"]: node for node in workflow["nodes"]}
    links = {}
    for link in workflow["links"]:
        if isinstance(link, dict):  # newer serialisation
            link = [link["id"], link["origin_id"], link["origin_slot"], link["target_id"], link["target_slot"],
                    link.get("type")]
        links[link[0]] = link

    def source(link_id, depth=0):
        """Follow a link through Reroutes and bypassed nodes: ("link", node_id, slot), ("value", v) or None."""
        if link_id is None or link_id not in links or depth > 100:
            return None
        _, src, slot, *_rest = links[link_id]
        node = nodes.get(src)
        if node is None:
            return None
        if node["type"] == "Reroute":
            return source(node["inputs"][0].get("link"), depth + 1) if node.get("inputs") else None
        if node["type"] == "PrimitiveNode":
            values = node.get("widgets_values") or []
            return ("value", values[0]) if values else None
        if node.get("mode", MODE_ALWAYS) == MODE_BYPASS:
            out_type = node["outputs"][slot]["type"] if slot < len(node.get("outputs", [])) else None
            for socket_ in node.get("inputs", []):
                if socket_.get("link") is not None and socket_.get("type") == out_type:
                    return source(socket_["link"], depth + 1)
            return None
        if node.get("mode", MODE_ALWAYS) == MODE_NEVER:
            return None
        return ("link", src, slot)

    prompt = {}
    for node in workflow["nodes"]:
        if node["type"] in FRONTEND_ONLY or node.get("mode", MODE_ALWAYS) != MODE_ALWAYS:
            continue
        if node["type"] not in object_info:
            raise WorkflowError(f"node {node['id']}: type {node['type']!r} is not known to the server "
                                "(a custom node pack missing or failing to import?)")
        spec = object_info[node["type"]]
        inputs = {}
        raw = node.get("widgets_values")
        if isinstance(raw, dict):
            for name, kind, _control in _widget_inputs(spec):
                if name in raw and kind != UPLOAD:
                    inputs[name] = raw[name]
        else:
            widgets, values = _positional(spec, list(raw or []))
            for name, kind, has_control in widgets:
                if not values:
                    break
                value = values.pop(0)
                if kind == UPLOAD or value is _UNSET:
                    continue
                inputs[name] = value
                if values and (has_control or (kind == "INT" and values[0] in CONTROL_VALUES)):
                    values.pop(0)
        for socket_ in node.get("inputs", []):
            if socket_.get("link") is None:
                continue
            found = source(socket_["link"])
            if found is None:
                inputs.pop(socket_["name"], None)
            elif found[0] == "value":
                inputs[socket_["name"]] = found[1]
            else:
                inputs[socket_["name"]] = [str(found[1]), found[2]]
        prompt[str(node["id"])] = {"class_type": node["type"], "inputs": inputs}
    return prompt


def node_titles(workflow: dict) -> dict[str, str]:
    """node id -> title given in the editor (UI format) or in ``_meta.title`` (API format)."""
    if is_ui_workflow(workflow):
        return {str(n["id"]): n["title"] for n in workflow["nodes"] if n.get("title")}
    return {k: v["_meta"]["title"] for k, v in workflow.items()
            if isinstance(v, dict) and isinstance(v.get("_meta"), dict) and v["_meta"].get("title")}


# --------------------------------------------------------------------------------------------------------
# --set NODE.input=value
# --------------------------------------------------------------------------------------------------------
def _find_node(prompt: dict, titles: dict, ref: str) -> str:
    if ref in prompt:
        return ref
    for label, key in (("title", lambda i: titles.get(i)), ("type", lambda i: prompt[i]["class_type"])):
        matches = [i for i in prompt if key(i) == ref]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise WorkflowError(f"--set {ref}: the {label} {ref!r} names nodes {', '.join(matches)}; "
                                "use a node id")
    known = ", ".join(f"{i} ({prompt[i]['class_type']}{', ' + repr(titles[i]) if i in titles else ''})"
                      for i in prompt)
    raise WorkflowError(f"--set {ref}: no node with that id, title or type. Nodes: {known}")


def _convert(value: str, spec) -> object:
    kind = spec[0] if spec else None
    try:
        if kind == "INT":
            return int(value)
        if kind == "FLOAT":
            return float(value)
    except ValueError:
        raise WorkflowError(f"{value!r} is not a valid {kind}") from None
    if kind == "BOOLEAN":
        if value.lower() in ("true", "1", "yes", "on"):
            return True
        if value.lower() in ("false", "0", "no", "off"):
            return False
        raise WorkflowError(f"{value!r} is not a valid BOOLEAN (true/false)")
    if isinstance(kind, list) or kind in WIDGET_TYPES:
        return value
    try:  # unknown type: JSON if it parses (numbers, lists), else the text
        return json.loads(value)
    except ValueError:
        return value


def apply_overrides(prompt: dict, overrides: list[str], object_info: dict, titles: dict) -> list[str]:
    """Set each ``NODE.input=value``; returns one line per change, for printing."""
    done = []
    for item in overrides:
        target, sep, value = item.partition("=")
        ref, dot, name = target.rpartition(".")
        if not sep or not dot or not ref or not name:
            raise WorkflowError(f"--set {item!r}: expected NODE.input=value")
        node_id = _find_node(prompt, titles, ref)
        node = prompt[node_id]
        spec_inputs = object_info.get(node["class_type"], {}).get("input", {})
        spec = {**spec_inputs.get("optional", {}), **spec_inputs.get("required", {})}
        if spec_inputs and name not in spec:
            raise WorkflowError(f"--set {item!r}: {node['class_type']} (node {node_id}) has no input {name!r}; "
                                f"its inputs: {', '.join(spec)}")
        node["inputs"][name] = _convert(value, spec.get(name))
        done.append(f"set node {node_id} ({node['class_type']}) {name} = {node['inputs'][name]!r}")
    return done
