"""Servers for the serve tests: the real ``python -m vall_e.serve`` in a subprocess on a free
loopback port, over a random-weight tiny AR+NAR (its stop token is almost never drawn, so
every sentence is ~max_ar_steps frames: 0.4 s of audio in ~0.1 s of work)."""
import json
import socket
from urllib.parse import urlparse

import pytest

from vall_e.serve.launch import ServerProcess

SENTENCE_FRAMES = 30  # max_ar_steps of the test model; 75 frames per second


@pytest.fixture(scope="session")
def serve_model(tmp_path_factory, tiny_codec_dir):
    from vall_e.models.random_checkpoint import save_random_checkpoint

    return save_random_checkpoint("ar_nar", tmp_path_factory.mktemp("serve") / "model",
                                  tiny_codec_dir, max_ar_steps=SENTENCE_FRAMES)


def _start(tmp_path_factory, model, *extra):
    voices = tmp_path_factory.mktemp("voices")
    log = tmp_path_factory.mktemp("server_log") / "server.log"  # kept by pytest for a look
    server = ServerProcess(["--model", str(model), "--voices-dir", str(voices), "--threads", "1",
                            "--log-level", "warning", *extra], log=log)
    server.voices_dir = voices
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory, serve_model):
    with _start(tmp_path_factory, serve_model, "--max-upload-bytes", "2000000",
                "--max-reference-seconds", "10", "--max-input-chars", "3000") as running:
        yield running


@pytest.fixture(scope="module")
def small_queue_server(tmp_path_factory, serve_model):
    with _start(tmp_path_factory, serve_model, "--max-queue", "1") as running:
        yield running


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory, serve_model):
    with _start(tmp_path_factory, serve_model, "--api-key", "sekrit-key") as running:
        yield running


def raw_request(url: str, path: str, body: dict) -> socket.socket:
    """Send a POST and return the socket unread: a client that holds its request open (or
    drops it, by closing the socket) without the test thread blocking on the answer."""
    parsed = urlparse(url)
    payload = json.dumps(body).encode()
    sock = socket.create_connection((parsed.hostname, parsed.port), timeout=30)
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {parsed.netloc}\r\nContent-Type: "
                 f"application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode() + payload)
    return sock


def sentences(n: int) -> str:
    return " ".join(f"Sentence number {i}." for i in range(n))
