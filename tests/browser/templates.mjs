// The pack's templates as an artist finds them: the frontend's template browser (the Browse Templates command),
// the pack's entry under Extensions, its cards and whether their thumbnails loaded; then one card opened.
// usage: node templates.mjs URL PACK_FOLDER TEMPLATE_TO_OPEN EXPECTED_TEMPLATE...
import { finish, openComfy } from "./browser.mjs";

const [url, pack, toOpen, ...expected] = process.argv.slice(2);
const { browser, page, consoleErrors, noise } = await openComfy(url);
const thumbnails = []; // what the server answered for our thumbnails (the page shows them as blob: URLs)
page.on("response", (r) => {
  if (r.url().includes(`/api/workflow_templates/${pack}/`) && r.url().endsWith(".jpg"))
    thumbnails.push({ url: r.url().slice(url.length), status: r.status(), type: r.headers()["content-type"] });
});

await page.evaluate(() => window.app.extensionManager.command.execute("Comfy.BrowseTemplates"));
const dialog = page.locator(".p-dialog").filter({ hasText: "Templates" }).first();
await dialog.getByText(pack, { exact: true }).first().click({ timeout: 30000 });
// The dialog opens on All Templates (our cards among them, further down); the click switches the grid to the
// pack's cards, which fetch their images into blob: URLs and may show an empty <img> first. Poll until the grid
// holds exactly the expected cards with decoded pixels, twice in a row; after 30 s report what there is.
const CARDS = "[data-testid^='template-workflow-']";
const read = () => page.evaluate((sel) => [...document.querySelectorAll(sel)].map((card) => {
  const img = card.querySelector("img");
  return { name: card.dataset.testid.replace("template-workflow-", ""), text: card.innerText.split("\n")[0],
           naturalWidth: img?.naturalWidth ?? 0, naturalHeight: img?.naturalHeight ?? 0,
           shownWidth: img?.clientWidth ?? 0, shownHeight: img?.clientHeight ?? 0 };
}), CARDS);
const same = (a, b) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
const ready = (shown) => same(shown.map((c) => c.name), expected) && shown.every((c) => c.naturalWidth > 0);
let shown = [];
for (let settled = 0, deadline = Date.now() + 30000; settled < 2 && Date.now() < deadline;) {
  await page.waitForTimeout(250);
  shown = await read();
  settled = ready(shown) ? settled + 1 : 0;
}

// A click on a card loads that template into the canvas and closes the browser.
await page.locator(`[data-testid='template-workflow-${toOpen}']`).click();
await page.waitForFunction((sel) => !document.querySelector(`.p-dialog ${sel}`), CARDS, { timeout: 30000 })
  .catch(() => {}); // the pytest side checks what is on the canvas
await page.waitForTimeout(1000);
const opened = await page.evaluate(() => ({
  types: window.app.graph.nodes.map((n) => n.type).sort(),
  workflow: window.app.extensionManager.workflow?.activeWorkflow?.filename ?? null,
}));
await finish(browser, { cards: shown, thumbnails, opened, consoleErrors, noise });
