"""Shared node vocabulary: the category root and the custom socket types."""
from comfy_api.latest import io

CATEGORY = "AnimateDiff-Lightning"
SAMPLING = f"{CATEGORY}/sampling"

MotionModule = io.Custom("ADL_MOTION_MODULE")
MotionValue = io.Custom("ADL_MOTION_VALUE")
MotionKeyframes = io.Custom("ADL_MOTION_KEYFRAMES")
