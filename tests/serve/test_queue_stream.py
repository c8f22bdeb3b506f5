"""Streaming order, audio sent while later sentences are still made, the queue limit, and a
client that disconnects (streaming or still waiting) stopping its job."""
import time

import httpx
import pytest

from tests.serve.conftest import raw_request, sentences

pytestmark = pytest.mark.slow


def wait_idle(server, timeout=120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = server.stats()
        if stats["running"] == 0 and stats["waiting"] == 0:
            return stats
        time.sleep(0.1)
    raise AssertionError(f"the server stayed busy: {server.stats()}")


def wait_for(server, timeout=60.0, **expected) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = server.stats()
        if all(stats[k] == v for k, v in expected.items()):
            return
        time.sleep(0.05)
    raise AssertionError(f"expected {expected}, the server has {server.stats()}")


def pcm(server, text, **extra):
    response = httpx.post(server.url + "/v1/audio/speech", timeout=120, json={
        "input": text, "voice": "kumo", "response_format": "pcm", "seed": 5, **extra})
    assert response.status_code == 200, response.text
    return response.content


def test_stream_is_the_sentences_in_order(server):
    parts = ["First one.", "Then the second.", "And a third."]
    streamed = pcm(server, " ".join(parts), stream=True)
    assert streamed == b"".join(pcm(server, p) for p in parts)  # each sentence alone, same seed
    with httpx.stream("POST", server.url + "/v1/audio/speech", timeout=120, json={
            "input": " ".join(parts), "voice": "kumo", "response_format": "wav", "seed": 5,
            "stream": True}) as response:
        wav = response.read()
    assert wav[:4] == b"RIFF" and wav[4:8] == b"\xff\xff\xff\xff"  # length unknown up front
    assert wav[44:] == streamed


def test_audio_arrives_before_the_job_ends(server):
    wait_idle(server)
    before = server.stats()
    with httpx.stream("POST", server.url + "/v1/audio/speech", timeout=120, json={
            "input": sentences(40), "voice": "kumo", "response_format": "pcm", "stream": True,
            # seeded: unseeded, the random model now and then draws its stop token first in
            # one of 40 sentences (a GenerationError, which cuts a stream already under way)
            "seed": 5}) as response:
        chunks = response.iter_raw()
        first = next(chunks)
        # a server that buffered the whole answer would be idle by now
        assert server.stats()["running"] == 1 and len(first) > 0
        rest = b"".join(chunks)
    after = wait_idle(server)
    assert after["done"] == before["done"] + 1
    assert after["items"] - before["items"] == 40 and len(first + rest) % 2 == 0


def test_disconnect_mid_stream_stops_the_job(server):
    wait_idle(server)
    before = server.stats()
    sock = raw_request(server.url, "/v1/audio/speech", {
        "input": sentences(60), "voice": "kumo", "response_format": "pcm", "stream": True,
        "seed": 5})
    assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    sock.close()
    after = wait_idle(server)
    assert after["cancelled"] == before["cancelled"] + 1
    assert after["done"] == before["done"]
    assert after["items"] - before["items"] < 60  # it stopped well before the last sentence


def test_queue_limit_and_waiting_client_that_leaves(small_queue_server):
    server = small_queue_server
    before = wait_idle(server)
    long = {"input": sentences(80), "voice": "kumo", "response_format": "pcm", "seed": 5}
    running = raw_request(server.url, "/v1/audio/speech", {**long, "stream": True})
    wait_for(server, running=1)
    waiting = raw_request(server.url, "/v1/audio/speech", long)  # not streamed: waits whole
    wait_for(server, running=1, waiting=1)
    full = httpx.post(server.url + "/v1/audio/speech", json=long, timeout=30)
    assert full.status_code == 503 and full.headers["retry-after"].isdigit()
    assert full.json()["error"]["code"] == "queue_full"
    waiting.close()  # leaves before its turn: the model must never run for it
    running.close()
    after = wait_idle(server)
    assert after["cancelled"] == before["cancelled"] + 2
    assert after["done"] == before["done"] and after["failed"] == before["failed"]
    assert after["items"] - before["items"] < 80  # only the first job ran, and not to the end
    ok = httpx.post(server.url + "/v1/audio/speech", json={**long, "input": "Free again."},
                    timeout=60)
    assert ok.status_code == 200
