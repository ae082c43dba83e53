"""Sample settings: how the initial noise of a video is drawn, noise layers on top, FreeInit iterations."""
from comfy_api.latest import io

from ..glue.noise import SampleSettings
from ..motion_modules.noise import (APPLICATIONS, FREEINIT_FILTERS, FREEINIT_METHODS, NOISE_TYPES, SEED_GENS,
                                    USE_EXISTING, FreeInit, NoiseLayer, NoiseSettings)
from .types import CFGSchedule, FreeInitOptions, SigmaScheduleType, NoiseLayers, SAMPLING, SampleSettings as SampleSettingsType

NOISE = f"{SAMPLING}/noise"
MAX_SEED = 0xFFFFFFFFFFFFFFFF
BIG = 2 ** 53 - 1  # offsets: what the frontend holds exactly
NOISE_TYPE_TOOLTIP = ("default: the sampler's noise; constant: one noise frame for every frame (static "
                      "start); empty: no noise; repeated context: the first window's noise repeated; FreeNoise: "
                      "related noise across context windows, never the same frame twice in a window (needs "
                      "Context Options); FreeNoise (AnimateDiff-Evolved): AnimateDiff-Evolved's FreeNoise frame for frame (a "
                      "window can hold a noise frame twice), for converted workflows. The last three need context "
                      "windows; without them the noise stays as drawn.")
SEED_GEN_TOOLTIP = ("comfy: the whole video from one generator, as ComfyUI draws; auto1111: frame i from seed + i, "
                    "as Automatic1111 draws batches. [gpu]: on the GPU's generator (other numbers than the CPU's).")
BATCH_OFFSET_TOOLTIP = "Skip this many frames of the draw: frame 0 gets the noise frame batch_offset would have."
SEED_OFFSET_TOOLTIP = "Added to the seed."
SEED_OVERRIDE_TOOLTIP = ("Optional: a seed used instead of the sampler's for the noise drawn here (with every "
                         "other setting at its default the sampler's noise is kept and only noise layers use it, as "
                         "in AnimateDiff-Evolved), or one seed per frame from a node giving a list (always drawn).")


def _override(value):
    if value is None:
        return None
    return tuple(int(v) for v in value) if isinstance(value, (list, tuple)) else int(value)


class SampleSettingsNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_SampleSettings",
            display_name="Sample Settings (Lightning)",
            category=NOISE,
            description="How the video's initial noise is drawn (and FreeInit). Connect to Apply Motion Module's "
                        "sample_settings; every sampler of that model then starts from this noise. With the "
                        "defaults the sampler's noise is left as it is.",
            inputs=[
                io.Combo.Input("noise_type", options=list(NOISE_TYPES), default="default", tooltip=NOISE_TYPE_TOOLTIP),
                io.Combo.Input("seed_gen", options=list(SEED_GENS), default="comfy", tooltip=SEED_GEN_TOOLTIP),
                io.Int.Input("seed_offset", default=0, min=-BIG, max=BIG, tooltip=SEED_OFFSET_TOOLTIP),
                io.Int.Input("batch_offset", default=0, min=0, max=BIG, tooltip=BATCH_OFFSET_TOOLTIP),
                NoiseLayers.Input("noise_layers", optional=True,
                                  tooltip="Optional: more noise mixed in after this (Noise Layer nodes)."),
                FreeInitOptions.Input("freeinit", optional=True,
                                      tooltip="Optional: FreeInit iterations (FreeInit (Lightning)); each one "
                                              "more sampling run."),
                io.Int.Input("seed_override", optional=True, min=0, max=MAX_SEED, force_input=True,
                             tooltip=SEED_OVERRIDE_TOOLTIP),
                CFGSchedule.Input("custom_cfg", optional=True,
                                  tooltip="Optional CFG keyframes (CFG Keyframe (Lightning)): a cfg that changes "
                                          "over the steps, per frame or per region, instead of the sampler's."),
                SigmaScheduleType.Input("sigma_schedule", optional=True,
                                        tooltip="Optional Sigma Schedule: the noise levels to sample on; it "
                                                "replaces Apply Motion Module's beta_schedule."),
            ],
            outputs=[SampleSettingsType.Output(display_name="SAMPLE_SETTINGS",
                                               tooltip="Connect to Apply Motion Module's sample_settings.")],
        )

    @classmethod
    def execute(cls, noise_type, seed_gen, seed_offset, batch_offset, noise_layers=None, freeinit=None,
                seed_override=None, custom_cfg=None, sigma_schedule=None) -> io.NodeOutput:
        noise = NoiseSettings(noise_type, seed_gen, seed_offset, batch_offset, _override(seed_override),
                              tuple(noise_layers or ()))
        return io.NodeOutput(SampleSettings(noise, freeinit, tuple(custom_cfg or ()), sigma_schedule))


class NoiseLayerNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_NoiseLayer",
            display_name="Noise Layer (Lightning)",
            category=NOISE,
            description="Draws more noise and mixes it into the noise so far (optionally only inside a mask).",
            inputs=[
                io.Combo.Input("application", options=list(APPLICATIONS), default="add",
                               tooltip="add: old + weight·new; add weighted: old·(1 − weight·balance) + "
                                       "weight·new; normalized sum: (1 − weight)·old + weight·new at unit "
                                       "variance; replace: new (weight unused)."),
                io.Combo.Input("noise_type", options=list(NOISE_TYPES), default="default", tooltip=NOISE_TYPE_TOOLTIP),
                io.Combo.Input("seed_gen", options=[USE_EXISTING, *SEED_GENS], default=USE_EXISTING,
                               tooltip="use existing: the Sample Settings' generator. " + SEED_GEN_TOOLTIP),
                io.Int.Input("seed_offset", default=0, min=-BIG, max=BIG,
                             tooltip="Added to the settings' seed (after their seed_offset)."),
                io.Int.Input("batch_offset", default=0, min=0, max=BIG, tooltip=BATCH_OFFSET_TOOLTIP),
                io.Float.Input("weight", default=0.5, min=0.0, max=10.0, step=0.001,
                               tooltip="How much of the new noise (see application)."),
                io.Float.Input("balance", default=1.0, min=0.0, max=10.0, step=0.001,
                               tooltip="add weighted only: how much of the old noise the new one takes away."),
                NoiseLayers.Input("previous", optional=True, tooltip="Earlier layers (they mix in first)."),
                io.Mask.Input("mask", optional=True,
                              tooltip="Optional: where the layer acts (white); one mask or one per frame."),
                io.Int.Input("seed_override", optional=True, min=0, max=MAX_SEED, force_input=True,
                             tooltip=SEED_OVERRIDE_TOOLTIP),
            ],
            outputs=[NoiseLayers.Output(display_name="NOISE_LAYERS",
                                        tooltip="Connect to Sample Settings' noise_layers, or the next layer.")],
        )

    @classmethod
    def execute(cls, application, noise_type, seed_gen, seed_offset, batch_offset, weight, balance, previous=None,
                mask=None, seed_override=None) -> io.NodeOutput:
        layer = NoiseLayer(application, noise_type, seed_gen, seed_offset, batch_offset, weight, balance,
                           _override(seed_override), mask)
        return io.NodeOutput(tuple(previous or ()) + (layer,))


class FreeInitNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_FreeInit",
            display_name="FreeInit (Lightning)",
            category=NOISE,
            description="FreeInit (Wu et al. 2023): sample, noise the result back, keep its low frequencies, "
                        "sample again. Steadier motion at iterations × the time.",
            inputs=[
                io.Int.Input("iterations", default=2, min=1, max=100,
                             tooltip="Sampling runs in all (1 = no FreeInit unless apply_to_first)."),
                io.Combo.Input("filter", options=list(FREEINIT_FILTERS), default="gaussian",
                               tooltip="The low-pass filter that decides which frequencies are kept."),
                io.Float.Input("d_s", default=0.25, min=0.0, max=1.0, step=0.001,
                               tooltip="Spatial stop frequency (0–1): higher keeps more detail of the last run."),
                io.Float.Input("d_t", default=0.25, min=0.0, max=1.0, step=0.001,
                               tooltip="Temporal stop frequency (0–1): higher keeps more of the last run's motion."),
                io.Int.Input("n_butterworth", default=4, min=1, max=100,
                             tooltip="Butterworth filter order (larger: sharper cut)."),
                io.Int.Input("sigma_step", default=999, min=1, max=999,
                             tooltip="The timestep the result is noised back to (999 = fully)."),
                io.Boolean.Input("apply_to_first", default=False,
                                 tooltip="Also re-noise before the first run (from the input latents)."),
                io.Combo.Input("method", options=list(FREEINIT_METHODS), default=FREEINIT_METHODS[0],
                               tooltip="FreeInit [sampler sigma] and [model sigma]: the paper's re-noising "
                                       "(the same here); DinkInit_v1: AnimateDiff-Evolved's first variant."),
                io.Int.Input("iter_batch_offset", default=0, min=0, max=BIG,
                             tooltip="batch_offset added per iteration for the fresh noise."),
                io.Int.Input("iter_seed_offset", default=1, min=-BIG, max=BIG,
                             tooltip="seed_offset added per iteration for the fresh noise."),
            ],
            outputs=[FreeInitOptions.Output(display_name="FREEINIT",
                                            tooltip="Connect to Sample Settings' freeinit.")],
        )

    @classmethod
    def execute(cls, iterations, filter, d_s, d_t, n_butterworth, sigma_step, apply_to_first, method,
                iter_batch_offset, iter_seed_offset) -> io.NodeOutput:
        return io.NodeOutput(FreeInit(iterations, filter, d_s, d_t, n_butterworth, sigma_step, apply_to_first,
                                      method, iter_batch_offset, iter_seed_offset))
