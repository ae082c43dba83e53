"""The list of every ComfyUI internal the pack touches and why (the data ``host_surface.py`` checks).

Each entry names a symbol, what the pack relies on it for, the nodes that need it, and what can be checked of it:
the positional and keyword arguments the pack passes, and source texts it relies on (see ``host_surface.py``).
"""
from __future__ import annotations

from dataclasses import dataclass

API = "comfy_api.latest"

# node ids (nodes/*.py), grouped by what they need from the host
LOAD, LORA, APPLY = "ADL_LoadMotionModule", "ADL_LoadMotionLoRA", "ADL_ApplyMotionModule"
SCHEDULER, SAMPLER, SAMPLE = "ADL_LightningScheduler", "ADL_LightningSampler", "ADL_SampleLightning"
CONTEXT, TRAVEL = "ADL_ContextOptions", "ADL_PromptTravel"
VALUE, KEYFRAME = "ADL_MotionValue", "ADL_MotionKeyframe"
LOAD_VIDEO, SAVE_VIDEO, CONSISTENCY, DOWNLOAD = ("ADL_LoadVideo", "ADL_SaveVideo", "ADL_VideoConsistency",
                                                  "ADL_DownloadModels")
ADJUST_POSITIONS, ADJUST_WEIGHTS = "ADL_AdjustPositions", "ADL_AdjustWeights"
SAMPLE_SETTINGS, NOISE_LAYER, FREEINIT, CFG_KEYFRAME = ("ADL_SampleSettings", "ADL_NoiseLayer", "ADL_FreeInit",
                                                       "ADL_CFGKeyframe")
SIGMA_SCHEDULE, BETA_SCHEDULE = "ADL_SigmaSchedule", "ADL_BetaSchedule"
LOAD_IMAGES = "ADL_LoadImages"
SELECT_NTH = "ADL_SelectEveryNthImage"
LOAD_SPARSE, APPLY_SPARSE = "ADL_LoadSparseCtrl", "ADL_ApplySparseCtrl"
CN_WEIGHTS, CN_KEYFRAME, CN_CONTROLS = "ADL_ControlNetWeights", "ADL_ControlNetKeyframe", "ADL_ControlNetControls"
ALL = (LOAD, LORA, APPLY, VALUE, KEYFRAME, SCHEDULER, SAMPLER, SAMPLE, CONTEXT, TRAVEL, LOAD_VIDEO, SAVE_VIDEO,
       CONSISTENCY, DOWNLOAD, ADJUST_POSITIONS, ADJUST_WEIGHTS, SAMPLE_SETTINGS, NOISE_LAYER, FREEINIT,
       CFG_KEYFRAME, SIGMA_SCHEDULE, LOAD_SPARSE, APPLY_SPARSE, CN_WEIGHTS, CN_KEYFRAME, CN_CONTROLS, LOAD_IMAGES,
       SELECT_NTH, BETA_SCHEDULE)
BETAS = (APPLY, BETA_SCHEDULE)  # put a model on a beta schedule (glue/schedules.py)
CN = (CN_CONTROLS,)  # the node that attaches the controls (glue/controls.py)
SPARSE = (LOAD_SPARSE, APPLY_SPARSE)
MOTION = (LOAD, LORA, APPLY, SCHEDULER, SAMPLE, CONTEXT)  # everything that builds or runs the motion module
# A MODEL carrying the motion module is sampled by core samplers too; APPLY stands for those runs.
RUNS = (APPLY, SAMPLE, CONTEXT)


@dataclass(frozen=True)
class Internal:
    symbol: str  # module.path.Attribute.path
    why: str
    nodes: tuple[str, ...] = ALL
    args: int = 0  # positional arguments the pack passes (after self)
    kwargs: tuple[str, ...] = ()  # keyword arguments the pack passes
    overrides: tuple[str, ...] | None = None  # the exact parameters (after self) of a method the pack overrides
    source: tuple[str, ...] = ()  # texts that must appear in the host's source of this symbol


def _io(name: str, why: str, kwargs: tuple[str, ...] = (), nodes=ALL) -> Internal:
    return Internal(f"{API}.io.{name}", why, nodes, args=1 if name.endswith(".Input") else 0, kwargs=kwargs)


_INPUT = ("tooltip", "optional", "default")
_NUMBER = (*_INPUT, "min", "max", "step")
_OUTPUT = ("display_name", "tooltip")
_SOCKET = ("tooltip", "optional")

SURFACE: tuple[Internal, ...] = (
    # --- V3 node schema (nodes/) -------------------------------------------------------------------------
    Internal(f"{API}.ComfyExtension.get_node_list", "the extension lists the nodes (__init__.comfy_entrypoint)"),
    Internal(f"{API}.io.ComfyNode", "base class of every node"),
    _io("Schema", "each node's schema", ("node_id", "display_name", "category", "description", "inputs",
                                        "outputs", "hidden", "is_output_node")),
    Internal(f"{API}.io.NodeOutput", "node results (up to 5), with a UI payload", args=5, kwargs=("ui",)),
    _io("Combo.Input", "file lists and choices", (*_INPUT, "options", "upload")),
    _io("Int.Input", "integer widgets; the seed's control_after_generate; seed overrides as sockets only",
        (*_NUMBER, "control_after_generate", "force_input")),
    _io("Float.Input", "float widgets", (*_NUMBER, "round")),
    _io("String.Input", "text widgets", (*_INPUT, "multiline")),
    _io("Boolean.Input", "switches", _INPUT),
    _io("Model.Input", "MODEL inputs", _SOCKET),
    _io("Clip.Input", "CLIP input of Prompt Travel", _SOCKET),
    _io("Image.Input", "IMAGE inputs", _SOCKET),
    _io("Mask.Input", "Motion Value's and the ControlNet controls' masks", _SOCKET,
        nodes=(VALUE, CN_KEYFRAME, CN_CONTROLS)),
    _io("Mask.Output", "Load Images' mask", _OUTPUT, nodes=(LOAD_IMAGES,)),
    _io("Audio.Input", "AUDIO input of Save Video", _SOCKET),
    _io("Video.Input", "VIDEO input of Load Video", _SOCKET),
    _io("Latent.Input", "latent input of Sample Lightning", _SOCKET),
    _io("Conditioning.Input", "prompts of Sample Lightning and Apply SparseCtrl", _SOCKET),
    _io("ControlNet.Input", "Apply SparseCtrl's and ControlNet Controls' control_net", _SOCKET,
        nodes=SPARSE + CN),
    _io("Vae.Input", "Apply SparseCtrl's vae (RGB hints)", _SOCKET, nodes=SPARSE),
    *(_io(f"{kind}.Output", f"{kind} outputs", _OUTPUT) for kind in (
        "Audio", "Conditioning", "ControlNet", "Float", "Image", "Int", "Latent", "Model", "Sampler", "Sigmas",
        "String", "Video")),
    Internal(f"{API}.io.Custom", "the MOTION_MODULE socket type (its Input/Output take the socket keywords)",
             args=1),
    _io("Hidden.prompt", "Save Video embeds the prompt", nodes=(SAVE_VIDEO,)),
    _io("Hidden.extra_pnginfo", "Save Video embeds the workflow", nodes=(SAVE_VIDEO,)),
    _io("FolderType.output", "Save Video's preview entry", nodes=(SAVE_VIDEO,)),
    _io("UploadType.video", "Load Video's upload button", nodes=(LOAD_VIDEO,)),
    Internal(f"{API}.ui.PreviewText", "loaders show what they loaded", (LOAD, LORA, DOWNLOAD, LOAD_SPARSE), args=1),
    Internal(f"{API}.ui.PreviewVideo", "Save Video's playing preview", (SAVE_VIDEO,), args=1),
    Internal(f"{API}.ui.SavedResult", "Save Video's preview entry", (SAVE_VIDEO,), args=3),
    Internal(f"{API}.ui.PreviewImage", "Video Consistency's plot", (CONSISTENCY,), args=1, kwargs=("cls",)),
    Internal(f"{API}.InputImpl.VideoFromComponents", "Load Video's VIDEO output", (LOAD_VIDEO,), args=1),
    Internal(f"{API}.InputImpl.VideoFromFile", "Save Video's VIDEO output; a connected VIDEO is read",
             (LOAD_VIDEO, SAVE_VIDEO), args=1),
    Internal(f"{API}.InputImpl.VideoFromFile.get_components", "a VIDEO with pending trim/crop gives its frames",
             (LOAD_VIDEO,)),
    Internal(f"{API}.InputImpl.VideoFromFile.get_stream_source", "an unedited VIDEO file is decoded as a stream "
             "(one with pending trim/crop goes through get_components: has_pending_frame_edits() in newer "
             "ComfyUI, get_active_trim_window() in 0.33, neither in 0.3.75; read with getattr, so not listed)",
             (LOAD_VIDEO,)),
    Internal(f"{API}.Types.VideoComponents", "Load Video's VIDEO output", (LOAD_VIDEO,),
             kwargs=("images", "audio", "frame_rate")),

    # --- the motion module in the UNet (glue/injection.py) ----------------------------------------------
    Internal("comfy.model_patcher.ModelPatcher", "the motion module rides as its own ModelPatcher",
             MOTION, args=1, kwargs=("load_device", "offload_device")),
    Internal("comfy.model_patcher.ModelPatcher.clone", "apply never changes the input MODEL",
             (*MOTION, BETA_SCHEDULE)),
    Internal("comfy.model_patcher.ModelPatcher.set_additional_models", "ComfyUI loads/offloads the module "
             "with the UNet", RUNS, args=2),
    Internal("comfy.model_patcher.ModelPatcher.get_additional_models_with_key", "inject finds the module", RUNS,
             args=1),
    Internal("comfy.model_patcher.ModelPatcher.set_injections", "slots go in on patch, out on unpatch", RUNS,
             args=2),
    Internal("comfy.patcher_extension.PatcherInjection", "inject/eject pair", RUNS, args=2),
    Internal("comfy.model_patcher.ModelPatcher.set_model_forward_timestep_embed_patch",
             "the UNet hands our slot to our handler", RUNS, args=1),
    Internal("comfy.ldm.modules.diffusionmodules.openaimodel.forward_timestep_embed",
             "runs unknown layers through transformer_options patches, handing them transformer_options", RUNS,
             source=('"forward_timestep_embed_patch"', "transformer_options")),
    Internal("comfy.ldm.modules.diffusionmodules.openaimodel.ResBlock", "finds each block's width", RUNS,
             source=("self.out_channels",)),
    Internal("comfy.ldm.modules.diffusionmodules.openaimodel.Upsample", "slots go before the upsampler", RUNS),
    Internal("comfy.ldm.modules.attention.optimized_attention", "temporal attention on ComfyUI's backend", RUNS,
             args=4),
    Internal("comfy.ldm.modules.attention.attention_pytorch", "temporal attention on a CPU (short sequences)",
             RUNS, args=4),
    Internal("comfy.model_patcher.ModelPatcher.add_wrapper_with_key", "checks and FreeNoise before sampling",
             RUNS, args=3),
    Internal("comfy.model_patcher.ModelPatcher.remove_wrappers_with_key", "never two of our wrappers", RUNS,
             args=2),
    Internal("comfy.patcher_extension.WrappersMP.OUTER_SAMPLE", "our wrappers' hook", RUNS),
    Internal("comfy.patcher_extension.WrappersMP.PREDICT_NOISE", "CFG keyframes set each step's cfg", (APPLY,)),
    Internal("comfy.samplers.CFGGuider.predict_noise", "PREDICT_NOISE wrappers get x, timestep, model_options, seed; "
             "the step's cfg is the guider's cfg", (APPLY,), args=4, source=("self.cfg",)),
    Internal("comfy.samplers.cfg_function", "a tensor cfg goes through sampler_cfg_function (args cond, uncond, "
             "cond_scale)", (APPLY,), source=("sampler_cfg_function", "cond_scale")),
    Internal("comfy.samplers.sampling_function", "cfg exactly 1 skips the negative unless "
             "disable_cfg1_optimization", (APPLY,), source=("disable_cfg1_optimization",)),
    Internal("comfy.model_sampling.rescale_zero_terminal_snr_sigmas", "a Sigma Schedule's zsnr", (APPLY,), args=1),
    Internal("comfy.latent_formats.SD15.scale_factor", "FreeInit re-noises latents in the model's latent scale",
             (APPLY,)),
    Internal("comfy.patcher_extension.WrappersMP.APPLY_MODEL", "motion controls: the step's scale and effect",
             RUNS),
    Internal("comfy.model_base.BaseModel.apply_model", "APPLY_MODEL wrappers get x, t (σ), c_concat, "
             "c_crossattn, control, transformer_options", RUNS, args=6,
             source=("WrappersMP.APPLY_MODEL", "transformer_options")),
    Internal("comfy.samplers.CFGGuider.outer_sample", "OUTER_SAMPLE wrappers get these arguments, in order "
             "(unknown ones are passed through)", RUNS, args=8),
    Internal("comfy.model_patcher.ModelPatcher.set_attachments", "a MODEL says which module it carries", RUNS,
             args=2),
    Internal("comfy.model_patcher.ModelPatcher.get_attachment", "steps 0 = the module's own", RUNS, args=1),
    Internal("comfy.model_patcher.ModelPatcher.add_object_patch", "AnimateDiff's betas on the clone only",
             (*RUNS, BETA_SCHEDULE), args=2),
    Internal("comfy.model_patcher.ModelPatcher.get_model_object", "reads the model's noise schedule",
             (APPLY, SCHEDULER, SAMPLE, BETA_SCHEDULE), args=1),
    Internal("comfy.model_patcher.ModelPatcher.add_patches", "Motion LoRA as weight patches", (LORA,), args=1,
             kwargs=("strength_patch",)),
    Internal("comfy.weight_adapter.LoRAAdapter", "Motion LoRA patches", (LORA,), args=2),
    Internal("comfy.model_management.unet_manual_cast", "cast only where ComfyUI would cast the UNet", MOTION,
             args=3),
    Internal("comfy.ops.disable_weight_init.Linear", "motion module layers where no cast is needed", MOTION, args=2,
             kwargs=("bias",)),
    Internal("comfy.ops.disable_weight_init.LayerNorm", "motion module norms", MOTION, args=1),
    Internal("comfy.ops.disable_weight_init.GroupNorm", "motion module norms", MOTION, args=2, kwargs=("eps",)),
    Internal("comfy.ops.manual_cast.Linear", "motion module layers cast like the UNet's", MOTION, args=2,
             kwargs=("bias",)),
    Internal("comfy.ops.manual_cast.LayerNorm", "motion module norms", MOTION, args=1),
    Internal("comfy.ops.manual_cast.GroupNorm", "motion module norms", MOTION, args=2, kwargs=("eps",)),
    Internal("comfy.model_management.get_torch_device", "where the module runs", MOTION),
    Internal("comfy.model_management.unet_dtype", "the module is kept in the dtype ComfyUI picks for an SD1.5 UNet",
             MOTION, kwargs=("model_params", "supported_dtypes", "weight_dtype")),
    Internal("comfy.supported_models.SD15.supported_inference_dtypes", "the dtypes an SD1.5 UNet may run in", MOTION),
    Internal("comfy.model_management.unet_offload_device", "where the module waits", MOTION),

    # --- SparseCtrl (glue/sparsectrl.py, nodes/sparsectrl.py) ----------------------------------------------
    Internal("comfy.controlnet.ControlNet", "SparseCtrl is a core ControlNet (strength, start/end percent, "
             "chaining, memory, VAE-encoded hints)", SPARSE, args=1,
             kwargs=("compression_ratio", "latent_format", "load_device", "manual_cast_dtype"),
             source=("self.control_model_wrapped", "self.model_sampling_current")),
    Internal("comfy.controlnet.ControlNet.get_control", "overridden: hints on their frames + the mask", SPARSE,
             overrides=("x_noisy", "t", "cond", "batched_number", "transformer_options")),
    Internal("comfy.controlnet.ControlNet.copy", "overridden: our settings travel with each copy", SPARSE,
             overrides=()),
    Internal("comfy.controlnet.ControlBase.copy_to", "copies core's settings (vae, strength, range, …)", SPARSE,
             args=1),
    Internal("comfy.controlnet.ControlBase.control_merge", "strength and chaining as core ControlNets", SPARSE,
             args=3),
    Internal("comfy.controlnet.ControlBase.set_cond_hint", "core's apply node hands the hints, strength, range and "
             "VAE", SPARSE, args=3, kwargs=("vae",)),
    Internal("comfy.controlnet.broadcast_image_to", "hints for each cond/uncond of the batch", SPARSE, args=3),
    Internal("comfy.cldm.cldm.ControlNet", "SparseCtrl's spatial encoder", SPARSE,
             kwargs=("image_size", "in_channels", "model_channels", "num_res_blocks", "hint_channels", "operations",
                     "dtype", "device"),
             source=("self.input_hint_block", "self.zero_convs", "self.middle_block_out")),
    Internal("comfy.ldm.modules.diffusionmodules.openaimodel.TimestepEmbedSequential", "RGB's one-convolution "
             "hint embedding", SPARSE, args=1),
    Internal("comfy.ldm.modules.diffusionmodules.openaimodel.forward_timestep_embed", "an unknown layer (SparseCtrl's "
             "motion module) without patches runs as layer(x)", SPARSE, source=("x = layer(x)",)),
    Internal("comfy.model_detection.unet_config_from_diffusers_unet", "SparseCtrl's ControlNet configuration from "
             "its diffusers names", SPARSE, args=2),
    Internal("comfy.utils.unet_to_diffusers", "diffusers -> core names of its ControlNet", SPARSE, args=1),
    Internal("comfy.utils.common_upscale", "hints resized as core resizes them", SPARSE, args=5),
    Internal("comfy.latent_formats.SD15.process_in", "RGB hints in the model's latent scale", SPARSE, args=1),
    Internal("comfy.model_management.loaded_models", "the models in use stay loaded around the VAE encode",
             SPARSE, kwargs=("only_currently_used",)),
    Internal("comfy.model_management.load_models_gpu", "...and are loaded back", SPARSE, args=1),
    Internal("comfy.model_management.cast_to_device", "the prompt in the ControlNet's dtype", SPARSE, args=3),
    Internal("nodes.ControlNetApplyAdvanced.apply_controlnet", "Apply SparseCtrl attaches the hints as core's "
             "Apply ControlNet does", (APPLY_SPARSE,), args=7, kwargs=("vae",)),

    # --- ControlNet controls (glue/controls.py, nodes/controls.py) -------------------------------------
    Internal("comfy.controlnet.ControlBase", "a controlled ControlNet is a subclass of its own core class, for "
             "that copy only", CN, source=("self.previous_controlnet", "self.strength", "self.timestep_range")),
    Internal("comfy.controlnet.ControlBase.pre_run", "overridden: the keyframes' start sigmas", CN,
             overrides=("model", "percent_to_timestep_function")),
    Internal("comfy.controlnet.ControlBase.cleanup", "overridden: the keyframe state is reset after a run", CN,
             overrides=()),
    Internal("comfy.controlnet.ControlBase.control_merge", "overridden: per-frame strengths, masks, weights and "
             "the keyframe's strength scale the ControlNet's own outputs before core applies strength", CN,
             overrides=("control", "control_prev", "output_dtype")),
    Internal("comfy.controlnet.ControlNet.get_control", "overridden: the step's keyframe; ends in control_merge",
             CN, overrides=("x_noisy", "t", "cond", "batched_number", "transformer_options"),
             source=("self.control_merge(",)),
    Internal("comfy.controlnet.T2IAdapter.get_control", "overridden as for ControlNets; ends in control_merge", CN,
             overrides=("x_noisy", "t", "cond", "batched_number", "transformer_options"),
             source=("self.control_merge(",)),
    Internal("comfy.controlnet.ControlNet.copy", "overridden: the controls travel with each copy", CN, overrides=()),
    Internal("comfy.controlnet.T2IAdapter.copy", "overridden: the controls travel with each copy", CN, overrides=()),
    Internal("comfy.samplers.CFGGuider.inner_sample", "the run's sigmas reach the ControlNet as "
             "transformer_options['sample_sigmas'] (a keyframe starting before them guarantees no steps)", CN,
             source=('"sample_sigmas"',)),
    Internal("comfy.samplers._calc_cond_batch", "which part of the batch is the negative prompt (the weights' "
             "uncond_multiplier)", CN, source=('transformer_options["cond_or_uncond"]',)),

    # --- schedules and sampling (glue/schedules.py, glue/sampling.py) -----------------------------------
    Internal("comfy.model_sampling.ModelSamplingDiscrete", "AnimateDiff's betas", BETAS,
             kwargs=("model_config",)),
    Internal("comfy.model_sampling.ModelSamplingDiscrete._register_schedule", "AnimateDiff's betas (sqrt_linear)",
             BETAS, kwargs=("given_betas", "beta_schedule", "timesteps", "linear_start", "linear_end"),
             source=("make_beta_schedule", "self.num_timesteps")),
    Internal("comfy.ldm.modules.diffusionmodules.util.make_beta_schedule", "sqrt_linear = linspace(β₀, β₁)",
             BETAS, args=2, kwargs=("linear_start", "linear_end"),
             source=('"sqrt_linear"', "torch.linspace(linear_start, linear_end, n_timestep")),
    Internal("comfy.model_sampling.ModelSamplingDiscrete.set_sigmas", "the averaged beta schedules", BETAS,
             args=1),
    Internal("comfy.model_sampling.ModelSamplingDiscrete.percent_to_sigma", "motion keyframes' and start/end "
             "percent's noise levels", (APPLY,), args=1),
    Internal("comfy_extras.nodes_model_advanced.ModelSamplingDiscreteDistilled", "the lcm beta schedules",
             BETAS, source=("original_timesteps", "skip_steps")),
    Internal("comfy_extras.nodes_model_advanced.LCM", "the lcm beta schedules' prediction", BETAS,
             source=("calculate_denoised",)),
    Internal("comfy.samplers.sampler_object", "plain Euler", (SAMPLER, SAMPLE), args=1),
    Internal("comfy.sample.fix_empty_latent_channels", "Sample Lightning as KSampler does", (SAMPLE,), args=2),
    Internal("comfy.sample.prepare_noise", "the same noise as KSampler for a seed", (SAMPLE,), args=3),
    Internal("comfy.sample.sample_custom", "Sample Lightning runs core's sampling", (SAMPLE,), args=8,
             kwargs=("noise_mask", "callback", "disable_pbar", "seed")),
    Internal("latent_preview.prepare_callback", "live previews and progress", (SAMPLE,), args=2),
    Internal("comfy.utils.PROGRESS_BAR_ENABLED", "progress bar on/off as the host says", (SAMPLE,)),
    Internal("comfy.utils.ProgressBar.update_absolute", "progress of loading, saving, consistency",
             (LOAD_VIDEO, SAVE_VIDEO, CONSISTENCY, LOAD_IMAGES), args=2),
    Internal("comfy.model_management.throw_exception_if_processing_interrupted", "Cancel stops long loops",
             (LOAD_VIDEO, SAVE_VIDEO, CONSISTENCY, LOAD_IMAGES)),

    # --- context windows (glue/context.py, glue/checks.py) ----------------------------------------------
    Internal("comfy.context_windows.IndexListContextHandler", "our handler extends core's",
             (CONTEXT, APPLY), args=2,
             kwargs=("context_length", "context_overlap", "context_stride", "closed_loop", "dim"),
             source=("self.context_length", "self.context_overlap", "self.callbacks")),
    Internal("comfy.context_windows.IndexListContextHandler.set_step", "overridden: the step from the first "
             "frame's timestep", (CONTEXT, APPLY), overrides=("timestep", "model_options"),
             source=('"sample_sigmas"',)),
    Internal("comfy.context_windows.IndexListContextHandler.get_context_windows", "overridden: core's windows, "
             "refused with a message where context_stride makes one reach past the last frame", (CONTEXT, APPLY),
             overrides=("model", "x_in", "model_options")),
    Internal("comfy.context_windows.IndexListContextHandler.get_resized_cond", "overridden: per-frame conds and "
             "ControlNet hints follow their window", (CONTEXT, APPLY),
             overrides=("cond_in", "x_in", "window", "device")),
    Internal("comfy.context_windows.IndexListContextHandler.evaluate_context_windows", "the window each forward "
             "belongs to (the motion module checks it gets exactly the window's frames; 0.33 can add an anchor "
             "frame, causal_window_fix, which our handler switches off)", (CONTEXT, APPLY),
             source=('["context_window"] = window',)),
    Internal("comfy.context_windows.IndexListContextWindow.get_tensor", "slices per-frame conds", (CONTEXT, APPLY),
             args=2, kwargs=("dim",)),
    Internal("comfy.context_windows.create_prepare_sampling_wrapper", "memory estimate per window", (CONTEXT,),
             args=1),
    Internal("comfy.context_windows.get_matching_context_schedule", "schedules by name", (CONTEXT,), args=1),
    Internal("comfy.context_windows.ContextSchedule", "FreeNoise lists every window of a run: the schedule's "
             "func(num_frames, handler, model_options) at each step index (handler._step)", (CONTEXT,),
             source=("func",)),
    Internal("comfy.context_windows.IndexListContextHandler.__init__", "FreeNoise sets the step index it reads "
             "on a copy of the handler", (CONTEXT,), source=("self._step",)),
    Internal("comfy.context_windows.get_matching_fuse_method", "fuse methods by name", (CONTEXT,), args=1),
    Internal("comfy.context_windows.ContextSchedules.STATIC_STANDARD", "schedule 'static'", (CONTEXT,)),
    Internal("comfy.context_windows.ContextSchedules.UNIFORM_STANDARD", "schedule 'uniform'", (CONTEXT,)),
    Internal("comfy.context_windows.ContextSchedules.UNIFORM_LOOPED", "schedule 'looped'", (CONTEXT,)),
    Internal("comfy.context_windows.ContextFuseMethods.PYRAMID", "fuse 'pyramid'", (CONTEXT,)),
    Internal("comfy.context_windows.ContextFuseMethods.FLAT", "fuse 'flat'", (CONTEXT,)),
    Internal("comfy.context_windows.ContextFuseMethods.OVERLAP_LINEAR", "fuse 'overlap-linear'", (CONTEXT,)),

    # --- files, folders, server (glue/folders.py, glue/video.py, glue/routes.py) --------------------------
    Internal("folder_paths.add_model_folder_path", "models/animatediff_models and animatediff_motion_lora",
             args=2),
    Internal("folder_paths.folder_names_and_paths", "adds .safetensors etc. to our folders' extensions"),
    Internal("folder_paths.supported_pt_extensions", "the model extensions ComfyUI knows"),
    Internal("folder_paths.models_dir", "default model folders"),
    Internal("folder_paths.get_folder_paths", "where a missing file was looked for", args=1),
    Internal("folder_paths.get_filename_list", "file lists of the loaders", (LOAD, LORA, LOAD_SPARSE), args=1),
    Internal("folder_paths.get_full_path", "a missing file is a validation error", (LOAD, LORA, LOAD_SPARSE),
             args=2),
    Internal("folder_paths.get_full_path_or_raise", "the chosen file", (LOAD, LORA, LOAD_SPARSE), args=2),
    Internal("folder_paths.get_input_directory", "clips and image folders are read from the input folder",
             (LOAD_VIDEO, LOAD_IMAGES)),
    Internal("folder_paths.annotated_filepath", "'name [output]' paths", (LOAD_VIDEO, LOAD_IMAGES), args=1),
    Internal("folder_paths.get_output_directory", "videos are saved in the output folder", (SAVE_VIDEO,)),
    Internal("folder_paths.get_save_image_path", "numbered output names", (SAVE_VIDEO,), args=4),
    Internal("comfy.cli_args.args", "--disable-metadata", (SAVE_VIDEO,)),
    # the download button's routes and progress events (no node depends on them)
    Internal("server.PromptServer", "routes are added to the running server", (),
             source=("PromptServer.instance = self", "self.routes")),
    Internal("server.PromptServer.send_sync", "download progress events", (), args=2),

    # --- the animated preview while sampling (glue/preview.py) --------------------------------------------
    Internal("latent_preview.get_previewer", "the host's TAESD / latent-to-RGB decoder for the preview, chosen "
             "by the preview setting", RUNS, args=2),
    Internal("latent_preview.LatentPreviewer.decode_latent_to_preview", "one frame's x0 -> PIL image "
             "(previewers decode x0[:1])", RUNS, args=1),
    Internal("comfy.cli_args.args", "preview_method: none means nothing is decoded or sent", RUNS),
    Internal("comfy.cli_args.LatentPreviewMethod.NoPreviews", "previews off", RUNS),
    Internal("comfy_execution.utils.get_executing_context", "the prompt and node the preview belongs to", RUNS,
             source=("current_executing_context",)),
    Internal("comfy.model_management.InterruptProcessingException", "a stopped run clears its preview", RUNS),
    Internal("comfy.samplers.CFGGuider.outer_sample", "the guider's model_patcher (load device, latent format) "
             "and the callback(step, x0, x, total_steps) it hands the sampler", RUNS, args=8,
             source=("self.model_patcher",)),
    # ``PromptServer.instance`` exists only once a server is built (``server`` can be imported without one: 0.33's
    # comfy_extras/nodes_images.py does): the source text of ``PromptServer`` checks it, not the attribute.
    Internal("server.PromptServer", "preview events go to the running server (PromptServer.instance)", (),
             source=("PromptServer.instance = self",)),
    Internal("server.PromptServer.send_sync", "adl.preview events to the client that queued the prompt", (),
             args=3),
)
