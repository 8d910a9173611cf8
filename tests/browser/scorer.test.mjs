// Browser end-to-end tests: headless Chromium (Debian's, driven by playwright-core) with a fake
// microphone that plays a real Speechocean762 clip. The page's scores must equal `sslpron score` on the
// very audio the page recorded (its "Download my recording" WAV) within 0.02, on the CPU path and on
// the WebGPU path (Chromium's software adapter); the widget fires its event; denied microphone and a
// missing model show their messages; no request ever carries audio; the page works offline after the
// first visit. Screenshots go to docs/screenshots/, measured load and scoring times to
// target/browser-timings.json.
//
// Needs: www/pkg (scripts/build-web.sh), target/debug/sslpron, Chromium (CHROMIUM or /usr/bin/chromium).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "../../scripts/serve.mjs";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SSLPRON = process.env.SSLPRON_BIN || join(ROOT, "target/debug/sslpron");
// A real Speechocean762 utterance (3.5 s), looped by the fake microphone.
const CLIP = join(ROOT, "tests/fixtures/audio/medium.wav");
// The page's default model: the trained one (www/models/default/MODEL_CARD.md).
const DEFAULT_MODEL = join(ROOT, "www/models/default.sslpron");
const TOLERANCE = 0.02;
const SHOTS = join(ROOT, "docs/screenshots");
const ASPECTS = ["accuracy", "fluency", "prosody", "total"];

let server;
let base;
const timings = {};
const scratch = mkdtempSync(join(tmpdir(), "sslpron-browser-"));

const MIC_FLAGS = ["--use-fake-device-for-media-stream", `--use-file-for-fake-audio-capture=${CLIP}`, "--autoplay-policy=no-user-gesture-required"];
// WebGPU in headless Chromium without a GPU: the SwiftShader (Vulkan) software adapter.
const WEBGPU_FLAGS = ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-vulkan=swiftshader", "--use-webgpu-adapter=swiftshader", "--use-angle=swiftshader"];

async function launch(extra = []) {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", ...MIC_FLAGS, ...extra] });
}

before(async () => {
  for (const [what, path] of [["Chromium", CHROMIUM], ["the sslpron CLI", SSLPRON], ["the wasm build (scripts/build-web.sh)", join(ROOT, "www/pkg/sslpron_bg.wasm")]]) {
    assert.ok(existsSync(path), `${what} is missing: ${path}`);
  }
  server = await serve(join(ROOT, "www"), 0);
  base = `http://127.0.0.1:${server.address().port}`;
  mkdirSync(SHOTS, { recursive: true });
});

after(() => {
  server?.close();
  mkdirSync(join(ROOT, "target"), { recursive: true });
  writeFileSync(join(ROOT, "target/browser-timings.json"), JSON.stringify(timings, null, 2));
  console.log("browser timings:", JSON.stringify(timings));
});

/** Records `seconds` of the fake microphone on the page and returns the page's scores. */
async function recordOnPage(page, seconds) {
  await page.click("#record");
  await page.waitForFunction(() => document.body.dataset.state === "recording");
  await page.waitForTimeout(seconds * 1000);
  await page.click("#stop");
  await page.waitForFunction(() => ["scored", "ready"].includes(document.body.dataset.state), null, { timeout: 120_000 });
  const message = await page.textContent("#message");
  assert.equal(await page.evaluate(() => document.body.dataset.state), "scored", `not scored: ${message}`);
  return page.evaluate((aspects) => Object.fromEntries(aspects.map((a) => [a, Number(document.querySelector(`.score[data-aspect=${a}]`).dataset.value)])), ASPECTS);
}

/** The page's recording (its download link) scored by the CLI. */
async function cliScoresOfDownload(page, name, model) {
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
  const wav = join(scratch, `${name}.wav`);
  await download.saveAs(wav);
  const out = execFileSync(SSLPRON, ["score", "--json", "--model", model, wav], { encoding: "utf8" });
  return JSON.parse(out.trim());
}

function assertClose(page, cli, label) {
  for (const aspect of ASPECTS) {
    assert.ok(Number.isFinite(page[aspect]), `${label}: ${aspect} is ${page[aspect]}`);
    assert.ok(Math.abs(page[aspect] - cli[aspect]) <= TOLERANCE, `${label}: ${aspect} page ${page[aspect]} vs sslpron score ${cli[aspect]}`);
  }
}

/** Loads the page with `query` (default: the default model), records, and compares with `sslpron score` on `model`. */
async function scoresMatchCli(device, flags, { query = "", model = DEFAULT_MODEL } = {}) {
  const browser = await launch(flags);
  try {
    const context = await browser.newContext({ permissions: ["microphone"], acceptDownloads: true });
    const page = await context.newPage();
    const requests = [];
    page.on("request", (r) => requests.push({ url: r.url(), method: r.method(), body: r.postDataBuffer()?.length || 0, phase: "load" }));
    const t0 = Date.now();
    await page.goto(`${base}/?device=${device}&no-offline${query}`);
    await page.waitForFunction(() => ["ready", "error"].includes(document.body.dataset.state), null, { timeout: 180_000 });
    const status = await page.textContent("#model-status");
    assert.equal(await page.evaluate(() => document.body.dataset.state), "ready", status);
    const backend = await page.getAttribute("#model-status", "data-backend");
    assert.equal(backend, device, `asked for ${device}, got ${backend}: ${status}`);
    const load = await page.evaluate(() => window.sslpronLoad);
    const firstReady = Date.now() - t0;
    for (const r of requests) r.phase = "load";
    const recordingStart = requests.length;

    const page5s = await recordOnPage(page, 5);
    const result = await page.textContent("#timing");
    const cli = await cliScoresOfDownload(page, device, model);
    assertClose(page5s, cli, device);
    await page.screenshot({ path: join(SHOTS, `page-${device}.png`), fullPage: true });

    // Cached second load: a fresh page in the same context (same Cache API).
    const again = await context.newPage();
    const t1 = Date.now();
    await again.goto(`${base}/?device=${device}&no-offline${query}`);
    await again.waitForFunction(() => document.body.dataset.state === "ready", null, { timeout: 180_000 });
    const cached = await again.evaluate(() => window.sslpronLoad);
    assert.equal(cached.fromCache, true, "the second load comes from the Cache API");
    timings[device] = {
      browser: browser.version(),
      coldTimeToReadyMs: firstReady,
      cold: load,
      cachedTimeToReadyMs: Date.now() - t1,
      cached,
      scoring: result,
    };

    // Nothing but GETs of the page's own files, none with a body, and nothing at all once recording began.
    for (const r of requests) {
      assert.equal(r.method, "GET", `${r.method} ${r.url}`);
      assert.equal(r.body, 0, `a request with a body: ${r.url}`);
      assert.ok(r.url.startsWith(base), `a request off this origin: ${r.url}`);
    }
    assert.deepEqual(requests.slice(recordingStart), [], "requests after recording began");
  } finally {
    await browser.close();
  }
}

test("CPU path: the page's scores equal sslpron score on the recorded audio", async () => {
  await scoresMatchCli("cpu", []);
});

test("the page loads the trained default model and says what it is", async () => {
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(`${base}/?device=cpu&no-offline`);
    await page.waitForFunction(() => document.body.dataset.state === "ready", null, { timeout: 120_000 });
    assert.match(await page.textContent("#model-description"), /Trained on Speechocean762/);
  } finally {
    await browser.close();
  }
});

test("WebGPU path: the page's scores equal sslpron score on the recorded audio", async () => {
  await scoresMatchCli("webgpu", WEBGPU_FLAGS);
});

test("the widget fires its score event, its styles stay in its shadow DOM", async () => {
  const browser = await launch();
  try {
    const page = await (await browser.newContext({ permissions: ["microphone"] })).newPage();
    await page.goto(`${base}/widget-demo.html?no-offline`);
    await page.waitForFunction(() => document.querySelector("pron-scorer")?.dataset.state === "ready", null, { timeout: 120_000 });
    await page.click("pron-scorer button.rec");
    await page.waitForTimeout(4000);
    await page.click("pron-scorer button.stop");
    await page.waitForFunction(() => window.lastScore, null, { timeout: 120_000 });
    const detail = await page.evaluate(() => window.lastScore);
    for (const aspect of ASPECTS) assert.ok(Number.isFinite(detail[aspect]), `${aspect}: ${detail[aspect]}`);
    assert.equal(detail.text, "I want to go to the park this afternoon.");
    assert.match(await page.textContent("#log"), /accuracy \d/);
    // The page's `button { color: darkred }` does not reach the widget's buttons.
    const color = await page.evaluate(() => getComputedStyle(document.querySelector("pron-scorer").shadowRoot.querySelector("button.stop")).color);
    assert.notEqual(color, "rgb(139, 0, 0)");
    await page.locator("pron-scorer").screenshot({ path: join(SHOTS, "widget.png") });
    await page.screenshot({ path: join(SHOTS, "widget-in-a-page.png") });
  } finally {
    await browser.close();
  }
});

/** Opens the page on the CPU path, presses Record and returns the microphone message. */
async function microphoneMessage(browser) {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${base}/?device=cpu&no-offline`);
  await page.waitForFunction(() => document.body.dataset.state === "ready", null, { timeout: 120_000 });
  await page.click("#record");
  await page.waitForFunction(() => document.body.dataset.microphone, null, { timeout: 30_000 });
  assert.equal(await page.isDisabled("#record"), false, "Record can be pressed again");
  return page.textContent("#message");
}

test("a denied microphone, a missing microphone and a missing model show their messages", async () => {
  // A microphone exists, and the permission prompt is refused.
  const denying = await launch(["--deny-permission-prompts"]);
  try {
    assert.match(await microphoneMessage(denying), /Microphone access was denied/);
  } finally {
    await denying.close();
  }
  // No fake capture device: the machine has no microphone at all.
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--use-fake-ui-for-media-stream"] });
  try {
    assert.match(await microphoneMessage(browser), /No microphone was found/);
    const missing = await browser.newPage();
    await missing.goto(`${base}/?model=models/missing.sslpron&no-offline`);
    await missing.waitForFunction(() => document.body.dataset.state === "error", null, { timeout: 60_000 });
    assert.match(await missing.textContent("#model-status"), /could not be loaded.*missing\.sslpron.*404/);
    assert.equal(await missing.isDisabled("#record"), true);
  } finally {
    await browser.close();
  }
});

/** A WAV of `seconds` of 16 kHz 16-bit mono silence, for a fake microphone that hears nothing. */
function silentWav(seconds) {
  const n = seconds * 16000;
  const b = Buffer.alloc(44 + n * 2);
  b.write("RIFF", 0); b.writeUInt32LE(36 + n * 2, 4); b.write("WAVEfmt ", 8); b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22); b.writeUInt32LE(16000, 24); b.writeUInt32LE(32000, 28);
  b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34); b.write("data", 36); b.writeUInt32LE(n * 2, 40);
  const path = join(scratch, "silence.wav");
  writeFileSync(path, b);
  return path;
}

test("without WebGPU the page falls back to the CPU and says so; short, silent and over-long recordings are handled", async () => {
  const browser = await launch();
  try {
    const page = await (await browser.newContext({ permissions: ["microphone"] })).newPage();
    await page.goto(`${base}/?no-offline&max-seconds=2`);
    await page.waitForFunction(() => document.body.dataset.state === "ready", null, { timeout: 120_000 });
    assert.equal(await page.getAttribute("#model-status", "data-backend"), "cpu");
    assert.equal(await page.isVisible("#notice"), true);
    assert.match(await page.textContent("#notice"), /WebGPU is not available.*CPU/);
    // Too short.
    await page.click("#record");
    await page.waitForFunction(() => document.body.dataset.state === "recording");
    await page.waitForTimeout(300);
    await page.click("#stop");
    await page.waitForFunction(() => document.body.dataset.state === "ready");
    assert.match(await page.textContent("#message"), /That was only 0\.\d s/);
    // Over the (lowered) limit: recording stops by itself, and the take is scored.
    await page.click("#record");
    await page.waitForFunction(() => document.body.dataset.state === "scored", null, { timeout: 60_000 });
    assert.match(await page.textContent("#message"), /Stopped at 2 s/);
  } finally {
    await browser.close();
  }
  const quiet = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ["--no-sandbox", "--use-fake-device-for-media-stream", `--use-file-for-fake-audio-capture=${silentWav(4)}`],
  });
  try {
    const page = await (await quiet.newContext({ permissions: ["microphone"] })).newPage();
    await page.goto(`${base}/?device=cpu&no-offline`);
    await page.waitForFunction(() => document.body.dataset.state === "ready", null, { timeout: 120_000 });
    await page.click("#record");
    await page.waitForFunction(() => document.body.dataset.state === "recording");
    await page.waitForTimeout(2000);
    await page.click("#stop");
    await page.waitForFunction(() => document.body.dataset.state === "ready");
    assert.match(await page.textContent("#message"), /only silence/);
  } finally {
    await quiet.close();
  }
});

test("the JS API loads a model from bytes and refuses bytes that are not one", async () => {
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(`${base}/widget-demo.html?no-offline`);
    const result = await page.evaluate(async () => {
      const { ScorerClient } = await import("./scorer-client.js");
      const client = new ScorerClient();
      const bytes = await (await fetch("models/demo.sslpron")).arrayBuffer();
      const info = await client.load(bytes, { device: "cpu", name: "demo.sslpron" });
      const tone = new Float32Array(32000).map((_, i) => 0.3 * Math.sin(i * 0.05) * (1 + Math.sin(i / 3000)));
      const scores = await client.score(tone, 16000);
      const refused = await new ScorerClient().load(new Uint8Array([60, 104, 116, 109, 108, 62]), { device: "cpu", name: "page.html" }).catch((e) => e.message);
      return { backend: info.backend, total: scores.total, refused };
    });
    assert.equal(result.backend, "cpu");
    assert.ok(Number.isFinite(result.total));
    assert.match(result.refused, /page\.html.*not an sslpron web model/);
  } finally {
    await browser.close();
  }
});

test("the page works offline after the first visit", async () => {
  const browser = await launch();
  try {
    const context = await browser.newContext({ permissions: ["microphone"] });
    const page = await context.newPage();
    await page.goto(`${base}/?device=cpu`);
    await page.waitForFunction(() => document.body.dataset.state === "ready", null, { timeout: 120_000 });
    await page.evaluate(() => navigator.serviceWorker.ready);
    await context.setOffline(true);
    await page.reload();
    await page.waitForFunction(() => ["ready", "error"].includes(document.body.dataset.state), null, { timeout: 120_000 });
    assert.equal(await page.evaluate(() => document.body.dataset.state), "ready", await page.textContent("#model-status"));
    assert.match(await page.textContent("#model-status"), /cache/);
    const scores = await recordOnPage(page, 3);
    assert.ok(Number.isFinite(scores.total));
  } finally {
    await browser.close();
  }
});
