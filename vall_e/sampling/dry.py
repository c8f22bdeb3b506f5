"""Match lengths for DRY sampling: which token would extend a repeat, and how long a repeat.

``dry_match_lengths(tokens)`` answers, for every token c, the longest n such that the last n
tokens also occurred earlier, immediately followed by c. It runs one Z-function over the
reversed history: Z[k] of the reversed sequence is the longest common suffix of the whole
history and its prefix that ends k tokens earlier, and the token right after that prefix is the
candidate. O(t) time per call (each position is compared a constant number of times amortized),
exact, and independent of how long the repeats are — a degenerate loop (the same code over and
over, the case DRY exists for) costs the same as varied speech.
"""
from __future__ import annotations


def z_function(sequence: list[int]) -> list[int]:
    """z[k] = length of the longest common prefix of ``sequence`` and ``sequence[k:]`` (z[0] = 0)."""
    n = len(sequence)
    z = [0] * n
    left = right = 0  # [left, right) is the rightmost window known to match a prefix
    for k in range(1, n):
        length = min(right - k, z[k - left]) if k < right else 0
        while k + length < n and sequence[length] == sequence[k + length]:
            length += 1
        z[k] = length
        if k + length > right:
            left, right = k, k + length
    return z


def dry_match_lengths(tokens: list[int]) -> dict[int, int]:
    """{candidate token: longest suffix of ``tokens`` that earlier preceded that token} (n > 0 only).

    A candidate at position i (i < len(tokens)) scores the longest common suffix of
    ``tokens[:i]`` and ``tokens``; overlapping occurrences count, as in the DRY reference.
    """
    reversed_tokens = tokens[::-1]
    z = z_function(reversed_tokens)
    longest: dict[int, int] = {}
    for k in range(1, len(reversed_tokens)):
        if z[k]:
            candidate = reversed_tokens[k - 1]  # the token right after the earlier occurrence
            if z[k] > longest.get(candidate, 0):
                longest[candidate] = z[k]
    return longest
