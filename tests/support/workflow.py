"""UI-format workflow → API-format prompt: the pack's own converter (glue/render.py), which the tests share."""
from animatediff_lightning.glue.render import to_api  # noqa: F401
