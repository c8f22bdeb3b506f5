// 16-bit mono WAV files from raw little-endian PCM (what the server streams as "pcm").
"use strict";
function wavFromPcm(pcmBytes, sampleRate) {
  const header = new DataView(new ArrayBuffer(44));
  const text = (offset, s) => { for (let i = 0; i < s.length; i++) header.setUint8(offset + i, s.charCodeAt(i)); };
  text(0, "RIFF"); header.setUint32(4, 36 + pcmBytes.length, true); text(8, "WAVE");
  text(12, "fmt "); header.setUint32(16, 16, true); header.setUint16(20, 1, true);
  header.setUint16(22, 1, true); header.setUint32(24, sampleRate, true);
  header.setUint32(28, sampleRate * 2, true); header.setUint16(32, 2, true); header.setUint16(34, 16, true);
  text(36, "data"); header.setUint32(40, pcmBytes.length, true);
  return new Blob([header.buffer, pcmBytes], { type: "audio/wav" });
}

// Float samples in [-1, 1] (a decoded recording) -> 16-bit PCM bytes.
function pcmFromFloat(samples) {
  const out = new DataView(new ArrayBuffer(samples.length * 2));
  samples.forEach((v, i) => out.setInt16(i * 2, Math.max(-1, Math.min(1, v)) * 32767, true));
  return new Uint8Array(out.buffer);
}

// 16-bit little-endian bytes -> Float32Array (for Web Audio playback).
function floatFromPcm(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength >> 1);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true) / 32768;
  return out;
}
