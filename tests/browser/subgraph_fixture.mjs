// Writes tests/fixtures/foreign_workflows/t2v_gen1_subgraph.json the way an artist makes one: the t2v_gen1 fixture
// opened in the real frontend (the AnimateDiff loader registered under its own name, as where ADE is installed;
// VideoHelperSuite missing), the AnimateDiff loader and the KSampler selected and turned into a subgraph with the frontend's own
// convertToSubgraph, and the graph saved as the frontend serialises it (definitions.subgraphs, boundary links
// from -10 / to -20, linkIds). The converter's tests read it; the frontend's format is not written by hand.
// usage: node subgraph_fixture.mjs URL SOURCE_JSON TARGET_JSON
import fs from "node:fs";
import { closeDialogs, finish, openComfy, openWorkflowFile } from "./browser.mjs";

const [url, source, target] = process.argv.slice(2);
const { browser, page, consoleErrors } = await openComfy(url);
// AnimateDiff-Evolved installed, as on the artist's machine that made the file: its loader registered with the
// same name, sockets and widgets (the frontend cannot move a node of an unknown type into a subgraph)
await page.evaluate(() => {
  const { LiteGraph, LGraphNode } = window;
  class Loader extends LGraphNode {
    constructor(title) {
      super(title);
      this.serialize_widgets = true;
      this.addWidget("combo", "model_name", "", () => {}, { values: [] });
      this.addWidget("combo", "beta_schedule", "", () => {}, { values: [] });
    }
  }
  LiteGraph.registerNodeType("ADE_AnimateDiffLoaderGen1", Loader);
});
await openWorkflowFile(page, source);
await closeDialogs(page);
const saved = await page.evaluate(() => {
  const { app } = window;
  const inside = new Set(app.graph.nodes.filter((n) => ["ADE_AnimateDiffLoaderGen1", "KSampler"].includes(n.type)));
  const { subgraph } = app.graph.convertToSubgraph(inside);
  subgraph.name = "Animate";
  return app.graph.serialize();
});
fs.writeFileSync(target, JSON.stringify(saved, null, 1) + "\n");
await finish(browser, { written: target, consoleErrors });
