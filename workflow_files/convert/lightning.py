"""Switch to Lightning: a converted AnimateDiff graph made a Lightning graph, beside the faithful conversion.

The motion module becomes the Lightning file of the chosen steps (1, 2, 4 or 8), Apply Motion Module takes the
schedule Lightning was trained on, the samplers run Euler on the trained (``simple``) timesteps at cfg 1 with those
steps, and what Lightning does not want goes: LCM LoRAs and LCM model sampling are bypassed (UI format: the node
stays, bypassed; API format: its outputs are wired past it). Every edit is listed; a value that comes over a link,
or a layout this does not know, is left as it was and listed too. The edits are data (workflow_files/lightning.json).
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

from .graph import ConvertError, _is_api_link, is_ui_workflow

SPEC_PATH = Path(__file__).resolve().parent.parent / "lightning.json"
_SPEC: dict | None = None


def spec() -> dict:
    global _SPEC
    if _SPEC is None:
        _SPEC = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return _SPEC


def _lightning_steps(name) -> int | None:
    for n in spec()["steps"]:
        if isinstance(name, str) and f"lightning_{n}step" in name.lower():
            return n
    return None


class _Values:
    """One node's widget values by name, in either format; ``set`` writes back (or says why it cannot)."""

    def __init__(self, node: dict, ui: bool, layout: list[str] | None):
        self.node, self.ui, self.layout = node, ui, layout
        self.linked = set()
        if ui:
            self.linked = {i.get("widget", {}).get("name") for i in node.get("inputs") or []
                           if isinstance(i, dict) and isinstance(i.get("widget"), dict) and i.get("link") is not None}
            wv = node.get("widgets_values")
            self.ok = isinstance(wv, list) and layout is not None and len(wv) == len(layout)
        else:
            self.linked = {k for k, v in (node.get("inputs") or {}).items() if _is_api_link(v)}
            self.ok = isinstance(node.get("inputs"), dict)

    def get(self, name):
        if not self.ok or name in self.linked:
            return None
        if self.ui:
            return self.node["widgets_values"][self.layout.index(name)] if name in self.layout else None
        return self.node["inputs"].get(name)

    def set(self, name, value, changes: list, where: str):
        if name in self.linked:
            changes.append(f"{where}: {name} comes from another node; set it to {value!r} there")
            return
        old = self.get(name)
        if old == value and old is not None:
            return
        if self.ui:
            self.node["widgets_values"][self.layout.index(name)] = value
        else:
            self.node["inputs"][name] = value
        changes.append(f"{where}: {name} {old!r} → {value!r}")


def _nodes_ui(workflow: dict):
    for node in workflow.get("nodes") or []:
        yield None, node
    for sg in (workflow.get("definitions") or {}).get("subgraphs") or []:
        for node in sg.get("nodes") or []:
            yield sg.get("name") or sg.get("id"), node


def _where(node_id, type_, subgraph) -> str:
    return f"node {node_id} {type_}" + (f" (in subgraph {subgraph})" if subgraph else "")


def _matches(values: _Values, when: dict) -> bool:
    return all(isinstance(values.get(k), str) and v in values.get(k).lower() for k, v in when.items())


def _samplers(values: _Values, rule: dict, steps: int, changes: list, where: str):
    for name, value in rule["set"].items():
        if value == "{steps}":
            value = steps
            denoise = values.get(rule["denoise"]) if "denoise" in rule else None
            if isinstance(denoise, (int, float)) and 0 < denoise < 1:
                tail = steps * denoise
                value = max(1, round(tail))
                if abs(tail - round(tail)) > 1e-6:
                    changes.append(f"{where}: denoise {denoise} runs {value} steps of a schedule that is not on "
                                   f"Lightning's trained timesteps (a multiple of 1/{steps} is); Sample (Lightning) "
                                   "keeps them at any denoise")
        values.set(name, value, changes, where)
    window = rule.get("steps_window")
    if window:
        start, end = values.get(window[0]), values.get(window[1])
        if start not in (0, None) or (isinstance(end, int) and end < steps):
            changes.append(f"{where}: {window[0]} {start} / {window[1]} {end} were chosen for the old steps; check them")


def make_lightning(converted: dict, steps: int = 4) -> tuple[dict, list[str]]:
    """(the graph made Lightning, the list of changes). ``converted`` is the converter's output (UI or API)."""
    if steps not in spec()["steps"]:
        raise ConvertError(f"Lightning has {', '.join(map(str, spec()['steps']))} steps, not {steps!r}")
    graph = copy.deepcopy(converted)
    changes: list[str] = []
    ui = is_ui_workflow(graph)
    items = list(_nodes_ui(graph)) if ui else [(None, dict(n, id=k)) for k, n in graph.items() if isinstance(n, dict)]
    loaders = spec()["module_loaders"]
    if not any(n.get("type" if ui else "class_type") in loaders for _sg, n in items):
        return graph, ["no motion module loader (Load Motion Module (Lightning)): nothing to switch"]
    module = spec()["module_file"].format(steps=steps)
    bypassed = {}
    for subgraph, node in items:
        type_ = node.get("type" if ui else "class_type")
        raw = node if ui else graph[node["id"]]
        where = _where(node.get("id"), type_, subgraph)
        if type_ in loaders:
            values = _Values(raw, ui, [loaders[type_]])
            if _lightning_steps(values.get(loaders[type_])) != steps:
                values.set(loaders[type_], module, changes, where)
            continue
        rule = spec()["nodes"].get(type_)
        if rule is not None:
            values = _Values(raw, ui, rule["ui"])
            if not values.ok:
                changes.append(f"{where}: left as it was (its widget values are not the layout "
                               f"{', '.join(rule['ui'])})")
                continue
            _samplers(values, rule, steps, changes, where)
            continue
        rule = spec()["bypass"].get(type_)
        if rule is not None and _matches(_Values(raw, ui, rule["ui"]), rule["when"]):
            bypassed[str(node.get("id"))] = (raw, rule, where)
    for key, (raw, rule, where) in bypassed.items():
        if ui:
            raw["mode"] = 4
            changes.append(f"{where}: bypassed, {rule['why']}")
    if not ui and bypassed:
        _wire_past(graph, bypassed, changes)
    changes = _grouped(changes)
    if any("cfg" in c and "→ 1.0" in c for c in changes):
        changes.append("cfg 1: one pass per step, the negative prompt is not used (Lightning was distilled for that)")
    return graph, changes


def _grouped(changes: list[str]) -> list[str]:
    """'node 7 KSampler: steps 20 → 4' and 'node 7 KSampler: cfg 7.5 → 1.0' as one line, in order."""
    out, index = [], {}
    for line in changes:
        where, _, what = line.partition(": ")
        if "→" in what and not what.startswith(("bypassed", "removed")) and where in index:
            out[index[where]] += f", {what}"
        else:
            if "→" in what:
                index[where] = len(out)
            out.append(line)
    return out


def _wire_past(prompt: dict, bypassed: dict, changes: list):
    """API format: every input fed by a bypassed node's output takes what that output passes through."""
    def resolve(ref, seen=()):
        key, slot = str(ref[0]), ref[1]
        if key not in bypassed or key in seen:
            return ref
        raw, rule, _where_ = bypassed[key]
        source = (raw.get("inputs") or {}).get(rule["pass"].get(str(slot), ""))
        return resolve(source, seen + (key,)) if _is_api_link(source) else None

    for key, (raw, rule, where) in list(bypassed.items()):
        missing = [n for n in rule["pass"].values() if not _is_api_link((raw.get("inputs") or {}).get(n))]
        if missing:
            del bypassed[key]
            changes.append(f"{where}: left as it was ({rule['why']}): its {missing[0]} is not connected")
    for node in prompt.values():
        if not isinstance(node, dict):
            continue
        for name, value in list((node.get("inputs") or {}).items()):
            if _is_api_link(value) and str(value[0]) in bypassed:
                node["inputs"][name] = list(resolve(value))
    for key, (_raw, rule, where) in bypassed.items():
        del prompt[key]
        changes.append(f"{where}: removed (its outputs wired past it), {rule['why']}")
