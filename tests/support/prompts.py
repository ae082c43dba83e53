"""API-format prompts the end-to-end tests queue."""


def text_to_video(checkpoint: str, motion_module: str, frames: int = 16, size: int = 64, steps: int = 0,
                  sampler: str = "lightning", prefix: str = "adl_t2v") -> dict:
    """Checkpoint → CLIP encode → motion module → sample → VAE decode → SaveImage.

    ``sampler``: "lightning" (our one-node sampler), "custom" (core SamplerCustom with our scheduler and
    sampler) or "ksampler" (core KSampler, euler / simple)."""
    prompt = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": checkpoint}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["1", 1], "text": "a cat walking, anime"}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["1", 1], "text": "blurry"}},
        "4": {"class_type": "EmptyLatentImage", "inputs": {"width": size, "height": size, "batch_size": frames}},
        "5": {"class_type": "ADL_LoadMotionModule", "inputs": {"model_name": motion_module}},
        "6": {"class_type": "ADL_ApplyMotionModule",
              "inputs": {"model": ["1", 0], "motion_module": ["5", 0], "motion_scale": 1.0,
                         "beta_schedule": "animatediff (sqrt_linear, as trained)"}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["7", 0], "vae": ["1", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": prefix}},
    }
    if sampler == "lightning":
        prompt["7"] = {"class_type": "ADL_SampleLightning",
                       "inputs": {"model": ["6", 0], "positive": ["2", 0], "negative": ["3", 0],
                                  "latent_image": ["4", 0], "seed": 1, "steps": steps, "cfg": 1.0, "denoise": 1.0}}
    elif sampler == "custom":
        prompt["10"] = {"class_type": "ADL_LightningScheduler",
                        "inputs": {"model": ["6", 0], "steps": steps, "denoise": 1.0}}
        prompt["11"] = {"class_type": "ADL_LightningSampler", "inputs": {}}
        prompt["7"] = {"class_type": "SamplerCustom",
                       "inputs": {"model": ["6", 0], "add_noise": True, "noise_seed": 1, "cfg": 1.0,
                                  "positive": ["2", 0], "negative": ["3", 0], "sampler": ["11", 0],
                                  "sigmas": ["10", 0], "latent_image": ["4", 0]}}
    elif sampler == "ksampler":
        prompt["7"] = {"class_type": "KSampler",
                       "inputs": {"model": ["6", 0], "seed": 1, "steps": steps or 4, "cfg": 1.0,
                                  "sampler_name": "euler", "scheduler": "simple", "positive": ["2", 0],
                                  "negative": ["3", 0], "latent_image": ["4", 0], "denoise": 1.0}}
    else:
        raise ValueError(sampler)
    return prompt


def load_and_save_video(video: str = "", fmt: str = "mp4", prefix: str = "adl_video", path: str = "",
                        audio: bool = True, filename_prefix: str | None = None, crf: int = 23,
                        **load_options) -> dict:
    """ADL_LoadVideo → ADL_SaveVideo (its fps, and its audio when ``audio``). ``load_options`` override the
    loader's widgets (frame_load_cap, skip_first_frames, select_every_nth, force_rate, width, height,
    resize_mode, memory_cap_gb)."""
    load = {"video": video, "path": path, "frame_load_cap": 0, "skip_first_frames": 0, "select_every_nth": 1,
            "force_rate": 0.0, "width": 0, "height": 0, "resize_mode": "crop", "memory_cap_gb": 4.0}
    load.update(load_options)
    save = {"images": ["1", 0], "fps": ["1", 2], "filename_prefix": filename_prefix or prefix, "format": fmt,
            "crf": crf}
    if audio:
        save["audio"] = ["1", 3]
    return {"1": {"class_type": "ADL_LoadVideo", "inputs": load},
            "2": {"class_type": "ADL_SaveVideo", "inputs": save}}
