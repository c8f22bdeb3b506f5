"""Decoding loops of the LLM-TTS family: prompts of layout ids -> generated speech ids.

One batch of prompts is left-padded (every row's next position is the last column, so one
cached step serves all rows), with explicit position ids so padding does not shift a row's
positions: a row decodes the same alone or in a batch. Each row stops on its own (a stop id,
or its budget of ``max_length`` - prompt length) and the loop ends when all have.

``iter_speech_tokens`` is a generator yielding each step's tokens, so streaming can decode
audio while the LM still runs; ``generate_speech_tokens`` collects it. With ``constrain`` the
layout's slot mask is applied to the logits before sampling (only the next slot's codes, and
the end of speech at a frame boundary, can be drawn). Beam search
(``SamplingParams.beam_width`` > 1) runs W hypotheses of one prompt as W rows and reorders the
Hugging Face cache to follow their parents.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from vall_e.models.llm_tts import LLMTTSModel
from vall_e.sampling import TokenSampler
from vall_e.sampling.beam import BeamSearch


@dataclass
class StepOutput:
    step: int
    tokens: torch.Tensor  # [B] the id each row drew (rows already finished: the stop id)
    active: torch.Tensor  # [B] bool: the row was still generating at this step
    stopped: torch.Tensor  # [B] bool: the row has drawn a stop id (now or before)


def _left_pad(prompts: list[list[int]], pad_id: int, device) -> tuple[torch.Tensor, ...]:
    longest = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), longest), pad_id, dtype=torch.long)
    mask = torch.zeros(len(prompts), longest, dtype=torch.long)
    for row, prompt in enumerate(prompts):
        ids[row, longest - len(prompt):] = torch.tensor(prompt, dtype=torch.long)
        mask[row, longest - len(prompt):] = 1
    positions = (mask.cumsum(1) - 1).clamp(min=0)
    return ids.to(device), mask.to(device), positions.to(device)


def _mask_logits(model: LLMTTSModel, logits: torch.Tensor, step: int, constrain: bool):
    if not constrain:
        return logits
    allowed = model.layout.step_mask(step, logits.shape[-1], logits.device)
    return logits.masked_fill(~allowed, float("-inf"))


def _new_cache():
    from transformers import DynamicCache

    return DynamicCache()


@torch.inference_mode()
def iter_speech_tokens(model: LLMTTSModel, prompts: list[list[int]], sampler: TokenSampler,
                       budgets: list[int], constrain: bool = True,
                       stepper=None) -> Iterator[StepOutput]:
    """Yield one ``StepOutput`` per decoding step until every row has stopped or run out.

    ``stepper`` (``vall_e.compile.LLMStepper``) runs the steps after the prefill on a static
    cache, compiled."""
    if len(budgets) != len(prompts) or min(budgets) < 1:
        raise ValueError("every prompt needs a positive budget of new tokens")
    layout = model.layout
    device = next(model.parameters()).device
    ids, mask, positions = _left_pad(prompts, layout.pad_id, device)
    cache = _new_cache()
    logits = model(ids, mask, positions, past_key_values=cache).logits[:, -1].float()
    if stepper is not None:
        stepper.begin(cache, mask, max(budgets))
    batch = len(prompts)
    stop_ids = torch.tensor(layout.stop_ids, device=device)
    budgets_t = torch.tensor(budgets, device=device)
    history = torch.zeros(batch, 0, dtype=torch.long, device=device)
    finished = torch.zeros(batch, dtype=torch.bool, device=device)
    stopped = torch.zeros(batch, dtype=torch.bool, device=device)
    next_position = positions[:, -1] + 1
    for step in range(max(budgets)):
        tokens = sampler(_mask_logits(model, logits, step, constrain), history)
        active = ~finished
        is_stop = torch.isin(tokens, stop_ids) & active
        stopped |= is_stop
        tokens = torch.where(finished, torch.full_like(tokens, layout.stop_id), tokens)
        history = torch.cat([history, tokens[:, None]], dim=1)
        finished = finished | is_stop | (step + 1 >= budgets_t)
        yield StepOutput(step, tokens, active, stopped.clone())
        if bool(finished.all()):
            return
        step_ids = torch.where(finished, torch.full_like(tokens, layout.pad_id), tokens)
        if stepper is not None:
            logits = stepper.step(step_ids[:, None], next_position[:, None]).float()
        else:
            mask = torch.cat([mask, torch.ones(batch, 1, dtype=mask.dtype, device=device)], dim=1)
            logits = model(step_ids[:, None], mask, next_position[:, None],
                           past_key_values=cache).logits[:, -1].float()
        next_position = next_position + 1


def generate_speech_tokens(model: LLMTTSModel, prompts: list[list[int]], sampler: TokenSampler,
                           budgets: list[int], constrain: bool = True, stepper=None
                           ) -> tuple[list[list[int]], list[bool]]:
    """Each row's generated ids (stop excluded) and whether it stopped by itself."""
    if sampler.params.beam_width > 1:
        if len(prompts) != 1:
            raise ValueError("beam search decodes one prompt at a time")
        tokens, stopped = beam_speech_tokens(model, prompts[0], sampler, budgets[0], constrain)
        return [tokens], [stopped]
    outputs: list[list[int]] = [[] for _ in prompts]
    stopped = [False] * len(prompts)
    stop_ids = set(model.layout.stop_ids)
    for out in iter_speech_tokens(model, prompts, sampler, budgets, constrain, stepper):
        for row, (token, active) in enumerate(zip(out.tokens.tolist(), out.active.tolist())):
            if active and token not in stop_ids:
                outputs[row].append(token)
        stopped = out.stopped.tolist()
    return outputs, stopped


@torch.inference_mode()
def beam_speech_tokens(model: LLMTTSModel, prompt: list[int], sampler: TokenSampler, budget: int,
                       constrain: bool = True) -> tuple[list[int], bool]:
    """Beam search (``beam_width`` rows of one prompt); returns the best hypothesis."""
    width = sampler.params.beam_width
    layout = model.layout
    device = next(model.parameters()).device
    ids = torch.tensor([prompt] * width, dtype=torch.long, device=device)
    mask = torch.ones_like(ids)
    cache = _new_cache()
    logits = model(ids, mask, None, past_key_values=cache).logits[:, -1].float()
    search = BeamSearch(width, layout.stop_id)
    history = torch.zeros(width, 0, dtype=torch.long, device=device)
    position = len(prompt)
    while not search.done and search.length < budget:
        log_probs = sampler.log_probs(_mask_logits(model, logits, search.length, constrain), history)
        parents, tokens = search.step(log_probs)
        cache.reorder_cache(parents)
        history = torch.cat([history[parents], tokens[:, None]], dim=1)
        mask = torch.cat([mask, torch.ones(width, 1, dtype=mask.dtype, device=device)], dim=1)
        positions = torch.full((width, 1), position, device=device)
        logits = model(tokens[:, None], mask, positions, past_key_values=cache).logits[:, -1].float()
        position += 1
    return search.best(), bool(search.finished)
