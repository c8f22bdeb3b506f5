"""The library side of the ablation notebooks: prefix decoding of residual codes, training-log
merging, the summaries and picks the notebooks conclude with, parameter injection."""
from __future__ import annotations

import pytest
import torch

from vall_e.codecs import get_codec
from vall_e.codecs.mel.codec import save_random_mel
from vall_e.config import CodecConfig
from vall_e.errors import CodecMismatchError, ConfigError, DataError, SamplingError
from vall_e.eval import ablations
from vall_e.eval.judges import QuickJudges, make_judges
from vall_e.eval.training_logs import read_training_log, select


def test_level_counts_double_and_end_at_all_levels():
    assert ablations.level_counts(8) == [1, 2, 4, 8]
    assert ablations.level_counts(6) == [1, 2, 4, 6]
    assert ablations.level_counts(1) == [1]


def test_decoding_the_first_levels_equals_a_codec_set_up_for_fewer(tmp_path):
    directory = save_random_mel(tmp_path / "mel", levels=4, codebook_size=16)
    full = get_codec(CodecConfig(name="mel_rvq", path=str(directory), n_levels=4))
    two = get_codec(CodecConfig(name="mel_rvq", path=str(directory), n_levels=2))
    codes = full.encode(torch.randn(4800) * 0.1)
    assert torch.equal(full.decode_levels(codes, 2), two.decode(codes[:, :2]))
    assert not torch.equal(full.decode_levels(codes, 1), full.decode(codes))
    # codes filled only that far (a model's --levels 2) decode the same as the full codes' prefix
    assert torch.equal(full.decode_levels(codes[:, :2], 2), full.decode_levels(codes, 2))
    with pytest.raises(CodecMismatchError, match="1 levels"):
        full.decode_levels(codes[:, :1], 2)
    with pytest.raises(ValueError, match=r"levels must be an integer in \[1, 4\]"):
        full.decode_levels(codes, 5)
    full.residual = False  # e.g. SNAC's sub-frame layout
    with pytest.raises(ConfigError, match="not residual"):
        full.decode_levels(codes, 2)


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_training_log_versions_merge_and_later_ones_win(tmp_path):
    _write(tmp_path / "logs" / "version_0" / "metrics.csv",
           "epoch,step,train/ar_loss,val/ar_loss\n0,4,5.0,\n0,9,4.0,4.5\n")
    # a resume after step 9: version 1 logs step 9 again (the later value wins) and goes on
    _write(tmp_path / "logs" / "version_1" / "metrics.csv",
           "epoch,step,train/ar_loss,train/nar_loss\n0,9,3.9,6.0\n1,14,3.0,nan\n")
    _write(tmp_path / "logs" / "version_10" / "metrics.csv", "epoch,step,train/ar_loss\n2,19,2.0\n")
    log = read_training_log(tmp_path)  # the run directory; logs/ is found
    steps, values = log["train/ar_loss"]
    assert steps.tolist() == [4, 9, 14, 19] and values.tolist() == [5.0, 3.9, 3.0, 2.0]
    assert log["val/ar_loss"][0].tolist() == [9]
    assert log["train/nar_loss"][1].tolist() == [6.0]  # blank and nan cells are not points
    assert list(select(log, r"^train/")) == ["train/ar_loss", "train/nar_loss"]
    with pytest.raises(DataError, match="no training log under"):
        read_training_log(tmp_path / "nothing")


def _line(name, wer, sim, stopped, fraction=1.0):
    return {"setting": name, "wer": wer, "sim_own": sim, "stopped": stopped,
            "layer_fraction": fraction}


def test_recommend_skips_settings_cut_off_by_the_step_cap():
    summary = [_line("plain", 0.30, 0.7, 1.0), _line("greedy", 0.05, 0.9, 0.5),
               _line("min-p", 0.20, 0.6, 1.0), _line("top-p", 0.20, 0.8, 1.0)]
    assert ablations.recommend(summary)["setting"] == "top-p"  # tie on WER: higher similarity
    assert ablations.recommend([summary[1]])["setting"] == "greedy"  # nothing qualifies


def test_cheapest_within_keeps_wer_inside_the_slack():
    off = _line("off", 0.10, 0.8, 1.0)
    grid = [_line("a", 0.11, 0.8, 1.0, 0.8), _line("b", 0.20, 0.8, 1.0, 0.4),
            _line("c", 0.10, 0.8, 0.5, 0.3)]
    assert ablations.cheapest_within(grid, off, wer_slack=0.02)["setting"] == "a"
    assert ablations.cheapest_within(grid[1:], off, wer_slack=0.02) is off


def test_summaries_weigh_ar_time_by_steps():
    rows = [{"setting": "x", "words": 2, "word_errors": 1, "chars": 8, "char_errors": 2,
             "sim_own": 0.5, "sim_others": None, "margin": None, "audio_seconds": 1.0,
             "synthesis_seconds": 0.5, "ar_steps": 50, "ar_seconds": 0.1, "stopped": True},
            {"setting": "x", "words": 2, "word_errors": 0, "chars": 8, "char_errors": 0,
             "sim_own": 0.7, "sim_others": None, "margin": None, "audio_seconds": 3.0,
             "synthesis_seconds": 1.5, "ar_steps": 150, "ar_seconds": 0.7, "stopped": False}]
    (line,) = ablations.summarize_by(rows, "setting")
    assert line["wer"] == pytest.approx(0.25) and line["ms_per_step"] == pytest.approx(4.0)
    assert line["stopped"] == 0.5 and line["clip_seconds"] == 2.0 and line["ar_steps"] == 100


def test_sentences_from_a_folder_of_transcripts_are_deduplicated(tmp_path):
    for speaker in ("a", "b"):
        _write(tmp_path / speaker / "s1.txt", "Hello there.\n")
        _write(tmp_path / speaker / "s2.txt", f"Only {speaker}.\n")
    assert ablations.sentence_list(tmp_path) == ["Hello there.", "Only a.", "Only b."]
    assert len(ablations.sentence_list(None, 3)) == 3  # data/eval/sentences.txt


def test_quick_judges_and_unknown_kinds():
    judges = make_judges("quick")
    assert isinstance(judges, QuickJudges) and judges.transcribe(torch.randn(16000).numpy()) == ""
    tone = torch.sin(torch.arange(16000) * 0.3).numpy()
    noise = torch.randn(16000, generator=torch.Generator().manual_seed(0)).numpy()
    same = float(judges.embed(tone) @ judges.embed(tone * 0.1))  # loudness does not count
    assert same > 0.95 and float(judges.embed(tone) @ judges.embed(noise)) < same - 0.3
    with pytest.raises(ConfigError, match="unknown judges 'whispr'"):
        make_judges("whispr")


def test_parameters_are_injected_once_and_unknown_ones_refused():
    nbformat = pytest.importorskip("nbformat")
    from vall_e.eval.notebooks import inject_parameters, parameter_names

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("model = None\nn: int = 2", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print(model)")])
    assert parameter_names(nb) == ["model", "n"]
    inject_parameters(nb, {"model": "a"})
    inject_parameters(nb, {"n": 3})  # replaces the first injection: re-running does not stack
    assert [c.source for c in nb.cells][1] == "# Injected parameters\nn = 3\n"
    assert len(nb.cells) == 3
    with pytest.raises(ConfigError, match=r"unknown notebook parameter\(s\) \['modle'\]"):
        inject_parameters(nb, {"modle": "a"})


def test_bench_sampling_starts_from_the_models_own_settings(random_checkpoints):
    from vall_e.sampling import SamplingParams

    bench = ablations.load_bench(random_checkpoints["ar_nar"], n_sentences=1, n_refs=1, judges="quick")
    bench.engine.default_sampling = SamplingParams(ar_temp=0.6, min_p=0.05)
    params = bench.sampling(3, {"min_p": 0.1})
    assert (params.ar_temp, params.min_p, params.seed) == (0.6, 0.1, 3)
    with pytest.raises(SamplingError, match="--top-p"):
        bench.sampling(0, {"top_p": 2.0})


def test_variants_refuse_an_already_quantized_model(random_checkpoints, tmp_path):
    from vall_e.eval.variants import run_variants
    from vall_e.quantize import QuantSpec, quantize_checkpoint

    quantized = quantize_checkpoint(random_checkpoints["ar_nar"], tmp_path / "q", QuantSpec()).path
    bench = ablations.load_bench(quantized, n_sentences=1, n_refs=1, judges="quick")
    with pytest.raises(ConfigError, match="already quantized"):
        run_variants(bench, ["fp32"], bench.sampling(0), tmp_path / "work", say=None)


def test_level_study_decodes_every_level_whatever_the_models_default(random_checkpoints):
    from dataclasses import replace

    bench = ablations.load_bench(random_checkpoints["ar_nar"], n_sentences=1, n_refs=1,
                                 judges="quick", max_ar_steps=6)
    bench.settings = replace(bench.settings, levels=1)  # as a shipped inference.levels would
    rows, _ = ablations.level_ablation(bench, bench.sampling(0), keep_examples=0)
    assert {row["levels"] for row in rows} == set(ablations.level_counts(bench.engine.codec.n_levels))
