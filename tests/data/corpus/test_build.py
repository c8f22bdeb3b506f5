import json

import pytest
import soundfile as sf

from vall_e.data import discover
from vall_e.data.corpus import build_corpus, make_plan
from vall_e.data.corpus.__main__ import main
from vall_e.data.corpus.teachers import _import
from vall_e.errors import DataError

from .conftest import FakeTeacher

pytestmark = pytest.mark.slow  # builds corpora end to end with toy teachers


def test_build_writes_the_layout_prepare_reads(tmp_path, small_recipe, fake_teachers):
    out = tmp_path / "corpus"
    report = build_corpus(small_recipe, out, quiet=True, teachers=fake_teachers)
    plan = make_plan(small_recipe)
    assert report["complete"] and report["items_done"] == len(plan.items)
    for item in plan.items:
        wav = out / f"{item.id}.wav"
        assert sf.info(str(wav)).samplerate == 24000
        assert (out / f"{item.id}.txt").read_text().strip() == item.text
    found = discover(out / "train")  # `prepare --input <out>/train` works as is
    assert len(found) == sum(i.split == "train" for i in plan.items)
    assert {f.speaker for f in found} == set(plan.train_speakers)
    splits = json.loads((out / "splits.json").read_text())
    assert splits["heldout_speakers"] == plan.heldout_speakers
    assert splits["heldout_sentence_ids"] == sorted(plan.heldout_sentences)
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk["hours"]["total"] == pytest.approx(report["hours"]["total"])
    cover = on_disk["phonemes"]["train_sentences"]
    assert cover["inventory_size"] == len(on_disk["phonemes"]["inventory"]) > 30
    assert cover["min_count"] >= 2  # the recipe's min_phone_count


def test_an_extension_builds_training_items_beside_its_base(tmp_path, fake_teachers):
    from .test_plan import _extension

    extension = _extension(tmp_path)
    report = build_corpus(extension, tmp_path / "extra", quiet=True, teachers=fake_teachers)
    assert report["complete"] and report["items"]["train"]["done"] == len(make_plan(extension).items)
    assert report["items"]["eval_seen"]["planned"] == report["items"]["eval_unseen"]["planned"] == 0
    assert report["sentences"]["heldout"] == {"count": 0}
    found = discover(tmp_path / "extra" / "train")
    assert {f.speaker for f in found} == set(make_plan(extension.base()).train_speakers)


def test_resume_skips_items_already_made(tmp_path, small_recipe):
    out = tmp_path / "corpus"
    idle = FakeTeacher()  # --limit 0: plan, splits and report only
    report = build_corpus(small_recipe, out, quiet=True, limit=0,
                          teachers={"kokoro": idle, "piper": idle})
    assert idle.calls == [] and report["items_done"] == 0 and (out / "report.json").is_file()
    first = FakeTeacher()
    report = build_corpus(small_recipe, out, quiet=True, limit=7,
                          teachers={"kokoro": first, "piper": first})
    assert len(first.calls) == 7 and not report["complete"]
    # A crash between the .wav and the .txt leaves an item that is made again.
    plan = make_plan(small_recipe)
    (out / f"{plan.items[0].id}.txt").unlink()
    second = FakeTeacher()
    report = build_corpus(small_recipe, out, quiet=True,
                          teachers={"kokoro": second, "piper": second})
    assert len(second.calls) == len(plan.items) - 6 and report["complete"]
    third = FakeTeacher()
    build_corpus(small_recipe, out, quiet=True, teachers={"kokoro": third, "piper": third})
    assert third.calls == []


def test_items_already_prepared_as_shards_are_not_made_again(tmp_path, small_recipe):
    # The audio of prepared items may be gone (only shards are committed); extending the corpus
    # must make the rest of the plan, not the prepared items again.
    plan = make_plan(small_recipe)
    train = [item for item in plan.items if item.split == "train"]
    shards = tmp_path / "shards"
    shards.mkdir()
    (shards / "codec.json").write_text("{}")
    rows = [{"id": item.id, "source": f"{item.id}.wav"} for item in train[:4]]
    (shards / "shard-00000.json").write_text(json.dumps({"utterances": rows}))
    teacher = FakeTeacher()
    build_corpus(small_recipe, tmp_path / "corpus", quiet=True, skip_prepared=shards,
                 teachers={"kokoro": teacher, "piper": teacher})
    assert len(teacher.calls) == len(plan.items) - 4
    assert not any((tmp_path / "corpus" / f"{item.id}.wav").exists() for item in train[:4])
    assert (tmp_path / "corpus" / f"{train[4].id}.wav").is_file()
    with pytest.raises(DataError, match="not a prepared shard directory"):
        build_corpus(small_recipe, tmp_path / "corpus", quiet=True, limit=0,
                     skip_prepared=tmp_path / "nowhere", teachers={"kokoro": teacher})


def test_a_failing_item_is_recorded_and_the_run_goes_on(tmp_path, small_recipe):
    plan = make_plan(small_recipe)
    victim = plan.items[0].text
    teacher = FakeTeacher(fail_on=victim)
    report = build_corpus(small_recipe, tmp_path, quiet=True,
                          teachers={"kokoro": teacher, "piper": teacher})
    assert report["items_failed"] >= 1 and not report["complete"]
    failed = [json.loads(line) for line in (tmp_path / "failed.jsonl").read_text().splitlines()]
    assert failed[0]["id"] == plan.items[0].id and "cannot say this" in failed[0]["error"]
    good = FakeTeacher()
    report = build_corpus(small_recipe, tmp_path, quiet=True,
                          teachers={"kokoro": good, "piper": good})
    assert report["complete"] and report["items_failed"] == 0
    assert set(good.calls) == {victim}  # only the failed items are made again
    assert not (tmp_path / "failed.jsonl").exists()


def test_cli_reports_bad_input_on_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sentences:\n  pool: 3\n")
    assert main(["--yaml", str(bad), "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_missing_teacher_package_names_the_extra():
    with pytest.raises(DataError, match=r'pip install -e "\.\[data\]"'):
        _import("vall_e_no_such_teacher", "no-such-teacher")


def test_a_missing_teacher_stops_the_run_before_the_first_item(tmp_path, small_recipe):
    class Missing(FakeTeacher):
        def load(self):
            _import("vall_e_no_such_teacher", "no-such-teacher")

    teacher = Missing()
    with pytest.raises(DataError, match="no-such-teacher"):
        build_corpus(small_recipe, tmp_path, quiet=True,
                     teachers={"kokoro": teacher, "piper": teacher})
    assert teacher.calls == [] and not (tmp_path / "failed.jsonl").exists()
