"""Phoneme durations in codec frames: a teacher's timing mapped onto our phoneme tokens.

``token_durations(tokens, timing, n_frames, n_samples)`` returns int32 [len(tokens) + 2]: the
frames of ``bos``, of every phoneme token (stress marks, word boundaries and punctuation are
tokens too) and of ``eos``. ``bos`` holds the silence before the first phoneme, ``eos`` the
silence after the last. Every entry is >= 1 and the sum is exactly ``n_frames``, so frame j of
an utterance belongs to exactly one text position and that position never moves backwards
(what the phoneme-synchronous AR and NAR read, see ``frame_phonemes``).

Mapping: the teacher's symbols and our tokens are both IPA from espeak-ng and match character
for character in most sentences. The two character strings are aligned (difflib); a token takes
its start from its first matched character. Tokens with no matched character (e.g. the
syllabic mark U+0329 that Kokoro drops, or a different reading of a number) get starts
interpolated between their neighbours. Boundaries are rounded onto frames, then nudged so every
token keeps at least one frame.
"""
from __future__ import annotations

import difflib

import numpy as np

from vall_e.data.timing import TeacherTiming
from vall_e.errors import DataError

MIN_MATCHED_SHARE = 0.5  # below this the teacher read another text than ours: refuse the item


def _char_spans(timing: TeacherTiming) -> tuple[str, list[int], list[int]]:
    chars, starts, ends = [], [], []
    for symbol, start, end in zip(timing.symbols, timing.starts, timing.ends):
        for char in symbol:
            chars.append(char)
            starts.append(start)
            ends.append(end)
    return "".join(chars), starts, ends


def _token_starts(tokens: list[str], timing: TeacherTiming) -> tuple[np.ndarray, float, float]:
    """Start sample of each token (NaN where unmatched), the speech's end, the matched share."""
    ours = "".join(tokens)
    owner = [k for k, token in enumerate(tokens) for _ in token]
    theirs, starts, ends = _char_spans(timing)
    token_start = np.full(len(tokens), np.nan)
    speech_end, matched = 0.0, 0
    matcher = difflib.SequenceMatcher(None, ours, theirs, autojunk=False)
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            k, t = owner[block.a + offset], block.b + offset
            matched += 1
            if np.isnan(token_start[k]) or starts[t] < token_start[k]:
                token_start[k] = starts[t]
            speech_end = max(speech_end, ends[t])
    return token_start, speech_end, matched / max(1, len(ours))


def _fill_gaps(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Interpolate NaNs by index between known neighbours (``low``/``high`` at the ends),
    then make the sequence non-decreasing."""
    index = np.arange(len(values) + 2)
    known = np.concatenate([[low], values, [high]])
    mask = ~np.isnan(known)
    filled = np.interp(index, index[mask], known[mask])[1:-1]
    return np.maximum.accumulate(np.clip(filled, low, high))


def boundaries_to_durations(boundaries: np.ndarray, n_frames: int) -> np.ndarray:
    """Frame boundaries [n + 1] (first 0, last n_frames, rounded) -> durations [n], each >= 1."""
    b = np.asarray(boundaries, np.int64).copy()
    n = len(b) - 1
    if n_frames < n:
        raise DataError(f"{n_frames} frames cannot give each of {n} text positions a frame")
    b[0], b[-1] = 0, n_frames
    for k in range(1, n):  # forward: at least one frame after the previous boundary
        b[k] = max(b[k], b[k - 1] + 1)
    for k in range(n - 1, 0, -1):  # backward: leave room for the positions after it
        b[k] = min(b[k], b[k + 1] - 1)
    return np.diff(b).astype(np.int32)


def token_durations(tokens: list[str], timing: TeacherTiming, n_frames: int,
                    n_samples: int) -> np.ndarray:
    """Frames of [bos, tokens..., eos] for audio of ``n_samples`` samples at the timing's rate
    encoded into ``n_frames`` codec frames (see the module docstring)."""
    if not tokens:
        raise DataError("no phoneme tokens to time")
    starts, speech_end, share = _token_starts(tokens, timing)
    if share < MIN_MATCHED_SHARE:
        raise DataError(f"the teacher's phonemes match only {share:.0%} of ours; "
                        "the transcript and the audio disagree")
    first = np.nanmin(starts)
    samples = _fill_gaps(starts, first, max(speech_end, first))
    edges = np.concatenate([[0.0], samples, [max(speech_end, samples[-1])], [n_samples]])
    frames = np.round(edges * (n_frames / max(1, n_samples))).astype(np.int64)
    return boundaries_to_durations(frames, n_frames)


def frame_positions(durations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: the text position it belongs to and its index inside that position's frames.

    ``durations`` [n] -> (``index`` [sum], ``inside`` [sum]); e.g. [2, 1, 3] ->
    ([0, 0, 1, 2, 2, 2], [0, 1, 0, 0, 1, 2]).
    """
    durations = np.asarray(durations, np.int64)
    index = np.repeat(np.arange(len(durations)), durations)
    starts = np.repeat(np.cumsum(durations) - durations, durations)
    return index, np.arange(len(index)) - starts
