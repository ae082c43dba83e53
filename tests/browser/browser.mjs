// Shared: open the ComfyUI frontend served at URL in Debian's chromium, offline-safe.
import { chromium } from "playwright-core";

// Console errors that are not ours and not failures: requests to hosts the test blocks (api.comfy.org,
// fonts, telemetry) and 404s of optional files the frontend probes for (user data not written yet, etc.).
const OPTIONAL_404 = [
  /\/api\/userdata[/?]/, // workflow/keybinding/settings files a fresh user does not have yet
  /\/templates\//, // template index and thumbnails of packs without templates
  /\/api\/i18n/,
  /\/favicon/,
  /\/user\.css$/, // the user's optional style sheet
];

// The frontend's own start-up bug (1.32.9): its setting store dispatches a change for a setting it has no
// definition for. Not ours; matched exactly, with the frontend's own file in the stack.
const FRONTEND_ERRORS = [
  /^TypeError: Cannot read properties of undefined \(reading 'id'\)\s+at onChange \(\S+\/assets\/index-\w+\.js/,
];

export function isKnownNoise(text, resourceUrl, baseUrl) {
  if (/^Failed to load resource/.test(text) && resourceUrl) {
    if (!resourceUrl.startsWith(baseUrl)) return true; // blocked on purpose: nothing off this machine
    if (/status of 404/.test(text) && OPTIONAL_404.some((rx) => rx.test(resourceUrl))) return true;
  }
  return FRONTEND_ERRORS.some((rx) => rx.test(text));
}

export async function openComfy(url) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"], // default autoplay policy: our previews must start (muted) on their own
  });
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const consoleErrors = [];
  const noise = [];
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const text = msg.text();
    const where = msg.location()?.url ?? "";
    (isKnownNoise(text, where, url) ? noise : consoleErrors).push(where ? `${text} [${where}]` : text);
  });
  page.on("pageerror", (err) => consoleErrors.push(`pageerror: ${err}`));
  // The page calls api.comfy.org and other hosts; nothing outside this machine is reachable: block them.
  await page.route((u) => !u.href.startsWith(url), (route) => route.abort());
  await page.goto(url);
  await page.waitForFunction(() => window.app && window.app.graph && window.LiteGraph, null, { timeout: 120000 });
  await page.waitForTimeout(1500);
  return { browser, page, consoleErrors, noise };
}

/** Open a workflow file the way a user does (the hidden file input behind Workflow > Open). */
export async function openWorkflowFile(page, file) {
  await page.setInputFiles("#comfy-file-input", file);
  await page.waitForTimeout(1500);
}

/** Set widgets as a user does, callbacks included: ``changes`` is a list of [nodeType, widgetName, value, index?]
 * (index: which node of that type, 0 unless given). */
export async function setWidgets(page, changes) {
  await page.evaluate((changes) => {
    const { app } = window;
    for (const [type, name, value, index = 0] of changes) {
      const node = app.graph.nodes.filter((n) => n.type === type)[index];
      const w = node.widgets.find((x) => x.name === name);
      w.value = value;
      w.callback?.(w.value, app.canvas, node);
    }
  }, changes);
}

/** The small text-to-video run both browser scripts queue: 64x64, 8 frames, a fixed seed, ``steps`` steps. */
export const smallRun = (sampler, seed, steps) => [
  ["EmptyLatentImage", "width", 64], ["EmptyLatentImage", "height", 64], ["EmptyLatentImage", "batch_size", 8],
  [sampler, "seed", seed], [sampler, "control_after_generate", "fixed"], [sampler, "steps", steps],
];

/** Which dialogs are open: missing nodes / missing models, and their text. */
export async function dialogs(page) {
  return page.evaluate(() => ({
    missingNodes: !!document.querySelector(".comfy-missing-nodes"),
    missingModels: !!document.querySelector(".comfy-missing-models"),
    texts: [...document.querySelectorAll(".p-dialog")].map((d) => d.innerText.slice(0, 300)),
  }));
}

/** Close dialogs so they do not cover the canvas. */
export async function closeDialogs(page) {
  for (let i = 0; i < 3; i++) {
    const close = page.locator(".p-dialog .p-dialog-close-button, .p-dialog button[aria-label='Close']").first();
    if (!(await close.count())) break;
    await close.click().catch(() => {});
    await page.waitForTimeout(300);
  }
}

/** Print the result as the last stdout line (the pytest side parses it) and close the browser. */
export async function finish(browser, result) {
  await browser.close();
  console.log(JSON.stringify(result));
}
