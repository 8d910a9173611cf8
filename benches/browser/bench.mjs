// Side-by-side browser benchmark (issue #6): sslpron's WASM scorer vs transformers.js (its own
// onnxruntime-web WASM), the same random base-size Wav2Vec2, the same 5 s clip, the same headless
// Chromium, one thread each, no network (everything served from this checkout; a request off the
// local origin fails the run). Prints medians and ratios (> 1: sslpron is faster).
//
//   /work/pyenv/bin/python benches/browser/export_models.py      # once: hf/ + onnx-js/ models
//   bash scripts/build-web.sh && cargo build --release -p sslpron-cli
//   (cd benches/browser && npm install --ignore-scripts) && node benches/browser/bench.mjs [--repeats 3] [--rounds 3] [--webgpu] [--before DIR]
//
// Each round loads every pair once, each in a fresh page, in turn; the medians pool all rounds, and
// each round's own median is printed too (transformers.js' fp32 time has been seen to flip between
// two levels from one page load to the next).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "../../scripts/serve.mjs";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");
const HERE = join(ROOT, "benches/browser");
const MODELS = join(HERE, "models/wav2vec2");
const args = process.argv.slice(2);
const repeats = args.includes("--repeats") ? Number(args[args.indexOf("--repeats") + 1]) : 3;
const rounds = args.includes("--rounds") ? Number(args[args.indexOf("--rounds") + 1]) : 3;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SSLPRON = [join(ROOT, "target/release/sslpron"), join(ROOT, "target/debug/sslpron")].find(existsSync);

if (!existsSync(join(MODELS, "onnx-js/onnx/model.onnx"))) throw new Error("run benches/browser/export_models.py first");
if (!SSLPRON) throw new Error("build the CLI first: cargo build --release -p sslpron-cli");
for (const precision of ["f32", "f16", "int8"]) {
  const out = join(MODELS, `base-${precision}.sslpron`);
  if (!existsSync(out)) execFileSync(SSLPRON, ["convert", join(MODELS, "hf"), out, "--precision", precision], { stdio: "inherit" });
}

// The first 5 s of a real Speechocean762 clip (16 kHz 16-bit mono), as a plain 44-byte-header WAV.
const source = readFileSync(join(ROOT, "tests/fixtures/audio/long.wav"));
const dataAt = source.indexOf("data") + 8;
const pcm = source.subarray(dataAt, dataAt + 5 * 16000 * 2);
const header = Buffer.alloc(44);
header.write("RIFF", 0); header.writeUInt32LE(36 + pcm.length, 4); header.write("WAVEfmt ", 8); header.writeUInt32LE(16, 16);
header.writeUInt16LE(1, 20); header.writeUInt16LE(1, 22); header.writeUInt32LE(16000, 24); header.writeUInt32LE(32000, 28);
header.writeUInt16LE(2, 32); header.writeUInt16LE(16, 34); header.write("data", 36); header.writeUInt32LE(pcm.length, 40);
writeFileSync(join(MODELS, "clip-5s.wav"), Buffer.concat([header, pcm]));

const server = await serve(ROOT, 0);
const base = `http://127.0.0.1:${server.address().port}`;
const webgpu = args.includes("--webgpu");
const browser = await chromium.launch({
  executablePath: CHROMIUM, headless: true,
  args: ["--no-sandbox", ...(webgpu ? ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--use-vulkan=swiftshader", "--use-webgpu-adapter=swiftshader"] : [])],
});
const clip = "/benches/browser/models/wav2vec2/clip-5s.wav";
const runs = [
  ["sslpron f32", `side=sslpron&model=/benches/browser/models/wav2vec2/base-f32.sslpron`],
  ["transformers.js fp32", "side=transformersjs&dtype=fp32"],
  ["sslpron f16", `side=sslpron&model=/benches/browser/models/wav2vec2/base-f16.sslpron`],
  ["sslpron int8", `side=sslpron&model=/benches/browser/models/wav2vec2/base-int8.sslpron`],
  ["transformers.js q8", "side=transformersjs&dtype=q8"],
];
// --before DIR: also time another build of our scorer (e.g. one from an earlier commit, built with
// SSLPRON_WEB_OUT=DIR scripts/build-web.sh), to measure a change in the same run.
if (args.includes("--before")) {
  const dir = args[args.indexOf("--before") + 1].replace(/^\/*/, "/").replace(/\/$/, "");
  runs.unshift([`sslpron f32 (${dir})`, `side=sslpron&pkg=${dir}/sslpron.js&model=/benches/browser/models/wav2vec2/base-f32.sslpron`]);
}
// --gemm-ab: the same build with its products on Burn's flex GEMM (the `gemm` crate) instead of
// sslpron-gemm, to measure that choice in the same run.
if (args.includes("--gemm-ab")) {
  runs.splice(1, 0, ["sslpron f32, flex GEMM", `side=sslpron&gemm=flex&model=/benches/browser/models/wav2vec2/base-f32.sslpron`]);
}
if (webgpu) {
  runs.push(["sslpron f32 webgpu", `side=sslpron&device=webgpu&model=/benches/browser/models/wav2vec2/base-f32.sslpron`]);
  runs.push(["transformers.js fp32 webgpu", "side=transformersjs&device=webgpu&dtype=fp32"]);
}
// --only A,B: just the runs whose names contain one of these (e.g. --only f32,fp32).
if (args.includes("--only")) {
  const wanted = args[args.indexOf("--only") + 1].split(",");
  runs.splice(0, runs.length, ...runs.filter(([name]) => wanted.some((w) => name.includes(w))));
}
const results = {};
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
for (let round = 1; round <= rounds; round++) {
  for (const [name, query] of runs) {
    const page = await browser.newPage();
    page.on("request", (r) => {
      if (!r.url().startsWith(base)) throw new Error(`${name}: a request off the local origin: ${r.url()}`);
    });
    await page.goto(`${base}/benches/browser/bench.html?${query}&clip=${clip}&repeats=${repeats}`);
    await page.waitForFunction(() => window.result, null, { timeout: 1_800_000 });
    const result = await page.evaluate(() => window.result);
    if (result.error) throw new Error(`${name}: ${result.error}`);
    const entry = (results[name] ??= { times: [], loads: [], roundMedians: [], backend: result.backend });
    entry.times.push(...result.times);
    entry.loads.push(result.loadMs);
    if (result.wasmMemoryMB) entry.wasmMemoryMB = Math.max(entry.wasmMemoryMB || 0, result.wasmMemoryMB);
    entry.roundMedians.push(result.median);
    console.log(`round ${round} ${name.padEnd(30)} median ${result.median.toFixed(0).padStart(6)} ms (min ${result.min.toFixed(0)}, max ${result.max.toFixed(0)}), load ${result.loadMs.toFixed(0)} ms, ${result.backend}`);
    await page.close();
  }
}
console.log("");
for (const [name, entry] of Object.entries(results)) {
  entry.median = median(entry.times);
  entry.loadMs = median(entry.loads);
  console.log(`${name.padEnd(30)} median ${entry.median.toFixed(0).padStart(6)} ms over ${entry.times.length} runs (round medians ${entry.roundMedians.map((m) => m.toFixed(0)).join(" / ")}), load ${entry.loadMs.toFixed(0)} ms${entry.wasmMemoryMB ? `, wasm memory ${entry.wasmMemoryMB.toFixed(0)} MB` : ""}`);
}
// A ratio is printed only when both of its runs were made (--only can leave some out).
const ratio = (label, theirs, ours) => {
  if (results[theirs] && results[ours]) console.log(`${label.padEnd(32)} ${(results[theirs].median / results[ours].median).toFixed(2)}x`);
};
console.log(`\nChromium ${browser.version()}, ${rounds} rounds x ${repeats} runs, 5 s clip, base wav2vec2, 1 thread; ratio = theirs / ours (> 1: sslpron faster)`);
ratio("fp32:", "transformers.js fp32", "sslpron f32");
ratio("q8 vs our int8:", "transformers.js q8", "sslpron int8");
ratio("q8 vs our f16:", "transformers.js q8", "sslpron f16");
for (const name of Object.keys(results).filter((n) => n.startsWith("sslpron f32 (/"))) ratio(`this build vs ${name.slice(12)}:`, name, "sslpron f32");
ratio("sslpron-gemm vs flex's GEMM:", "sslpron f32, flex GEMM", "sslpron f32");
if (webgpu) ratio("webgpu (SwiftShader):", "transformers.js fp32 webgpu", "sslpron f32 webgpu");
writeFileSync(join(ROOT, "target/browser-bench.json"), JSON.stringify({ chromium: browser.version(), rounds, repeats, results }, null, 2));
await browser.close();
server.close();
