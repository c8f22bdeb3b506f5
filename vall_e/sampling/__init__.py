"""Sampling: one frozen SamplingParams, pure processors, one TokenSampler dispatcher."""
from vall_e.sampling.params import SamplingParams
from vall_e.sampling.sample import TokenSampler, make_generator, sample_from_logits

__all__ = ["SamplingParams", "TokenSampler", "make_generator", "sample_from_logits"]
