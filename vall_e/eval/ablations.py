"""Ablation studies over one model: what the notebooks in ``notebooks/`` run.

A ``Bench`` is loaded once per notebook: the engine, the sentences, the reference voices and
the judges. Each study returns plain rows (one dict per judged clip, the same rows
``vall_e.eval.run`` writes) and ``summarize_by`` turns them into one line per setting. Plots
and tables of those rows live in ``vall_e.eval.plots``; nothing here draws or prints.

Every synthesis uses ``params.seed``: rerunning a study gives the same audio, and two settings
differ only by what the setting changes.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from vall_e.audio import load_audio
from vall_e.errors import ConfigError, DataError
from vall_e.eval.metrics import aggregate, similarities
from vall_e.eval.run import (
    Reference,
    embed_references,
    evaluate_model,
    load_references,
    load_sentences,
    score_item,
    to_judge_rate,
)
from vall_e.sampling import SamplingParams

REPO_DATA = Path(__file__).resolve().parents[2] / "data"
DEFAULT_SENTENCES = REPO_DATA / "eval" / "sentences.txt"


@dataclass
class Bench:
    engine: object  # ARNAREngine (the studies need level codes and decode statistics)
    sentences: list[str]
    refs: list[Reference]
    judges: object
    settings: object  # PromptSettings
    model_dir: Path
    judge_kind: str

    def sampling(self, seed: int | None = None, changes: dict | None = None) -> SamplingParams:
        """The model's own sampler settings (``inference.sampling``) with ``seed`` and
        ``changes`` put over them: what notebooks 02-04 share."""
        return replace(self.engine.default_sampling, seed=seed, **(changes or {})).validate()

    def describe(self) -> str:
        """One line saying what every number below was measured on."""
        model = self.engine.model
        # a quantized linear keeps its weight as a buffer, not a parameter: count it too
        quantized = sum(m.out_features * m.in_features for m in model.modules()
                        if hasattr(m, "qweight"))
        params = (sum(p.numel() for p in model.parameters()) + quantized) / 1e6
        return (f"model {self.model_dir} ({params:.1f} M parameters, {len(model.blocks)} layers, "
                f"codec {self.engine.codec.info.describe()}); {len(self.sentences)} sentences x "
                f"{len(self.refs)} voices ({', '.join(r.speaker for r in self.refs)}); judges: "
                f"{self.judge_kind}; max {self.settings.max_ar_steps} AR steps")


def resolve_model(model: str | Path | None) -> Path:
    """``model``, or the embedded default model when None."""
    if model is None:
        from vall_e.default_model import default_model_dir

        return default_model_dir()
    path = Path(model)
    if not path.is_dir():
        raise ConfigError(f"model directory not found: {model}")
    return path


def sentence_list(source: str | Path | None, limit: int | None = None) -> list[str]:
    """Sentences from a text file (one a line), from the ``.txt`` transcripts under a directory
    (e.g. a corpus's held-out split), or from ``data/eval/sentences.txt`` when None."""
    source = Path(source) if source is not None else DEFAULT_SENTENCES
    if source.is_dir():
        texts = [t.read_text(encoding="utf-8").strip() for t in sorted(source.rglob("*.txt"))]
        texts = list(dict.fromkeys(t for t in texts if t))  # a sentence read by two voices once
        if not texts:
            raise DataError(f"no non-empty .txt transcripts under {source}")
        return texts[:limit] if limit else texts
    return load_sentences(source, limit)


def voice_list(refs: str | Path | None, limit: int | None = None) -> list[Reference]:
    """One recording per speaker (so similarity margins compare distinct voices), from a
    directory of wav + txt (``<speaker>/<id>.wav`` names speakers), or the shipped voices."""
    if refs is None:
        from vall_e.voices import shipped_voices

        voices = shipped_voices()
        if not voices:
            raise DataError("no shipped voices in data/voices: pass refs=DIR (wav files with "
                            "same-name .txt transcripts)")
        found = [Reference(v.name, v.name, v.wav, v.transcript or "") for v in voices.values()]
    else:
        found = load_references(refs)
    per_speaker = list({r.speaker: r for r in reversed(found)}.values())[::-1]  # first of each
    return per_speaker[:limit] if limit else per_speaker


def load_bench(model=None, sentences=None, n_sentences: int | None = 6, refs=None,
               n_refs: int | None = 2, judges: str | object = "whisper",
               max_ar_steps: int | None = None, threads: int = 0, device: str = "cpu") -> Bench:
    """Load the engine, the texts, the voices and the judges (a kind name or an object)."""
    from vall_e.eval.judges import make_judges
    from vall_e.inference.engine import ARNAREngine

    for name, value in (("n_sentences", n_sentences), ("n_refs", n_refs),
                        ("max_ar_steps", max_ar_steps)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ConfigError(f"{name} must be a positive integer or None, got {value!r}")
    if threads:
        torch.set_num_threads(threads)
    model_dir = resolve_model(model)
    engine = ARNAREngine.from_checkpoint(model_dir, device=device)
    settings = engine.defaults
    if max_ar_steps:
        settings = replace(settings, max_ar_steps=max_ar_steps)
    kind = judges if isinstance(judges, str) else type(judges).__name__
    judge = make_judges(judges, threads) if isinstance(judges, str) else judges
    return Bench(engine, sentence_list(sentences, n_sentences), voice_list(refs, n_refs), judge,
                 settings, model_dir, kind)


# ----- sampling settings --------------------------------------------------------------------
def run_settings(bench: Bench, configs: dict[str, SamplingParams],
                 say: Callable[[str], None] | None = print) -> list[dict]:
    """Every sentence x voice under each named setting; each row gets ``setting``."""
    rows = []
    for name, params in configs.items():
        start = time.perf_counter()
        found = evaluate_model(bench.engine, bench.sentences, bench.refs, bench.judges,
                               params.validate(), bench.settings)
        rows += [{**row, "setting": name} for row in found]
        if say:
            say(f"{name}: {len(found)} clips in {time.perf_counter() - start:.1f} s")
    return rows


def _mean(values) -> float | None:
    kept = [float(v) for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def summarize_by(rows: Sequence[dict], key: str) -> list[dict]:
    """One summary per value of ``key`` (in first-seen order): the corpus WER/CER and mean
    similarities of ``aggregate``, plus per-clip means of length, AR steps and layers run, the
    share of clips that stopped by themselves and milliseconds per AR step."""
    out = []
    for value in dict.fromkeys(r[key] for r in rows):
        group = [r for r in rows if r[key] == value]
        summary = {key: value, **aggregate(group)}
        ar_seconds = [r.get("ar_seconds") for r in group]
        steps = sum(r.get("ar_steps") or 0 for r in group)
        summary.update(
            clip_seconds=_mean(r["audio_seconds"] for r in group),
            ar_steps=_mean(r.get("ar_steps") for r in group),
            stopped=_mean(float(r["stopped"]) for r in group if "stopped" in r),
            layer_fraction=_mean(r.get("layer_fraction") for r in group),
            mel_l1=_mean(r.get("mel_l1") for r in group),  # codec reconstruction rows only
            ms_per_step=(1000 * sum(ar_seconds) / steps
                         if steps and None not in ar_seconds else None))
        out.append(summary)
    return out


def recommend(summary: Sequence[dict], key: str = "setting", min_stopped: float = 1.0) -> dict:
    """The best line of ``summary``: lowest WER among settings whose clips all stopped by
    themselves (a run cut off by the step cap is a failure whatever its WER), ties broken by
    the higher own-voice similarity. Falls back to every line when none qualifies."""
    qualified = [s for s in summary if (s.get("stopped") or 0) >= min_stopped] or list(summary)

    def rank(s):
        wer = s["wer"] if s["wer"] is not None else float("inf")
        return (round(wer, 4), -(s["sim_own"] if s["sim_own"] is not None else -1.0))

    return min(qualified, key=rank)


# ----- layer-skip ---------------------------------------------------------------------------
def cheapest_within(summary: Sequence[dict], baseline: dict, cost: str = "layer_fraction",
                    wer_slack: float = 0.02) -> dict:
    """The line with the lowest ``cost`` whose WER is at most ``wer_slack`` above the
    baseline's (and whose clips stopped as often): the cheapest setting that costs nothing
    the judges can hear. The baseline itself when nothing else qualifies."""
    limit = (baseline["wer"] if baseline["wer"] is not None else float("inf")) + wer_slack
    ok = [s for s in summary if s.get(cost) is not None and s["wer"] is not None
          and s["wer"] <= limit and (s.get("stopped") or 0) >= (baseline.get("stopped") or 0)]
    return min(ok, key=lambda s: s[cost]) if ok else baseline


def exit_layer_trace(bench: Bench, params: SamplingParams, text: str, voice: int = 0) -> dict:
    """The layers each AR step ran for one utterance (batch of one, so per token).

    ``layers[i]`` is the depth at which the step that chose token i + 1 exited; token 0 comes
    from the prompt's full pass. Returns the trace, the layer count and the AR step count.
    """
    ref = bench.refs[voice]
    speaker = bench.engine.create_speaker(ref.wav, transcript=ref.text or None,
                                          settings=bench.settings)
    (result,) = bench.engine.synthesize([text], speaker, params.validate(), bench.settings)
    stats = result.stats
    return {"layers": list(stats.layers_run), "n_layers": stats.n_layers,
            "ar_steps": result.ar_steps, "layer_fraction": stats.layer_fraction, "text": text}


# ----- code levels --------------------------------------------------------------------------
def level_counts(n_levels: int) -> list[int]:
    """1, 2, 4, ... up to ``n_levels``, always ending with ``n_levels`` itself."""
    counts, k = [], 1
    while k < n_levels:
        counts.append(k)
        k *= 2
    return counts + [n_levels]


def _decode_counts(codec, codes: torch.Tensor, counts: Sequence[int]) -> dict[int, torch.Tensor]:
    return {k: codec.decode_levels(codes, k)[0].float().cpu() for k in counts}


def level_ablation(bench: Bench, params: SamplingParams, counts: Sequence[int] | None = None,
                   keep_examples: int = 1) -> tuple[list[dict], list[dict]]:
    """Speak every sentence x voice once with all levels, then decode the first k levels for
    each k of ``counts`` (the NAR levels beyond k dropped) and judge each decode.

    The NAR fills level l from levels < l only, so the first k levels of the full result are
    exactly what a model that stopped after level k - 1 would give. Returns the rows (with
    ``levels``) and up to ``keep_examples`` examples ``{"text", "audio": {k: wav}, "rate"}``
    for spectrograms.
    """
    codec = bench.engine.codec
    counts = list(counts or level_counts(codec.n_levels))
    # every level, whatever the model's own inference.levels (the shipped default decodes 4)
    settings = replace(bench.settings, levels=None)
    embeddings = embed_references(bench.refs, bench.judges)
    rows, examples = [], []
    for ref in bench.refs:
        speaker = bench.engine.create_speaker(ref.wav, transcript=ref.text or None,
                                              settings=settings)
        for text in bench.sentences:
            (result,) = bench.engine.synthesize([text], speaker, params.validate(), settings)
            audio = _decode_counts(codec, result.codes, counts)
            for k, wav in audio.items():
                row = {"reference": ref.name, "speaker": ref.speaker, "error": None, "levels": k,
                       "synthesis_seconds": sum(result.seconds.values()),
                       "ar_steps": result.ar_steps, "stopped": bool(result.stopped),
                       "audio_seconds": wav.numel() / codec.sample_rate}
                rows.append(score_item(row, text, to_judge_rate(wav, codec.sample_rate),
                                       bench.judges, ref, bench.refs, embeddings))
            if len(examples) < keep_examples:
                examples.append({"text": text, "audio": audio, "rate": codec.sample_rate})
    return rows, examples


# ----- codec reconstruction -----------------------------------------------------------------
def log_mel(wav: torch.Tensor, sample_rate: int, n_mels: int = 80) -> torch.Tensor:
    """[n_mels, frames] log-mel at 100 frames per second (for distances and spectrograms)."""
    from vall_e.codecs.mel.features import MelAnalysis

    hop = sample_rate // 100
    n_fft = 1 << max(8, int(np.ceil(np.log2(4 * hop))))
    analysis = MelAnalysis(sample_rate, n_fft, hop, n_mels, stack=1)
    with torch.no_grad():
        return analysis(wav.detach().float().cpu().reshape(1, -1))[0]


def mel_distance(original: torch.Tensor, decoded: torch.Tensor, sample_rate: int) -> float:
    """Mean absolute log-mel difference (nats) over the frames both clips cover."""
    a, b = log_mel(original, sample_rate), log_mel(decoded, sample_rate)
    frames = min(a.shape[1], b.shape[1])
    return float((a[:, :frames] - b[:, :frames]).abs().mean())


def model_codec(model: str | Path | None):
    """The codec a checkpoint was trained with, loaded from the weights it names."""
    from vall_e.codecs import get_codec
    from vall_e.config import Config
    from vall_e.inference.common import checkpoint_codec_path
    from vall_e.models.checkpoint import read_metadata

    model_dir = resolve_model(model)
    config = Config.from_dict(read_metadata(model_dir)["config"], source=str(model_dir))
    return get_codec(replace(config.codec, path=checkpoint_codec_path(config, model_dir)))


def codec_reconstruction(codec, refs: Sequence[Reference], judges,
                         counts: Sequence[int] | None = None) -> list[dict]:
    """Encode each recording, decode its first k levels for each k of ``counts``, and score
    the decode against the recording: log-mel distance, WER/CER against its transcript (when
    it has one) and similarity to the original voice. Rows carry ``levels``."""
    counts = list(counts or level_counts(codec.n_levels))
    embeddings = embed_references(refs, judges)
    rows = []
    for ref in refs:
        wav = load_audio(ref.wav, codec.sample_rate)
        codes = codec.encode(wav[None])
        for k, decoded in _decode_counts(codec, codes, counts).items():
            row = {"reference": ref.name, "speaker": ref.speaker, "error": None, "levels": k,
                   "synthesis_seconds": 0.0, "ar_steps": None,
                   "audio_seconds": decoded.numel() / codec.sample_rate,
                   "mel_l1": mel_distance(wav, decoded, codec.sample_rate)}
            audio16 = to_judge_rate(decoded, codec.sample_rate)
            if ref.text:
                rows.append(score_item(row, ref.text, audio16, judges, ref, refs, embeddings))
            else:  # no transcript (a shipped voice may lack one): similarity only
                row.update(word_errors=0, words=0, char_errors=0, chars=0,
                           **similarities(judges.embed(audio16), embeddings[ref.name], []))
                rows.append(row)
    return rows
