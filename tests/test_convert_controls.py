"""The converter on Advanced-ControlNet's ControlNet controls, without a server: weights → ControlNet Weights
(Lightning) (TK_SHORTCUT → a ControlNet Keyframe at 0), timestep keyframes → ControlNet Keyframe (Lightning) chains,
latent keyframes → their frames text, a loader's timestep keyframes and an apply's timestep_kf / latent_kf_override
/ weights_override / mask_optional → ControlNet Controls (Lightning) before core Apply ControlNet; every layout
(tests/fixtures/foreign_workflows/controls_versions.json); the hand-made chain (controls_chain.json) in UI and API
format (controls_chain_api.json); what stays, with the reason."""
import json

import numpy as np
import pytest
from animatediff_lightning.workflow_files import convert as cv
from support.foreign_workflows import FIXTURES, UIGraph, _base
from test_convert import _consistent, _links, by_type, named
from test_convert_settings import kept, source_of

VERSIONS = json.loads((FIXTURES / "controls_versions.json").read_text())
CN = "control_v11p_sd15_openpose.pth"
COND = [("positive", "CONDITIONING"), ("negative", "CONDITIONING")]
APPLY_INPUTS = [*COND, ("control_net", "CONTROL_NET"), ("image", "IMAGE"), ("mask_optional", "MASK"),
                ("timestep_kf", "TIMESTEP_KEYFRAME"), ("latent_kf_override", "LATENT_KEYFRAME"),
                ("weights_override", "CONTROL_NET_WEIGHTS"), ("vae_optional", "VAE")]
TK_INPUTS = [("prev_timestep_kf", "TIMESTEP_KEYFRAME"), ("cn_weights", "CONTROL_NET_WEIGHTS"),
             ("latent_keyframe", "LATENT_KEYFRAME"), ("mask_optional", "MASK")]
TK_OUT = [("TIMESTEP_KF", "TIMESTEP_KEYFRAME")]
WEIGHTS_OUT = [("CN_WEIGHTS", "CONTROL_NET_WEIGHTS"), ("TK_SHORTCUT", "TIMESTEP_KEYFRAME")]
LATENT_OUT = [("LATENT_KF", "LATENT_KEYFRAME")]
LATENT_INPUTS = {"LatentKeyframe": [("prev_latent_kf", "LATENT_KEYFRAME")],
                 "LatentKeyframeGroup": [("prev_latent_kf", "LATENT_KEYFRAME"), ("latent_optional", "LATENT")],
                 "LatentKeyframeTiming": [("prev_latent_kf", "LATENT_KEYFRAME")],
                 "LatentKeyframeBatchedGroup": [("float_strengths", "FLOAT"), ("prev_latent_kf", "LATENT_KEYFRAME")]}
SOFT15 = [0.825 ** (12 - i) for i in range(12)] + [1.0]


def timing(a, b, s_from, s_to):
    """LatentKeyframeTiming's linear strengths as Advanced-ControlNet computes them."""
    return ", ".join(f"{a + i}:{a + i + 1}={float(w)!r}" for i, w in enumerate(np.linspace(s_from, s_to, b - a)))


class Graph:
    """Checkpoint, prompts, hint image, latent, an ACN loader, one apply, a KSampler; add control nodes to it."""

    def __init__(self, apply="ACN_AdvancedControlNetApply_v2", loader="ACN_ControlNetLoaderAdvanced"):
        g = self.g = UIGraph()
        self.ckpt, pos, neg = _base(g)
        self.image = g.node("LoadImage", ["pose.png", "image"], outputs=[("IMAGE", "IMAGE"), ("MASK", "MASK")])
        self.latent = g.node("EmptyLatentImage", [512, 512, 16], outputs=[("LATENT", "LATENT")])
        tk = "_tk_opt" if loader.startswith("ACN_") else "tk_optional"
        diff = [("model", "MODEL")] if "Diff" in loader else []
        self.loader = g.node(loader, [CN], inputs=[*diff, (tk, "TIMESTEP_KEYFRAME")],
                             outputs=[("CONTROL_NET", "CONTROL_NET")])
        if diff:
            g.link(self.ckpt, 0, self.loader, "model")
        self.tk = tk
        self.apply = g.node(apply, [0.9, 0.0, 1.0], inputs=APPLY_INPUTS, outputs=COND)
        for name, src in (("positive", pos), ("negative", neg)):
            g.link(src, 0, self.apply, name)
        g.link(self.loader, 0, self.apply, "control_net")
        g.link(self.image, 0, self.apply, "image")
        self.ks = g.node("KSampler", [1, "fixed", 4, 1.0, "euler", "sgm_uniform", 1.0],
                         inputs=[("model", "MODEL"), *COND, ("latent_image", "LATENT")], outputs=[("LATENT", "LATENT")])
        g.link(self.ckpt, 0, self.ks, "model")
        g.link(self.apply, 0, self.ks, "positive")
        g.link(self.apply, 1, self.ks, "negative")
        g.link(self.latent, 0, self.ks, "latent_image")

    def keyframe(self, widgets, prev=None, weights=None, latent=None, into=None):
        k = self.g.node("TimestepKeyframe", list(widgets), inputs=TK_INPUTS, outputs=TK_OUT)
        for src, name in ((prev, "prev_timestep_kf"), (weights, "cn_weights"), (latent, "latent_keyframe")):
            if src is not None:
                self.g.link(*(src if isinstance(src, tuple) else (src, 0)), k, name)
        if into:
            self.g.link(k, 0, *into)
        return k

    def weights(self, type_, widgets, into=None, slot=0):
        w = self.g.node(type_, list(widgets), inputs=[("cn_extras", "CN_WEIGHTS_EXTRAS")], outputs=WEIGHTS_OUT)
        if into:
            self.g.link(w, slot, *into)
        return w

    def latent_kf(self, type_, widgets, prev=None, into=None):
        n = self.g.node(type_, list(widgets), inputs=LATENT_INPUTS[type_], outputs=LATENT_OUT)
        if prev is not None:
            self.g.link(prev, 0, n, "prev_latent_kf")
        if into:
            self.g.link(n, 0, *into)
        return n

    def convert(self):
        out, report = cv.convert(self.g.workflow())
        _consistent(out)
        return out, report


def chain_graph() -> Graph:
    """The hand-made chain: a loader whose _tk_opt is a Scaled Soft Weights' TK_SHORTCUT; two timestep keyframes
    (the first with SD1.5 soft weights and a latent keyframe group fed a latent keyframe, the second with a latent
    keyframe timing, inherit_missing off, 2 guaranteed steps) on the apply's timestep_kf; default weights on its
    weights_override, the hint's mask on mask_optional and a latent keyframe on latent_kf_override."""
    c = Graph()
    c.weights("ACN_ScaledSoftControlNetWeights", [0.85, 1.0], into=(c.loader, c.tk), slot=1)
    single = c.latent_kf("LatentKeyframe", [12, 0.3])
    group = c.latent_kf("LatentKeyframeGroup", ["0:8=1.0, 12", False], prev=single)
    soft = c.weights("ACN_SoftControlNetWeightsSD15", SOFT15 + [1.0])
    first = c.keyframe([0.0, 1.0, 0.0, True, 1], weights=soft, latent=group)
    ramp = c.latent_kf("LatentKeyframeTiming", [8, 12, 1.0, 0.0, "linear", False])
    c.keyframe([0.5, 0.8, 0.1, False, 2], prev=first, latent=ramp, into=(c.apply, "timestep_kf"))
    c.weights("ACN_DefaultUniversalWeights", [], into=(c.apply, "weights_override"))
    c.g.link(c.image, 1, c.apply, "mask_optional")
    c.latent_kf("LatentKeyframe", [-1, 0.2], into=(c.apply, "latent_kf_override"))
    return c


def chain_api() -> dict:
    """chain_graph as Advanced-ControlNet would have queued it (API format)."""
    ui = chain_graph().g.workflow()
    nodes = {n["id"]: n for n in ui["nodes"]}
    links = {lk[0]: lk for lk in ui["links"]}
    widget_names = {"CheckpointLoaderSimple": ["ckpt_name"], "CLIPTextEncode": ["text"], "LoadImage": ["image", None],
                    "EmptyLatentImage": ["width", "height", "batch_size"],
                    "KSampler": ["seed", None, "steps", "cfg", "sampler_name", "scheduler", "denoise"]}
    prompt = {}
    for n in ui["nodes"]:
        entry = cv.mapping()["nodes"].get(n["type"])
        names = widget_names.get(n["type"]) or [w for w, _k in entry["versions"][-1]["widgets"]] if entry else \
            widget_names[n["type"]]
        if entry and len(entry["versions"][-1]["widgets"]) != len(n["widgets_values"]):
            names = next(v for v in reversed(entry["versions"]) if len(v["widgets"]) == len(n["widgets_values"]))["widgets"]
            names = [w for w, _k in names]
        inputs = {k: v for k, v in zip(names, n["widgets_values"]) if k}
        for s in n["inputs"]:
            if s["link"] is not None:
                lk = links[s["link"]]
                inputs[s["name"]] = [str(lk[1]), lk[2]]
        prompt[str(n["id"])] = {"class_type": n["type"], "inputs": inputs}
    assert set(nodes) == {int(k) for k in prompt}
    return prompt


FIXTURE_BUILDERS = {"controls_chain": lambda: chain_graph().g.workflow(), "controls_chain_api": chain_api}


def test_fixtures_are_what_the_builders_write():
    for name, build in FIXTURE_BUILDERS.items():
        assert json.loads((FIXTURES / f"{name}.json").read_text()) == json.loads(json.dumps(build())), \
            f"rewrite tests/fixtures/foreign_workflows/{name}.json from test_convert_controls.FIXTURE_BUILDERS"


def load(name):
    return json.loads((FIXTURES / f"{name}.json").read_text())


def only(workflow, type_):
    [node] = by_type(workflow, type_)
    return node


# --------------------------------------------------------------------------------------------------------
# The chain, UI and API
# --------------------------------------------------------------------------------------------------------
RAMP = timing(8, 12, 1.0, 0.0)


def test_chain_of_keyframes_latents_and_weights():
    c = chain_graph()
    out, report = c.convert()
    assert not report["kept"], report["kept"]
    assert not [n for n in out["nodes"] if n["type"] in cv.known_types()]
    ids = {n["id"]: n for n in out["nodes"]}
    apply = only(out, "ControlNetApplyAdvanced")
    assert named(apply) == {"strength": 0.9, "start_percent": 0.0, "end_percent": 1.0}
    controls = source_of(out, apply, "control_net")
    assert controls["type"] == "ADL_ControlNetControls" and named(controls) == {"frames": "-1=0.2"}
    assert source_of(out, controls, "mask")["id"] == c.image
    assert named(source_of(out, controls, "weights")) == {"base_multiplier": 1.0, "uncond_multiplier": 1.0,
                                                          "block_weights": ""}
    second = source_of(out, controls, "keyframes")
    assert named(second) == {"start_percent": 0.5, "strength": 0.8, "frames": RAMP, "other_frames": 0.1,
                             "inherit_missing": False, "guarantee_steps": 2}
    first = source_of(out, second, "previous")
    assert named(first) == {"start_percent": 0.0, "strength": 1.0, "frames": "0:8=1.0, 12:13=0.3", "other_frames": 0.0,
                            "inherit_missing": True, "guarantee_steps": 1}
    soft = source_of(out, first, "weights")
    assert named(soft)["block_weights"] == ", ".join(repr(w) for w in SOFT15) and named(soft)["base_multiplier"] == 1.0
    # the loader: core Load ControlNet Model, then Controls with the TK_SHORTCUT's keyframe
    loader_controls = source_of(out, controls, "control_net")
    assert loader_controls["type"] == "ADL_ControlNetControls"
    assert source_of(out, loader_controls, "control_net")["id"] == c.loader
    assert named(ids[c.loader]) == {"control_net_name": CN} and ids[c.loader]["type"] == "ControlNetLoader"
    shortcut = source_of(out, loader_controls, "keyframes")
    assert named(shortcut) == {"start_percent": 0.0, "strength": 1.0, "frames": "", "other_frames": 0.0,
                               "inherit_missing": True, "guarantee_steps": 1}
    assert named(source_of(out, shortcut, "weights")) == {"base_multiplier": 0.85, "uncond_multiplier": 1.0,
                                                          "block_weights": ""}
    assert ("ControlNetApplyAdvanced", 0, "KSampler", "positive") in _links(out)
    text = cv.format_report(report)
    assert "its timestep_kf replaces the keyframes of loader node" in text
    assert "TK_SHORTCUT became a ControlNet Keyframe (Lightning) at 0" in text
    assert len(out["nodes"]) == len(c.g.nodes) - 4 + 3  # four latent keyframes go; two Controls, one keyframe come


def test_chain_api_format_is_the_ui_conversion():
    ui, _ = cv.convert(load("controls_chain"))
    api, report = cv.convert(load("controls_chain_api"))
    assert not report["kept"], report["kept"]
    by_id = {str(n["id"]): n for n in ui["nodes"]}
    assert set(api) == set(by_id)
    for key, node in api.items():
        assert node["class_type"] == by_id[key]["type"], key
        if node["class_type"] in cv.mapping()["targets"] and by_id[key].get("widgets_values") is not None:
            widgets = {k: v for k, v in node["inputs"].items() if not isinstance(v, list)}
            assert widgets == {k: v for k, v in named(by_id[key]).items() if k in widgets}, key
    assert api["19"]["inputs"] == {"frames": "-1=0.2", "keyframes": ["15", 0], "weights": ["16", 0], "mask": ["4", 1],
                                   "control_net": ["18", 0]}
    assert api["15"]["inputs"]["frames"] == RAMP and api["15"]["inputs"]["previous"] == ["13", 0]


def test_api_omitted_inputs_take_the_layout_defaults():
    prompt = {"1": {"class_type": "TimestepKeyframe", "inputs": {"start_percent": 0.25}},
              "2": {"class_type": "ACN_SoftControlNetWeightsSD15", "inputs": {"output_3": 0.5}},
              "3": {"class_type": "TimestepKeyframe", "inputs": {"start_percent": 0.5, "guarantee_usage": False,
                                                                 "prev_timestep_kf": ["1", 0], "cn_weights": ["2", 0]}}}
    out, report = cv.convert(prompt)
    assert not report["kept"], report["kept"]
    assert out["1"]["inputs"] == {"start_percent": 0.25, "strength": 1.0, "frames": "", "other_frames": 0.0,
                                  "inherit_missing": True, "guarantee_steps": 1}
    blocks = [*SOFT15[:3], 0.5, *SOFT15[4:]]
    assert out["2"]["inputs"]["block_weights"] == ", ".join(repr(float(w)) for w in blocks)
    assert out["3"]["inputs"]["guarantee_steps"] == 0 and out["3"]["inputs"]["previous"] == ["1", 0]


# --------------------------------------------------------------------------------------------------------
# Every layout
# --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", VERSIONS["cases"], ids=lambda c: f"{c['type']}:{c['version']}")
def test_layouts(case):
    entry = cv.mapping()["nodes"][case["type"]]
    c = Graph(loader=case["type"]) if entry["kind"] == "acn_loader" else Graph()
    if entry["kind"] == "acn_loader":
        c.g._get(c.loader)["widgets_values"] = case["widgets_values"]
        node = owner = c.loader
    elif entry["kind"] == "acn_latent":
        node = c.latent_kf(case["type"], case["widgets_values"])
        owner = c.keyframe([0.0, 1.0, 0.0, True, 1], latent=node, into=(c.apply, "timestep_kf"))
    elif entry["kind"] in ("acn_keyframe", "acn_weights"):
        node = owner = c.g.node(case["type"], case["widgets_values"])
    else:
        c.g._get(c.apply)["type"] = case["type"]
        c.g._get(c.apply)["widgets_values"] = case["widgets_values"]
        node = owner = c.apply
    out, report = c.convert()
    if case.get("refused"):
        assert case["refused"] in kept(report)[node], kept(report)
        return
    assert not report["kept"], report["kept"]
    [entry] = [e for e in report["converted"] if e["id"] == owner]
    version = entry["version"] if node == owner else next(w for w in entry["with"] if f"(node {node})" in w)
    assert case["version"] in version, version
    for target, values in case["expect"].items():
        got = named(next(n for n in by_type(out, target) if n["id"] == owner))
        assert {k: got[k] for k in values} == values, (target, got)
    if case.get("note"):
        assert case["note"] in cv.format_report(report)


# --------------------------------------------------------------------------------------------------------
# What converts, in particular
# --------------------------------------------------------------------------------------------------------
def test_an_apply_without_controls_stays_plain():
    c = Graph(apply="ACN_AdvancedControlNetApply", loader="ControlNetLoaderAdvanced")
    out, report = c.convert()
    assert not report["kept"], report["kept"]
    assert not by_type(out, "ADL_ControlNetControls")
    assert source_of(out, only(out, "ControlNetApplyAdvanced"), "control_net")["type"] == "ControlNetLoader"


def test_the_loaders_keyframes_are_carried_into_the_applys_controls():
    """Controls replace all of a ControlNet's controls: an apply with weights_override but no timestep_kf gets the
    loader's keyframes too (Advanced-ControlNet keeps them; its override only replaces the weights)."""
    c = Graph(loader="ControlNetLoaderAdvanced")
    c.keyframe([0.3, 0.5, 0.0, True, 1], into=(c.loader, c.tk))
    c.weights("ACN_ScaledSoftControlNetWeights", [0.9, 1.0], into=(c.apply, "weights_override"))
    out, report = c.convert()
    assert not report["kept"], report["kept"]
    apply_controls = source_of(out, only(out, "ControlNetApplyAdvanced"), "control_net")
    loader_controls = source_of(out, apply_controls, "control_net")
    assert source_of(out, apply_controls, "keyframes")["id"] == source_of(out, loader_controls, "keyframes")["id"]
    assert named(source_of(out, apply_controls, "keyframes"))["start_percent"] == 0.3
    assert "are on its ControlNet Controls (Lightning) too" in cv.format_report(report)


def test_a_keyframe_chain_through_a_shortcut_and_linked_widgets():
    """A weights node's TK_SHORTCUT as a keyframe's previous; start_percent and uncond_multiplier fed by Primitives
    stay fed (both packs order keyframes when they run)."""
    c = Graph()
    w = c.weights("ACN_ScaledSoftControlNetWeights", [0.8, 0.5])
    k = c.keyframe([0.6, 1.0, 0.0, True, 1], prev=(w, 1), into=(c.apply, "timestep_kf"))
    c.g.widget_input(k, "start_percent", "FLOAT")
    c.g.widget_input(w, "uncond_multiplier", "FLOAT")
    for node, name in ((k, "start_percent"), (w, "uncond_multiplier")):
        prim = c.g.node("PrimitiveNode", [0.4, "fixed"], outputs=[("FLOAT", "FLOAT")])
        c.g.link(prim, 0, node, name)
    out, report = c.convert()
    assert not report["kept"], report["kept"]
    links = _links(out)
    assert ("PrimitiveNode", 0, "ADL_ControlNetKeyframe", "start_percent") in links
    assert ("PrimitiveNode", 0, "ADL_ControlNetWeights", "uncond_multiplier") in links
    keyframe = next(n for n in by_type(out, "ADL_ControlNetKeyframe") if n["id"] == k)
    shortcut = source_of(out, keyframe, "previous")
    assert shortcut["type"] == "ADL_ControlNetKeyframe" and source_of(out, shortcut, "weights")["id"] == w


def test_latent_keyframes_replace_as_advanced_controlnet_does():
    """LatentKeyframe replaces prev's strength on its index; a group's (and timing's) own are replaced by prev's;
    an empty group gives every frame other_frames; mixed signs stay in batch-index order."""
    c = Graph()
    a = c.latent_kf("LatentKeyframe", [2, 0.5])
    b = c.latent_kf("LatentKeyframe", [2, 0.7], prev=a)
    g = c.latent_kf("LatentKeyframeGroup", ["0:4=0.1, 9", False], prev=b)
    t = c.latent_kf("LatentKeyframeGroup", ["-2:0=0.4", False], prev=g)  # range(-2, 0): the last two frames
    c.keyframe([0.0, 1.0, 0.0, True, 1], latent=t, into=(c.apply, "timestep_kf"))
    out, report = c.convert()
    assert not report["kept"], report["kept"]
    [keyframe] = by_type(out, "ADL_ControlNetKeyframe")
    assert named(keyframe)["frames"] == "-2:-1=0.4, -1=0.4, 0:2=0.1, 2:3=0.7, 3:4=0.1, 9:10=1.0"
    c = Graph()
    c.latent_kf("LatentKeyframeGroup", ["", False], into=(c.apply, "latent_kf_override"))
    out, report = c.convert()
    assert named(only(out, "ADL_ControlNetControls"))["frames"] == "0:0"


def test_a_group_with_latent_optional_is_noted():
    c = Graph()
    g = c.latent_kf("LatentKeyframeGroup", ["0:4", False], into=(c.apply, "latent_kf_override"))
    c.g.link(c.latent, 0, g, "latent_optional")
    out, report = c.convert()
    assert not report["kept"], report["kept"]
    assert named(only(out, "ADL_ControlNetControls"))["frames"] == "0:4=1.0"
    assert "latent_optional dropped" in cv.format_report(report)


# --------------------------------------------------------------------------------------------------------
# What stays, and why
# --------------------------------------------------------------------------------------------------------
