"""The VALL-E style AR+NAR network: one shared decoder-only transformer for every task.

Sequence layout (each bracket is a span of positions, every position one embedding vector):

    tts, AR      [AR]      [text: bos p1..pn eos] [prompt frames] [SEP] [response level 0]
    tts, NAR k   [NAR k]   [text: bos p1..pn eos] [prompt frames] [SEP] [response levels < k, summed]
    stt          [STT]     [audio frames]                         [SEP] [bos p1..pn]

A prompt or audio frame is the sum of its K per-level code embeddings. The leading mode token
tells the network which task and which level it is doing (the "level embedding"). The AR is
causal and predicts the next level-0 code or STOP; the NAR attends to the whole sequence and
predicts level k at every response position in parallel; STT is causal over phonemes.

One shared network (rather than separate AR and NAR models) halves the parameters and lets
each task regularise the other; the mode token keeps them apart. This module is nn only: the
decoding loops live in ``vall_e.inference.ar_nar_decode``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pad_sequence
from torch.utils.checkpoint import checkpoint

from vall_e.config import ModelConfig
from vall_e.models.guided_attention import AttentionProbe, GuideSpan
from vall_e.models import shared_prefix
from vall_e.models.parallel_level0 import DurationsModeEmbeddings, durations_loss, level0_loss
from vall_e.models.pointer import PointerConditioning, duration_loss, onset_targets
from vall_e.models.voice_conditioning import VoiceConditioning
from vall_e.models.layers import (
    Block,
    KVCache,
    RMSNorm,
    RotaryEmbedding,
    attention_mask,
)

IGNORE = -100


@dataclass
class PackedBatch:
    """Right-padded embeddings of a batch plus what the loss needs."""

    x: torch.Tensor  # [B, T, d]
    valid: torch.Tensor  # [B, T] bool
    positions: torch.Tensor  # [B, T]
    targets: torch.Tensor  # [B, T], IGNORE where no prediction is scored


class ARNARModel(nn.Module):
    def __init__(self, config: ModelConfig, n_text_tokens: int, n_levels: int, codebook_size: int):
        super().__init__()
        self.config = config
        self.n_levels = n_levels
        self.codebook_size = codebook_size
        self.stop_token = codebook_size  # the AR head has one extra class: STOP
        d = config.d_model
        self.text_embedding = nn.Embedding(n_text_tokens, d)
        self.code_embeddings = nn.ModuleList(nn.Embedding(codebook_size, d) for _ in range(n_levels))
        # mode tokens: 0 = AR, k = NAR level k (1..K-1), K = STT; then SEP
        self.special_embedding = nn.Embedding(n_levels + 2, d)
        self.rotary = RotaryEmbedding(d // config.n_heads)
        self.blocks = nn.ModuleList(
            Block(d, config.n_heads, config.ffn_mult, config.dropout, config.attention_dropout)
            for _ in range(config.n_layers)
        )
        self.norm = RMSNorm(d)
        self.heads = nn.ModuleList(
            nn.Linear(d, codebook_size + (1 if level == 0 else 0), bias=False)
            for level in range(n_levels)
        )
        self.stt_head = nn.Linear(d, n_text_tokens, bias=False) if "stt" in config.tasks else None
        # model.alignment: pointer or durations -- per-frame phoneme conditioning and the
        # duration head (durations also adds a MASK input and a duration pass)
        self.pointer = None
        self.durations_mode = None
        if config.alignment in ("pointer", "durations"):
            self.pointer = PointerConditioning(n_text_tokens, d, config.max_inside_frames)
            self.duration_head = nn.Linear(d, config.max_duration_frames)
        if config.alignment == "durations":
            self.durations_mode = DurationsModeEmbeddings(d)
        self.last_ar_metrics: dict = {}  # the last ar_loss's parts, for logging
        # a learned speaker vector [d] added to every conditioning position (vall_e.finetune
        # offset method); None for base models, so it is never part of a checkpoint's weights
        self.register_parameter("speaker_offset", None)
        self.gradient_checkpointing = False  # train.gradient_checkpointing
        self.apply(self._init_weights)
        # model.voice_dim: the prompt's voice as one vector (a frozen speaker encoder and a
        # zero-initialised projection, so it is built after the initialisation above)
        self.voice = (VoiceConditioning(config, codebook_size, d) if config.voice_dim > 0 else None)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)

    # ----- embeddings -------------------------------------------------------------------
    @property
    def sep_id(self) -> int:
        return self.n_levels + 1

    @property
    def stt_mode(self) -> int:
        return self.n_levels

    def special(self, index: int) -> torch.Tensor:
        device = self.special_embedding.weight.device
        return self.special_embedding(torch.tensor([index], device=device))

    def embed_frames(self, codes: torch.Tensor, n_levels: int | None = None) -> torch.Tensor:
        """codes [K', T] -> [T, d], the sum of the first ``n_levels`` level embeddings."""
        n_levels = codes.shape[0] if n_levels is None else n_levels
        out = self.code_embeddings[0](codes[0])
        for level in range(1, n_levels):
            out = out + self.code_embeddings[level](codes[level])
        return out

    def tts_prefix(self, mode: int, text_ids: torch.Tensor, prompt: torch.Tensor) -> torch.Tensor:
        """[mode] [text] [prompt frames] [SEP] -> [L, d]."""
        parts = [self.special(mode), self.text_embedding(text_ids)]
        if prompt.shape[-1] > 0:
            parts.append(self.embed_frames(prompt))
        parts.append(self.special(self.sep_id))
        prefix = torch.cat(parts)
        return prefix if self.speaker_offset is None else prefix + self.speaker_offset

    @property
    def aligned_positions(self) -> bool:
        return self.config.text_position_rate > 0

    @staticmethod
    def speaking_rate(n_text_ids: int, n_frames: int) -> float:
        """Audio frames per text token of an utterance (``n_text_ids`` counts bos and eos)."""
        return n_frames / max(1, n_text_ids - 2)

    def tts_positions(self, n_text: int, n_prompt: int, n_response: int = 0,
                      rate: float | None = None) -> torch.Tensor:
        """Rotary positions [L] (float) of ``tts_prefix`` plus ``n_response`` response inputs.

        Without ``model.text_position_rate`` it is one running count 0..L-1. With aligned
        positions and ``rate`` r (audio frames per text token; default: the config's corpus
        average) the spans get positions of their own:

            mode, prompt   -(P + 2r) - 1 .. -2r - 1   (before everything the response reads)
            text token k   (k - 0.5) * r             (k = 0 is bos: the centre of token k's frames)
            SEP, inputs    0, 1, 2, ...              (the input at j predicts frame j in the AR)

        so a response query and the phoneme it should be reading are at relative distance ~0.
        Training passes each utterance's own rate (``speaking_rate``), so position alone says
        which phoneme is due and the rate at inference sets the pace. Attention follows sequence
        order (the causal mask ignores positions), so spans may share position values.
        """
        device = self.text_embedding.weight.device
        if not self.aligned_positions:
            return torch.arange(n_text + n_prompt + n_response + 2, dtype=torch.float32, device=device)
        rate = self.config.text_position_rate if rate is None else rate
        if not rate > 0:
            raise ValueError(f"the speaking rate must be > 0 frames per text token, got {rate}")
        prompt_start = -(n_prompt + 2 * rate)
        return torch.cat([
            torch.tensor([prompt_start - 1], device=device),
            (torch.arange(n_text, dtype=torch.float32, device=device) - 0.5) * rate,
            prompt_start + torch.arange(n_prompt, dtype=torch.float32, device=device),
            torch.arange(n_response + 1, dtype=torch.float32, device=device),
        ])

    def training_positions(self, text_ids: torch.Tensor, prompt: torch.Tensor,
                           response: torch.Tensor) -> torch.Tensor:
        """``tts_positions`` at the rate ``response`` actually has (its frames over the text's
        tokens): every training sequence, and the NAR at inference, which sees the whole response."""
        frames = response.shape[-1]
        return self.tts_positions(len(text_ids), prompt.shape[-1], frames,
                                  self.speaking_rate(len(text_ids), frames))

    def stt_prefix(self, audio: torch.Tensor) -> torch.Tensor:
        """[STT] [audio frames] [SEP] -> [L, d]."""
        return torch.cat([self.special(self.stt_mode), self.embed_frames(audio), self.special(self.sep_id)])

    # ----- the transformer --------------------------------------------------------------
    def hidden_states(
        self,
        x: torch.Tensor,
        positions: torch.Tensor,
        valid: torch.Tensor,
        causal: bool,
        cache: KVCache | None = None,
        all_layers: bool = False,
        probe: AttentionProbe | None = None,
        isolated_prefix: torch.Tensor | None = None,
    ):
        """Run the blocks over x [B, T, d]; with a cache, x continues the cached sequence.

        Returns the final normed hidden states, or with ``all_layers`` the normed output of
        every layer (the last one included): the shared head reads any of them. A ``probe``
        receives the attention scores of the guided heads (training with guided attention).
        ``isolated_prefix`` [B]: each row's first that many positions attend only among
        themselves (``layers.attention_mask``; ``model.shared_prefix``).
        """
        key_valid = cache.extend_mask(valid) if cache is not None else valid
        if probe is None and not causal and isolated_prefix is None and bool(key_valid.all()):
            mask = None  # every key for every query: SDPA's unmasked kernels (same result, faster)
        else:
            mask = attention_mask(x.shape[1], key_valid, causal, isolated_prefix)
        rope = self.rotary(positions)
        outputs = []
        for index, block in enumerate(self.blocks):
            if probe is not None and probe.wants(index):
                probe.record(index, block.attn.head_logits(block.attn_norm(x), rope, mask, probe.n_heads))
            if self.gradient_checkpointing and self.training and cache is None:
                # keep only each block's input; its activations are recomputed in backward
                x = checkpoint(block, x, rope, mask, None, use_reentrant=False)
            else:
                x = block(x, rope, mask, cache.layers[index] if cache is not None else None)
            if all_layers and index < len(self.blocks) - 1:
                outputs.append(self.norm(x))
        return outputs + [self.norm(x)] if all_layers else self.norm(x)

    def step_with_layer_skip(
        self,
        x: torch.Tensor,
        positions: torch.Tensor,
        valid: torch.Tensor,
        cache: KVCache,
        may_exit,
        exit_layer: int,
    ) -> tuple[torch.Tensor, int]:
        """One cached causal step that may stop early. Returns (normed hidden, layers run).

        After each layer up to ``exit_layer`` (0-based; -1 = any but the last) the shared norm
        gives the step's hidden state [B, d] to ``may_exit`` (the decoding loop's rule, e.g.
        entropy and varentropy of the head's logits under thresholds for every row); when it
        says True, the remaining layers are skipped. Their KV cache still needs an entry for
        this position, so the exit layer's hidden state is projected into each skipped layer's
        keys and values (state propagation, as in CALM): one small matmul per skipped layer
        instead of its attention and MLP, and later steps see a cache of the right length.
        """
        key_valid = cache.extend_mask(valid)
        mask = attention_mask(x.shape[1], key_valid, causal=True)
        rope = self.rotary(positions)
        n_layers = len(self.blocks)
        last_check = n_layers - 2 if exit_layer < 0 else min(exit_layer, n_layers - 2)
        for index, block in enumerate(self.blocks):
            x = block(x, rope, mask, cache.layers[index])
            if index <= last_check:
                hidden = self.norm(x)
                if may_exit(hidden[:, -1]):
                    for skipped in range(index + 1, n_layers):
                        self.blocks[skipped].attn.fill_cache(
                            self.blocks[skipped].attn_norm(x), rope, cache.layers[skipped])
                    return hidden, index + 1
        return self.norm(x), n_layers

    def set_gradient_checkpointing(self, enabled: bool = True) -> None:
        self.gradient_checkpointing = enabled

    def level_logits(self, hidden: torch.Tensor, level: int) -> torch.Tensor:
        return self.heads[level](hidden)

    def stt_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        if self.stt_head is None:
            raise ValueError("this model was not trained for stt (model.tasks lacks 'stt')")
        return self.stt_head(hidden)

    # ----- training ---------------------------------------------------------------------
    def pack(self, sequences: list[torch.Tensor], targets: list[torch.Tensor],
             positions: list[torch.Tensor] | None = None) -> PackedBatch:
        """Right-pad; ``positions`` [L_i] per sequence (default: 0..L_i-1)."""
        lengths = torch.tensor([s.shape[0] for s in sequences])
        x = pad_sequence(sequences, batch_first=True)
        t = x.shape[1]
        valid = (torch.arange(t)[None, :] < lengths[:, None]).to(x.device)
        if positions is None:
            positions = torch.arange(t, dtype=torch.float32, device=x.device)[None, :].expand(len(sequences), t)
        else:
            positions = pad_sequence(positions, batch_first=True)
        padded_targets = pad_sequence(targets, batch_first=True, padding_value=IGNORE)
        return PackedBatch(x, valid, positions, padded_targets)

    def _require_durations(self, durations: list | None, n_items: int) -> list:
        if durations is None or len(durations) != n_items or any(d is None for d in durations):
            raise ValueError(f"model.alignment: {self.config.alignment} needs every item's phoneme "
                             "durations; "
                             "prepare the data from a corpus with teacher timings (or aligner output)")
        return durations

    def ar_loss(
        self, text: list, prompts: list, responses: list, probe: AttentionProbe | None = None,
        durations: list | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Next-code loss on level 0 with STOP at the end. Returns (loss, accuracy).

        With a ``probe``, the guided heads' scores and every item's spans are left in it for
        ``probe.loss()`` (the queries are the positions that predict frames 0..T-1 and STOP).
        A pointer model (``model.alignment: pointer``) reads ``durations`` (frames of [bos,
        phonemes, eos] per item) instead: no STOP, and the loss adds the duration head's
        cross-entropy at every token's first frame; ``last_ar_metrics`` keeps both parts.
        """
        if self.durations_mode is not None:
            return self._parallel_level0_loss(text, prompts, responses,
                                              self._require_durations(durations, len(text)))
        if self.pointer is not None:
            return self._pointer_ar_loss(text, prompts, responses,
                                         self._require_durations(durations, len(text)))
        sequences, targets, positions = [], [], []
        inputs = self._self_conditioned_inputs(text, prompts, responses)
        for text_ids, prompt, response, fed in zip(text, prompts, responses, inputs):
            prefix = self.tts_prefix(0, text_ids, prompt)
            seq = torch.cat([prefix, self.code_embeddings[0](self._noisy_inputs(fed))])
            positions.append(self.training_positions(text_ids, prompt, response))
            target = torch.full((seq.shape[0],), IGNORE, dtype=torch.long, device=seq.device)
            stop = torch.tensor([self.stop_token], device=seq.device)
            target[prefix.shape[0] - 1 :] = torch.cat([response[0], stop])
            sequences.append(seq)
            targets.append(target)
            if probe is not None:  # text after the mode token; queries from SEP on
                probe.spans.append(GuideSpan(1, len(text_ids), prefix.shape[0] - 1, response.shape[1] + 1))
        batch = self.pack(sequences, targets, positions)
        levels = [0] * len(text)
        weight = self.config.early_exit_loss
        if weight <= 0:
            hidden = self.hidden_states(batch.x, batch.positions, batch.valid, causal=True, probe=probe)
            return _scored(self.level_logits, hidden, batch.targets, levels)
        layers = self.hidden_states(batch.x, batch.positions, batch.valid, causal=True,
                                    all_layers=True, probe=probe)
        loss, accuracy = _scored(self.level_logits, layers[-1], batch.targets, levels)
        # early-exit loss: every intermediate layer learns to predict through the shared head
        early = [_scored(self.level_logits, h, batch.targets, levels)[0] for h in layers[:-1]]
        return loss + weight * torch.stack(early).mean(), accuracy

    def _pointer_ar_loss(self, text: list, prompts: list, responses: list, durations: list):
        """Level-0 codes of every frame, each frame's phoneme given, and every token's length
        predicted at its first frame.

        The input that predicts frame j (SEP for j = 0, then frame j-1's code) also carries
        frame j's conditioning, so the code and the length are predicted knowing the phoneme.
        """
        sequences, targets, positions, onsets, lengths = [], [], [], [], []
        for text_ids, prompt, response, dur in zip(text, prompts, responses, durations):
            prefix = self.tts_prefix(0, text_ids, prompt)
            cond = self.pointer.frames(text_ids, dur)
            fed = self.code_embeddings[0](self._noisy_inputs(response[0][:-1]))
            seq = torch.cat([prefix[:-1], prefix[-1:] + cond[:1], fed + cond[1:]])
            positions.append(self.training_positions(text_ids, prompt, response)[:-1])
            target = torch.full((seq.shape[0],), IGNORE, dtype=torch.long, device=seq.device)
            target[prefix.shape[0] - 1:] = response[0]
            sequences.append(seq)
            targets.append(target)
            onset, length = onset_targets(dur, self.config.max_duration_frames)
            onsets.append(onset + prefix.shape[0] - 1)
            lengths.append(length)
        batch = self.pack(sequences, targets, positions)
        hidden = self.hidden_states(batch.x, batch.positions, batch.valid, causal=True)
        levels = [0] * len(text)
        code_loss, accuracy = _scored(self.level_logits, hidden, batch.targets, levels)
        rows = torch.cat([torch.full_like(o, row) for row, o in enumerate(onsets)])
        dur_loss, dur_acc = duration_loss(self.duration_head(hidden[rows, torch.cat(onsets)]),
                                          torch.cat(lengths))
        self.last_ar_metrics = {"ar_code_loss": code_loss.detach(), "duration_loss": dur_loss.detach(),
                                "duration_acc": dur_acc.detach()}
        return code_loss + dur_loss, accuracy

    def _parallel_level0_loss(self, text: list, prompts: list, responses: list, durations: list):
        """``model.alignment: durations``: masked level-0 prediction plus the duration pass
        (``vall_e.models.parallel_level0``); ``last_ar_metrics`` keeps the parts."""
        if self.config.shared_prefix:
            (code_loss, accuracy), (dur_loss, dur_acc) = shared_prefix.level0_and_duration_losses(
                self, text, prompts, responses, durations)
        else:
            code_loss, accuracy = level0_loss(self, text, prompts, responses, durations)
            dur_loss, dur_acc = durations_loss(self, text, prompts, durations)
        self.last_ar_metrics = {"level0_loss": code_loss.detach(), "duration_loss": dur_loss.detach(),
                                "duration_acc": dur_acc.detach()}
        return code_loss + dur_loss, accuracy

    def ar_frame_logits(self, text: list, prompts: list, responses: list) -> list[torch.Tensor]:
        """Level-0 logits [T_i, codebook + 1] for every response frame, each predicted from the
        true frames before it (teacher forcing, clean inputs); one batched pass."""
        sequences, positions, starts = [], [], []
        for text_ids, prompt, response in zip(text, prompts, responses):
            prefix = self.tts_prefix(0, text_ids, prompt)
            sequences.append(torch.cat([prefix, self.code_embeddings[0](response[0])]))
            positions.append(self.training_positions(text_ids, prompt, response))
            starts.append(prefix.shape[0] - 1)  # the position that predicts frame 0
        unscored = [torch.full((s.shape[0],), IGNORE, dtype=torch.long, device=s.device) for s in sequences]
        batch = self.pack(sequences, unscored, positions)
        hidden = self.hidden_states(batch.x, batch.positions, batch.valid, causal=True)
        return [self.level_logits(hidden[row, start:start + response.shape[1]], 0)
                for row, (start, response) in enumerate(zip(starts, responses))]

    @torch.no_grad()
    def _self_conditioned_inputs(self, text: list, prompts: list, responses: list) -> list[torch.Tensor]:
        """Level-0 inputs per item: in training, ``model.ar_self_inputs`` of them replaced by
        codes sampled (temperature 1, STOP excluded) from the model's own teacher-forced
        predictions for those frames, as it would have fed itself when free-running."""
        share = self.config.ar_self_inputs
        if not self.training or share <= 0:
            return [response[0] for response in responses]
        inputs = []
        for logits, response in zip(self.ar_frame_logits(text, prompts, responses), responses):
            probs = torch.softmax(logits.float()[:, : self.codebook_size], -1)
            sampled = torch.multinomial(probs, 1)[:, 0]
            replaced = torch.rand(response.shape[1], device=response.device) < share
            inputs.append(torch.where(replaced, sampled, response[0]))
        return inputs

    def _noisy_inputs(self, codes: torch.Tensor) -> torch.Tensor:
        """Level-0 codes as the AR is fed them: in training, ``model.ar_input_noise`` of them
        replaced by random codes (the targets stay clean)."""
        noise = self.config.ar_input_noise
        if not self.training or noise <= 0:
            return codes
        replaced = torch.rand(codes.shape, device=codes.device) < noise
        random_codes = torch.randint_like(codes, self.codebook_size)
        return torch.where(replaced, random_codes, codes)

    def nar_frames(self, text_ids: torch.Tensor, codes: torch.Tensor, level: int,
                   durations: torch.Tensor | None = None) -> torch.Tensor:
        """The NAR's response inputs [T, d]: levels < ``level`` summed, plus each frame's
        phoneme conditioning for a pointer model."""
        frames = self.embed_frames(codes, level)
        if self.pointer is None:
            return frames
        if durations is None:
            raise ValueError(f"model.alignment: {self.config.alignment}: the NAR needs the phoneme "
                             "durations")
        return frames + self.pointer.frames(text_ids, durations)

    def nar_loss(
        self, text: list, prompts: list, responses: list, levels: list[int],
        durations: list | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Parallel loss on level k given levels < k, one k per item. Returns (loss, accuracy)."""
        sequences, targets, positions = [], [], []
        if self.pointer is not None:
            durations = self._require_durations(durations, len(text))
        if self.config.shared_prefix:
            hidden, packed = shared_prefix.nar_hidden(self, text, prompts, responses, levels, durations)
            return _scored(self.level_logits, hidden, packed, levels)
        durations = durations or [None] * len(text)
        for text_ids, prompt, response, level, dur in zip(text, prompts, responses, levels, durations):
            prefix = self.tts_prefix(level, text_ids, prompt)
            seq = torch.cat([prefix, self.nar_frames(text_ids, response, level, dur)])
            positions.append(self.training_positions(text_ids, prompt, response))
            target = torch.full((seq.shape[0],), IGNORE, dtype=torch.long, device=seq.device)
            target[prefix.shape[0] :] = response[level]
            sequences.append(seq)
            targets.append(target)
        batch = self.pack(sequences, targets, positions)
        hidden = self.hidden_states(batch.x, batch.positions, batch.valid, causal=False)
        return _scored(self.level_logits, hidden, batch.targets, levels)

    def stt_loss(self, audio: list, text: list) -> tuple[torch.Tensor, torch.Tensor]:
        """Next-phoneme loss from audio codes (speech-to-IPA). Returns (loss, accuracy)."""
        sequences, targets = [], []
        for codes, text_ids in zip(audio, text):
            prefix = self.stt_prefix(codes)
            seq = torch.cat([prefix, self.text_embedding(text_ids[:-1])])
            target = torch.full((seq.shape[0],), IGNORE, dtype=torch.long, device=seq.device)
            target[prefix.shape[0] :] = text_ids[1:]
            sequences.append(seq)
            targets.append(target)
        batch = self.pack(sequences, targets)
        hidden = self.hidden_states(batch.x, batch.positions, batch.valid, causal=True)
        scored = batch.targets != IGNORE
        logits = self.stt_logits(hidden[scored])
        return _loss_and_accuracy(logits, batch.targets[scored])


def _scored(head, hidden: torch.Tensor, targets: torch.Tensor, levels: list[int]):
    """Cross-entropy over scored positions, each item through the head of its level."""
    losses, correct, count = [], 0, 0
    level_tensor = torch.tensor(levels, device=hidden.device)
    for level in sorted(set(levels)):
        rows = level_tensor == level
        scored = targets[rows] != IGNORE
        logits = head(hidden[rows][scored], level)
        target = targets[rows][scored]
        losses.append(F.cross_entropy(logits.float(), target, reduction="sum"))
        correct += (logits.argmax(-1) == target).sum()
        count += target.numel()
    return torch.stack(losses).sum() / count, correct / count


def _loss_and_accuracy(logits: torch.Tensor, target: torch.Tensor):
    loss = F.cross_entropy(logits.float(), target)
    return loss, (logits.argmax(-1) == target).float().mean()
