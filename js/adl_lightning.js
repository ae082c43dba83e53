// AnimateDiff-Lightning: Lightning presets on the sampler/scheduler (video previews: adl_video.js),
// and fetching a missing Lightning file from the loader (POST /adl/download, known ids only).
//
// Both renderers show it: the classic canvas and Vue nodes (Comfy.VueNodes.Enabled). The preset label and the
// download panel are DOM widgets (node.addDOMWidget): the canvas lays them over the node, Vue nodes put the same
// element inside the node (WidgetDOM). Nothing is drawn in onDrawForeground (Vue nodes never call it) and no
// widget's `value` is redefined (in 1.53+ values live in a store such a property detaches from): the state is
// read on a cheap timer and the DOM touched only when something changed.
// Nothing here changes a workflow: our widgets come last, are never serialized (widgets_values) nor sent
// (graphToPrompt), and their value is always empty.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";

const LOADER = "ADL_LoadMotionModule";
const TARGETS = new Set(["ADL_SampleLightning", "ADL_LightningScheduler"]);
const FOLLOWED_TYPES = new Set(["MODEL", "ADL_MOTION_MODULE", "*"]);
const EVENT = "adl.download";
const COLORS = { ok: "#24613a", warn: "#9a5b00", error: "#8b2a2a" };
const TICK_MS = 250;

/** The step count a Lightning file was distilled for, from its name (as motion_modules/formats.py). */
export function lightningSteps(name) {
  const m = /lightning[^/\\]*?(\d+)[-_ ]?step/i.exec(String(name ?? ""));
  return m ? Number(m[1]) : null;
}

/** The label for a sampler/scheduler fed by a module distilled for `module` steps. */
export function presetFor(module, steps, cfg) {
  if (!module) return null;
  const chosen = Number(steps) || 0;
  const fine = chosen === 0 || chosen === module || (module === 2 && chosen === 3);
  if (!fine) return { level: "warn", text: `⚠ ${module}-step module, ${chosen} steps: use ${module} (or 0)` };
  const used = chosen || module;
  const head = `${module}-step module: ${chosen ? "" : "auto "}${used} step${used === 1 ? "" : "s"}`;
  if (cfg != null && Number(cfg) !== 1) return { level: "warn", text: `${head}, cfg ${cfg} (1 as trained)` };
  return { level: "ok", text: `${head}, cfg 1` };
}

const widget = (node, name) => node.widgets?.find((w) => w.name === name);
export const nodesOf = (graph) => graph?.nodes ?? graph?._nodes ?? [];
const linkOf = (graph, id) => (graph.links instanceof Map ? graph.links.get(id) : graph.links?.[id]);

/** Sampler/scheduler nodes fed by `loader`, through motion-module and MODEL links (LoRA, Apply, Context...). */
function downstreamTargets(loader) {
  const graph = loader.graph;
  const seen = new Set([loader.id]);
  const found = [];
  const queue = [loader];
  while (queue.length) {
    const node = queue.shift();
    for (const out of node.outputs ?? []) {
      if (!FOLLOWED_TYPES.has(String(out.type)) && node.type !== "Reroute") continue;
      for (const id of out.links ?? []) {
        const link = linkOf(graph, id);
        const next = link && graph.getNodeById(link.target_id);
        if (!next || seen.has(next.id)) continue;
        seen.add(next.id);
        if (TARGETS.has(next.type)) found.push(next);
        queue.push(next);
      }
    }
  }
  return found;
}

/** A DOM widget that is ours: shown by both renderers, never serialized, never in the prompt, always empty. */
export function addPanel(node, name, element, height) {
  if (typeof node.addDOMWidget !== "function") return null;
  const w = node.addDOMWidget(name, name, element, {
    serialize: false, hideOnZoom: false, margin: 2,
    getValue: () => "", setValue: () => {},
    getMinHeight: () => (element.style.display === "none" ? 0 : height()),
    getMaxHeight: () => (element.style.display === "none" ? 0 : height()),
  });
  w.serialize = false;
  w.options.serialize = false;
  return w;
}

export function styled(tag, className, css) {
  const el = document.createElement(tag);
  el.className = className;
  Object.assign(el.style, css);
  return el;
}

/** The preset label under a sampler's/scheduler's widgets. */
function addPresetLabel(node) {
  if (node.adlLabel) return;
  const el = styled("div", "adl-preset", {
    display: "none", boxSizing: "border-box", width: "100%", height: "20px", lineHeight: "20px",
    padding: "0 8px", borderRadius: "7px", color: "#fff", font: "12px Arial, sans-serif",
    whiteSpace: "nowrap", overflow: "hidden", textOverflow: "ellipsis", pointerEvents: "none",
  });
  el.dataset.adlNode = String(node.id);
  node.adlLabel = el;
  addPanel(node, "adl_preset", el, () => 24);
}

function showPreset(node, preset) {
  node.adlPreset = preset;
  const el = node.adlLabel;
  if (!el) return;
  el.dataset.adlNode = String(node.id);
  const text = preset?.text ?? "";
  const display = preset ? "block" : "none";
  if (el.textContent === text && el.style.display === display && el.dataset.level === (preset?.level ?? "")) return;
  el.textContent = text;
  el.title = text;
  el.dataset.level = preset?.level ?? "";
  el.style.background = COLORS[preset?.level] ?? COLORS.ok;
  el.style.display = display;
  node.setDirtyCanvas?.(true, true); // the canvas makes room on its next frame; Vue nodes size to their DOM
}

function refreshPresets() {
  const graphs = new Set([app.graph, app.canvas?.graph].filter(Boolean));
  for (const graph of graphs) {
    const source = new Map();
    for (const node of nodesOf(graph)) {
      if (node.type !== LOADER || node.mode === 2 || node.mode === 4) continue;
      const steps = lightningSteps(widget(node, "model_name")?.value);
      for (const target of downstreamTargets(node)) if (!source.has(target)) source.set(target, steps);
    }
    for (const node of nodesOf(graph)) {
      if (!TARGETS.has(node.type)) continue;
      showPreset(node, presetFor(source.get(node), widget(node, "steps")?.value, widget(node, "cfg")?.value));
    }
  }
}

let pending = false;
function scheduleRefresh() {
  if (pending) return;
  pending = true;
  setTimeout(() => {
    pending = false;
    tick();
  }, 0);
}

/** ``obj[name]`` runs as before, then ``fn`` with the same arguments. */
export function chain(obj, name, fn) {
  const original = obj[name];
  obj[name] = function (...args) {
    const r = original?.apply(this, args);
    fn.apply(this, args);
    return r;
  };
}

// --- downloads ----------------------------------------------------------------------------------------

const known = new Map(); // filename -> row of GET /adl/known_files
const downloads = new Map(); // id -> {done, total, status, message}

async function loadKnownFiles() {
  try {
    const r = await api.fetchApi("/adl/known_files");
    if (!r.ok) return;
    known.clear();
    for (const row of (await r.json()).files ?? []) known.set(row.filename, row);
  } catch (e) {
    console.warn("[AnimateDiff-Lightning] could not list the known files:", e);
  }
}

const sizeOf = (row) => /~?\s*([\d.]+\s*[MG]B)/.exec(row.description ?? "")?.[1];
const mb = (n) => (n >= 1e7 ? `${Math.round(n / 1e6)} MB` : `${(n / 1e6).toFixed(1)} MB`);

/** The known Lightning file this loader needs: its chosen file when missing, or the 4-step one when none exist. */
function wantedFile(node) {
  const w = widget(node, "model_name");
  if (!w) return null;
  const row = known.get(w.value);
  if (row) return row.present ? null : row;
  const options = w.options?.values;
  const hasAny = Array.isArray(options) ? options.length > 0 : true;
  if (hasAny) return null;
  const fallback = [...known.values()].find((r) => r.id === "lightning_4step");
  return fallback && !fallback.present ? fallback : null;
}

// "done": fetched and checked, until the file lists are reloaded (the button must not offer the file again meanwhile)
const busy = (d) => d?.status === "progress" || d?.status === "started" || d?.status === "done";

function buttonLabel(row) {
  const d = downloads.get(row.id);
  const steps = lightningSteps(row.filename);
  const what = steps ? `${steps}-step module` : row.filename;
  if (d?.status === "done") return `Downloaded ${what}`;
  if (busy(d)) {
    return d.total ? `Downloading ${Math.floor((100 * d.done) / d.total)}% of ${mb(d.total)}` : `Downloading ${what}…`;
  }
  if (d?.status === "error") return `Download failed: retry ${what}`;
  const size = sizeOf(row);
  return `Download ${what}${size ? ` (${size})` : ""}`;
}

/** The loader's download panel: a button whose text is the state, a progress bar, the error if any. */
function addDownloadPanel(node) {
  if (node.adlDownload) return;
  const panel = styled("div", "adl-download", {
    display: "none", boxSizing: "border-box", width: "100%", font: "12px Arial, sans-serif", color: "#ddd",
  });
  const button = styled("button", "adl-download-button", {
    width: "100%", height: "24px", border: "1px solid #3a9d5d", borderRadius: "6px", background: "#24613a",
    color: "#fff", font: "12px Arial, sans-serif", cursor: "pointer", whiteSpace: "nowrap", overflow: "hidden",
    textOverflow: "ellipsis",
  });
  button.type = "button";
  const bar = styled("progress", "adl-download-progress", { display: "none", width: "100%", height: "8px", marginTop: "3px" });
  bar.max = 100;
  const message = styled("div", "adl-download-message", {
    display: "none", color: "#ff8a80", marginTop: "3px", whiteSpace: "nowrap", overflow: "hidden", textOverflow: "ellipsis",
  });
  panel.append(button, bar, message);
  for (const type of ["pointerdown", "mousedown"]) button.addEventListener(type, (e) => e.stopPropagation());
  button.addEventListener("click", (e) => {
    e.stopPropagation();
    startDownload(node);
  });
  panel.dataset.adlNode = String(node.id);
  node.adlDownload = { panel, button, bar, message };
  addPanel(node, "adl_download", panel, () =>
    28 + (bar.style.display === "none" ? 0 : 11) + (message.style.display === "none" ? 0 : 18));
}

function updateLoader(node) {
  const row = wantedFile(node);
  node.adlDownloadRow = row;
  const ui = node.adlDownload;
  if (!ui) return;
  ui.panel.dataset.adlNode = String(node.id);
  const d = row && downloads.get(row.id);
  const state = {
    panel: row ? "block" : "none",
    label: row ? buttonLabel(row) : "",
    bar: busy(d) ? "block" : "none",
    value: busy(d) && d.total ? Math.floor((100 * d.done) / d.total) : null,
    message: d?.status === "error" ? d.message ?? "" : "",
  };
  const key = JSON.stringify(state);
  if (ui.key === key) return;
  ui.key = key;
  ui.panel.style.display = state.panel;
  ui.button.textContent = state.label;
  ui.button.disabled = busy(d);
  ui.button.title = row ? `Fetches ${row.filename} from the Hugging Face Hub into models/${row.folder} (sha256-checked).` : "";
  ui.bar.style.display = state.bar;
  if (state.value === null) ui.bar.removeAttribute("value");
  else ui.bar.value = state.value;
  ui.message.style.display = state.message ? "block" : "none";
  ui.message.textContent = state.message;
  node.setDirtyCanvas?.(true, true);
}

function updateLoaders() {
  for (const node of nodesOf(app.graph)) if (node.type === LOADER) updateLoader(node);
}

async function startDownload(node) {
  const row = node.adlDownloadRow;
  if (!row) return;
  if (busy(downloads.get(row.id))) return;
  downloads.set(row.id, { status: "started", done: 0, total: null });
  updateLoaders();
  try {
    const r = await api.fetchApi("/adl/download", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ id: row.id }),
    });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.error ?? `HTTP ${r.status}`);
    if (body.status === "present") await finished(row, "");
  } catch (e) {
    downloads.set(row.id, { status: "error", message: String(e.message ?? e) });
    notify("error", `Download of ${row.filename} failed`, String(e.message ?? e));
    updateLoaders();
  }
}

async function finished(row, message) {
  downloads.set(row.id, { status: "done", done: 1, total: 1 });
  updateLoaders();
  await loadKnownFiles();
  try { await app.refreshComboInNodes?.(); } catch (e) { console.warn("[AnimateDiff-Lightning] refresh:", e); }
  downloads.delete(row.id);
  for (const node of nodesOf(app.graph)) {
    if (node.type !== LOADER || node.adlDownloadRow?.id !== row.id) continue;
    const w = widget(node, "model_name");
    if (w && w.value !== row.filename) {
      w.value = row.filename;
      w.callback?.(w.value, app.canvas, node);
    }
  }
  tick();
  notify("success", `${row.filename} is ready`, message);
}

function notify(severity, summary, detail) {
  const toast = app.extensionManager?.toast;
  if (toast?.add) toast.add({ severity, summary, detail, life: severity === "error" ? 10000 : 4000 });
}

function onDownloadEvent({ detail }) {
  if (!detail?.id) return;
  const row = [...known.values()].find((r) => r.id === detail.id);
  if (detail.status === "done") {
    if (row) finished(row, detail.message);
    return;
  }
  downloads.set(detail.id, detail);
  if (detail.status === "error") notify("error", `Download of ${detail.filename} failed`, detail.message);
  updateLoaders();
}

// --- the timer ----------------------------------------------------------------------------------------

function tick() {
  try {
    refreshPresets();
    updateLoaders();
  } catch (e) {
    console.warn("[AnimateDiff-Lightning]", e);
  }
}

app.registerExtension({
  name: "AnimateDiffLightning.UI",

  async setup() {
    api.addEventListener(EVENT, onDownloadEvent);
    await loadKnownFiles();
    tick();
    setInterval(tick, TICK_MS);
  },

  beforeRegisterNodeDef(nodeType, nodeData) {
    const proto = nodeType.prototype;
    chain(proto, "onConnectionsChange", scheduleRefresh); // any node: MODEL links pass through core nodes too
    const type = nodeData?.name;
    if (type === LOADER) chain(proto, "onNodeCreated", function () { addDownloadPanel(this); scheduleRefresh(); });
    if (TARGETS.has(type)) chain(proto, "onNodeCreated", function () { addPresetLabel(this); scheduleRefresh(); });
  },

  afterConfigureGraph() {
    scheduleRefresh();
  },
});
