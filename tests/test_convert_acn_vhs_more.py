"""The converter on more Advanced-ControlNet nodes, without a server: the diff ControlNet loaders → core Load
ControlNet Model (diff) on the same model (their timestep keyframes on ControlNet Controls (Lightning) after it, the
applies they feed converted); a sparse method node shared by several SparseCtrl loaders (each one's applies get its
placement); a SparseCtrl loader's tk_optional on ControlNet Controls (Lightning) between Load and Apply SparseCtrl
(an apply's own timestep_kf replaces them, as in Advanced-ControlNet); Anima LLLite named as not run here. UI and API
format. (VideoHelperSuite's: tests/test_convert_vhs_more.py.)"""
import pytest
from animatediff_lightning.workflow_files import convert as cv
from test_convert import by_type, named
from test_convert_controls import CN, Graph, only
from test_convert_settings import kept, source_of
from test_convert_sparsectrl import LOADER_INPUTS, RGB, converted, sparse_graph

TK_OUT = [("TIMESTEP_KF", "TIMESTEP_KEYFRAME")]


def unlink(g, node_id, name):
    """Disconnect ``node_id``'s input ``name`` (as a file saved with that required input empty); add no link after."""
    node = g._get(node_id)
    link_id = next(s["link"] for s in node["inputs"] if s["name"] == name)
    [(src, slot)] = [(lk[1], lk[2]) for lk in g.links if lk[0] == link_id]
    g.links = [lk for lk in g.links if lk[0] != link_id]
    g._get(src)["outputs"][slot]["links"].remove(link_id)
    node["inputs"] = [dict(s, link=None) if s["name"] == name else s for s in node["inputs"]]


def api_types(out, class_type):
    return {k: n for k, n in out.items() if n["class_type"] == class_type}


# --------------------------------------------------------------------------------------------------------
# Diff ControlNet loaders
# --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("loader", ["DiffControlNetLoaderAdvanced", "ACN_DiffControlNetLoaderAdvanced"])
def test_diff_loader_becomes_core_diff_loader_on_the_same_model(loader):
    c = Graph(loader=loader)
    out, report = c.convert()
    assert not report["kept"], report["kept"]
    node = only(out, "DiffControlNetLoader")
    assert node["id"] == c.loader and named(node) == {"control_net_name": CN}
    assert source_of(out, node, "model")["id"] == c.ckpt
    assert source_of(out, only(out, "ControlNetApplyAdvanced"), "control_net")["id"] == c.loader
    assert not by_type(out, "ADL_ControlNetControls")


@pytest.mark.parametrize("loader", ["DiffControlNetLoaderAdvanced", "ACN_DiffControlNetLoaderAdvanced"])
def test_diff_loader_keyframes_go_onto_controls_after_it(loader):
    c = Graph(loader=loader)
    c.keyframe([0.2, 0.6, 0.0, True, 1], into=(c.loader, c.tk))
    out, report = c.convert()
    assert not report["kept"], report["kept"]
    controls = source_of(out, only(out, "ControlNetApplyAdvanced"), "control_net")
    assert controls["type"] == "ADL_ControlNetControls"
    assert source_of(out, controls, "control_net")["type"] == "DiffControlNetLoader"
    assert named(source_of(out, controls, "keyframes"))["start_percent"] == 0.2
    assert f"its {c.tk} (timestep keyframes) went onto ControlNet Controls (Lightning)" in cv.format_report(report)


def test_diff_loader_timestep_keyframe_names_over_time():
    """timestep_keyframe (2023-09), timestep_kf (2023-11-30), tk_optional (2024-07): each goes onto the Controls."""
    for name in ("timestep_keyframe", "timestep_kf"):
        c = Graph(loader="DiffControlNetLoaderAdvanced")
        loader = c.g._get(c.loader)
        loader["inputs"] = [s if s["name"] != c.tk else dict(s, name=name) for s in loader["inputs"]]
        c.keyframe([0.4, 1.0, 0.0, True, 1], into=(c.loader, name))
        out, report = c.convert()
        assert not report["kept"], report["kept"]
        assert f"its {name} (timestep keyframes)" in cv.format_report(report)


def test_diff_loader_without_a_model_is_noted_and_old_weights_refused():
    c = Graph(loader="ACN_DiffControlNetLoaderAdvanced")
    unlink(c.g, c.loader, "model")
    out, report = c.convert()
    assert not report["kept"], report["kept"]
    assert "its model is not connected" in cv.format_report(report)
    c = Graph(loader="DiffControlNetLoaderAdvanced")
    w = c.weights("ScaledSoftControlNetWeights", [0.8, False])
    c.g._get(c.loader)["inputs"].append({"name": "control_net_weights", "type": "CONTROL_NET_WEIGHTS", "link": None})
    c.g.link(w, 0, c.loader, "control_net_weights")
    _out, report = c.convert()
    assert "the August 2023 loader's weights input" in kept(report)[c.loader]


def test_diff_loader_api():
    prompt = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}},
        "2": {"class_type": "TimestepKeyframe", "inputs": {"start_percent": 0.3}},
        "3": {"class_type": "DiffControlNetLoaderAdvanced", "inputs": {
            "control_net_name": "diff.safetensors", "model": ["1", 0], "tk_optional": ["2", 0]}},
        "4": {"class_type": "ACN_DiffControlNetLoaderAdvanced", "inputs": {"cnet": "anytest.safetensors",
                                                                           "model": ["1", 0]}},
    }
    out, report = cv.convert(prompt)
    assert not report["kept"], report["kept"]
    assert out["3"] == {"class_type": "DiffControlNetLoader", "inputs": {"control_net_name": "diff.safetensors",
                                                                         "model": ["1", 0]}}
    assert out["4"] == {"class_type": "DiffControlNetLoader", "inputs": {"control_net_name": "anytest.safetensors",
                                                                         "model": ["1", 0]}}
    [controls] = api_types(out, "ADL_ControlNetControls").values()
    assert controls["inputs"]["control_net"] == ["3", 0] and controls["inputs"]["keyframes"] == ["2", 0]


# --------------------------------------------------------------------------------------------------------
# A sparse method node shared by several SparseCtrl loaders
# --------------------------------------------------------------------------------------------------------
def shared_method_graph():
    ids = sparse_graph(rgb=False, method=("ACN_SparseCtrlSpreadMethodNode", ["center"]))
    g = ids["g"]
    other = g.node("ACN_SparseCtrlLoaderAdvanced", ["v3_sd15_sparsectrl_scribble.ckpt", True, 1.0, 1.0, "off", 1.0, 1.0, 1.0],
                   inputs=LOADER_INPUTS, outputs=[("CONTROL_NET", "CONTROL_NET")])
    g.link(ids["method"], 0, other, "sparse_method")
    apply = g.node("ACN_AdvancedControlNetApply", [0.5, 0.0, 1.0],
                   inputs=[("positive", "CONDITIONING"), ("negative", "CONDITIONING"), ("control_net", "CONTROL_NET"),
                           ("image", "IMAGE")], outputs=[("positive", "CONDITIONING"), ("negative", "CONDITIONING")])
    first = ids["applies"][0]
    g.link(first, 0, apply, "positive")
    g.link(first, 1, apply, "negative")
    g.link(other, 0, apply, "control_net")
    g.link(ids["images"], 0, apply, "image")
    ids.update(other=other, other_apply=apply)
    return ids


def test_a_method_node_shared_by_two_loaders_goes_to_each():
    ids = shared_method_graph()
    out, report = converted(ids)
    assert not report["kept"], report["kept"]
    loads = by_type(out, "ADL_LoadSparseCtrl")
    applies = {n["id"]: n for n in by_type(out, "ADL_ApplySparseCtrl")}
    assert sorted(n["id"] for n in loads) == sorted([ids["loader"], ids["other"]])
    assert set(applies) == {ids["applies"][0], ids["other_apply"]}
    assert {named(a)["placement"] for a in applies.values()} == {"spread center"}
    assert source_of(out, applies[ids["other_apply"]], "control_net")["id"] == ids["other"]
    assert not by_type(out, "ACN_SparseCtrlSpreadMethodNode")
    for entry in report["converted"]:
        assert any(f"(node {ids['method']})" in w for w in entry["with"])
    assert f"sparse method node {ids['method']} is shared with SparseCtrl loader node(s)" in cv.format_report(report)


def test_a_shared_method_node_stays_with_both_when_one_loader_cannot_convert():
    ids = shared_method_graph()
    ids["g"]._get(ids["other"])["widgets_values"][5] = 0.5  # sparse_hint_mult: no counterpart
    out, report = converted(ids)
    reasons = kept(report)
    assert reasons[ids["other"]].startswith("sparse_hint_mult 0.5")
    assert reasons[ids["loader"]].startswith(f"it needs node {ids['other']} (ACN_SparseCtrlLoaderAdvanced), which was "
                                             "not converted: sparse_hint_mult 0.5")
    assert reasons[ids["applies"][0]].startswith(f"it converts with node {ids['loader']}")
    assert ids["method"] in reasons and not by_type(out, "ADL_ApplySparseCtrl")


def test_a_shared_method_node_api():
    prompt = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["1", 1]}},
        "4": {"class_type": "LoadImage", "inputs": {"image": "hints.png"}},
        "6": {"class_type": "ACN_SparseCtrlIndexMethodNode", "inputs": {"indexes": "0, 15"}},
        "7": {"class_type": "ACN_SparseCtrlLoaderAdvanced", "inputs": {"sparsectrl_name": "a.ckpt", "use_motion": True,
                                                                      "sparse_method": ["6", 0]}},
        "8": {"class_type": "ACN_SparseCtrlLoaderAdvanced", "inputs": {"sparsectrl_name": "b.ckpt", "use_motion": False,
                                                                      "sparse_method": ["6", 0]}},
        "9": {"class_type": "ACN_AdvancedControlNetApply_v2", "inputs": {
            "positive": ["2", 0], "negative": ["2", 0], "control_net": ["7", 0], "image": ["4", 0],
            "strength": 0.9, "start_percent": 0.0, "end_percent": 1.0}},
        "10": {"class_type": "ACN_AdvancedControlNetApply_v2", "inputs": {
            "positive": ["9", 0], "negative": ["9", 1], "control_net": ["8", 0], "image": ["4", 0],
            "strength": 0.7, "start_percent": 0.0, "end_percent": 1.0}},
    }
    out, report = cv.convert(prompt)
    assert not report["kept"], report["kept"]
    assert "6" not in out
    for key, cn in (("9", "7"), ("10", "8")):
        assert out[key]["class_type"] == "ADL_ApplySparseCtrl" and out[key]["inputs"]["control_net"] == [cn, 0]
        assert out[key]["inputs"]["placement"] == "indexes" and out[key]["inputs"]["indexes"] == "0, 15"


# --------------------------------------------------------------------------------------------------------
# A SparseCtrl loader's timestep keyframes (tk_optional)
# --------------------------------------------------------------------------------------------------------
def keyframe(ids, start, into):
    g = ids["g"]
    k = g.node("TimestepKeyframe", [start, 0.7, 0.0, True, 1], outputs=TK_OUT,
               inputs=[("prev_timestep_kf", "TIMESTEP_KEYFRAME"), ("cn_weights", "CONTROL_NET_WEIGHTS"),
                       ("latent_keyframe", "LATENT_KEYFRAME"), ("mask_optional", "MASK")])
    g.link(k, 0, *into)
    return k


def test_sparsectrl_tk_optional_goes_onto_controls_before_each_apply():
    ids = sparse_graph(method=("ACN_SparseCtrlSpreadMethodNode", ["uniform"]), applies=2)
    k = keyframe(ids, 0.25, (ids["loader"], "tk_optional"))
    out, report = converted(ids)
    assert not report["kept"], report["kept"]
    controls = only(out, "ADL_ControlNetControls")
    assert source_of(out, controls, "control_net")["id"] == ids["loader"]
    assert source_of(out, controls, "keyframes")["id"] == k
    assert named(source_of(out, controls, "keyframes"))["start_percent"] == 0.25
    for apply in by_type(out, "ADL_ApplySparseCtrl"):
        assert source_of(out, apply, "control_net")["id"] == controls["id"]
    assert "its tk_optional (timestep keyframes) went onto ControlNet Controls (Lightning)" in cv.format_report(report)


def test_an_applys_timestep_kf_replaces_the_sparsectrl_loaders():
    ids = sparse_graph(rgb=False)
    keyframe(ids, 0.25, (ids["loader"], "tk_optional"))
    own = keyframe(ids, 0.5, (ids["applies"][0], "timestep_kf"))
    out, report = converted(ids)
    assert not report["kept"], report["kept"]
    apply_controls = source_of(out, only(out, "ADL_ApplySparseCtrl"), "control_net")
    assert source_of(out, apply_controls, "keyframes")["id"] == own
    assert source_of(out, source_of(out, apply_controls, "control_net"), "control_net")["id"] == ids["loader"]
    assert f"its timestep_kf replaces the keyframes of loader node {ids['loader']}" in cv.format_report(report)


def test_the_sparsectrl_loaders_keyframes_are_carried_into_an_applys_controls():
    ids = sparse_graph(rgb=False)
    k = keyframe(ids, 0.25, (ids["loader"], "tk_optional"))
    mask = ids["g"].node("SolidMask", [1.0, 64, 64], outputs=[("MASK", "MASK")])
    ids["g"].link(mask, 0, ids["applies"][0], "mask_optional")
    out, report = converted(ids)
    assert not report["kept"], report["kept"]
    apply_controls = source_of(out, only(out, "ADL_ApplySparseCtrl"), "control_net")
    assert source_of(out, apply_controls, "keyframes")["id"] == k
    assert source_of(out, apply_controls, "mask")["id"] == mask


def test_sparsectrl_tk_optional_api():
    prompt = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["1", 1]}},
        "3": {"class_type": "TimestepKeyframe", "inputs": {"start_percent": 0.1}},
        "4": {"class_type": "LoadImage", "inputs": {"image": "hints.png"}},
        "7": {"class_type": "ACN_SparseCtrlLoaderAdvanced", "inputs": {"sparsectrl_name": RGB, "use_motion": True,
                                                                      "tk_optional": ["3", 0]}},
        "9": {"class_type": "ACN_AdvancedControlNetApply", "inputs": {
            "positive": ["2", 0], "negative": ["2", 0], "control_net": ["7", 0], "image": ["4", 0], "vae_optional": ["1", 2],
            "strength": 0.9, "start_percent": 0.0, "end_percent": 1.0}},
    }
    out, report = cv.convert(prompt)
    assert not report["kept"], report["kept"]
    [(key, controls)] = api_types(out, "ADL_ControlNetControls").items()
    assert controls["inputs"] == {"frames": "", "control_net": ["7", 0], "keyframes": ["3", 0]}
    assert out["9"]["class_type"] == "ADL_ApplySparseCtrl" and out["9"]["inputs"]["control_net"] == [key, 0]
    assert out["3"]["class_type"] == "ADL_ControlNetKeyframe"


def test_a_preprocessor_saved_without_its_vae_converts_with_a_note():
    ids = sparse_graph()
    unlink(ids["g"], ids["preps"][0], "vae")
    out, report = converted(ids)
    assert not report["kept"], report["kept"]
    assert source_of(out, only(out, "ADL_ApplySparseCtrl"), "vae") is None
    text = cv.format_report(report)
    assert "its vae is not connected (as saved, it could not run in Advanced-ControlNet either)" in text
    assert "connect the checkpoint's VAE to Apply SparseCtrl (Lightning)'s vae" in text


# --------------------------------------------------------------------------------------------------------
# Named, not converted
# --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("type_", ["ACN_AnimaLLLiteLoaderAdvanced", "ACN_AnimaLLLiteExtras"])
def test_anima_lllite_is_named_as_not_run_here(type_):
    prompt = {"1": {"class_type": type_, "inputs": {"model_patch": "anima.safetensors"}}}
    _out, report = cv.convert(prompt)
    [entry] = report["kept"]
    assert entry["pack"] == "Advanced-ControlNet" and "not run by this pack" in entry["reason"]
    assert "does not know" not in entry["reason"]
    assert cv.has_foreign_nodes(prompt)
