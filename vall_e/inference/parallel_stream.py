"""Streaming a durations model (``model.alignment: durations``): codes first, audio in windows.

A durations model has every code of a sentence after about a dozen parallel passes (the
duration pass, ``level0_steps`` masked passes, one NAR pass per level), well before a codec
could decode the whole sentence. What remains to stream is the decode: the codes go through
a ``StreamingDecoder`` (left context, the codec's own lookahead) in windows, the first one
``first_frames`` long, so the first audio waits for one small decode, not the sentence's. The
audio equals the one-pass decode up to the decoder's window edges (exact for ``mel_rvq``,
whose lookahead the decoder honours), so streamed and one-pass audio score the same.
"""
from __future__ import annotations

from collections.abc import Iterator

import torch

from vall_e.inference.streaming import StreamingDecoder


def stream_codes(codec, codes: torch.Tensor, levels: int, first_frames: int = 4,
                 chunk_frames: int = 25) -> Iterator[torch.Tensor]:
    """Audio chunks [S] of ``codes`` [levels, T]: the first after ``first_frames`` frames."""
    decoder = StreamingDecoder(codec, chunk_frames=1, levels=levels)
    done, window = 0, first_frames + decoder.lookahead
    total = codes.shape[1]
    while done < total:
        audio = decoder.push(codes[:, done:done + window])
        done, window = done + window, chunk_frames
        if audio is not None and audio.numel():
            yield audio
    tail = decoder.flush()
    if tail is not None and tail.numel():
        yield tail
