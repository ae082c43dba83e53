// Turn API-format prompts into UI-format workflows with the real frontend: app.loadApiJson, then serialize.
// usage: node export_workflows.mjs URL IN_DIR OUT_DIR name...
import fs from "node:fs";
import path from "node:path";
import { openComfy } from "./browser.mjs";

const [url, inDir, outDir, ...names] = process.argv.slice(2);
const { browser, page, consoleErrors } = await openComfy(url);
for (const name of names) {
  const api = JSON.parse(fs.readFileSync(path.join(inDir, `${name}.json`), "utf8"));
  const ui = await page.evaluate(async ([api, name]) => {
    await window.app.loadApiJson(api, name);
    window.app.graph.arrange?.();
    return window.app.graph.serialize();
  }, [api, name]);
  fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify(ui, null, 1));
  console.log(`wrote ${name}: ${ui.nodes.length} nodes`);
}
if (consoleErrors.length) console.log("console errors:\n" + consoleErrors.join("\n"));
await browser.close();
