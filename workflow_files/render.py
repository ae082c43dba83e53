"""Headless render: run a workflow file through a local ComfyUI and copy what it saves into a folder.

    python path/to/this-pack render WORKFLOW.json [--set NODE.input=value ...] --out DIR
                                   [--server URL | --comfyui PATH [--base-directory DIR]] [--fresh]

* Server: ``--server URL`` is used as is; otherwise a ComfyUI already answering on 127.0.0.1:8188 is reused
  (unless ``--fresh``); otherwise one is started from ``--comfyui`` / ``$COMFYUI_PATH`` (or the ComfyUI this
  pack sits in, or the dev host ``.host/ComfyUI``) on a free port with the same Python, and stopped at the end.
  Started from a dev checkout, it gets a temporary base directory with this pack linked into ``custom_nodes``
  and the host's ``models`` and ``input`` linked in; ``--base-directory DIR`` uses DIR instead (the pack is
  linked into ``DIR/custom_nodes`` when it is not there yet). Choosing and starting: workflow_files/local_server.py.
* Workflow: API format (``{"1": {"class_type": …, "inputs": …}}``) or UI format (what the editor saves,
  with ``nodes`` and ``links``); the latter is converted with the server's ``/object_info`` by ``to_api``.
* ``--set NODE.input=value``: NODE is a node id, a node title or a node type (it must name one node);
  the value is converted to the input's type as ``/object_info`` declares it.
* Progress lines go to stdout; on failure the server's message (validation errors per node, or the
  node's exception) goes to stderr and the exit status is 1 (2 for a bad command line or workflow file).

Standard library plus websocket-client (a requirement of the pack), and no ComfyUI or torch import, so it
runs with any Python that can start ComfyUI with this pack. ``to_api`` is shared with the tests.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from .convert import ConvertError, convert, format_report, has_foreign_nodes
from .convert import main as convert_main
from .local_server import DEFAULT_SERVER, StartError, answers, connect
from .workflow_api import WorkflowError, apply_overrides, is_ui_workflow, node_titles, to_api  # noqa: F401

# --------------------------------------------------------------------------------------------------------
# HTTP and websocket (stdlib only)
# --------------------------------------------------------------------------------------------------------
class ServerError(Exception):
    """The server refused or failed the prompt; the message is what it said."""


class Client:
    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.client_id = uuid.uuid4().hex

    def get_raw(self, path: str, timeout: float = 30) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=timeout) as r:
            return r.read()

    def get(self, path: str, timeout: float = 30):
        return json.loads(self.get_raw(path, timeout))

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw or b"{}")
            except ValueError:
                return e.code, {"error": {"message": raw.decode(errors="replace")[:2000]}}

    def alive(self) -> bool:
        return answers(self.url)


# --------------------------------------------------------------------------------------------------------
# Running a prompt
# --------------------------------------------------------------------------------------------------------
def format_prompt_error(body: dict) -> str:
    """The /prompt refusal as lines: the overall message, then each node's errors."""
    error = body.get("error", {})
    if isinstance(error, str):
        lines = [error]
    else:
        lines = [error.get("message") or "the server refused the prompt"]
        if error.get("details"):
            lines[0] += f": {error['details']}"
    for node_id, entry in (body.get("node_errors") or {}).items():
        for e in entry.get("errors", []):
            text = e.get("message", "")
            if e.get("details"):
                text += f": {e['details']}"
            lines.append(f"  node {node_id} ({entry.get('class_type', '?')}): {text}")
    return "\n".join(lines)


def run_prompt(client: Client, prompt: dict, log=print, timeout: float = 3600.0) -> dict:
    """Queue ``prompt``, print progress, return the history entry's outputs; raises ServerError."""
    ws_url = client.url.replace("http", "ws", 1) + f"/ws?clientId={client.client_id}"
    import websocket  # websocket-client; imported here so `--help` and conversion need nothing installed

    ws = websocket.create_connection(ws_url, timeout=30)
    types = {k: v["class_type"] for k, v in prompt.items()}
    start = time.time()

    def say(text):
        log(f"[{time.time() - start:6.1f}s] {text}")

    try:
        status, body = client.post("/prompt", {"prompt": prompt, "client_id": client.client_id})
        if status != 200 or "prompt_id" not in body:
            raise ServerError(format_prompt_error(body))
        prompt_id = body["prompt_id"]
        say(f"queued as {prompt_id}" + (f" (position {body['number']})" if "number" in body else ""))
        ws.settimeout(5.0)
        deadline = start + timeout
        last_step = {}
        while True:
            if time.time() > deadline:
                raise ServerError(f"prompt {prompt_id} did not finish in {timeout:.0f}s")
            try:
                message = ws.recv()
            except (socket.timeout, TimeoutError, websocket.WebSocketTimeoutException):
                entry = client.get(f"/history/{prompt_id}").get(prompt_id)  # events missed? ask the history
                if entry and entry.get("status", {}).get("completed") is not None:
                    break
                continue
            if not isinstance(message, str):
                continue  # binary previews
            event = json.loads(message)
            kind, data = event.get("type"), event.get("data") or {}
            if data.get("prompt_id") not in (None, prompt_id):
                continue
            if kind == "execution_start":
                say("started")
            elif kind == "execution_cached" and data.get("nodes"):
                say("cached: " + ", ".join(f"{n} ({types.get(n, '?')})" for n in data["nodes"]))
            elif kind == "executing" and data.get("prompt_id") == prompt_id:
                node = data.get("node")
                if node is None:
                    break
                say(f"node {node} ({types.get(node, '?')})")
            elif kind == "progress":
                node, value, maximum = data.get("node"), data.get("value"), data.get("max")
                if last_step.get(node) != value:
                    last_step[node] = value
                    say(f"node {node} ({types.get(node, '?')}): {value}/{maximum}")
            elif kind == "executed":
                say(f"node {data.get('node')} ({types.get(data.get('node'), '?')}) done")
            elif kind == "execution_error":
                trace = "".join(data.get("traceback") or [])
                message = (f"node {data.get('node_id')} ({data.get('node_type')}) failed: "
                           f"{data.get('exception_type')}: {data.get('exception_message')}".rstrip())
                raise ServerError(message + (f"\n{trace}" if trace and os.environ.get("ADL_RENDER_TRACEBACK")
                                             else ""))
            elif kind == "execution_interrupted":
                raise ServerError(f"interrupted at node {data.get('node_id')} ({data.get('node_type')})")
            # execution_success comes before the history is written; `executing` with node None after it.
    finally:
        ws.close()
    entry = {}
    for _ in range(20):
        entry = client.get(f"/history/{prompt_id}").get(prompt_id, {})
        if entry.get("status", {}).get("completed") is not None or entry.get("outputs"):
            break
        time.sleep(0.5)
    status = entry.get("status", {})
    if status.get("status_str") == "error":
        details = [m[1] for m in status.get("messages", []) if m[0] == "execution_error"]
        d = details[0] if details else {}
        raise ServerError(f"node {d.get('node_id')} ({d.get('node_type')}) failed: "
                          f"{d.get('exception_type')}: {d.get('exception_message')}")
    say("finished")
    return entry.get("outputs", {})


def saved_files(outputs: dict) -> list[dict]:
    """Every file the run reported ({filename, subfolder, type}), saved outputs first; temp previews only
    when nothing was saved."""
    found = []
    for node_out in outputs.values():
        for items in node_out.values():
            if isinstance(items, list):
                found += [f for f in items if isinstance(f, dict) and f.get("filename")]
    unique = list({(f["filename"], f.get("subfolder", ""), f.get("type", "output")): f for f in found}.values())
    saved = [f for f in unique if f.get("type", "output") == "output"]
    return saved or unique


def download(client: Client, files: list[dict], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for f in files:
        query = urllib.parse.urlencode({"filename": f["filename"], "subfolder": f.get("subfolder", ""),
                                        "type": f.get("type", "output")})
        target = out_dir / Path(f["filename"]).name
        target.write_bytes(client.get_raw(f"/view?{query}", timeout=300))
        written.append(target)
    return written


# --------------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python path/to/pack render",
                                description="Run a ComfyUI workflow headless and copy the files it saves.")
    p.add_argument("workflow", type=Path, help="workflow JSON, UI format (as saved by the editor) or API format")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="NODE.input=value",
                   help="override an input; NODE is a node id, title or type (repeatable)")
    p.add_argument("--out", type=Path, required=True, help="folder for the produced video/images")
    p.add_argument("--server", help=f"URL of a running ComfyUI (default: reuse {DEFAULT_SERVER} if it answers)")
    p.add_argument("--comfyui", help="ComfyUI folder to start when no server is reused (default: $COMFYUI_PATH)")
    p.add_argument("--base-directory", help="--base-directory for a started ComfyUI (models, input, output)")
    p.add_argument("--fresh", action="store_true", help="always start a ComfyUI, never reuse one on :8188")
    p.add_argument("--cpu", action="store_true", default=None, help="start ComfyUI with --cpu (default: "
                   "when no GPU device is visible)")
    p.add_argument("--comfy-arg", action="append", default=[], metavar="ARG",
                   help="extra argument for a started ComfyUI (repeatable, e.g. --comfy-arg=--lowvram)")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for the run (default 3600)")
    return p


def render(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    log = lambda text: print(text, flush=True)  # noqa: E731
    try:
        workflow = json.loads(args.workflow.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        print(f"error: cannot read {args.workflow}: {e}", file=sys.stderr)
        return 2
    if not isinstance(workflow, dict):
        print(f"error: {args.workflow} is not a workflow (expected a JSON object)", file=sys.stderr)
        return 2
    if isinstance(workflow.get("prompt"), dict) and not is_ui_workflow(workflow):
        workflow = workflow["prompt"]  # a saved /prompt body
    if has_foreign_nodes(workflow):  # AnimateDiff-Evolved / VHS / ACN / FizzNodes: run it with this pack's nodes
        try:
            workflow, report = convert(workflow)
        except ConvertError as e:
            print(f"error: {args.workflow}: {e}", file=sys.stderr)
            return 2
        log(format_report(report))
        if report["kept"]:
            print(f"error: {len(report['kept'])} node(s) have no counterpart in this pack (listed above); convert "
                  "the workflow with `convert`, fix them in the editor, and render that", file=sys.stderr)
            return 2

    server = None
    try:
        url, server = connect(args.server, args.fresh, args.comfyui, args.base_directory, args.cpu,
                              args.comfy_arg, log)
        client = Client(url)
        for line in server.import_failures() if server else []:
            print(f"warning: {line}", file=sys.stderr)

        object_info = client.get("/object_info", timeout=120)
        prompt = to_api(workflow, object_info) if is_ui_workflow(workflow) else json.loads(json.dumps(workflow))
        for line in apply_overrides(prompt, args.overrides, object_info, node_titles(workflow)):
            log(line)
        outputs = run_prompt(client, prompt, log=log, timeout=args.timeout)
        files = saved_files(outputs)
        if not files:
            raise ServerError("the workflow ran but saved nothing (no output node?)")
        for path in download(client, files, args.out):
            log(f"wrote {path}")
        return 0
    except WorkflowError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (ServerError, StartError) as e:
        print(f"error: {e}", file=sys.stderr)
        if server is not None and server.import_failures():
            print("\n".join(server.import_failures()), file=sys.stderr)
        return 1
    except (urllib.error.URLError, ConnectionError, OSError) as e:
        print(f"error: talking to ComfyUI failed: {e}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.stop()


USAGE = """usage: python path/to/pack COMMAND ...

commands:
  render WORKFLOW.json [--set NODE.input=value ...] --out DIR [--server URL] [--comfyui PATH]
         run a workflow headless and copy the video/images it saves into DIR (render --help for more);
         AnimateDiff-Evolved / VideoHelperSuite / Advanced-ControlNet / FizzNodes workflows are converted first
  convert IN.json OUT.json [--strict] [--report REPORT.json]
         rewrite such a workflow with this pack's nodes and print what was converted and what was not
         (exit status 0: all converted, 3: some nodes left as they were, marked; 2: unreadable, nothing written)
"""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if argv else 2
    if argv[0] == "convert":
        return convert_main(argv[1:])
    if argv[0] != "render":
        print(f"unknown command {argv[0]!r}\n\n{USAGE}", file=sys.stderr)
        return 2
    return render(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
