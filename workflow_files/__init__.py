"""Workflow files: reading, converting and running ComfyUI workflow JSON, with no ComfyUI or torch import.

- ``workflow_api``: UI-format workflow → API-format prompt (by the server's /object_info), ``--set`` overrides.
- ``convert``: AnimateDiff-Evolved / VideoHelperSuite / Advanced-ControlNet / FizzNodes graphs → this pack's
  nodes, driven by the table in ``mapping.json``.
- ``render`` + ``local_server``: the command line (``python PACK render|convert``) and the ComfyUI it talks to.

ComfyUI never imports this package except through the route in glue/convert_route.py.
"""
