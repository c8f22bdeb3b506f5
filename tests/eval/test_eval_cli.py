"""`python -m vall_e.eval` end to end on the tiny model and the random-weight codec.

The tiny model speaks noise, so the numbers are checked for range and shape, never quality.
Two tests use the real judges (Whisper base + Resemblyzer); the rest pass fake judges.
"""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run_module
from vall_e.cli.eval import main
from vall_e.errors import VallEError

ITEM_KEYS = {"reference", "speaker", "text", "hypothesis", "wer", "cer", "sim_own", "sim_others",
             "margin", "synthesis_seconds", "audio_seconds", "ar_steps", "error"}
AGG_KEYS = {"items", "wer", "cer", "sim_own", "sim_others", "margin", "rtf",
            "ar_steps_per_audio_second", "audio_seconds", "failed"}


class FakeJudges:
    """Hears a fixed sentence; a voice is the audio's loudness and zero-crossing rate."""

    def transcribe(self, wav):
        return "the cat sat"

    def embed(self, wav):
        wav = np.asarray(wav, dtype=np.float64)
        return np.array([np.sqrt(np.mean(wav ** 2)) + 1e-3, np.mean(np.abs(np.diff(np.sign(wav)))), 0.1])


def two_speaker_refs(corpus: Path, root: Path) -> Path:
    """A refs directory with the first clip of each of two speakers (wav + txt)."""
    refs = root / "refs"
    for speaker in sorted(p for p in corpus.iterdir() if p.is_dir())[:2]:
        wav = sorted(speaker.glob("*.wav"))[0]
        (refs / speaker.name).mkdir(parents=True)
        shutil.copy(wav, refs / speaker.name / wav.name)
        shutil.copy(wav.with_suffix(".txt"), refs / speaker.name / wav.with_suffix(".txt").name)
    return refs


@pytest.fixture(scope="module")
def refs(tiny_run, tmp_path_factory):
    return two_speaker_refs(tiny_run.corpus, tmp_path_factory.mktemp("eval"))


def write_sentences(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def check_document(doc: dict, n_items: int, mode: str) -> None:
    assert doc["setup"]["mode"] == mode
    assert len(doc["items"]) == n_items
    assert ITEM_KEYS <= set(doc["items"][0])
    assert AGG_KEYS <= set(doc["overall"]) and len(doc["per_reference"]) == 2
    overall = doc["overall"]
    assert overall["items"] == n_items and overall["audio_seconds"] > 0
    assert 0 <= overall["wer"] <= 10 and 0 <= overall["cer"] <= 10  # insertions may pass 100%
    assert -1 <= overall["sim_own"] <= 1 and -1 <= overall["sim_others"] <= 1
    assert overall["margin"] == pytest.approx(overall["sim_own"] - overall["sim_others"])
    assert overall["rtf"] > 0


def test_model_eval_with_fake_judges(tiny_run, refs, tmp_path, capsys):
    sentences = write_sentences(tmp_path / "s.txt", "Hello there.", "", "The cat sat.")
    out = tmp_path / "eval.json"
    assert main(["--model", str(tiny_run.checkpoint), "--sentences", str(sentences), "--refs",
                 str(refs), "--json", str(out), "--device", "cpu", "--max-ar-steps", "40",
                 "--seed", "0", "--ar-temp", "0.8", "--quiet"], judges=FakeJudges()) == 0
    table = capsys.readouterr().out
    assert "overall" in table and "WER" in table and "AR steps/s" in table
    doc = json.loads(out.read_text())
    check_document(doc, n_items=4, mode="model")  # 2 sentences x 2 references
    assert doc["setup"]["sampling"]["ar_temp"] == 0.8  # sampler flags reach the engine
    cat = [r for r in doc["items"] if r["text"] == "The cat sat."]
    assert all(r["wer"] == 0 for r in cat)  # the fake judge hears exactly that sentence
    assert doc["overall"]["ar_steps_per_audio_second"] > 0
    assert all(1 <= r["ar_steps"] <= 40 for r in doc["items"])
    assert doc["setup"]["levels"] is None  # the checkpoint's default: every level


def test_model_eval_passes_levels_to_the_engine(tiny_run, refs, tmp_path):
    sentences = write_sentences(tmp_path / "s.txt", "The cat sat.")
    out = tmp_path / "eval.json"
    assert main(["--model", str(tiny_run.checkpoint), "--sentences", str(sentences), "--refs",
                 str(refs), "--json", str(out), "--device", "cpu", "--max-ar-steps", "20",
                 "--seed", "0", "--levels", "1", "--quiet"], judges=FakeJudges()) == 0
    assert json.loads(out.read_text())["setup"]["levels"] == 1


def test_model_eval_passes_the_prompt_length_to_every_speaker(tiny_run, refs, tmp_path, monkeypatch):
    import vall_e.inference.engine as engine_module

    lengths = []
    real = engine_module.speaker_from_recording

    def spy(codec, reference, length, *args, **kwargs):
        lengths.append(length)
        return real(codec, reference, length, *args, **kwargs)

    monkeypatch.setattr(engine_module, "speaker_from_recording", spy)
    sentences = write_sentences(tmp_path / "s.txt", "The cat sat.")
    out = tmp_path / "eval.json"
    assert main(["--model", str(tiny_run.checkpoint), "--sentences", str(sentences), "--refs",
                 str(refs), "--json", str(out), "--device", "cpu", "--max-ar-steps", "20",
                 "--seed", "0", "--input-prompt-length", "0.5", "--quiet"], judges=FakeJudges()) == 0
    assert lengths == [0.5, 0.5]  # one speaker per reference, each cut to 0.5 s
    assert json.loads(out.read_text())["setup"]["input_prompt_length"] == 0.5


@pytest.mark.slow
def test_model_eval_real_judges(tiny_run, refs, tmp_path):
    sentences = write_sentences(tmp_path / "s.txt", "Good morning.")
    out = tmp_path / "eval.json"
    proc = run_module("vall_e.eval", "--model", str(tiny_run.checkpoint), "--sentences",
                      str(sentences), "--refs", str(refs), "--json", str(out), "--device", "cpu",
                      "--max-ar-steps", "60", "--seed", "1", "--threads", "1", "--quiet")
    assert "overall" in proc.stdout
    check_document(json.loads(out.read_text()), n_items=2, mode="model")


@pytest.mark.slow
def test_codec_eval_real_judges(tiny_run, tiny_codec_dir, refs, tmp_path):
    out = tmp_path / "codec.json"
    proc = run_module("vall_e.eval", "--codec", "encodec", "--codec-path", str(tiny_codec_dir),
                      "--levels", "2", "--refs", str(refs), "--json", str(out), "--threads", "1")
    assert "overall" in proc.stdout
    doc = json.loads(out.read_text())
    check_document(doc, n_items=2, mode="codec")
    assert doc["setup"]["levels"] == 2
    assert doc["overall"]["ar_steps_per_audio_second"] is None  # no AR in resynthesis
    assert all(r["encode_seconds"] > 0 for r in doc["items"])


def test_originals_score_the_recordings_themselves(refs, tmp_path, capsys):
    out = tmp_path / "originals.json"
    assert main(["--originals", "--refs", str(refs), "--json", str(out), "--quiet"],
                judges=FakeJudges()) == 0
    assert "overall" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert doc["setup"]["mode"] == "originals" and len(doc["items"]) == 2
    assert doc["overall"]["rtf"] is None  # nothing was synthesized
    # a recording is its own reference: similarity 1 to itself, a positive margin
    assert all(r["sim_own"] == pytest.approx(1.0) for r in doc["items"])
    assert doc["overall"]["margin"] > 0
    assert doc["overall"]["audio_seconds"] > 0


def test_held_out_recordings_are_judged_against_each_speakers_reference(tiny_run, tmp_path, capsys):
    refs = tmp_path / "refs"
    for speaker in sorted(p for p in tiny_run.corpus.iterdir() if p.is_dir())[:2]:
        (refs / speaker.name).mkdir(parents=True)
        for wav in sorted(speaker.glob("*.wav"))[:3]:
            for part in (wav, wav.with_suffix(".txt")):
                shutil.copy(part, refs / speaker.name / part.name)
    out = tmp_path / "held_out.json"
    assert main(["--originals", "--refs", str(refs), "--per-speaker", "1", "--held-out", "2",
                 "--json", str(out), "--quiet"], judges=FakeJudges()) == 0
    doc = json.loads(out.read_text())
    assert doc["setup"] == {"mode": "originals", "refs": str(refs), "held_out": 2}
    assert len(doc["items"]) == 4 and len(doc["per_reference"]) == 2  # 2 clips x 2 speakers
    for row in doc["items"]:
        # another recording of the reference's own speaker, never the reference itself
        assert row["clip"] != row["reference"]
        assert row["clip"].split("/")[0] == row["reference"].split("/")[0] == row["speaker"]
        assert row["sim_own"] < 1.0 - 1e-9
    assert doc["overall"]["margin"] == pytest.approx(doc["overall"]["sim_own"] - doc["overall"]["sim_others"])


def test_held_out_without_another_recording_is_one_line(refs, capsys):
    # the fixture's refs hold one clip per speaker: nothing is left to hold out
    with pytest.raises(VallEError, match="no other recording of speaker"):
        main(["--originals", "--refs", str(refs), "--held-out", "1", "--quiet"],
             judges=FakeJudges())


def test_per_speaker_keeps_each_speakers_first_references(tmp_path):
    from vall_e.eval.run import load_references

    for speaker, clips in (("a", 3), ("b", 1)):
        (tmp_path / speaker).mkdir()
        for i in range(clips):
            (tmp_path / speaker / f"{i}.wav").write_bytes(b"")
            (tmp_path / speaker / f"{i}.txt").write_text("hi")
    assert [r.name for r in load_references(tmp_path, per_speaker=2)] == ["a/0", "a/1", "b/0"]
    assert [r.name for r in load_references(tmp_path, limit=2, per_speaker=1)] == ["a/0", "b/0"]
    assert len(load_references(tmp_path)) == 4


@pytest.mark.parametrize("args, message", [
    ([], "exactly one of --model"),
    (["--originals", "--codec", "encodec"], "exactly one of --model"),
    (["--originals", "--sentences", "s.txt"], "does not apply"),
    (["--originals", "--held-out", "0"], "--held-out takes a positive"),
    (["--codec", "encodec", "--held-out", "2"], "only applies with --originals"),
    (["--codec", "encodec", "--repeat-short-prompt", "nar"], "only applies with --model"),
    (["--codec", "encodec", "--voice-match", "0.2"], "only applies with --model"),
    (["--model", "m", "--sentences", "s.txt", "--voice-match", "1.5"], "between 0 and 1"),
    (["--codec", "encodec", "--voice-match-levels", "fine"], "only applies with --model"),
    (["--model", "m", "--codec", "encodec"], "exactly one of --model"),
    (["--model", "MISSING"], "needs --sentences"),
    (["--codec", "encodec", "--sentences", "s.txt"], "does not apply"),
    (["--codec", "encodec", "--levels", "0"], "--levels"),
    (["--codec", "encodec", "--limit", "0"], "--limit"),
    (["--codec", "encodec", "--per-speaker", "0"], "--per-speaker"),
    (["--codec", "encodec", "--max-sentences", "3"], "--max-sentences only"),
    (["--codec", "encodec", "--input-prompt-length", "3"], "--input-prompt-length"),
    (["--model", "m", "--sentences", "s.txt", "--input-prompt-length", "0"], "--input-prompt-length"),
    (["--model", "m", "--sentences", "s.txt", "--candidates", "0"], "--candidates"),
    (["--codec", "encodec", "--candidates", "2"], "--candidates"),
    (["--originals", "--lora", "adapter"], "adapt a --model"),
    (["--codec", "encodec", "--speaker-offset", "s.offset.safetensors"], "adapt a --model"),
    (["--model", "m", "--sentences", "s.txt", "--lora", "a", "--speaker-offset", "o"], "not both"),
])
def test_bad_flags_are_one_line_errors(args, message, tmp_path):
    with pytest.raises(VallEError, match=message):
        main([*args, "--refs", str(tmp_path)], judges=FakeJudges())


def test_bad_inputs(tiny_run, tmp_path):
    model = ["--model", str(tiny_run.checkpoint), "--device", "cpu"]
    empty = write_sentences(tmp_path / "empty.txt", "", "  ")
    good = write_sentences(tmp_path / "good.txt", "Hi.")
    with pytest.raises(VallEError, match="references directory not found"):
        main([*model, "--sentences", str(good), "--refs", str(tmp_path / "nope")], judges=FakeJudges())
    refs = tmp_path / "refs"
    refs.mkdir()
    with pytest.raises(VallEError, match="no .wav files"):
        main([*model, "--sentences", str(good), "--refs", str(refs)], judges=FakeJudges())
    shutil.copy(tiny_run.reference(), refs / "a.wav")
    with pytest.raises(VallEError, match="has no transcript"):
        main([*model, "--sentences", str(good), "--refs", str(refs)], judges=FakeJudges())
    (refs / "a.txt").write_text("hello\n")
    with pytest.raises(VallEError, match="has no sentences"):
        main([*model, "--sentences", str(empty), "--refs", str(refs)], judges=FakeJudges())
    with pytest.raises(VallEError, match="sentences file not found"):
        main([*model, "--sentences", str(tmp_path / "x.txt"), "--refs", str(refs)], judges=FakeJudges())
    with pytest.raises(VallEError, match="model directory not found"):
        main(["--model", str(tmp_path / "m"), "--sentences", str(good), "--refs", str(refs)])


@pytest.mark.slow
def test_cli_error_exit_status(tmp_path):
    proc = run_module("vall_e.eval", "--codec", "encodec", "--refs", str(tmp_path / "none"), check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: references directory not found")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_model_eval_hands_candidates_to_the_engine(tiny_run, refs, tmp_path):
    sentences = write_sentences(tmp_path / "s.txt", "The cat sat.")
    # the tiny run is unaligned: the engine refuses to rank, which shows the flag reached it
    with pytest.raises(VallEError, match="--candidates needs a shared-prefix"):
        main(["--model", str(tiny_run.checkpoint), "--sentences", str(sentences), "--refs", str(refs),
              "--device", "cpu", "--max-ar-steps", "20", "--candidates", "2", "--quiet"],
             judges=FakeJudges())


@pytest.mark.parametrize("flag, key", [("--lora", "lora"), ("--speaker-offset", "speaker_offset")])
def test_model_eval_loads_a_fine_tuned_speaker(tiny_run, refs, tmp_path, monkeypatch, flag, key):
    import vall_e.inference.loader as loader

    seen, real = [], loader.load_engine

    def spy(source, device="auto", codec_path=None, lora=None, speaker_offset=None):
        seen.append({"lora": lora, "speaker_offset": speaker_offset})
        return real(source, device, codec_path)  # the tiny run has no adapter to merge

    monkeypatch.setattr(loader, "load_engine", spy)
    sentences = write_sentences(tmp_path / "s.txt", "The cat sat.")
    assert main(["--model", str(tiny_run.checkpoint), "--sentences", str(sentences), "--refs",
                 str(refs), "--device", "cpu", "--max-ar-steps", "20", "--seed", "0",
                 flag, "ADAPTED", "--quiet"], judges=FakeJudges()) == 0
    other = "speaker_offset" if key == "lora" else "lora"
    assert seen == [{key: "ADAPTED", other: None}]
