"""The server's pieces without a server (fast tier): formats, sampler overlay, names, worker."""
import asyncio
import io
import struct

import pytest
import soundfile as sf
import torch

from vall_e.sampling import SamplingParams
from vall_e.serve import audio_formats
from vall_e.serve.errors import APIError
from vall_e.serve.synth import sampling_params
from vall_e.serve.voices import PROFILE_ID, clean_name
from vall_e.serve.worker import QueueFull, Worker


def test_stream_header_and_pcm_match_a_whole_wav():
    audio = torch.linspace(-1.2, 1.2, 2400)  # out of range ends: clipped, not wrapped
    whole = audio_formats.encode(audio, 24000, "wav")
    streamed = audio_formats.wav_stream_header(24000) + audio_formats.pcm16(audio, 24000)
    assert streamed[:4] == b"RIFF" and struct.unpack("<I", streamed[40:44])[0] == 0xFFFFFFFF
    assert streamed[44:] == whole[44:] and len(streamed) == len(whole)
    samples, _ = sf.read(io.BytesIO(whole), dtype="int16")
    assert samples.min() in (-32768, -32767) and samples.max() == 32767


def test_supported_formats_always_include_the_lossless_three():
    assert {"wav", "flac", "pcm"} <= set(audio_formats.supported_formats(24000))


def test_sampler_overlay_keeps_the_models_defaults():
    defaults = SamplingParams(ar_temp=0.6, top_k=50, min_p=0.1)
    assert sampling_params(defaults, {}) is None  # the engine's own record
    params = sampling_params(defaults, {"temperature": 0.9, "seed": 3})
    assert (params.ar_temp, params.top_k, params.min_p, params.seed) == (0.9, 50, 0.1, 3)
    assert sampling_params(defaults, {"mirostat": True, "mirostat_tau": 4.0}).mirostat_tau == 4.0


@pytest.mark.parametrize("overrides,param", [({"temperature": -1}, "temperature"),
                                             ({"top_p": 0.0}, "top_p"),
                                             ({"min_temperature": 2.0, "temperature": 1.0}, None)])
def test_sampler_errors_use_the_request_names(overrides, param):
    with pytest.raises(APIError) as caught:
        sampling_params(SamplingParams(), overrides)
    assert caught.value.status == 400 and "--" not in caught.value.message
    if param:
        assert caught.value.param == param and caught.value.message.startswith(param)


def test_names_are_display_text_and_ids_are_strict():
    assert clean_name("../../etc/passwd", "x") == "....etcpasswd"
    assert clean_name("  ", "fallback") == "fallback" and len(clean_name("a" * 500, "x")) == 64
    assert PROFILE_ID.match("spk_0123456789abcdef")
    for bad in ("spk_0123456789abcdef/..", "../spk_0123456789abcdef", "spk_0123456789ABCDEF"):
        assert not PROFILE_ID.match(bad)


def test_worker_runs_in_order_refuses_when_full_and_skips_cancelled_jobs():
    async def scenario():
        worker = Worker(max_waiting=2)
        gate = asyncio.Event()
        loop = asyncio.get_running_loop()

        def blocked(job):  # holds the worker until the test opens the gate
            asyncio.run_coroutine_threadsafe(gate.wait(), loop).result()
            yield "first"

        first = worker.submit(blocked)
        worker.start()
        while worker.stats()["running"] == 0:
            await asyncio.sleep(0.01)
        second = worker.submit(lambda job: iter(["second"]))
        third = worker.submit(lambda job: iter(["never"]))
        with pytest.raises(QueueFull):
            worker.submit(lambda job: iter(["refused"]))
        third.cancel()
        gate.set()
        got = [[x async for x in job.results()] for job in (first, second, third)]
        await asyncio.to_thread(worker.stop)
        return got, worker.stats()

    got, stats = asyncio.run(scenario())
    assert got == [["first"], ["second"], []]
    assert (stats["done"], stats["cancelled"], stats["waiting"]) == (2, 1, 0)


def test_worker_call_runs_on_the_worker_thread_and_hands_back_errors():
    import threading

    worker = Worker(max_waiting=1)
    assert worker.call(lambda: threading.current_thread().name) == "vall_e-serve-worker"
    worker.start()  # already running (the server's lifespan starts it again): a no-op
    with pytest.raises(ZeroDivisionError):
        worker.call(lambda: 1 / 0)
    assert worker.call(lambda: 7) == 7  # the thread outlives a failed call
    assert worker.stats()["done"] == 0  # calls are not jobs: the queue counts stay the requests'
    worker.stop()
    with pytest.raises(RuntimeError, match="has stopped"):
        worker.call(lambda: 7)


def test_whole_file_answers_are_made_sentence_by_sentence_and_streams_by_the_stream():
    from types import SimpleNamespace

    from vall_e.interface import GenerationType
    from vall_e.serve.synth import Synthesizer

    calls = []
    interface = SimpleNamespace(
        engine=SimpleNamespace(default_sampling=SamplingParams()),
        stream=lambda config: calls.append(("stream", config.generation_type)) or iter(["s"]),
        sentences=lambda config: calls.append(("sentences", config.generation_type)) or iter(["w"]))
    store = SimpleNamespace(resolve=lambda voice: None)
    synth = Synthesizer(interface, store)
    job = SimpleNamespace(cancelled=False)
    for stream in (True, False):
        config = synth.config("Hello there.", {}, 1.0, stream=stream)
        assert list(synth.work(config, "kumo")(job)) == (["s"] if stream else ["w"])
    assert calls == [("stream", GenerationType.STREAM), ("sentences", GenerationType.CHUNKED)]


def test_voice_match_fields_reach_the_generation_config_or_are_refused_before_queueing():
    from types import SimpleNamespace

    from vall_e.serve.errors import APIError
    from vall_e.serve.synth import Synthesizer

    def synth_for(family, codec):
        engine = SimpleNamespace(default_sampling=SamplingParams(), family=family,
                                 codec=SimpleNamespace(name=codec))
        return Synthesizer(SimpleNamespace(engine=engine), SimpleNamespace())

    config = synth_for("ar_nar", "mel_rvq").config("Hi.", {}, 1.0, True, 0.3, "all")
    assert (config.voice_match, config.voice_match_levels) == (0.3, "all")
    left_out = synth_for("ar_nar", "mel_rvq").config("Hi.", {}, 1.0)
    assert (left_out.voice_match, left_out.voice_match_levels) == (None, None)  # the model's own
    assert synth_for("llm", "snac").config("Hi.", {}, 1.0, True, 0.0).voice_match == 0.0
    for family, codec in (("llm", "snac"), ("ar_nar", "encodec")):
        with pytest.raises(APIError, match="cannot decode toward the reference"):
            synth_for(family, codec).config("Hi.", {}, 1.0, True, 0.5)


def test_repeat_short_prompt_reaches_the_generation_config_or_is_refused_before_queueing():
    from types import SimpleNamespace

    from vall_e.serve.errors import APIError
    from vall_e.serve.synth import Synthesizer

    def synth_for(family):
        engine = SimpleNamespace(default_sampling=SamplingParams(), family=family)
        return Synthesizer(SimpleNamespace(engine=engine), SimpleNamespace())

    config = synth_for("ar_nar").config("Hi.", {}, 1.0, True, repeat_short_prompt="nar")
    assert config.repeat_short_prompt == "nar"
    assert synth_for("llm").config("Hi.", {}, 1.0, repeat_short_prompt="none").repeat_short_prompt == "none"
    with pytest.raises(APIError, match="reads its reference as it is"):
        synth_for("llm").config("Hi.", {}, 1.0, repeat_short_prompt="all")
