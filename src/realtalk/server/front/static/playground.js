// realtalk playground: microphone in, live transcript, event timeline, effective config and
// per-turn latency, over a Realtime WebSocket route (browser subprotocol auth). No build step.
"use strict";

const RATE = 24000;
const CHUNK = RATE / 10; // 100 ms of audio per input_audio_buffer.append
const ROUTES = {
  "openai": {shape: "ga", url: (b, m) => `${b}/v1/realtime?model=${encodeURIComponent(m)}`},
  "azure": {shape: "ga", url: (b, m) => `${b}/openai/v1/realtime?model=${encodeURIComponent(m)}`},
  "azure-preview": {shape: "beta", url: (b, m) =>
    `${b}/openai/realtime?api-version=2025-04-01-preview&deployment=${encodeURIComponent(m)}`},
};
// Both shapes' names are accepted whatever the route (gateways mix them).
const AUDIO_DELTA = new Set(["response.output_audio.delta", "response.audio.delta"]);
const SAY_DELTA = new Set(["response.output_audio_transcript.delta", "response.audio_transcript.delta",
  "response.output_text.delta", "response.text.delta"]);
const SAY_DONE = new Set(["response.output_audio_transcript.done", "response.audio_transcript.done",
  "response.output_text.done", "response.text.done"]);

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.hash.slice(1));
$("route").value = params.get("route") || "openai";
$("base").value = params.get("base") || `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}`;
$("model").value = params.get("model") || "gpt-realtime";
$("key").value = params.get("key") || "";
$("mint").value = params.get("mint") || "";
$("transcription").value = params.get("transcription") || "whisper-1";
$("instructions").value = params.get("instructions") || "";
const echoCancellation = params.get("aec") !== "0";

let ws = null, shape = "ga", t0 = 0, requested = {};
let ctx = null, mic = null, playAt = 0, playing = [], playingItem = null, itemStart = 0;
let turns = [], current = null, lines = {}, lastRow = null, byResponse = {};
// Rows of these types that follow each other are counted on one row.
const COUNTED = (type) => type.endsWith(".delta") || type === "input_audio_buffer.append";

const now = () => (performance.now() - t0) / 1000;
const el = (tag, attrs, ...kids) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else if (k === "text") node.textContent = v; else node.setAttribute(k, v);
  }
  for (const kid of kids) node.append(kid);
  return node;
};
function status(text, state) { $("status").textContent = text; $("status").dataset.state = state; }

// -- transcript -----------------------------------------------------------------------------
function line(role, text, key) {
  const node = el("div", {class: `line ${role}`}, el("span", {class: "who", text: role === "user" ? "you" : role}),
    el("span", {class: "text", text}));
  $("transcript").append(node);
  $("transcript").scrollTop = $("transcript").scrollHeight;
  if (key) lines[key] = node;
  return node;
}
function say(key, delta, final) {
  const node = lines[key] || line("assistant", "", key);
  const text = node.querySelector(".text");
  text.textContent = final === undefined ? text.textContent + delta : final;
}

// -- timeline -------------------------------------------------------------------------------
function timeline(dir, type, detail) {
  const tbody = $("timeline").querySelector("tbody");
  if (lastRow && lastRow.dataset.type === type && COUNTED(type)) {
    const n = +lastRow.dataset.count + 1;
    lastRow.dataset.count = n; lastRow.cells[3].textContent = `×${n}`;
    return;
  }
  lastRow = el("tr", {"data-type": type, "data-count": 1}, el("td", {text: now().toFixed(3)}),
    el("td", {text: dir === "out" ? "↑" : "↓"}), el("td", {}, el("code", {text: type})), el("td", {text: detail || ""}));
  tbody.append(lastRow);
  while (tbody.rows.length > 400) tbody.deleteRow(0);
}

// -- config ---------------------------------------------------------------------------------
function flatten(value, path, out) {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, path ? `${path}.${k}` : k, out);
  } else out[path] = value;
  return out;
}
function showConfig(session) {
  const mine = flatten(requested, "", {});
  const tbody = $("config").querySelector("tbody");
  tbody.replaceChildren();
  for (const [path, value] of Object.entries(flatten(session, "", {}))) {
    const set = Object.keys(mine).some((p) => p === path || path.startsWith(p + "."));
    const shown = typeof value === "string" ? value : JSON.stringify(value);
    tbody.append(el("tr", {}, el("td", {}, el("code", {text: path})),
      el("td", {text: shown && shown.length > 120 ? shown.slice(0, 120) + "…" : shown}),
      el("td", {text: set ? "playground" : "server default"})));
  }
}

// -- latency --------------------------------------------------------------------------------
function newTurn(input, at, itemId) {
  current = {n: turns.length + 1, input, end: at, item: itemId};
  turns.push(current); drawLatency();
}
// A turn's events are matched by ids: a slow transcript may arrive after the next turn began.
const turnOfItem = (id) => turns.find((t) => t.item === id);
const turnOfResponse = (id) => byResponse[id];
function drawLatency() {
  const tbody = $("latency").querySelector("tbody");
  tbody.replaceChildren();
  const ms = (t, v) => v === undefined || t.end === undefined ? "-" : `${Math.round((v - t.end) * 1000)} ms`;
  for (const t of turns) tbody.append(el("tr", {"data-turn": t.n}, el("td", {text: t.n}), el("td", {text: t.input}),
    el("td", {text: ms(t, t.transcript)}), el("td", {text: ms(t, t.firstAudio)}), el("td", {text: ms(t, t.done)})));
}

// -- audio ----------------------------------------------------------------------------------
function ensureAudio() {
  if (!ctx) ctx = new AudioContext({sampleRate: RATE});
  return ctx;
}
function b64FromInt16(samples) {
  const bytes = new Uint8Array(samples.buffer);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
function play(itemId, b64) {
  const raw = atob(b64);
  const pcm = new Int16Array(raw.length >> 1);
  for (let i = 0; i < pcm.length; i++) pcm[i] = (raw.charCodeAt(2 * i) | (raw.charCodeAt(2 * i + 1) << 8)) << 16 >> 16;
  if (!pcm.length) return;
  const audio = ensureAudio();
  const buffer = audio.createBuffer(1, pcm.length, RATE);
  const channel = buffer.getChannelData(0);
  for (let i = 0; i < pcm.length; i++) channel[i] = pcm[i] / 32768;
  const source = audio.createBufferSource();
  source.buffer = buffer; source.connect(audio.destination);
  const at = Math.max(audio.currentTime, playAt);
  if (playingItem !== itemId) { playingItem = itemId; itemStart = at; }
  source.start(at); playAt = at + buffer.duration;
  playing.push(source);
  source.onended = () => { playing = playing.filter((s) => s !== source); };
}
function stopPlayback() {
  // Barge-in or interrupt: cut the reply where the listener is and tell the server.
  if (playingItem && ctx && playAt > ctx.currentTime) {
    const played = Math.max(0, Math.round((ctx.currentTime - itemStart) * 1000));
    send({type: "conversation.item.truncate", item_id: playingItem, content_index: 0, audio_end_ms: played});
  }
  for (const s of playing) { try { s.stop(); } catch (e) { /* already ended */ } }
  playing = []; playAt = 0; playingItem = null;
}
async function startMic() {
  const audio = ensureAudio();
  await audio.resume();
  await audio.audioWorklet.addModule("/playground/capture-worklet.js");
  const stream = await navigator.mediaDevices.getUserMedia({audio: {channelCount: 1, echoCancellation,
    noiseSuppression: echoCancellation, autoGainControl: echoCancellation}});
  const sourceNode = audio.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(audio, "realtalk-capture");
  let pending = new Int16Array(CHUNK), filled = 0;
  node.port.onmessage = (e) => {
    for (const x of e.data) {
      pending[filled++] = Math.max(-32768, Math.min(32767, Math.round(x * 32767)));
      if (filled === CHUNK) {
        send({type: "input_audio_buffer.append", audio: b64FromInt16(pending)}, true);
        pending = new Int16Array(CHUNK); filled = 0;
      }
    }
  };
  sourceNode.connect(node);
  mic = {stream, node, sourceNode};
  $("mic").textContent = "Stop microphone"; $("mic").classList.add("live");
}
function stopMic() {
  if (!mic) return;
  mic.sourceNode.disconnect(); mic.node.disconnect();
  for (const track of mic.stream.getTracks()) track.stop();
  mic = null;
  $("mic").textContent = "Start microphone"; $("mic").classList.remove("live");
}

// -- the connection -------------------------------------------------------------------------
function send(event, quiet) {
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  ws.send(JSON.stringify(event));
  timeline("out", event.type, quiet ? "" : (event.type === "session.update" ? Object.keys(event.session).join(", ") : ""));
}
function sessionUpdate() {
  const transcription = $("transcription").value.trim();
  const instructions = $("instructions").value.trim();
  if (shape === "ga") {
    const input = {format: {type: "audio/pcm", rate: RATE}, turn_detection: {type: "server_vad"}};
    if (transcription) input.transcription = {model: transcription};
    requested = {type: "realtime", audio: {input, output: {format: {type: "audio/pcm", rate: RATE}}}};
  } else {
    requested = {input_audio_format: "pcm16", output_audio_format: "pcm16", turn_detection: {type: "server_vad"}};
    if (transcription) requested.input_audio_transcription = {model: transcription};
  }
  if (instructions) requested.instructions = instructions;
  send({type: "session.update", session: requested});
}
async function credential() {
  const mint = $("mint").value.trim();
  if (!mint) return $("key").value.trim();
  // The user's backend mints a short-lived client secret; the page never sees a real key.
  const answer = await (await fetch(mint, {method: "POST"})).json();
  const value = answer.value || (answer.client_secret && answer.client_secret.value);
  if (!value) throw new Error("the mint URL answered without a client secret value");
  return value;
}
function onEvent(event) {
  const type = event.type || "?";
  let detail = "";
  if (AUDIO_DELTA.has(type)) {
    const turn = turnOfResponse(event.response_id);
    if (turn && turn.firstAudio === undefined) { turn.firstAudio = now(); drawLatency(); }
    play(event.item_id, event.delta);
  } else if (SAY_DELTA.has(type)) { say(event.response_id, event.delta); detail = event.delta; }
  else if (SAY_DONE.has(type)) { say(event.response_id, "", event.transcript ?? event.text); }
  else switch (type) {
    case "session.created": case "session.updated": case "transcription_session.updated":
      showConfig(event.session || {}); detail = event.session && event.session.id || ""; break;
    case "input_audio_buffer.speech_started": stopPlayback(); detail = `audio ${event.audio_start_ms} ms`; break;
    case "input_audio_buffer.speech_stopped": newTurn("speech", now(), event.item_id); detail = `audio ${event.audio_end_ms} ms`; break;
    case "conversation.item.input_audio_transcription.completed": {
      line("user", event.transcript);
      const turn = turnOfItem(event.item_id);
      if (turn) { turn.transcript = now(); drawLatency(); }
      detail = event.transcript; break;
    }
    case "response.created":
      if (current && event.response) byResponse[event.response.id] = current;
      detail = event.response && event.response.id; break;
    case "response.done": {
      const turn = event.response && turnOfResponse(event.response.id);
      if (turn) { turn.done = now(); drawLatency(); }
      detail = event.response && event.response.status; break;
    }
    case "error":
      line("error", `${event.error && event.error.code}: ${event.error && event.error.message}`);
      detail = event.error && event.error.message; break;
  }
  timeline("in", type, detail);
}
async function connect(e) {
  e.preventDefault();
  const route = ROUTES[$("route").value];
  shape = route.shape;
  let key;
  try { key = await credential(); } catch (err) { status(`could not get a client secret: ${err.message}`, "error"); return; }
  const url = route.url($("base").value.replace(/\/+$/, ""), $("model").value.trim());
  const protocols = ["realtime"];
  if (key) protocols.push("openai-insecure-api-key." + key);
  if (shape === "beta") protocols.push("openai-beta.realtime-v1");
  ensureAudio();
  t0 = performance.now();
  status("connecting…", "connecting");
  ws = new WebSocket(url, protocols);
  ws.onopen = () => {
    status(`connected: ${$("route").selectedOptions[0].textContent}`, "open");
    for (const id of ["disconnect", "mic", "interrupt", "say", "send"]) $(id).disabled = false;
    $("connect").disabled = true;
    sessionUpdate();
  };
  ws.onmessage = (m) => { try { onEvent(JSON.parse(m.data)); } catch (err) { timeline("in", "unreadable", String(err)); } };
  ws.onclose = (c) => {
    status(`closed (${c.code}${c.reason ? ": " + c.reason : ""})`, c.code === 1000 ? "idle" : "error");
    stopMic();
    for (const id of ["disconnect", "mic", "interrupt", "say", "send"]) $(id).disabled = true;
    $("connect").disabled = false;
  };
}
$("connect-form").addEventListener("submit", connect);
$("disconnect").addEventListener("click", () => ws && ws.close(1000));
$("mic").addEventListener("click", () => { if (mic) stopMic(); else startMic().catch((err) => status(`microphone: ${err.message}`, "error")); });
$("interrupt").addEventListener("click", () => { stopPlayback(); send({type: "response.cancel"}); });
$("say-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("say").value.trim();
  if (!text) return;
  $("say").value = "";
  line("user", text);
  newTurn("text", now());
  send({type: "conversation.item.create", item: {type: "message", role: "user", content: [{type: "input_text", text}]}});
  send({type: "response.create"});
});
document.body.dataset.ready = "1";
