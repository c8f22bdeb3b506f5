"""Audio within a sentence from a pointer model (``model.alignment: pointer``).

The NAR reads whole level-0 sequences, which is why an unaligned AR+NAR can only stream
sentence by sentence. A pointer model's NAR also knows each frame's phoneme, so it can fill a
window of finished level-0 frames early: as soon as ``first_frames`` frames (then every
``chunk_frames``) are out of the AR, the NAR runs over every frame so far (left context) with
the durations the pointer has produced so far, the newest ``nar_lookahead`` frames are held back
(the NAR looks right), and the new frames' codes go to a ``StreamingDecoder``, which decodes a
window with its own left context and lookahead. The first audio therefore waits for
``first_frames + nar_lookahead`` AR steps plus one NAR pass and one small decode, not for the
sentence. ``codec_lookahead`` (default: the codec's exact one, 15 frames for ``mel_rvq``)
trades exactness at window edges for an earlier first chunk.
"""
from __future__ import annotations

from collections.abc import Iterator

import torch

from vall_e.inference.ar_nar_decode import generate_nar
from vall_e.inference.pointer_decode import pointer_steps
from vall_e.inference.streaming import StreamingDecoder
from vall_e.sampling import TokenSampler


def stream_sentence(engine, text_ids: torch.Tensor, prompt: torch.Tensor, params, settings,
                    levels: int, generator, rate: float | None = None, first_frames: int = 4,
                    chunk_frames: int = 25, nar_lookahead: int = 4,
                    codec_lookahead: int | None = None,
                    nar_prompt: torch.Tensor | None = None,
                    codec=None) -> Iterator[torch.Tensor]:
    """Audio chunks [S] of one sentence, the first after ``first_frames + nar_lookahead``
    frames. ``engine``: an ARNAREngine (model, codec); the rest as ``ARNAREngine.synthesize``;
    ``nar_prompt``: the NAR's voice prompt, if not ``prompt``; ``codec``: the one that decodes
    (default the engine's)."""
    model, codec = engine.model, codec or engine.codec
    ar_sampler = TokenSampler(params, "ar", generator, stop_token=model.stop_token)
    nar_sampler = TokenSampler(params, "nar", generator)
    decoder = StreamingDecoder(codec, chunk_frames=1, levels=levels, lookahead_frames=codec_lookahead)
    codes0, spoken = [], []
    # the decoder holds back its own lookahead: the first NAR pass must cover it too, or the
    # first audio waits for the second pass
    done, due = 0, first_frames + decoder.lookahead
    for step in pointer_steps(model, [text_ids], [prompt], ar_sampler, settings.max_ar_steps,
                              engine.effective_speed(params), [rate]):
        if int(step.positions[0]) < len(text_ids) and len(codes0) < int(step.caps[0]):
            codes0.append(step.tokens[0])
            spoken.append(step.positions[0])
        final = bool(step.finished[0])
        ready = len(codes0) if final else len(codes0) - nar_lookahead
        if ready <= done or (ready - done < due and not final):
            continue
        durations = torch.bincount(torch.stack(spoken), minlength=len(text_ids))
        (codes,) = generate_nar(model, [text_ids], [prompt if nar_prompt is None else nar_prompt],
                                [torch.stack(codes0)], nar_sampler,
                                n_levels=levels, durations=[durations])
        audio = decoder.push(codes[:, done:ready])
        done, due = ready, chunk_frames
        if audio is not None and audio.numel():
            yield audio
    tail = decoder.flush()
    if tail is not None and tail.numel():
        yield tail
