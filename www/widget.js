// <pron-scorer>: the scorer as one tag for teachers' pages.
//
//   <script type="module" src="https://example.org/sslpron/widget.js"></script>
//   <pron-scorer text="I want to go to the park." model="https://example.org/sslpron/models/default.sslpron"
//                sha256="…"></pron-scorer>
//
// Attributes: text (the sentence to read), model (web model URL; default: the trained default model
// beside this file, models/default.sslpron), sha256 (checked when given), device (auto | webgpu | cpu). Fires a `score` event (bubbling,
// composed) whose detail is {accuracy, fluency, prosody, total, seconds, text}. Styles live in its shadow
// DOM: nothing leaks into the page or from it.

import { ScorerClient } from "./scorer-client.js";
import { Recorder, peakDb } from "./recorder.js";
import { DEFAULT_MODEL } from "./config.js";

// One worker per model, shared by every widget on the page.
const clients = new Map();
function clientFor(url, sha256, device) {
  const key = `${url} ${device}`;
  if (!clients.has(key)) {
    const client = new ScorerClient();
    clients.set(key, { client, loaded: client.load(url, { sha256, device }) });
  }
  return clients.get(key);
}

const STYLE = `
  :host { display: block; font: 15px/1.45 system-ui, sans-serif; color: #1d1d1f; max-width: 34rem; }
  .box { border: 1px solid #d2d2d7; border-radius: 12px; padding: 0.8rem 1rem; background: #fff; }
  .text { font-size: 1.15rem; margin: 0 0 0.6rem; }
  .row { display: flex; align-items: center; gap: 0.6rem; }
  button { font: inherit; padding: 0.35rem 0.9rem; border-radius: 999px; border: 1px solid #d2d2d7; background: #f5f5f7; cursor: pointer; }
  button.rec:not(:disabled) { background: #1f6feb; color: #fff; border-color: #1f6feb; }
  button:disabled { opacity: 0.45; cursor: default; }
  meter { width: 6rem; }
  .scores { display: grid; grid-template-columns: repeat(4, 1fr); gap: 0.4rem; margin-top: 0.6rem; text-align: center; }
  .scores b { display: block; font-size: 1.4rem; color: #1f6feb; }
  .scores small { color: #6e6e73; }
  .msg { color: #6e6e73; font-size: 0.85rem; margin: 0.5rem 0 0; min-height: 1.2em; }
  .msg.error { color: #c62828; }
`;

class PronScorer extends HTMLElement {
  static get observedAttributes() {
    return ["text"];
  }

  constructor() {
    super();
    const root = this.attachShadow({ mode: "open" });
    root.innerHTML = `<style>${STYLE}</style>
      <div class="box" part="box">
        <p class="text" part="text"></p>
        <div class="row">
          <button class="rec" disabled>● Record</button><button class="stop" disabled>■ Stop</button>
          <meter min="0" max="1" value="0" aria-label="Microphone level"></meter>
        </div>
        <div class="scores" hidden>
          <div><b data-aspect="accuracy">–</b><small>Accuracy</small></div>
          <div><b data-aspect="fluency">–</b><small>Fluency</small></div>
          <div><b data-aspect="prosody">–</b><small>Prosody</small></div>
          <div><b data-aspect="total">–</b><small>Total</small></div>
        </div>
        <p class="msg" role="status">Loading the scorer…</p>
      </div>`;
    this.$ = (sel) => root.querySelector(sel);
  }

  attributeChangedCallback() {
    this.$(".text").textContent = this.getAttribute("text") || "";
  }

  async connectedCallback() {
    this.$(".text").textContent = this.getAttribute("text") || "";
    const url = this.getAttribute("model") || new URL(DEFAULT_MODEL.url, import.meta.url).href;
    const sha256 = this.getAttribute("model") ? this.getAttribute("sha256") || undefined : DEFAULT_MODEL.sha256;
    const { client, loaded } = clientFor(url, sha256, this.getAttribute("device") || "auto");
    this.client = client;
    this.$(".rec").onclick = () => this.record();
    this.$(".stop").onclick = () => this.stop();
    try {
      const info = await loaded;
      this.maxSeconds = info.maxSeconds;
      this.message(info.description ? `Ready. Model: ${info.description}` : "Ready: press Record and read the sentence.");
      this.$(".rec").disabled = false;
      this.dataset.state = "ready";
    } catch (e) {
      this.message(`The model could not be loaded: ${e.message}`, true);
      this.dataset.state = "error";
    }
  }

  message(text, error = false) {
    const msg = this.$(".msg");
    msg.textContent = text;
    msg.classList.toggle("error", error);
  }

  async record() {
    this.$(".rec").disabled = true;
    this.recorder = new Recorder({
      maxSeconds: this.maxSeconds,
      onLevel: (peak) => (this.$("meter").value = Math.min(1, peak)),
      onLimit: () => this.stop(),
    });
    try {
      await this.recorder.start();
    } catch (e) {
      this.message(e.message, true);
      this.$(".rec").disabled = false;
      return;
    }
    this.dataset.state = "recording";
    this.$(".stop").disabled = false;
    this.message("Recording… press Stop when you have read the sentence.");
  }

  async stop() {
    if (this.dataset.state !== "recording") return;
    this.dataset.state = "stopping";
    this.$(".stop").disabled = true;
    const { samples, sampleRate } = await this.recorder.stop();
    this.$("meter").value = 0;
    this.dataset.state = "scoring";
    if (samples.length / sampleRate < 1 || peakDb(samples) < -45) {
      this.message(samples.length / sampleRate < 1 ? "Too short: read the whole sentence." : "Only silence was heard: check the microphone.", true);
      this.$(".rec").disabled = false;
      this.dataset.state = "ready";
      return;
    }
    this.message("Scoring…");
    try {
      const r = await this.client.score(samples, sampleRate);
      for (const b of this.shadowRoot.querySelectorAll("b[data-aspect]")) b.textContent = r[b.dataset.aspect].toFixed(1);
      this.$(".scores").hidden = false;
      this.message(`Scored ${r.seconds.toFixed(1)} s in ${Math.round(r.timings.total_ms)} ms, on this device.`);
      const detail = { accuracy: r.accuracy, fluency: r.fluency, prosody: r.prosody, total: r.total, seconds: r.seconds, text: this.getAttribute("text") || "" };
      this.dispatchEvent(new CustomEvent("score", { detail, bubbles: true, composed: true }));
      this.dataset.state = "scored";
    } catch (e) {
      this.message(`Could not score this recording: ${e.message}`, true);
      this.dataset.state = "ready";
    }
    this.$(".rec").disabled = false;
  }
}

if (!customElements.get("pron-scorer")) customElements.define("pron-scorer", PronScorer);
