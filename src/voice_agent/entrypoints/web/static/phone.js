// The web phone: microphone -> 16 kHz PCM16 frames -> WebSocket -> agent audio -> speakers.
//
// `window.phone` is the page's state, read by people in the console and by the browser tests:
// state, transcripts, latencies, framesSent, samplesPlayed (agent samples the playback worklet
// really rendered) and queuedSamples, clears, ended, endReason, audioTime; call(), hangUp() and
// sendDigit() drive it.
//
// The query string `?sampleRate=48000` forces the AudioContext's rate, to try the resampling
// path on a machine where the 16 kHz context is accepted.
//
// Before each call the page asks the server (same origin) for a short-lived token. A server
// reachable from the network wants its API key for that: the page takes it from the address's
// fragment (`#key=...`, never sent to the server, then removed from the address bar) or asks
// for it, and keeps it for the tab's session.

const LINE_RATE = 16000;
const START_BUFFER_MS = 60; // agent audio buffered before playback starts
const PENDING_FRAMES = 50; // caller audio kept (1 s) until the server is ready
const MAX_BUFFERED_BYTES = 64000; // ~2 s of caller audio stuck in the socket: drop, stay live
const HANGUP_GRACE_MS = 3000; // wait this long for the server to close after our hangup
const DRAIN_MS = 2000; // at most this long for the agent's last words after the server ends
const KEY_STORAGE = "voice-agent-api-key";

const STATUS = {
  idle: "Ready to call",
  connecting: "Connecting…",
  connected: "Connected",
  listening: "Listening",
  thinking: "Thinking…",
  speaking: "Speaking",
  ending: "Hanging up…",
};
const END_REASONS = {
  caller_hung_up: "you hung up",
  agent_hung_up: "the agent hung up",
  connection_lost: "the connection was lost",
  unreachable: "the agent could not be reached",
  failed: "it could not start",
  server_shutdown: "the server is shutting down",
  internal_error: "the agent ran into an error",
  error: "the agent ran into an error",
  protocol_errors: "this page sent too many bad messages",
  audio_too_fast: "the microphone sent audio too fast",
  client_not_reading: "this page stopped receiving audio",
  max_duration: "the call reached its time limit",
  silence_timeout: "nobody spoke for too long",
};
const STAGES = [
  ["eou_ms", "end of turn"],
  ["stt_ms", "STT"],
  ["llm_ttft_ms", "LLM"],
  ["tts_ttfb_ms", "TTS"],
];

const $ = (id) => document.getElementById(id);
const ui = {
  button: $("call"),
  status: $("status-text"),
  indicator: $("status"),
  error: $("error"),
  level: $("level"),
  transcript: $("transcript"),
  keypad: $("keypad"),
};

/** What `window.phone` reports about one call, as it is when a call begins. */
function freshCallState() {
  return {
    callId: null,
    stack: null,
    transcripts: [],
    latencies: [],
    framesSent: 0,
    samplesPlayed: 0,
    queuedSamples: 0,
    clears: 0,
    ended: false,
    endReason: null,
    error: null,
  };
}

const phone = {
  state: "idle",
  contextRate: null,
  ...freshCallState(),
  /** Seconds of audio the call's AudioContext has rendered (null between calls). */
  get audioTime() {
    return line?.context.currentTime ?? null;
  },
  call,
  hangUp,
  sendDigit,
};
window.phone = phone;

let line = null; // the call in progress: {socket, context, stream, source, capture, playback, ...}

async function call() {
  if (line) return;
  Object.assign(phone, freshCallState());
  ui.transcript.replaceChildren();
  showError(null);
  const current = {
    socket: null,
    context: null,
    stream: null,
    source: null,
    capture: null,
    playback: null,
    ready: false,
    pending: [],
    hungUp: false,
    finished: false,
    endReason: null,
    pendingLatency: null,
    onDrained: null,
  };
  line = current;
  setState("connecting");
  try {
    current.context = newContext(forcedRate()); // inside the click, so it may start playing
    const token = await fetchToken();
    if (current.finished) return; // hung up meanwhile
    await openAudio(current);
    if (current.finished) {
      stopMicrophone(current); // hung up while the microphone was being opened
      return;
    }
    openSocket(current, token);
  } catch (error) {
    if (current.finished) return; // hung up meanwhile: the context is closed, nothing to say
    console.error("web phone: could not start the call", error);
    showError(describe(error));
    finish(current, "failed");
  }
}

function hangUp() {
  const current = line;
  if (!current || current.hungUp) return;
  current.hungUp = true;
  stopMicrophone(current);
  current.playback?.port.postMessage("clear"); // the agent falls silent at once
  const socket = current.socket;
  if (socket?.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify({ type: "hangup" }));
    setState("ending");
    setTimeout(() => socket.close(), HANGUP_GRACE_MS);
  } else {
    socket?.close();
    finish(current, "caller_hung_up");
  }
}

function sendDigit(digit) {
  const socket = line?.socket;
  if (!line?.ready || socket.readyState !== WebSocket.OPEN) return false;
  socket.send(JSON.stringify({ type: "dtmf", digit: String(digit) }));
  return true;
}

// --- audio -------------------------------------------------------------------------------

function forcedRate() {
  const rate = Number(new URLSearchParams(location.search).get("sampleRate"));
  return Number.isFinite(rate) && rate > 0 ? rate : LINE_RATE;
}

function newContext(sampleRate) {
  const latencyHint = "interactive";
  if (sampleRate) {
    try {
      return new AudioContext({ sampleRate, latencyHint });
    } catch {
      // that rate is not supported: fall through to the device's
    }
  }
  return new AudioContext({ latencyHint });
}

async function openAudio(current) {
  if (!window.isSecureContext || !navigator.mediaDevices) {
    throw new Error("the microphone needs a secure page: open it over https or on localhost");
  }
  current.stream = await navigator.mediaDevices.getUserMedia({
    audio: {
      echoCancellation: true,
      noiseSuppression: true,
      autoGainControl: true,
      channelCount: 1,
    },
  });
  try {
    current.source = current.context.createMediaStreamSource(current.stream);
  } catch {
    // Some browsers cannot feed a microphone into a context at another rate than the
    // device's: run at the device's rate, and let the worklets resample.
    await current.context.close();
    current.context = newContext(null);
    current.source = current.context.createMediaStreamSource(current.stream);
  }
  const context = current.context;
  phone.contextRate = context.sampleRate;
  await context.audioWorklet.addModule(new URL("audio-worklets.js", import.meta.url));
  current.capture = new AudioWorkletNode(context, "capture", {
    numberOfInputs: 1,
    numberOfOutputs: 0,
    channelCount: 1,
    channelCountMode: "explicit",
  });
  current.playback = new AudioWorkletNode(context, "playback", {
    numberOfInputs: 0,
    numberOfOutputs: 1,
    outputChannelCount: [1],
    processorOptions: { startMs: START_BUFFER_MS },
  });
  current.capture.port.onmessage = ({ data }) => onCallerFrame(current, data);
  current.playback.port.onmessage = ({ data }) => onPlayback(current, data);
  current.playback.connect(context.destination);
  current.source.connect(current.capture);
  if (context.state !== "running") await context.resume();
}

function onCallerFrame(current, { pcm, level }) {
  if (line !== current || current.hungUp) return;
  ui.level.value = Math.min(1, level * 4);
  const socket = current.socket;
  if (!current.ready) {
    current.pending.push(pcm);
    if (current.pending.length > PENDING_FRAMES) current.pending.shift();
  } else if (socket.readyState === WebSocket.OPEN && socket.bufferedAmount < MAX_BUFFERED_BYTES) {
    socket.send(pcm);
    phone.framesSent += 1;
  }
}

function onPlayback(current, { played, queued }) {
  const draining = line === null && current.onDrained;
  if (line !== current && !draining) return;
  phone.samplesPlayed = played;
  phone.queuedSamples = queued;
  if (queued === 0) current.onDrained?.();
}

function stopMicrophone(current) {
  current.stream?.getTracks().forEach((track) => track.stop());
  current.source?.disconnect();
  ui.level.value = 0;
}

// --- the line to the agent ---------------------------------------------------------------

/** A token for /ws, or null when the server needs none; asks for the API key at most once. */
async function fetchToken() {
  takeKeyFromAddress();
  for (let asked = false; ; asked = true) {
    const key = sessionStorage.getItem(KEY_STORAGE);
    const headers = key ? { Authorization: `Bearer ${key}` } : {};
    const response = await fetch(new URL("ws-token", location.href), { method: "POST", headers });
    if (response.ok) return (await response.json()).token ?? null;
    if (response.status !== 401) {
      throw new Error(`the agent refused the call (HTTP ${response.status})`);
    }
    sessionStorage.removeItem(KEY_STORAGE);
    const entered = asked ? null : window.prompt("This agent needs its API key:");
    if (!entered) throw new Error(key ? "the API key was refused" : "the agent needs its API key");
    sessionStorage.setItem(KEY_STORAGE, entered.trim());
  }
}

function takeKeyFromAddress() {
  const key = new URLSearchParams(location.hash.slice(1)).get("key");
  if (!key) return;
  sessionStorage.setItem(KEY_STORAGE, key);
  history.replaceState(null, "", location.pathname + location.search);
}

function openSocket(current, token) {
  const url = new URL("ws", location.href); // /ws next to the page
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  // A token rides as a subprotocol: browsers cannot set headers, and query strings get logged.
  const socket = token ? new WebSocket(url, ["voice-agent", `token.${token}`]) : new WebSocket(url);
  socket.binaryType = "arraybuffer";
  current.socket = socket;
  socket.onopen = () => socket.send(JSON.stringify({ type: "start" }));
  socket.onmessage = ({ data }) => {
    if (line !== current) return;
    if (data instanceof ArrayBuffer) {
      if (!current.hungUp) current.playback.port.postMessage(data, [data]);
    } else {
      onMessage(current, JSON.parse(data));
    }
  };
  socket.onclose = () =>
    finish(current, current.endReason ?? (current.ready ? "connection_lost" : "unreachable"));
}

function onMessage(current, message) {
  switch (message.type) {
    case "ready":
      phone.callId = message.call_id;
      phone.stack = message.stack ?? null;
      current.ready = true;
      for (const pcm of current.pending.splice(0)) {
        current.socket.send(pcm);
        phone.framesSent += 1;
      }
      if (phone.state === "connecting") setState("connected");
      break;
    case "state":
      if (!current.hungUp) setState(message.state);
      break;
    case "clear":
      current.playback.port.postMessage("clear");
      phone.clears += 1;
      break;
    case "transcript":
      addTurn(current, message);
      break;
    case "latency":
      phone.latencies.push(message);
      current.pendingLatency = message;
      break;
    case "ended":
      current.endReason = message.reason ?? "ended";
      phone.endReason = current.endReason;
      phone.ended = true;
      current.socket.close(); // the server closes too; the agent's last words are queued
      break;
    case "error":
      phone.error = message.message;
      showError(message.message);
      break;
    default:
      break; // newer servers may say more
  }
}

async function finish(current, reason) {
  if (current.finished) return;
  current.finished = true;
  if (line === current) line = null;
  stopMicrophone(current);
  const lost = reason === "connection_lost" || reason === "unreachable";
  current.endReason = current.hungUp && lost ? "caller_hung_up" : reason;
  Object.assign(phone, { ended: true, endReason: current.endReason });
  setState("ended");
  if (!current.hungUp && current.playback) {
    // The server ended the call: let the agent's last words play out.
    await new Promise((resolve) => {
      current.onDrained = resolve;
      current.playback.port.postMessage("report");
      setTimeout(resolve, DRAIN_MS);
    });
  }
  current.onDrained = null;
  current.context?.close().catch(() => {});
}

// --- the page ----------------------------------------------------------------------------

function setState(state) {
  phone.state = state;
  const inCall = !["idle", "ended"].includes(state);
  ui.indicator.dataset.state = state;
  ui.status.textContent =
    state === "ended" ? `Call ended: ${describeReason(phone.endReason)}` : describeState(state);
  ui.button.textContent = inCall ? "Hang up" : "Call";
  ui.button.classList.toggle("hang-up", inCall);
  ui.keypad.disabled = !inCall;
}

function describeState(state) {
  const words = String(state).replaceAll("_", " ");
  return STATUS[state] ?? words.charAt(0).toUpperCase() + words.slice(1);
}

function describeReason(reason) {
  return END_REASONS[reason] ?? String(reason ?? "unknown").replaceAll("_", " ");
}

function describe(error) {
  if (error?.name === "NotAllowedError") return "Microphone access was refused.";
  if (error?.name === "NotFoundError") return "No microphone was found.";
  return `Could not start the call: ${error?.message ?? error}`;
}

function showError(message) {
  ui.error.hidden = !message;
  ui.error.textContent = message ?? "";
}

function addTurn(current, { role, text, interrupted = false }) {
  phone.transcripts.push({ role, text, interrupted });
  const item = document.createElement("li");
  item.className = `turn ${role}`;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = role === "agent" ? "Agent" : "You";
  const words = document.createElement("p");
  words.className = "text";
  words.textContent = text;
  item.append(who, words);
  if (role === "agent") {
    if (interrupted) {
      item.classList.add("interrupted");
      const mark = document.createElement("span");
      mark.className = "tag";
      mark.textContent = "interrupted";
      who.after(mark);
    }
    if (current.pendingLatency) {
      item.append(latencyNote(current.pendingLatency));
      current.pendingLatency = null;
    }
  }
  ui.transcript.append(item);
  item.scrollIntoView({ block: "nearest" });
}

function latencyNote(latency) {
  const note = document.createElement("p");
  note.className = "latency";
  const total = document.createElement("strong");
  total.title = "Voice to voice: from the end of your speech to the agent's first audio";
  total.textContent = `${formatMs(latency.voice_to_voice_ms)} voice to voice`;
  note.append(total);
  const stages = STAGES.filter(([key]) => latency[key] != null).map(
    ([key, label]) => `${label} ${formatMs(latency[key])}`,
  );
  if (stages.length > 0) {
    const small = document.createElement("small");
    small.textContent = stages.join(" · ");
    note.append(" ", small);
  }
  return note;
}

function formatMs(ms) {
  return ms == null ? "–" : `${Math.round(ms)} ms`;
}

ui.button.addEventListener("click", () => (line ? hangUp() : call()));
ui.keypad.addEventListener("click", (event) => {
  const digit = event.target.closest("button")?.dataset.digit;
  if (digit) sendDigit(digit);
});
window.addEventListener("pagehide", hangUp);
setState("idle");
