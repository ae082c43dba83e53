"""UI-format workflow → API-format prompt: the pack's own converter (glue/workflow_api.py), which the tests share."""
from animatediff_lightning.glue.workflow_api import to_api  # noqa: F401
