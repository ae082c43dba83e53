// The animated preview (js/adl_preview.js, glue/preview.py) in a real browser, one frontend and one renderer
// (the server's Comfy.VueNodes.Enabled setting picks classic canvas or Vue nodes before the page opens):
//   run:       the text-to-video workflow at 64x64, 8 frames, a few steps, queued as the Run button does; every
//              websocket message is counted by type from the page's first frame; each adl.preview sheet is cut
//              into its frames in the page (frames within a step differ, steps differ); the node's preview element
//              is on screen inside the node's box and its <canvas> changes while it loops;
//              the prompt (graphToPrompt) and the saved widgets are the same before and after;
//   interrupt: (previews on only) a longer run stopped after its first preview leaves no preview on the node.
// Prints one JSON object as its last line; the assertions are in tests/test_preview_browser.py.
// usage: node preview.mjs URL SPEC_JSON   (SPEC: {t2v, steps, interrupt_steps, seed, artifacts, tag})
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { closeDialogs, isKnownNoise, openWorkflowFile, setWidgets, smallRun } from "./browser.mjs";

const [url, specFile] = process.argv.slice(2);
const spec = JSON.parse(fs.readFileSync(specFile, "utf8"));
const SAMPLER = "ADL_SampleLightning";

// --- the page, with its websocket watched before it opens (browser.mjs's openComfy opens it first) -----------
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
const consoleErrors = [];
page.on("console", (msg) => {
  if (msg.type() !== "error") return;
  const where = msg.location()?.url ?? "";
  if (!isKnownNoise(msg.text(), where, url)) consoleErrors.push(where ? `${msg.text()} [${where}]` : msg.text());
});
page.on("pageerror", (err) => consoleErrors.push(`pageerror: ${err}`));
const ws = { counts: {}, binary: 0, previewBytes: [] };
page.on("websocket", (socket) => {
  if (!/\/ws(\?|$)/.test(socket.url())) return;
  socket.on("framereceived", ({ payload }) => {
    if (typeof payload !== "string") { ws.binary += 1; return; }
    let type = "?";
    try { type = JSON.parse(payload).type; } catch { /* not JSON */ }
    ws.counts[type] = (ws.counts[type] ?? 0) + 1;
    if (type === "adl.preview") ws.previewBytes.push(payload.length);
  });
});
await page.route((u) => !u.href.startsWith(url), (route) => route.abort());
await page.goto(url);
await page.waitForFunction(() => window.app && window.app.graph && window.LiteGraph, null, { timeout: 120000 });
await page.waitForTimeout(1500);

const out = { consoleErrors, ws, steps: [] };
const shot = (name) => path.join(spec.artifacts, `${spec.tag}-${name}.png`);
const closeAll = async () => {
  await closeDialogs(page);
  for (let i = 0; i < 2 && (await page.locator("[role='dialog']").count()); i++) {
    await page.keyboard.press("Escape");
    await page.waitForTimeout(300);
  }
};
const step = async (name, fn) => {
  const t0 = Date.now();
  const counted = { ...ws.counts };
  try {
    out[name] = await fn();
    // the websocket messages of this phase alone, by type
    out[name].wsCounts = Object.fromEntries(Object.entries(ws.counts)
      .map(([type, n]) => [type, n - (counted[type] ?? 0)]).filter(([, n]) => n > 0));
  } catch (e) {
    out[name] = { error: String(e?.stack ?? e).slice(0, 3000) };
    await page.screenshot({ path: shot(`${name}-error`) }).catch(() => {});
  }
  out.steps.push([name, Date.now() - t0]);
};

out.frontend = await page.evaluate(() => ({
  version: window.__COMFYUI_FRONTEND_VERSION__ ?? null,
  vueNodes: !!window.LiteGraph?.vueNodesMode,
}));

/** The prompt the frontend would queue and every node's saved widgets/size. */
const saved = () => page.evaluate(async () => {
  const { app } = window;
  const { output } = await app.graphToPrompt();
  const nodes = app.graph.serialize().nodes.map((n) => ({ id: n.id, type: n.type, widgets_values: n.widgets_values ?? [],
    size: Array.isArray(n.size) ? [...n.size] : n.size && [n.size[0], n.size[1]] }));
  return { prompt: output, nodes };
});

/** Load the workflow, make it small, and start watching: every adl.preview sheet is cut into frames and compared;
 * the node's element is sampled on a timer (on screen? inside the node? which frame is drawn? canvas pixels). */
async function prepare(steps) {
  await openWorkflowFile(page, spec.t2v);
  await closeAll();
  await setWidgets(page, smallRun(SAMPLER, spec.seed, steps));
  await page.evaluate((SAMPLER) => {
    const { app } = window;
    // the sampler in view, as a user watching it
    const node = app.graph.nodes.find((n) => n.type === SAMPLER);
    const r = app.canvas.canvas.getBoundingClientRect();
    app.canvas.ds.scale = 1;
    app.canvas.ds.offset = [r.width / 2 - node.pos[0] - node.size[0] / 2, 80 - node.pos[1]];
    app.canvas.setDirty(true, true);
  }, SAMPLER);
  await page.waitForTimeout(500);
  await page.evaluate((SAMPLER) => {
    const { app } = window;
    const api = window.api ?? app.api;
    const w = (window.__adl = { sheets: [], cleared: [], errors: [], done: false, interrupted: false, samples: [] });
    const node = app.graph.nodes.find((n) => n.type === SAMPLER);
    const pixelsOf = (img, m, i) => {
      const c = document.createElement("canvas");
      c.width = m.width; c.height = m.height;
      const ctx = c.getContext("2d");
      ctx.drawImage(img, (i % m.cols) * m.width, Math.floor(i / m.cols) * m.height, m.width, m.height, 0, 0, m.width, m.height);
      return ctx.getImageData(0, 0, m.width, m.height).data;
    };
    const diff = (a, b) => { let s = 0; for (let k = 0; k < a.length; k++) s += Math.abs(a[k] - b[k]); return s / a.length; };
    api.addEventListener("adl.preview", ({ detail: m }) => {
      if (m.cleared) { w.cleared.push({ node: m.node, reason: m.reason }); return; }
      const img = new Image();
      img.onload = () => {
        const frames = [...Array(m.frames).keys()].map((i) => pixelsOf(img, m, i));
        w.sheets.push({ step: m.step, total: m.total, frames: m.frames, width: m.width, height: m.height,
          node: m.display_node, sheetW: img.naturalWidth, sheetH: img.naturalHeight,
          withinStep: frames.slice(1).map((f) => diff(frames[0], f)), first: frames[0] });
      };
      img.src = m.image;
    });
    api.addEventListener("execution_error", (e) => w.errors.push(e.detail?.exception_message ?? "error"));
    api.addEventListener("execution_interrupted", () => { w.interrupted = true; });
    api.addEventListener("executing", (e) => { if (e.detail === null || e.detail?.node === null) w.done = true; });
    api.addEventListener("execution_success", () => { w.done = true; });
    // what the screen shows, every 70 ms
    w.timer = setInterval(() => {
      const el = node.adlPreviewPanel?.root;
      if (!el) return;
      const canvas = el.querySelector("canvas");
      const box = el.getBoundingClientRect();
      const vueNode = document.querySelector(`[data-node-id="${node.id}"]`);
      let inside;
      if (vueNode) inside = vueNode.contains(el);
      else {
        const ds = app.canvas.ds;
        const cr = app.canvas.canvas.getBoundingClientRect();
        const nx = cr.left + (node.pos[0] + ds.offset[0]) * ds.scale;
        const ny = cr.top + (node.pos[1] + ds.offset[1]) * ds.scale;
        inside = box.left >= nx - 2 && box.right <= nx + node.size[0] * ds.scale + 2 && box.top >= ny - 2
          && box.bottom <= ny + node.size[1] * ds.scale + 2;
      }
      let sum = 0;
      if (canvas.width && canvas.height) {
        const d = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        for (let k = 0; k < d.length; k += 7) sum = (sum * 31 + d[k]) % 1000000007;
      }
      const style = getComputedStyle(el);
      w.samples.push({ t: Date.now(), step: node.adlPreview?.step ?? null, visible: style.display !== "none"
        && style.visibility !== "hidden" && box.width > 20 && box.height > 20, inside,
        onScreen: box.bottom > 0 && box.right > 0 && box.top < innerHeight && box.left < innerWidth,
        width: Math.round(box.width), height: Math.round(box.height), hash: sum });
    }, 70);
  }, SAMPLER);
}

async function queueAndWait(timeoutMs, stopAfterFirstPreview = false) {
  await page.evaluate(() => window.app.extensionManager.command.execute("Comfy.QueuePrompt"));
  let stopped = false;
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
    const s = await page.evaluate(() => ({ done: window.__adl.done, interrupted: window.__adl.interrupted,
      errors: window.__adl.errors, sheets: window.__adl.sheets.length }));
    if (stopAfterFirstPreview && !stopped && s.sheets >= 1) {
      stopped = true;
      await page.evaluate(() => fetch("/interrupt", { method: "POST" }));
    }
    if (s.errors.length || s.interrupted || s.done) break;
    await page.waitForTimeout(200);
  }
  await page.waitForTimeout(1200); // the loop keeps running after the last step
  return page.evaluate(() => {
    const w = window.__adl;
    clearInterval(w.timer);
    return { done: w.done, interrupted: w.interrupted, errors: w.errors, cleared: w.cleared,
      sheets: w.sheets.map(({ first, ...rest }) => rest), samples: w.samples,
      // how much the first frame changed from one step to the next
      betweenSteps: w.sheets.slice(1).map((s, i) => {
        const a = w.sheets[i].first; const b = s.first;
        let t = 0; for (let k = 0; k < a.length; k++) t += Math.abs(a[k] - b[k]);
        return t / a.length;
      }) };
  });
}

await step("run", async () => {
  await prepare(spec.steps);
  const before = await saved();
  const result = await queueAndWait(300_000);
  await page.screenshot({ path: shot("run") }).catch(() => {});
  const after = await saved();
  const preview = await page.evaluate((SAMPLER) => {
    const node = window.app.graph.nodes.find((n) => n.type === SAMPLER);
    return { state: node.adlPreview ?? null, widgetNames: node.widgets.map((w) => w.name),
      serialized: Object.keys(node.serialize()).sort() };
  }, SAMPLER);
  const bySize = (s) => s.nodes.map(({ size, ...rest }) => rest);
  // inputs that changed between the prompt before and after the run (the frontend adds its own after a run:
  // Save Video's "video-preview"); none may be ours
  const changed = [];
  for (const [id, node] of Object.entries(after.prompt)) {
    const was = before.prompt[id]?.inputs ?? {};
    for (const [k, v] of Object.entries(node.inputs)) if (JSON.stringify(was[k]) !== JSON.stringify(v)) changed.push(`${id}.${k}`);
    for (const k of Object.keys(was)) if (!(k in node.inputs)) changed.push(`${id}.${k}`);
  }
  return { ...result, preview, changedInputs: changed, promptSame: JSON.stringify(before.prompt) === JSON.stringify(after.prompt),
    widgetsSame: JSON.stringify(bySize(before)) === JSON.stringify(bySize(after)),
    sizesBefore: before.nodes.map((n) => n.size), sizesAfter: after.nodes.map((n) => n.size),
    promptInputs: before.prompt[String(after.nodes.find((n) => n.type === SAMPLER).id)]?.inputs ?? null };
});

if (spec.interrupt_steps) {
  await step("interrupt", async () => {
    await prepare(spec.interrupt_steps);
    const sizeBefore = await page.evaluate((SAMPLER) => [...window.app.graph.nodes.find((n) => n.type === SAMPLER).size], SAMPLER);
    const result = await queueAndWait(300_000, true);
    const node = await page.evaluate((SAMPLER) => {
      const n = window.app.graph.nodes.find((x) => x.type === SAMPLER);
      const el = n.adlPreviewPanel?.root;
      return { state: n.adlPreview ?? null, display: el ? getComputedStyle(el).display : null, size: [...n.size] };
    }, SAMPLER);
    await page.screenshot({ path: shot("interrupt") }).catch(() => {});
    return { ...result, samples: result.samples.slice(-3), node, sizeBefore };
  });
}

await browser.close();
console.log(JSON.stringify(out));
