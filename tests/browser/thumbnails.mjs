// Template thumbnails: each workflow's graph as the real frontend draws it, and nothing else on the page.
// Opens every file as a user does, fits all its nodes into a square view, hides menus, sidebars, tabs,
// toasts and dialogs (only the canvas and the widgets it places over itself stay), and saves a PNG per
// workflow; the Python side (tests/thumbnails.py) scales it down to the JPEG the template browser shows.
// A caption band across the top (title and subtitle, from CAPTIONS_JSON: {name: [title, subtitle]}) tells
// the cards apart at the template browser's size, where the graph's own text is too small to read.
// usage: node thumbnails.mjs URL OUT_DIR SIZE CAPTIONS_JSON workflow.json...
import fs from "node:fs";
import path from "node:path";
import { closeDialogs, dialogs, finish, openComfy, openWorkflowFile } from "./browser.mjs";

const [url, outDir, sizeArg, captionsFile, ...files] = process.argv.slice(2);
const size = Number(sizeArg);
const captions = JSON.parse(fs.readFileSync(captionsFile, "utf8"));
const MARGIN = 48; // screen pixels of empty canvas around the graph
const BAND = Math.round(size * 0.24); // height of the caption band
const CANVAS_ONLY = `
  body.adl-thumbnail * { visibility: hidden !important; }
  body.adl-thumbnail #graph-canvas, body.adl-thumbnail .dom-widget,
  body.adl-thumbnail .dom-widget *, body.adl-thumbnail #adl-caption,
  body.adl-thumbnail #adl-caption * { visibility: visible !important; }
  body.adl-thumbnail .dom-widget textarea { scrollbar-width: none; }
  #adl-caption { display: none; }
  body.adl-thumbnail #adl-caption {
    display: flex; flex-direction: column; justify-content: center; gap: ${size * 0.012}px;
    position: fixed; left: 0; top: 0; width: 100vw; height: ${BAND}px; z-index: 100000;
    padding: 0 ${size * 0.05}px; box-sizing: border-box; font-family: sans-serif;
    background: linear-gradient(135deg, #1b2340, #0d1020); border-bottom: ${size * 0.006}px solid #ffb83a;
  }
  #adl-caption .title { color: #ffffff; font-weight: 700; font-size: ${size * 0.075}px; line-height: 1.1; }
  #adl-caption .subtitle { color: #ffcf5c; font-weight: 600; font-size: ${size * 0.042}px; line-height: 1.2; }
`;

const { browser, page, consoleErrors, noise } = await openComfy(url);
await page.setViewportSize({ width: size, height: size });
await page.addStyleTag({ content: CANVAS_ONLY });
const shots = [];
for (const file of files) {
  const name = path.basename(file, ".json");
  if (!captions[name]) throw new Error(`no caption for ${name} in ${captionsFile}`);
  await openWorkflowFile(page, file);
  const seen = await dialogs(page);
  await closeDialogs(page);
  // Video previews (Load Video's upload widget) show their first frame before the capture.
  await page.waitForFunction(
    () => [...document.querySelectorAll(".dom-widget video")].every((v) => v.readyState >= 2),
    null, { timeout: 30000 }).catch(() => {});
  const view = await page.evaluate(([margin, band]) => {
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
    const free = height - band; // the graph fills the square below the caption band
    const scale = Math.min((width - 2 * margin) / (x1 - x0), (free - 2 * margin) / (y1 - y0));
    canvas.ds.scale = scale;
    canvas.ds.offset = [width / (2 * scale) - (x0 + x1) / 2, (band + free / 2) / scale - (y0 + y1) / 2];
    canvas.setDirty(true, true);
    return { scale, bounds: [x0, y0, x1 - x0, y1 - y0], nodes: app.graph.nodes.length };
  }, [MARGIN, BAND]);
  await page.waitForTimeout(800); // a few frames: the canvas redraws and moves its DOM widgets along
  const png = path.join(outDir, `${name}.png`);
  await page.evaluate(([title, subtitle]) => {
    let band = document.getElementById("adl-caption");
    if (!band) {
      band = document.createElement("div");
      band.id = "adl-caption";
      band.innerHTML = '<div class="title"></div><div class="subtitle"></div>';
      document.body.appendChild(band);
    }
    band.querySelector(".title").textContent = title;
    band.querySelector(".subtitle").textContent = subtitle;
    document.body.classList.add("adl-thumbnail");
  }, captions[name]);
  await page.screenshot({ path: png });
  await page.evaluate(() => document.body.classList.remove("adl-thumbnail"));
  shots.push({ name, png, missingNodesDialog: seen.missingNodes, missingModelsDialog: seen.missingModels,
               dialogs: seen.texts, ...view });
}
await finish(browser, { shots, consoleErrors, noise });
