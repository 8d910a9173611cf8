// AudioWorklet: hands the page blocks of 2048 microphone samples (channel 0) with their peak level, for
// the level meter and the recording. Runs on the audio thread; nothing here leaves the device.
class Recorder extends AudioWorkletProcessor {
  constructor() {
    super();
    this.block = new Float32Array(2048);
    this.filled = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    let offset = 0;
    while (offset < channel.length) {
      const n = Math.min(channel.length - offset, this.block.length - this.filled);
      this.block.set(channel.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === this.block.length) {
        let peak = 0;
        for (const v of this.block) peak = Math.max(peak, Math.abs(v));
        this.port.postMessage({ samples: this.block, peak }, [this.block.buffer]);
        this.block = new Float32Array(2048);
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor("sslpron-recorder", Recorder);
