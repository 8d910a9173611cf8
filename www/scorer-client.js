// The page side of the scorer: one Web Worker running the WASM scorer, driven by promises. Shared by the
// page (app.js) and the widget (widget.js).

function startWorker() {
  const url = new URL("./worker.js", import.meta.url);
  if (url.origin === self.location.origin) return new Worker(url, { type: "module" });
  // Embedded from another site: a worker must be same-origin, so start one that imports ours.
  const shim = new Blob([`import ${JSON.stringify(url.href)};`], { type: "text/javascript" });
  return new Worker(URL.createObjectURL(shim), { type: "module" });
}

export class ScorerClient {
  constructor() {
    this.worker = startWorker();
    this.pending = new Map();
    this.nextId = 1;
    this.worker.onmessage = ({ data }) => {
      const entry = this.pending.get(data.id);
      if (!entry) return;
      if (data.type === "progress") return entry.onProgress?.(data.loaded, data.total);
      this.pending.delete(data.id);
      if (data.type === "error") entry.reject(Object.assign(new Error(data.message), { kind: data.kind }));
      else entry.resolve(data);
    };
    this.worker.onerror = (event) => {
      for (const entry of this.pending.values()) entry.reject(new Error(`the scorer stopped: ${event.message || "worker error"}`));
      this.pending.clear();
    };
  }

  request(message, transfer = [], onProgress) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ id, ...message }, transfer);
    });
  }

  /**
   * Loads a web model: a URL (downloaded with progress, checked against `sha256` when given, kept in the
   * Cache API) or its bytes (a Uint8Array or ArrayBuffer, e.g. from a file input).
   */
  load(source, { sha256, device = "auto", onProgress, name = "model.sslpron" } = {}) {
    if (typeof source !== "string") {
      const bytes = new Uint8Array(source).slice();
      return this.request({ type: "load", bytes, name, device }, [bytes.buffer]);
    }
    const absolute = new URL(source, document.baseURI).href;
    return this.request({ type: "load", url: absolute, sha256, device }, [], onProgress);
  }

  /** Scores mono samples; resolves to {accuracy, fluency, prosody, total, seconds, timings}. */
  async score(samples, sampleRate) {
    const copy = new Float32Array(samples);
    const reply = await this.request({ type: "score", samples: copy, sampleRate }, [copy.buffer]);
    return reply.result;
  }
}
