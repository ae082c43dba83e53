"""The converter on UI subgraphs (workflow_files/convert/subgraphs.py), without a server.

The fixture ``t2v_gen1_subgraph.json`` was made by the real frontend (tests/browser/subgraph_fixture.mjs): the
t2v_gen1 fixture with its AnimateDiff loader and KSampler turned into a subgraph "Animate". Converted, it must be
the same graph as t2v_gen1 converted, only with those nodes inside the subgraph (checked here on the flattened
prompt, and in the real frontend by tests/test_convert_browser.py), and every link, slot and id must stay
consistent the way the frontend reads them."""
import copy
import json

import pytest
from animatediff_lightning.workflow_files import convert as cv
from animatediff_lightning.workflow_files.convert.subgraphs import SUBGRAPH_INPUT, SUBGRAPH_OUTPUT
from support.foreign_workflows import FIXTURES, numbers

SUBGRAPH_FILE = FIXTURES / "t2v_gen1_subgraph.json"


def load(name="t2v_gen1_subgraph"):
    return json.loads((FIXTURES / f"{name}.json").read_text())


def ends(link):
    if isinstance(link, dict):
        return link["id"], link["origin_id"], link["origin_slot"], link["target_id"], link["target_slot"]
    return tuple(link[:5])


def assert_consistent(graph, boundary=False):
    """Every input's link exists and ends at that input; every output lists exactly the links leaving it; for a
    subgraph, each boundary slot's linkIds are the links leaving / entering it."""
    links = {ends(link)[0]: ends(link) for link in graph["links"]}
    assert len(links) == len(graph["links"]), "two links share an id"
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert len(nodes) == len(graph["nodes"]), "two nodes share an id"
    for n in graph["nodes"]:
        for slot, socket in enumerate(n.get("inputs") or []):
            if socket.get("link") is not None:
                _id, _o, _os, target, target_slot = links[socket["link"]]
                assert (target, target_slot) == (n["id"], slot), (n["type"], socket)
        for slot, socket in enumerate(n.get("outputs") or []):
            leaving = sorted(i for i, o, os, _t, _ts in links.values() if (o, os) == (n["id"], slot))
            assert sorted(socket.get("links") or []) == leaving, (n["type"], socket)
    for _id, origin, _os, target, _ts in links.values():
        assert origin in nodes or (boundary and origin == SUBGRAPH_INPUT), (origin, target)
        assert target in nodes or (boundary and target == SUBGRAPH_OUTPUT), (origin, target)
    if boundary:
        for key, end, at in (("inputs", SUBGRAPH_INPUT, 1), ("outputs", SUBGRAPH_OUTPUT, 3)):
            for i, slot in enumerate(graph[key]):
                expected = sorted(v[0] for v in links.values() if v[at] == end and v[at + 1] == i)
                assert sorted(slot["linkIds"]) == expected, (key, slot["name"])


def flatten(workflow):
    """The prompt the frontend would queue with subgraph instances expanded, in an id-free form two files can be
    compared in: per node (class type, widget values, each input as (source's type and values, slot))."""
    defs = {sg["id"]: sg for sg in workflow.get("definitions", {}).get("subgraphs", [])}
    entries = []

    def walk(graph, scope, outside):  # outside: this subgraph's input slot → the source feeding it
        links = {ends(link)[0]: ends(link) for link in graph["links"]}
        inner = {}

        def key(node_id, slot):
            if node_id == SUBGRAPH_INPUT:
                return outside[slot]
            if node_id in inner:
                return inner[node_id][slot]
            return (scope, node_id, slot)

        for n in graph["nodes"]:
            if n["type"] in defs:
                feeds = {i: key(*links[s["link"]][1:3]) for i, s in enumerate(n["inputs"]) if s.get("link") is not None}
                inner[n["id"]] = walk(defs[n["type"]], (*scope, n["id"]), feeds)
        for n in graph["nodes"]:
            if n["type"] in defs or n["type"] in cv.FRONTEND_ONLY:
                continue
            inputs = {s["name"]: key(*links[s["link"]][1:3]) for s in n.get("inputs") or [] if s.get("link") is not None}
            entries.append((scope, n["id"], n["type"], json.dumps(numbers(n.get("widgets_values") or [])), inputs))
        return {ts: key(origin, os_) for _id, origin, os_, target, ts in links.values() if target == SUBGRAPH_OUTPUT}

    walk(workflow, (), {})
    what = {(scope, node_id): (type_, values) for scope, node_id, type_, values, _inputs in entries}
    return sorted((type_, values, sorted((name, what[src[:2]], src[2]) for name, src in inputs.items()))
                  for _scope, _id, type_, values, inputs in entries)


def test_fixture_is_the_frontends_subgraph_of_t2v_gen1():
    sub = load()
    [sg] = sub["definitions"]["subgraphs"]
    assert sg["name"] == "Animate"
    assert sorted(n["type"] for n in sg["nodes"]) == ["ADE_AnimateDiffLoaderGen1", "KSampler"]
    assert_consistent(sg, boundary=True)


def test_foreign_nodes_inside_a_subgraph_are_converted():
    converted, report = cv.convert(load())
    [sg] = converted["definitions"]["subgraphs"]
    inner = sorted(n["type"] for n in sg["nodes"])
    assert inner == ["ADL_ApplyMotionModule", "ADL_LoadMotionModule", "KSampler"], inner
    known = set(cv.known_types())
    assert not [n["type"] for n in converted["nodes"] + sg["nodes"] if n["type"] in known]
    inside = [c for c in report["converted"] if c.get("subgraph") == "Animate"]
    assert [c["type"] for c in inside] == ["ADE_AnimateDiffLoaderGen1"] and not report["kept"], report
    assert "(in subgraph Animate)" in cv.format_report(report)
    assert report["summary"].startswith("Converted 2 nodes"), report["summary"]


def test_links_slots_and_ids_stay_consistent():
    original = load()
    converted, _report = cv.convert(original)
    assert_consistent(converted)
    [sg] = converted["definitions"]["subgraphs"]
    assert_consistent(sg, boundary=True)
    # ids are drawn from the file's counters: no node or link id is used twice anywhere in the file
    node_ids = [n["id"] for n in converted["nodes"]] + [n["id"] for n in sg["nodes"]]
    link_ids = [ends(x)[0] for x in converted["links"]] + [ends(x)[0] for x in sg["links"]]
    assert len(set(node_ids)) == len(node_ids) and len(set(link_ids)) == len(link_ids)
    counters = [converted.get("last_node_id"), (converted.get("state") or {}).get("lastNodeId")]
    assert max(node_ids) <= min(c for c in counters if c is not None)
    # the boundary is the frontend's: same slots, same names and types; the instance node is untouched
    assert [(s["name"], s["type"]) for s in sg["inputs"]] == \
        [(s["name"], s["type"]) for s in original["definitions"]["subgraphs"][0]["inputs"]]
    instance = lambda w: next(n for n in w["nodes"] if n["type"] == sg["id"])  # noqa: E731
    assert instance(converted) == instance(original)


def test_converted_subgraph_queues_what_the_unpacked_graph_queues():
    """Flattened (subgraph expanded, ids dropped), the converted subgraph file is t2v_gen1 converted."""
    converted, _ = cv.convert(load())
    plain, _ = cv.convert(load("t2v_gen1"))
    assert flatten(converted) == flatten(plain)


def test_a_kept_node_inside_a_subgraph_is_marked_there():
    wf = load()
    sg = wf["definitions"]["subgraphs"][0]
    ade = next(n for n in sg["nodes"] if n["type"] == "ADE_AnimateDiffLoaderGen1")
    ade["widgets_values"][1] = "linear (AnimateDiff-SDXL)"  # a beta schedule this pack does not run
    converted, report = cv.convert(wf)
    [kept] = report["kept"]
    assert kept["subgraph"] == "Animate" and kept["id"] == ade["id"] and "AnimateDiff-SDXL" in kept["reason"], kept
    inner = next(n for n in converted["definitions"]["subgraphs"][0]["nodes"] if n["id"] == ade["id"])
    assert inner["properties"]["adl_convert"].startswith("not converted") and inner["color"] == cv.MARK_COLOR


@pytest.mark.parametrize("damage, message", [
    (lambda wf: wf["definitions"].__setitem__("subgraphs", {"a": 1}), "definitions.subgraphs must be a list"),
    (lambda wf: wf["definitions"]["subgraphs"][0].__setitem__("nodes", 3), "subgraph 'Animate': 'nodes' must be a list"),
    (lambda wf: wf["definitions"]["subgraphs"][0]["nodes"][0]["inputs"][0].__setitem__("link", 9999),
     "subgraph 'Animate': node"),
    (lambda wf: wf.__setitem__("definitions", [1]), "'definitions' must be an object"),
    (lambda wf: wf["definitions"]["subgraphs"][0]["inputs"].append("model"), "each of its inputs must be an object"),
    (lambda wf: wf["definitions"]["subgraphs"][0]["links"].append([99, 1]), "subgraph 'Animate': a link is neither"),
    (lambda wf: wf["definitions"]["subgraphs"][0]["links"].append({"id": 99, "origin_id": 5}),
     "subgraph 'Animate': a link is neither"),
])
def test_a_broken_subgraph_is_a_clear_error(damage, message):
    wf = load()
    damage(wf)
    with pytest.raises(cv.ConvertError, match=message.replace("(", r"\(")):
        cv.convert(copy.deepcopy(wf))
