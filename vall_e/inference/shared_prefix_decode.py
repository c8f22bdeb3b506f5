"""Decoding a shared-prefix durations model (``model.shared_prefix: true``) window by window.

``encode_prefix`` runs the one pass over ``[text] [prompt] [SEP]`` (``vall_e.models.
shared_prefix``): its keys and values stay in a cache, and the duration head reads its text
positions, so the lengths come with it (``lengths_from_logits``: ``--speed`` divides them).
Every later pass is ``[mode] [frames c .. e)`` over that cache and is rolled back afterwards.

``fill_window`` generates frames ``s .. e`` of each item with frames ``c .. s`` as known left
context: ``level0_steps`` masked passes for level 0 (confidence-ordered unmasking on MaskGIT's
cosine schedule, as ``parallel_decode.generate_level0``), then one NAR pass per level. A whole
sentence is one window (``c = s = 0``, ``e = T``); a stream commits a few frames at a time and
lets each window also generate a short lookahead, which the next window redraws.

The NAR's passes may read another voice prompt than level 0's (``nar_prompts``: the reference
repeated up to the prompt length, ``vall_e.inference.prompt_fill``); that prompt gets its own
prefix pass, after level 0 is drawn.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from vall_e.inference.parallel_decode import frame_cap, lengths_from_logits, unmask_step
from vall_e.models import shared_prefix as layout
from vall_e.models.layers import KVCache
from vall_e.models.parallel_level0 import mask_share
from vall_e.models.pointer import expected_frames
from vall_e.sampling import TokenSampler


@dataclass
class EncodedPrefix:
    """The cached prefix of a batch; every pass attends to it and is rolled back afterwards."""

    cache: KVCache
    valid: torch.Tensor  # [B, Lp] keys that are not padding
    duration_logits: list[torch.Tensor]  # [n_i, max_duration_frames] per item
    n_text: list[int]
    n_prompt: list[int]
    passer: object = None  # vall_e.compile.FramePasser: the passes compiled; None: eager
    voices: list = None  # per item: the prompt's voice vector [d] (model.voice_dim), or None


def _check(model, speed: float) -> None:
    if model.durations_mode is None or not model.config.shared_prefix:
        raise ValueError("shared-prefix decoding needs a model with model.alignment: durations and "
                         "model.shared_prefix: true")
    if not speed > 0:
        raise ValueError(f"speed must be > 0, got {speed}")


@torch.inference_mode()
def encode_prefix(model, text: list[torch.Tensor], prompts: list[torch.Tensor],
                  passer=None) -> EncodedPrefix:
    """One pass over each item's prefix; the cache keeps its keys and values. Later passes
    run through ``passer`` (``vall_e.compile.FramePasser``) when one is given."""
    _check(model, 1.0)
    voices = [layout.voice_vector(model, p) for p in prompts]
    sequences = [layout.prefix_sequence(model, t, p, v) for t, p, v in zip(text, prompts, voices)]
    positions = [layout.prefix_positions(model, len(t), p.shape[-1]) for t, p in zip(text, prompts)]
    batch = model.pack(sequences, [torch.zeros(s.shape[0], dtype=torch.long) for s in sequences],
                       positions)
    cache = KVCache(len(model.blocks))
    hidden = model.hidden_states(batch.x, batch.positions, batch.valid, causal=False, cache=cache)
    logits = [model.duration_head(hidden[row, :len(t)]) for row, t in enumerate(text)]
    return EncodedPrefix(cache, batch.valid, logits, [len(t) for t in text],
                         [p.shape[-1] for p in prompts], passer, voices)


def durations(model, prefix: EncodedPrefix, speed: float = 1.0,
              max_frames: int | None = None) -> list[torch.Tensor]:
    """Frames per text position [n_i] (>= 1 each, held under the safety cap and ``max_frames``)."""
    _check(model, speed)
    out = []
    for n_text, logits in zip(prefix.n_text, prefix.duration_logits):
        out.append(lengths_from_logits(logits, speed, frame_cap(n_text, speed, max_frames)))
    return out


@torch.inference_mode()
def _pass_hidden(model, prefix: EncodedPrefix, inputs: list[torch.Tensor],
                 positions: list[torch.Tensor]) -> torch.Tensor:
    """Hidden states [B, T, d] of one pass over the cached prefix; the cache is left as it was."""
    length = prefix.cache.length
    batch = model.pack(inputs, [torch.zeros(x.shape[0], dtype=torch.long) for x in inputs], positions)
    if prefix.passer is not None:  # compiled: attends to a copy of the prefix, the cache stays
        return prefix.passer(prefix.cache, prefix.valid, batch.x, batch.positions, batch.valid)
    try:
        return model.hidden_states(batch.x, batch.positions, batch.valid, causal=False,
                                   cache=prefix.cache)
    finally:
        for layer in prefix.cache.layers:
            layer.truncate(length)
        prefix.cache.key_valid = prefix.valid


@dataclass
class Window:
    """Frames ``context .. start`` are known, ``start .. end`` are generated."""

    context: int
    start: int
    end: int


def _window_inputs(model, prefix: EncodedPrefix, text, lengths, windows):
    """Each item's span, its frames' conditioning and its positions: the same for every pass
    over a window."""
    spans = [(w.context, w.end) for w in windows]
    conditioning = [layout.frame_conditioning(model, t, d, c, e, v)
                    for t, d, (c, e), v in zip(text, lengths, spans, prefix.voices)]
    positions = [layout.pass_positions(model, n_text, n_prompt, c, e - c)
                 for n_text, n_prompt, (c, e) in zip(prefix.n_text, prefix.n_prompt, spans)]
    return spans, conditioning, positions


@torch.inference_mode()
def fill_level0(model, prefix: EncodedPrefix, text: list[torch.Tensor], lengths: list[torch.Tensor],
                codes: list[torch.Tensor], windows: list[Window], ar_sampler: TokenSampler,
                steps: int | None = None) -> None:
    """Write level 0 of frames ``start .. end`` into ``codes`` [levels, T_i] of each item:
    ``steps`` masked passes (frames ``context .. start`` must already hold level 0)."""
    steps = model.config.level0_steps if steps is None else steps
    if steps < 1:
        raise ValueError(f"level-0 steps must be >= 1, got {steps}")
    if len(windows) != len(text):
        raise ValueError("fill_level0 needs one window per item of the encoded prefix")
    spans, conditioning, positions = _window_inputs(model, prefix, text, lengths, windows)
    masked = [torch.arange(c, e, device=cd.device) >= w.start
              for (c, e), w, cd in zip(spans, windows, codes)]
    for step in range(steps):
        inputs = [torch.cat([layout.mode_token(model, 0),
                             layout.level0_inputs(model, cond, codes[i][0, c:e], masked[i])])
                  for i, ((c, e), cond) in enumerate(zip(spans, conditioning))]
        hidden = _pass_hidden(model, prefix, inputs, positions)
        share = float(mask_share((step + 1) / steps)) if step + 1 < steps else 0.0
        for i, ((c, e), w) in enumerate(zip(spans, windows)):
            logits = model.level_logits(hidden[i, 1:1 + e - c], 0)[:, :model.codebook_size]
            masked[i] = unmask_step(logits, codes[i][0, c:e], masked[i], share, w.end - w.start,
                                    ar_sampler)  # writes the draws into codes[i] (a view)


@torch.inference_mode()
def fill_levels(model, prefix: EncodedPrefix, text: list[torch.Tensor], lengths: list[torch.Tensor],
                codes: list[torch.Tensor], windows: list[Window], nar_sampler: TokenSampler,
                n_levels: int) -> None:
    """Write levels 1..n_levels-1 of frames ``start .. end`` (level 0 and frames ``context ..
    start`` already there): one NAR pass per level."""
    if len(windows) != len(text):
        raise ValueError("fill_levels needs one window per item of the encoded prefix")
    spans, conditioning, positions = _window_inputs(model, prefix, text, lengths, windows)
    for level in range(1, n_levels):
        inputs = [torch.cat([layout.mode_token(model, level),
                             layout.nar_inputs(model, cond, codes[i][:, c:e], level)])
                  for i, ((c, e), cond) in enumerate(zip(spans, conditioning))]
        hidden = _pass_hidden(model, prefix, inputs, positions)
        for i, ((c, e), w) in enumerate(zip(spans, windows)):
            logits = model.level_logits(hidden[i, 1 + w.start - c:1 + e - c], level)
            codes[i][level, w.start:e] = nar_sampler(logits[None])[0]  # no history: AR-only rules


def fill_window(model, prefix: EncodedPrefix, text: list[torch.Tensor], lengths: list[torch.Tensor],
                codes: list[torch.Tensor], windows: list[Window], ar_sampler: TokenSampler,
                nar_sampler: TokenSampler, n_levels: int, steps: int | None = None,
                nar_prefix: EncodedPrefix | None = None) -> None:
    """Write levels 0..n_levels-1 of frames ``start .. end`` into ``codes`` [n_levels, T_i] of
    each item (frames ``context .. start`` must already hold every level); the NAR's passes
    attend to ``nar_prefix`` when one is given (same text, another voice prompt)."""
    fill_level0(model, prefix, text, lengths, codes, windows, ar_sampler, steps)
    fill_levels(model, nar_prefix or prefix, text, lengths, codes, windows, nar_sampler, n_levels)


def _check_candidates(candidates: int, critic) -> None:
    if candidates < 1:
        raise ValueError(f"candidates must be >= 1, got {candidates}")
    if candidates > 1 and critic is None:
        raise ValueError("ranking level-0 candidates needs a phoneme critic")


def _keep_rows(prefix: EncodedPrefix, rows: list[int]) -> EncodedPrefix:
    """The encoded prefix of batch ``rows`` alone (its cache rows kept, the others dropped)."""
    index = torch.tensor(rows, device=prefix.valid.device)
    prefix.cache.reorder(index)
    return EncodedPrefix(prefix.cache, prefix.valid[index],
                         [prefix.duration_logits[j] for j in rows], [prefix.n_text[j] for j in rows],
                         [prefix.n_prompt[j] for j in rows], prefix.passer,
                         [prefix.voices[j] for j in rows])


def _fill_kept(model, text: list[torch.Tensor], prefix: EncodedPrefix, lengths: list[torch.Tensor],
               codes: list[torch.Tensor], windows: list[Window], ar_sampler: TokenSampler,
               nar_sampler: TokenSampler, n_levels: int, candidates: int,
               critic, nar_prompts: list[torch.Tensor] | None = None,
               ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Level 0 of every candidate (``prefix``, ``lengths``, ``codes`` and ``windows`` hold each
    of ``text``'s items ``candidates`` times in a row), then the NAR's levels of the one
    ``critic`` scores best per item, read against ``nar_prompts`` when given (one per item of
    ``text``). Returns that item's codes and durations."""
    repeated = [t for t in text for _ in range(candidates)]
    fill_level0(model, prefix, repeated, lengths, codes, windows, ar_sampler)
    if candidates > 1:
        # a candidate's known frames (a continuation's) are the same in all: the generated differ
        kept = [max(range(i * candidates, (i + 1) * candidates),
                    key=lambda j: critic.score(codes[j][0], repeated[j], lengths[j]))
                for i in range(len(text))]
        codes, lengths, windows = ([c[j] for j in kept] for c in (codes, lengths, windows))
        prefix = _keep_rows(prefix, kept)
    if nar_prompts is not None:
        prefix = encode_prefix(model, text, nar_prompts, prefix.passer)
    fill_levels(model, prefix, text, lengths, codes, windows, nar_sampler, n_levels)
    return codes, lengths


@torch.inference_mode()
def generate(model, text: list[torch.Tensor], prompts: list[torch.Tensor], ar_sampler: TokenSampler,
             nar_sampler: TokenSampler, n_levels: int, speed: float = 1.0,
             max_frames: int | None = None, passer=None, candidates: int = 1,
             critic=None, nar_prompts: list[torch.Tensor] | None = None,
             ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Codes [n_levels, T_i] and durations [n_i] of each (text ids, prompt codes) pair, every
    sentence as one window (``passer``: see ``encode_prefix``); the NAR's levels read
    ``nar_prompts`` instead of ``prompts`` when given.

    ``candidates`` > 1 draws that many level-0 candidates of each sentence (one batch) and
    keeps the one ``critic`` (``vall_e.align.critic.PhonemeCritic``) scores best against the
    sentence's own durations; only the kept one gets the NAR's levels."""
    _check(model, speed)
    _check_candidates(candidates, critic)
    repeated = [t for t in text for _ in range(candidates)]
    prefix = encode_prefix(model, repeated, [p for p in prompts for _ in range(candidates)], passer)
    lengths = durations(model, prefix, speed, max_frames)
    device = model.text_embedding.weight.device
    codes = [torch.zeros(n_levels, int(d.sum()), dtype=torch.long, device=device) for d in lengths]
    windows = [Window(0, 0, c.shape[1]) for c in codes]
    return _fill_kept(model, text, prefix, lengths, codes, windows, ar_sampler, nar_sampler,
                      n_levels, candidates, critic, nar_prompts)


def fit_lengths(logits: torch.Tensor, total: int) -> torch.Tensor:
    """Frames per text position [n] (>= 1 each) that sum to exactly ``total`` (>= n): the
    duration head's expected lengths scaled to a span whose length is already known."""
    if total < logits.shape[0]:
        raise ValueError(f"{total} frames cannot hold {logits.shape[0]} text positions")
    frames = expected_frames(logits)
    frames = frames * (total / float(frames.sum()))
    ends = torch.round(torch.cumsum(frames, 0)).long().clamp(max=total)
    ends[-1] = total
    lengths = torch.diff(ends, prepend=torch.zeros(1, dtype=torch.long, device=ends.device))
    # rounding can leave a position empty: borrow a frame from the longest one
    while int(lengths.min()) < 1:
        lengths[int(lengths.argmin())] += 1
        lengths[int(lengths.argmax())] -= 1
    return lengths


@torch.inference_mode()
def generate_continuation(model, prompt_text: torch.Tensor, known: torch.Tensor,
                          text: list[torch.Tensor], prompt: torch.Tensor,
                          ar_sampler: TokenSampler, nar_sampler: TokenSampler, n_levels: int,
                          speed: float = 1.0, max_frames: int | None = None,
                          passer=None, candidates: int = 1, critic=None,
                          nar_prompt: torch.Tensor | None = None,
                          ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """``--input-prompt-prefix`` for a shared-prefix model: each item reads ``[prompt's
    transcript] [text]`` and the reference's own codes ``known`` [K, Tk] (what the transcript
    says; ``prompt`` is the prefix's acoustic prompt as always) stand as the first frames,
    so the text is spoken as the continuation of the reference (its voice and pace right
    before the first word) instead of from a cold start. ``prompt_text`` holds the
    transcript's ids with BOS and without EOS; each of ``text`` its own ids with BOS and EOS
    (BOS is dropped when joining). Returns the new frames' codes [n_levels, T_i] and the
    text's durations [len(text_i) - 1] (the EOS position last). ``candidates``, ``critic``:
    as in ``generate`` (the critic scores the whole joined item; the known frames are the same
    in every candidate). ``nar_prompt``: the NAR's voice prompt, if not ``prompt``."""
    _check(model, speed)
    _check_candidates(candidates, critic)
    if known.shape[0] < n_levels:
        raise ValueError(f"the reference has {known.shape[0]} code levels, {n_levels} are generated")
    joined = [torch.cat([prompt_text, t[1:]]) for t in text]
    repeated = [ids for ids in joined for _ in range(candidates)]
    prefix = encode_prefix(model, repeated, [prompt] * len(repeated), passer)
    n_known, known_frames = len(prompt_text), known.shape[-1]
    lengths, codes, windows, spoken = [], [], [], []
    for ids, logits in zip(repeated, prefix.duration_logits):
        own = fit_lengths(logits[:n_known], known_frames)
        new = lengths_from_logits(logits[n_known:], speed,
                                  frame_cap(len(ids) - n_known, speed, max_frames))
        lengths.append(torch.cat([own, new]))
        item = torch.zeros(n_levels, known_frames + int(new.sum()), dtype=torch.long,
                           device=known.device)
        item[:, :known_frames] = known[:n_levels]
        codes.append(item)
        windows.append(Window(0, known_frames, item.shape[1]))
        spoken.append(new)
    codes, _ = _fill_kept(model, joined, prefix, lengths, codes, windows, ar_sampler, nar_sampler,
                          n_levels, candidates, critic,
                          None if nar_prompt is None else [nar_prompt] * len(joined))
    return [c[:, known_frames:] for c in codes], spoken[::candidates]
