// Microphone capture for the page and the widget: getUserMedia → AudioWorklet → Float32 samples at the
// AudioContext's rate (resampled to 16 kHz later, in WASM), with a live peak level for the meter.

export class MicrophoneError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind; // "unsupported" | "denied" | "no-microphone" | "failed"
  }
}

export class Recorder {
  /** `onLevel(peak)` is called about 20 times a second while recording; `maxSeconds` stops it. */
  constructor({ onLevel, maxSeconds, onLimit } = {}) {
    this.onLevel = onLevel || (() => {});
    this.onLimit = onLimit || (() => {});
    this.maxSeconds = maxSeconds || 30;
  }

  async start() {
    if (!navigator.mediaDevices?.getUserMedia) {
      throw new MicrophoneError("unsupported", "This browser cannot record audio here (it needs a secure page: https or localhost).");
    }
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 },
      });
    } catch (e) {
      if (e.name === "NotAllowedError" || e.name === "SecurityError") {
        throw new MicrophoneError("denied", "Microphone access was denied. Allow the microphone for this page in the browser's site settings, then try again.");
      }
      if (e.name === "NotFoundError" || e.name === "OverconstrainedError") {
        throw new MicrophoneError("no-microphone", "No microphone was found. Connect one and try again.");
      }
      throw new MicrophoneError("failed", `The microphone could not be opened (${e.name}: ${e.message}).`);
    }
    this.context = new AudioContext();
    await this.context.audioWorklet.addModule(new URL("./recorder-worklet.js", import.meta.url));
    this.source = this.context.createMediaStreamSource(this.stream);
    this.node = new AudioWorkletNode(this.context, "sslpron-recorder");
    this.chunks = [];
    this.length = 0;
    this.node.port.onmessage = ({ data }) => {
      this.chunks.push(data.samples);
      this.length += data.samples.length;
      this.onLevel(data.peak);
      if (this.length >= this.maxSeconds * this.context.sampleRate) this.onLimit();
    };
    this.source.connect(this.node);
    // The worklet must reach the destination to be pulled; it outputs silence.
    this.node.connect(this.context.destination);
    this.sampleRate = this.context.sampleRate;
  }

  /** Stops and returns {samples: Float32Array, sampleRate}. */
  async stop() {
    if (this.node) this.node.port.onmessage = null; // no level updates after Stop
    this.source?.disconnect();
    this.node?.disconnect();
    this.stream?.getTracks().forEach((t) => t.stop());
    await this.context?.close();
    const samples = new Float32Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks || []) {
      samples.set(chunk, offset);
      offset += chunk.length;
    }
    this.chunks = [];
    return { samples, sampleRate: this.sampleRate };
  }
}

/** A 32-bit float mono WAV of the samples (the learner's "download my recording"). */
export function encodeWav(samples, sampleRate) {
  const buffer = new ArrayBuffer(44 + samples.length * 4);
  const view = new DataView(buffer);
  const text = (offset, s) => [...s].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF");
  view.setUint32(4, 36 + samples.length * 4, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 3, true); // IEEE float
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 4, true);
  view.setUint16(32, 4, true);
  view.setUint16(34, 32, true);
  text(36, "data");
  view.setUint32(40, samples.length * 4, true);
  new Float32Array(buffer, 44).set(samples);
  return new Blob([buffer], { type: "audio/wav" });
}

/** Peak of the samples, in dBFS. */
export function peakDb(samples) {
  let peak = 0;
  for (const v of samples) peak = Math.max(peak, Math.abs(v));
  return 20 * Math.log10(peak || 1e-10);
}
