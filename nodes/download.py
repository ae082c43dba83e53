"""Download a known Lightning motion module or Motion LoRA from the Hugging Face Hub."""
from comfy_api.latest import io, ui

from ..glue.downloads import comfy_download, comfy_file_state, known_files
from .types import CATEGORY


class DownloadModels(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        files = known_files()
        return io.Schema(
            node_id="ADL_DownloadModels",
            display_name="Download Lightning Files",
            category=CATEGORY,
            description="Downloads one of the known AnimateDiff-Lightning motion modules or v2 Motion LoRAs from "
                        "the Hugging Face Hub into its model folder, checked against the sha256 the Hub "
                        "advertises. Queue the prompt to start; Cancel stops it and the next run resumes.",
            is_output_node=True,
            inputs=[
                io.Combo.Input("file", options=list(files), default="lightning_4step",
                               tooltip="Which file: " + "; ".join(
                                   f"{f.id} = {f.filename} → models/{f.folder}" for f in files.values())
                                       + ". A file already in its folder is left as it is."),
            ],
            outputs=[io.String.Output(display_name="path",
                                      tooltip="Where the file now is (its folder is what the loaders list; "
                                              "press R to refresh them).")],
        )

    @classmethod
    def fingerprint_inputs(cls, file):
        return comfy_file_state(file)  # runs again once the file is removed

    @classmethod
    def execute(cls, file) -> io.NodeOutput:
        result = comfy_download(file)
        return io.NodeOutput(str(result.path), ui=ui.PreviewText(result.message()))
