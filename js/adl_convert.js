// AnimateDiff-Lightning: open AnimateDiff-Evolved / VideoHelperSuite / Advanced-ControlNet / FizzNodes workflows
// with this pack's nodes. When a loaded workflow has missing node types the converter knows (GET
// /adl/convert/types), a panel offers "Open with AnimateDiff-Lightning nodes": the workflow as it was loaded is
// sent to POST /adl/convert (the JSON only: no file name or path), the converted graph opens in a new tab
// (the original tab is left as it was), and the report is shown in plain words. Nodes that could not be
// converted stay in the graph, marked red, with the reason in the report. A second button, "Open switched to
// Lightning", opens the same conversion made a Lightning graph (the chosen steps' Lightning module, samplers set
// for it, LCM LoRAs bypassed; POST /adl/convert with "lightning": steps), its changes listed in the report.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";

const PANEL_ID = "adl-convert-offer";
const REPORT_ID = "adl-convert-report";
const PACK_NAMES = {
  "AnimateDiff-Evolved": "AnimateDiff-Evolved",
  VideoHelperSuite: "Video Helper Suite",
  "Advanced-ControlNet": "Advanced-ControlNet",
  FizzNodes: "FizzNodes",
};

let known = null; // {convert: {type: pack}, absent: {type: [pack, why]}}
let lastLoaded = null; // the workflow JSON as it was handed to the editor, before any missing-node placeholder

async function knownTypes() {
  if (known) return known;
  try {
    const r = await api.fetchApi("/adl/convert/types");
    known = r.ok ? await r.json() : { convert: {}, absent: {} };
  } catch (e) {
    console.warn("[AnimateDiff-Lightning] convert types:", e);
    known = { convert: {}, absent: {} };
  }
  return known;
}

/** Node types inside the workflow's subgraph definitions that this frontend does not know. */
function missingInSubgraphs(workflow) {
  const registered = window.LiteGraph?.registered_node_types ?? {};
  const subgraphs = workflow?.definitions?.subgraphs;
  if (!Array.isArray(subgraphs)) return [];
  const ids = new Set(subgraphs.map((sg) => sg?.id));
  return subgraphs.flatMap((sg) => (Array.isArray(sg?.nodes) ? sg.nodes : []))
    .map((n) => n?.type).filter((t) => typeof t === "string" && !(t in registered) && !ids.has(t));
}

const typeName = (t) => (typeof t === "string" ? t : t?.type ?? "");

function removeById(id) {
  document.getElementById(id)?.remove();
}

function panel(id, title) {
  removeById(id);
  const box = document.createElement("div");
  box.id = id;
  box.setAttribute("role", "region");
  box.setAttribute("aria-label", title);
  Object.assign(box.style, {
    position: "fixed", top: "64px", right: "16px", zIndex: 11000, maxWidth: "520px", maxHeight: "70vh",
    overflow: "auto", padding: "12px 14px", borderRadius: "8px", background: "#1f2937", color: "#f3f4f6",
    font: "13px/1.45 system-ui, sans-serif", boxShadow: "0 6px 24px rgba(0,0,0,.45)", border: "1px solid #4b5563",
  });
  const head = document.createElement("div");
  head.textContent = title;
  Object.assign(head.style, { fontWeight: "600", marginBottom: "6px" });
  box.append(head);
  return box;
}

function button(text, onClick, primary = false) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  Object.assign(b.style, {
    marginRight: "8px", marginTop: "8px", padding: "5px 10px", borderRadius: "5px", cursor: "pointer",
    border: "1px solid #6b7280", background: primary ? "#24613a" : "#374151", color: "#f9fafb",
  });
  b.addEventListener("click", onClick);
  return b;
}

function line(parent, text, style = {}) {
  const p = document.createElement("div");
  p.textContent = text;
  Object.assign(p.style, style);
  parent.append(p);
  return p;
}

/** The report as plain sentences: what became what, what stayed and why, what differs from the original. */
export function reportLines(report) {
  const out = { summary: report.summary, converted: [], kept: [], notes: [] };
  const node = (e) => `Node ${e.id}${e.subgraph ? ` (in subgraph ${e.subgraph})` : ""}`;
  for (const c of report.converted ?? []) {
    const targets = c.to.map((t) => t.replace(/^ADL_/, "").replace(/ \(node \d+\)$/, ""));
    out.converted.push(`${node(c)} ${c.type} (${c.version}) became ${[...new Set(targets)].join(" + ")}.`);
    for (const n of c.notes ?? []) out.notes.push(`${node(c)}: ${n}.`);
  }
  for (const k of report.kept ?? []) {
    out.kept.push(`${node(k)} ${k.type} (${PACK_NAMES[k.pack] ?? k.pack}) was left as it was: ${k.reason}.`);
  }
  for (const n of report.notes ?? []) out.notes.push(`${n}.`);
  return out;
}

function showReport(report, tabName, lightning = null) {
  const box = panel(REPORT_ID, "Opened with AnimateDiff-Lightning nodes");
  const text = reportLines(report);
  line(box, `${text.summary} The converted graph is in the new tab "${tabName}"; the original tab is unchanged.`);
  const section = (title, items, color) => {
    if (!items.length) return;
    line(box, title, { fontWeight: "600", marginTop: "8px", color });
    const list = document.createElement("ul");
    Object.assign(list.style, { margin: "2px 0 0 18px", padding: 0 });
    for (const item of items) {
      const li = document.createElement("li");
      li.textContent = item;
      list.append(li);
    }
    box.append(list);
  };
  section("Converted", text.converted, "#86efac");
  section("Left as they were (marked red)", text.kept, "#fca5a5");
  section("Worth knowing", text.notes, "#fcd34d");
  if (lightning) {
    section(`Switched to Lightning (${lightning.steps} step${lightning.steps === 1 ? "" : "s"})`,
      lightning.changes.map((c) => `${c[0].toUpperCase()}${c.slice(1)}.`), "#93c5fd");
  }
  box.append(button("Close", () => removeById(REPORT_ID)));
  document.body.append(box);
}

function currentName() {
  const wf = app.extensionManager?.workflow?.activeWorkflow ?? app.workflowManager?.activeWorkflow;
  const name = wf?.filename ?? wf?.name ?? "workflow";
  return String(name).replace(/\.json$/i, "");
}

async function convertAndOpen(workflow, sourceName, steps = null) {
  const request = steps ? { workflow, lightning: steps } : { workflow };
  const r = await api.fetchApi("/adl/convert", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(request),
  });
  const body = await r.json().catch(() => ({ error: `the server answered ${r.status}` }));
  if (!r.ok) throw new Error(body.error ?? `the server answered ${r.status}`);
  const tabName = steps ? `${sourceName} (Lightning ${steps}-step)` : `${sourceName} (converted)`;
  await app.loadGraphData(steps ? body.lightning.workflow : body.workflow, true, true, tabName);
  showReport(body.report, tabName, steps ? body.lightning : null);
  return body.report;
}

function offer(workflow, types) {
  const box = panel(PANEL_ID, "AnimateDiff-Lightning can open this workflow");
  const packs = [...new Set(types.map((t) => PACK_NAMES[known.convert[t]] ?? known.convert[t]))].join(", ");
  line(box, `${types.length} missing node type${types.length === 1 ? "" : "s"} (${packs}) can be replaced by `
    + "AnimateDiff-Lightning and core nodes. The converted graph opens in a new tab; this one stays as it is.");
  line(box, types.join(", "), { color: "#9ca3af", marginTop: "4px" });
  line(box, "Or switch it to Lightning too: its motion module becomes the Lightning file of the steps chosen "
    + "here, the samplers run those steps at cfg 1, LCM LoRAs are bypassed; the report lists each change.",
  { color: "#9ca3af", marginTop: "4px" });
  const status = line(box, "", { marginTop: "6px", color: "#fca5a5" });
  const run = (steps) => async () => {
    status.textContent = "Converting…";
    status.style.color = "#d1d5db";
    try {
      await convertAndOpen(workflow, currentName(), steps); // the tab's name is known once the load has finished
      removeById(PANEL_ID);
    } catch (e) {
      status.style.color = "#fca5a5";
      status.textContent = `Could not convert: ${e.message ?? e}`;
    }
  };
  box.append(button("Open with AnimateDiff-Lightning nodes", run(null), true));
  const steps = document.createElement("select");
  steps.setAttribute("aria-label", "Lightning steps");
  for (const n of [1, 2, 4, 8]) steps.append(new Option(`${n}-step`, String(n), n === 4, n === 4));
  Object.assign(steps.style, { marginTop: "8px", marginRight: "4px", background: "#374151", color: "#f9fafb",
    border: "1px solid #6b7280", borderRadius: "5px", padding: "4px" });
  box.append(button("Open switched to Lightning", () => run(Number(steps.value))()), steps);
  box.append(button("Not now", () => removeById(PANEL_ID)));
  document.body.append(box);
}

app.registerExtension({
  name: "AnimateDiffLightning.Convert",
  async beforeConfigureGraph(graphData) {
    try {
      lastLoaded = graphData ? JSON.parse(JSON.stringify(graphData)) : null;
    } catch {
      lastLoaded = null;
    }
  },
  async afterConfigureGraph(missingNodeTypes) {
    removeById(PANEL_ID);
    const missing = (missingNodeTypes ?? []).map(typeName).filter(Boolean);
    missing.push(...missingInSubgraphs(lastLoaded)); // not every frontend lists those
    if (!missing.length || !lastLoaded) return;
    const { convert } = await knownTypes();
    const convertible = [...new Set(missing.filter((t) => t in convert))].sort();
    if (convertible.length) offer(lastLoaded, convertible);
  },
});
