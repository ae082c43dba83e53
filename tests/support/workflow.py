"""UI-format workflow → API-format prompt: the pack's own converter (workflow_files/workflow_api.py), which the tests share."""
from animatediff_lightning.workflow_files.workflow_api import to_api  # noqa: F401
