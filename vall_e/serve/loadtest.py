"""A bounded load on a running server: N requests from C concurrent clients, each timed.

Used by ``scripts/bench_serve.py`` and the load test. Loopback only (the caller passes the
URL of a server it started itself); it sends exactly ``n_requests`` and stops.
"""
from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlparse

import httpx


@dataclass
class Result:
    index: int
    status: int
    first_byte: float  # seconds from sending to the first body byte
    seconds: float  # seconds from sending to the last byte
    body: bytes
    sample_rate: int

    @property
    def audio_seconds(self) -> float:
        """Length of a pcm or wav answer (44-byte header) in seconds."""
        n = len(self.body) - (44 if self.body[:4] == b"RIFF" else 0)
        return max(0, n) / 2 / self.sample_rate


def _one(client: httpx.Client, url: str, index: int, body: dict) -> Result:
    start = time.perf_counter()
    first = None
    parts = []
    with client.stream("POST", url + "/v1/audio/speech", json=body) as response:
        for part in response.iter_raw():
            if first is None:
                first = time.perf_counter() - start
            parts.append(part)
        rate = int(response.headers.get("x-sample-rate", "24000"))
    end = time.perf_counter() - start
    return Result(index, response.status_code, first if first is not None else end, end,
                  b"".join(parts), rate)


def run_load(url: str, make_body, n_requests: int, concurrency: int,
             timeout: float = 600.0) -> list[Result]:
    """``make_body(i)`` is request i's JSON; results come back in request order."""
    if urlparse(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("the load runs against this machine's loopback only")
    with ThreadPoolExecutor(concurrency) as pool:
        clients = [httpx.Client(timeout=timeout) for _ in range(concurrency)]
        try:
            futures = [pool.submit(_one, clients[i % concurrency], url, i, make_body(i))
                       for i in range(n_requests)]
            return [f.result() for f in futures]
        finally:
            for client in clients:
                client.close()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation, as numpy's default."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if 0 < q < 100 \
        else (min(values) if q <= 0 else max(values))
