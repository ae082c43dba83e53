// Everything the pack shows an artist, in one frontend and one renderer (the server's Comfy.VueNodes.Enabled
// setting picks classic canvas or Vue nodes before the page opens):
//   templates: the template browser lists the pack's cards with their thumbnails; each card opens its workflow
//              (unknown node types, missing-node/model dialogs, missing media, graphToPrompt, widgets_values);
//   presets:   the Lightning label under the sampler/scheduler, as it is on screen (element, box, pixels);
//   download:  a missing known file offered by the loader, fetched by a click on the panel's button, progress;
//   run:       the text-to-video workflow run with the Run button; Save Video's preview <video> plays.
// Prints one JSON object as its last line; the assertions are in tests/test_browser.py.
//   old_files: a Load Video (Lightning) saved before resample_rule opens with the rule at its default;
// usage: node features.mjs URL SPEC_JSON   (SPEC: {pack, templates, t2v, long, old_load_video, seed, artifacts, tag})
import fs from "node:fs";
import path from "node:path";
import { closeDialogs, dialogs, finish, openComfy, openWorkflowFile, setWidgets, smallRun } from "./browser.mjs";

const [url, specFile] = process.argv.slice(2);
const spec = JSON.parse(fs.readFileSync(specFile, "utf8"));
const { browser, page, consoleErrors, noise } = await openComfy(url);
const out = { consoleErrors, noise, steps: [] };
/** Close whatever dialog is open (PrimeVue's in 1.3x, reka-ui's in 1.5x). */
const closeAll = async () => {
  await closeDialogs(page);
  for (let i = 0; i < 2 && (await page.locator("[role='dialog']").count()); i++) {
    await page.keyboard.press("Escape");
    await page.waitForTimeout(300);
  }
};
const settle = (ms = 400) => page.waitForTimeout(ms); // the extension's timer ticks every 250 ms
const shot = (name) => path.join(spec.artifacts, `${spec.tag}-${name}.png`);
const step = async (name, fn) => {
  const t0 = Date.now();
  try {
    out[name] = await fn();
  } catch (e) {
    out[name] = { error: String(e?.stack ?? e).slice(0, 3000) };
    await page.screenshot({ path: shot(`${name}-error`) }).catch(() => {});
    await closeAll().catch(() => {});
  }
  out.steps.push([name, Date.now() - t0]);
};

out.frontend = await page.evaluate(() => ({
  version: window.__COMFYUI_FRONTEND_VERSION__ ?? null,
  vueNodes: !!window.LiteGraph?.vueNodesMode,
  setting: window.app.extensionManager?.setting?.get?.("Comfy.VueNodes.Enabled") ?? null,
}));

// ---- shared page helpers -----------------------------------------------------------------------------

/** The frontend's pinia store by id (missing media lives there in 1.53+), or null. */
const MISSING_MEDIA = () => {
  const pinia = document.querySelector("#vue-app")?.__vue_app__?.config?.globalProperties?.$pinia;
  const store = pinia?._s?.get?.("missingMedia");
  const list = store?.missingMediaCandidates ?? null;
  return list === null ? null : [...list].map((c) => JSON.parse(JSON.stringify(c)));
};

/** What is on the canvas now: types, unknown types, missing media, the prompt and the saved widgets. */
const graphState = () => page.evaluate(async (missingMedia) => {
  const { app, LiteGraph } = window;
  const { output } = await app.graphToPrompt();
  const media = new Function(`return (${missingMedia})()`)();
  const text = document.body.innerText;
  return {
    types: app.graph.nodes.map((n) => n.type).sort(),
    missingTypes: app.graph.nodes.filter((n) => !LiteGraph.registered_node_types[n.type]).map((n) => n.type),
    missingMedia: media,
    missingMediaShown: /Media input missing|Missing media inputs|Missing Inputs/.test(text),
    prompt: output,
    widgets: Object.fromEntries(app.graph.serialize().nodes.map((n) => [n.id, n.widgets_values ?? null])),
    workflow: app.extensionManager.workflow?.activeWorkflow?.filename ?? null,
  };
}, MISSING_MEDIA.toString());

/** Bring a node to the middle of the screen at scale 1 (both renderers follow the canvas transform). */
const centre = (type, index = 0) => page.evaluate(([type, index]) => {
  const app = window.app;
  const node = app.graph.nodes.filter((n) => n.type === type)[index];
  const c = app.canvas.canvas;
  const r = c.getBoundingClientRect();
  app.canvas.ds.scale = 1;
  app.canvas.ds.offset = [r.width / 2 - node.pos[0] - node.size[0] / 2, r.height / 2 - node.pos[1] - node.size[1] / 2];
  app.canvas.setDirty(true, true);
}, [type, index]).then(() => settle(500));

const setWidget = (type, name, value, index = 0) => setWidgets(page, [[type, name, value, index]]).then(() => settle());

const widgetValue = (type, name) => page.evaluate(([type, name]) =>
  window.app.graph.nodes.find((n) => n.type === type).widgets.find((w) => w.name === name).value, [type, name]);

/** An element of ours as the screen has it: its text, whether it is rendered and on screen, its box, and
 * whether the node's own on-screen box holds it. */
const onScreen = (selector, type, index = 0) => page.evaluate(([selector, type, index]) => {
  const app = window.app;
  const node = app.graph.nodes.filter((n) => n.type === type)[index];
  if (!node) return { error: `no ${type}` };
  const el = [...document.querySelectorAll(selector)].find((e) => e.dataset.adlNode === String(node.id));
  if (!el) return { present: false, visible: false, text: null };
  const r = el.getBoundingClientRect();
  const style = getComputedStyle(el);
  const visible = el.checkVisibility?.({ checkOpacity: true, checkVisibilityCSS: true }) ?? el.offsetParent !== null;
  const inView = r.width > 4 && r.height > 4 && r.right > 0 && r.bottom > 0 && r.left < innerWidth && r.top < innerHeight;
  // the node on screen: its Vue element, or its canvas rectangle
  const vueEl = document.querySelector(`[data-node-id="${node.id}"]`);
  let box;
  if (vueEl && window.LiteGraph.vueNodesMode) box = vueEl.getBoundingClientRect();
  else {
    const c = app.canvas.canvas.getBoundingClientRect();
    const [x0, y0] = app.canvas.ds.convertOffsetToCanvas([node.pos[0], node.pos[1] - window.LiteGraph.NODE_TITLE_HEIGHT]);
    const [x1, y1] = app.canvas.ds.convertOffsetToCanvas([node.pos[0] + node.size[0], node.pos[1] + node.size[1]]);
    box = { left: c.left + x0, top: c.top + y0, right: c.left + x1, bottom: c.top + y1 };
  }
  const inside = r.left >= box.left - 2 && r.right <= box.right + 2 && r.top >= box.top - 2 && r.bottom <= box.bottom + 2;
  return { present: true, visible: visible && style.display !== "none" && inView, inNode: inside,
           text: el.innerText.trim(), level: el.dataset.level ?? null, insideVueNode: !!el.closest("[data-node-id]"),
           rect: { x: r.left, y: r.top, width: r.width, height: r.height } };
}, [selector, type, index]);

/** The preset label of a sampler/scheduler: as on screen, with a screenshot of its box (pixels checked in Python). */
async function label(name, type = "ADL_SampleLightning", index = 0) {
  await centre(type, index);
  const seen = await onScreen(".adl-preset", type, index);
  if (seen.visible) {
    const { x, y, width, height } = seen.rect;
    seen.png = shot(`label-${name}`);
    await page.screenshot({ path: seen.png, clip: { x, y, width, height } });
  }
  return seen;
}

// ---- templates ---------------------------------------------------------------------------------------

const CARDS = "[data-testid^='template-workflow-']";

async function browsePack() {
  await page.evaluate(() => window.app.extensionManager.command.execute("Comfy.BrowseTemplates"));
  // the pack's entry in the browser's navigation (under Extensions; 1.5x may keep that group folded)
  const dialog = page.locator("[role='dialog']").filter({ hasText: "Templates" }).first();
  const entry = dialog.getByText(spec.pack, { exact: true }).first();
  try {
    await entry.click({ timeout: 15000 });
  } catch {
    await page.screenshot({ path: shot("templates-nav") });
    await dialog.getByText("Extensions", { exact: true }).first().click({ timeout: 5000 });
    await entry.click({ timeout: 15000 });
  }
}

const readCards = () => page.evaluate((sel) => [...document.querySelectorAll(sel)].map((card) => {
  const img = card.querySelector("img");
  return { name: card.dataset.testid.replace("template-workflow-", ""), naturalWidth: img?.naturalWidth ?? 0,
           naturalHeight: img?.naturalHeight ?? 0, shownWidth: img?.clientWidth ?? 0, shownHeight: img?.clientHeight ?? 0 };
}), CARDS);

await step("templates", async () => {
  const thumbnails = [];
  page.on("response", (r) => {
    if (r.url().includes(`/api/workflow_templates/${spec.pack}/`) && r.url().endsWith(".jpg"))
      thumbnails.push({ url: r.url().slice(url.length), status: r.status(), type: r.headers()["content-type"] });
  });
  const expected = [...spec.templates].sort();
  let cards = [];
  const opened = {};
  for (const name of spec.templates) {
    await browsePack();
    // the grid switches to the pack's cards, which load their images into blob: URLs: poll until settled
    for (let settled = 0, deadline = Date.now() + 30000; settled < 2 && Date.now() < deadline;) {
      await page.waitForTimeout(250);
      const shown = await readCards();
      const ok = JSON.stringify(shown.map((c) => c.name).sort()) === JSON.stringify(expected) &&
        shown.every((c) => c.naturalWidth > 0);
      settled = ok ? settled + 1 : 0;
      if (!cards.length || ok) cards = shown;
    }
    await page.locator(`[data-testid='template-workflow-${name}']`).click();
    await page.waitForFunction((sel) => !document.querySelector(`.p-dialog ${sel}`), CARDS, { timeout: 30000 })
      .catch(() => {});
    await settle(1500); // missing-media checks run after the load
    const seen = await dialogs(page);
    const state = await graphState();
    await closeAll();
    opened[name] = { ...state, missingNodesDialog: seen.missingNodes, missingModelsDialog: seen.missingModels,
                     dialogs: seen.texts };
  }
  return { cards, thumbnails, opened };
});

// ---- files saved before an appended widget -------------------------------------------------------------

// Load Video (Lightning) saved before resample_rule (11 values, the upload button's last): the rule opens at its
// default, the button keeps its value, and the prompt sends the rule the file ran with.
await step("old_files", async () => {
  if (!spec.old_load_video) return { skipped: true };
  await openWorkflowFile(page, spec.old_load_video);
  await closeAll();
  await settle();
  return page.evaluate(async () => {
    const { app } = window;
    const node = app.graph.nodes.find((n) => n.type === "ADL_LoadVideo");
    const { output } = await app.graphToPrompt();
    return { widgets: Object.fromEntries(node.widgets.map((w) => [w.name, w.value])),
             widgets_values: app.graph.serialize().nodes.find((n) => String(n.id) === String(node.id))?.widgets_values ?? null,
             inputs: output[String(node.id)].inputs };
  });
});

// ---- presets ------------------------------------------------------------------------------------------

const FOUR = "animatediff_lightning_4step_comfyui.safetensors";
const EIGHT = "animatediff_lightning_8step_comfyui.safetensors";
const TWO = "animatediff_lightning_2step_comfyui.safetensors";

await step("presets", async () => {
  const s = {};
  await openWorkflowFile(page, spec.t2v);
  await closeAll();
  await settle();
  s.t2v_4step_auto = await label("t2v_4step_auto");
  await setWidget("ADL_LoadMotionModule", "model_name", EIGHT);
  s.t2v_8step_auto = await label("t2v_8step_auto");
  await setWidget("ADL_SampleLightning", "steps", 4);
  s.t2v_8step_steps4 = await label("t2v_8step_steps4");
  s.t2v_8step_steps4_widget = await widgetValue("ADL_SampleLightning", "steps");
  await setWidget("ADL_LoadMotionModule", "model_name", FOUR);
  await setWidget("ADL_SampleLightning", "steps", 8);
  s.t2v_4step_steps8 = await label("t2v_4step_steps8");
  await setWidget("ADL_SampleLightning", "steps", 0);
  await setWidget("ADL_SampleLightning", "cfg", 2);
  s.t2v_cfg2 = await label("t2v_cfg2");
  await setWidget("ADL_SampleLightning", "cfg", 1);
  // a scheduler connected to Apply Motion Module, and a sampler connected to nothing
  await setWidget("ADL_LoadMotionModule", "model_name", EIGHT);
  await page.evaluate(() => {
    const { app, LiteGraph } = window;
    const apply = app.graph.nodes.find((n) => n.type === "ADL_ApplyMotionModule");
    const scheduler = LiteGraph.createNode("ADL_LightningScheduler");
    scheduler.pos = [apply.pos[0], apply.pos[1] + apply.size[1] + 80];
    app.graph.add(scheduler);
    apply.connect(0, scheduler, 0);
    const loose = LiteGraph.createNode("ADL_SampleLightning");
    loose.pos = [scheduler.pos[0], scheduler.pos[1] + 300];
    app.graph.add(loose);
  });
  await settle(800);
  s.scheduler = await label("scheduler", "ADL_LightningScheduler");
  s.disconnected = await label("disconnected", "ADL_SampleLightning", 1);
  await centre("ADL_SampleLightning");
  await page.screenshot({ path: shot("presets") });
  s.screenshot = shot("presets");
  // long video: the sampler sits behind Context Options
  await openWorkflowFile(page, spec.long);
  await closeAll();
  await settle();
  s.long_through_context = await label("long_through_context");
  return s;
});

// ---- download -----------------------------------------------------------------------------------------

await step("download", async () => {
  const s = {};
  await openWorkflowFile(page, spec.t2v);
  await closeAll();
  await setWidget("ADL_LoadMotionModule", "model_name", TWO);
  await centre("ADL_LoadMotionModule");
  s.before = await onScreen(".adl-download", "ADL_LoadMotionModule");
  // the panel is the extension's, never the workflow's: not in widgets_values, not in the prompt
  s.saved = await page.evaluate(async () => {
    const { app } = window;
    const node = app.graph.nodes.find((n) => n.type === "ADL_LoadMotionModule");
    const { output } = await app.graphToPrompt();
    return { widgets_values: app.graph.serialize().nodes.find((n) => String(n.id) === String(node.id)).widgets_values,
             inputs: Object.keys(output[String(node.id)].inputs) };
  });
  const seen = [];
  if (s.before.visible) {
    await page.screenshot({ path: shot("download-before") });
    const button = page.locator(".adl-download .adl-download-button").filter({ visible: true }).first();
    await button.click({ timeout: 5000 }); // a real click where the button is on screen
    for (let i = 0; i < 300; i++) {
      const now = await page.evaluate(() => {
        const panel = [...document.querySelectorAll(".adl-download")].find((p) => p.style.display !== "none");
        if (!panel) return null;
        const bar = panel.querySelector("progress");
        const r = panel.getBoundingClientRect();
        return { text: panel.querySelector("button").innerText.trim(), bar: bar.style.display !== "none",
                 value: bar.hasAttribute("value") ? bar.value : null, height: r.height };
      });
      if (now === null) break;
      if (!seen.length || JSON.stringify(seen.at(-1)) !== JSON.stringify(now)) seen.push(now);
      await page.waitForTimeout(30);
    }
  }
  await settle();
  s.seen = seen;
  s.after = await onScreen(".adl-download", "ADL_LoadMotionModule");
  s.final_value = await widgetValue("ADL_LoadMotionModule", "model_name");
  return s;
});

// ---- run ------------------------------------------------------------------------------------------------

await step("run", async () => {
  await openWorkflowFile(page, spec.t2v);
  await closeAll();
  // one step: the preview is what is checked, not the video
  await setWidgets(page, smallRun("ADL_SampleLightning", spec.seed, 1));
  await page.evaluate(() => {
    window.__adlErrors = [];
    (window.api ?? window.app.api).addEventListener("execution_error", (e) => window.__adlErrors.push(e.detail));
  });
  await centre("ADL_SaveVideo"); // in view, as a user watching it: previews are built for drawn nodes
  // what the Run button and Ctrl+Enter do (the button's look and name differ between frontends)
  await page.evaluate(() => window.app.extensionManager.command.execute("Comfy.QueuePrompt"));
  const videos = () => page.evaluate(() => {
    const node = window.app.graph.nodes.find((n) => n.type === "ADL_SaveVideo");
    const found = new Set(node.videoContainer?.querySelectorAll?.("video") ?? []);
    for (const v of document.querySelectorAll(`[data-node-id="${node.id}"] video`)) found.add(v);
    window.__adlVideo = [...found].find((v) => v.readyState >= 2) ?? null;
    return { errors: window.__adlErrors, ready: !!window.__adlVideo, count: found.size };
  });
  let state;
  for (const deadline = Date.now() + 300_000; Date.now() < deadline;) {
    state = await videos();
    if (state.errors.length || state.ready) break;
    await page.waitForTimeout(500);
  }
  if (state.errors.length) return { error: state.errors[0] };
  if (!state.ready) return { error: `no video preview played (${state.count} <video> found)` };
  await settle(800);
  const video = await page.evaluate(async () => {
    const v = window.__adlVideo;
    let advanced = 0;
    let last = v.currentTime;
    for (let i = 0; i < 12; i++) {
      await new Promise((r) => setTimeout(r, 100));
      if (v.currentTime !== last) advanced++;
      last = v.currentTime;
    }
    const r = v.getBoundingClientRect();
    const node = window.app.graph.nodes.find((n) => n.type === "ADL_SaveVideo");
    return { src: v.currentSrc || v.src, paused: v.paused, loop: v.loop, controls: v.controls, muted: v.muted,
             advanced, videoWidth: v.videoWidth, videoHeight: v.videoHeight, readyState: v.readyState,
             visible: (v.checkVisibility?.() ?? true) && r.width > 4 && r.height > 4 && r.right > 0 && r.left < innerWidth,
             insideVueNode: !!v.closest(`[data-node-id="${node.id}"]`), fallbackPlayer: v.classList.contains("adl-player") };
  });
  await page.screenshot({ path: shot("run") });
  return { error: null, video, screenshot: shot("run") };
});

await finish(browser, out);
