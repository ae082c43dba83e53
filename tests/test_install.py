"""Install like a user, and the Registry's rules for pyproject.toml / requirements.txt.

The pack's files (what git would ship: tracked plus not-ignored new files) are copied into `custom_nodes/`
of a clean copy of the host ComfyUI — once under the Registry's folder name (the [project] name) and once
as a GitHub zip download names it ("ComfyUI-AnimateDiff-Lightning-main") — its requirements are checked
the way ComfyUI-Manager installs them (pip, line by line, offline: --dry-run --no-index), and each ComfyUI
is started as a user would (its own main.py, no --base-directory). Every node the pack defines must be
listed by /object_info as coming from that folder, its frontend extension must be served, and the log must
show no import failure.
"""
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from xml.etree import ElementTree

import pytest
from PIL import Image
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet

from conftest import COMFYUI_PATH, ROOT
from support.server import free_port

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
REQUIREMENTS = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
                if line.strip() and not line.strip().startswith("#")]
REPOSITORY = PYPROJECT["project"]["urls"]["Repository"]
# the Registry's folder name (the [project] name), and the one a GitHub zip download of main unpacks to
FOLDERS = [PYPROJECT["project"]["name"], REPOSITORY.rstrip("/").rsplit("/", 1)[-1] + "-main"]
TORCH_FAMILY = {"torch", "torchvision", "torchaudio", "xformers", "triton"}


def pack_files() -> list[str]:
    """What a clone or a Registry archive of the current tree holds: tracked files plus new files that
    .gitignore does not exclude (so work not yet committed is checked too), minus deleted ones."""
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, check=True).stdout.decode()
    return sorted({f for f in out.split("\0") if f and (ROOT / f).is_file()})


def pack_python_files() -> list[str]:
    return [f for f in pack_files() if f.endswith(".py")]


def node_ids_in_source() -> set[str]:
    """Every node id the pack declares (read from the source, not from the extension's own list)."""
    ids = set()
    for path in (ROOT / "nodes").glob("*.py"):
        ids |= set(re.findall(r'node_id\s*=\s*"([^"]+)"', path.read_text()))
    return ids


def start_host(host: Path, timeout: float = 240.0):
    port = free_port()
    log = open(host / "server.log", "w")
    process = subprocess.Popen(
        [sys.executable, "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(port),
         "--disable-auto-launch", "--database-url", "sqlite:///:memory:"],
        cwd=host, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    return process, log, f"http://127.0.0.1:{port}", time.time() + timeout


def wait_ready(process, url, deadline, host):
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError("ComfyUI exited at start:\n" + (host / "server.log").read_text()[-4000:])
        try:
            urllib.request.urlopen(url + "/system_stats", timeout=5).close()
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise RuntimeError("ComfyUI did not start:\n" + (host / "server.log").read_text()[-4000:])


def get(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.loads(r.read())


_TOP_LEVEL_SKIP = {".git", "tests", "tests-unit", "custom_nodes", "models", "output", "input", "user", "temp",
                   "extra_model_paths.yaml"}


def _host_ignore(directory, names):
    """The host's code without its custom nodes, models, user data or caches."""
    top = Path(directory).resolve() == COMFYUI_PATH
    return {n for n in names if n == "__pycache__" or (top and n in _TOP_LEVEL_SKIP)}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Both installs, their ComfyUIs started side by side (each boot takes a few seconds of CPU)."""
    files = pack_files()
    hosts = {}
    for folder in FOLDERS:
        host = tmp_path_factory.mktemp("clean_host") / "ComfyUI"
        shutil.copytree(COMFYUI_PATH, host, symlinks=True, ignore=_host_ignore)
        (host / "custom_nodes").mkdir()
        for sub in ("checkpoints", "vae", "loras"):  # an empty models tree like a fresh install
            (host / "models" / sub).mkdir(parents=True)
        for f in files:
            (host / "custom_nodes" / folder / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, host / "custom_nodes" / folder / f)
        hosts[folder] = (host, *start_host(host))
    try:
        for folder, (host, process, _log, url, deadline) in hosts.items():
            wait_ready(process, url, deadline, host)
        yield {folder: (host, url) for folder, (host, *_rest, url, _deadline) in hosts.items()}
    finally:
        for host, process, log, *_ in hosts.values():
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()


def test_requirements_install_line_by_line_as_manager_does():
    """Manager runs `pip install <line>` for each line; here pip resolves all lines offline against the
    test venv (--dry-run --no-index), which fails if any line is malformed or unsatisfied."""
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-index",
                             "--disable-pip-version-check", *REQUIREMENTS], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Would install" not in result.stdout, result.stdout
    for line in REQUIREMENTS:
        req = Requirement(line)
        assert req.specifier.contains(version(req.name), prereleases=True), (line, version(req.name))


@pytest.mark.parametrize("folder", FOLDERS)
def test_installed_pack_lists_every_node(installed, folder):
    host, url = installed[folder]
    log = (host / "server.log").read_text(errors="replace")
    failures = [line for line in log.splitlines()
                if folder in line and ("IMPORT FAILED" in line or "Cannot import" in line)]
    assert not failures, log[-4000:]
    # glue/host_surface.py's start-up check, with ComfyUI's server module loaded, found nothing missing
    assert re.search(r"\[AnimateDiff-Lightning\] ComfyUI \S+: the \d+ ComfyUI internals the pack relies on are "
                     r"all present", log), log[-4000:]
    assert ": the pack uses it:" not in log, log[-4000:]

    object_info = get(url + "/object_info")
    ours = {name for name, info in object_info.items() if info.get("python_module") == f"custom_nodes.{folder}"}
    expected = node_ids_in_source()
    assert len(expected) >= 5
    assert ours == expected, (sorted(expected - ours), sorted(ours - expected))
    assert all(object_info[n]["category"].startswith("AnimateDiff-Lightning") for n in ours)

    # WEB_DIRECTORY is served under this folder's name, each file once.
    extensions = get(url + "/extensions")
    js = sorted(p.name for p in (ROOT / "js").glob("*.js"))
    served = [e for e in extensions if e.startswith(f"/extensions/{folder}/")]
    assert sorted(e.rsplit("/", 1)[-1] for e in served) == js, extensions
    # The example workflows are offered as this pack's templates.
    templates = get(url + "/api/workflow_templates")
    assert set(templates.get(folder, [])) == {p.stem for p in (ROOT / "workflows").glob("*.json")}
    # The clip the video-to-video templates read is in the fresh install's input folder, as shipped.
    clip = host / "input" / "input_clip.mp4"
    assert clip.is_file(), sorted(p.name for p in (host / "input").glob("*"))
    assert clip.read_bytes() == (ROOT / "workflows" / "media" / "input_clip.mp4").read_bytes()
    assert not list((host / "input").glob(".*partial"))


# ---------------------------------------------------------------------------------------------------------
# The Registry's rules (docs.comfy.org/registry/specifications) and Manager's expectations
# ---------------------------------------------------------------------------------------------------------
def test_project_table_follows_registry_rules():
    project = PYPROJECT["project"]
    name = project["name"]
    assert len(name) < 100 and re.fullmatch(r"[A-Za-z][A-Za-z0-9]*([-_.][A-Za-z0-9]+)*", name), name
    assert name == name.lower() and "comfyui" not in name.lower(), name
    assert re.fullmatch(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)", project["version"]), project["version"]
    assert project["description"].strip()
    license_ = project["license"]
    assert isinstance(license_, dict) and ("file" in license_ or "text" in license_), license_
    if "file" in license_:
        assert (ROOT / license_["file"]).is_file()
    assert re.fullmatch(r">=\s*3\.\d+", project["requires-python"]), project["requires-python"]
    assert project["dependencies"] == REQUIREMENTS
    # Repository is required; every link is https and stays inside the repository
    assert re.fullmatch(r"https://github\.com/[A-Za-z0-9-]+/[A-Za-z0-9._-]+", REPOSITORY), REPOSITORY
    for key, url in project["urls"].items():
        assert url.startswith(REPOSITORY), (key, url)
    for classifier in project.get("classifiers", []):
        assert classifier.startswith(("Operating System :: ", "Environment :: ")), classifier


def test_tool_comfy_table_follows_registry_rules():
    comfy = PYPROJECT["tool"]["comfy"]
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", comfy["PublisherId"]), comfy["PublisherId"]
    assert comfy["DisplayName"].strip()
    spec = SpecifierSet(comfy["requires-comfyui"])
    assert "0.3.75" in spec and "0.38.1" in spec, spec  # tested on 0.3.75; read against 0.38.1
    assert f"`requires-comfyui = \"{comfy['requires-comfyui']}\"`" in (ROOT / "README.md").read_text()
    # WEB_DIRECTORY in __init__.py and a [tool.comfy] web key would load the frontend twice.
    tree = ast.parse((ROOT / "__init__.py").read_text())
    assigned = {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
                if isinstance(t, ast.Name)}
    assert "WEB_DIRECTORY" in assigned and "web" not in comfy
    # One loading mechanism: a NODE_CLASS_MAPPINGS beside comfy_entrypoint hides the V3 nodes.
    assert "NODE_CLASS_MAPPINGS" not in assigned


def test_icon_is_a_file_of_the_repository_within_the_registry_limits():
    """Icon: an https URL of an SVG/PNG/JPG/GIF of at most 800×400 px. Ours is docs/icon.svg as GitHub serves it
    raw from the Repository's main branch, so the link works as soon as the repository is pushed."""
    owner_repo = REPOSITORY.removeprefix("https://github.com/")
    prefix = f"https://raw.githubusercontent.com/{owner_repo}/main/"
    icon = PYPROJECT["tool"]["comfy"]["Icon"]
    assert icon.startswith(prefix), icon
    path = icon.removeprefix(prefix)
    assert path in pack_files(), f"{path} is not a file the repository ships"
    assert path.endswith((".svg", ".png", ".jpg", ".jpeg", ".gif")), path
    if path.endswith(".svg"):
        svg = ElementTree.parse(ROOT / path).getroot()
        size = (float(svg.get("width")), float(svg.get("height")))
    else:
        with Image.open(ROOT / path) as image:
            size = image.size
    assert size[0] <= 800 and size[1] <= 400, size


def test_registry_security_scan_is_clean():
    """`comfy node validate` runs ruff with S102 (exec), S307 (eval) and E702 (several statements on a line)
    over the pack before publishing; the Registry will make these errors."""
    done = subprocess.run([sys.executable, "-m", "ruff", "check", *pack_python_files(), "--no-cache",
                           "--select", "S102,S307,E702", "--output-format", "concise"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_requirements_are_plain_and_leave_torch_alone():
    for line in REQUIREMENTS:
        assert not line.startswith("-"), f"pip option in requirements.txt: {line}"
        try:
            req = Requirement(line)
        except InvalidRequirement as e:
            pytest.fail(f"requirements.txt line {line!r}: {e}")
        assert not req.url, f"direct URL in requirements.txt: {line}"
        assert req.name.lower() not in TORCH_FAMILY, f"{line}: the user's torch build must not be replaced"
        try:
            version(req.name)
        except PackageNotFoundError:
            pytest.fail(f"{req.name} is required but not installed in the test venv")
