"""The teacher's reading of the evaluation sentences (``--teacher PLAN``): each reference's own
teacher and settings, every sentence, judged like a model's output; references the plan does not
know are one-line errors."""
import json

import numpy as np
import pytest
import torch

from vall_e.cli.eval import main
from vall_e.data.corpus.plan import PlanItem, read_plan_items
from vall_e.errors import DataError, VallEError
from vall_e.eval.run import Reference
from vall_e.eval.teacher import evaluate_teacher, plan_item_for
from tests.eval.test_eval_cli import FakeJudges


class FakeTeacher:
    sample_rate = 16000

    def __init__(self):
        self.calls = []

    def synthesize(self, text, settings):
        self.calls.append((text, settings["speed"]))
        return np.sin(np.arange(8000) * 0.05 * settings["speed"]).astype(np.float32) * 0.3


def _item(split, speaker, sentence, teacher="kokoro", speed=1.0):
    return PlanItem(id=f"{split}/{speaker}/{sentence}", split=split, speaker=speaker,
                    sentence_id=sentence, text="a reference", teacher=teacher,
                    settings={"speed": speed})


PLAN = [_item("eval_unseen", "blend_a", "s1", speed=0.9), _item("eval_unseen", "blend_b", "s2"),
        _item("train", "blend_a", "s3")]


def test_each_reference_is_read_by_its_own_teacher_and_settings(tmp_path, monkeypatch):
    monkeypatch.setattr("vall_e.eval.run.load_audio", lambda path, rate: torch.ones(1600) * 0.1)
    refs = [Reference("blend_a/s1", "blend_a", tmp_path / "a.wav", "x"),
            Reference("blend_b/s2", "blend_b", tmp_path / "b.wav", "y")]
    teacher = FakeTeacher()
    rows = evaluate_teacher(["the cat sat", "a dog ran"], refs, FakeJudges(), PLAN,
                            {"kokoro": teacher})
    assert teacher.calls == [("the cat sat", 0.9), ("a dog ran", 0.9),
                             ("the cat sat", 1.0), ("a dog ran", 1.0)]
    assert [(r["reference"], r["text"]) for r in rows] == [
        ("blend_a/s1", "the cat sat"), ("blend_a/s1", "a dog ran"),
        ("blend_b/s2", "the cat sat"), ("blend_b/s2", "a dog ran")]
    # FakeJudges hears "the cat sat": right for one sentence, all wrong for the other
    assert [r["wer"] for r in rows] == [0.0, 1.0, 0.0, 1.0]
    assert all(r["audio_seconds"] == 0.5 and r["teacher"] == "kokoro" for r in rows)
    assert all(r["margin"] is not None for r in rows)


def test_a_reference_outside_the_plan_or_with_an_unknown_teacher_is_refused(tmp_path):
    stranger = Reference("someone/clip", "someone", tmp_path / "c.wav", "z")
    with pytest.raises(DataError, match="is not in the corpus plan"):
        plan_item_for(stranger, PLAN)
    twice = PLAN + [_item("eval_seen", "blend_a", "s1")]
    with pytest.raises(DataError, match="matches 2 items"):
        plan_item_for(Reference("blend_a/s1", "blend_a", tmp_path / "a.wav", "x"), twice)
    with pytest.raises(DataError, match=r"teacher\(s\) \['kokoro'\]"):
        evaluate_teacher(["hi"], [Reference("blend_b/s2", "blend_b", tmp_path / "b.wav", "y")],
                         FakeJudges(), PLAN, {"piper": FakeTeacher()})


def test_plan_files_are_read_back_and_bad_ones_refused(tmp_path):
    (tmp_path / "plan.jsonl").write_text("".join(item.to_json() + "\n" for item in PLAN))
    assert read_plan_items(tmp_path) == PLAN  # the corpus directory or the file itself
    assert read_plan_items(tmp_path / "plan.jsonl") == PLAN
    with pytest.raises(DataError, match="corpus plan not found"):
        read_plan_items(tmp_path / "missing")
    (tmp_path / "bad.jsonl").write_text(json.dumps({"id": "x"}) + "\n")
    with pytest.raises(DataError, match="line 1, is not a corpus plan item"):
        read_plan_items(tmp_path / "bad.jsonl")


def test_the_cli_scores_the_teacher_on_the_sentences(tmp_path, monkeypatch, capsys):
    refs = tmp_path / "refs" / "blend_a"
    refs.mkdir(parents=True)
    from vall_e.audio import save_audio

    save_audio(refs / "s1.wav", torch.sin(torch.arange(24000) * 0.03) * 0.3, 24000)
    (refs / "s1.txt").write_text("a reference")
    (tmp_path / "plan.jsonl").write_text(PLAN[0].to_json() + "\n")
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("the cat sat\na dog ran\nthird one\n")
    teacher = FakeTeacher()
    monkeypatch.setattr("vall_e.data.corpus.teachers.make_teachers",
                        lambda threads=1: {"kokoro": teacher})
    out = tmp_path / "teacher.json"
    assert main(["--teacher", str(tmp_path / "plan.jsonl"), "--refs", str(tmp_path / "refs"),
                 "--sentences", str(sentences), "--max-sentences", "2", "--json", str(out),
                 "--quiet"], judges=FakeJudges()) == 0
    doc = json.loads(out.read_text())
    assert doc["setup"]["mode"] == "teacher" and len(doc["items"]) == 2
    assert doc["overall"]["wer"] == pytest.approx(3 / 6)  # 3 words wrong of 6
    assert "overall" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--teacher", "plan.jsonl"], "--teacher needs --sentences"),
    (["--teacher", "plan.jsonl", "--originals", "--sentences", "s.txt"], "exactly one of"),
])
def test_teacher_flag_refusals(args, message, tmp_path):
    with pytest.raises(VallEError, match=message):
        main([*args, "--refs", str(tmp_path)], judges=FakeJudges())
