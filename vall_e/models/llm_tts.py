"""LLM-TTS: a plain causal LM from ``transformers`` (Llama by default) over a token layout.

The network is any ``AutoModelForCausalLM``; everything TTS-specific lives in the layout
(``llm_layouts.py``). This module only adds the training loss (audio tokens, optionally the
text), a fresh-Llama builder sized by ``ModelConfig`` and the fresh flat-layout model both
training and the random-checkpoint fixture start from.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vall_e.config import ModelConfig


def build_llama(config: ModelConfig, vocab_size: int, pad_id: int, bos_id: int, eos_id: int):
    """A randomly initialised ``LlamaForCausalLM`` with the shape ``config`` asks for."""
    from transformers import LlamaConfig, LlamaForCausalLM

    # round the SwiGLU width to a multiple of 8, as Llama does, for friendlier matmuls
    intermediate = max(8, int(round(config.d_model * config.ffn_mult * 2 / 3 / 8)) * 8)
    llama_config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=config.d_model,
        intermediate_size=intermediate,
        num_hidden_layers=config.n_layers,
        num_attention_heads=config.n_heads,
        num_key_value_heads=config.n_heads,
        max_position_embeddings=config.max_positions,
        attention_dropout=config.attention_dropout,
        tie_word_embeddings=True,  # halves the parameters a large audio vocabulary costs
        pad_token_id=pad_id,
        bos_token_id=bos_id,
        eos_token_id=eos_id,
    )
    return LlamaForCausalLM(llama_config)


def fresh_flat_model(config: ModelConfig, vocab, codec_info) -> "LLMTTSModel":
    """A fresh Llama over a flat layout of the text vocabulary ``vocab`` (``config.text_units``)
    and ``codec_info``'s levels and codebook."""
    from vall_e.models.llm_layouts import FlatLayout

    layout = FlatLayout(vocab, config.text_units, codec_info.n_levels, codec_info.codebook_size)
    lm = build_llama(config, layout.vocab_size, layout.PAD, layout.BOS, layout.SPEECH_END)
    return LLMTTSModel(lm, layout)


class LLMTTSModel(nn.Module):
    """A causal LM plus the layout that gives its ids meaning."""

    def __init__(self, lm: nn.Module, layout):
        super().__init__()
        self.lm = lm
        self.layout = layout
        # a learned speaker vector [hidden] added to the embeddings of the conditioning (the
        # prompt: reference and text) by vall_e.finetune's offset method; None for base models
        self.register_parameter("speaker_offset", None)
        vocab = lm.get_input_embeddings().num_embeddings
        if vocab < layout.vocab_size:
            raise ValueError(f"the LM's vocabulary ({vocab}) is smaller than the {layout.name} "
                             f"layout needs ({layout.vocab_size})")

    @property
    def vocab_size(self) -> int:
        return self.lm.get_input_embeddings().num_embeddings

    @property
    def max_positions(self) -> int:
        return int(getattr(self.lm.config, "max_position_embeddings", 1 << 30))

    def set_gradient_checkpointing(self, enabled: bool = True) -> None:
        if enabled:  # non-reentrant: works with frozen inputs (LoRA) and under DDP
            self.lm.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        else:
            self.lm.gradient_checkpointing_disable()

    def _inputs(self, input_ids: torch.Tensor, conditioning: torch.Tensor | None) -> dict:
        """``input_ids``, or with a speaker offset the embeddings with the offset added where
        ``conditioning`` [B, T] is true."""
        if self.speaker_offset is None or conditioning is None:
            return {"input_ids": input_ids}
        embeds = self.lm.get_input_embeddings()(input_ids)
        offset = self.speaker_offset.to(embeds.dtype) * conditioning[..., None].to(embeds.dtype)
        return {"inputs_embeds": embeds + offset}

    def forward(self, input_ids, attention_mask=None, position_ids=None, past_key_values=None):
        conditioning = None
        if past_key_values is None or past_key_values.get_seq_length() == 0:
            # the first pass reads the whole prompt, which is all conditioning
            conditioning = (torch.ones_like(input_ids, dtype=torch.bool) if attention_mask is None
                            else attention_mask.bool())
        return self.lm(**self._inputs(input_ids, conditioning), attention_mask=attention_mask,
                       position_ids=position_ids, past_key_values=past_key_values,
                       use_cache=past_key_values is not None)

    def loss(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, speech_mask: torch.Tensor,
             text_weight: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
        """Next-token loss on speech targets (+ ``text_weight`` x the prompt/text targets) and
        the accuracy on speech targets.

        ``speech_mask`` [B, T] marks the ids that are speech (and its end) in ``input_ids``;
        padding (``attention_mask`` 0) never counts.
        """
        conditioning = attention_mask.bool() & ~speech_mask.bool()
        logits = self.lm(**self._inputs(input_ids, conditioning), attention_mask=attention_mask,
                         use_cache=False).logits[:, :-1]
        targets = input_ids[:, 1:]
        speech = speech_mask[:, 1:].float()
        other = attention_mask[:, 1:].float() * (1 - speech)
        weights = speech + text_weight * other
        per_token = F.cross_entropy(logits.float().transpose(1, 2), targets, reduction="none")
        loss = (per_token * weights).sum() / weights.sum().clamp(min=1e-8)
        correct = (logits.argmax(-1) == targets).float() * speech
        return loss, correct.sum() / speech.sum().clamp(min=1)
