// Lightning presets and the loader's download button, driven as a user does (combo menu, canvas clicks).
// usage: node presets.mjs URL text_to_video.json long_video.json   (prints {"states": {...}, ...})
import path from "node:path";
import { closeDialogs, finish, openComfy, openWorkflowFile } from "./browser.mjs";

const [url, t2vFile, longFile] = process.argv.slice(2);
const { browser, page, consoleErrors, noise } = await openComfy(url);
const states = {};
const FOUR = "animatediff_lightning_4step_comfyui.safetensors";
const EIGHT = "animatediff_lightning_8step_comfyui.safetensors";
const TWO = "animatediff_lightning_2step_comfyui.safetensors";

const settle = () => page.waitForTimeout(250);

/** Screen coordinates of a widget's centre (the canvas draws widgets; there is no DOM element). */
async function widgetPoint(type, name) {
  return page.evaluate(([type, name]) => {
    const app = window.app;
    const node = app.graph.nodes.find((n) => n.type === type);
    const w = node.widgets.find((x) => x.name === name || x.__adlDownload && name === "__download");
    const [x, y] = app.canvas.ds.convertOffsetToCanvas([node.pos[0] + node.size[0] / 2, node.pos[1] + w.y + 10]);
    const rect = app.canvas.canvas.getBoundingClientRect();
    return { x: rect.left + x, y: rect.top + y };
  }, [type, name]);
}

async function centre(type) {
  await page.evaluate((type) => {
    const app = window.app;
    const node = app.graph.nodes.find((n) => n.type === type);
    app.canvas.ds.scale = 1;
    const c = app.canvas.canvas;
    app.canvas.ds.offset = [c.width / (2 * devicePixelRatio) - node.pos[0] - node.size[0] / 2,
                            c.height / (2 * devicePixelRatio) - node.pos[1] - node.size[1] / 2];
    app.canvas.setDirty(true, true);
  }, type);
  await settle();
}

/** Pick `value` in a combo widget through LiteGraph's menu, as a user does. */
async function pickCombo(type, name, value) {
  await centre(type);
  const p = await widgetPoint(type, name);
  await page.mouse.click(p.x, p.y);
  const entry = page.locator(".litecontextmenu .litemenu-entry", { hasText: value }).first();
  await entry.waitFor({ timeout: 5000 });
  await entry.click();
  await settle();
}

const setWidget = (type, name, value) => page.evaluate(([type, name, value]) => {
  const node = window.app.graph.nodes.find((n) => n.type === type);
  node.widgets.find((w) => w.name === name).value = value;
}, [type, name, value]).then(settle);

const preset = (type = "ADL_SampleLightning", index = 0) => page.evaluate(([type, index]) => {
  const p = window.app.graph.nodes.filter((n) => n.type === type)[index]?.adlPreset;
  return p ? { level: p.level, text: p.text } : null;
}, [type, index]);

// text-to-video: the loader's choice drives the sampler's label
await openWorkflowFile(page, t2vFile);
await closeDialogs(page);
await settle();
states.t2v_4step_auto = await preset();
await pickCombo("ADL_LoadMotionModule", "model_name", EIGHT);
states.t2v_8step_auto = await preset();
await setWidget("ADL_SampleLightning", "steps", 4);
states.t2v_8step_steps4 = await preset();
states.t2v_8step_steps4_widget = await page.evaluate(() =>
  window.app.graph.nodes.find((n) => n.type === "ADL_SampleLightning").widgets.find((w) => w.name === "steps").value);
await pickCombo("ADL_LoadMotionModule", "model_name", FOUR);
await setWidget("ADL_SampleLightning", "steps", 8);
states.t2v_4step_steps8 = await preset();
await setWidget("ADL_SampleLightning", "steps", 0);
await setWidget("ADL_SampleLightning", "cfg", 2);
states.t2v_cfg2 = await preset();
await setWidget("ADL_SampleLightning", "cfg", 1);

// a scheduler connected to Apply Motion Module, and a sampler connected to nothing
await pickCombo("ADL_LoadMotionModule", "model_name", EIGHT);
await page.evaluate(() => {
  const { app, LiteGraph } = window;
  const apply = app.graph.nodes.find((n) => n.type === "ADL_ApplyMotionModule");
  const scheduler = LiteGraph.createNode("ADL_LightningScheduler");
  scheduler.pos = [apply.pos[0], apply.pos[1] + apply.size[1] + 80];
  app.graph.add(scheduler);
  apply.connect(0, scheduler, 0);
  const loose = LiteGraph.createNode("ADL_SampleLightning");
  loose.pos = [scheduler.pos[0], scheduler.pos[1] + 200];
  app.graph.add(loose);
});
await settle();
states.scheduler = await preset("ADL_LightningScheduler");
states.disconnected = await preset("ADL_SampleLightning", 1);
await setWidget("ADL_SampleLightning", "steps", 4);
await page.evaluate(() => {
  const app = window.app;
  const sampler = app.graph.nodes.find((n) => n.type === "ADL_SampleLightning");
  app.canvas.ds.scale = 0.9;
  app.canvas.ds.offset = [260 - sampler.pos[0] + 700, 160 - sampler.pos[1]];
  app.canvas.setDirty(true, true);
});
await settle();
const screenshot = path.join(process.env.ADL_ARTIFACTS ?? ".", "presets.png");
await page.screenshot({ path: screenshot });

// long video: the sampler sits behind Context Options
await openWorkflowFile(page, longFile);
await closeDialogs(page);
await settle();
states.long_through_context = await preset();

// a missing known file: the loader offers it and fetches it through POST /adl/download, with progress
await openWorkflowFile(page, t2vFile);
await closeDialogs(page);
await setWidget("ADL_LoadMotionModule", "model_name", TWO);
const button = () => page.evaluate(() =>
  window.app.graph.nodes.find((n) => n.type === "ADL_LoadMotionModule").widgets.find((w) => w.__adlDownload)?.label ?? null);
states.download_button = await button();
// the button is the extension's, never the workflow's: not in widgets_values, not in the prompt
states.download_saved = await page.evaluate(async () => {
  const { app } = window;
  const node = app.graph.nodes.find((n) => n.type === "ADL_LoadMotionModule");
  const { output } = await app.graphToPrompt();
  return { widgets_values: app.graph.serialize().nodes.find((n) => n.id === node.id).widgets_values,
           inputs: Object.keys(output[String(node.id)].inputs) };
});
const labels = new Set();
if (states.download_button) {
  await centre("ADL_LoadMotionModule");
  const p = await widgetPoint("ADL_LoadMotionModule", "__download");
  await page.mouse.click(p.x, p.y);
  for (let i = 0; i < 200; i++) {
    const label = await button();
    if (label === null) break;
    labels.add(label);
    await page.waitForTimeout(50);
  }
}
await settle();
states.download_labels_seen = [...labels];
states.download_button_after = await button();
states.download_final_value = await page.evaluate(() =>
  window.app.graph.nodes.find((n) => n.type === "ADL_LoadMotionModule").widgets.find((w) => w.name === "model_name").value);
states.download_options = await page.evaluate(() =>
  window.app.graph.nodes.find((n) => n.type === "ADL_LoadMotionModule").widgets.find((w) => w.name === "model_name").options.values);

await finish(browser, { states, screenshot, consoleErrors, noise });
