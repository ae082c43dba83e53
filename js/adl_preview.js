// AnimateDiff-Lightning: the animated preview of every frame while a video samples (glue/preview.py).
//
// The server sends `adl.preview` to the client that queued the prompt, once per step: a JPEG sprite sheet of all
// frames of the current prediction (x0), where the frames lie in it, and the node being executed. The node gets a
// DOM widget (node.addDOMWidget) holding a <canvas> that loops through the frames: the classic canvas lays it over
// the node, Vue nodes put the same element inside the node, so both renderers show it. The widget is added on the
// first preview a node receives (sampler nodes of other packs too), never serialized, never sent in a prompt,
// its value always empty; the node's size is given back when the preview goes away. Vue nodes only render the
// widgets a node has when it is mounted, so the sampler nodes that can sample a model carrying the motion module
// (ours and core's) get the widget, hidden and 0 px high, when they are created; any other node gets it on its
// first preview (shown by the classic canvas).
//
// A run that stops or fails leaves nothing: the server says `cleared`, and execution_error / execution_interrupted
// of the host clear every preview (also failures after sampling); a new run clears the previous run's. A page that
// connects mid-run asks GET /adl/preview for the latest sheet of what is sampling now.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";

const EVENT = "adl.preview";
const WIDGET = "adl_video_preview";
const BOX_HEIGHT = 200; // px of the node the animation takes
const CAPTION_HEIGHT = 16;

const SAMPLERS = new Set(["ADL_SampleLightning", "KSampler", "KSamplerAdvanced", "SamplerCustom",
  "SamplerCustomAdvanced"]);

const shown = new Map(); // node id (string) -> state {node, message, sheet, frame, timer, ...}

function nodeFor(message) {
  const graph = app.graph;
  if (!graph?.getNodeById) return null;
  return graph.getNodeById(message.display_node) ?? graph.getNodeById(Number(message.display_node))
    ?? graph.getNodeById(message.node) ?? null;
}

/** The DOM widget of a node: added once, hidden (height 0) when there is nothing to show. */
function panelOf(node) {
  if (node.adlPreviewPanel) return node.adlPreviewPanel;
  if (typeof node.addDOMWidget !== "function") return null;
  const root = document.createElement("div");
  root.className = "adl-video-preview";
  root.dataset.adlNode = String(node.id);
  Object.assign(root.style, {
    display: "none", boxSizing: "border-box", width: "100%", height: `${BOX_HEIGHT}px`, position: "relative",
    background: "#111", borderRadius: "6px", overflow: "hidden", pointerEvents: "none",
  });
  const canvas = document.createElement("canvas");
  Object.assign(canvas.style, {
    display: "block", width: "100%", height: `${BOX_HEIGHT - CAPTION_HEIGHT}px`, objectFit: "contain",
  });
  const caption = document.createElement("div");
  Object.assign(caption.style, {
    height: `${CAPTION_HEIGHT}px`, lineHeight: `${CAPTION_HEIGHT}px`, font: "11px Arial, sans-serif",
    color: "#ddd", textAlign: "center", whiteSpace: "nowrap", overflow: "hidden",
  });
  root.append(canvas, caption);
  const height = () => (root.style.display === "none" ? 0 : BOX_HEIGHT);
  const w = node.addDOMWidget(WIDGET, WIDGET, root, {
    serialize: false, hideOnZoom: false, margin: 2,
    getValue: () => "", setValue: () => {},
    getMinHeight: height, getMaxHeight: height,
  });
  w.serialize = false;
  w.options.serialize = false;
  node.adlPreviewPanel = { root, canvas, caption, widget: w };
  return node.adlPreviewPanel;
}

function draw(state) {
  const { panel, message, sheet } = state;
  if (!sheet.complete || !sheet.naturalWidth) return;
  const { width, height, cols, frames } = message;
  const i = state.frame % frames;
  const canvas = panel.canvas;
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const ctx = canvas.getContext("2d");
  ctx.drawImage(sheet, (i % cols) * width, Math.floor(i / cols) * height, width, height, 0, 0, width, height);
  state.drawn = i;
  state.draws += 1;
}

function show(message) {
  const node = nodeFor(message);
  if (!node) return;
  const key = String(node.id);
  let state = shown.get(key);
  if (!state) {
    const size = node.size ? [...node.size] : null; // before our widget is added or shown
    const panel = panelOf(node);
    if (!panel) return;
    state = { node, panel, frame: 0, draws: 0, drawn: -1, size };
    shown.set(key, state);
    panel.root.style.display = "block";
    state.timer = setInterval(() => { state.frame += 1; draw(state); }, 1000 / Math.max(1, message.fps || 8));
    node.setSize?.([Math.max(node.size[0], 200), node.computeSize?.()[1] ?? node.size[1]]);
  }
  const sheet = new Image();
  sheet.onload = () => { if (state.message === message) draw(state); };
  sheet.src = message.image;
  state.message = message;
  state.sheet = sheet;
  state.panel.caption.textContent = `step ${message.step}/${message.total} · ${message.frames} frames`;
  node.adlPreview = { promptId: message.prompt_id, step: message.step, total: message.total,
    frames: message.frames, width: message.width, height: message.height };
  node.setDirtyCanvas?.(true, true);
}

function hide(key) {
  const state = shown.get(key);
  if (!state) return;
  shown.delete(key);
  clearInterval(state.timer);
  state.panel.root.style.display = "none";
  const ctx = state.panel.canvas.getContext("2d");
  ctx.clearRect(0, 0, state.panel.canvas.width, state.panel.canvas.height);
  state.panel.caption.textContent = "";
  state.node.adlPreview = null;
  if (state.size) state.node.setSize?.(state.size); // the node as it was before the preview
  state.node.setDirtyCanvas?.(true, true);
}

function hideAll(keep = () => false) {
  for (const [key, state] of [...shown]) if (!keep(state)) hide(key);
}

function onPreview({ detail }) {
  if (!detail?.node) return;
  if (detail.cleared) {
    const node = nodeFor(detail);
    if (node) hide(String(node.id));
    return;
  }
  // a newer prompt's preview replaces whatever an earlier prompt left on any node
  hideAll((state) => state.message?.prompt_id === detail.prompt_id);
  show(detail);
}

async function fetchLatest() {
  try {
    const id = api.clientId ?? api.initialClientId ?? sessionStorage.getItem("clientId") ?? "";
    const r = await api.fetchApi(`/adl/preview?clientId=${encodeURIComponent(id)}`);
    if (!r.ok) return;
    const { previews } = await r.json();
    for (const message of previews ?? []) onPreview({ detail: message });
  } catch (e) {
    console.warn("[AnimateDiff-Lightning] preview:", e);
  }
}

app.registerExtension({
  name: "AnimateDiffLightning.Preview",

  async setup() {
    api.addEventListener(EVENT, onPreview);
    api.addEventListener("execution_start", ({ detail }) =>
      hideAll((state) => state.message?.prompt_id === detail?.prompt_id));
    for (const event of ["execution_error", "execution_interrupted"]) api.addEventListener(event, () => hideAll());
    api.addEventListener("reconnected", fetchLatest);
    await fetchLatest();
    setTimeout(fetchLatest, 1500); // the socket may not have told us our client id yet
  },

  beforeRegisterNodeDef(nodeType, nodeData) {
    if (!SAMPLERS.has(nodeData?.name)) return;
    const original = nodeType.prototype.onNodeCreated;
    nodeType.prototype.onNodeCreated = function (...args) {
      const r = original?.apply(this, args);
      try {
        panelOf(this);
      } catch (e) {
        console.warn("[AnimateDiff-Lightning] preview:", e);
      }
      return r;
    };
  },

  afterConfigureGraph() {
    hideAll(); // another workflow: its nodes are not the ones the preview was for
  },
});
