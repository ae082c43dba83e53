"""The example workflows as ComfyUI's template browser gets them from a real server: listed under this pack's
folder (the UI files only, not their API twins in workflows/api/), each with a JPEG thumbnail that
`make thumbnails` draws (tests/thumbnails.py)."""
import io
import json
import urllib.request

import pytest
from PIL import Image

from conftest import COMFYUI_PATH, ROOT
from support.server import PACK_DIR_NAME, ComfyServer
from thumbnails import CAPTIONS, SIZE

NAMES = sorted(p.stem for p in (ROOT / "workflows").glob("*.json"))
MAX_BYTES = 150 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = ComfyServer(COMFYUI_PATH, tmp_path_factory.mktemp("comfy_templates"), {}).start()
    yield srv
    srv.stop()


def test_every_workflow_has_a_thumbnail_caption():
    """`make thumbnails` writes each card's title band from CAPTIONS: one entry per workflow, none stale."""
    assert sorted(CAPTIONS) == NAMES
    for title, subtitle in CAPTIONS.values():
        assert 0 < len(title) <= 20 and 0 < len(subtitle) <= 40, (title, subtitle)  # one line each on the card


def fetch(server, path: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(server.url + path, timeout=30) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read()


def test_each_workflow_has_one_thumbnail():
    assert len(NAMES) == 5, NAMES
    assert sorted(p.stem for p in (ROOT / "workflows").glob("*.jpg")) == NAMES
    assert not list((ROOT / "workflows" / "api").glob("*.jpg"))
    for name in NAMES:
        assert (ROOT / "workflows" / f"{name}.jpg").stat().st_size < MAX_BYTES, name


def test_templates_are_listed_without_the_api_twins(server):
    listed = server.get("/api/workflow_templates")[PACK_DIR_NAME]
    assert sorted(listed) == NAMES  # five names, each once: the twins share the names but are not listed
    for name in NAMES:  # and the file a card opens is the UI workflow, not the twin
        status, _, body = fetch(server, f"/api/workflow_templates/{PACK_DIR_NAME}/{name}.json")
        assert status == 200 and "nodes" in json.loads(body), name


@pytest.mark.parametrize("name", NAMES)
def test_thumbnail_is_served_as_a_jpeg(server, name):
    status, content_type, body = fetch(server, f"/api/workflow_templates/{PACK_DIR_NAME}/{name}.jpg")
    assert status == 200 and content_type == "image/jpeg"
    assert body == (ROOT / "workflows" / f"{name}.jpg").read_bytes()
    with Image.open(io.BytesIO(body)) as img:
        img.load()  # decodes the whole image, not just the header
        assert (img.format, img.mode, img.size) == ("JPEG", "RGB", (SIZE, SIZE))
        # drawn, not blank: a dark canvas with lighter nodes and coloured links on it
        low, high = img.convert("L").getextrema()
        assert low < 40 and high > 150, (low, high)


def test_each_example_saves_every_widget_of_our_nodes():
    """An example workflow holds a value for every widget of each of this pack's nodes, in the order the editor
    saves them (an input appended later is written into the examples too): opened, the editor adds nothing, and
    the API twin holds the same inputs."""
    from animatediff_lightning.nodes import NODES
    from animatediff_lightning.workflow_files.workflow_api import _widget_inputs

    classes = {n.define_schema().node_id: n for n in NODES}
    for path in sorted((ROOT / "workflows").glob("*.json")):
        twin = json.loads((ROOT / "workflows" / "api" / path.name).read_text())
        for node in json.loads(path.read_text())["nodes"]:
            if node["type"] not in classes:
                continue
            types = classes[node["type"]].INPUT_TYPES()
            spec = {"input": types, "input_order": {k: list(v) for k, v in types.items()}}
            widgets = list(_widget_inputs(spec))
            want = sum(1 + has_control for _n, _k, has_control in widgets)
            assert len(node.get("widgets_values") or []) == want, (path.name, node["id"], node["type"])
            named = {n for n, kind, _c in widgets if kind != "UPLOAD"}
            assert named <= set(twin[str(node["id"])]["inputs"]), (path.name, node["id"], named)
