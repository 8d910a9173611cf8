// The scorer's Web Worker: fetches the web model (progress, SHA-256 check, Cache API so a second visit
// needs no network), loads it into the WASM scorer (WebGPU or CPU) and scores recordings, so the page
// stays responsive. Audio arrives from the page as samples and never leaves this device.
//
// Messages in:  {id, type: "load", url, sha256, device: "auto"|"webgpu"|"cpu"}  (or bytes instead of url)
//               {id, type: "score", samples: Float32Array, sampleRate}
// Messages out: {id, type: "progress", loaded, total}
//               {id, type: "loaded", backend, notice, description, fromCache, bytes, fetchMs, initMs, warmupMs, maxSeconds}
//               {id, type: "scored", result}
//               {id, type: "error", message, kind}

import init, { Scorer } from "./pkg/sslpron.js";

const CACHE = "sslpron-models-v1";
let scorer = null;
const ready = init();

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function openCache() {
  // The Cache API exists only in secure contexts (https, localhost); elsewhere every visit downloads.
  try {
    return self.caches ? await self.caches.open(CACHE) : null;
  } catch {
    return null;
  }
}

async function fetchModel(id, url, sha256) {
  const cache = await openCache();
  let response = cache ? await cache.match(url) : undefined;
  const fromCache = Boolean(response);
  if (!response) {
    try {
      response = await fetch(url);
    } catch (e) {
      throw Object.assign(new Error(`${url}: the model could not be downloaded (${e.message})`), { kind: "network" });
    }
    if (!response.ok) {
      throw Object.assign(new Error(`${url}: the model could not be downloaded (HTTP ${response.status} ${response.statusText})`), { kind: "http" });
    }
  }
  const total = Number(response.headers.get("content-length")) || 0;
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    self.postMessage({ id, type: "progress", loaded, total });
  }
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  if (sha256) {
    const digest = hex(await crypto.subtle.digest("SHA-256", bytes));
    if (digest !== sha256.toLowerCase()) {
      if (cache) await cache.delete(url);
      throw Object.assign(new Error(`${url}: the downloaded model is not the expected one (SHA-256 ${digest}, expected ${sha256})`), { kind: "checksum" });
    }
  }
  if (cache && !fromCache) {
    await cache.put(url, new Response(bytes, { headers: { "content-type": "application/octet-stream" } }));
  }
  return { bytes, fromCache };
}

async function load(id, { url, bytes: given, name, sha256, device }) {
  await ready;
  const t0 = performance.now();
  const { bytes, fromCache } = given ? { bytes: given, fromCache: false } : await fetchModel(id, url, sha256);
  const t1 = performance.now();
  scorer = await Scorer.load(bytes, name || url.split("/").pop(), device || "auto");
  const t2 = performance.now();
  return {
    type: "loaded",
    backend: scorer.backend,
    notice: scorer.notice,
    description: scorer.description,
    fromCache,
    bytes: bytes.length,
    fetchMs: t1 - t0,
    initMs: t2 - t1,
    warmupMs: scorer.warmupMs,
    maxSeconds: Scorer.maxSeconds(),
  };
}

async function score({ samples, sampleRate }) {
  if (!scorer) throw new Error("no model is loaded yet");
  const t0 = performance.now();
  const result = await scorer.score(samples, sampleRate);
  result.timings.total_ms = performance.now() - t0;
  return { type: "scored", result };
}

self.onmessage = async ({ data }) => {
  try {
    const reply = data.type === "load" ? await load(data.id, data) : await score(data);
    self.postMessage({ id: data.id, ...reply });
  } catch (e) {
    self.postMessage({ id: data.id, type: "error", message: e.message || String(e), kind: e.kind || "scorer" });
  }
};
