"""The table as a document: docs/converting.md is ``support_markdown()``'s text (tests/test_convert.py checks it
is current)."""
from __future__ import annotations

from .table import mapping

MOTION_CONTROL = (
    "Motion control: AnimateDiff-Evolved's multivals become **Motion Value (Lightning)** (`ADE_MultivalDynamic`'s "
    "float_val → value, and a float_val fed by another node stays fed; its mask → mask; `ADE_MultivalScaledMask`'s "
    "min_float_val / max_float_val / scaling → mask_min / mask_max / mask_scaling), `ADE_AnimateDiffKeyframe` becomes "
    "**Motion Keyframe (Lightning)** (prev_ad_keyframes → previous, scale_multival → scale, effect_multival → effect), "
    "and the scale_multival / effect_multival / ad_keyframes of the loaders and the Gen2 apply nodes go to Apply Motion "
    "Module's scale / effect / keyframes, the Gen2 apply's start_percent / end_percent to its own. The legacy loader's "
    "motion_scale is ADE's temporal attention scale, not this pack's motion_scale (ADE's effect): other than 1 it "
    "becomes a Motion Value on Apply Motion Module's scale (a motion_scale fed by another node stays fed). A multival "
    "or keyframe converts together with the nodes it feeds and is fed by, or not at all; per-block strengths "
    "(per_block, per_block_replace) and several motion models at once (prev_m_models) keep the node as it was, with the "
    "reason.")

SETTINGS = (
    "Module adjustments: a loader's AnimateDiff settings (`ADE_AnimateDiffSettings` on ad_settings) go; their PE "
    "adjustments become **Adjust Motion Positions (Lightning)** (`ADE_AdjustPEFullStretch`'s pe_stretch → stretch; "
    "`ADE_AdjustPESweetspotStretch`'s sweetspot / new_sweetspot → cap / interpolate_to; `ADE_AdjustPEManual`'s "
    "cap_initial_pe_length / interpolate_pe_to_length / initial_pe_idx_offset / final_pe_idx_offset → cap / "
    "interpolate_to / initial_offset / final_offset) and their weight adjustments **Adjust Motion Weights (Lightning)** "
    "(the All nodes: group all; the Indiv nodes: one node per group whose value is not the default — pe, attn, attn_q, "
    "attn_k, attn_v, attn_out_weight, attn_out_bias, other → positional encoding, attention, attention q / k / v / out "
    "weight / out bias, other — chained in that order, the order AnimateDiff-Evolved applies them to a weight; _ADD → "
    "add, _MULT → multiply), in one chain into Load Motion Module's adjust: the position chain first, then the weight "
    "chain, each in its own order (positions act before weights in both packs). print_adjustment is dropped (the "
    "loader's info output lists what was adjusted).\n\n"
    "Sample settings: `ADE_AnimateDiffSamplingSettings` with nothing but noise_type default or FreeNoise folds into the "
    "converted Context Options (Lightning) as FreeNoise (AnimateDiff-Evolved) — ADE's FreeNoise frame for frame, "
    "checked against ADE's own function in docs/parity.md — or per-frame; anything else (batch_offset, seed_offset, a "
    "seed_gen other than comfy, noise_type constant / empty / repeated_context, noise layers, FreeInit, a seed_override "
    "link) becomes **Sample Settings (Lightning)** on Apply Motion Module's sample_settings (with FreeNoise, then, "
    "drawn by it before its layers, as in AnimateDiff-Evolved). Its noise layers become **Noise Layer (Lightning)** "
    "(`ADE_NoiseLayerAdd` / `AddWeighted` / `NormalizedSum` / `Replace` → application add / add weighted / normalized "
    "sum / replace; noise_weight → weight, balance_multiplier → balance, seed_gen_override → seed_gen, mask_optional → "
    "mask, seed_override stays linked), the chain reversed: AnimateDiff-Evolved puts each layer at the start of its "
    "list, so the layer nearest the settings acts first, while this pack's layers act previous first. "
    "`ADE_IterationOptsFreeInit` becomes **FreeInit (Lightning)** (apply_to_1st_iter → apply_to_first, init_type → "
    "method); `ADE_IterationOptsDefault` with 1 iteration is dropped. A node of these chains converts with the loader "
    "it ends in and feeds nothing else, or the loader keeps its node with the reason; adapt_denoise_steps, image_inject "
    "and ancestral_opts keep the loader as it was, as do default iteration options with more than one iteration and "
    "a typed seed_override.\n\n"
    "Custom CFG and sigma schedules (on the sample settings' custom_cfg / sigma_schedule, which then always become "
    "Sample Settings (Lightning)): `ADE_CustomCFGSimple` / `ADE_CustomCFGKeyframeSimple` become **CFG Keyframe "
    "(Lightning)** (cfg, start_percent, guarantee_steps; the plain Custom CFG starts at 0 and guarantees 1 step, as "
    "AnimateDiff-Evolved's keyframes do), `ADE_CustomCFG` / `ADE_CustomCFGKeyframe` the same with cfg 1 and the Motion "
    "Value its cfg_multival converts to on value (cfg × value), chained through previous (prev_custom_cfg) into Sample "
    "Settings' custom_cfg. AnimateDiff-Evolved sorts its keyframes by start_percent (equal starts in the order they "
    "were added); the chain is written in that order, with a note when it differs from the saved one. A widget fed by "
    "another node stays fed, except a start_percent in a chain of several (its order cannot be known). "
    "`ADE_SigmaSchedule` becomes **Sigma Schedule (Lightning)** (beta_schedule: sqrt_linear (AnimateDiff) → "
    "sqrt_linear, linear (HotshotXL/default) → linear, the others by name; linear (AnimateDiff-SDXL) keeps the loader "
    "as it was). A weighted mean (`ADE_SigmaScheduleWeightedAverage`, `…Interp`) has no node of its own: it becomes "
    "blend_with on schedule_A's Sigma Schedule (weight_A, or weight_A_Start / weight_A_End / interpolation → "
    "weight_start / weight_end / interpolation), or, when schedule_A is a mean itself, on schedule_B's with the "
    "weights 1 − w (the same curve). A mean of two means, cfg_extras, keyframes generated over a range or from a list, "
    "raw sigma schedules and split schedules keep the loader as it was, with the reason.")

SPARSECTRL = (
    "SparseCtrl: `ACN_SparseCtrlLoaderAdvanced` becomes **Load SparseCtrl (Lightning)** (sparsectrl_name, use_motion, "
    "motion_strength, motion_scale), and each apply node its CONTROL_NET feeds (`ACN_AdvancedControlNetApply`, "
    "`ACN_AdvancedControlNetApply_v2`, core `ControlNetApplyAdvanced`) **Apply SparseCtrl (Lightning)** (strength, "
    "start_percent, end_percent; image → images, vae_optional / vae → vae). The loader's sparse method goes onto each "
    "apply's placement: none → spread uniform (Advanced-ControlNet's default), `ACN_SparseCtrlSpreadMethodNode`'s "
    "spread → spread uniform / starting / ending / center (layouts: 3bf77b1 2023-12-19 from_start, on → spread "
    "uniform; be0460e 2023-12-20+ spread), `ACN_SparseCtrlIndexMethodNode`'s indexes → placement indexes with the "
    "same text (a linked indexes stays linked). An `ACN_SparseCtrlRGBPreprocessor` on an apply's image goes: its "
    "image and vae become Apply SparseCtrl's images and vae (it encodes them itself, resized to the latent, so "
    "latent_size is dropped; layouts: fa0a3db 2023-12-22+ no widgets; 95d00fc 2024-07-15 to ba0e74e 2024-12-02 the "
    "autosize widget, saved as \"\"). One loader may feed several applies (each keeps its own placement). "
    "context_aware off is this pack's behaviour; nearest_hint (the default) gives a context window without a hint "
    "the nearest one in Advanced-ControlNet, not here: the report says so when the graph has context options. "
    "tk_optional (timestep keyframes), sparse_hint_mult / sparse_nonhint_mult / sparse_mask_mult other than 1, a "
    "CONTROL_NET into any other node, a preprocessor or method node feeding anything else keep the loader (and its "
    "apply nodes) as they were, with the reason.")

CONTROLS = (
    "ControlNet controls: `ACN_ControlNetLoaderAdvanced` / `ControlNetLoaderAdvanced` become core Load ControlNet Model, "
    "followed, when timestep keyframes feed them (_tk_opt, tk_optional, timestep_keyframe), by **ControlNet Controls "
    "(Lightning)** carrying them; `ACN_AdvancedControlNetApply` / `_v2` become core Apply ControlNet, their control_net "
    "through a ControlNet Controls (Lightning) of their own when timestep_kf (→ keyframes), weights_override (→ weights), "
    "mask_optional (→ mask) or latent_kf_override (→ frames) is connected; Controls replace all of a ControlNet's "
    "controls, so a loader's keyframes go onto the apply's Controls too unless the apply has its own (which replace them "
    "in Advanced-ControlNet as well). `TimestepKeyframe` becomes **ControlNet Keyframe (Lightning)** (start_percent, "
    "strength, null_latent_kf_strength → other_frames, inherit_missing, guarantee_steps (the 2023-11 to 2024-05 toggle "
    "guarantee_usage → 0 or 1), prev_timestep_kf → previous, cn_weights → weights, mask_optional → mask), chained as "
    "saved: both packs sort keyframes by start_percent, equal starts in the order added. The weights nodes become "
    "**ControlNet Weights (Lightning)**: `ACN_ScaledSoftControlNetWeights` / `ScaledSoftControlNetWeights` base_multiplier "
    "and uncond_multiplier, the SD1.5 soft / custom weights (output_0..output_11, middle_0; the deprecated weight_00.."
    "weight_12) as the 13 numbers of block_weights, `ACN_DefaultUniversalWeights` base_multiplier 1; flip_weights, unused "
    "by Advanced-ControlNet since 2023-11-28, is dropped. A weights node's TK_SHORTCUT output becomes a ControlNet Keyframe "
    "(Lightning) at 0 with those weights. Latent keyframes (`LatentKeyframe`, `LatentKeyframeGroup`, "
    "`LatentKeyframeTiming`, the strengths computed with numpy as Advanced-ControlNet does) have no node of their own: "
    "their chain is worked out as Advanced-ControlNet builds it (a LatentKeyframe replaces prev's on its index, a group's "
    "or timing's own are replaced by prev's) and written as the frames text of the keyframe or Controls it feeds, as "
    "slices `a:b=s` in batch-index order (a run to the last frame ending in `-1=s`; an index past the video is skipped, as in Advanced-ControlNet; negatives count "
    "from the end); an empty group is `0:0` (every frame gets other_frames). A weights or keyframe node converts only "
    "when every node it feeds and is fed by converts too, a latent keyframe only with the one node it feeds. Kept as they "
    "were, with the reason: weight extras (cn_extras), masked and T2I-Adapter weights, keyframes generated over a range "
    "or from a list, latent keyframes from a list, negative indexes of a group with latent_optional (counted from a frame "
    "count known only when it runs), and group texts Advanced-ControlNet fails on or reads in no fixed order (a negative "
    "index without latent_optional, one index given two strengths, a strength or index that is not a number).")


SWITCH = (
    "**Switch to Lightning**, beside the faithful conversion (the panel's second button with its steps choice, "
    "`convert … --lightning STEPS`, or `\"lightning\": STEPS` in the route's body): the converted graph made a "
    "Lightning graph — Load Motion Module's file becomes `animatediff_lightning_{STEPS}step_comfyui.safetensors`, "
    "Apply Motion Module's beta_schedule the trained sqrt_linear, KSampler / KSampler (Advanced) / BasicScheduler "
    "euler / `simple` / STEPS steps, cfg 1 there and on SamplerCustom / CFGGuider (Sample (Lightning) and Lightning "
    "Scheduler: steps 0, the module's own), LCM LoRAs and `ModelSamplingDiscrete` lcm bypassed (API format: wired "
    "past). At denoise d < 1 a KSampler runs STEPS·d steps, which stays on the trained timesteps when that is a "
    "whole number. A value fed by a link is left, with the value to set; every change is listed. The edits are data: "
    "`workflow_files/lightning.json`.")


def support_markdown() -> str:
    m = mapping()
    kinds = {"ad_loader": "Load Motion Module + Apply Motion Module (+ its Motion LoRAs and context options)",
             "ad_sampling": "Apply Motion Module (with the Gen2 loader, apply node, LoRAs and context options it is fed); "
                            "with no motion model (m_models empty), its context options alone, as Context Options "
                            "(Lightning) on the plain model — ADE_BatchedContextOptions there as static windows "
                            "without overlap, the same frames since each is denoised on its own (no context "
                            "options: removed)",
             "ad_apply": "folded into the Apply Motion Module of the Use Evolved Sampling it feeds",
             "ad_lora": "Load Motion LoRA (Lightning), chained between Load Motion Module and Apply",
             "ad_context": "Context Options (Lightning), on the MODEL after Apply Motion Module",
             "ad_sample_settings": "Sample Settings (Lightning) on Apply Motion Module's sample_settings; with only "
                                   "noise_type default / FreeNoise: FreeNoise (AnimateDiff-Evolved) on the converted Context Options "
                                   "(Lightning), defaults dropped",
             "ad_settings": "absorbed: its PE and weight adjustments become one chain into Load Motion Module's adjust",
             "ad_pe_adjust": "Adjust Motion Positions (Lightning), in the chain into Load Motion Module's adjust",
             "ad_weight_adjust": "Adjust Motion Weights (Lightning), one per group it changes, after the position "
                                 "adjustments in the chain into Load Motion Module's adjust",
             "ad_noise_layer": "Noise Layer (Lightning) on Sample Settings' noise_layers (the chain reversed)",
             "ad_iteration_opts": "FreeInit (Lightning) on Sample Settings' freeinit"}
    lines = ["# Opening AnimateDiff-Evolved / VideoHelperSuite / Advanced-ControlNet / FizzNodes workflows", "",
             "Generated from `workflow_files/mapping.json` by `workflow_files.convert.support_markdown()`; "
             "`tests/test_convert.py` checks it is current.", "",
             "In the editor: open the workflow; when it has missing node types listed below, a panel offers "
             "**Open with AnimateDiff-Lightning nodes** (the converted graph opens in a new tab, the original stays). "
             "On the command line: `python path/to/pack convert IN.json OUT.json` (prints the report; exit status 0: "
             "all converted, 3: some nodes left as they were, marked red; 2: unreadable, nothing written), or "
             "`python path/to/pack render IN.json --out DIR`, which converts first. "
             "KSampler nodes stay core KSampler (euler with sgm_uniform or simple gives Lightning's timesteps); the "
             "report says where their settings differ from what the module was distilled for. "
             "Nodes inside subgraphs are converted where they are: the subgraph stays a subgraph, its inputs and "
             "outputs keep their names and links, and the report names the subgraph of each node.", "",
             SWITCH, "",
             "## Converted", "", "| node type | pack | becomes | widget layouts recognised |", "|---|---|---|---|"]
    for t, e in m["nodes"].items():
        target = e.get("becomes") or e.get("target") or kinds[e["kind"]]
        layouts = "; ".join(v["name"] for v in e["versions"]) + "; named widget values; API format"
        lines.append(f"| `{t}` | {e['pack']} | {target} | {layouts} |")
    lines += ["", "Within a converted node, a setting without a counterpart either keeps the node as it was (with the "
              "reason) or is converted with a note in the report; every such translation is in `mapping.json` "
              "(`tables`, `checks`, `refuse_linked`).", "", MOTION_CONTROL, "", SETTINGS, "", SPARSECTRL, "", CONTROLS, "", "## Known and not converted", "",
              "| node type | pack | why |", "|---|---|---|"]
    for pack, entries in m["absent"].items():
        for t, why in entries.items():
            lines.append(f"| `{t}` | {pack} | {why} |")
    lines += ["", "Public workflow files run as published and as converted, frame against frame: [check-converter.md](check-converter.md) (`make check-converter`)."]
    return "\n".join(lines) + "\n"
