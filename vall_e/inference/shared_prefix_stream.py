"""Streaming within a sentence from a shared-prefix durations model (``model.shared_prefix``).

The prefix pass gives the sentence's length up front; the codes then come window by window
(``shared_prefix_decode.fill_window``): the first window commits ``first_frames`` frames, each
later one ``chunk_frames``, every window sees up to ``context_frames`` committed frames on its
left and draws ``lookahead_frames`` more on its right (redrawn by the next window) so the
committed frames' right neighbours exist. A window costs about a dozen passes over its own
frames against the cached prefix, so the first audio waits for the prefix pass, one small
window and one small codec decode (the decoder's exact lookahead, 15 frames for ``mel_rvq``,
is why the first window commits more than the first chunk needs).
"""
from __future__ import annotations

from collections.abc import Iterator

import torch

from vall_e.inference.shared_prefix_decode import Window, durations, encode_prefix, fill_window
from vall_e.inference.streaming import StreamingDecoder
from vall_e.sampling import TokenSampler


def stream_sentence_codes(model, text_ids: torch.Tensor, prompt: torch.Tensor,
                          ar_sampler: TokenSampler, nar_sampler: TokenSampler, n_levels: int,
                          speed: float = 1.0, max_frames: int | None = None,
                          first_frames: int = 24, chunk_frames: int = 50, context_frames: int = 50,
                          lookahead_frames: int = 12, first_steps: int | None = None,
                          passer=None, nar_prompt: torch.Tensor | None = None,
                          ) -> Iterator[torch.Tensor]:
    """Committed codes [n_levels, n] of one sentence, window by window, in order.
    ``first_steps``: level-0 passes of the first window only (default: the model's
    ``level0_steps``); fewer make the first audio come sooner. ``passer``: compiled passes
    (``vall_e.compile.FramePasser``). ``nar_prompt``: the NAR's voice prompt, if not ``prompt``."""
    if min(first_frames, chunk_frames) < 1 or min(context_frames, lookahead_frames) < 0:
        raise ValueError("window sizes must be >= 1 (first, chunk) and >= 0 (context, lookahead)")
    prefix = encode_prefix(model, [text_ids], [prompt], passer)
    (lengths,) = durations(model, prefix, speed, max_frames)
    nar_prefix = None if nar_prompt is None else encode_prefix(model, [text_ids], [nar_prompt], passer)
    total = int(lengths.sum())
    codes = torch.zeros(n_levels, total, dtype=torch.long, device=text_ids.device)
    committed, size = 0, first_frames
    while committed < total:
        end = min(total, committed + size)
        window = Window(max(0, committed - context_frames), committed,
                        min(total, end + lookahead_frames))
        fill_window(model, prefix, [text_ids], [lengths], [codes], [window], ar_sampler,
                    nar_sampler, n_levels, first_steps if committed == 0 else None,
                    nar_prefix=nar_prefix)
        yield codes[:, committed:end].clone()
        committed, size = end, chunk_frames


def stream_sentence_audio(model, codec, text_ids: torch.Tensor, prompt: torch.Tensor,
                          ar_sampler: TokenSampler, nar_sampler: TokenSampler, n_levels: int,
                          speed: float = 1.0, max_frames: int | None = None,
                          first_steps: int | None = None, lookahead_frames: int | None = None,
                          passer=None, nar_prompt: torch.Tensor | None = None,
                          ) -> Iterator[torch.Tensor]:
    """Audio chunks [S] of one sentence as each window's codes are decoded. ``first_steps``
    (see ``stream_sentence_codes``) trades the first window's quality for an earlier first
    chunk; the engine keeps the model's own count (docs/serve.md has the measured trade).
    ``lookahead_frames``, ``nar_prompt``: see ``stream_sentence_codes`` (None: its default)."""
    window = {} if lookahead_frames is None else {"lookahead_frames": lookahead_frames}
    decoder = StreamingDecoder(codec, chunk_frames=1, levels=n_levels)
    for codes in stream_sentence_codes(model, text_ids, prompt, ar_sampler, nar_sampler, n_levels,
                                       speed, max_frames, first_steps=first_steps,
                                       passer=passer, nar_prompt=nar_prompt, **window):
        audio = decoder.push(codes)
        if audio is not None and audio.numel():
            yield audio
    tail = decoder.flush()
    if tail is not None and tail.numel():
        yield tail
