"""Sampling: one frozen SamplingParams, pure processors, small stateful samplers, one dispatcher.

- ``params``: ``SamplingParams`` (every flag, validated) and ``cli_flag``;
- ``processors``: pure logits -> logits functions (temperature, filters, penalties, entropy);
- ``mirostat``: ``MirostatState`` (v2); ``beam``: ``BeamSearch`` bookkeeping for the AR loop;
- ``sample``: ``TokenSampler``, the dispatcher both model families call at each step.
"""
from vall_e.sampling.beam import BeamSearch
from vall_e.sampling.mirostat import MirostatState
from vall_e.sampling.params import SamplingParams, cli_flag
from vall_e.sampling.sample import TokenSampler, make_generator

__all__ = [
    "BeamSearch",
    "MirostatState",
    "SamplingParams",
    "TokenSampler",
    "cli_flag",
    "make_generator",
]
