"""The pack's nodes: each a schema and one call into the glue layer."""
import functools

from comfy_api.latest import ComfyExtension

from ..glue.host_surface import guard
from .adjust import AdjustPositions, AdjustWeights
from .cfg import CFGKeyframeNode
from .consistency import VideoConsistency
from .context import ContextOptions, PromptTravel
from .controls import ControlNetControlsNode, ControlNetKeyframeNode, ControlNetWeightsNode
from .download import DownloadModels
from .images import SelectEveryNthImage
from .motion_control import MotionKeyframeNode, MotionValueNode
from .motion_lora import LoadMotionLoRA
from .motion_module import ApplyMotionModule, LoadMotionModule
from .noise import FreeInitNode, NoiseLayerNode, SampleSettingsNode
from .sampling import BetaScheduleNode, LightningSampler, LightningScheduler, SampleLightning, SigmaScheduleNode
from .sparsectrl import ApplySparseCtrl, LoadSparseCtrl
from .video import LoadImages, LoadVideo, SaveVideo

NODES = [LoadMotionModule, LoadMotionLoRA, ApplyMotionModule, MotionValueNode, MotionKeyframeNode, LightningScheduler,
         LightningSampler, SampleLightning, ContextOptions, PromptTravel, LoadVideo, SaveVideo, VideoConsistency,
         DownloadModels, AdjustPositions, AdjustWeights, SampleSettingsNode, NoiseLayerNode, FreeInitNode,
         CFGKeyframeNode, SigmaScheduleNode, LoadSparseCtrl, ApplySparseCtrl, ControlNetWeightsNode,
         ControlNetKeyframeNode, ControlNetControlsNode, LoadImages, SelectEveryNthImage, BetaScheduleNode]


def _guarded(node):
    """``node.execute`` first raises the host check's message when the running ComfyUI lacks something this
    node relies on (glue/host_surface.py), instead of running into wrong output."""
    execute = node.__dict__["execute"].__func__
    if getattr(execute, "__adl_guarded__", False):
        return node
    @functools.wraps(execute)
    def run(cls, *args, **kwargs):
        guard(cls)
        return execute(cls, *args, **kwargs)

    run.__adl_guarded__ = True
    node.execute = classmethod(run)
    return node


NODES = [_guarded(node) for node in NODES]


class LightningExtension(ComfyExtension):
    async def get_node_list(self):
        return NODES
