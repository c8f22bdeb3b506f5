"""A base that reads each frame's phoneme (the default's durations alignment) fine-tunes on a
user's own recordings only through an aligner: without one the fine-tune stops with one line
naming ``data.aligner``; with one, the clips get durations and it trains."""
import json

import yaml

from vall_e.align.model import Aligner, AlignerConfig, save_aligner
from vall_e.align.train import VOCAB_FILE
from vall_e.cli.common import run_main
from vall_e.cli.finetune import main
from vall_e.data.shards import load_prepared
from vall_e.text.tokenizer import PhonemeTokenizer


def _recipe(tmp_path, base, aligner=None):
    data = {"val_fraction": 0.3, **({"aligner": str(aligner)} if aligner else {})}
    recipe = {"base": str(base), "method": "lora", "data": data,
              "train": {"max_steps": 2, "batch_size": 4, "val_every_n_steps": 2,
                        "checkpoint_every_n_steps": 2, "log_every_n_steps": 1}}
    path = tmp_path / f"recipe_{'aligned' if aligner else 'plain'}.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def _durations_base(tmp_path, tiny_codec_dir):
    from vall_e.models.random_checkpoint import save_random_checkpoint

    return save_random_checkpoint("ar_nar", tmp_path / "base", tiny_codec_dir,
                                  alignment="durations", shared_prefix=True)


def test_untimed_clips_without_an_aligner_stop_with_one_line(tmp_path, tiny_codec_dir,
                                                             speaker_corpus, capsys):
    base = _durations_base(tmp_path, tiny_codec_dir)
    argv = ["--yaml", str(_recipe(tmp_path, base)), "--data", str(speaker_corpus),
            "--output-dir", str(tmp_path / "run"), "--quiet"]
    assert run_main(main, argv) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "no phoneme durations" in error and "data.aligner" in error


def test_an_aligner_times_untimed_clips_and_the_fine_tune_runs(tmp_path, tiny_codec_dir,
                                                               speaker_corpus):
    base = _durations_base(tmp_path, tiny_codec_dir)
    codec = json.loads((base / "vall_e.json").read_text())["codec"]
    vocab = PhonemeTokenizer.load(base / "vocab.json")
    aligner = save_aligner(Aligner(AlignerConfig(len(vocab), codec["n_levels"],
                                                 codec["codebook_size"], d_model=8,
                                                 boundary_shift=1)), tmp_path / "aligner")
    vocab.save(aligner / VOCAB_FILE)
    out = tmp_path / "run"
    argv = ["--yaml", str(_recipe(tmp_path, base, aligner)), "--data", str(speaker_corpus),
            "--output-dir", str(out), "--quiet"]
    assert main(argv) == 0
    _, utterances = load_prepared(out / "data")
    assert utterances and all(u.durations is not None and u.durations.sum() == u.n_frames
                              for u in utterances)
    assert (out / "adapter" / "adapter_model.safetensors").is_file()
