"""POST /v1/voices: a reference becomes a profile with a server-made id, usable as voice."""
import io
import re

import httpx
import numpy as np
import pytest
import soundfile as sf

from vall_e.voices import shipped_voices

pytestmark = pytest.mark.slow


def wav_bytes(seconds: float, rate: int = 24000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    buffer = io.BytesIO()
    sf.write(buffer, 0.3 * np.sin(2 * np.pi * 180 * t), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def upload(server, content: bytes, filename="ref.wav", **fields):
    return httpx.post(server.url + "/v1/voices", files={"file": (filename, content, "audio/wav")},
                      data=fields, timeout=120)


def test_upload_then_speak_with_it(server):
    alpha = shipped_voices()["alpha"]
    answer = upload(server, alpha.wav.read_bytes(), "../../escape.wav", name="My voice",
                    transcript=alpha.transcript)
    assert answer.status_code == 201, answer.text
    voice = answer.json()
    assert re.fullmatch(r"spk_[0-9a-f]{16}", voice["id"])
    assert voice["name"] == "My voice" and voice["transcript"] and voice["seconds"] > 1
    # saved under the id, inside the server's folder, and nothing else written there
    assert sorted(p.name for p in server.voices_dir.iterdir()) == [f"{voice['id']}.json"]
    listed = httpx.get(server.url + "/v1/audio/voices").json()["voices"]
    assert voice in listed
    speech = httpx.post(server.url + "/v1/audio/speech", timeout=120, json={
        "input": "Now in my own voice.", "voice": voice["id"], "response_format": "wav", "seed": 11})
    assert speech.status_code == 200 and speech.content[:4] == b"RIFF"


def test_upload_without_transcript_keeps_the_filename_as_name(server):
    answer = upload(server, wav_bytes(2.0), "kitchen take 3.wav")
    assert answer.status_code == 201 and answer.json()["name"] == "kitchen take 3"
    assert answer.json()["transcript"] is False


@pytest.mark.parametrize("content,status,words", [
    (b"definitely not audio" * 50, 400, "not audio"),
    (wav_bytes(11.0), 400, "at most 10 s"),  # the server runs with --max-reference-seconds 10
    (wav_bytes(0.0), 400, "no audio"),
    (b"\0" * 2_100_000, 413, "limit"),  # and --max-upload-bytes 2000000
])
def test_bad_uploads(server, content, status, words):
    response = upload(server, content)
    assert response.status_code == status, response.text
    assert words in response.json()["error"]["message"]


def test_upload_needs_a_file(server):
    response = httpx.post(server.url + "/v1/voices", data={"name": "x"}, timeout=30)
    assert response.status_code == 400 and response.json()["error"]["param"] == "file"
