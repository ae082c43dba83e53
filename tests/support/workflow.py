"""UI-format workflow → API-format prompt, the way the frontend's graphToPrompt does it for simple graphs:
widget values are positional over a node's widget inputs (as /object_info lists them), an INT with
`control_after_generate` carries one extra value, and frontend-only nodes (notes) are dropped."""
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
FRONTEND_ONLY = {"Note", "MarkdownNote", "PrimitiveNode", "Reroute"}


def _widget_inputs(spec: dict):
    for section in ("required", "optional"):
        for name, (kind, *rest) in spec["input"].get(section, {}).items():
            options = rest[0] if rest else {}
            if isinstance(kind, list) or kind in WIDGET_TYPES:
                yield name, bool(options.get("control_after_generate"))


def to_api(workflow: dict, object_info: dict) -> dict:
    links = {link[0]: link for link in workflow["links"]}
    prompt = {}
    for node in workflow["nodes"]:
        if node["type"] in FRONTEND_ONLY or node.get("mode", 0) != 0:
            continue
        spec = object_info[node["type"]]
        inputs = {}
        values = list(node.get("widgets_values") or [])
        for name, has_control in _widget_inputs(spec):
            if not values:
                break
            inputs[name] = values.pop(0)
            if has_control:
                values.pop(0)
        for socket in node.get("inputs", []):
            if socket.get("link") is not None:
                _, src, slot, *_ = links[socket["link"]]
                inputs[socket["name"]] = [str(src), slot]
        prompt[str(node["id"])] = {"class_type": node["type"], "inputs": inputs}
    return prompt
