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
Hugging Face cache to follow their parents. The loops themselves are the AR+NAR engine's too
(``vall_e.inference.decode_loop``); this module holds what is LLM-TTS's own: prompts of layout
ids, left padding with explicit positions, the Hugging Face cache, the slot mask.
"""
from __future__ import annotations

from collections.abc import Iterator

import torch

from vall_e.inference.decode_loop import StepOutput, beam_decode, decode_steps
from vall_e.models.llm_tts import LLMTTSModel
from vall_e.sampling import TokenSampler

__all__ = ["StepOutput", "beam_speech_tokens", "generate_speech_tokens", "iter_speech_tokens"]


def _left_pad(prompts: list[list[int]], pad_id: int, device) -> tuple[torch.Tensor, ...]:
    longest = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), longest), pad_id, dtype=torch.long)
    mask = torch.zeros(len(prompts), longest, dtype=torch.long)
    for row, prompt in enumerate(prompts):
        ids[row, longest - len(prompt):] = torch.tensor(prompt, dtype=torch.long)
        mask[row, longest - len(prompt):] = 1
    positions = (mask.cumsum(1) - 1).clamp(min=0)
    return ids.to(device), mask.to(device), positions.to(device)


def _slot_mask(model: LLMTTSModel, constrain: bool):
    """``allowed(logits, step)`` for the decode loops: the layout's next slot, or None."""
    if not constrain:
        return None

    def allowed(logits: torch.Tensor, step: int) -> torch.Tensor:
        mask = model.layout.step_mask(step, logits.shape[-1], logits.device)
        return logits.masked_fill(~mask, float("-inf"))
    return allowed


def _new_cache():
    from transformers import DynamicCache

    return DynamicCache()


@torch.inference_mode()
def iter_speech_tokens(model: LLMTTSModel, prompts: list[list[int]], sampler: TokenSampler,
                       budgets: list[int], constrain: bool = True,
                       stepper=None) -> Iterator[StepOutput]:
    """Yield one ``StepOutput`` per decoding step until every row has stopped or run out
    (``vall_e.inference.decode_loop.decode_steps``).

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
    state = {"mask": mask, "position": positions[:, -1] + 1}

    def advance(tokens: torch.Tensor, finished: torch.Tensor) -> torch.Tensor:
        step_ids = torch.where(finished, torch.full_like(tokens, layout.pad_id), tokens)[:, None]
        position = state["position"][:, None]
        state["position"] = state["position"] + 1
        if stepper is not None:
            return stepper.step(step_ids, position).float()
        ones = torch.ones(len(prompts), 1, dtype=mask.dtype, device=device)
        state["mask"] = torch.cat([state["mask"], ones], dim=1)
        return model(step_ids, state["mask"], position, past_key_values=cache).logits[:, -1].float()

    # stop_id first: finished rows report it (the layout may accept other stop ids too)
    stop_ids = [layout.stop_id] + [i for i in layout.stop_ids if i != layout.stop_id]
    yield from decode_steps(logits, advance, sampler, stop_ids, budgets,
                            allowed=_slot_mask(model, constrain))


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
    """Beam search (``beam_width`` rows of one prompt, ``decode_loop.beam_decode``); returns
    the best hypothesis."""
    width = sampler.params.beam_width
    device = next(model.parameters()).device
    ids = torch.tensor([prompt] * width, dtype=torch.long, device=device)
    cache = _new_cache()
    logits = model(ids, torch.ones_like(ids), None, past_key_values=cache).logits[:, -1].float()
    state = {"mask": torch.ones_like(ids), "position": len(prompt)}

    def advance(tokens: torch.Tensor, parents: torch.Tensor) -> torch.Tensor:
        cache.reorder_cache(parents)
        ones = torch.ones(width, 1, dtype=ids.dtype, device=device)
        state["mask"] = torch.cat([state["mask"], ones], dim=1)
        positions = torch.full((width, 1), state["position"], device=device)
        state["position"] += 1
        return model(tokens[:, None], state["mask"], positions,
                     past_key_values=cache).logits[:, -1].float()

    return beam_decode(logits, advance, sampler, model.layout.stop_id, budget,
                       allowed=_slot_mask(model, constrain))
