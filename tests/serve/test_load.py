"""A bounded load: 50 requests from 8 concurrent clients, all answered, none lost or mixed up."""
import io

import httpx
import pytest
import soundfile as sf

from vall_e.serve.loadtest import percentile, run_load

pytestmark = pytest.mark.slow


def body(i: int) -> dict:
    return {"input": f"Request number {i}.", "voice": ["kumo", "alpha", "blend16"][i % 3],
            "response_format": "wav", "seed": i}


def test_fifty_requests_from_eight_clients(server):
    before = server.stats()
    results = run_load(server.url, body, n_requests=50, concurrency=8, timeout=300)
    assert [r.index for r in results] == list(range(50))
    assert all(r.status == 200 and r.body[:4] == b"RIFF" and r.audio_seconds > 0
               for r in results), [(r.index, r.status, r.body[:200], r.audio_seconds) for r in results
                                   if r.status != 200 or r.audio_seconds <= 0]
    for r in results:  # every answer is a whole WAV file (the random model may stop early)
        audio, rate = sf.read(io.BytesIO(r.body))
        assert rate == 24000 and len(audio) == round(r.audio_seconds * rate)
    after = server.stats()
    assert after["done"] - before["done"] == 50 and after["failed"] == before["failed"]
    # answers went to the right clients: a repeat of a request gives the same audio
    for i in (0, 17, 49):
        again = httpx.post(server.url + "/v1/audio/speech", json=body(i), timeout=120)
        assert again.content == results[i].body
    latencies = [r.seconds for r in results]
    print(f"\n50 requests, 8 clients: p50 {percentile(latencies, 50):.2f} s, "
          f"p95 {percentile(latencies, 95):.2f} s, max {max(latencies):.2f} s")
