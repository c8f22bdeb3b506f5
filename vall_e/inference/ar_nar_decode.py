"""Decoding loops of the AR+NAR model: AR over level 0 with a KV cache, NAR per level, STT.

Batched inputs are left-padded for the AR (so every item's next position is the last column
and one cached step serves all items) and right-padded for the NAR (one parallel pass per
level). Every loop is bounded by ``max_steps``: generation always ends.

What the sampling parameters change here (the rest happens inside ``TokenSampler``):
- ``layer_skip``: each AR step may exit early (``ARNARModel.step_with_layer_skip``);
- ``beam_width`` > 1: the AR runs a beam search instead (``vall_e.inference.ar_beam``);
- ``refine_on_stop``: once the AR stops, level 0 is re-derived from one full pass;
- forced response prefixes (``input_prompt_prefix``) are fed before sampling starts.
"""
from __future__ import annotations

import torch

from vall_e.inference.decode_loop import decode_steps
from vall_e.inference.decode_step import DecodeStats, cached_step, left_pad
from vall_e.models.ar_nar import ARNARModel
from vall_e.models.layers import KVCache
from vall_e.sampling import TokenSampler

# the names other loops imported from here before ``decode_step`` existed
_left_pad = left_pad
__all__ = ["DecodeStats", "autoregress", "cached_step", "generate_ar", "generate_nar",
           "generate_stt", "refine_level0"]


@torch.inference_mode()
def autoregress(
    model: ARNARModel,
    prefixes: list[torch.Tensor],
    embed_token,
    logits_of,
    sampler: TokenSampler,
    stop_token: int,
    max_steps: int,
    history: torch.Tensor | None = None,
    stepper=None,
    prefix_positions: list[torch.Tensor] | None = None,
) -> tuple[list[torch.Tensor], list[bool], DecodeStats]:
    """Feed prefixes, then one sampled token per step until STOP (``decode_loop.decode_steps``).

    ``prefix_positions`` [L_i] per prefix (default 0..L_i-1); each new token takes the last
    position plus one.

    ``history`` [B, t] holds tokens already in the response (a forced prefix, already part of
    ``prefixes``); penalties see them. Returns each item's new tokens (STOP excluded), whether
    it stopped by itself (False when ``max_steps`` cut it off), and the decode statistics.
    ``stepper`` (``vall_e.compile.ARNARStepper``) runs the steps after the prefill on a static
    cache, compiled; it does not do layer-skip.
    """
    stats = DecodeStats(len(model.blocks))
    if max_steps < 1:  # nothing may be generated: no item stopped by itself
        empty = prefixes[0].new_zeros(0, dtype=torch.long)
        return [empty] * len(prefixes), [False] * len(prefixes), stats
    x, valid, positions = left_pad(prefixes, prefix_positions)
    cache = KVCache(len(model.blocks))
    hidden = model.hidden_states(x, positions, valid, causal=True, cache=cache)
    if stepper is not None:
        stepper.begin(cache, max_steps)
    state = {"position": positions[:, -1:] + 1}

    def advance(tokens: torch.Tensor, finished: torch.Tensor) -> torch.Tensor:
        # finished rows keep running (their outputs are discarded): feed them a valid id
        step_input = embed_token(torch.where(finished, torch.zeros_like(tokens), tokens))[:, None]
        if stepper is not None:
            hidden, layers_run = stepper.step(step_input, state["position"])
        else:
            hidden, layers_run = cached_step(model, step_input, state["position"], cache,
                                             logits_of, sampler)
        stats.layers_run.append(layers_run)
        state["position"] = state["position"] + 1
        return logits_of(hidden[:, -1])

    steps = list(decode_steps(logits_of(hidden[:, -1]), advance, sampler, [stop_token],
                              [max_steps] * len(prefixes), history))
    drawn = torch.stack([s.tokens for s in steps], dim=1)
    outputs = []
    for row in drawn:
        ends = (row == stop_token).nonzero()
        outputs.append(row[: int(ends[0])] if ends.numel() else row)
    return outputs, steps[-1].stopped.tolist(), stats


def refine_level0(
    model: ARNARModel, prefix: torch.Tensor, prefix_positions: torch.Tensor, tokens: torch.Tensor,
    sampler: TokenSampler,
) -> torch.Tensor:
    """Refine-on-stop: re-derive every level-0 token from one full pass over the final sequence.

    During decoding each token was chosen from the logits of its own step; here all of them
    are chosen again from the logits the finished sequence gives each position (STOP masked,
    so the length is kept). Tokens whose context changed little stay the same.
    """
    with torch.inference_mode():
        seq = torch.cat([prefix, model.code_embeddings[0](tokens)])[None]
        n = seq.shape[1]
        valid = torch.ones(1, n, dtype=torch.bool, device=seq.device)
        steps = torch.arange(1, tokens.shape[0] + 1, dtype=torch.float32, device=seq.device)
        positions = torch.cat([prefix_positions, prefix_positions[-1] + steps])[None]
        hidden = model.hidden_states(seq, positions, valid, causal=True)
        logits = model.level_logits(hidden[0, prefix.shape[0] - 1 : -1], 0).float()
        logits[:, model.stop_token] = float("-inf")
        return sampler(logits, None)


def generate_ar(
    model: ARNARModel,
    text: list[torch.Tensor],
    prompts: list[torch.Tensor],
    sampler: TokenSampler,
    max_steps: int,
    forced: torch.Tensor | None = None,
    stepper=None,
    rates: list[float | None] | None = None,
) -> tuple[list[torch.Tensor], list[bool], DecodeStats]:
    """Level-0 codes for each (text ids, prompt codes [K, Tp]) pair.

    ``rates``: per item, the speaking rate (frames per text token) aligned positions read at
    (``ARNARModel.tts_positions``); None = the model's default. Ignored without them.

    ``forced`` [B, Tf] level-0 codes start every response (input-prompt-prefix); the returned
    tokens exclude them. ``stepper``: see ``autoregress`` (beam search does not use it).
    """
    prefixes = [model.tts_prefix(0, t, p) for t, p in zip(text, prompts)]
    n_forced = 0 if forced is None else forced.shape[1]
    rates = rates or [None] * len(text)
    positions = [model.tts_positions(len(t), p.shape[-1], n_forced, r)
                 for t, p, r in zip(text, prompts, rates)]
    if forced is not None:
        prefixes = [torch.cat([p, model.code_embeddings[0](f)]) for p, f in zip(prefixes, forced)]
    params = sampler.params
    if params.beam_width > 1:
        if len(prefixes) != 1:
            raise ValueError("beam search decodes one item at a time")
        from vall_e.inference.ar_beam import beam_autoregress

        outputs, stopped, stats = beam_autoregress(model, prefixes[0], positions[0], sampler,
                                                   max_steps, forced)
    else:
        outputs, stopped, stats = autoregress(
            model, prefixes, embed_token=model.code_embeddings[0],
            logits_of=lambda h: model.level_logits(h, 0), sampler=sampler,
            stop_token=model.stop_token, max_steps=max_steps, history=forced, stepper=stepper,
            prefix_positions=positions)
    if params.refine_on_stop:
        refined = [refine_level0(model, prefix, position, tokens, sampler) if tokens.numel() else tokens
                   for prefix, position, tokens in zip(prefixes, positions, outputs)]
        stats.refine_changed = sum(int((a != b).sum()) for a, b in zip(refined, outputs))
        outputs = refined
    return outputs, stopped, stats


@torch.inference_mode()
def generate_nar(
    model: ARNARModel,
    text: list[torch.Tensor],
    prompts: list[torch.Tensor],
    level0: list[torch.Tensor],
    sampler: TokenSampler,
    n_levels: int | None = None,
    known: list[torch.Tensor] | None = None,
    durations: list[torch.Tensor] | None = None,
) -> list[torch.Tensor]:
    """Fill levels 1..n_levels-1 given level 0; returns codes [n_levels, T] per item.

    The NAR sees the whole response, so with aligned positions each item is placed at the rate
    its level 0 actually has (its frames over its text tokens), exactly as in training.

    ``known`` [K, Tk] codes per item are kept as they are over the first Tk frames (a forced
    response prefix whose every level is already known). ``durations`` (frames per text
    position, from the pointer AR) give a pointer model each frame's phoneme.
    """
    durations = durations or [None] * len(text)
    n_levels = model.n_levels if n_levels is None else n_levels
    codes = [l0[None, :] for l0 in level0]
    for level in range(1, n_levels):
        sequences, starts, positions = [], [], []
        for text_ids, prompt, current, dur in zip(text, prompts, codes, durations):
            prefix = model.tts_prefix(level, text_ids, prompt)
            starts.append(prefix.shape[0])
            sequences.append(torch.cat([prefix, model.nar_frames(text_ids, current, level, dur)]))
            positions.append(model.training_positions(text_ids, prompt, current))
        batch = model.pack(sequences, [torch.zeros(s.shape[0], dtype=torch.long) for s in sequences],
                           positions)
        hidden = model.hidden_states(batch.x, batch.positions, batch.valid, causal=False)
        for index, (start, current) in enumerate(zip(starts, codes)):
            length = current.shape[1]
            logits = model.level_logits(hidden[index, start : start + length], level)
            new_level = sampler(logits[None])[0]  # no history: penalties are AR rules
            if known is not None:
                fixed = known[index][level, : length]
                new_level = torch.cat([fixed, new_level[fixed.shape[0]:]])
            codes[index] = torch.cat([current, new_level[None, :]])
    return codes


def generate_stt(
    model: ARNARModel,
    audio: list[torch.Tensor],
    bos_id: int,
    eos_id: int,
    sampler: TokenSampler,
    max_steps: int,
    stepper=None,
) -> list[torch.Tensor]:
    """Phoneme ids (bos/eos excluded) transcribed from audio codes [K, T]."""
    device = model.text_embedding.weight.device
    bos = model.text_embedding(torch.tensor([bos_id], device=device))
    prefixes = [torch.cat([model.stt_prefix(codes), bos]) for codes in audio]
    outputs, _, _ = autoregress(
        model,
        prefixes,
        embed_token=model.text_embedding,
        logits_of=model.stt_logits,
        sampler=sampler,
        stop_token=eos_id,
        max_steps=max_steps,
        stepper=stepper,
    )
    return outputs
