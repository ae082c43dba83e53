"""The pack's nodes: each a schema and one call into the glue layer."""
from comfy_api.v0_0_2 import ComfyExtension

from .consistency import VideoConsistency
from .context import ContextOptions, PromptTravel
from .download import DownloadModels
from .motion_lora import LoadMotionLoRA
from .motion_module import ApplyMotionModule, LoadMotionModule
from .sampling import LightningSampler, LightningScheduler, SampleLightning
from .video import LoadVideo, SaveVideo

NODES = [LoadMotionModule, LoadMotionLoRA, ApplyMotionModule, LightningScheduler, LightningSampler, SampleLightning,
         ContextOptions, PromptTravel, LoadVideo, SaveVideo, VideoConsistency, DownloadModels]


class LightningExtension(ComfyExtension):
    async def get_node_list(self):
        return NODES
