// The page's behaviour: voices, play (streamed through Web Audio where the browser can,
// else one whole WAV), download, and cloning a voice from a file or a recording.
"use strict";
const $ = (id) => document.getElementById(id);
let sampleRate = 24000;
let objectUrl = null;
let recorder = null;

class ServerRefusal extends Error {}  // the server said no: show it, never retry another way

function headers(json) {
  const h = json ? { "Content-Type": "application/json" } : {};
  const key = $("api-key").value.trim();
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

async function refusal(response) {
  try { return new ServerRefusal((await response.json()).error.message); }
  catch { return new ServerRefusal(`HTTP ${response.status}`); }
}

function setStatus(text, state, mode) {
  const s = $("status");
  s.textContent = text; s.dataset.state = state;
  if (mode) s.dataset.mode = mode;
}

async function loadInfo() {
  const h = await (await fetch("/health")).json();
  sampleRate = h.sample_rate;
  $("model").textContent = `model ${h.model} · ${h.family} · ${h.sample_rate} Hz`;
  $("key-row").hidden = !h.auth;
  await loadVoices();
}

async function loadVoices(selected) {
  const r = await fetch("/v1/audio/voices", { headers: headers(false) });
  if (!r.ok) { setStatus((await refusal(r)).message, "error"); return; }
  const select = $("voice");
  select.replaceChildren(...(await r.json()).voices.map((v) => {
    const label = v.kind === "shipped" ? v.name : `${v.name} (saved, ${v.seconds} s)`;
    return new Option(label, v.id);
  }));
  if (selected) select.value = selected;
}

function request(stream) {
  const b = { input: $("text").value, voice: $("voice").value, stream,
              response_format: stream ? "pcm" : "wav" };
  if ($("temperature").value !== "") b.temperature = Number($("temperature").value);
  if ($("speed").value !== "" && Number($("speed").value) !== 1) b.speed = Number($("speed").value);
  if ($("seed").value !== "") b.seed = Number($("seed").value);
  return b;
}

async function post(stream) {
  const r = await fetch("/v1/audio/speech", { method: "POST", headers: headers(true),
                                              body: JSON.stringify(request(stream)) });
  if (!r.ok) throw await refusal(r);
  return r;
}

// Schedules each network chunk on the Web Audio clock as it arrives; returns all the PCM.
async function playStreaming(started) {
  const ctx = new AudioContext({ sampleRate });
  await ctx.resume();
  const reader = (await post(true)).body.getReader();
  const parts = [];
  let carry = new Uint8Array(0), at = 0, firstMs = null;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const bytes = new Uint8Array(carry.length + value.length);
    bytes.set(carry); bytes.set(value, carry.length);
    const even = bytes.length & ~1;  // a 16-bit sample may be split across network chunks
    carry = bytes.slice(even);
    if (!even) continue;
    const pcm = bytes.slice(0, even);
    parts.push(pcm);
    if (firstMs === null) firstMs = performance.now() - started;
    const samples = floatFromPcm(pcm);
    const buffer = ctx.createBuffer(1, samples.length, sampleRate);
    buffer.copyToChannel(samples, 0);
    const source = ctx.createBufferSource();
    source.buffer = buffer; source.connect(ctx.destination);
    at = Math.max(at, ctx.currentTime + 0.02);
    source.start(at); at += buffer.duration;
    setStatus(`playing… first audio after ${(firstMs / 1000).toFixed(2)} s`, "busy", "stream");
  }
  return { blob: wavFromPcm(new Uint8Array(await new Blob(parts).arrayBuffer()), sampleRate), firstMs };
}

function show(blob, autoplay) {
  if (objectUrl) URL.revokeObjectURL(objectUrl);
  objectUrl = URL.createObjectURL(blob);
  $("audio").src = objectUrl;
  $("download").href = objectUrl; $("download").hidden = false;
  if (autoplay) $("audio").play().catch(() => {});
}

async function play() {
  $("play").disabled = true;
  const started = performance.now();
  setStatus("generating…", "busy");
  try {
    let result, mode = "stream";
    try {
      result = await playStreaming(started);
    } catch (err) {
      if (err instanceof ServerRefusal) throw err;
      mode = "whole";  // no Web Audio or no readable streams here: fetch one WAV instead
      result = { blob: await (await post(false)).blob(), firstMs: null };
    }
    show(result.blob, mode === "whole");
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    setStatus(`done in ${seconds} s` + (result.firstMs === null ? "" :
              `, first audio after ${(result.firstMs / 1000).toFixed(2)} s`), "done", mode);
  } catch (err) {
    setStatus(err.message, "error");
  } finally {
    $("play").disabled = false;
  }
}

async function upload(file, filename) {
  const status = $("upload-status");
  const form = new FormData();
  form.append("file", file, filename);
  if ($("ref-name").value.trim()) form.append("name", $("ref-name").value.trim());
  if ($("ref-text").value.trim()) form.append("transcript", $("ref-text").value.trim());
  status.textContent = "encoding…"; status.className = "";
  const r = await fetch("/v1/voices", { method: "POST", headers: headers(false), body: form });
  if (!r.ok) { status.textContent = (await refusal(r)).message; status.className = "error"; return; }
  const voice = await r.json();
  status.textContent = `saved as ${voice.id}`;
  await loadVoices(voice.id);
}

// Browsers record webm/ogg, which the server's soundfile may not read: decode it here and
// send a plain WAV instead.
async function toggleRecording() {
  if (recorder) { recorder.stop(); return; }
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const chunks = [];
  recorder = new MediaRecorder(stream);
  recorder.ondataavailable = (e) => chunks.push(e.data);
  recorder.onstop = async () => {
    stream.getTracks().forEach((t) => t.stop());
    recorder = null; $("record").textContent = "● Record";
    const decoded = await new AudioContext().decodeAudioData(await new Blob(chunks).arrayBuffer());
    await upload(wavFromPcm(pcmFromFloat(decoded.getChannelData(0)), decoded.sampleRate), "recording.wav");
  };
  recorder.start();
  $("record").textContent = "■ Stop";
}

$("play").addEventListener("click", play);
$("upload").addEventListener("click", () => {
  const file = $("ref-file").files[0];
  if (!file) { $("upload-status").textContent = "choose a file or record first"; return; }
  upload(file, file.name);
});
$("record").addEventListener("click", () => toggleRecording().catch((e) => {
  $("upload-status").textContent = `recording failed: ${e.message}`; $("upload-status").className = "error";
}));
$("api-key").addEventListener("change", () => loadVoices());
loadInfo().catch((e) => setStatus(e.message, "error"));
