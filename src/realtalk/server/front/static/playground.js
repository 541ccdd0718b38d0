// realtalk playground: microphone in, live transcript, event timeline, effective config and
// per-turn latency, over a Realtime WebSocket route (browser subprotocol auth) or over WebRTC
// the way a browser app does it (a client secret carrying the config, an SDP offer POSTed to
// the calls route, events on the "oai-events" data channel, the reply on the remote audio
// track). No build step.
"use strict";

const RATE = 24000;
const CHUNK = RATE / 10; // 100 ms of audio per input_audio_buffer.append
const PREVIEW = "2025-04-01-preview";
// Per route: the WebSocket URL, and for WebRTC where a key mints a client secret, how the
// secret is asked for, and where the SDP offer goes (protocol.md 1e and 1f).
const ROUTES = {
  "openai": {shape: "ga", url: (b, m) => `${b}/v1/realtime?model=${encodeURIComponent(m)}`,
    mint: (b) => `${b}/v1/realtime/client_secrets`, calls: (b) => `${b}/v1/realtime/calls`},
  "azure": {shape: "ga", url: (b, m) => `${b}/openai/v1/realtime?model=${encodeURIComponent(m)}`,
    mint: (b) => `${b}/openai/v1/realtime/client_secrets`, calls: (b) => `${b}/openai/v1/realtime/calls`},
  "azure-preview": {shape: "beta", url: (b, m) =>
    `${b}/openai/realtime?api-version=${PREVIEW}&deployment=${encodeURIComponent(m)}`,
    mint: (b) => `${b}/openai/realtimeapi/sessions?api-version=${PREVIEW}`,
    calls: (b, m) => `${b}/v1/realtimertc?model=${encodeURIComponent(m)}`},
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
$("transport").value = params.get("transport") || "websocket";
$("base").value = params.get("base") || `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}`;
$("model").value = params.get("model") || "gpt-realtime";
$("key").value = params.get("key") || "";
$("mint").value = params.get("mint") || "";
$("transcription").value = params.get("transcription") || "whisper-1";
$("instructions").value = params.get("instructions") || "";
const echoCancellation = params.get("aec") !== "0";

let ws = null, rtc = null, shape = "ga", t0 = 0, requested = {};
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
  // WebRTC: the server plays the reply on the track and cuts it itself (barge-in), or when
  // asked with output_audio_buffer.clear; it truncates at what it played.
  if (rtc) return;
  // Barge-in or interrupt: cut the reply where the listener is and tell the server.
  if (playingItem && ctx && playAt > ctx.currentTime) {
    const played = Math.max(0, Math.round((ctx.currentTime - itemStart) * 1000));
    send({type: "conversation.item.truncate", item_id: playingItem, content_index: 0, audio_end_ms: played});
  }
  for (const s of playing) { try { s.stop(); } catch (e) { /* already ended */ } }
  playing = []; playAt = 0; playingItem = null;
}
const microphone = () => navigator.mediaDevices.getUserMedia({audio: {channelCount: 1, echoCancellation,
  noiseSuppression: echoCancellation, autoGainControl: echoCancellation}});
async function startMic() {
  if (rtc) {
    // WebRTC: the microphone is the outgoing track itself (Opus, the browser's own pacing).
    const stream = rtc.stream || await microphone();
    await rtc.sender.replaceTrack(stream.getAudioTracks()[0]);
    mic = {stream: null, node: null, sourceNode: null};
    $("mic").textContent = "Stop microphone"; $("mic").classList.add("live");
    return;
  }
  const audio = ensureAudio();
  await audio.resume();
  await audio.audioWorklet.addModule("/playground/capture-worklet.js");
  const stream = await microphone();
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
  if (mic.sourceNode) { mic.sourceNode.disconnect(); mic.node.disconnect(); }
  if (rtc) rtc.sender.replaceTrack(null);
  if (mic.stream) for (const track of mic.stream.getTracks()) track.stop();
  mic = null;
  $("mic").textContent = "Start microphone"; $("mic").classList.remove("live");
}

// -- the connection -------------------------------------------------------------------------
function send(event, quiet) {
  if (rtc) {
    if (rtc.channel.readyState !== "open") return;
    rtc.channel.send(JSON.stringify(event));
  } else {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify(event));
  }
  timeline("out", event.type, quiet ? "" : (event.type === "session.update" ? Object.keys(event.session).join(", ") : ""));
}
function sessionConfig() {
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
  return requested;
}
function sessionUpdate() { send({type: "session.update", session: sessionConfig()}); }
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
    case "output_audio_buffer.started": {
      const turn = turnOfResponse(event.response_id);  // WebRTC: the reply starts on the track
      if (turn && turn.firstAudio === undefined) { turn.firstAudio = now(); drawLatency(); }
      detail = event.response_id; break;
    }
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
function opened() {
  status(`connected: ${$("route").selectedOptions[0].textContent} over ${$("transport").selectedOptions[0].textContent}`, "open");
  for (const id of ["disconnect", "mic", "interrupt", "say", "send"]) $(id).disabled = false;
  $("connect").disabled = true;
}
function closed(text, state) {
  status(text, state);
  stopMic();
  for (const id of ["disconnect", "mic", "interrupt", "say", "send"]) $(id).disabled = true;
  $("connect").disabled = false;
}
const httpBase = () => $("base").value.replace(/\/+$/, "").replace(/^ws/, "http");
async function mintHere(route, key) {
  // What a browser app's backend does: a short-lived secret that carries the session config,
  // so the agent is right from the first moment. Here the page holds the key itself.
  const model = $("model").value.trim();
  const session = sessionConfig();
  const body = shape === "ga" ? {session: {...session, model}} : {...session, model};
  const headers = {"Content-Type": "application/json"};
  if (shape === "ga" && $("route").value === "openai") headers.Authorization = `Bearer ${key}`;
  else headers["api-key"] = key;
  const answer = await fetch(route.mint(httpBase()), {method: "POST", headers, body: JSON.stringify(body)});
  const minted = await answer.json();
  if (!answer.ok) throw new Error((minted.error && minted.error.message) || `HTTP ${answer.status}`);
  return minted.value || (minted.client_secret && minted.client_secret.value);
}
function gathered(pc) {
  // One offer with every candidate in it: the calls route takes no trickled candidates.
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener("icegatheringstatechange", () => { if (pc.iceGatheringState === "complete") resolve(); });
  });
}
async function connectRtc(route) {
  const minted = $("mint").value.trim();
  const secret = minted ? await credential() : await mintHere(route, $("key").value.trim());
  if (minted) sessionConfig();  // the config rows still say what the page asked for
  // The microphone first, as a browser app asks for it before calling: the track is added
  // when "Start microphone" is pressed. (Without a microphone permission Chromium hides the
  // host addresses behind mDNS names.)
  let stream = null;
  try { stream = await microphone(); } catch (err) { timeline("in", "no microphone", err.message); }
  const pc = new RTCPeerConnection({iceServers: []});  // no STUN/TURN: host candidates only
  const transceiver = pc.addTransceiver("audio", {direction: "sendrecv"});
  const channel = pc.createDataChannel("oai-events");
  const player = $("player");
  pc.ontrack = (e) => { player.srcObject = e.streams[0] || new MediaStream([e.track]); player.play().catch(() => {}); };
  rtc = {pc, channel, stream, sender: transceiver.sender, callId: null, offer: "", answer: ""};
  window.realtalkCall = rtc;  // for the curious (and the tests): both SDPs and the call id
  channel.onopen = opened;
  channel.onmessage = (m) => { try { onEvent(JSON.parse(m.data)); } catch (err) { timeline("in", "unreadable", String(err)); } };
  channel.onclose = () => closed("call ended", "idle");
  pc.onconnectionstatechange = () => { if (pc.connectionState === "failed") closed("the WebRTC connection failed", "error"); };
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  rtc.offer = pc.localDescription.sdp;
  const url = route.calls(httpBase(), $("model").value.trim());
  const answer = await fetch(url, {method: "POST", body: rtc.offer,
    headers: {"Content-Type": "application/sdp", Authorization: `Bearer ${secret}`}});
  const text = await answer.text();
  if (answer.status !== 201) {
    let message = text;
    try { message = JSON.parse(text).error.message; } catch (err) { /* not JSON */ }
    throw new Error(`the calls route answered ${answer.status}: ${message}`);
  }
  rtc.answer = text;
  rtc.callId = (answer.headers.get("Location") || "").split("/").pop();
  timeline("out", "webrtc offer", `call ${rtc.callId}`);
  await pc.setRemoteDescription({type: "answer", sdp: text});
}
async function connect(e) {
  e.preventDefault();
  const route = ROUTES[$("route").value];
  shape = route.shape;
  if ($("transport").value === "webrtc") {
    t0 = performance.now();
    status("calling…", "connecting");
    try { await connectRtc(route); } catch (err) {
      if (rtc) rtc.pc.close();
      rtc = null;
      status(`could not call: ${err.message}`, "error");
    }
    return;
  }
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
  ws.onopen = () => { opened(); sessionUpdate(); };
  ws.onmessage = (m) => { try { onEvent(JSON.parse(m.data)); } catch (err) { timeline("in", "unreadable", String(err)); } };
  ws.onclose = (c) => closed(`closed (${c.code}${c.reason ? ": " + c.reason : ""})`, c.code === 1000 ? "idle" : "error");
}
$("connect-form").addEventListener("submit", connect);
$("disconnect").addEventListener("click", () => {
  if (rtc) {
    const {pc, stream} = rtc;
    stopMic(); rtc = null; pc.close();
    if (stream) for (const track of stream.getTracks()) track.stop();
    closed("call ended", "idle");
  }
  else if (ws) ws.close(1000);
});
$("mic").addEventListener("click", () => { if (mic) stopMic(); else startMic().catch((err) => status(`microphone: ${err.message}`, "error")); });
$("interrupt").addEventListener("click", () => {
  stopPlayback();
  send({type: "response.cancel"});
  if (rtc) send({type: "output_audio_buffer.clear"});  // WebRTC: the server drops what it queued
});
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
