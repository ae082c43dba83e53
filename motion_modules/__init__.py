"""Pure-torch motion modules: model, file reading, format detection. No ComfyUI import here."""
from .errors import MotionModuleError
from .formats import MotionModuleInfo, describe, from_diffusers, lightning_steps
from .lora import LoRAPatch, MotionLoRA, match_motion_lora, motion_lora_targets, parse_motion_lora, read_motion_lora
from .loading import build_motion_modules, load_motion_module, read_motion_module, read_state_dict
from .model import CastOps, MotionModule, MotionModuleSet, sdpa_attention, sinusoidal_positions

__all__ = [
    "MotionModuleError", "MotionModuleInfo", "describe", "from_diffusers", "lightning_steps",
    "build_motion_modules", "load_motion_module", "read_motion_module", "read_state_dict",
    "LoRAPatch", "MotionLoRA", "match_motion_lora", "motion_lora_targets", "parse_motion_lora",
    "read_motion_lora",
    "CastOps", "MotionModule", "MotionModuleSet", "sdpa_attention", "sinusoidal_positions",
]
