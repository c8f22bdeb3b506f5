"""Incremental codec decoding: code frames arrive one at a time, audio leaves in chunks.

``StreamingDecoder.push(frames)`` stores new frames and, once ``chunk_frames`` new frames are
ready, decodes a window of the codes and returns the audio of the frames not emitted yet;
``flush()`` returns the rest. The window reaches ``context_frames`` back into audio already
emitted (so the decoder sees the same left context it would in one pass) and the newest
``lookahead_frames`` are held back until more frames arrive (non-causal decoders look right).

Why the chunks add up to the one-pass audio: a decoder whose output at frame t depends only
on frames [t - context, t + lookahead] gives the same samples for the emitted frames whether
it sees the whole sequence or the window. EnCodec at 24 kHz is causal (lookahead 0) and
matches to float precision with about 20 frames of context; ``context_frames=None`` decodes
the whole prefix each time (exact for any decoder with finite lookahead, but quadratic).
"""
from __future__ import annotations

import torch

from vall_e.codecs.base import AudioCodec


class StreamingDecoder:
    def __init__(self, codec: AudioCodec, chunk_frames: int, context_frames: int | None = 32,
                 lookahead_frames: int | None = None, levels: int | None = None):
        if chunk_frames < 1:
            raise ValueError(f"chunk_frames must be >= 1, got {chunk_frames}")
        if context_frames is not None and context_frames < 0:
            raise ValueError(f"context_frames must be >= 0 or None, got {context_frames}")
        self.codec = codec
        self.levels = levels  # decode only the first ``levels`` code levels (residual codecs)
        self.chunk_frames = chunk_frames
        self.context_frames = context_frames
        self.lookahead = (getattr(codec, "streaming_lookahead_frames", 1)
                          if lookahead_frames is None else lookahead_frames)
        self.hop = codec.hop_length
        self.frames: list[torch.Tensor] = []  # [K, n] pieces
        self.total = 0  # frames received
        self.emitted = 0  # frames whose audio has been returned

    def push(self, frames: torch.Tensor) -> torch.Tensor | None:
        """Add codes [K, n]; return a chunk of audio [S] when enough frames are ready."""
        if frames.numel():
            self.frames.append(frames)
            self.total += frames.shape[1]
        ready = self.total - self.lookahead
        if ready - self.emitted < self.chunk_frames:
            return None
        return self._emit(ready)

    def flush(self) -> torch.Tensor | None:
        """Audio of every frame not emitted yet (None when there is none)."""
        if self.total == self.emitted:
            return None
        return self._emit(self.total)

    def _emit(self, until: int) -> torch.Tensor:
        codes = torch.cat(self.frames, dim=1)
        start = 0 if self.context_frames is None else max(0, self.emitted - self.context_frames)
        audio = self.codec.decode_first(codes[None, :, start:], self.levels)[0]
        chunk = audio[(self.emitted - start) * self.hop:(until - start) * self.hop]
        self.emitted = until
        if self.context_frames is not None:  # keep only the codes a later window can reach
            keep_from = max(0, until - self.context_frames - self.lookahead)
            if keep_from > 0:
                self.frames = [codes[:, keep_from:]]
                self._offset_frames(keep_from)
        return chunk.float().cpu()

    def _offset_frames(self, dropped_before: int) -> None:
        # frame counts are relative to the first stored frame; shift them past the discarded ones
        self.total -= dropped_before
        self.emitted -= dropped_before
