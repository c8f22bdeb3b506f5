"""The four generation types through the Interface, on the tiny flat-layout LLM-TTS (and the
AR+NAR model: one API for both families)."""
import math

import pytest
import torch

from vall_e import GenerationConfig, GenerationType, Interface, InterfaceConfig, SamplerConfig

GREEDY = SamplerConfig(temperature=0, seed=0)
TWO_SENTENCES = "Hello there. How are you today?"
MAX_LENGTH = 260  # 0.5 s reference prompt (76 ids) + text + ~150 speech ids: keeps tests fast


def generate(interface, speaker, kind, text=TWO_SENTENCES, sampler=GREEDY, **kw):
    return interface.generate(GenerationConfig(text=text, speaker=speaker, generation_type=kind,
                                               sampler_config=sampler, max_length=MAX_LENGTH, **kw))


@pytest.mark.parametrize("kind", list(GenerationType))
def test_every_generation_type_makes_audio(llm_interface, llm_speaker, kind, tmp_path):
    out = generate(llm_interface, llm_speaker, kind, sampler=SamplerConfig(temperature=0.8, seed=1))
    assert out.sample_rate == 24000 and out.duration > 0
    assert torch.isfinite(out.audio).all()
    expected_chunks = 1 if kind == GenerationType.REGULAR else 2
    if kind == GenerationType.STREAM:
        assert len(out.chunks) >= 2 and out.first_chunk_seconds is not None
        assert out.first_chunk_seconds <= out.seconds
    else:
        assert len(out.chunks) == len(out.results) == expected_chunks
    import soundfile as sf

    data, rate = sf.read(out.save(tmp_path / "out.wav"))
    assert rate == 24000 and len(data) == out.audio.numel()


def test_batch_equals_one_by_one_under_greedy(llm_interface, llm_speaker):
    texts = ["Hello there.", "A much longer sentence than the first one.", "Okay."]
    engine = llm_interface.engine
    settings = engine.defaults
    params = GREEDY.to_params()
    short = 200  # rows of different prompt lengths: padding must not change any row
    batch = engine.synthesize(texts, llm_speaker, params, settings, max_length=short)
    for text, together in zip(texts, batch):
        (alone,) = engine.synthesize([text], llm_speaker, params, settings, max_length=short)
        assert torch.equal(alone.codes, together.codes), text
        assert alone.stopped == together.stopped
    # and through the Interface: BATCH and CHUNKED give the same sentences
    chunked = generate(llm_interface, llm_speaker, GenerationType.CHUNKED)
    batched = generate(llm_interface, llm_speaker, GenerationType.BATCH)
    for a, b in zip(chunked.results, batched.results):
        assert torch.equal(a.codes, b.codes)
    assert torch.allclose(chunked.audio, batched.audio, atol=1e-6)


def test_stream_concatenates_to_the_regular_output_under_greedy(llm_interface, llm_speaker):
    regular = generate(llm_interface, llm_speaker, GenerationType.REGULAR, text="Hello there.")
    chunks = list(llm_interface.stream(GenerationConfig(
        text="Hello there.", speaker=llm_speaker, sampler_config=GREEDY, max_length=MAX_LENGTH,
        stream_chunk_seconds=0.25)))
    assert len(chunks) >= 3
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert all(a.elapsed <= b.elapsed for a, b in zip(chunks, chunks[1:]))
    streamed = torch.cat([c.audio for c in chunks])
    assert streamed.shape == regular.audio.shape
    assert torch.allclose(streamed, regular.audio, atol=1e-5)


def test_chunked_joins_with_a_crossfade(llm_interface, llm_speaker):
    out = generate(llm_interface, llm_speaker, GenerationType.CHUNKED, crossfade_seconds=0.04)
    overlap = round(0.04 * 24000)
    lengths = [c.numel() for c in out.chunks]
    assert out.audio.numel() == sum(lengths) - overlap * (len(lengths) - 1)


def test_budget_cut_is_reported(llm_interface, llm_speaker):
    out = llm_interface.generate(GenerationConfig(
        text="Hello there.", speaker=llm_speaker, sampler_config=GREEDY, max_length=200))
    result = out.results[0]
    assert out.truncated and not result.stopped
    assert result.ar_steps <= 200 and result.codes.shape[1] == result.ar_steps // 2


def test_sampler_config_maps_to_sampling_params():
    params = SamplerConfig(temperature=0.7, top_p=0.9, mirostat=True, mirostat_tau=4.0,
                           min_temperature=0.2, seed=3).to_params()
    assert (params.ar_temp, params.top_p, params.mirostat_tau, params.min_ar_temp, params.seed) == (
        0.7, 0.9, 4.0, 0.2, 3)
    assert SamplerConfig(mirostat_tau=4.0).to_params().mirostat_tau == 0  # mirostat off


def test_ar_nar_models_share_the_interface(tiny_run):
    interface = Interface(InterfaceConfig(model_path=str(tiny_run.checkpoint), device="cpu"))
    from vall_e.voices import shipped_voices

    # AR+NAR voice names are the shipped reference recordings
    assert interface.family == "ar_nar" and interface.voices == tuple(shipped_voices())
    speaker = interface.create_speaker(tiny_run.reference())
    outputs = {kind: interface.generate(GenerationConfig(
        text=TWO_SENTENCES, speaker=speaker, generation_type=kind, sampler_config=GREEDY,
        max_length=30)) for kind in GenerationType}
    for out in outputs.values():
        assert out.duration > 0 and not math.isnan(float(out.audio.abs().max()))
    chunked, batched = outputs[GenerationType.CHUNKED], outputs[GenerationType.BATCH]
    for a, b in zip(chunked.results, batched.results):
        assert torch.equal(a.codes, b.codes)
    assert len(outputs[GenerationType.STREAM].chunks) == 2  # one per sentence


def test_no_sampler_config_means_the_models_own_settings(llm_interface, llm_speaker, monkeypatch):
    from vall_e.sampling import SamplingParams

    assert GenerationConfig(text="Hi.").sampling_params() is None
    monkeypatch.setattr(llm_interface.engine, "default_sampling", SamplingParams(ar_temp=0.0))
    first, second = (generate(llm_interface, llm_speaker, GenerationType.REGULAR, text="Hello there.",
                              sampler=None).audio for _ in range(2))
    assert torch.equal(first, second)  # greedy, as the model's settings say (temperature 1 would differ)


def test_sentences_yields_the_chunked_sentences_one_by_one(llm_interface, llm_speaker):
    chunked = generate(llm_interface, llm_speaker, GenerationType.CHUNKED)
    chunks = list(llm_interface.sentences(GenerationConfig(
        text=TWO_SENTENCES, speaker=llm_speaker, sampler_config=GREEDY, max_length=MAX_LENGTH)))
    assert [c.text_index for c in chunks] == [0, 1]
    for chunk, piece in zip(chunks, chunked.chunks):
        assert torch.equal(chunk.audio, piece)
