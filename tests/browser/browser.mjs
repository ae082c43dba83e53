// Shared: open the ComfyUI frontend served at URL in Debian's chromium, offline-safe.
import { chromium } from "playwright-core";

export async function openComfy(url) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const consoleErrors = [];
  page.on("console", (msg) => { if (msg.type() === "error") consoleErrors.push(msg.text()); });
  page.on("pageerror", (err) => consoleErrors.push(String(err)));
  // The page calls api.comfy.org and other hosts; nothing outside this machine is reachable: block them.
  await page.route((u) => !u.href.startsWith(url), (route) => route.abort());
  await page.goto(url);
  await page.waitForFunction(() => window.app && window.app.graph && window.LiteGraph, null, { timeout: 120000 });
  await page.waitForTimeout(1500);
  return { browser, page, consoleErrors };
}
