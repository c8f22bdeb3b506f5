"""The one cached decoding loop and the one beam search, for both model families.

What differs by family is passed in as small functions; the loops themselves hold the rules
both share:

- ``decode_steps``: each step draws one token per row from the current logits (``sampler``
  sees the row's history for its penalties); a row finishes when it draws one of ``stop_ids``,
  when ``ends(tokens, finished)`` says so, or when it uses up its budget. A finished row keeps
  being fed while the others go on (its outputs are ignored): the first stop id as a filler,
  or, with no stop ids, its own draws. The loop ends as soon as every row has finished, so
  generation always ends. ``advance(tokens, finished)`` feeds the drawn tokens through the
  model's cache and returns the next logits: the AR+NAR engine embeds level-0 codes
  (``ar_nar_decode``), LLM-TTS feeds layout ids to its Hugging Face LM (``llm_decode``), and
  the pointer-aligned AR (``pointer_decode``) adds the conditioning of the phoneme under its
  pointer. That AR has no stop id (STOP is masked): its ``ends`` moves each row's phoneme
  pointer by the duration head's prediction and ends the row once the pointer passes the
  text's end.
- ``beam_decode``: ``width`` hypotheses of one prompt as ``width`` rows; each step scores every
  row's processed log-probabilities (``TokenSampler.log_probs``), keeps the best ``width``
  extensions by cumulative log-probability (``BeamSearch``) and lets ``advance(tokens,
  parents)`` reorder the cache to follow the parents before feeding the tokens. The best
  finished hypothesis (length normalized) is returned: a true beam search, not W greedy decoders.

``allowed(logits, step)``, when given, masks the logits before each draw (LLM-TTS: its
layout's next slot).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from vall_e.sampling import TokenSampler
from vall_e.sampling.beam import BeamSearch


@dataclass
class StepOutput:
    step: int
    tokens: torch.Tensor  # [B] the id each row drew (rows already finished: the filler)
    active: torch.Tensor  # [B] bool: the row was still generating at this step
    stopped: torch.Tensor  # [B] bool: the row has drawn a stop id (now or before)
    finished: torch.Tensor  # [B] bool: the row is done after this step (stop, ends or budget)


def decode_steps(logits: torch.Tensor, advance: Callable, sampler: TokenSampler,
                 stop_ids: list[int], budgets: list[int], history: torch.Tensor | None = None,
                 allowed: Callable | None = None,
                 ends: Callable | None = None) -> Iterator[StepOutput]:
    """Yield one ``StepOutput`` per step from the prefill's last ``logits`` [B, V] until every
    row has finished or spent its budget (new tokens). ``history`` [B, t]: tokens already in
    the responses (a forced prefix), which the penalties see. ``ends(tokens, finished)`` ->
    [B] bool, called once per step after the draw with the rows finished before it: rows that
    end now for a reason of their own. The module docstring has the rules and what
    ``advance`` / ``allowed`` do."""
    batch, device = logits.shape[0], logits.device
    if len(budgets) != batch or min(budgets) < 1:
        raise ValueError("every row needs a positive budget of new tokens")
    stops = torch.tensor(stop_ids, dtype=torch.long, device=device)
    limits = torch.tensor(budgets, device=device)
    if history is None:
        history = torch.zeros(batch, 0, dtype=torch.long, device=device)
    finished = torch.zeros(batch, dtype=torch.bool, device=device)
    stopped = torch.zeros(batch, dtype=torch.bool, device=device)
    for step in range(max(budgets)):
        tokens = sampler(logits if allowed is None else allowed(logits, step), history)
        active = ~finished
        is_stop = torch.isin(tokens, stops) & active
        stopped |= is_stop
        if stop_ids:
            tokens = torch.where(finished, torch.full_like(tokens, stop_ids[0]), tokens)
        history = torch.cat([history, tokens[:, None]], dim=1)
        ended = is_stop if ends is None else is_stop | ends(tokens, finished)
        finished = finished | ended | (step + 1 >= limits)
        yield StepOutput(step, tokens, active, stopped.clone(), finished)
        if bool(finished.all()):
            return
        logits = advance(tokens, finished)


def beam_decode(logits: torch.Tensor, advance: Callable, sampler: TokenSampler, stop_id: int,
                budget: int, history: torch.Tensor | None = None,
                allowed: Callable | None = None) -> tuple[list[int], bool]:
    """The best hypothesis (stop excluded) and whether it finished by itself, from the prefill's
    ``logits`` [W, V] (W = ``sampler.params.beam_width`` copies of one prompt)."""
    width = sampler.params.beam_width
    if history is None:
        history = torch.zeros(width, 0, dtype=torch.long, device=logits.device)
    # no max_length: with it the exact stopping bound is so loose that every search would run
    # to the budget; the loop below still enforces that cap
    search = BeamSearch(width, stop_id)
    while not search.done and search.length < budget:
        masked = logits if allowed is None else allowed(logits, search.length)
        parents, tokens = search.step(sampler.log_probs(masked, history))
        history = torch.cat([history[parents], tokens[:, None]], dim=1)
        logits = advance(tokens, parents)
    return search.best(), bool(search.finished)
