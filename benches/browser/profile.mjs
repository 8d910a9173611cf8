// Where sslpron's browser CPU path spends its time: one scoring run of the benchmark page (base
// Wav2Vec2, 5 s clip, CPU device) under the DevTools protocol's sampling profiler (what the
// Performance panel records), self time summed per function. Needs a build that keeps the wasm name
// section (the shipped one is stripped):
//
//   CARGO_PROFILE_WASM_RELEASE_STRIP=false SSLPRON_WEB_OUT=target/wasm-named bash scripts/build-web.sh
//   node benches/browser/profile.mjs [--top 25]        # after bench.mjs has made the models
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "../../scripts/serve.mjs";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");
const args = process.argv.slice(2);
const top = args.includes("--top") ? Number(args[args.indexOf("--top") + 1]) : 25;
const pkg = "/target/wasm-named/sslpron.js";
if (!existsSync(join(ROOT, pkg))) throw new Error(`no ${pkg}: build it first (see the header of this file)`);
const model = "/benches/browser/models/wav2vec2/base-f32.sslpron";
if (!existsSync(join(ROOT, model))) throw new Error("run benches/browser/bench.mjs once first (it writes the models and the clip)");

const server = await serve(ROOT, 0);
const base = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
const page = await browser.newPage();
const cdp = await page.context().newCDPSession(page);
await cdp.send("Profiler.enable");
await cdp.send("Profiler.setSamplingInterval", { interval: 200 }); // microseconds
await cdp.send("Profiler.start");
await page.goto(`${base}/benches/browser/bench.html?side=sslpron&model=${model}&pkg=${pkg}&clip=/benches/browser/models/wav2vec2/clip-5s.wav&repeats=2`);
await page.waitForFunction(() => window.result, null, { timeout: 1_800_000 });
const { profile } = await cdp.send("Profiler.stop");
const result = await page.evaluate(() => window.result);
if (result.error) throw new Error(result.error);

// Self time per node from the samples, then summed per function name.
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) || 0) + (profile.timeDeltas[i] || 0)));
const perFunction = new Map();
let total = 0;
for (const [id, us] of selfUs) {
  const frame = byId.get(id).callFrame;
  const name = frame.functionName || `(${frame.url.split("/").pop() || "program"})`;
  perFunction.set(name, (perFunction.get(name) || 0) + us);
  total += us;
}
console.log(`load ${result.loadMs.toFixed(0)} ms, score median ${result.median.toFixed(0)} ms (${result.times.length} timed runs + warm-up), ${(total / 1e3).toFixed(0)} ms sampled`);
for (const [name, us] of [...perFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${(100 * us / total).toFixed(1).padStart(5)}%  ${(us / 1e3).toFixed(0).padStart(6)} ms  ${name.slice(0, 140)}`);
}
await browser.close();
server.close();
