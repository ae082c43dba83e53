// The text-to-video template at 64x64, 8 frames, run by clicking Run; wait for Save Video's preview and report
// whether the <video> plays (currentTime moves), loops and has controls; save a screenshot.
// usage: node run_t2v.mjs URL text_to_video.json
import path from "node:path";
import { closeDialogs, finish, openComfy, openWorkflowFile } from "./browser.mjs";

const [url, file] = process.argv.slice(2);
const { browser, page, consoleErrors, noise } = await openComfy(url);
await openWorkflowFile(page, file);
await closeDialogs(page);
await page.evaluate(() => {
  const { app, api } = window;
  const set = (type, name, value) => {
    const node = app.graph.nodes.find((n) => n.type === type);
    node.widgets.find((w) => w.name === name).value = value;
  };
  set("EmptyLatentImage", "width", 64);
  set("EmptyLatentImage", "height", 64);
  set("EmptyLatentImage", "batch_size", 8);
  set("ADL_SampleLightning", "control_after_generate", "fixed");
  window.__adlErrors = [];
  (api ?? app.api).addEventListener("execution_error", (e) => window.__adlErrors.push(e.detail));
});
// Keep Save Video in view, as a user watching it would: the frontend builds previews of drawn nodes only.
await page.evaluate(() => {
  const app = window.app;
  const node = app.graph.nodes.find((n) => n.type === "ADL_SaveVideo");
  app.canvas.ds.scale = 1;
  app.canvas.ds.offset = [1000 - node.pos[0] - node.size[0], 120 - node.pos[1]];
  app.canvas.setDirty(true, true);
});
await page.getByRole("button", { name: "Run", exact: true }).first().click();

let error = null;
let video = null;
const deadline = Date.now() + 540_000;
while (Date.now() < deadline) {
  const state = await page.evaluate(() => {
    const node = window.app.graph.nodes.find((n) => n.type === "ADL_SaveVideo");
    const v = node.videoContainer?.querySelector("video");
    return { errors: window.__adlErrors, ready: !!v && v.readyState >= 2 };
  });
  if (state.errors.length) { error = state.errors[0]; break; }
  if (state.ready) break;
  await page.waitForTimeout(500);
}
if (!error) {
  await page.waitForTimeout(500);
  video = await page.evaluate(async () => {
    const node = window.app.graph.nodes.find((n) => n.type === "ADL_SaveVideo");
    const v = node.videoContainer?.querySelector("video");
    if (!v) return null;
    let advanced = 0;
    let last = v.currentTime;
    for (let i = 0; i < 12; i++) {
      await new Promise((r) => setTimeout(r, 100));
      if (v.currentTime !== last) advanced++;
      last = v.currentTime;
    }
    return { src: v.currentSrc || v.src, paused: v.paused, loop: v.loop, controls: v.controls, muted: v.muted,
             advanced, videoWidth: v.videoWidth, videoHeight: v.videoHeight, duration: v.duration };
  });
  await page.waitForTimeout(300);
}
const screenshot = path.join(process.env.ADL_ARTIFACTS ?? ".", "text_to_video_run.png");
await page.screenshot({ path: screenshot });
await finish(browser, { error: error ?? (video ? null : "no video preview appeared"), video, screenshot,
                        consoleErrors, noise });
