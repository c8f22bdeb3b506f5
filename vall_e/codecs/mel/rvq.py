"""Residual k-means codebooks: K levels of C centroids, each level quantizing what the last left.

Contract: ``ResidualKMeans.encode(x[N, D]) -> [N, K]`` int64 (nearest centroid per level, on the
running residual) and ``decode(codes[N, k]) -> [N, D]`` (sum of the chosen centroids over the
first k levels). Fitting (``fit_residual_kmeans``) runs seeded mini-batch k-means level by level;
no gradients are involved, so the codebooks are fixed before the vocoder is trained on them.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch

_CHUNK = 4096  # rows per distance block: bounds memory to chunk x C floats


def nearest(x: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """Index of the nearest centroid (squared L2) for each row of ``x``: [N, D], [C, D] -> [N]."""
    half_norms = 0.5 * (centroids * centroids).sum(-1)
    out = []
    for block in x.split(_CHUNK):
        # argmin ||x - c||^2 == argmax (x.c - |c|^2 / 2); |x|^2 is the same for every c
        out.append((block @ centroids.T - half_norms).argmax(-1))
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long, device=x.device)


class ResidualKMeans(torch.nn.Module):
    """Fixed codebooks [K, C, D]; a buffer so it moves with ``.to`` and sits in the state dict."""

    def __init__(self, codebooks: torch.Tensor) -> None:
        super().__init__()
        if codebooks.dim() != 3:
            raise ValueError(f"codebooks must be [levels, size, dim], got {tuple(codebooks.shape)}")
        self.register_buffer("codebooks", codebooks.float().contiguous())

    @property
    def levels(self) -> int:
        return self.codebooks.shape[0]

    @property
    def size(self) -> int:
        return self.codebooks.shape[1]

    @property
    def dim(self) -> int:
        return self.codebooks.shape[2]

    def encode(self, x: torch.Tensor, levels: Optional[int] = None) -> torch.Tensor:
        """[N, D] -> [N, levels] codes, greedy level by level on the residual."""
        residual = x.float()
        codes = []
        for book in self.codebooks[: levels or self.levels]:
            idx = nearest(residual, book)
            residual = residual - book[idx]
            codes.append(idx)
        return torch.stack(codes, dim=-1)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """[..., k] codes (k <= levels) -> [..., D]: the sum of the chosen centroids."""
        out = torch.zeros(*codes.shape[:-1], self.dim, device=self.codebooks.device)
        for level in range(codes.shape[-1]):
            out = out + self.codebooks[level][codes[..., level]]
        return out


def kmeans_plus_plus(x: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """k-means++ seeding: each new centre drawn with probability proportional to d^2."""
    centers = [x[torch.randint(len(x), (1,), generator=generator)].squeeze(0)]
    d2 = ((x - centers[0]) ** 2).sum(-1)
    for _ in range(1, k):
        # all-equal points (d2 == 0 everywhere) still need k centres: fall back to uniform
        weights = d2 if float(d2.sum()) > 0 else torch.ones_like(d2)
        pick = x[torch.multinomial(weights, 1, generator=generator)].squeeze(0)
        centers.append(pick)
        d2 = torch.minimum(d2, ((x - pick) ** 2).sum(-1))
    return torch.stack(centers)


def minibatch_kmeans(x: torch.Tensor, k: int, iterations: int, batch: int,
                     generator: torch.Generator) -> torch.Tensor:
    """Sculley's mini-batch k-means: per-centre step 1/count; unused centres are re-seeded."""
    seed_pool = x[torch.randperm(len(x), generator=generator)[: max(8 * k, k)]]
    centers = kmeans_plus_plus(seed_pool, k, generator)
    counts = torch.zeros(k)
    for it in range(iterations):
        sample = x[torch.randint(len(x), (min(batch, len(x)),), generator=generator)]
        idx = nearest(sample, centers)
        hits = torch.bincount(idx, minlength=k).float()
        sums = torch.zeros_like(centers).index_add_(0, idx, sample)
        counts += hits
        used = hits > 0
        rate = (hits[used] / counts[used])[:, None]  # = batch share of all points seen so far
        centers[used] = (1 - rate) * centers[used] + rate * sums[used] / hits[used, None]
        if it % 10 == 9 and it < iterations - 1:
            # a centre nobody picked is wasted code space: move it onto a random point
            dead = counts == 0
            if dead.any():
                centers[dead] = sample[torch.randint(len(sample), (int(dead.sum()),),
                                                     generator=generator)]
    return centers


def fit_residual_kmeans(x: torch.Tensor, levels: int, size: int, iterations: int, batch: int,
                        seed: int = 0,
                        progress: Optional[Callable[[int], None]] = None) -> ResidualKMeans:
    """Fit ``levels`` codebooks of ``size`` centroids on rows of ``x`` [N, D], level by level."""
    if len(x) < size:
        raise ValueError(f"k-means needs at least {size} frames for {size} codes, got {len(x)}")
    generator = torch.Generator().manual_seed(seed)
    residual = x.float().clone()
    books = []
    for level in range(levels):
        book = minibatch_kmeans(residual, size, iterations, batch, generator)
        residual -= book[nearest(residual, book)]
        books.append(book)
        if progress:
            progress(level)
    return ResidualKMeans(torch.stack(books))
