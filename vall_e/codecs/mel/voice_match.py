"""Moving generated speech toward the reference's own frames (k-nearest-neighbour matching).

Two ways (``inference.voice_match_levels``):

* ``fine`` (``match_fine_levels``): level 0 of each frame, where the words are, stays as
  generated; only what the finer levels add moves toward what the finer levels add to the
  reference frames whose level 0 sounds most like this frame's. The residual levels carry the
  detail of a voice given its coarse spectrum, so the voice moves and the content does not.
* ``all`` (``match_voice``): the whole log-mel frame moves, as described next.

kNN-VC (Baas et al., 2023) converts a voice by replacing each frame of the source with the mean
of its nearest frames of the target speaker. Here the same idea runs in ``mel_rvq``'s log-mel
space, before the vocoder, and only part of the way: each generated frame is compared (cosine,
with the frame's mean level removed, so loudness does not decide) with every frame of the
reference, and moved ``strength`` of the way toward the mean of its ``neighbours`` nearest. The
nearest frames of the same speaker mostly voice the same or a similar sound, so the frame keeps
what is said and takes on more of how this voice says it. A clone's voice comes only through
attention to a few seconds of prompt codes; this hands it the reference's spectra directly.
"""
from __future__ import annotations

import torch

NEIGHBOURS = 4  # reference frames averaged per generated frame


def _directions(mel: torch.Tensor) -> torch.Tensor:
    """[M, T] log-mel -> [T, M] unit vectors of each frame without its mean level."""
    frames = (mel - mel.mean(dim=0, keepdim=True)).T
    return frames / frames.norm(dim=1, keepdim=True).clamp(min=1e-5)


def match_voice(mel: torch.Tensor, reference: torch.Tensor, strength: float,
                neighbours: int = NEIGHBOURS) -> torch.Tensor:
    """Log-mel [B, M, T] moved ``strength`` (0..1) of the way toward, frame by frame, the mean
    of the ``neighbours`` nearest frames of ``reference`` [M, Tr]."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"voice match strength must be in [0, 1], got {strength}")
    if mel.dim() != 3 or reference.dim() != 2 or reference.shape[0] != mel.shape[1]:
        raise ValueError(f"mel [B, M, T] and reference [M, Tr] must share M, got "
                         f"{tuple(mel.shape)} and {tuple(reference.shape)}")
    if strength == 0.0 or reference.shape[1] == 0:
        return mel
    reference = reference.to(mel.dtype)
    targets = _directions(reference)
    k = min(neighbours, reference.shape[1])
    out = []
    for item in mel:
        nearest = (_directions(item) @ targets.T).topk(k, dim=1).indices  # [T, k]
        matched = reference.T[nearest].mean(dim=1).T  # [M, T]
        out.append(item + strength * (matched - item))
    return torch.stack(out)


def match_fine_levels(frames: torch.Tensor, coarse: torch.Tensor, reference: torch.Tensor,
                      reference_coarse: torch.Tensor, strength: float,
                      neighbours: int = NEIGHBOURS) -> torch.Tensor:
    """Codec frames [T, D] (the sum of every decoded level) with what their finer levels add
    (``frames - coarse``, ``coarse`` = level 0 alone) moved ``strength`` (0..1) of the way toward
    the mean of what the finer levels add to the ``neighbours`` reference frames [Tr, D] whose
    level 0 (``reference_coarse``) is nearest (L2) this frame's. Level 0 is never changed."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"voice match strength must be in [0, 1], got {strength}")
    if (frames.shape != coarse.shape or reference.shape != reference_coarse.shape
            or frames.dim() != 2 or reference.dim() != 2 or frames.shape[1] != reference.shape[1]):
        raise ValueError(f"frames and coarse [T, D], reference and its coarse [Tr, D] must "
                         f"share D, got {tuple(frames.shape)}, {tuple(coarse.shape)}, "
                         f"{tuple(reference.shape)} and {tuple(reference_coarse.shape)}")
    if strength == 0.0 or reference.shape[0] == 0 or frames.shape[0] == 0:
        return frames
    k = min(neighbours, reference.shape[0])
    nearest = torch.cdist(coarse.float(), reference_coarse.float()).topk(k, dim=1, largest=False).indices
    target_fine = (reference - reference_coarse)[nearest].mean(dim=1)  # [T, D]
    return frames + strength * (target_fine.to(frames.dtype) - (frames - coarse))
