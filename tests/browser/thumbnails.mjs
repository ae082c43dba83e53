// Template thumbnails: each workflow's graph as the real frontend draws it, and nothing else on the page.
// Opens every file as a user does, fits all its nodes into a square view, hides menus, sidebars, tabs,
// toasts and dialogs (only the canvas and the widgets it places over itself stay), and saves a PNG per
// workflow; the Python side (tests/thumbnails.py) scales it down to the JPEG the template browser shows.
// usage: node thumbnails.mjs URL OUT_DIR SIZE workflow.json...
import path from "node:path";
import { closeDialogs, dialogs, finish, openComfy, openWorkflowFile } from "./browser.mjs";

const [url, outDir, sizeArg, ...files] = process.argv.slice(2);
const size = Number(sizeArg);
const MARGIN = 48; // screen pixels of empty canvas around the graph
const CANVAS_ONLY = `
  body.adl-thumbnail * { visibility: hidden !important; }
  body.adl-thumbnail #graph-canvas, body.adl-thumbnail .dom-widget,
  body.adl-thumbnail .dom-widget * { visibility: visible !important; }
  body.adl-thumbnail .dom-widget textarea { scrollbar-width: none; }
`;

const { browser, page, consoleErrors, noise } = await openComfy(url);
await page.setViewportSize({ width: size, height: size });
await page.addStyleTag({ content: CANVAS_ONLY });
const shots = [];
for (const file of files) {
  await openWorkflowFile(page, file);
  const seen = await dialogs(page);
  await closeDialogs(page);
  // Video previews (Load Video's upload widget) show their first frame before the capture.
  await page.waitForFunction(
    () => [...document.querySelectorAll(".dom-widget video")].every((v) => v.readyState >= 2),
    null, { timeout: 30000 }).catch(() => {});
  const view = await page.evaluate(([margin]) => {
    const app = window.app;
    const canvas = app.canvas;
    canvas.deselectAll?.();
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const node of app.graph.nodes) {
      const [x, y, w, h] = node.boundingRect; // the title bar included
      x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x + w); y1 = Math.max(y1, y + h + 24);
    }
    const el = canvas.canvas;
    const [width, height] = [el.clientWidth, el.clientHeight];
    const scale = Math.min((width - 2 * margin) / (x1 - x0), (height - 2 * margin) / (y1 - y0));
    canvas.ds.scale = scale;
    canvas.ds.offset = [width / (2 * scale) - (x0 + x1) / 2, height / (2 * scale) - (y0 + y1) / 2];
    canvas.setDirty(true, true);
    return { scale, bounds: [x0, y0, x1 - x0, y1 - y0], nodes: app.graph.nodes.length };
  }, [MARGIN]);
  await page.waitForTimeout(800); // a few frames: the canvas redraws and moves its DOM widgets along
  const name = path.basename(file, ".json");
  const png = path.join(outDir, `${name}.png`);
  await page.evaluate(() => document.body.classList.add("adl-thumbnail"));
  await page.screenshot({ path: png });
  await page.evaluate(() => document.body.classList.remove("adl-thumbnail"));
  shots.push({ name, png, missingNodesDialog: seen.missingNodes, missingModelsDialog: seen.missingModels,
               dialogs: seen.texts, ...view });
}
await finish(browser, { shots, consoleErrors, noise });
