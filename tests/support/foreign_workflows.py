"""Hand-built workflows in the shape AnimateDiff-Evolved / VideoHelperSuite / Advanced-ControlNet / FizzNodes users
save them (UI format, frontend 0.4 serialisation), for the converter's tests. Written by this project from the
public node names and widget orders; no file of those packs is copied.

``python tests/support/foreign_workflows.py`` rewrites tests/fixtures/foreign_workflows/*.json from here, except
t2v_gen1_subgraph.json: the real frontend made that one from t2v_gen1 (tests/browser/subgraph_fixture.mjs).
"""
from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "foreign_workflows"
MODULE = "animatediff_lightning_4step_comfyui.safetensors"
CHECKPOINT = "dreamshaper_8.safetensors"


class UIGraph:
    """A tiny UI-format writer: nodes with typed sockets, links between them."""

    def __init__(self):
        self.nodes, self.links, self.groups = [], [], []
        self._next = 1

    def node(self, type_, widgets, inputs=(), outputs=(), pos=None, title=None, node_id=None, mode=0):
        node_id = node_id or self._next
        self._next = max(self._next, node_id) + 1
        node = {"id": node_id, "type": type_, "pos": pos or [100 + 50 * len(self.nodes), 100 + 40 * len(self.nodes)],
                "size": [315, 120], "flags": {}, "order": len(self.nodes), "mode": mode,
                "inputs": [{"name": n, "type": t, "link": None} for n, t in inputs],
                "outputs": [{"name": n, "type": t, "links": []} for n, t in outputs],
                "properties": {"Node name for S&R": type_}, "widgets_values": widgets}
        if title:
            node["title"] = title
        self.nodes.append(node)
        return node_id

    def widget_input(self, node_id, name, kind):
        """A widget converted to an input socket (how a PrimitiveNode or another node feeds it)."""
        node = self._get(node_id)
        node["inputs"].append({"name": name, "type": kind, "link": None, "widget": {"name": name}})

    def _get(self, node_id):
        return next(n for n in self.nodes if n["id"] == node_id)

    def link(self, src, src_slot, dst, dst_input):
        src_node, dst_node = self._get(src), self._get(dst)
        kind = src_node["outputs"][src_slot]["type"]
        link_id = len(self.links) + 1
        slot = next(i for i, s in enumerate(dst_node["inputs"]) if s["name"] == dst_input)
        dst_node["inputs"][slot]["link"] = link_id
        src_node["outputs"][src_slot]["links"].append(link_id)
        self.links.append([link_id, src, src_slot, dst, slot, kind])

    def workflow(self):
        return {"last_node_id": max(n["id"] for n in self.nodes), "last_link_id": len(self.links),
                "nodes": self.nodes, "links": self.links, "groups": self.groups, "config": {},
                "extra": {"ds": {"scale": 1, "offset": [0, 0]}}, "version": 0.4}


def _base(g: UIGraph, prompt="a lighthouse on a cliff, sunset, masterpiece"):
    ckpt = g.node("CheckpointLoaderSimple", [CHECKPOINT], outputs=[("MODEL", "MODEL"), ("CLIP", "CLIP"), ("VAE", "VAE")])
    pos = g.node("CLIPTextEncode", [prompt], inputs=[("clip", "CLIP")], outputs=[("CONDITIONING", "CONDITIONING")])
    neg = g.node("CLIPTextEncode", ["worst quality, low quality"], inputs=[("clip", "CLIP")],
                 outputs=[("CONDITIONING", "CONDITIONING")])
    g.link(ckpt, 1, pos, "clip")
    g.link(ckpt, 1, neg, "clip")
    return ckpt, pos, neg


def _ksampler(g: UIGraph, seed=42, steps=4, cfg=1.0, sampler="euler", scheduler="sgm_uniform", denoise=1.0):
    return g.node("KSampler", [seed, "fixed", steps, cfg, sampler, scheduler, denoise],
                  inputs=[("model", "MODEL"), ("positive", "CONDITIONING"), ("negative", "CONDITIONING"),
                          ("latent_image", "LATENT")], outputs=[("LATENT", "LATENT")])


def _decode(g, ckpt, sampler):
    dec = g.node("VAEDecode", None, inputs=[("samples", "LATENT"), ("vae", "VAE")], outputs=[("IMAGE", "IMAGE")])
    g.link(sampler, 0, dec, "samples")
    g.link(ckpt, 2, dec, "vae")
    return dec


def t2v_gen1() -> dict:
    """ByteDance's text-to-video layout: Gen1 loader, KSampler euler/sgm_uniform at 4 steps, VHS Video Combine
    (current VHS: named widget values)."""
    g = UIGraph()
    ckpt, pos, neg = _base(g)
    latent = g.node("EmptyLatentImage", [512, 512, 16], outputs=[("LATENT", "LATENT")])
    ad = g.node("ADE_AnimateDiffLoaderGen1", [MODULE, "sqrt_linear (AnimateDiff)"],
                inputs=[("model", "MODEL"), ("context_options", "CONTEXT_OPTIONS"), ("motion_lora", "MOTION_LORA"),
                        ("ad_settings", "AD_SETTINGS"), ("sample_settings", "SAMPLE_SETTINGS"),
                        ("scale_multival", "MULTIVAL"), ("effect_multival", "MULTIVAL"), ("ad_keyframes", "AD_KEYFRAMES")],
                outputs=[("MODEL", "MODEL")], title="AnimateDiff Loader 🎭🅐🅓")
    g.link(ckpt, 0, ad, "model")
    ks = _ksampler(g)
    g.link(ad, 0, ks, "model")
    g.link(pos, 0, ks, "positive")
    g.link(neg, 0, ks, "negative")
    g.link(latent, 0, ks, "latent_image")
    dec = _decode(g, ckpt, ks)
    combine = g.node("VHS_VideoCombine", {"frame_rate": 8, "loop_count": 0, "filename_prefix": "AnimateDiff",
                                          "format": "video/h264-mp4", "pix_fmt": "yuv420p", "crf": 19,
                                          "save_metadata": True, "trim_to_audio": False, "pingpong": False,
                                          "save_output": True, "videopreview": {"hidden": False, "paused": False,
                                                                                "params": {}}},
                     inputs=[("images", "IMAGE"), ("audio", "AUDIO"), ("meta_batch", "VHS_BatchManager"), ("vae", "VAE")],
                     outputs=[("Filenames", "VHS_FILENAMES")], title="Video Combine 🎥🅥🅗🅢")
    g.link(dec, 0, combine, "images")
    g.node("Note", ["AnimateDiff-Lightning 4-step, text to video"], pos=[0, 0])
    g.groups.append({"title": "AnimateDiff", "bounding": [80, 80, 700, 400], "color": "#3f789e"})
    return g.workflow()


def t2v_gen2_lora_context_prompt_travel() -> dict:
    """Gen2 nodes (Load / Apply / Use Evolved Sampling), two Motion LoRAs chained, static context options with
    FreeNoise sample settings, a
    FizzNodes batch prompt schedule (2024-05+ layout) and an older list-form Video Combine."""
    g = UIGraph()
    ckpt, _pos, neg = _base(g)
    schedule = '"0" :"a cat walking in the snow",\n"4" :"a cat walking on the beach",\n"99": "past the end"'
    sched = g.node("BatchPromptSchedule", [schedule, 8, False, 0, 0],
                   inputs=[("clip", "CLIP"), ("pre_text", "STRING"), ("app_text", "STRING"), ("pw_a", "FLOAT"),
                           ("pw_b", "FLOAT"), ("pw_c", "FLOAT"), ("pw_d", "FLOAT")],
                   outputs=[("POS", "CONDITIONING"), ("NEG", "CONDITIONING")], title="Batch Prompt Schedule 📅🅕🅝")
    g.link(ckpt, 1, sched, "clip")
    latent = g.node("ADE_EmptyLatentImageLarge", [512, 512, 8], outputs=[("LATENT", "LATENT")])
    load = g.node("ADE_LoadAnimateDiffModel", [MODULE], inputs=[("ad_settings", "AD_SETTINGS")],
                  outputs=[("MOTION_MODEL", "MOTION_MODEL_ADE")])
    lora1 = g.node("ADE_AnimateDiffLoRALoader", ["v2_lora_PanLeft.ckpt", 0.8],
                   inputs=[("prev_motion_lora", "MOTION_LORA")], outputs=[("MOTION_LORA", "MOTION_LORA")])
    lora2 = g.node("ADE_AnimateDiffLoRALoader", ["v2_lora_PanLeft.ckpt", 0.5],
                   inputs=[("prev_motion_lora", "MOTION_LORA")], outputs=[("MOTION_LORA", "MOTION_LORA")],
                   title="second camera move")
    g.link(lora1, 0, lora2, "prev_motion_lora")
    apply = g.node("ADE_ApplyAnimateDiffModelSimple", None,
                   inputs=[("motion_model", "MOTION_MODEL_ADE"), ("motion_lora", "MOTION_LORA"),
                           ("scale_multival", "MULTIVAL"), ("effect_multival", "MULTIVAL"),
                           ("ad_keyframes", "AD_KEYFRAMES")], outputs=[("M_MODELS", "M_MODELS")])
    g.link(load, 0, apply, "motion_model")
    g.link(lora2, 0, apply, "motion_lora")
    ctx = g.node("ADE_StandardStaticContextOptions", [16, 4, "pyramid", False, 0, 1],
                 inputs=[("prev_context", "CONTEXT_OPTIONS"), ("view_opts", "VIEW_OPTS")],
                 outputs=[("CONTEXT_OPTS", "CONTEXT_OPTIONS")])
    settings = g.node("ADE_AnimateDiffSamplingSettings", [0, "FreeNoise", "comfy", 0, False],
                      inputs=[("noise_layers", "NOISE_LAYERS"), ("iteration_opts", "ITERATION_OPTS"),
                              ("seed_override", "INT")], outputs=[("settings", "SAMPLE_SETTINGS")])
    evolved = g.node("ADE_UseEvolvedSampling", ["autoselect"],
                     inputs=[("model", "MODEL"), ("m_models", "M_MODELS"), ("context_options", "CONTEXT_OPTIONS"),
                             ("sample_settings", "SAMPLE_SETTINGS")], outputs=[("MODEL", "MODEL")])
    g.link(settings, 0, evolved, "sample_settings")
    g.link(ckpt, 0, evolved, "model")
    g.link(apply, 0, evolved, "m_models")
    g.link(ctx, 0, evolved, "context_options")
    ks = _ksampler(g, scheduler="karras", sampler="dpmpp_2m")
    g.link(evolved, 0, ks, "model")
    g.link(sched, 0, ks, "positive")
    g.link(neg, 0, ks, "negative")
    g.link(latent, 0, ks, "latent_image")
    dec = _decode(g, ckpt, ks)
    combine = g.node("VHS_VideoCombine", [8, 0, "AnimateDiff", "video/h264-mp4", False, True, "yuv420p", 19, True, None],
                     inputs=[("images", "IMAGE")], outputs=[("Filenames", "VHS_FILENAMES")])
    g.link(dec, 0, combine, "images")
    return g.workflow()


def v2v_legacy_acn() -> dict:
    """The 2024 video-to-video layout: VHS Load Video (force_size + custom size, a PrimitiveNode on
    frame_load_cap, upload value and preview after the widgets), Advanced-ControlNet loader + apply (old names),
    the legacy loader with context (4 widgets) and legacy uniform context options (5 widgets), a Reroute, and a
    2023 Video Combine (6 widgets) given the loaded frame rate by VHS_VideoInfoLoaded."""
    g = UIGraph()
    ckpt, pos, neg = _base(g, "anime style, vibrant colors")
    load = g.node("VHS_LoadVideo", ["input_clip.mp4", 0, "Custom", 512, 512, 16, 0, 1, "image",
                                    {"hidden": False, "paused": False, "params": {}}],
                  inputs=[("meta_batch", "VHS_BatchManager"), ("vae", "VAE")],
                  outputs=[("IMAGE", "IMAGE"), ("frame_count", "INT"), ("audio", "AUDIO"), ("video_info", "VHS_VIDEOINFO")],
                  title="Load Video (Upload) 🎥🅥🅗🅢")
    g.widget_input(load, "frame_load_cap", "INT")
    cap = g.node("PrimitiveNode", [16, "fixed"], outputs=[("INT", "INT")], title="frames")
    g.nodes[-1]["outputs"][0]["widget"] = {"name": "frame_load_cap"}
    g.link(cap, 0, load, "frame_load_cap")
    reroute = g.node("Reroute", None, inputs=[("", "*")], outputs=[("", "IMAGE")])
    g.link(load, 0, reroute, "")
    cn = g.node("ControlNetLoaderAdvanced", ["control_v11p_sd15_canny_fp16.safetensors"],
                inputs=[("timestep_keyframe", "TIMESTEP_KEYFRAME")], outputs=[("CONTROL_NET", "CONTROL_NET")])
    canny = g.node("Canny", [0.4, 0.8], inputs=[("image", "IMAGE")], outputs=[("IMAGE", "IMAGE")])
    g.link(reroute, 0, canny, "image")
    acn = g.node("ACN_AdvancedControlNetApply", [0.8, 0.0, 1.0],
                 inputs=[("positive", "CONDITIONING"), ("negative", "CONDITIONING"), ("control_net", "CONTROL_NET"),
                         ("image", "IMAGE"), ("mask_optional", "MASK"), ("timestep_kf", "TIMESTEP_KEYFRAME"),
                         ("latent_kf_override", "LATENT_KEYFRAME"), ("weights_override", "CONTROL_NET_WEIGHTS"),
                         ("model_optional", "MODEL"), ("vae_optional", "VAE")],
                 outputs=[("positive", "CONDITIONING"), ("negative", "CONDITIONING"), ("model_opt", "MODEL")])
    g.link(pos, 0, acn, "positive")
    g.link(neg, 0, acn, "negative")
    g.link(cn, 0, acn, "control_net")
    g.link(canny, 0, acn, "image")
    enc = g.node("VAEEncode", None, inputs=[("pixels", "IMAGE"), ("vae", "VAE")], outputs=[("LATENT", "LATENT")])
    g.link(reroute, 0, enc, "pixels")
    g.link(ckpt, 2, enc, "vae")
    ctx = g.node("ADE_AnimateDiffUniformContextOptions", [16, 1, 4, "uniform", False],
                 inputs=[("prev_context", "CONTEXT_OPTIONS")], outputs=[("CONTEXT_OPTIONS", "CONTEXT_OPTIONS")])
    ad = g.node("ADE_AnimateDiffLoaderWithContext", [MODULE, "sqrt_linear (AnimateDiff)", 1.0, True],
                inputs=[("model", "MODEL"), ("context_options", "CONTEXT_OPTIONS"), ("motion_lora", "MOTION_LORA"),
                        ("ad_settings", "AD_SETTINGS"), ("sample_settings", "SAMPLE_SETTINGS")],
                outputs=[("MODEL", "MODEL")])
    g.link(ckpt, 0, ad, "model")
    g.link(ctx, 0, ad, "context_options")
    ks = _ksampler(g, denoise=0.75)
    g.link(ad, 0, ks, "model")
    g.link(acn, 0, ks, "positive")
    g.link(acn, 1, ks, "negative")
    g.link(enc, 0, ks, "latent_image")
    dec = _decode(g, ckpt, ks)
    combine = g.node("VHS_VideoCombine", [8, 0, "v2v", "image/gif", False, True, None],
                     inputs=[("images", "IMAGE")], outputs=[("GIF", "GIF")])
    g.link(dec, 0, combine, "images")
    info = g.node("VHS_VideoInfoLoaded", [], inputs=[("video_info", "VHS_VIDEOINFO")],
                  outputs=[("fps🟦", "FLOAT"), ("frame_count🟦", "INT"), ("duration🟦", "FLOAT"), ("width🟦", "INT"),
                           ("height🟦", "INT")])
    g.link(load, 3, info, "video_info")
    g.widget_input(combine, "frame_rate", "FLOAT")
    g.link(info, 0, combine, "frame_rate")  # the saved video keeps the loaded clip's rate
    return g.workflow()


def unconvertible() -> dict:
    """What must stay and be reported: sample settings with an 'empty' noise type on a loader, an LCM beta
    schedule, an unknown widget layout, a NEG output in use."""
    g = UIGraph()
    ckpt, _pos, _neg = _base(g)
    settings = g.node("ADE_AnimateDiffSamplingSettings", [0, "empty", "comfy", 0, False],
                      outputs=[("settings", "SAMPLE_SETTINGS")])
    ad1 = g.node("ADE_AnimateDiffLoaderGen1", [MODULE, "autoselect"],
                 inputs=[("model", "MODEL"), ("sample_settings", "SAMPLE_SETTINGS")], outputs=[("MODEL", "MODEL")])
    g.link(ckpt, 0, ad1, "model")
    g.link(settings, 0, ad1, "sample_settings")
    ad2 = g.node("ADE_AnimateDiffLoaderGen1", [MODULE, "linear (AnimateDiff-SDXL)"], inputs=[("model", "MODEL")], outputs=[("MODEL", "MODEL")])
    g.link(ckpt, 0, ad2, "model")
    g.node("VHS_LoadVideo", ["clip.mp4", 0, 7], outputs=[("IMAGE", "IMAGE")])  # 3 values: no known layout
    sched = g.node("BatchPromptSchedule", ['"0": "a cat"', 16, False, 0, 0], inputs=[("clip", "CLIP")],
                   outputs=[("POS", "CONDITIONING"), ("NEG", "CONDITIONING")])
    g.link(ckpt, 1, sched, "clip")
    zero = g.node("ConditioningZeroOut", None, inputs=[("conditioning", "CONDITIONING")],
                  outputs=[("CONDITIONING", "CONDITIONING")])
    g.link(sched, 1, zero, "conditioning")
    return g.workflow()


def t2v_gen2_multivals_keyframes() -> dict:
    """Gen2 nodes with AnimateDiff-Evolved's motion control: a masked scale multival (a solid mask), an effect
    multival whose float_val comes from a PrimitiveNode, a scaled-mask multival (relative) on a keyframe, two
    keyframes chained (the second through a Reroute), and Apply AnimateDiff Model active from 0.1 to 0.9."""
    g = UIGraph()
    ckpt, pos, neg = _base(g)
    latent = g.node("EmptyLatentImage", [512, 512, 16], outputs=[("LATENT", "LATENT")])
    mask = g.node("SolidMask", [0.5, 512, 512], outputs=[("MASK", "MASK")])
    scale = g.node("ADE_MultivalDynamic", [1.1], inputs=[("mask_optional", "MASK")], outputs=[("MULTIVAL", "MULTIVAL")],
                   title="Scale 🎭🅐🅓")
    g.link(mask, 0, scale, "mask_optional")
    effect = g.node("ADE_MultivalDynamic", [0.9], inputs=[("mask_optional", "MASK")], outputs=[("MULTIVAL", "MULTIVAL")],
                    title="effect")
    g.widget_input(effect, "float_val", "FLOAT")
    prim = g.node("PrimitiveNode", [0.9, "fixed"], outputs=[("FLOAT", "FLOAT")], title="effect value")
    g.nodes[-1]["outputs"][0]["widget"] = {"name": "float_val"}
    g.link(prim, 0, effect, "float_val")
    scaled = g.node("ADE_MultivalScaledMask", [0.8, 1.2, "relative"], inputs=[("mask", "MASK")],
                    outputs=[("MULTIVAL", "MULTIVAL")])
    g.link(mask, 0, scaled, "mask")
    kf_inputs = [("prev_ad_keyframes", "AD_KEYFRAMES"), ("scale_multival", "MULTIVAL"), ("effect_multival", "MULTIVAL"),
                 ("per_block_replace", "PER_BLOCK")]
    kf1 = g.node("ADE_AnimateDiffKeyframe", [0.0, True, 1], inputs=kf_inputs, outputs=[("AD_KEYFRAMES", "AD_KEYFRAMES")])
    kf2 = g.node("ADE_AnimateDiffKeyframe", [0.5, False, 2], inputs=kf_inputs, outputs=[("AD_KEYFRAMES", "AD_KEYFRAMES")])
    g.link(kf1, 0, kf2, "prev_ad_keyframes")
    g.link(scaled, 0, kf2, "scale_multival")
    reroute = g.node("Reroute", None, inputs=[("", "*")], outputs=[("", "AD_KEYFRAMES")])
    g.link(kf2, 0, reroute, "")
    load = g.node("ADE_LoadAnimateDiffModel", [MODULE], inputs=[("ad_settings", "AD_SETTINGS")],
                  outputs=[("MOTION_MODEL", "MOTION_MODEL_ADE")])
    apply = g.node("ADE_ApplyAnimateDiffModel", [0.1, 0.9],
                   inputs=[("motion_model", "MOTION_MODEL_ADE"), ("motion_lora", "MOTION_LORA"),
                           ("scale_multival", "MULTIVAL"), ("effect_multival", "MULTIVAL"),
                           ("ad_keyframes", "AD_KEYFRAMES"), ("prev_m_models", "M_MODELS"), ("per_block", "PER_BLOCK")],
                   outputs=[("M_MODELS", "M_MODELS")])
    g.link(load, 0, apply, "motion_model")
    g.link(scale, 0, apply, "scale_multival")
    g.link(effect, 0, apply, "effect_multival")
    g.link(reroute, 0, apply, "ad_keyframes")
    evolved = g.node("ADE_UseEvolvedSampling", ["sqrt_linear (AnimateDiff)"],
                     inputs=[("model", "MODEL"), ("m_models", "M_MODELS"), ("context_options", "CONTEXT_OPTIONS"),
                             ("sample_settings", "SAMPLE_SETTINGS")], outputs=[("MODEL", "MODEL")])
    g.link(ckpt, 0, evolved, "model")
    g.link(apply, 0, evolved, "m_models")
    ks = _ksampler(g)
    g.link(evolved, 0, ks, "model")
    g.link(pos, 0, ks, "positive")
    g.link(neg, 0, ks, "negative")
    g.link(latent, 0, ks, "latent_image")
    dec = _decode(g, ckpt, ks)
    combine = g.node("VHS_VideoCombine", [8, 0, "motion_control", "video/h264-mp4", False, True, "yuv420p", 19, True, None],
                     inputs=[("images", "IMAGE")], outputs=[("Filenames", "VHS_FILENAMES")])
    g.link(dec, 0, combine, "images")
    return g.workflow()


FIXTURE_BUILDERS = {"t2v_gen1": t2v_gen1, "t2v_gen2_lora_context_prompt_travel": t2v_gen2_lora_context_prompt_travel,
                    "v2v_legacy_acn": v2v_legacy_acn, "unconvertible": unconvertible,
                    "t2v_gen2_multivals_keyframes": t2v_gen2_multivals_keyframes}


def numbers(value):
    """1.0 and 1 alike, for comparing graphs (the frontend writes whole floats as integers)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: numbers(v) for k, v in value.items()}
    return value


def write_fixtures():
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, build in FIXTURE_BUILDERS.items():
        (FIXTURES / f"{name}.json").write_text(json.dumps(build(), indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    write_fixtures()
