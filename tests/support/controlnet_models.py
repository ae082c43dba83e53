"""A random-weight SD1.5 ControlNet with the real key names and shapes (original `control_model.*` layout),
taken from ComfyUI's own `comfy.cldm.cldm.ControlNet` on the meta device. Zero-convs are random (not zero as
at the start of training) so every hint visibly changes the UNet's output."""
from __future__ import annotations

import functools
from pathlib import Path

import torch

from .model_cache import cached_file, random_param
from .sd15_models import SD15_UNET_CONFIG

CONTROLNET_NAME = "controlnet-sd15-random-fp16.safetensors"


@functools.lru_cache(maxsize=1)
def controlnet_shapes() -> dict[str, tuple[int, ...]]:
    import comfy.cldm.cldm
    import comfy.ops
    config = {k: v for k, v in SD15_UNET_CONFIG.items() if k != "out_channels"}
    config.update(num_heads=8, num_head_channels=-1, hint_channels=3)
    with torch.device("meta"):
        net = comfy.cldm.cldm.ControlNet(**config, dtype=torch.float32, device="meta",
                                         operations=comfy.ops.disable_weight_init)
    return {k: tuple(v.shape) for k, v in net.state_dict().items()}


def controlnet_sd(dtype: torch.dtype = torch.float16, seed: int = 0) -> dict[str, torch.Tensor]:
    return {f"control_model.{k}": random_param(f"control_model.{k}", shape, dtype, seed)
            for k, shape in controlnet_shapes().items()}


def controlnet_file(seed: int = 0) -> Path:
    """The cached fp16 real-shape SD1.5 ControlNet (~723 MB)."""
    return cached_file(CONTROLNET_NAME, lambda: controlnet_sd(torch.float16, seed))


def tiny_controlnet(config: dict, seed: int = 0):
    """A core ``comfy.controlnet.ControlNet`` around a random ControlNet of the tiny UNet ``config`` (fp32, CPU)."""
    import comfy.cldm.cldm
    import comfy.controlnet
    import comfy.ops
    net_config = {k: v for k, v in config.items() if k != "out_channels"}
    net_config.update(num_heads=8, num_head_channels=-1, hint_channels=3)
    net = comfy.cldm.cldm.ControlNet(**net_config, dtype=torch.float32, device="cpu",
                                     operations=comfy.ops.disable_weight_init)
    net.load_state_dict({k: random_param(f"control_model.{k}", tuple(v.shape), torch.float32, seed)
                         for k, v in net.state_dict().items()})
    return comfy.controlnet.ControlNet(net, load_device=torch.device("cpu"), manual_cast_dtype=None)
