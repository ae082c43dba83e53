// AnimateDiff-Lightning: Save Video's result plays, looped, in the node, in the classic canvas and with Vue nodes.
// The frontend's own <video> is armed (muted, looped, playing) once per source; where a renderer shows none (the
// host's 1.32.9 with Vue nodes) a fallback player, a DOM widget from adl_lightning.js, plays it. Nothing here is
// saved or sent: the player is never serialized and its value is always empty.
// Load Video (Lightning) files saved before resample_rule was appended open with the rule at its default (below).
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";
import { addPanel, chain, nodesOf, styled } from "./adl_lightning.js";

const SAVER = "ADL_SaveVideo";
const LOADER = "ADL_LoadVideo";
const TICK_MS = 250;

/** The <video> elements that preview a Save Video node: the canvas keeps them in node.videoContainer,
 * Vue nodes inside the node's element ([data-node-id]); our own fallback player is one of them when shown. */
function previewVideos(node) {
  const found = new Set(node.videoContainer?.querySelectorAll?.("video") ?? []);
  for (const el of document.querySelectorAll(`[data-node-id="${CSS.escape(String(node.id))}"] video`)) found.add(el);
  return found;
}

const FALLBACK_AFTER_MS = 1500;
const latestVideo = new Map(); // node id -> {url, at}: the last video a Save Video node produced

/** The `executed` message (sent to every client, whatever renders the graph; onExecuted is not called with Vue
 * nodes) says which file a Save Video node wrote. */
function onExecuted({ detail }) {
  const id = detail?.display_node ?? detail?.node;
  const file = detail?.output?.images?.find((f) => /\.(mp4|webm)$/i.test(f?.filename ?? ""));
  const node = id != null && app.graph?.getNodeById?.(Number(id) || id);
  if (!file || node?.type !== SAVER) return;
  const query = new URLSearchParams({ filename: file.filename, subfolder: file.subfolder ?? "", type: file.type ?? "output" });
  latestVideo.set(String(node.id), { url: api.apiURL(`/view?${query}`), at: Date.now() });
}

/** Some renderers show no video for a node's result (the host's 1.32.9 with Vue nodes): when the frontend has
 * put no <video> of its own into the node shortly after a result, our panel plays it; otherwise it stays hidden. */
function updatePlayer(node) {
  const latest = latestVideo.get(String(node.id));
  if (!latest) return;
  if (!node.adlPlayer) {
    const video = styled("video", "adl-player", { display: "block", width: "100%", height: "100%", objectFit: "contain" });
    const box = styled("div", "adl-player-box", { display: "none", width: "100%", height: "100%" });
    box.appendChild(video);
    node.adlPlayer = { box, video };
    addPanel(node, "adl_player", box, () => 220);
  }
  const { box, video } = node.adlPlayer;
  const native = [...previewVideos(node)].some((v) => v !== video && (v.currentSrc || v.src));
  const show = !native && Date.now() - latest.at > FALLBACK_AFTER_MS;
  if (show && video.getAttribute("src") !== latest.url) video.setAttribute("src", latest.url);
  const display = show ? "block" : "none";
  if (box.style.display !== display) {
    box.style.display = display;
    node.setDirtyCanvas?.(true, true);
  }
}

/** The frontend shows our mp4/webm in a <video> with controls, paused; make each new one play (muted, looped).
 * Once per source: a video the user paused stays paused until the next result. */
function armVideos(node) {
  for (const video of previewVideos(node)) {
    const src = video.currentSrc || video.src;
    if (!src || video.__adlArmed === src) continue;
    video.__adlArmed = src;
    Object.assign(video, { muted: true, loop: true, controls: true, autoplay: true, playsInline: true });
    video.play?.()?.catch?.(() => {}); // a browser may refuse autoplay; the controls still work
  }
}

function tick() {
  try {
    for (const node of nodesOf(app.graph)) {
      if (node.type !== SAVER) continue;
      updatePlayer(node);
      armVideos(node);
    }
  } catch (e) {
    console.warn("[AnimateDiff-Lightning] video preview:", e);
  }
}

/** Load Video (Lightning) files saved before resample_rule existed hold 11 widget values, the upload button's
 * ("image") last. Every frontend that orders widgets by the node's input_order puts the button after the optional
 * widgets, so such a file's last value lands in resample_rule and the button keeps its own default. A rule that is
 * none of the choices can only come from there: it goes back to the default, the rule those files ran with. */
function restoreResampleRule(node) {
  const rule = node.widgets?.find((w) => w.name === "resample_rule");
  const choices = rule?.options?.values;
  if (Array.isArray(choices) && choices.length && !choices.includes(rule.value)) rule.value = choices[0];
}

app.registerExtension({
  name: "AnimateDiffLightning.Video",

  setup() {
    api.addEventListener("executed", onExecuted);
    setInterval(tick, TICK_MS);
  },

  beforeRegisterNodeDef(nodeType, nodeData) {
    if (nodeData?.name !== LOADER) return;
    chain(nodeType.prototype, "onConfigure", function () {
      try {
        restoreResampleRule(this);
      } catch (e) {
        console.warn("[AnimateDiff-Lightning] Load Video:", e);
      }
    });
  },
});
