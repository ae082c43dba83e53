"""The converter as an artist meets it, in a real browser (the host's frontend, classic canvas): each foreign
workflow file opened with Workflow > Open shows the offer; one click opens the converted graph in a new tab
with no missing node type, the original tab still open; what the frontend would queue is what the converter's
UI → API path gives (workflow_files.workflow_api.to_api); the report is on screen in plain words.

Uses tests/support/server.py's ComfyServer as it is, and browser.mjs's helpers; one server, one browser run.
ADL_CONVERT_FRONTEND=1.58.1 (a version of support.frontends) and ADL_CONVERT_RENDERER=vue run it in another
frontend or with Vue nodes."""
import inspect
import json
import os
import re

import pytest

from conftest import COMFYUI_PATH
from support.foreign_workflows import FIXTURES, numbers
from support.frontends import front_end_root, require_browser_tools, run_page_script, use_renderer, version_of
from support.server import ComfyServer

from animatediff_lightning.workflow_files import convert as cv
from animatediff_lightning.workflow_files.workflow_api import to_api

FILES = ["t2v_gen1", "t2v_gen2_lora_context_prompt_travel", "v2v_legacy_acn", "unconvertible", "t2v_gen1_subgraph"]
SUBGRAPH_FILES = {"t2v_gen1_subgraph": "t2v_gen1"}  # a subgraph file → the same graph without the subgraph
LIGHTNING = {"t2v_gen2_lora_context_prompt_travel": 2, "v2v_legacy_acn": 8}  # "Open switched to Lightning", steps
FRONTEND_ONLY = {"video-preview", "upload"}  # widget values the frontend adds to a prompt that are no input
FRONTEND = os.environ.get("ADL_CONVERT_FRONTEND", "host")
RENDERER = os.environ.get("ADL_CONVERT_RENDERER", "canvas")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    require_browser_tools()
    base = tmp_path_factory.mktemp("comfy_convert_browser")
    use_renderer(base, RENDERER)
    extra = {}
    if FRONTEND != "host":
        assert "front_end_root" in inspect.signature(ComfyServer).parameters, "this ComfyServer serves its host's frontend only"
        extra["front_end_root"] = front_end_root(FRONTEND)
    server = ComfyServer(COMFYUI_PATH, base, {}, **extra).start()
    try:
        out = run_page_script("convert.mjs", server, {"files": {n: str(FIXTURES / f"{n}.json") for n in FILES},
                                                    "lightning": LIGHTNING},
                              f"convert-{FRONTEND}-{RENDERER}", timeout=600)
        out["object_info"] = server.get("/object_info")
        yield out
    finally:
        server.stop()


def opened(run, name):
    result = run["files"][name]
    assert "error" not in result, result["error"]
    return result


def canonical(prompt: dict) -> list:
    """An API prompt without its ids: per node (class type, widget inputs, each linked input as its source's
    canonical form and slot); the frontend numbers expanded subgraph nodes "12:5", the converter does not."""
    memo = {}

    def of(key):
        if key not in memo:
            node = prompt[key]
            values = {k: v for k, v in node["inputs"].items() if not isinstance(v, list) and k not in FRONTEND_ONLY}
            memo[key] = None  # no cycles in a prompt; this only guards the recursion
            memo[key] = (node["class_type"], json.dumps(numbers(values), sort_keys=True),
                         tuple(sorted((k, of(str(v[0])), v[1]) for k, v in node["inputs"].items() if isinstance(v, list))))
        return memo[key]
    return sorted(map(of, prompt), key=repr)


@pytest.mark.parametrize("name", FILES)
def test_offer_then_converted_tab(run, name):
    result = opened(run, name)
    original = json.loads((FIXTURES / f"{name}.json").read_text())
    converted, report = cv.convert(original)
    inner = [n for sg in original.get("definitions", {}).get("subgraphs", []) for n in sg["nodes"]]
    convertible = sorted({n["type"] for n in original["nodes"] + inner} & set(cv.known_types()))
    assert result["before"]["missing"] and set(convertible) <= set(result["before"]["missing"])
    assert all(t in result["offerText"] for t in convertible), result["offerText"]
    # the new tab holds the converted graph; the original tab is still open, unchanged
    assert result["after"]["types"] == sorted(n["type"] for n in converted["nodes"])
    assert result["after"]["active"] == f"{name} (converted)" and name in result["after"]["tabs"], result["after"]
    assert report["summary"] in result["reportText"] and "the original tab is unchanged" in result["reportText"]
    assert not result["offerStillShown"]
    if report["kept"]:
        assert result["after"]["missing"] == sorted({k["type"] for k in report["kept"]})
        assert sorted(int(i) for i in result["after"]["marked"]) == sorted(k["id"] for k in report["kept"])
        assert "Left as they were (marked red)" in result["reportText"]
        return
    assert result["after"]["missing"] == [], result["after"]["missing"]
    if name in SUBGRAPH_FILES:
        # the frontend expands the subgraph when it queues: what it sends is the unpacked graph converted
        assert result["after"]["innerTypes"] == sorted(
            n["type"] for sg in converted["definitions"]["subgraphs"] for n in sg["nodes"])
        unpacked, _ = cv.convert(json.loads((FIXTURES / f"{SUBGRAPH_FILES[name]}.json").read_text()))
        assert canonical(result["after"]["prompt"]) == canonical(to_api(unpacked, run["object_info"]))
        return
    prompt = {k: {"class_type": v["class_type"], "inputs": {i: x for i, x in v["inputs"].items()
                                                            if i not in FRONTEND_ONLY}}
              for k, v in result["after"]["prompt"].items()}
    assert prompt == to_api(converted, run["object_info"])


def queued(after: dict) -> dict:
    return {k: {"class_type": v["class_type"], "inputs": {i: x for i, x in v["inputs"].items() if i not in FRONTEND_ONLY}}
            for k, v in after["prompt"].items()}


@pytest.mark.parametrize("name", sorted(LIGHTNING))
def test_open_switched_to_lightning(run, name):
    """The second button: the same conversion switched to Lightning at the chosen steps opens in its own tab, its
    changes listed in the report; what the frontend would queue is make_lightning's graph through to_api."""
    result = opened(run, name)["lightning"]
    assert "error" not in result, result["error"]
    converted, _report = cv.convert(json.loads((FIXTURES / f"{name}.json").read_text()))
    switched, changes = cv.make_lightning(converted, LIGHTNING[name])
    after = result["after"]
    # the file opened a second time may be named "NAME (2)" by the frontend
    assert after["active"].startswith(name) and after["active"].endswith(f" (Lightning {LIGHTNING[name]}-step)"), \
        after["active"]
    assert after["missing"] == [] and after["types"] == sorted(n["type"] for n in switched["nodes"])
    assert f"Switched to Lightning ({LIGHTNING[name]} steps)" in result["reportText"]
    assert changes and all(c[1:] in result["reportText"] for c in changes)
    assert f"animatediff_lightning_{LIGHTNING[name]}step_comfyui.safetensors" in result["reportText"]
    assert queued(after) == to_api(switched, run["object_info"])


# What frontends newer than 1.32.9 log on their own, with or without this pack: routes a 0.3.75 backend lacks,
# and a start-up warning of the frontend itself ("ComfyApp graph accessed before initialization": its own code
# reads app.rootGraph before the graph exists; seen on 1.49.6 against ComfyUI 0.33.0 with the pack and with
# --disable-all-custom-nodes alike, and on 1.53.6 / 1.58.1; this pack's JS reads only app.graph). Allowed by
# frontend version, whichever backend pins it (0.33's own frontend is 1.49.6).
NEWER_FRONTEND_NOISE = (re.compile(r"^ComfyApp graph accessed before initialization \[\S+/assets/settingStore-\w+\.js\]$"),
                        re.compile(r"^Failed to load resource: the server responded with a status of 404 \(Not Found\) "
                                   r"\[\S+/api/jobs\?"),
                        re.compile(r"^(\[Jobs API\] (Error fetching jobs: JobsApiError: )?|Failed to fetch queue: "
                                   r"JobsApiError: )Failed to fetch jobs: 404\b"))


def newer_frontend(frontend: str) -> bool:
    return tuple(int(p) for p in version_of(frontend).split(".")[:2]) > (1, 32)


def test_no_console_errors(run):
    errors = [e for e in run["consoleErrors"]
              if not newer_frontend(FRONTEND) or not any(rx.search(e) for rx in NEWER_FRONTEND_NOISE)]
    assert errors == [], errors
