// The web phone's two AudioWorklet processors, in one module so they share the resampler:
//
//   "capture":  microphone at the context's rate -> 16 kHz -> 20 ms PCM16 frames, posted to
//               the page as transferable ArrayBuffers ({pcm, level}).
//   "playback": agent PCM16 at 16 kHz (ArrayBuffers posted by the page) -> the context's rate
//               -> a jitter buffer that starts once `startMs` is buffered (or once its first
//               sample has waited that long) and is emptied at once by the message "clear".
//               It reports {played, queued} (16 kHz samples) back through its port every
//               20 ms of playback, when its queue runs dry, and when asked ("report").
//
// Both run on the audio rendering thread: capture allocates nothing per render quantum but the
// frames it hands over, and nothing locks. PCM16 is read and written with typed arrays, i.e. in the
// platform's byte order, little-endian on every platform browsers run on.

const LINE_RATE = 16000;
const FRAME_SAMPLES = 320; // 20 ms at 16 kHz
const REPORT_EVERY = 320; // report playback progress every 20 ms of agent audio
const CUTOFF_HZ = 7200; // -6 dB point: 0.9 x the 8 kHz Nyquist frequency of the phone line
const ZERO_CROSSINGS = 12; // of the interpolation kernel on each side: its length and steepness
const TABLE_STEPS = 64; // kernel values per input sample, linearly interpolated between

/**
 * A streaming band-limited resampler: each output sample is a windowed-sinc (Blackman)
 * interpolation of the input around its position, with the cutoff below the 16 kHz line's
 * Nyquist frequency, so it both rejects aliases when going down and images when going up.
 * Blocks of any length join seamlessly; the delay is under 1 ms.
 */
class Resampler {
  constructor(from, to) {
    this.step = from / to; // input samples per output sample
    if (this.step === 1) return;
    const fc = Math.min(CUTOFF_HZ / from, 0.5); // cycles per input sample
    this.half = Math.ceil(ZERO_CROSSINGS / (2 * fc)); // kernel half-width, in input samples
    this.table = new Float32Array(this.half * TABLE_STEPS + 2);
    for (let j = 0; j < this.table.length; j++) {
      const x = j / TABLE_STEPS;
      const sinc = x === 0 ? 1 : Math.sin(2 * Math.PI * fc * x) / (2 * Math.PI * fc * x);
      const w = x >= this.half ? 0 : 0.42 + 0.5 * Math.cos((Math.PI * x) / this.half) +
        0.08 * Math.cos((2 * Math.PI * x) / this.half);
      this.table[j] = sinc * w;
    }
    this.history = new Float32Array(4096);
    this.reset();
  }

  reset() {
    if (this.step === 1) return;
    this.history.fill(0);
    this.length = this.half; // starts with `half` zeros of past
    this.t = this.half; // position of the next output sample in `history`
  }

  /** The most samples `process` can write for `n` input samples. */
  capacity(n) {
    return Math.ceil(n / this.step) + 1;
  }

  /** Converts `input` into `output` (at least `capacity(input.length)` long); returns the count. */
  process(input, output) {
    if (this.step === 1) {
      output.set(input);
      return input.length;
    }
    if (this.length + input.length > this.history.length) {
      const grown = new Float32Array(2 * (this.length + input.length));
      grown.set(this.history.subarray(0, this.length));
      this.history = grown;
    }
    this.history.set(input, this.length);
    this.length += input.length;
    const { half, table, history } = this;
    let count = 0;
    while (this.t + half < this.length) {
      const t = this.t;
      const first = Math.floor(t) - half + 1;
      let sum = 0;
      let weight = 0;
      for (let k = first; k < first + 2 * half; k++) {
        const d = Math.abs(t - k) * TABLE_STEPS;
        const j = Math.floor(d);
        const h = table[j] + (table[j + 1] - table[j]) * (d - j);
        sum += history[k] * h;
        weight += h;
      }
      output[count++] = sum / weight;
      this.t += this.step;
    }
    const consumed = Math.floor(this.t) - half; // samples no output needs any more
    if (consumed > 0) {
      history.copyWithin(0, consumed, this.length);
      this.length -= consumed;
      this.t -= consumed;
    }
    return count;
  }
}

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.resampler = new Resampler(sampleRate, LINE_RATE);
    this.converted = new Float32Array(this.resampler.capacity(128));
    this.frame = new Int16Array(FRAME_SAMPLES);
    this.filled = 0;
    this.energy = 0;
  }

  process(inputs) {
    const channels = inputs[0];
    if (channels.length === 0) return true; // no microphone connected (yet, or any more)
    const mono = channels[0];
    if (this.converted.length < this.resampler.capacity(mono.length)) {
      this.converted = new Float32Array(this.resampler.capacity(mono.length));
    }
    const count = this.resampler.process(mono, this.converted);
    for (let i = 0; i < count; i++) {
      const s = Math.max(-1, Math.min(1, this.converted[i]));
      this.frame[this.filled++] = s < 0 ? s * 0x8000 : s * 0x7fff;
      this.energy += s * s;
      if (this.filled === FRAME_SAMPLES) {
        const pcm = this.frame.buffer;
        this.port.postMessage({ pcm, level: Math.sqrt(this.energy / FRAME_SAMPLES) }, [pcm]);
        this.frame = new Int16Array(FRAME_SAMPLES);
        this.filled = 0;
        this.energy = 0;
      }
    }
    return true;
  }
}

class PlaybackProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const startMs = options.processorOptions?.startMs ?? 60;
    this.startFrames = Math.round((startMs / 1000) * sampleRate);
    this.resampler = new Resampler(LINE_RATE, sampleRate);
    this.chunks = []; // Float32Arrays at the context's rate; the first is read from `head`
    this.head = 0;
    this.queued = 0; // context-rate samples waiting
    this.playing = false;
    this.waitingSince = -1; // currentFrame when the queue became non-empty while not playing
    this.played = 0; // context-rate samples rendered from the queue, ever
    this.reported = 0;
    this.port.onmessage = ({ data }) => {
      if (data === "clear") this.clear();
      else if (data === "report") this.report();
      else this.enqueue(data);
    };
  }

  enqueue(buffer) {
    const pcm = new Int16Array(buffer, 0, buffer.byteLength >> 1);
    const samples = new Float32Array(pcm.length);
    for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i] / 32768;
    const converted = new Float32Array(this.resampler.capacity(samples.length));
    const count = this.resampler.process(samples, converted);
    if (count === 0) return;
    this.chunks.push(converted.subarray(0, count));
    this.queued += count;
  }

  clear() {
    this.chunks = [];
    this.head = 0;
    this.queued = 0;
    this.playing = false;
    this.waitingSince = -1;
    this.resampler.reset();
    this.report();
  }

  process(_inputs, outputs) {
    const out = outputs[0][0];
    let written = 0;
    if (!this.playing && this.queued > 0) {
      if (this.waitingSince < 0) this.waitingSince = currentFrame;
      const waited = currentFrame - this.waitingSince;
      this.playing = this.queued >= this.startFrames || waited >= this.startFrames;
    }
    if (this.playing) {
      while (written < out.length && this.chunks.length > 0) {
        const chunk = this.chunks[0];
        const take = Math.min(out.length - written, chunk.length - this.head);
        out.set(chunk.subarray(this.head, this.head + take), written);
        written += take;
        this.head += take;
        if (this.head === chunk.length) {
          this.chunks.shift();
          this.head = 0;
        }
      }
      this.played += written;
      this.queued -= written;
      if (this.queued === 0) {
        // Played out (or ran dry): buffer up again before the next sample.
        this.playing = false;
        this.waitingSince = -1;
      }
    }
    out.fill(0, written);
    const played = this.linePlayed();
    if (played - this.reported >= REPORT_EVERY || (written > 0 && this.queued === 0)) {
      this.report();
    }
    return true;
  }

  linePlayed() {
    return Math.round((this.played * LINE_RATE) / sampleRate);
  }

  report() {
    this.reported = this.linePlayed();
    const queued = Math.round((this.queued * LINE_RATE) / sampleRate);
    this.port.postMessage({ played: this.reported, queued });
  }
}

registerProcessor("capture", CaptureProcessor);
registerProcessor("playback", PlaybackProcessor);
