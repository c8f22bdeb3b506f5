"""The evaluation loop: synthesize (or resynthesize) audio, then score it with the judges.

Model mode speaks every sentence with every reference voice; codec mode encodes and decodes
each reference recording. Each item becomes one row (transcripts, error counts, similarities,
timings); ``summarize`` groups the rows per reference and overall. Nothing here parses argv
or prints: the CLI does that.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from vall_e.audio import load_audio, resample
from vall_e.errors import DataError, GenerationError
from vall_e.eval.judges import JUDGE_RATE
from vall_e.eval.metrics import aggregate, edit_counts, similarities


@dataclass(frozen=True)
class Reference:
    name: str  # path under the refs directory, without the suffix
    speaker: str  # the parent directory (corpus layout <speaker>/<id>.wav), else the file stem
    wav: Path
    text: str


def load_references(directory: str | Path, limit: int | None = None,
                    per_speaker: int | None = None) -> list[Reference]:
    """Every ``*.wav`` under ``directory`` (sorted) with its same-name ``.txt`` transcript;
    with ``per_speaker``, only each speaker's first N (so a limit still spans the speakers)."""
    root = Path(directory)
    if not root.is_dir():
        raise DataError(f"references directory not found: {directory}; give a directory of wav + txt")
    wavs = sorted(root.rglob("*.wav"))
    if not wavs:
        raise DataError(f"no .wav files under {directory}; put reference wavs with same-name .txt there")
    if per_speaker:
        taken: dict[str, int] = {}
        kept = []
        for wav in wavs:
            speaker = _speaker_of(wav.relative_to(root))
            taken[speaker] = taken.get(speaker, 0) + 1
            if taken[speaker] <= per_speaker:
                kept.append(wav)
        wavs = kept
    refs = []
    for wav in wavs[:limit] if limit else wavs:
        txt = wav.with_suffix(".txt")
        if not txt.is_file():
            raise DataError(f"{wav} has no transcript {txt.name}; add it (one line of text)")
        text = txt.read_text(encoding="utf-8").strip()
        if not text:
            raise DataError(f"transcript {txt} is empty; write what the recording says")
        rel = wav.relative_to(root)
        refs.append(Reference(str(rel.with_suffix("")), _speaker_of(rel), wav, text))
    return refs


def _speaker_of(relative_wav: Path) -> str:
    """A subdirectory names the speaker (corpus layout); a loose file is its own speaker."""
    return str(relative_wav.parent) if len(relative_wav.parts) > 1 else relative_wav.stem


def load_sentences(path: str | Path, limit: int | None = None) -> list[str]:
    """The non-blank lines of ``path``, one sentence each."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"sentences file not found: {path}; give a text file, one sentence a line")
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    sentences = [line for line in lines if line]
    if not sentences:
        raise DataError(f"sentences file {path} has no sentences; write one per line")
    return sentences[:limit] if limit else sentences


def to_judge_rate(wav: torch.Tensor, sample_rate: int) -> np.ndarray:
    return resample(wav.detach().float().cpu().reshape(-1), sample_rate, JUDGE_RATE).numpy()


def embed_references(refs: Sequence[Reference], judges) -> dict[str, np.ndarray]:
    return {r.name: judges.embed(load_audio(r.wav, JUDGE_RATE).numpy()) for r in refs}


def _others(ref: Reference, refs: Sequence[Reference], embeddings: dict) -> list[np.ndarray]:
    # "Others" are other speakers: another clip of the same voice is no impostor.
    return [embeddings[o.name] for o in refs if o.speaker != ref.speaker]


def score_item(row: dict, text: str, audio16: np.ndarray, judges, ref: Reference, refs, embeddings) -> dict:
    hypothesis = judges.transcribe(audio16) if audio16.size else ""
    row.update(text=text, hypothesis=hypothesis, **edit_counts(text, hypothesis))
    if audio16.size:
        row.update(similarities(judges.embed(audio16), embeddings[ref.name],
                                _others(ref, refs, embeddings)))
    else:
        row.update(sim_own=None, sim_others=None, margin=None)
    return row


def evaluate_model(engine, sentences: Sequence[str], refs: Sequence[Reference], judges, params,
                   settings=None, progress: Callable[[str], None] | None = None) -> list[dict]:
    """One row per (reference, sentence): each sentence spoken alone (batching would blur the
    per-item RTF), timed from the call to the returned waveform. Every item is synthesized
    before any is judged: run in between, Whisper's idle threads kept spinning on the cores the
    next synthesis needed (the default model's RTF on 20 unseen items, 2 threads: 0.25 judged
    one by one, 0.11 judged after)."""
    embeddings = embed_references(refs, judges)
    spoken = []
    for ref in refs:
        speaker = engine.create_speaker(ref.wav, transcript=ref.text, settings=settings)
        for text in sentences:
            row = {"reference": ref.name, "speaker": ref.speaker, "error": None}
            start = time.perf_counter()
            try:
                result = engine.synthesize([text], speaker, params, settings)[0]
                audio, rate, steps = result.audio, result.sample_rate, result.ar_steps
                row.update(stopped=bool(result.stopped), ar_seconds=result.seconds.get("ar"),
                           layer_fraction=getattr(result.stats, "layer_fraction", None))
            except GenerationError as exc:  # the model said nothing: a failed item, not a crash
                audio, rate, steps = torch.zeros(0), engine.codec.sample_rate, 0
                row.update(error=str(exc), stopped=False)
            row.update(synthesis_seconds=time.perf_counter() - start, ar_steps=steps,
                       audio_seconds=audio.numel() / rate)
            spoken.append((row, text, to_judge_rate(audio, rate), ref))
            if progress:
                progress(f"{ref.name}: {text[:40]}")
    return [score_item(row, text, audio16, judges, ref, refs, embeddings)
            for row, text, audio16, ref in spoken]


def evaluate_codec(codec, refs: Sequence[Reference], judges,
                   progress: Callable[[str], None] | None = None) -> list[dict]:
    """One row per reference: its recording encoded and decoded, scored against its own
    transcript and its original; ``synthesis_seconds`` is the decode time (the part a TTS
    model pays per utterance), the encode time is kept beside it."""
    embeddings = embed_references(refs, judges)
    rows = []
    for ref in refs:
        wav = load_audio(ref.wav, codec.sample_rate)
        start = time.perf_counter()
        codes = codec.encode(wav[None])
        encoded = time.perf_counter()
        audio = codec.decode(codes)[0]
        decoded = time.perf_counter()
        row = {"reference": ref.name, "speaker": ref.speaker, "error": None,
               "encode_seconds": encoded - start, "synthesis_seconds": decoded - encoded,
               "audio_seconds": audio.numel() / codec.sample_rate, "ar_steps": None}
        rows.append(score_item(row, ref.text, to_judge_rate(audio, codec.sample_rate), judges, ref, refs,
                           embeddings))
        if progress:
            progress(ref.name)
    return rows


def evaluate_originals(refs: Sequence[Reference], judges,
                       progress: Callable[[str], None] | None = None) -> list[dict]:
    """One row per reference: the recording itself, judged like a synthesis. It is the baseline
    a codec or a model is held to (the judges' own error on the teacher's speech)."""
    embeddings = embed_references(refs, judges)
    rows = []
    for ref in refs:
        audio16 = load_audio(ref.wav, JUDGE_RATE).numpy()
        row = {"reference": ref.name, "speaker": ref.speaker, "error": None,
               "synthesis_seconds": None, "audio_seconds": audio16.size / JUDGE_RATE, "ar_steps": None}
        rows.append(score_item(row, ref.text, audio16, judges, ref, refs, embeddings))
        if progress:
            progress(ref.name)
    return rows


def evaluate_held_out(refs: Sequence[Reference], pool: Sequence[Reference], judges, clips: int,
                      progress: Callable[[str], None] | None = None) -> list[dict]:
    """One row per held-out recording: up to ``clips`` other recordings of each reference's
    speaker (from ``pool``, never a reference itself), judged against that reference as a
    clone would be. Their margin is what real speech of the voice reaches against these
    references: the ceiling a clone's margin is read against (a reference judged against
    itself, ``evaluate_originals``, has similarity 1 and says nothing about that)."""
    embeddings = embed_references(refs, judges)
    used = {r.name for r in refs}
    rows = []
    for ref in refs:
        others = [c for c in pool if c.speaker == ref.speaker and c.name not in used][:clips]
        if not others:
            raise DataError(f"reference {ref.name} has no other recording of speaker "
                            f"{ref.speaker} to hold out; put more wavs in its directory or "
                            "drop --held-out")
        for clip in others:
            audio16 = load_audio(clip.wav, JUDGE_RATE).numpy()
            row = {"reference": ref.name, "speaker": ref.speaker, "clip": clip.name, "error": None,
                   "synthesis_seconds": None, "audio_seconds": audio16.size / JUDGE_RATE,
                   "ar_steps": None}
            rows.append(score_item(row, clip.text, audio16, judges, ref, refs, embeddings))
            if progress:
                progress(clip.name)
    return rows


def summarize(rows: Sequence[dict]) -> dict:
    """``{"per_reference": {name: aggregate}, "overall": aggregate}``."""
    names = list(dict.fromkeys(r["reference"] for r in rows))
    per_ref = {name: aggregate([r for r in rows if r["reference"] == name]) for name in names}
    return {"per_reference": per_ref, "overall": aggregate(rows)}
