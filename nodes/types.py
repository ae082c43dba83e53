"""Shared node vocabulary: the category root and the custom socket types."""
from comfy_api.latest import io

CATEGORY = "AnimateDiff-Lightning"
SAMPLING = f"{CATEGORY}/sampling"

MotionModule = io.Custom("ADL_MOTION_MODULE")
MotionValue = io.Custom("ADL_MOTION_VALUE")
MotionKeyframes = io.Custom("ADL_MOTION_KEYFRAMES")
MotionAdjustments = io.Custom("ADL_MOTION_ADJUST")
SampleSettings = io.Custom("ADL_SAMPLE_SETTINGS")
NoiseLayers = io.Custom("ADL_NOISE_LAYERS")
FreeInitOptions = io.Custom("ADL_FREEINIT")
CFGSchedule = io.Custom("ADL_CFG_SCHEDULE")
SigmaScheduleType = io.Custom("ADL_SIGMA_SCHEDULE")
