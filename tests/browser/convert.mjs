// The converter's offer in the editor (js/adl_convert.js): open each foreign workflow file as a user does, see the
// "Open with AnimateDiff-Lightning nodes" panel, click it, and read what the new tab holds: node types, the ones
// the frontend does not know, what it would queue (graphToPrompt), the report panel's text, the open tabs. For the
// files in spec.lightning ({name: steps}) it then opens the file again and clicks "Open switched to Lightning" with
// those steps chosen (result.lightning: the same readings).
// Prints one JSON object as its last line; the assertions are in tests/test_convert_browser.py.
// usage: node convert.mjs URL SPEC_JSON   (SPEC: {files: {name: path}, artifacts, tag})
import fs from "node:fs";
import path from "node:path";
import { closeDialogs, finish, openComfy, openWorkflowFile } from "./browser.mjs";

const [url, specFile] = process.argv.slice(2);
const spec = JSON.parse(fs.readFileSync(specFile, "utf8"));
const { browser, page, consoleErrors, noise } = await openComfy(url);
const out = { consoleErrors, noise, files: {} };

const closeAll = async () => {
  await closeDialogs(page);
  for (let i = 0; i < 2 && (await page.locator("[role='dialog']").count()); i++) {
    await page.keyboard.press("Escape");
    await page.waitForTimeout(300);
  }
};

const state = () => page.evaluate(async () => {
  const { app, LiteGraph } = window;
  const nodes = app.graph.nodes ?? app.graph._nodes ?? [];
  const types = nodes.map((n) => n.type).sort();
  // nodes inside subgraph definitions; a subgraph's instance node has the subgraph's id as its type
  const subgraphs = [...(app.graph.subgraphs?.values?.() ?? [])];
  const inner = subgraphs.flatMap((sg) => sg.nodes ?? []);
  const innerTypes = inner.map((n) => n.type).sort();
  const isSubgraph = new Set(subgraphs.map((sg) => sg.id));
  const missing = [...new Set([...types, ...innerTypes].filter((t) => !(t in LiteGraph.registered_node_types)
                                                                   && !isSubgraph.has(t)))].sort();
  let prompt = null;
  if (!missing.length) prompt = (await app.graphToPrompt()).output;
  const store = app.extensionManager?.workflow;
  const tabs = (store?.openWorkflows ?? []).map((w) => w.filename ?? w.path ?? String(w));
  const active = store?.activeWorkflow?.filename ?? null;
  const marked = [...nodes, ...inner].filter((n) => n.properties?.adl_convert).map((n) => n.id).sort((a, b) => a - b);
  return { types, innerTypes, missing, prompt, tabs, active, marked };
});

for (const [name, file] of Object.entries(spec.files)) {
  const result = {};
  try {
    await openWorkflowFile(page, file);
    await page.waitForSelector("#adl-convert-offer", { timeout: 15000 });
    result.before = await state();
    result.offerText = await page.locator("#adl-convert-offer").innerText();
    await closeAll();
    await page.locator("#adl-convert-offer button", { hasText: "Open with AnimateDiff-Lightning nodes" }).click();
    await page.waitForSelector("#adl-convert-report", { timeout: 30000 });
    await page.waitForTimeout(800);
    result.reportText = await page.locator("#adl-convert-report").innerText();
    result.offerStillShown = (await page.locator("#adl-convert-offer").count()) > 0;
    await closeAll();
    result.after = await state();
    await page.screenshot({ path: path.join(spec.artifacts, `${spec.tag}-convert-${name}.png`) });
    await page.locator("#adl-convert-report button", { hasText: "Close" }).click();
  } catch (e) {
    result.error = String(e?.stack ?? e).slice(0, 3000);
    await page.screenshot({ path: path.join(spec.artifacts, `${spec.tag}-convert-${name}-error.png`) }).catch(() => {});
    await closeAll().catch(() => {});
  }
  const steps = spec.lightning?.[name];
  if (steps && !result.error) {
    try {
      await openWorkflowFile(page, file);
      await page.waitForSelector("#adl-convert-offer", { timeout: 15000 });
      await closeAll();
      await page.locator("#adl-convert-offer select").selectOption(String(steps));
      await page.locator("#adl-convert-offer button", { hasText: "Open switched to Lightning" }).click();
      await page.waitForSelector("#adl-convert-report", { timeout: 30000 });
      await page.waitForTimeout(800);
      const reportText = await page.locator("#adl-convert-report").innerText();
      await closeAll();
      result.lightning = { reportText, after: await state() };
      await page.screenshot({ path: path.join(spec.artifacts, `${spec.tag}-convert-${name}-lightning.png`) });
      await page.locator("#adl-convert-report button", { hasText: "Close" }).click();
    } catch (e) {
      result.lightning = { error: String(e?.stack ?? e).slice(0, 3000) };
      await closeAll().catch(() => {});
    }
  }
  out.files[name] = result;
}
await finish(browser, out);
