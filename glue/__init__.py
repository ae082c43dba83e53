"""The ComfyUI glue layer: the only code besides nodes/ that imports ComfyUI.

injection — the motion module inside the UNet through the ModelPatcher; schedules — betas and trailing
sigmas; sampling — the one-node Lightning sampler; folders — model folders.
"""
