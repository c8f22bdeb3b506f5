"""Turn a corpus of audio + transcripts into prepared shards (phonemes + codec codes).

``prepare(config, input_dir, output_dir)`` reads one of two layouts, detected automatically:

(a) ``<input>/<speaker>/<id>.<ext>`` with the transcript in ``<id>.txt`` beside it (or
    ``<id>.normalized.txt``, as in LibriTTS); files may sit in sub-folders of the speaker folder.
    ``<ext>`` is any format soundfile reads (wav, flac, ogg, ...).
(b) LJSpeech: ``<input>/metadata.csv`` with ``id|text`` or ``id|text|normalized_text`` lines and
    audio in ``<input>/wavs/<id>.wav``; the speaker is the input folder's name. A
    ``metadata.csv`` takes precedence over speaker folders.

Each file is loaded at the codec's sample rate, checked against ``data.min_seconds`` /
``data.max_seconds``, its transcript normalized and phonemized in ``data.language``, and encoded.
Where the corpus builder left the teacher's phoneme timing beside the audio
(``<id>.timing.json``), the utterance also gets its phoneme durations in codec frames
(``vall_e.data.durations``), trimmed along with the audio.

A bad file (corrupt audio, missing or empty transcript, wrong length) is one line on stderr and
one line in ``failed.jsonl``; it never stops the run. Work is done in sorted order and is
resumable: a rerun skips sources already in shards and, unless ``retry_failed``, those in
``failed.jsonl``. A source is ``<input dir name>/<audio path under it>``. Utterance ids are
``<speaker>/<path under the speaker folder, no extension>`` (LJSpeech: ``<speaker>/<id>``).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from vall_e.audio import load_audio, silence_bounds
from vall_e.codecs import AudioCodec, get_codec
from vall_e.config import Config, DataConfig
from vall_e.data.timing import read_timing, timing_path
from vall_e.data.durations import token_durations
from vall_e.data.manifest import verify_manifest, write_manifest
from vall_e.data.shards import (
    FAILED_FILE, DataError, ShardWriter, Utterance, done_sources, failed_sources, record_failure,
)
from vall_e.errors import AudioError, TextError, VallEError
from vall_e.text import normalize_text, phonemize

AUDIO_EXTENSIONS = frozenset(
    {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".au", ".caf", ".w64"}
)
# Per-file failures worth recording and skipping. Anything else (TypeError, KeyError, ...) is a
# bug in this code and should stop the run rather than mark every file as failed.
_FILE_ERRORS = (VallEError, OSError, UnicodeError, RuntimeError)


@dataclass(frozen=True)
class SourceItem:
    """One input utterance: its audio file and where its transcript comes from."""

    audio: Path
    id: str
    speaker: str
    text: str | None = None  # inline transcript (LJSpeech); else read from ``transcript``
    transcript: Path | None = None
    root: Path | None = None  # the input directory it was found in

    @property
    def source(self) -> str:
        """``<input dir name>/<path under it>``: the same on every machine, so shards rebuilt
        elsewhere are byte-identical (the committed default shards are checked that way)."""
        if self.root is None or not self.audio.is_relative_to(self.root):  # a link out of it
            return str(self.audio)
        return f"{self.root.name}/{self.audio.relative_to(self.root).as_posix()}"


@dataclass
class PrepareReport:
    """What one ``prepare`` run did. ``seconds`` is the audio prepared in this run."""

    output_dir: str
    done: int = 0
    skipped_existing: int = 0
    skipped_failed: int = 0
    failed: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        text = (f"prepared {self.done} utterances ({self.seconds:.1f} s of audio) into "
                f"{self.output_dir}; skipped {self.skipped_existing} already prepared")
        if self.skipped_failed:
            text += f", {self.skipped_failed} that failed before (--retry-failed to retry)"
        if self.failed:
            text += f"; {self.failed} failed (see {Path(self.output_dir) / FAILED_FILE})"
        return text


def _find_audio(folder: Path, stem: str) -> Path:
    """``folder/stem.wav`` if present, else any other readable extension, else the .wav path."""
    wav = folder / f"{stem}.wav"
    if not wav.exists():
        for ext in sorted(AUDIO_EXTENSIONS):
            if (folder / f"{stem}{ext}").exists():
                return folder / f"{stem}{ext}"
    return wav  # may not exist: loading it reports the file as missing


def _discover_ljspeech(input_dir: Path) -> list[SourceItem]:
    metadata = input_dir / "metadata.csv"
    speaker = input_dir.name
    items = []
    # LJSpeech text contains unbalanced quotes, so split on pipes instead of using the csv module.
    for line in metadata.read_text(encoding="utf-8").splitlines():
        fields = line.strip().split("|")
        if not fields[0]:
            continue
        text = fields[2] if len(fields) > 2 and fields[2].strip() else (fields + [""])[1]
        audio = _find_audio(input_dir / "wavs", fields[0])
        items.append(SourceItem(audio.resolve(), f"{speaker}/{fields[0]}", speaker, text=text,
                                root=input_dir.resolve()))
    return items


def _transcript_for(audio: Path) -> Path:
    plain = audio.with_suffix(".txt")
    normalized = audio.with_suffix(".normalized.txt")
    return normalized if not plain.exists() and normalized.exists() else plain


def _discover_speakers(input_dir: Path) -> list[SourceItem]:
    items = []
    input_dir = input_dir.resolve()
    for speaker_dir in sorted(p for p in input_dir.iterdir() if p.is_dir()):
        if speaker_dir.name.startswith("."):
            continue
        for audio in sorted(speaker_dir.rglob("*")):
            if audio.suffix.lower() not in AUDIO_EXTENSIONS or not audio.is_file():
                continue
            rel = audio.relative_to(speaker_dir).with_suffix("").as_posix()
            items.append(SourceItem(audio.resolve(), f"{speaker_dir.name}/{rel}",
                                    speaker_dir.name, transcript=_transcript_for(audio),
                                    root=input_dir.resolve()))
    return items


def discover(input_dir: str | Path) -> list[SourceItem]:
    """List the utterances of ``input_dir`` in sorted order, detecting its layout."""
    input_dir = Path(input_dir)
    if not input_dir.is_dir():
        raise DataError(f"input directory not found: {input_dir}")
    if (input_dir / "metadata.csv").is_file():
        items = _discover_ljspeech(input_dir)
    else:
        items = _discover_speakers(input_dir)
    if not items:
        raise DataError(
            f"{input_dir}: no corpus found; expected <speaker>/<id>.wav with <id>.txt beside it, "
            "or an LJSpeech-style metadata.csv with wavs/<id>.wav"
        )
    return sorted(items, key=lambda item: item.source)


def _read_text(item: SourceItem) -> str:
    if item.text is not None:
        return item.text
    if item.transcript is None or not item.transcript.is_file():
        raise TextError(f"{item.audio}: missing transcript {item.transcript}")
    return item.transcript.read_text(encoding="utf-8")


def prepare_one(
    item: SourceItem, codec: AudioCodec, data: DataConfig, aligner=None
) -> tuple[Utterance, float]:
    """Load, check, phonemize and encode one item; returns it and its duration in seconds.

    Raises a ``VallEError`` (or an I/O error from deeper down) for a file that should be skipped.
    """
    raw = _read_text(item)  # before the audio: a missing transcript costs no decoding
    if not raw.strip():
        raise TextError(f"{item.audio}: empty transcript")
    text = normalize_text(raw)
    timing_file = timing_path(item.audio)
    timing = read_timing(timing_file) if timing_file.is_file() else None
    wav = load_audio(item.audio, codec.sample_rate, trim=timing is None)
    if timing is not None:  # trim here, so the teacher's spans move with the audio
        timing = timing.scaled(codec.sample_rate / timing.sample_rate)
        start, end = silence_bounds(wav, codec.sample_rate)
        wav, timing = wav[start:end], timing.shifted(start, end - start)
    seconds = wav.numel() / codec.sample_rate
    if seconds < data.min_seconds:
        raise AudioError(
            f"{item.audio}: {seconds:.2f} s is shorter than data.min_seconds={data.min_seconds}"
        )
    if seconds > data.max_seconds:
        raise AudioError(
            f"{item.audio}: {seconds:.2f} s is longer than data.max_seconds={data.max_seconds}"
        )
    phonemes = phonemize(text, language=data.language)
    codes = codec.encode(wav)[0].cpu().numpy()
    durations = None
    if timing is not None:
        durations = token_durations(list(phonemes), timing, codes.shape[1], wav.numel())
    elif aligner is not None and codes.shape[1] >= len(phonemes) + 2:
        durations = aligner(list(phonemes), codes)
    utt = Utterance(id=item.id, speaker=item.speaker, text=text, phonemes=list(phonemes),
                    codes=codes.astype(np.int16), durations=durations)
    return utt, seconds


def _one_line(exc: BaseException) -> str:
    message = " ".join(str(exc).split())
    return message if isinstance(exc, VallEError) else f"{type(exc).__name__}: {message}"


def prepare(
    config: Config,
    input_dir: str | Path,
    output_dir: str | Path,
    *,
    retry_failed: bool = False,
    progress: bool = True,
    device: str = "cpu",
    codec: AudioCodec | None = None,
    manifest: bool = False,
) -> PrepareReport:
    """Prepare ``input_dir`` into shards in ``output_dir`` per ``config.codec`` / ``config.data``.

    ``codec`` skips loading one from ``config.codec`` (and ``device``) when the caller already
    holds it; the shards are tagged with ``codec.info`` either way. An existing
    ``manifest.json`` is verified first and rewritten at the end; ``manifest`` writes one where
    there was none.
    """
    items = discover(input_dir)
    output_dir = Path(output_dir)
    report = PrepareReport(output_dir=str(output_dir))
    try:  # an unknown language is a config error, not a reason to fail every file one by one
        phonemize("a", language=config.data.language)
    except TextError as exc:
        raise DataError(f"data.language: {exc}") from None
    if codec is None:
        codec = get_codec(config.codec, device=device)
    aligner = _load_aligner(config.data.aligner) if config.data.aligner else None
    # The writer refuses an output dir made with another codec before anything is skipped or run;
    # leaving the block, even on Ctrl-C, writes the utterances already encoded as a last shard.
    had_manifest = output_dir.is_dir() and verify_manifest(output_dir)  # before any change
    with ShardWriter(output_dir, codec.info, config.data.shard_size) as writer:
        todo = _select_todo(items, output_dir, retry_failed, report)
        for item in tqdm(todo, desc="prepare", unit="file", disable=not progress, file=sys.stderr):
            try:
                utt, seconds = prepare_one(item, codec, config.data, aligner)
            except _FILE_ERRORS as exc:
                reason = _one_line(exc)
                record_failure(output_dir, item.source, reason)
                tqdm.write(f"skipped {item.source}: {reason}", file=sys.stderr)
                report.failed += 1
                continue
            writer.add(utt, item.source)
            report.done += 1
            report.seconds += seconds
    if had_manifest or manifest:
        write_manifest(output_dir)
    return report


def _load_aligner(directory: str):
    """phonemes, codes [K, T] -> durations of [bos, phonemes, eos], from a trained aligner."""
    import torch

    from vall_e.align.model import load_aligner
    from vall_e.align.train import VOCAB_FILE
    from vall_e.text.tokenizer import PhonemeTokenizer

    aligner = load_aligner(directory)
    tokenizer = PhonemeTokenizer.load(Path(directory) / VOCAB_FILE)

    def durations(phonemes: list[str], codes: np.ndarray) -> np.ndarray:
        ids = torch.tensor(tokenizer.encode(phonemes))
        return aligner.durations(ids, torch.from_numpy(np.asarray(codes, np.int64)))

    return durations


def _select_todo(
    items: list[SourceItem], output_dir: Path, retry_failed: bool, report: PrepareReport
) -> list[SourceItem]:
    """Drop items already in shards (and earlier failures unless retrying); count the skips."""
    done = done_sources(output_dir)
    if retry_failed:
        # Every previous failure is retried now; one that fails again is recorded again.
        (output_dir / FAILED_FILE).unlink(missing_ok=True)
    failed_before = failed_sources(output_dir)
    todo = []
    for item in items:
        if item.source in done:
            report.skipped_existing += 1
        elif item.source in failed_before:
            report.skipped_failed += 1
        else:
            todo.append(item)
    return todo
