// AnimateDiff-Lightning: Lightning presets on the sampler/scheduler, video previews that play and loop,
// and fetching a missing Lightning file from the loader (POST /adl/download, known ids only).
// Nothing here changes a workflow: labels are drawn, not stored, and the download button is never serialized.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";

const LOADER = "ADL_LoadMotionModule";
const TARGETS = new Set(["ADL_SampleLightning", "ADL_LightningScheduler"]);
const SAVER = "ADL_SaveVideo";
const FOLLOWED_TYPES = new Set(["MODEL", "ADL_MOTION_MODULE", "*"]);
const EVENT = "adl.download";
const COLORS = { ok: "#24613a", warn: "#9a5b00", error: "#8b2a2a" };

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
const nodesOf = (graph) => graph?.nodes ?? graph?._nodes ?? [];
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
      node.adlPreset = presetFor(source.get(node), widget(node, "steps")?.value, widget(node, "cfg")?.value);
    }
    graph.setDirtyCanvas?.(true, false);
  }
}

let pending = false;
function scheduleRefresh() {
  if (pending) return;
  pending = true;
  setTimeout(() => {
    pending = false;
    try { refreshPresets(); } catch (e) { console.warn("[AnimateDiff-Lightning] presets:", e); }
  }, 0);
}

/** Call `onChange` whenever the widget's value changes: picked in the UI, pasted, loaded or set by a script. */
function watchValue(w, onChange) {
  if (!w || w.__adlWatched) return;
  let proto = w;
  let desc;
  while (proto && !(desc = Object.getOwnPropertyDescriptor(proto, "value"))) proto = Object.getPrototypeOf(proto);
  if (!desc) return;
  let stored = desc.value;
  const get = desc.get ? () => desc.get.call(w) : () => stored;
  const set = desc.set ? (v) => desc.set.call(w, v) : (v) => { stored = v; };
  Object.defineProperty(w, "value", {
    configurable: true,
    enumerable: desc.enumerable,
    get,
    set(v) {
      const before = get();
      set(v);
      if (before !== get()) onChange(get());
    },
  });
  w.__adlWatched = true;
}

/** Watch the widgets the presets depend on (widgets may be added after nodeCreated: called again later). */
function watchWidgets(node) {
  if (node.type === LOADER) watchValue(widget(node, "model_name"), () => { updateLoader(node); scheduleRefresh(); });
  if (TARGETS.has(node.type)) {
    watchValue(widget(node, "steps"), scheduleRefresh);
    watchValue(widget(node, "cfg"), scheduleRefresh);
  }
}

function chain(obj, name, fn) {
  const original = obj[name];
  obj[name] = function (...args) {
    const r = original?.apply(this, args);
    fn.apply(this, args);
    return r;
  };
}

function drawPill(ctx, text, level, y) {
  ctx.save();
  ctx.font = "12px Arial";
  const h = 18;
  const w = ctx.measureText(text).width + 14;
  ctx.fillStyle = COLORS[level] ?? COLORS.ok;
  ctx.beginPath();
  ctx.roundRect ? ctx.roundRect(0, y, w, h, 7) : ctx.rect(0, y, w, h);
  ctx.fill();
  ctx.fillStyle = "#fff";
  ctx.textBaseline = "middle";
  ctx.fillText(text, 7, y + h / 2 + 1);
  ctx.restore();
}

const belowNode = (node) => node.size[1] + 5; // above the title sit the frontend's own badges

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

function buttonLabel(row) {
  const d = downloads.get(row.id);
  const steps = lightningSteps(row.filename);
  const what = steps ? `${steps}-step module` : row.filename;
  if (d?.status === "progress" || d?.status === "started") {
    return d.total ? `Downloading ${Math.floor((100 * d.done) / d.total)}% of ${mb(d.total)}` : `Downloading ${what}…`;
  }
  if (d?.status === "error") return `Download failed: retry ${what}`;
  const size = sizeOf(row);
  return `Download ${what}${size ? ` (${size})` : ""}`;
}

function updateLoader(node) {
  const row = wantedFile(node);
  let button = node.widgets?.find((w) => w.__adlDownload);
  if (!row) {
    if (button) {
      const i = node.widgets.indexOf(button);
      if (i >= 0) node.widgets.splice(i, 1);
      node.setSize?.([node.size[0], node.computeSize()[1]]);
    }
    node.adlDownloadRow = null;
    node.setDirtyCanvas?.(true, true);
    return;
  }
  node.adlDownloadRow = row;
  if (!button) {
    button = node.addWidget("button", buttonLabel(row), null, () => startDownload(node), { serialize: false });
    button.serialize = false;
    button.__adlDownload = true;
    node.setSize?.([node.size[0], node.computeSize()[1]]);
  }
  button.label = button.name = buttonLabel(row);
  button.tooltip = `Fetches ${row.filename} from the Hugging Face Hub into models/${row.folder} (sha256-checked).`;
  node.setDirtyCanvas?.(true, true);
}

function updateLoaders() {
  for (const node of nodesOf(app.graph)) if (node.type === LOADER) updateLoader(node);
}

async function startDownload(node) {
  const row = node.adlDownloadRow;
  if (!row) return;
  const state = downloads.get(row.id);
  if (state?.status === "progress" || state?.status === "started") return;
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
  downloads.delete(row.id);
  await loadKnownFiles();
  try { await app.refreshComboInNodes?.(); } catch (e) { console.warn("[AnimateDiff-Lightning] refresh:", e); }
  for (const node of nodesOf(app.graph)) {
    if (node.type !== LOADER || node.adlDownloadRow?.id !== row.id) continue;
    const w = widget(node, "model_name");
    if (w && w.value !== row.filename) {
      w.value = row.filename;
      w.callback?.(w.value, app.canvas, node);
    }
  }
  updateLoaders();
  scheduleRefresh();
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

// --- video previews -----------------------------------------------------------------------------------

/** The frontend shows our mp4/webm in a <video> with controls and loop, paused; make it play (muted) once it
 * exists. The frontend builds the preview only when the node is drawn, so this runs on draw too. */
function armVideo(node) {
  const video = node.videoContainer?.querySelector?.("video");
  if (!video || video.__adlArmed) return;
  video.__adlArmed = true;
  Object.assign(video, { muted: true, loop: true, controls: true, autoplay: true, playsInline: true });
  video.play?.()?.catch?.(() => {}); // a browser may refuse autoplay; the controls still work
}

app.registerExtension({
  name: "AnimateDiffLightning.UI",

  async setup() {
    api.addEventListener(EVENT, onDownloadEvent);
    await loadKnownFiles();
    updateLoaders();
    scheduleRefresh();
  },

  beforeRegisterNodeDef(nodeType, nodeData) {
    const proto = nodeType.prototype;
    chain(proto, "onConnectionsChange", scheduleRefresh); // any node: MODEL links pass through core nodes too
    chain(proto, "onNodeCreated", function () {
      watchWidgets(this);
      setTimeout(() => { watchWidgets(this); if (this.type === LOADER) updateLoader(this); scheduleRefresh(); }, 0);
    });
    const type = nodeData?.name;
    if (type === LOADER) {
      chain(proto, "onDrawForeground", function (ctx) {
        const row = this.adlDownloadRow;
        const d = row && downloads.get(row.id);
        if (!d || this.flags?.collapsed) return;
        if (d.status === "error") drawPill(ctx, "Download failed: see the message", "error", belowNode(this));
        else if (d.total) {
          const w = this.size[0];
          ctx.save();
          ctx.fillStyle = "#333";
          ctx.fillRect(0, this.size[1] - 4, w, 4);
          ctx.fillStyle = "#3a9d5d";
          ctx.fillRect(0, this.size[1] - 4, (w * d.done) / d.total, 4);
          ctx.restore();
        }
      });
    }
    if (TARGETS.has(type)) {
      chain(proto, "onDrawForeground", function (ctx) {
        if (this.adlPreset && !this.flags?.collapsed) drawPill(ctx, this.adlPreset.text, this.adlPreset.level, belowNode(this));
      });
    }
    if (type === SAVER) {
      chain(proto, "onExecuted", function () { // the preview appears once the node is drawn: watch for a minute
        let tries = 0;
        const timer = setInterval(() => {
          armVideo(this);
          if (this.videoContainer?.querySelector?.("video")?.__adlArmed || ++tries > 300) clearInterval(timer);
        }, 200);
      });
      chain(proto, "onDrawForeground", function () { armVideo(this); });
    }
  },

  afterConfigureGraph() {
    for (const node of nodesOf(app.graph)) watchWidgets(node);
    updateLoaders();
    scheduleRefresh();
  },
});
