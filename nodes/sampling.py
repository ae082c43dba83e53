"""Lightning's scheduler and sampler for core SamplerCustom, and a one-node sampler."""
from comfy_api.latest import io

from ..glue.sampling import euler_sampler, model_sigmas, sample_lightning
from ..glue.schedules import BETA_SCHEDULES, INTERPOLATIONS, SigmaSchedule, with_beta_schedule
from .types import SAMPLING, SigmaScheduleType

STEPS_TOOLTIP = ("Sampling steps. 0 = the count the motion module was distilled for (4 when unknown). "
                 "Lightning runs 1, 2, 4 or 8 steps; 3 steps work well on the 2-step model.")
DENOISE_TOOLTIP = ("1.0 for text-to-video. Below 1 (video-to-video) it keeps the trained timesteps and runs "
                   "their tail: 4 steps at 0.75 run t = 749, 499, 249.")


class LightningScheduler(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_LightningScheduler",
            display_name="Lightning Scheduler",
            category=SAMPLING,
            description="Sigmas at the trailing timesteps Lightning was distilled on (e.g. 999, 749, 499, 249).",
            inputs=[
                io.Model.Input("model", tooltip="The model the sigmas are for (its noise schedule is used)."),
                io.Int.Input("steps", default=0, min=0, max=100, tooltip=STEPS_TOOLTIP),
                io.Float.Input("denoise", default=1.0, min=0.0, max=1.0, step=0.01, tooltip=DENOISE_TOOLTIP),
            ],
            outputs=[io.Sigmas.Output(tooltip="Noise levels for SamplerCustom / SamplerCustomAdvanced.")],
        )

    @classmethod
    def execute(cls, model, steps, denoise) -> io.NodeOutput:
        return io.NodeOutput(model_sigmas(model, steps, denoise))


class LightningSampler(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_LightningSampler",
            display_name="Lightning Sampler (Euler)",
            category=SAMPLING,
            description="Euler without noise injection, the sampler Lightning was distilled for.",
            inputs=[],
            outputs=[io.Sampler.Output(tooltip="Connect to SamplerCustom / SamplerCustomAdvanced.")],
        )

    @classmethod
    def execute(cls) -> io.NodeOutput:
        return io.NodeOutput(euler_sampler())


class SampleLightning(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_SampleLightning",
            display_name="Sample Lightning",
            category=SAMPLING,
            description="Few-step video sampling in one node: Euler on Lightning's trained timesteps.",
            inputs=[
                io.Model.Input("model", tooltip="A model with a motion module applied."),
                io.Conditioning.Input("positive", tooltip="What the video should show."),
                io.Conditioning.Input("negative", tooltip="Used only when cfg > 1."),
                io.Latent.Input("latent_image", tooltip="The frames: a latent batch of 16 for a 16-frame video."),
                io.Int.Input("seed", default=0, min=0, max=0xFFFFFFFFFFFFFFFF, control_after_generate=True,
                             tooltip="Noise seed."),
                io.Int.Input("steps", default=0, min=0, max=100, tooltip=STEPS_TOOLTIP),
                io.Float.Input("cfg", default=1.0, min=0.0, max=30.0, step=0.1, round=0.01,
                               tooltip="1.0 as distilled (one pass per step, negative unused). Some base models "
                                       "do better slightly above 1, at twice the cost per step."),
                io.Float.Input("denoise", default=1.0, min=0.0, max=1.0, step=0.01, tooltip=DENOISE_TOOLTIP),
            ],
            outputs=[io.Latent.Output(tooltip="The denoised frames; decode with VAE Decode.")],
        )

    @classmethod
    def execute(cls, model, positive, negative, latent_image, seed, steps, cfg, denoise) -> io.NodeOutput:
        return io.NodeOutput(sample_lightning(model, positive, negative, latent_image, seed, steps, cfg, denoise))


class SigmaScheduleNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_SigmaSchedule",
            display_name="Sigma Schedule (Lightning)",
            category=SAMPLING,
            description="Noise levels to sample on instead of the model's (Apply Motion Module's beta_schedule): a "
                        "beta schedule, optionally rescaled to zero terminal SNR and blended with another. "
                        "Connect to Sample Settings' sigma_schedule.",
            inputs=[
                io.Combo.Input("beta_schedule", options=list(BETA_SCHEDULES), default="sqrt_linear",
                               tooltip="sqrt_linear: AnimateDiff's (and Lightning's) own; linear: SD1.5's; lcm "
                                       "ones: distilled LCM sampling (50 levels unless named); the rest are core's "
                                       "beta formulas on SD1.5's range."),
                io.Boolean.Input("zsnr", default=False,
                                 tooltip="Rescale to zero terminal SNR (the last level pure noise)."),
                SigmaScheduleType.Input("blend_with", optional=True,
                                        tooltip="Optional: another Sigma Schedule to blend with (same number of "
                                                "levels: two lcm ones, or two of the others)."),
                io.Float.Input("weight_start", default=0.5, min=0.0, max=1.0, step=0.001, optional=True,
                               tooltip="With blend_with: this schedule's weight at the largest σ (the first steps)."),
                io.Float.Input("weight_end", default=0.5, min=0.0, max=1.0, step=0.001, optional=True,
                               tooltip="With blend_with: this schedule's weight at the smallest σ (the last steps)."),
                io.Combo.Input("interpolation", options=list(INTERPOLATIONS), default="linear", optional=True,
                               tooltip="With blend_with: how the weight goes from weight_start to weight_end."),
            ],
            outputs=[SigmaScheduleType.Output(display_name="SIGMA_SCHEDULE",
                                              tooltip="Connect to Sample Settings' sigma_schedule, or to "
                                                      "another Sigma Schedule's blend_with.")],
        )

    @classmethod
    def execute(cls, beta_schedule, zsnr, blend_with=None, weight_start=0.5, weight_end=0.5,
                interpolation="linear") -> io.NodeOutput:
        return io.NodeOutput(SigmaSchedule(beta_schedule, zsnr, blend_with, weight_start, weight_end, interpolation))


class BetaScheduleNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="ADL_BetaSchedule",
            display_name="Beta Schedule (Lightning)",
            category=SAMPLING,
            description="Puts an SD1.5 model on another noise schedule (its betas), with or without a motion "
                        "module: AnimateDiff-Evolved's checkpoint loader with a beta_schedule.",
            inputs=[
                io.Model.Input("model", tooltip="An SD1.5 model."),
                io.Combo.Input("beta_schedule", options=list(BETA_SCHEDULES), default="sqrt_linear",
                               tooltip="sqrt_linear: AnimateDiff's (and Lightning's) own; linear: SD1.5's; lcm "
                                       "ones: distilled LCM sampling (50 levels unless named); the rest are core's "
                                       "beta formulas on SD1.5's range. Apply Motion Module's beta_schedule "
                                       "replaces it unless set to keep the model's schedule."),
            ],
            outputs=[io.Model.Output(tooltip="The model on that schedule; the input model is unchanged.")],
        )

    @classmethod
    def execute(cls, model, beta_schedule) -> io.NodeOutput:
        return io.NodeOutput(with_beta_schedule(model, beta_schedule))
