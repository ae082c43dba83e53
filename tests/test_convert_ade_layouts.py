"""AnimateDiff-Evolved / FizzNodes layouts and cases met in shared workflow files: the layouts that convert only
inside a graph (ade_versions.json), API prompts that leave inputs out, widgets fed by other nodes that stay fed,
parts shared by several loaders (a copy each), the unload and combine nodes, the latent-driven prompt schedule,
and the wording for an unknown node with a pack's prefix."""
import json

import pytest
from animatediff_lightning.workflow_files import convert as cv
from support.foreign_workflows import FIXTURES, MODULE, UIGraph
from test_convert import _consistent, _links, by_type, named

CASES = json.loads((FIXTURES / "ade_versions.json").read_text())["cases"]
KIND = {t: e["kind"] for t, e in cv.mapping()["nodes"].items()}
CKPT = [("MODEL", "MODEL"), ("CLIP", "CLIP"), ("VAE", "VAE")]


def _ckpt(g):
    return g.node("CheckpointLoaderSimple", ["sd15.safetensors"], outputs=CKPT)


def _sampler(g, model_src, model_slot=0, latent=None):
    ks = g.node("KSampler", [1, "fixed", 4, 1.0, "euler", "sgm_uniform", 1.0],
                inputs=[("model", "MODEL"), ("positive", "CONDITIONING"), ("negative", "CONDITIONING"),
                        ("latent_image", "LATENT")], outputs=[("LATENT", "LATENT")])
    g.link(model_src, model_slot, ks, "model")
    if latent is not None:
        g.link(latent[0], latent[1], ks, "latent_image")
    return ks


def _gen1(g, ckpt, inputs=()):
    loader = g.node("ADE_AnimateDiffLoaderGen1", [MODULE, "autoselect"],
                    inputs=[("model", "MODEL"), ("context_options", "CONTEXT_OPTIONS"), ("motion_lora", "MOTION_LORA"),
                            ("sample_settings", "SAMPLE_SETTINGS"), *inputs], outputs=[("MODEL", "MODEL")])
    g.link(ckpt, 0, loader, "model")
    return loader


def _case_graph(case):
    g = UIGraph()
    ckpt = _ckpt(g)
    kind = KIND[case["type"]]
    if kind == "ad_apply":
        load = g.node("ADE_LoadAnimateDiffModel", [MODULE], outputs=[("MOTION_MODEL", "MOTION_MODEL_ADE")])
        apply = g.node(case["type"], case["widgets_values"], inputs=[("motion_model", "MOTION_MODEL_ADE")],
                       outputs=[("M_MODELS", "M_MODELS")])
        use = g.node("ADE_UseEvolvedSampling", ["autoselect"], inputs=[("model", "MODEL"), ("m_models", "M_MODELS")],
                     outputs=[("MODEL", "MODEL")])
        g.link(load, 0, apply, "motion_model")
        g.link(apply, 0, use, "m_models")
        g.link(ckpt, 0, use, "model")
        _sampler(g, use)
    elif kind == "ad_lora":
        lora = g.node(case["type"], case["widgets_values"], inputs=[("prev_motion_lora", "MOTION_LORA")],
                      outputs=[("MOTION_LORA", "MOTION_LORA")])
        loader = _gen1(g, ckpt)
        g.link(lora, 0, loader, "motion_lora")
        _sampler(g, loader)
    elif kind == "ad_sample_settings":
        settings = g.node(case["type"], case["widgets_values"], inputs=[("noise_layers", "NOISE_LAYERS")],
                          outputs=[("settings", "SAMPLE_SETTINGS")])
        g.widget_input(settings, "seed_override", "INT")
        loader = _gen1(g, ckpt)
        g.link(settings, 0, loader, "sample_settings")
        _sampler(g, loader)
    elif kind == "ad_checkpoint":
        return _noise_select(case["widgets_values"])[0]
    elif kind == "ad_unload":
        loader = _gen1(g, ckpt)
        unload = g.node(case["type"], case["widgets_values"], inputs=[("model", "MODEL")], outputs=[("MODEL", "MODEL")])
        g.link(loader, 0, unload, "model")
        _sampler(g, loader)
        _sampler(g, unload)
    else:  # the latent-driven prompt schedule on an empty latent of 16 frames
        empty = g.node("EmptyLatentImage", [512, 512, 16], outputs=[("LATENT", "LATENT")])
        sched = g.node(case["type"], case["widgets_values"], inputs=[("clip", "CLIP"), ("num_latents", "LATENT")],
                       outputs=[("POS", "CONDITIONING"), ("NEG", "CONDITIONING"), ("INPUT_LATENTS", "LATENT")])
        g.link(ckpt, 1, sched, "clip")
        g.link(empty, 0, sched, "num_latents")
        ks = _sampler(g, ckpt, latent=(sched, 2))
        g.link(sched, 0, ks, "positive")
    return g.workflow()


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['type']}:{c['version']}:{c['widgets_values']}")
def test_layout_recognised_in_its_graph(case):
    converted, report = cv.convert(_case_graph(case))
    _consistent(converted)
    assert not report["kept"], report["kept"]
    versions = [c["version"] for c in report["converted"]] + [v for c in report["converted"] for v in c["with"]]
    assert any(case["version"] in v for v in versions), versions
    for target, values in case["expect"].items():
        [node] = by_type(converted, target)
        got = named(node)
        assert {k: got[k] for k in values} == values, (target, got)
    if case.get("note"):
        notes = [n for c in report["converted"] for n in c["notes"]]
        assert any(case["note"] in n for n in notes), notes
    assert not any(n["type"].startswith("ADE_") or n["type"].startswith("BatchPrompt") for n in converted["nodes"])


def test_unload_after_a_loader_gives_the_model_from_before_it():
    [case] = [c for c in CASES if c["type"] == "ADE_AnimateDiffUnload"]
    converted, _report = cv.convert(_case_graph(case))
    links = _links(converted)
    assert ("CheckpointLoaderSimple", 0, "KSampler", "model") in links
    assert ("ADL_ApplyMotionModule", 0, "KSampler", "model") in links


def test_unload_with_no_animatediff_upstream_passes_the_model_through_and_refuses_what_it_cannot_know():
    g = UIGraph()
    ckpt = _ckpt(g)
    unload = g.node("ADE_AnimateDiffUnload", None, inputs=[("model", "MODEL")], outputs=[("MODEL", "MODEL")])
    g.link(ckpt, 0, unload, "model")
    _sampler(g, unload)
    converted, report = cv.convert(g.workflow())
    assert not report["kept"] and ("CheckpointLoaderSimple", 0, "KSampler", "model") in _links(converted)
    assert "no AnimateDiff node is upstream" in report["converted"][0]["notes"][0]
    # a LoRA between the loader and the unload: the model without the motion module is not one link away
    g = UIGraph()
    ckpt = _ckpt(g)
    loader = _gen1(g, ckpt)
    lora = g.node("LoraLoaderModelOnly", ["x.safetensors", 1.0], inputs=[("model", "MODEL")], outputs=[("MODEL", "MODEL")])
    g.link(loader, 0, lora, "model")
    unload = g.node("ADE_AnimateDiffUnload", None, inputs=[("model", "MODEL")], outputs=[("MODEL", "MODEL")])
    g.link(lora, 0, unload, "model")
    _sampler(g, unload)
    _converted, report = cv.convert(g.workflow())
    [kept] = report["kept"]
    assert kept["type"] == "ADE_AnimateDiffUnload" and "through node" in kept["reason"] and "by hand" in kept["reason"]
    # nothing on its model input: nothing to wire
    g = UIGraph()
    unload = g.node("ADE_AnimateDiffUnload", None, inputs=[("model", "MODEL")], outputs=[("MODEL", "MODEL")])
    _sampler(g, unload)
    [kept] = cv.convert(g.workflow())[1]["kept"]
    assert "model input is not connected" in kept["reason"]


# ---- API prompts that leave inputs out ----
def test_api_context_options_without_fuse_method_take_what_the_pack_runs_without_it():
    prompt = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15.safetensors"}},
        "2": {"class_type": "ADE_StandardStaticContextOptions",
              "inputs": {"context_length": 16, "context_stride": 1, "context_overlap": 4, "context_schedule": "uniform",
                         "closed_loop": False}},
        "3": {"class_type": "ADE_AnimateDiffLoaderWithContext",
              "inputs": {"model": ["1", 0], "context_options": ["2", 0], "model_name": MODULE, "beta_schedule": "autoselect"}},
    }
    converted, report = cv.convert(prompt)
    assert not report["kept"], report["kept"]
    [ctx] = [n for n in converted.values() if n["class_type"] == "ADL_ContextOptions"]
    assert ctx["inputs"]["fuse_method"] == "pyramid" and ctx["inputs"]["context_schedule"] == "static"
    [version] = report["converted"][0]["with"]
    assert "fuse_method 'pyramid'" in version
    assert "ignored as ComfyUI ignores them: closed_loop, context_schedule, context_stride" in version


def test_api_looped_context_options_without_fuse_method_fuse_flat():
    prompt = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15.safetensors"}},
              "2": {"class_type": "ADE_LoopedUniformContextOptions",
                    "inputs": {"context_length": 16, "context_stride": 1, "context_overlap": 4, "closed_loop": True}},
              "3": {"class_type": "ADE_AnimateDiffLoaderGen1",
                    "inputs": {"model": ["1", 0], "context_options": ["2", 0], "model_name": MODULE,
                               "beta_schedule": "autoselect"}}}
    converted, report = cv.convert(prompt)
    [ctx] = [n for n in converted.values() if n["class_type"] == "ADL_ContextOptions"]
    assert ctx["inputs"]["fuse_method"] == "flat" and ctx["inputs"]["closed_loop"] is True


def test_api_combine_with_inputs_left_out_and_unknown_ones():
    prompt = {"1": {"class_type": "LoadImage", "inputs": {"image": "x.png"}},
              "2": {"class_type": "ADE_AnimateDiffCombine",
                    "inputs": {"images": ["1", 0], "frame_rate": 8, "loop_count": 0, "save_output": False,
                               "return_video_frame": True}}}
    converted, report = cv.convert(prompt)
    assert not report["kept"], report["kept"]
    save = converted["2"]
    assert save["class_type"] == "ADL_SaveVideo" and save["inputs"]["format"] == "gif"
    assert save["inputs"]["filename_prefix"] == "AnimateDiff" and save["inputs"]["images"] == ["1", 0]
    notes = report["converted"][0]["notes"]
    assert any("filename_prefix and format not in the file" in n for n in notes)
    assert any("return_video_frame, save_output: not an input" in n for n in notes)


def test_combine_format_no_version_shipped_is_refused():
    g = UIGraph()
    g.node("ADE_AnimateDiffCombine", [8, 0, "x", "video/prores", False, True])
    [kept] = cv.convert(g.workflow())[1]["kept"]
    assert "not one AnimateDiff-Evolved shipped" in kept["reason"]


# ---- widgets fed by other nodes stay fed ----
def _int_source(g, value):
    return g.node("PrimitiveNode", [value, "fixed"], outputs=[("INT", "INT")])


def test_large_empty_latent_keeps_its_linked_size_and_batch():
    g = UIGraph()
    latent = g.node("ADE_EmptyLatentImageLarge", [512, 768, 120], outputs=[("LATENT", "LATENT")])
    for name, value in (("width", 512), ("height", 768), ("batch_size", 120)):
        g.widget_input(latent, name, "INT")
        g.link(_int_source(g, value), 0, latent, name)
    converted, report = cv.convert(g.workflow())
    _consistent(converted)
    assert not report["kept"], report["kept"]
    assert {("PrimitiveNode", 0, "EmptyLatentImage", n) for n in ("width", "height", "batch_size")} <= _links(converted)


def test_large_empty_latent_linked_in_an_api_prompt():
    prompt = {"1": {"class_type": "PrimitiveInt", "inputs": {"value": 48}},
              "2": {"class_type": "ADE_EmptyLatentImageLarge", "inputs": {"width": 512, "height": 512, "batch_size": ["1", 0]}}}
    converted, report = cv.convert(prompt)
    assert not report["kept"] and converted["2"]["inputs"]["batch_size"] == ["1", 0]


def test_lora_strength_and_context_length_fed_by_other_nodes_stay_fed():
    """A range on the table is for typed values; a value over a link goes to the converted node as it comes."""
    prompt = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}},
              "2": {"class_type": "PrimitiveFloat", "inputs": {"value": 0.6}},
              "3": {"class_type": "PrimitiveInt", "inputs": {"value": 16}},
              "4": {"class_type": "ADE_AnimateDiffLoRALoader", "inputs": {"name": "v2_lora_PanLeft.ckpt", "strength": ["2", 0]}},
              "5": {"class_type": "ADE_StandardUniformContextOptions", "inputs": {
                  "context_length": ["3", 0], "context_stride": 1, "context_overlap": 4, "fuse_method": "flat"}},
              "6": {"class_type": "ADE_AnimateDiffLoaderGen1", "inputs": {
                  "model": ["1", 0], "model_name": MODULE, "beta_schedule": "autoselect", "motion_lora": ["4", 0],
                  "context_options": ["5", 0]}}}
    converted, report = cv.convert(prompt)
    assert not report["kept"], report["kept"]
    [lora] = [n for n in converted.values() if n["class_type"] == "ADL_LoadMotionLoRA"]
    [ctx] = [n for n in converted.values() if n["class_type"] == "ADL_ContextOptions"]
    assert lora["inputs"]["strength"] == ["2", 0] and ctx["inputs"]["context_length"] == ["3", 0]


def test_lora_strength_fed_by_a_primitive_in_a_ui_file():
    g = UIGraph()
    ckpt = _ckpt(g)
    lora = g.node("ADE_AnimateDiffLoRALoader", ["v2_lora_PanLeft.ckpt", 0.8], inputs=[("prev_motion_lora", "MOTION_LORA")],
                  outputs=[("MOTION_LORA", "MOTION_LORA")])
    g.widget_input(lora, "strength", "FLOAT")
    prim = g.node("PrimitiveNode", [0.6], outputs=[("FLOAT", "FLOAT")])
    g.link(prim, 0, lora, "strength")
    loader = _gen1(g, ckpt)
    g.link(lora, 0, loader, "motion_lora")
    _sampler(g, loader)
    converted, report = cv.convert(g.workflow())
    _consistent(converted)
    assert not report["kept"], report["kept"]
    assert ("PrimitiveNode", 0, "ADL_LoadMotionLoRA", "strength") in _links(converted)


def _schedule(g, type_, widgets, clip):
    node = g.node(type_, widgets, inputs=[("clip", "CLIP")] + ([("num_latents", "LATENT")] if "Latent" in type_ else []),
                  outputs=[("POS", "CONDITIONING"), ("NEG", "CONDITIONING"), ("INPUT_LATENTS", "LATENT")])
    g.link(clip, 1, node, "clip")
    return node


def test_prompt_schedule_max_frames_fed_by_another_node_stays_fed():
    g = UIGraph()
    ckpt = _ckpt(g)
    sched = _schedule(g, "BatchPromptSchedule", ['"0": "a",\n"40": "b"', 3500, False, "", "", 0, 0, 0, 0, 0, 0], ckpt)
    g.widget_input(sched, "max_frames", "INT")
    g.link(_int_source(g, 48), 0, sched, "max_frames")
    converted, report = cv.convert(g.workflow())
    _consistent(converted)
    assert not report["kept"], report["kept"]
    [travel] = by_type(converted, "ADL_PromptTravel")
    assert named(travel)["text"] == "0: a\n40: b"  # the saved 3500 no longer decides which keyframes stay
    assert ("PrimitiveNode", 0, "ADL_PromptTravel", "frames") in _links(converted)
    assert any("Prompt Travel's frames takes the same link" in n for n in report["converted"][0]["notes"])


def test_latent_schedule_takes_the_empty_latents_linked_batch_size():
    g = UIGraph()
    ckpt = _ckpt(g)
    latent = g.node("ADE_EmptyLatentImageLarge", [512, 512, 26], outputs=[("LATENT", "LATENT")])
    g.widget_input(latent, "batch_size", "INT")
    g.link(_int_source(g, 26), 0, latent, "batch_size")
    sched = _schedule(g, "BatchPromptScheduleLatentInput", ['"0": "a", "25": "b"', False, "", "", 0, 0, 0, 0, 0, 0], ckpt)
    g.link(latent, 0, sched, "num_latents")
    ks = _sampler(g, ckpt, latent=(sched, 2))
    g.link(sched, 0, ks, "positive")
    converted, report = cv.convert(g.workflow())
    _consistent(converted)
    assert not report["kept"], report["kept"]
    links = _links(converted)
    assert ("PrimitiveNode", 0, "ADL_PromptTravel", "frames") in links
    assert ("PrimitiveNode", 0, "EmptyLatentImage", "batch_size") in links
    assert ("EmptyLatentImage", 0, "KSampler", "latent_image") in links  # INPUT_LATENTS was the latent it got


def test_latent_schedule_on_a_latent_of_unknown_length_is_kept_with_the_reason():
    g = UIGraph()
    ckpt = _ckpt(g)
    enc = g.node("VAEEncode", None, inputs=[("pixels", "IMAGE"), ("vae", "VAE")], outputs=[("LATENT", "LATENT")])
    sched = _schedule(g, "BatchPromptScheduleLatentInput", ['"0": "a"', False, 0, 0], ckpt)
    g.link(enc, 0, sched, "num_latents")
    [kept] = cv.convert(g.workflow())[1]["kept"]
    assert kept["type"] == "BatchPromptScheduleLatentInput"
    assert f"node {enc} (VAEEncode)" in kept["reason"] and "set frames by hand" in kept["reason"]


# ---- parts shared by several loaders ----
def _shared_graph(kind, second_refused=False):
    g = UIGraph()
    ckpt = _ckpt(g)
    if kind == "settings":
        part = g.node("ADE_AnimateDiffSamplingSettings", [2, "default", "comfy", 0, False], outputs=[("settings", "SAMPLE_SETTINGS")])
        into = "sample_settings"
    else:
        part = g.node("ADE_LoopedUniformContextOptions", [16, 1, 4, False, "pyramid", False, 0, 1],
                      outputs=[("CONTEXT_OPTS", "CONTEXT_OPTIONS")])
        into = "context_options"
    first = _gen1(g, ckpt)
    second = _gen1(g, ckpt, inputs=[("per_block", "PER_BLOCK")])
    if second_refused:
        block = g.node("ADE_InputPIA_PaperPresets", [], outputs=[("PER_BLOCK", "PER_BLOCK")])
        g.link(block, 0, second, "per_block")
    g.link(part, 0, first, into)
    g.link(part, 0, second, into)
    _sampler(g, first)
    _sampler(g, second)
    return g.workflow(), part, first, second


@pytest.mark.parametrize("kind", ["settings", "context"])
def test_a_part_two_loaders_share_becomes_a_copy_in_each(kind):
    workflow, part, first, second = _shared_graph(kind)
    converted, report = cv.convert(workflow)
    _consistent(converted)
    assert not report["kept"], report["kept"]
    target = "ADL_SampleSettings" if kind == "settings" else "ADL_ContextOptions"
    copies = by_type(converted, target)
    assert len(copies) == 2 and part not in {n["id"] for n in converted["nodes"]}
    if kind == "settings":
        assert all(named(c)["batch_offset"] == 2 for c in copies)
    assert all(any("each has its own copy" in n for n in c["notes"]) for c in report["converted"])
    assert all(any(f"(node {part})" in w for w in c["with"]) for c in report["converted"])


def test_a_shared_part_stays_for_the_loader_that_does_not_convert():
    workflow, part, first, second = _shared_graph("settings", second_refused=True)
    converted, report = cv.convert(workflow)
    _consistent(converted)
    kept = {k["id"]: k["reason"] for k in report["kept"]}
    assert second in kept and first not in kept
    assert f"it stays for node {second}" in kept[part]
    [copy] = by_type(converted, "ADL_SampleSettings")
    assert copy["id"] != part and part in {n["id"] for n in converted["nodes"]}


# ---- names the table does not know ----
def test_an_unknown_node_with_a_packs_prefix_is_named_as_such():
    g = UIGraph()
    g.node("ADE_basicContextOptions", [16, 1, 4])
    [kept] = cv.convert(g.workflow())[1]["kept"]
    assert kept["reason"].startswith("an unknown node with AnimateDiff-Evolved's prefix")


# ---------------------------------------------------------------- CheckpointLoaderSimpleWithNoiseSelect
def _noise_select(widgets, link_ckpt_name=False):
    g = UIGraph()
    ckpt = g.node("CheckpointLoaderSimpleWithNoiseSelect", widgets, outputs=CKPT)
    if link_ckpt_name:
        g.widget_input(ckpt, "ckpt_name", "COMBO")
        g.link(g.node("PrimitiveNode", ["other.safetensors"], outputs=[("COMBO", "COMBO")]), 0, ckpt, "ckpt_name")
    enc = g.node("CLIPTextEncode", ["a cat"], inputs=[("clip", "CLIP")], outputs=[("CONDITIONING", "CONDITIONING")])
    g.link(ckpt, 1, enc, "clip")
    ks = _sampler(g, ckpt)
    g.link(enc, 0, ks, "positive")
    dec = g.node("VAEDecode", [], inputs=[("samples", "LATENT"), ("vae", "VAE")], outputs=[("IMAGE", "IMAGE")])
    g.link(ks, 0, dec, "samples")
    g.link(ckpt, 2, dec, "vae")
    return g.workflow(), ckpt


@pytest.mark.parametrize("widgets, version", [
    (["sd15.safetensors", "sqrt_linear (AnimateDiff)"], "5d8ba83 2023-08-28 to d2bf367 2024-01-02"),
    (["sd15.safetensors", "sqrt_linear (AnimateDiff)", False, 0.18215], "d2bf367 2024-01-02+"),
])
def test_checkpoint_loader_with_a_beta_schedule(widgets, version):
    """Load Checkpoint, its MODEL through Beta Schedule (Lightning) on the same betas; CLIP and VAE straight."""
    workflow, ckpt = _noise_select(widgets)
    converted, report = cv.convert(workflow)
    _consistent(converted)
    assert not report["kept"], report["kept"]
    assert version in report["converted"][0]["version"]
    [load] = by_type(converted, "CheckpointLoaderSimple")
    [beta] = by_type(converted, "ADL_BetaSchedule")
    assert load["id"] == ckpt and named(load) == {"ckpt_name": "sd15.safetensors"}
    assert named(beta) == {"beta_schedule": "sqrt_linear"}
    assert {("CheckpointLoaderSimple", 0, "ADL_BetaSchedule", "model"), ("ADL_BetaSchedule", 0, "KSampler", "model"),
            ("CheckpointLoaderSimple", 1, "CLIPTextEncode", "clip"),
            ("CheckpointLoaderSimple", 2, "VAEDecode", "vae")} <= _links(converted)


def test_checkpoint_loader_using_the_existing_schedule_is_load_checkpoint():
    workflow, _ckpt = _noise_select(["sd15.safetensors", "use existing", False, 0.18215], link_ckpt_name=True)
    converted, report = cv.convert(workflow)
    assert not report["kept"], report["kept"]
    assert not by_type(converted, "ADL_BetaSchedule")
    assert {("PrimitiveNode", 0, "CheckpointLoaderSimple", "ckpt_name"),
            ("CheckpointLoaderSimple", 0, "KSampler", "model")} <= _links(converted)


@pytest.mark.parametrize("widgets, reason", [
    (["sd15.safetensors", "sqrt_linear (AnimateDiff)", True, 0.13025], "a custom latent scale factor has no counterpart"),
    (["sd15.safetensors", "autoselect", False, 0.18215], "picks a schedule by motion module"),
    (["sd15.safetensors", "linear (AnimateDiff-SDXL)", False, 0.18215], "for SDXL motion modules"),
])
def test_checkpoint_loader_what_stays(widgets, reason):
    workflow, ckpt = _noise_select(widgets)
    _converted, report = cv.convert(workflow)
    [kept] = report["kept"]
    assert kept["id"] == ckpt and reason in kept["reason"], kept


def test_api_checkpoint_loader_without_the_optional_inputs():
    prompt = {"1": {"class_type": "CheckpointLoaderSimpleWithNoiseSelect",
                    "inputs": {"ckpt_name": "sd15.safetensors", "beta_schedule": "lcm"}},
              "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "a", "clip": ["1", 1]}}}
    converted, report = cv.convert(prompt)
    assert not report["kept"], report["kept"]
    assert converted["1"] == {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15.safetensors"}}
    assert converted["2"]["inputs"]["clip"] == ["1", 1]
    assert not any(n["class_type"] == "ADL_BetaSchedule" for n in converted.values())  # MODEL unused: no node


# ---------------------------------------------------------------- translated widgets fed by primitives
def test_a_translated_widget_fed_by_a_primitive_takes_its_value():
    """ADE's beta_schedule names differ from this pack's, so a link into it cannot stay; from the editor's Primitive
    (UI) the value it holds is translated and typed in, the link dropped, with a note."""
    g = UIGraph()
    ckpt = _ckpt(g)
    loader = _gen1(g, ckpt)
    g.widget_input(loader, "beta_schedule", "COMBO")
    g.link(g.node("PrimitiveNode", ["sqrt_linear (AnimateDiff)"], outputs=[("COMBO", "COMBO")]), 0, loader, "beta_schedule")
    _sampler(g, loader)
    converted, report = cv.convert(g.workflow())
    _consistent(converted)
    assert not report["kept"], report["kept"]
    [apply] = by_type(converted, "ADL_ApplyMotionModule")
    assert named(apply)["beta_schedule"] == "animatediff (sqrt_linear, as trained)"
    assert not any(s.get("link") is not None for s in apply["inputs"] if s["name"] == "beta_schedule")
    assert "beta_schedule came from a primitive (node" in cv.format_report(report)


def test_api_translated_widget_from_a_core_primitive_or_another_node():
    def prompt(source):
        return {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}},
                "2": source,
                "5": {"class_type": "ADE_StandardUniformContextOptions", "inputs": {
                    "context_length": 16, "context_stride": 1, "context_overlap": 4, "fuse_method": ["2", 0]}},
                "6": {"class_type": "ADE_AnimateDiffLoaderGen1", "inputs": {
                    "model": ["1", 0], "model_name": MODULE, "beta_schedule": "autoselect", "context_options": ["5", 0]}}}
    converted, report = cv.convert(prompt({"class_type": "PrimitiveString", "inputs": {"value": "flat"}}))
    assert not report["kept"], report["kept"]
    [ctx] = [n for n in converted.values() if n["class_type"] == "ADL_ContextOptions"]
    assert ctx["inputs"]["fuse_method"] == "flat"
    _converted, report = cv.convert(prompt({"class_type": "StringConcatenate", "inputs": {
        "string_a": "fl", "string_b": "at", "delimiter": ""}}))
    reasons = " | ".join(k["reason"] for k in report["kept"])
    assert "fuse_method comes from another node, so its value cannot be translated" in reasons
