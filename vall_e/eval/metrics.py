"""Scores for one synthesized utterance and their aggregates.

WER and CER are kept as error counts over reference lengths, so an aggregate is the corpus
rate (all errors / all reference words), not a mean of per-sentence rates that would let a
two-word sentence weigh as much as a thirty-word one.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

from vall_e.eval.normalize import normalize_text


def _jiwer():
    from vall_e.eval.judges import require

    return require("jiwer")


def edit_counts(reference: str, hypothesis: str) -> dict:
    """Word and character errors of ``hypothesis`` against ``reference``, both normalized.

    Returns ``word_errors``, ``words``, ``char_errors``, ``chars`` (characters counted without
    spaces so that word boundaries do not inflate CER) and the ``wer``/``cer`` of this pair.
    """
    ref, hyp = normalize_text(reference), normalize_text(hypothesis)
    if not ref:
        from vall_e.errors import DataError

        raise DataError(f"reference text {reference!r} has no words to score against")
    jiwer = _jiwer()
    words = jiwer.process_words(ref, hyp)  # an empty hypothesis is all deletions
    ref_chars, hyp_chars = ref.replace(" ", ""), hyp.replace(" ", "")
    chars = jiwer.process_characters(ref_chars, hyp_chars)
    word_errors = words.substitutions + words.deletions + words.insertions
    char_errors = chars.substitutions + chars.deletions + chars.insertions
    n_words, n_chars = len(ref.split()), len(ref_chars)
    return {"reference_norm": ref, "hypothesis_norm": hyp, "word_errors": word_errors,
            "words": n_words, "char_errors": char_errors, "chars": n_chars,
            "wer": word_errors / n_words, "cer": char_errors / n_chars}


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two embeddings (0 when either is all zeros)."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b / norm) if norm > 0 else 0.0


def similarities(embedding: np.ndarray, own: np.ndarray, others: Sequence[np.ndarray]) -> dict:
    """``sim_own`` to the own reference, ``sim_others`` = mean cosine to the other speakers'
    references (None without any), and ``margin`` = own - others: > 0 means the clone is
    closer to its own voice than to the rest."""
    sim_own = cosine(embedding, own)
    sim_others = float(np.mean([cosine(embedding, o) for o in others])) if len(others) else None
    margin = None if sim_others is None else sim_own - sim_others
    return {"sim_own": sim_own, "sim_others": sim_others, "margin": margin}


def _mean(values: Iterable) -> float | None:
    kept = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(kept)) if kept else None


def aggregate(rows: Sequence[dict]) -> dict:
    """The summary of per-item ``rows``: corpus WER/CER, mean similarities, and RTF and AR
    steps per audio second over the summed times (so long items weigh by their length)."""
    words, chars = sum(r["words"] for r in rows), sum(r["chars"] for r in rows)
    audio = sum(r["audio_seconds"] for r in rows)
    timed = [r["synthesis_seconds"] for r in rows if r.get("synthesis_seconds") is not None]
    wall = sum(timed) if timed else None  # --originals: nothing was synthesized
    steps = [r.get("ar_steps") for r in rows]
    summary = {
        "items": len(rows),
        "wer": sum(r["word_errors"] for r in rows) / words if words else None,
        "cer": sum(r["char_errors"] for r in rows) / chars if chars else None,
        "sim_own": _mean(r["sim_own"] for r in rows),
        "sim_others": _mean(r["sim_others"] for r in rows),
        "margin": _mean(r["margin"] for r in rows),
        "audio_seconds": audio,
        "rtf": wall / audio if audio > 0 and wall is not None else None,
        "ar_steps_per_audio_second": (sum(steps) / audio
                                      if audio > 0 and None not in steps else None),
        "failed": sum(1 for r in rows if r.get("error")),
    }
    return summary
