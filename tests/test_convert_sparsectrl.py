"""The converter on Advanced-ControlNet's SparseCtrl, without a server: ACN_SparseCtrlLoaderAdvanced → Load SparseCtrl
(Lightning), the apply nodes it feeds → Apply SparseCtrl (Lightning) with the sparse method as placement and the RGB
preprocessor's image / vae as images / vae; every layout (tests/fixtures/foreign_workflows/sparsectrl_versions.json);
UI and API format; what stays, with the reason (the loader's and the part's own); and the converted prompt checked by
ComfyUI's own validation against this pack's node classes."""
import asyncio
import json

import pytest
from animatediff_lightning.nodes import NODES
from animatediff_lightning.workflow_files import convert as cv
from support.foreign_workflows import FIXTURES, UIGraph, _base
from test_convert import _consistent, _links, by_type, named
from test_convert_settings import kept, source_of

VERSIONS = json.loads((FIXTURES / "sparsectrl_versions.json").read_text())
RGB, SCRIBBLE = "v3_sd15_sparsectrl_rgb.ckpt", "v3_sd15_sparsectrl_scribble.ckpt"
LOADER = ["v3_sd15_sparsectrl_rgb.ckpt", True, 1.0, 1.0, "nearest_hint", 1.0, 1.0, 1.0]
LOADER_INPUTS = [("sparse_method", "SPARSE_METHOD"), ("tk_optional", "TIMESTEP_KEYFRAME")]
APPLY_INPUTS = [("positive", "CONDITIONING"), ("negative", "CONDITIONING"), ("control_net", "CONTROL_NET"),
                ("image", "IMAGE"), ("mask_optional", "MASK"), ("timestep_kf", "TIMESTEP_KEYFRAME"),
                ("latent_kf_override", "LATENT_KEYFRAME"), ("weights_override", "CONTROL_NET_WEIGHTS"),
                ("vae_optional", "VAE")]
COND = [("positive", "CONDITIONING"), ("negative", "CONDITIONING")]


def sparse_graph(loader=LOADER, method=None, rgb=True, apply="ACN_AdvancedControlNetApply_v2", apply_widgets=(0.8, 0.0, 0.6),
                 applies=1):
    """Checkpoint, prompts, a LoadImage of the hints, an ACN SparseCtrl loader (with a method node: (type, widgets)),
    ``applies`` apply nodes in a row (with an RGB preprocessor on each when ``rgb``). Ids as a dict."""
    g = UIGraph()
    ckpt, pos, neg = _base(g)
    images = g.node("LoadImage", ["hints.png", "image"], outputs=[("IMAGE", "IMAGE"), ("MASK", "MASK")])
    latent = g.node("EmptyLatentImage", [512, 512, 16], outputs=[("LATENT", "LATENT")])
    load = g.node("ACN_SparseCtrlLoaderAdvanced", list(loader), inputs=LOADER_INPUTS, outputs=[("CONTROL_NET", "CONTROL_NET")])
    ids = {"g": g, "ckpt": ckpt, "images": images, "latent": latent, "loader": load, "applies": [], "preps": []}
    if method:
        ids["method"] = g.node(method[0], list(method[1]), outputs=[("SPARSE_METHOD", "SPARSE_METHOD")])
        g.link(ids["method"], 0, load, "sparse_method")
    positive, negative = (pos, 0), (neg, 0)
    for _ in range(applies):
        inputs = APPLY_INPUTS if apply.startswith("ACN_") else [*APPLY_INPUTS[:4], ("vae", "VAE")]
        a = g.node(apply, list(apply_widgets), inputs=inputs, outputs=COND)
        g.link(positive[0], positive[1], a, "positive")
        g.link(negative[0], negative[1], a, "negative")
        g.link(load, 0, a, "control_net")
        if rgb:
            prep = g.node("ACN_SparseCtrlRGBPreprocessor", [], inputs=[("image", "IMAGE"), ("vae", "VAE"), ("latent_size", "LATENT")],
                          outputs=[("proc_IMAGE", "IMAGE")])
            g.link(images, 0, prep, "image")
            g.link(ckpt, 2, prep, "vae")
            g.link(latent, 0, prep, "latent_size")
            g.link(prep, 0, a, "image")
            ids["preps"].append(prep)
        else:
            g.link(images, 0, a, "image")
        ids["applies"].append(a)
        positive, negative = (a, 0), (a, 1)
    ks = g.node("KSampler", [1, "fixed", 4, 1.0, "euler", "sgm_uniform", 1.0],
                inputs=[("model", "MODEL"), *COND, ("latent_image", "LATENT")], outputs=[("LATENT", "LATENT")])
    g.link(ckpt, 0, ks, "model")
    g.link(positive[0], positive[1], ks, "positive")
    g.link(negative[0], negative[1], ks, "negative")
    g.link(latent, 0, ks, "latent_image")
    ids["ksampler"] = ks
    return ids


def converted(ids):
    out, report = cv.convert(ids["g"].workflow())
    _consistent(out)
    return out, report


# --------------------------------------------------------------------------------------------------------
# What converts
# --------------------------------------------------------------------------------------------------------
def test_rgb_with_preprocessor():
    """The preprocessor goes: its image and vae feed Apply SparseCtrl directly (it encodes them at the latent size)."""
    ids = sparse_graph(method=("ACN_SparseCtrlSpreadMethodNode", ["center"]))
    out, report = converted(ids)
    assert not report["kept"], report["kept"]
    [load] = by_type(out, "ADL_LoadSparseCtrl")
    [apply] = by_type(out, "ADL_ApplySparseCtrl")
    assert load["id"] == ids["loader"] and apply["id"] == ids["applies"][0]
    assert named(load) == {"sparsectrl_name": RGB, "use_motion": True, "motion_strength": 1.0, "motion_scale": 1.0}
    assert named(apply) == {"strength": 0.8, "start_percent": 0.0, "end_percent": 0.6, "placement": "spread center",
                            "indexes": "0"}
    assert source_of(out, apply, "images")["id"] == ids["images"]
    assert source_of(out, apply, "vae")["id"] == ids["ckpt"]
    assert source_of(out, apply, "control_net")["id"] == ids["loader"]
    assert ("ADL_ApplySparseCtrl", 0, "KSampler", "positive") in _links(out)
    assert ("ADL_ApplySparseCtrl", 1, "KSampler", "negative") in _links(out)
    assert not [n for n in out["nodes"] if n["type"].startswith("ACN_")]
    [entry] = report["converted"]
    assert entry["to"] == [f"ADL_LoadSparseCtrl (node {ids['loader']})", f"ADL_ApplySparseCtrl (node {ids['applies'][0]})"]
    text = cv.format_report(report)
    assert f"RGB preprocessor node {ids['preps'][0]}: latent_size dropped" in text
    assert "context_aware nearest_hint:" not in text  # no context options in the graph


def test_scribble_without_preprocessor_and_index_method():
    ids = sparse_graph(loader=[SCRIBBLE, False, 0.5, 2.0, "off", 1.0, 1.0, 1.0], rgb=False,
                       method=("ACN_SparseCtrlIndexMethodNode", ["0, 8, -1"]), apply="ACN_AdvancedControlNetApply")
    vae_apply = ids["applies"][0]
    out, report = converted(ids)
    assert not report["kept"], report["kept"]
    [load] = by_type(out, "ADL_LoadSparseCtrl")
    [apply] = by_type(out, "ADL_ApplySparseCtrl")
    assert named(load) == {"sparsectrl_name": SCRIBBLE, "use_motion": False, "motion_strength": 0.5, "motion_scale": 2.0}
    assert named(apply)["placement"] == "indexes" and named(apply)["indexes"] == "0, 8, -1"
    assert source_of(out, apply, "images")["id"] == ids["images"] and source_of(out, apply, "vae") is None
    assert apply["id"] == vae_apply and not by_type(out, "ACN_SparseCtrlIndexMethodNode")
    assert any(f"ACN_SparseCtrlIndexMethodNode (node {ids['method']}) [3bf77b1" in w for w in report["converted"][0]["with"])


def test_default_placement_core_apply_and_vae_from_the_apply():
    """No sparse method: ACN's SparseSpreadMethod() (uniform); core Apply ControlNet converts too, its vae kept."""
    ids = sparse_graph(rgb=False, apply="ControlNetApplyAdvanced", apply_widgets=(1.0, 0.1, 0.9))
    g = ids["g"]
    g.link(ids["ckpt"], 2, ids["applies"][0], "vae")
    out, report = converted(ids)
    assert not report["kept"], report["kept"]
    [apply] = by_type(out, "ADL_ApplySparseCtrl")
    assert named(apply) == {"strength": 1.0, "start_percent": 0.1, "end_percent": 0.9, "placement": "spread uniform",
                            "indexes": "0"}
    assert source_of(out, apply, "vae")["id"] == ids["ckpt"]
    assert not by_type(out, "ControlNetApplyAdvanced")


def test_one_loader_feeding_several_applies():
    ids = sparse_graph(applies=2, method=("ACN_SparseCtrlSpreadMethodNode", ["starting"]))
    out, report = converted(ids)
    assert not report["kept"], report["kept"]
    applies = by_type(out, "ADL_ApplySparseCtrl")
    assert [a["id"] for a in applies] == ids["applies"]
    assert all(source_of(out, a, "control_net")["id"] == ids["loader"] for a in applies)
    assert all(named(a)["placement"] == "spread starting" for a in applies)
    assert source_of(out, applies[1], "positive")["id"] == applies[0]["id"]


def test_context_aware_note_with_context_options():
    ids = sparse_graph()
    ids["g"].node("ADE_StandardStaticContextOptions", [16, 4, "pyramid", False, 0, 1],
                  outputs=[("CONTEXT_OPTS", "CONTEXT_OPTIONS")])
    _out, report = cv.convert(ids["g"].workflow())
    assert "context_aware nearest_hint: with context windows" in cv.format_report(report)
    ids = sparse_graph(loader=[RGB, True, 1.0, 1.0, "off", 1.0, 1.0, 1.0])
    ids["g"].node("ADE_StandardStaticContextOptions", [16, 4, "pyramid", False, 0, 1],
                  outputs=[("CONTEXT_OPTS", "CONTEXT_OPTIONS")])
    _out, report = cv.convert(ids["g"].workflow())
    assert "context_aware nearest_hint:" not in cv.format_report(report)


def test_linked_indexes_stay_linked():
    ids = sparse_graph(rgb=False, method=("ACN_SparseCtrlIndexMethodNode", ["0"]))
    g = ids["g"]
    g.widget_input(ids["method"], "indexes", "STRING")
    prim = g.node("PrimitiveNode", ["0, 15"], outputs=[("STRING", "STRING")])
    g.link(prim, 0, ids["method"], "indexes")
    out, report = converted(ids)
    assert not report["kept"], report["kept"]
    assert ("PrimitiveNode", 0, "ADL_ApplySparseCtrl", "indexes") in _links(out)


def test_an_rgb_loader_without_a_vae_is_noted():
    ids = sparse_graph(rgb=False)
    _out, report = converted(ids)
    assert not report["kept"]
    assert "connect the checkpoint's VAE to Apply SparseCtrl (Lightning)'s vae" in cv.format_report(report)


# --------------------------------------------------------------------------------------------------------
# Every layout
# --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", VERSIONS["cases"], ids=lambda c: f"{c['type']}:{c['version']}")
def test_loader_layouts(case):
    ids = sparse_graph(loader=case["widgets_values"], rgb=False)
    out, report = converted(ids)
    assert not report["kept"], report["kept"]
    [entry] = report["converted"]
    assert case["version"] in entry["version"], entry["version"]
    [load] = by_type(out, "ADL_LoadSparseCtrl")
    assert {k: named(load)[k] for k in case["expect"]} == case["expect"]


@pytest.mark.parametrize("case", VERSIONS["part_cases"], ids=lambda c: f"{c['type']}:{c['version']}")
def test_part_layouts(case):
    if case["type"] == "ACN_SparseCtrlRGBPreprocessor":
        ids = sparse_graph()
        ids["g"]._get(ids["preps"][0])["widgets_values"] = case["widgets_values"]
        part = ids["preps"][0]
    else:
        ids = sparse_graph(loader=[SCRIBBLE, True, 1.0, 1.0], rgb=False, method=(case["type"], case["widgets_values"]))
        part = ids["method"]
    out, report = converted(ids)
    assert not report["kept"], report["kept"]
    [entry] = report["converted"]
    [with_] = [w for w in entry["with"] if f"(node {part})" in w]
    assert case["version"] in with_, with_
    [apply] = by_type(out, "ADL_ApplySparseCtrl")
    assert {k: named(apply)[k] for k in case["expect"]} == case["expect"]
    if case.get("note"):
        assert any(case["note"] in n for n in entry["notes"]), entry["notes"]


def test_every_layout_has_a_case():
    entry = cv.mapping()["nodes"]["ACN_SparseCtrlLoaderAdvanced"]
    covered = {(c["type"], c["version"]) for c in VERSIONS["cases"] + VERSIONS["part_cases"]}
    layouts = [("ACN_SparseCtrlLoaderAdvanced", v) for v in entry["versions"]]
    for parts in (entry["sparse_method"]["types"], entry["hints"]):
        layouts += [(t, v) for t, p in parts.items() for v in p["versions"]]
    for type_, version in layouts:
        assert any(t == type_ and v in version["name"] for t, v in covered), (type_, version["name"])


def test_the_mapped_types_left_absent():
    absent = cv.absent_types()
    assert "ACN_SparseCtrlLoaderAdvanced" not in absent
    for type_ in ("ACN_SparseCtrlRGBPreprocessor", "ACN_SparseCtrlIndexMethodNode", "ACN_SparseCtrlSpreadMethodNode"):
        assert "not mapped yet" not in absent[type_][1] and "left when that loader is not converted" in absent[type_][1]


# --------------------------------------------------------------------------------------------------------
# What stays, and why
# --------------------------------------------------------------------------------------------------------
def refused(ids):
    out, report = converted(ids)
    assert not by_type(out, "ADL_LoadSparseCtrl") and not by_type(out, "ADL_ApplySparseCtrl")
    return kept(report)


def test_loader_refusals():
    for i, name in enumerate(["sparse_hint_mult", "sparse_nonhint_mult", "sparse_mask_mult"]):
        widgets = list(LOADER)
        widgets[5 + i] = 0.5
        ids = sparse_graph(loader=widgets)
        reasons = refused(ids)
        assert reasons[ids["loader"]].startswith(f"{name} 0.5 (a multiplier") and "no counterpart yet" in reasons[ids["loader"]]
        assert reasons[ids["applies"][0]].startswith(f"its control_net comes from SparseCtrl loader node {ids['loader']} "
                                                     "(ACN_SparseCtrlLoaderAdvanced), which was not converted")
        assert reasons[ids["preps"][0]].startswith("not supported: its image and vae convert with the SparseCtrl loader")

    widgets = list(LOADER)
    widgets[4] = "somewhere"
    ids = sparse_graph(loader=widgets)
    assert "context_aware 'somewhere' is not a value" in refused(ids)[ids["loader"]]


def test_merged_loader_stays():
    g = UIGraph()
    node = g.node("ACN_SparseCtrlMergedLoaderAdvanced", [RGB, "cn.safetensors", True, 1.0, 1.0])
    _out, report = cv.convert(g.workflow())
    assert kept(report)[node].startswith("not supported: a SparseCtrl's motion modules merged into another ControlNet")


def test_the_control_net_into_another_node():
    ids = sparse_graph(rgb=False)
    other = ids["g"].node("ControlNetApply", [1.0], inputs=[("conditioning", "CONDITIONING"), ("control_net", "CONTROL_NET"),
                                                           ("image", "IMAGE")], outputs=[("CONDITIONING", "CONDITIONING")])
    ids["g"].link(ids["loader"], 0, other, "control_net")
    reasons = refused(ids)
    assert reasons[ids["loader"]].startswith(f"its CONTROL_NET feeds node {other} (ControlNetApply), which has no SparseCtrl "
                                             "counterpart")
    assert reasons[ids["applies"][0]].startswith("its control_net comes from SparseCtrl loader node")


def test_a_preprocessor_feeding_something_else():
    ids = sparse_graph()
    preview = ids["g"].node("PreviewImage", [], inputs=[("images", "IMAGE")])
    ids["g"].link(ids["preps"][0], 0, preview, "images")
    reasons = refused(ids)
    prep = ids["preps"][0]
    assert f"its RGB preprocessor node {prep} also feeds other nodes" in reasons[ids["loader"]]
    assert reasons[prep] == f"it feeds several nodes ({ids['applies'][0]}, {preview}) and converts only with one " \
                            "SparseCtrl loader's plan: give each its own"


def test_a_preprocessor_on_a_plain_controlnet_keeps_the_apply():
    g = UIGraph()
    _ckpt, pos, neg = _base(g)
    cn = g.node("ControlNetLoaderAdvanced", ["cn.safetensors"], outputs=[("CONTROL_NET", "CONTROL_NET")])
    prep = g.node("ACN_SparseCtrlRGBPreprocessor", [], inputs=[("image", "IMAGE"), ("vae", "VAE"), ("latent_size", "LATENT")],
                  outputs=[("proc_IMAGE", "IMAGE")])
    a = g.node("ACN_AdvancedControlNetApply_v2", [1.0, 0.0, 1.0], inputs=APPLY_INPUTS, outputs=COND)
    g.link(pos, 0, a, "positive")
    g.link(neg, 0, a, "negative")
    g.link(cn, 0, a, "control_net")
    g.link(prep, 0, a, "image")
    _out, report = cv.convert(g.workflow())
    reasons = kept(report)
    assert reasons[a].startswith(f"its image comes from RGB SparseCtrl preprocessor node {prep}")
    assert prep in reasons


def test_method_node_refusals():
    # shared with a node that is not a SparseCtrl loader (shared by two loaders converts: test_convert_acn_vhs_more)
    ids = sparse_graph(rgb=False, method=("ACN_SparseCtrlSpreadMethodNode", ["uniform"]))
    other = ids["g"].node("ACN_SparseCtrlMergedLoaderAdvanced", [RGB, "cn.safetensors", True, 1.0, 1.0],
                          inputs=LOADER_INPUTS, outputs=[("CONTROL_NET", "CONTROL_NET")])
    ids["g"].link(ids["method"], 0, other, "sparse_method")
    _out, report = converted(ids)
    reasons = kept(report)
    assert f"its sparse method node {ids['method']} also feeds node {other} (ACN_SparseCtrlMergedLoaderAdvanced)" \
        in reasons[ids["loader"]]
    assert reasons[ids["method"]].startswith(f"it feeds node {other} (ACN_SparseCtrlMergedLoaderAdvanced) too")
    # from_start off (the first development layout): no single placement
    ids = sparse_graph(rgb=False, method=("ACN_SparseCtrlSpreadMethodNode", [False]))
    reasons = refused(ids)
    assert f"its sparse method node {ids['method']}: from_start off" in reasons[ids["loader"]]
    assert reasons[ids["method"]].startswith("from_start off")
    # a sparse_method from another node (an old Steerable-Motion string)
    ids = sparse_graph(rgb=False)
    text = ids["g"].node("PrimitiveNode", ["0, 4"], outputs=[("STRING", "STRING")])
    ids["g"].link(text, 0, ids["loader"], "sparse_method")
    assert f"its sparse_method comes from node {text} (PrimitiveNode), which has no counterpart" in refused(ids)[ids["loader"]]


def test_apply_controls_go_through_controlnet_controls():
    """An apply's mask_optional (and its other ACN controls, tests/test_convert_controls.py) go onto a ControlNet
    Controls (Lightning) between Load SparseCtrl and Apply SparseCtrl."""
    ids = sparse_graph(rgb=False)
    mask = ids["g"].node("SolidMask", [1.0, 64, 64], outputs=[("MASK", "MASK")])
    ids["g"].link(mask, 0, ids["applies"][0], "mask_optional")
    out, report = converted(ids)
    assert not report["kept"], report["kept"]
    [apply] = by_type(out, "ADL_ApplySparseCtrl")
    controls = source_of(out, apply, "control_net")
    assert controls["type"] == "ADL_ControlNetControls" and source_of(out, controls, "mask")["id"] == mask
    assert source_of(out, controls, "control_net")["id"] == ids["loader"]


def test_apply_refusals():
    ids = sparse_graph(rgb=False)
    weights = ids["g"].node("ScaledSoftMaskedUniversalWeights", [0.0, 1.0, 1.0], inputs=[("mask", "MASK")],
                            outputs=[("CN_WEIGHTS", "CONTROL_NET_WEIGHTS"), ("TK_SHORTCUT", "TIMESTEP_KEYFRAME")])
    ids["g"].link(weights, 0, ids["applies"][0], "weights_override")
    reasons = refused(ids)
    a = ids["applies"][0]
    assert reasons[ids["loader"]].startswith(f"its weights_override comes from node {weights} "
                                             "(ScaledSoftMaskedUniversalWeights), which has no counterpart: soft weights "
                                             "from a mask")
    assert reasons[a].endswith(reasons[ids["loader"]])  # and, as an apply on its own, that of its loader


# --------------------------------------------------------------------------------------------------------
# API format, and ComfyUI's validation against this pack's nodes
# --------------------------------------------------------------------------------------------------------
def api_prompt() -> dict:
    return {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["1", 1]}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["1", 1]}},
        "4": {"class_type": "LoadImage", "inputs": {"image": "hints.png"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 16}},
        "6": {"class_type": "ACN_SparseCtrlIndexMethodNode", "inputs": {"indexes": "0, 15"}},
        "7": {"class_type": "ACN_SparseCtrlLoaderAdvanced", "inputs": {
            "sparsectrl_name": RGB, "use_motion": True, "motion_strength": 1.0, "motion_scale": 1.0,
            "context_aware": "nearest_hint", "sparse_hint_mult": 1.0, "sparse_nonhint_mult": 1.0, "sparse_mask_mult": 1.0,
            "sparse_method": ["6", 0]}},
        "8": {"class_type": "ACN_SparseCtrlRGBPreprocessor", "inputs": {"image": ["4", 0], "vae": ["1", 2],
                                                                        "latent_size": ["5", 0]}},
        "9": {"class_type": "ACN_AdvancedControlNetApply", "inputs": {
            "positive": ["2", 0], "negative": ["3", 0], "control_net": ["7", 0], "image": ["8", 0],
            "strength": 0.9, "start_percent": 0.0, "end_percent": 1.0}},
    }


def test_api_format():
    out, report = cv.convert(api_prompt())
    assert not report["kept"], report["kept"]
    assert out["7"] == {"class_type": "ADL_LoadSparseCtrl", "inputs": {
        "sparsectrl_name": RGB, "use_motion": True, "motion_strength": 1.0, "motion_scale": 1.0}}
    assert out["9"] == {"class_type": "ADL_ApplySparseCtrl", "inputs": {
        "strength": 0.9, "start_percent": 0.0, "end_percent": 1.0, "placement": "indexes", "indexes": "0, 15",
        "positive": ["2", 0], "negative": ["3", 0], "control_net": ["7", 0], "images": ["4", 0], "vae": ["1", 2]}}
    assert "6" not in out and "8" not in out


def test_the_converted_prompt_validates_against_the_pack_nodes(monkeypatch, tmp_path):
    """ComfyUI's own validation (execution.validate_inputs) of the converted Apply SparseCtrl and all it is fed,
    against the live node classes (the SparseCtrl file listed in models/controlnet)."""
    import execution
    import folder_paths
    import nodes

    for node in NODES:
        monkeypatch.setitem(nodes.NODE_CLASS_MAPPINGS, node.define_schema().node_id, node)
    (tmp_path / RGB).write_bytes(b"")
    (tmp_path / "x.safetensors").write_bytes(b"")
    monkeypatch.setattr(folder_paths, "get_filename_list", lambda kind: [RGB] if kind == "controlnet" else ["x.safetensors"])
    monkeypatch.setattr(folder_paths, "get_full_path", lambda kind, name: str(tmp_path / name))
    out, report = cv.convert(api_prompt())
    assert not report["kept"], report["kept"]
    out["4"]["inputs"]["image"] = "example.png"
    monkeypatch.setattr(nodes.LoadImage, "VALIDATE_INPUTS", classmethod(lambda cls, image: True), raising=False)
    validated = {}
    valid, errors, _id = asyncio.run(execution.validate_inputs("convert-test", out, "9", validated))
    assert valid, (errors, {k: r for k, r in validated.items() if not r[0]})
    assert {"7", "9"} <= set(validated)
    for node in (out[k] for k in ("7", "9")):  # this host leaves V3 combos unchecked
        types = nodes.NODE_CLASS_MAPPINGS[node["class_type"]].INPUT_TYPES()
        for name, spec in [*types["required"].items(), *types.get("optional", {}).items()]:
            if spec[0] == "COMBO" and name in node["inputs"]:
                assert node["inputs"][name] in spec[1]["options"], (node, name)
