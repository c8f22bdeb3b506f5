"""Beam search state for the AR loop: keeps ``beam_width`` hypotheses by cumulative log-prob.

The decoding loop owns the model and the KV cache; this class only does the bookkeeping:

    search = BeamSearch(width, stop_token, length_normalization=1.0, max_length=max_steps)
    while not search.done:
        log_probs = sampler.log_probs(logits_of_the_W_rows, history)        # [W, V]
        parents, tokens = search.step(log_probs)                            # [W], [W]
        reorder the cache / history rows by ``parents``, then feed ``tokens``
    codes = search.best()

Rule of one step: every alive beam b and token v make a candidate with score
cum[b] + log_probs[b, v]; the candidates are taken best first. A candidate ending in STOP
becomes a finished hypothesis with score cum / length ** alpha (length counts the STOP, alpha =
``length_normalization``; 0 = raw log-prob, 1 = per-token average). Other candidates fill the
``beam_width`` alive slots. Before the first step only row 0 is alive (the W rows are copies of
one prefix), so the first step does not pick the same token W times. Rows that cannot be
filled (tiny vocabularies) are dead: score -inf, fed a harmless token, never expanded.
"""
from __future__ import annotations

import math

import torch


class BeamSearch:
    def __init__(self, beam_width: int, stop_token: int, length_normalization: float = 1.0,
                 max_length: int | None = None):
        if beam_width < 1:
            raise ValueError(f"beam_width must be >= 1, got {beam_width}")
        self.width = beam_width
        self.stop_token = stop_token
        self.alpha = length_normalization
        self.max_length = max_length
        self.length = 0  # steps taken = tokens in every alive hypothesis
        self.scores = torch.full((beam_width,), -math.inf)  # cumulative log-probs, [W]
        self.scores[0] = 0.0
        self.sequences: list[list[int]] = [[] for _ in range(beam_width)]
        self.finished: list[tuple[float, list[int]]] = []  # (normalized score, tokens w/o STOP)

    def _normalized(self, cum: float, length: int) -> float:
        return cum / (length ** self.alpha)

    def step(self, log_probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """log_probs [W, V] of each row's next token -> (parent row [W], token [W]) to feed."""
        if log_probs.shape[0] != self.width:
            raise ValueError(f"expected {self.width} rows of log-probs, got {log_probs.shape[0]}")
        vocab = log_probs.shape[-1]
        candidates = (self.scores[:, None] + log_probs.detach().float().cpu()).flatten()
        values, indices = candidates.topk(min(2 * self.width, candidates.numel()))
        self.length += 1
        alive: list[tuple[float, int, int]] = []
        for value, index in zip(values.tolist(), indices.tolist()):
            if not math.isfinite(value) or len(alive) == self.width:
                break  # sorted: the rest are worse
            parent, token = divmod(index, vocab)
            if token == self.stop_token:
                self.finished.append(
                    (self._normalized(value, self.length), list(self.sequences[parent])))
            else:
                alive.append((value, parent, token))
        filler = alive[0][1:] if alive else (0, 0)
        alive += [(-math.inf, *filler)] * (self.width - len(alive))
        self.sequences = [self.sequences[p] + [t] for _, p, t in alive]
        self.scores = torch.tensor([v for v, _, _ in alive])
        parents = torch.tensor([p for _, p, _ in alive], device=log_probs.device)
        tokens = torch.tensor([t for _, _, t in alive], device=log_probs.device)
        return parents, tokens

    def _best_possible(self, cum: float) -> float:
        """Upper bound of an alive beam's final normalized score (future log-probs are <= 0).

        Exact for alpha <= 0 (best to stop at the next step) and for alpha > 0 with max_length
        (best to run to max_length); for alpha > 0 without max_length it assumes the beam stops
        at the next step, the usual heuristic (an exact bound would be 0: never stop early).
        """
        if self.alpha > 0 and self.max_length is not None:
            return self._normalized(cum, max(self.max_length, self.length + 1))
        return self._normalized(cum, self.length + 1)

    @property
    def done(self) -> bool:
        """No beam alive, max_length reached, or no alive beam can beat the best finished one."""
        alive = [s for s in self.scores.tolist() if math.isfinite(s)]
        if not alive or (self.max_length is not None and self.length >= self.max_length):
            return True
        if not self.finished:
            return False
        best_finished = max(score for score, _ in self.finished)
        return all(best_finished >= self._best_possible(cum) for cum in alive)

    def best(self) -> list[int]:
        """Tokens (STOP excluded) of the best finished hypothesis, else of the best alive one."""
        if self.finished:
            return list(max(self.finished, key=lambda item: item[0])[1])
        index = int(self.scores.argmax())
        return list(self.sequences[index])
