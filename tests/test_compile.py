"""The compiled decode step (static KV cache) gives the eager tokens under greedy decoding;
a failing compiler falls back to eager with one warning.

Tests trace with dynamo's "eager" backend (the graph capture, the static cache and the guards
without inductor's C++ code generation, which takes minutes on this CPU); the inductor run is
measured by scripts/bench_inference.py."""
import warnings

import pytest
import torch

import vall_e.compile as compile_module
from vall_e.compile import ARNARStepper, LLMStepper, capacity_for
from vall_e.errors import SamplingError
from vall_e.inference.ar_nar_decode import generate_ar
from vall_e.inference.llm_decode import generate_speech_tokens
from vall_e.inference.loader import load_engine
from vall_e.models.checkpoint import load_checkpoint
from vall_e.models.llm_checkpoint import load_llm_checkpoint
from vall_e.sampling import SamplingParams, TokenSampler, make_generator

pytestmark = pytest.mark.slow  # torch.compile builds graphs (seconds each)

GREEDY = SamplingParams(ar_temp=0.0, nar_temp=0.0, seed=0)


def _broken_backend(graph_module, example_inputs):
    raise RuntimeError("no compiler here")


def _ar_tokens(model, stepper, steps=30):
    sampler = TokenSampler(GREEDY, "ar", make_generator(0, "cpu"), stop_token=model.stop_token)
    text = [torch.arange(3, 15), torch.arange(2, 9)]  # two lengths: left padding in the batch
    prompts = [torch.randint(0, 1024, (2, 20), generator=torch.Generator().manual_seed(1))] * 2
    return generate_ar(model, text, prompts, sampler, steps, stepper=stepper)[0]


def _llm_tokens(model, stepper, steps=30):
    sampler = TokenSampler(GREEDY, "ar", make_generator(0, "cpu"), stop_token=model.layout.stop_id)
    prompts = [list(range(1, 30)), list(range(3, 15))]
    return generate_speech_tokens(model, prompts, sampler, [steps, steps], True, stepper)[0]


@pytest.fixture(scope="module")
def models(random_checkpoints):
    return (load_checkpoint(random_checkpoints["ar_nar"]).model,
            load_llm_checkpoint(random_checkpoints["llm"]).model)


@pytest.mark.parametrize("backend", [None, "eager"])
def test_static_and_compiled_steps_equal_eager_decoding(models, backend):
    ar_model, llm_model = models
    compile_ = backend is not None
    ar_stepper = ARNARStepper(ar_model, compile=compile_, backend=backend or "inductor")
    eager = _ar_tokens(ar_model, None)
    assert all(torch.equal(a, b) for a, b in zip(eager, _ar_tokens(ar_model, ar_stepper)))
    assert ar_stepper.step_fn.compiled == compile_
    llm_stepper = LLMStepper(llm_model, compile=compile_, backend=backend or "inductor")
    assert _llm_tokens(llm_model, llm_stepper) == _llm_tokens(llm_model, None)
    # a second utterance reuses the static buffers
    assert _llm_tokens(llm_model, llm_stepper) == _llm_tokens(llm_model, None)


def test_a_failing_compiler_falls_back_to_eager_with_one_warning(models):
    ar_model, llm_model = models
    stepper = ARNARStepper(ar_model, compile=True, backend=_broken_backend)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tokens = _ar_tokens(ar_model, stepper)
        tokens_again = _ar_tokens(ar_model, stepper)
    messages = [str(w.message) for w in caught if "torch.compile" in str(w.message)]
    assert len(messages) == 1 and "decoding eagerly" in messages[0]
    eager = _ar_tokens(ar_model, None)
    assert all(torch.equal(a, b) for a, b in zip(eager, tokens))
    assert all(torch.equal(a, b) for a, b in zip(eager, tokens_again))


def _counting_backend():
    """dynamo's eager backend that counts the graphs it is asked to compile."""
    compiled = []

    def backend(graph_module, example_inputs):
        compiled.append(graph_module)
        return graph_module.forward

    return backend, compiled


def test_warm_up_compiles_the_graph_real_decoding_uses(models):
    ar_model, llm_model = models
    torch._dynamo.reset()
    backend, compiled = _counting_backend()
    stepper = ARNARStepper(ar_model, compile=True, backend=backend)
    stepper.warm_up(prefix_length=40, max_steps=30)  # the bucket _ar_tokens's one prompt uses
    assert len(compiled) == 1
    sampler = TokenSampler(GREEDY, "ar", make_generator(0, "cpu"), stop_token=ar_model.stop_token)
    prompt = torch.randint(0, 1024, (2, 20), generator=torch.Generator().manual_seed(1))
    generate_ar(ar_model, [torch.arange(3, 15)], [prompt], sampler, 30, stepper=stepper)
    assert len(compiled) == 1  # no second compilation on the first utterance
    torch._dynamo.reset()
    backend, compiled = _counting_backend()
    stepper = LLMStepper(llm_model, compile=True, backend=backend)
    stepper.warm_up(prefix_length=29, max_steps=30)
    assert len(compiled) == 1
    sampler = TokenSampler(GREEDY, "ar", make_generator(0, "cpu"), stop_token=llm_model.layout.stop_id)
    generate_speech_tokens(llm_model, [list(range(1, 30))], sampler, [30], True, stepper)
    assert len(compiled) == 1


def test_capacity_buckets_are_powers_of_two():
    assert capacity_for(1) == 256 and capacity_for(256) == 256 and capacity_for(257) == 512


@pytest.mark.parametrize("family", ["ar_nar", "llm"])
def test_engine_compile_and_dtype_flags(random_checkpoints, reference_wav, monkeypatch, family):
    monkeypatch.setattr(compile_module, "DEFAULT_BACKEND", "eager")
    eager = load_engine(random_checkpoints[family], "cpu")
    compiled = load_engine(random_checkpoints[family], "cpu", compile=True)
    assert compiled.stepper is not None and compiled.stepper.step_fn.compiled
    a = eager.tts("Hello there.", reference_wav, GREEDY)
    b = compiled.tts("Hello there.", reference_wav, GREEDY)
    assert torch.equal(a.codes, b.codes)
    with pytest.raises(SamplingError, match="drop --compile"):
        compiled.tts("Hi.", reference_wav, SamplingParams(ar_temp=0.0, beam_width=2))
    bf16 = load_engine(random_checkpoints[family], "cpu", dtype=torch.bfloat16)
    assert next(bf16.model.parameters()).dtype == torch.bfloat16
    assert bf16.tts("Hello there.", reference_wav, GREEDY).audio.numel() > 0


def test_cli_compile_and_dtype(random_checkpoints, reference_wav, tmp_path, monkeypatch, capsys):
    from vall_e.cli.common import run_main
    from vall_e.cli.synthesize import main

    monkeypatch.setattr(compile_module, "DEFAULT_BACKEND", "eager")
    out = tmp_path / "out.wav"
    code = run_main(main, ["Hello.", str(reference_wav), str(out), "--model",
                           str(random_checkpoints["ar_nar"]), "--device", "cpu", "--compile",
                           "--dtype", "bfloat16", "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert out.is_file()
    code = run_main(main, ["Hello.", str(reference_wav), str(out), "--model",
                           str(random_checkpoints["ar_nar"]), "--compile", "--layer-skip"])
    assert code == 2 and "drop --compile" in capsys.readouterr().err


@pytest.mark.parametrize("backend", [None, "eager"])
def test_compiled_frame_passes_equal_the_eager_shared_prefix_decoding(random_checkpoints,
                                                                      tiny_codec_dir, tmp_path,
                                                                      backend):
    from vall_e.compile import FramePasser
    from vall_e.inference import shared_prefix_decode
    from vall_e.inference.shared_prefix_stream import stream_sentence_codes
    from vall_e.models.random_checkpoint import save_random_checkpoint

    directory = save_random_checkpoint("ar_nar", tmp_path / "shared", tiny_codec_dir,
                                       alignment="durations", shared_prefix=True)
    model = load_checkpoint(directory).model
    passer = FramePasser(model, compile=backend is not None, backend=backend or "inductor")
    text = [torch.arange(3, 15), torch.arange(2, 9)]  # two lengths: padded keys in the batch
    levels = model.n_levels
    prompts = [torch.randint(0, 1024, (levels, 20), generator=torch.Generator().manual_seed(1))] * 2

    def decode(use):
        samplers = [TokenSampler(GREEDY, role, make_generator(0, "cpu")) for role in ("ar", "nar")]
        whole = shared_prefix_decode.generate(model, text, prompts, *samplers,
                                              n_levels=levels, speed=0.5, passer=use)[0]
        streamed = list(stream_sentence_codes(model, text[0], prompts[0], *samplers,
                                              n_levels=levels, speed=0.3, first_frames=5,
                                              chunk_frames=7, passer=use))
        return whole, streamed

    (eager_whole, eager_streamed), (whole, streamed) = decode(None), decode(passer)
    assert all(torch.equal(a, b) for a, b in zip(eager_whole, whole))
    assert len(streamed) >= 2 and all(torch.equal(a, b) for a, b in zip(eager_streamed, streamed))
    assert passer.pass_fn.compiled == (backend is not None)


def test_engine_compile_of_a_shared_prefix_model_compiles_its_frame_passes(
        tiny_codec_dir, tmp_path, reference_wav, monkeypatch):
    from vall_e.models.random_checkpoint import save_random_checkpoint

    monkeypatch.setattr(compile_module, "DEFAULT_BACKEND", "eager")
    directory = save_random_checkpoint("ar_nar", tmp_path / "shared", tiny_codec_dir,
                                       alignment="durations", shared_prefix=True)
    eager = load_engine(directory, "cpu")
    compiled = load_engine(directory, "cpu", compile=True)
    assert compiled.frame_passer is not None and compiled.frame_passer.pass_fn.compiled
    assert torch.equal(eager.tts("Hello there.", reference_wav, GREEDY).codes,
                       compiled.tts("Hello there.", reference_wav, GREEDY).codes)
