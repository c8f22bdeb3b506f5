"""Every route of the real server over HTTP: answers, formats, and each refusal's shape."""
import io

import httpx
import pytest
import soundfile as sf

from tests.serve.conftest import SENTENCE_FRAMES

pytestmark = pytest.mark.slow
SECONDS_PER_SENTENCE = SENTENCE_FRAMES / 75


def speak(server, **body):
    # seeded by default: unseeded, the random test model may draw its stop token first (~0.1%)
    body = {"input": "Hello there.", "voice": "kumo", "seed": 11, **body}
    return httpx.post(server.url + "/v1/audio/speech", json=body, timeout=120)


def assert_error(response, status, *words, param=None):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert isinstance(error["message"], str) and error["type"]
    for word in words:
        assert word in error["message"], error["message"]
    if param is not None:
        assert error["param"] == param
    return error


def test_health_models_voices(server):
    health = httpx.get(server.url + "/health").json()
    assert health["status"] == "ok" and health["sample_rate"] == 24000 and not health["auth"]
    assert {"wav", "flac", "pcm"} <= set(health["formats"])
    models = httpx.get(server.url + "/v1/models").json()
    assert models["object"] == "list" and models["data"][0]["id"] == health["model"]
    voices = httpx.get(server.url + "/v1/audio/voices").json()["voices"]
    assert {"kumo", "alpha", "blend16"} <= {v["id"] for v in voices if v["kind"] == "shipped"}


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "opus"])
def test_speech_whole_file_formats(server, fmt):
    if fmt not in httpx.get(server.url + "/health").json()["formats"]:
        assert_error(speak(server, response_format=fmt), 400, "wav, flac, pcm",
                     param="response_format")
        return
    response = speak(server, input="One sentence. And a second one.", response_format=fmt)
    assert response.status_code == 200, response.text
    audio, rate = sf.read(io.BytesIO(response.content))
    assert rate in (24000, 48000)  # ogg/opus may be resampled by the encoder's container
    assert 1.5 * SECONDS_PER_SENTENCE < len(audio) / rate < 2.5 * SECONDS_PER_SENTENCE


def test_speech_pcm_is_raw_16bit(server):
    response = speak(server, response_format="pcm", seed=3)
    assert response.headers["content-type"] == "audio/pcm"
    assert response.headers["x-sample-rate"] == "24000"
    wav = speak(server, response_format="wav", seed=3)
    audio, _ = sf.read(io.BytesIO(wav.content), dtype="int16")
    assert response.content == audio.tobytes()  # same seed, same samples, no header


def test_default_format_is_openais(server):
    formats = httpx.get(server.url + "/health").json()["formats"]
    response = speak(server)
    expected = "audio/mpeg" if "mp3" in formats else "audio/wav"
    assert response.status_code == 200 and response.headers["content-type"] == expected


def test_seed_and_sampler_fields_change_the_audio(server):
    a, b = speak(server, seed=1, response_format="pcm"), speak(server, seed=1, response_format="pcm")
    c = speak(server, seed=2, response_format="pcm")
    assert a.content == b.content and a.content != c.content
    greedy = speak(server, seed=1, temperature=0.0, top_k=5, response_format="pcm")
    assert greedy.status_code == 200 and greedy.content != a.content


def test_openai_client(server):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused")
    # seeded like speak(): unseeded, the random test model may draw its stop token first
    answer = client.audio.speech.create(model="tts-1", voice="alpha", input="Hello from openai.",
                                        response_format="wav", extra_body={"seed": 1})
    audio, rate = sf.read(io.BytesIO(answer.content))
    assert rate == 24000 and len(audio) > 0.5 * SECONDS_PER_SENTENCE * rate
    # docs/serve.md's streaming example: our fields travel in extra_body
    extra = {"seed": 7, "temperature": 0.6}
    with client.audio.speech.with_streaming_response.create(
            model="tts-1", voice="kumo", input="Streamed. Twice.", response_format="pcm",
            extra_body={"stream": True, **extra}) as streamed:
        data = b"".join(streamed.iter_bytes())
    assert len(data) % 2 == 0 and len(data) > 0
    assert data == b"".join(speak(server, input=part, response_format="pcm", **extra).content
                            for part in ("Streamed.", "Twice."))
    with pytest.raises(openai.BadRequestError, match="unknown voice"):
        client.audio.speech.create(model="tts-1", voice="nobody", input="x")


BAD_REQUESTS = [
    ({"input": ""}, "input", "empty"),
    ({"input": "   \n "}, "input", "empty"),
    ({"input": "a" * 3001}, "input", "at most 3000"),
    ({"voice": "nobody"}, "voice", "unknown voice"),
    ({"voice": "../../../etc/passwd"}, "voice", "unknown voice"),
    ({"voice": "spk_0123456789abcdef"}, "voice", "unknown voice"),
    ({"voice": {"id": "../kumo"}}, "voice", "unknown voice"),
    ({"response_format": "aac"}, "response_format", "wav, flac, pcm"),
    ({"response_format": "flac", "stream": True}, "response_format", "only sent whole"),
    ({"temperature": -1}, "temperature", "temperature"),
    ({"top_p": 1.5}, "top_p", "top_p"),
    ({"top_k": "many"}, "top_k", "integer"),
    ({"speed": 9}, "speed", "4"),
    ({"speed": 0.1}, "speed", "0.25"),
    ({"speed": 2.0}, None, "speed"),  # valid range, but this model cannot change its pace
    ({"bogus_field": 1}, "bogus_field", "unknown field"),
    ({"model": "gpt-9"}, "model", "unknown model"),
    ({"instructions": "sound happy"}, "instructions", "no style prompt"),
    ({"stream_format": "sse"}, "stream_format", None),
    ({"voice_match": 1.5}, "voice_match", "1"),
    ({"voice_match_levels": "coarse"}, "voice_match_levels", None),
    ({"voice_match": 0.5}, "voice_match", "mel_rvq"),  # the test model speaks through EnCodec
    ({"repeat_short_prompt": "twice"}, "repeat_short_prompt", None),
]


def test_voice_match_off_is_accepted_on_any_model(server):
    response = speak(server, voice_match=0, voice_match_levels="all", response_format="wav")
    assert response.status_code == 200, response.text


def test_a_short_reference_can_be_repeated_per_request(server):
    response = speak(server, repeat_short_prompt="nar", response_format="wav")
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("change,param,words", BAD_REQUESTS)
def test_bad_requests_are_openai_shaped_400s(server, change, param, words):
    error = assert_error(speak(server, **change), 400, *([words] if words else []))
    if param is not None:
        assert error["param"] == param


def test_malformed_bodies(server):
    url = server.url + "/v1/audio/speech"
    assert_error(httpx.post(url, content=b"not json", headers={"content-type": "application/json"}),
                 400, "JSON")
    assert_error(httpx.post(url, json=["a", "list"]), 400, "JSON")
    assert_error(httpx.post(url, json={"voice": "kumo"}), 400, param="input")
    big = {"input": "x", "voice": "kumo", "pad": "y" * 1_200_000}
    assert_error(httpx.post(url, json=big), 413, "limit")
    assert_error(httpx.get(server.url + "/no/such/route"), 404)
    assert_error(httpx.get(url), 405)
