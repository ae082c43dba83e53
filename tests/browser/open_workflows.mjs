// Open each workflow file as a user does; report missing-node/model dialogs, whether the pack's extension left
// its widgets_values alone, and the API prompt app.graphToPrompt() makes (the pytest side posts it).
// usage: node open_workflows.mjs URL workflow.json...
import fs from "node:fs";
import path from "node:path";
import { closeDialogs, dialogs, finish, openComfy, openWorkflowFile } from "./browser.mjs";

const [url, ...files] = process.argv.slice(2);
const { browser, page, consoleErrors, noise } = await openComfy(url);
const workflows = [];
for (const file of files) {
  const saved = JSON.parse(fs.readFileSync(file, "utf8"));
  await openWorkflowFile(page, file);
  const seen = await dialogs(page);
  await closeDialogs(page);
  const state = await page.evaluate(async () => {
    const app = window.app;
    const missingTypes = app.graph.nodes.filter((n) => !window.LiteGraph.registered_node_types[n.type]).map((n) => n.type);
    const { output } = await app.graphToPrompt();
    const widgets = Object.fromEntries(app.graph.serialize().nodes.map((n) => [n.id, n.widgets_values ?? null]));
    return { missingTypes, prompt: output, widgets, nodeCount: app.graph.nodes.length };
  });
  const widgetsUnchanged = saved.nodes.every(
    (n) => JSON.stringify(n.widgets_values ?? []) === JSON.stringify(state.widgets[n.id] ?? []));
  workflows.push({
    name: path.basename(file),
    missingNodesDialog: seen.missingNodes,
    missingModelsDialog: seen.missingModels,
    dialogs: seen.texts,
    missingTypes: state.missingTypes,
    nodeCount: state.nodeCount,
    widgetsUnchanged,
    prompt: state.prompt,
  });
}
await finish(browser, { workflows, consoleErrors, noise });
