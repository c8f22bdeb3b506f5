"""The shared-prefix layout of a durations model (``model.shared_prefix: true``).

A durations model (``vall_e.models.parallel_level0``) runs about a dozen passes per sentence
(durations, ``level0_steps`` masked passes, one NAR pass per level) and in the first layout
every pass re-reads the whole ``[mode] [text] [prompt] [SEP]`` prefix, because the prefix
attends to the frames and its states change with them. On a 2-core CPU that made the first
audio of a stream wait ~0.8 s. Here the prefix attends only to itself:

    prefix  [text] [prompt frames] [SEP]      bidirectional among themselves only
    a pass  [mode k] [frames a .. b-1]        bidirectional, and sees the whole prefix

so it is encoded once per sentence: the duration head reads its text positions directly (no
duration pass), and every later pass attends to its cached keys and costs only its own frames.
A pass may hold any window of frames (its positions are the frames' own), so a stream decodes
the first second with its left context and lookahead, not the whole sentence, and training cuts
a share of items to random windows (``model.frame_crop_probability``) so windows are familiar.

Positions: the text sits at the config's average pace (``(k - 0.5) x text_position_rate``), as
in the duration pass of the first layout, since the real pace is not known when the prefix is
encoded; frames keep positions 1, 2, ... and carry their phoneme in their conditioning. nn only.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from vall_e.models.parallel_level0 import IGNORE, training_masks
from vall_e.models.pointer import duration_loss, onset_targets

MIN_CROP_FRAMES = 25  # half a second at 50 Hz: shorter windows teach nothing a stream needs


def voice_vector(model, prompt: torch.Tensor) -> torch.Tensor | None:
    """The prompt's voice vector [d] (``model.voice_dim``), or None for a model without one."""
    return None if model.voice is None else model.voice(prompt)


def prefix_sequence(model, text_ids: torch.Tensor, prompt: torch.Tensor,
                    voice: torch.Tensor | None = None) -> torch.Tensor:
    """[text] [prompt frames] [SEP] -> [L, d]; text token k sits at row k. ``voice``: the
    prompt's ``voice_vector``, added to every position (computed here when not given)."""
    parts = [model.text_embedding(text_ids)]
    if prompt.shape[-1] > 0:
        parts.append(model.embed_frames(prompt))
    parts.append(model.special(model.sep_id))
    prefix = torch.cat(parts)
    if model.voice is not None:
        prefix = prefix + (voice_vector(model, prompt) if voice is None else voice)
    return prefix if model.speaker_offset is None else prefix + model.speaker_offset


def prefix_positions(model, n_text: int, n_prompt: int) -> torch.Tensor:
    """Rotary positions [n_text + n_prompt + 1] of ``prefix_sequence`` (see ``tts_positions``:
    the same spans at the config's average pace, without the mode token)."""
    full = model.tts_positions(n_text, n_prompt, 0)
    return full[1:]


def pass_positions(model, n_text: int, n_prompt: int, first_frame: int, n_frames: int) -> torch.Tensor:
    """Positions [1 + n_frames] of ``[mode] [frames first_frame ..]``: the mode where the first
    layout had it, frame j at j + 1 (SEP holds 0)."""
    mode = model.tts_positions(n_text, n_prompt, 0)[:1]
    frames = torch.arange(first_frame + 1, first_frame + 1 + n_frames, dtype=torch.float32,
                          device=mode.device)
    return torch.cat([mode, frames])


def mode_token(model, level: int) -> torch.Tensor:
    """[1, d]: the pass's mode (the level it predicts), with the speaker offset if any."""
    token = model.special(level)
    return token if model.speaker_offset is None else token + model.speaker_offset


def frame_conditioning(model, text_ids: torch.Tensor, durations: torch.Tensor, start: int,
                       end: int, voice: torch.Tensor | None = None) -> torch.Tensor:
    """Phoneme conditioning [end - start, d] of frames start..end-1, plus the prompt's
    ``voice`` vector on every frame when the model has one."""
    conditioning = model.pointer.frames(text_ids, durations)[start:end]
    return conditioning if voice is None else conditioning + voice


def level0_inputs(model, conditioning: torch.Tensor, codes: torch.Tensor,
                  masked: torch.Tensor) -> torch.Tensor:
    """Level-0 pass frame inputs [T, d]: ``codes``/``masked`` [T] of a window's frames (the
    MASK vector where masked), plus their ``conditioning`` [T, d] (``frame_conditioning``)."""
    known = model.code_embeddings[0](codes.clamp(0, model.codebook_size - 1))
    frames = torch.where(masked[:, None], model.durations_mode.mask.to(known.dtype), known)
    return frames + conditioning


def nar_inputs(model, conditioning: torch.Tensor, codes: torch.Tensor, level: int) -> torch.Tensor:
    """NAR pass frame inputs [T, d]: levels < ``level`` of a window's ``codes`` [K, T], plus
    their ``conditioning`` [T, d]."""
    return model.embed_frames(codes, level) + conditioning


def _item(model, text_ids: torch.Tensor, prompt: torch.Tensor, durations: torch.Tensor,
          start: int, end: int):
    """What every training pass over frames start..end-1 of one item needs: its prefix, the
    prefix's positions, the pass's positions and the frames' conditioning."""
    voice = voice_vector(model, prompt)
    if voice is not None and model.training and float(torch.rand(())) < model.config.voice_prompt_dropout:
        prompt = prompt[:, :0]  # the voice from the vector alone (model.voice_prompt_dropout)
    n_text, n_prompt = len(text_ids), prompt.shape[-1]
    return (prefix_sequence(model, text_ids, prompt, voice), prefix_positions(model, n_text, n_prompt),
            pass_positions(model, n_text, n_prompt, start, end - start),
            frame_conditioning(model, text_ids, durations, start, end, voice))


def crop_window(length: int, probability: float, generator: torch.Generator | None = None):
    """(start, end) of the frames an item trains on: all of them, or with ``probability`` a
    random window of at least ``MIN_CROP_FRAMES`` (uniform length, then uniform start)."""
    if length <= MIN_CROP_FRAMES or float(torch.rand((), generator=generator)) >= probability:
        return 0, length
    size = int(torch.randint(MIN_CROP_FRAMES, length + 1, (), generator=generator))
    start = int(torch.randint(0, length - size + 1, (), generator=generator))
    return start, start + size


def _forward(model, prefixes: list, passes: list, prefix_pos: list, pass_pos: list, targets: list):
    """One forward over ``[prefix] [pass]`` rows with the prefix isolated; returns the hidden
    states and the packed targets (IGNORE in the prefix)."""
    sequences = [torch.cat([p, q]) for p, q in zip(prefixes, passes)]
    positions = [torch.cat([p, q]) for p, q in zip(prefix_pos, pass_pos)]
    full_targets = [torch.cat([torch.full((p.shape[0],), IGNORE, dtype=torch.long, device=p.device), t])
                    for p, t in zip(prefixes, targets)]
    batch = model.pack(sequences, full_targets, positions)
    isolated = torch.tensor([p.shape[0] for p in prefixes], device=batch.x.device)
    hidden = model.hidden_states(batch.x, batch.positions, batch.valid, causal=False,
                                 isolated_prefix=isolated)
    return hidden, batch.targets


def _windows(model, lengths: list[int]) -> list[tuple[int, int]]:
    probability = model.config.frame_crop_probability if model.training else 0.0
    return [crop_window(length, probability) for length in lengths]


def level0_and_duration_losses(model, text: list, prompts: list, responses: list, durations: list):
    """One forward: the duration head at the prefix's text positions, the level-0 head at the
    masked frames of each item's (possibly cropped) window. Returns
    ((level-0 loss, accuracy), (duration loss, within-one-frame share))."""
    windows = _windows(model, [r.shape[-1] for r in responses])
    masks = training_masks([end - start for start, end in windows], responses[0].device)
    prefixes, prefix_pos, passes, pass_pos, targets = [], [], [], [], []
    for text_ids, prompt, response, dur, (start, end), masked in zip(
            text, prompts, responses, durations, windows, masks):
        codes = response[0, start:end]
        prefix, positions, window_positions, conditioning = _item(model, text_ids, prompt, dur,
                                                                  start, end)
        prefixes.append(prefix)
        prefix_pos.append(positions)
        passes.append(torch.cat([mode_token(model, 0),
                                 level0_inputs(model, conditioning, codes, masked)]))
        pass_pos.append(window_positions)
        target = torch.where(masked, codes, torch.full_like(codes, IGNORE))
        targets.append(torch.cat([torch.full((1,), IGNORE, dtype=torch.long, device=codes.device), target]))
    hidden, packed_targets = _forward(model, prefixes, passes, prefix_pos, pass_pos, targets)
    scored = packed_targets != IGNORE
    logits = model.level_logits(hidden[scored], 0).float()
    target = packed_targets[scored]
    level0 = (F.cross_entropy(logits, target), (logits.argmax(-1) == target).float().mean())
    duration_logits = torch.cat([model.duration_head(hidden[row, :len(t)]) for row, t in enumerate(text)])
    classes = torch.cat([onset_targets(d, model.config.max_duration_frames)[1] for d in durations])
    return level0, duration_loss(duration_logits, classes)


def nar_hidden(model, text: list, prompts: list, responses: list, levels: list[int], durations: list):
    """One forward for the NAR: level k of each item's (possibly cropped) window given levels
    < k, one k per item. Returns (hidden [B, L, d], targets [B, L]: level k's codes at the
    window's frames, IGNORE elsewhere) for ``ARNARModel``'s per-level scoring."""
    windows = _windows(model, [r.shape[-1] for r in responses])
    prefixes, prefix_pos, passes, pass_pos, targets = [], [], [], [], []
    for text_ids, prompt, response, level, dur, (start, end) in zip(
            text, prompts, responses, levels, durations, windows):
        codes = response[:, start:end]
        prefix, positions, window_positions, conditioning = _item(model, text_ids, prompt, dur,
                                                                  start, end)
        prefixes.append(prefix)
        prefix_pos.append(positions)
        passes.append(torch.cat([mode_token(model, level), nar_inputs(model, conditioning, codes, level)]))
        pass_pos.append(window_positions)
        targets.append(torch.cat([torch.full((1,), IGNORE, dtype=torch.long, device=codes.device),
                                  codes[level]]))
    return _forward(model, prefixes, passes, prefix_pos, pass_pos, targets)
