"""The recipe runner: plan -> synthesize the missing items -> write splits and the report.

``build_corpus(recipe, output)`` writes::

    <output>/plan.jsonl          every item, computed before any audio (see ``plan``)
    <output>/recipe.yaml         the resolved recipe the plan came from
    <output>/splits.json         train / held-out speakers, held-out sentence ids, speaker specs
    <output>/train/<speaker>/<sentence id>.wav + .txt         ->  prepare --input <output>/train
    <output>/eval_seen/<speaker>/...    held-out sentences, training speakers
    <output>/eval_unseen/<speaker>/...  held-out sentences, held-out speakers
    <output>/report.json         hours per split, speakers, sentence and phone statistics
    <output>/failed.jsonl        items a teacher could not say (retried on the next run)

``--limit 0`` makes nothing and only rewrites report.json from the files on disk (safe while
another run is writing: it touches neither the audio nor the plan).

Resumable: an item whose .wav and .txt both exist is skipped. The .wav is written atomically
before the .txt, so an interrupted item is never half-present. Teachers are used here only.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import yaml
from tqdm import tqdm

from vall_e.audio import save_audio
from vall_e.data.corpus.plan import CorpusPlan, PlanItem, make_plan, write_plan
from vall_e.data.corpus.recipe import CorpusRecipe
from vall_e.data.corpus.report import build_report, item_paths
from vall_e.data.corpus.teachers import SAMPLE_RATE, make_teachers
from vall_e.data.shards import done_sources
from vall_e.data.timing import timing_path
from vall_e.errors import DataError, VallEError

FAILED_FILE = "failed.jsonl"
# Per-item failures worth recording and skipping (a teacher refusing a text, an onnxruntime
# error); anything else is a bug here and stops the run.
_ITEM_ERRORS = (VallEError, ValueError, RuntimeError)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _write_json(path: Path, data) -> None:
    _write_text(path, json.dumps(data, indent=2, ensure_ascii=False))


def _normalize(wav: np.ndarray, peak: float, item: PlanItem) -> np.ndarray:
    wav = np.asarray(wav, dtype=np.float32).reshape(-1)
    top = float(np.abs(wav).max()) if wav.size else 0.0
    if not np.isfinite(top) or top < 1e-4:
        raise DataError(f"{item.id}: the teacher returned silence or non-finite audio")
    return wav * (peak / top)


def _compact_failures(plan: CorpusPlan, output: Path) -> int:
    """Keep in failed.jsonl only the latest error of each item still missing; return how many.

    Failed items are retried by every run (they are simply not done), so an entry whose item
    now exists is stale. No entries left: no file.
    """
    path = output / FAILED_FILE
    if not path.exists():
        return 0
    latest = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            latest[entry["id"]] = entry
    missing = {item.id for item in plan.items if not is_done(output, item)}
    keep = [entry for item_id, entry in latest.items() if item_id in missing]
    if keep:
        _write_text(path, "\n".join(json.dumps(entry) for entry in keep))
    else:
        path.unlink()
    return len(keep)


def is_done(output: Path, item: PlanItem) -> bool:
    wav, txt = item_paths(output, item)
    return wav.is_file() and txt.is_file()


def _speak(teacher, item: PlanItem):
    """(waveform, TeacherTiming or None): teachers that can time their phonemes do."""
    if hasattr(teacher, "synthesize_timed"):
        return teacher.synthesize_timed(item.text, item.settings)
    return teacher.synthesize(item.text, item.settings), None


def _synthesize(plan: CorpusPlan, output: Path, todo: list[PlanItem], teachers: dict,
                quiet: bool) -> dict:
    """Make ``todo``; returns this run's counts and speed. Failures go to failed.jsonl and
    stderr."""
    peak = plan.recipe.teachers.peak
    failed, busy, audio_s = 0, 0.0, 0.0
    # Logs (not a terminal) get a refresh every 30 s instead of a flood of carriage returns.
    bar = tqdm(todo, desc="corpus", unit="item", disable=quiet, dynamic_ncols=True,
               mininterval=0.5 if sys.stderr.isatty() else 30.0)
    for item in bar:
        start = time.perf_counter()
        try:
            raw, timing = _speak(teachers[item.teacher], item)
            wav = _normalize(raw, peak, item)
        except _ITEM_ERRORS as error:
            failed += 1
            message = " ".join(str(error).split())
            with open(output / FAILED_FILE, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"id": item.id, "error": message}) + "\n")
            tqdm.write(f"skipped {item.id}: {message}", file=sys.stderr)
            continue
        busy += time.perf_counter() - start
        audio_s += wav.size / SAMPLE_RATE
        wav_path, txt_path = item_paths(output, item)
        wav_path.parent.mkdir(parents=True, exist_ok=True)
        if timing is not None:  # before the .wav: a finished item always has its timing
            _write_json(timing_path(wav_path), timing.to_dict())
        save_audio(wav_path, wav, SAMPLE_RATE)
        _write_text(txt_path, item.text)
        bar.set_postfix(audio_h=f"{audio_s / 3600:.2f}", rtf=f"{busy / max(audio_s, 1e-9):.2f}",
                        refresh=False)
    bar.close()
    return {"items_made": len(todo) - failed, "items_failed": failed,
            "audio_seconds": round(audio_s, 1),
            "synthesis_seconds": round(busy, 1),
            "rtf": round(busy / audio_s, 3) if audio_s else None}


def _prepared_ids(shard_dir: str | Path | None) -> set[str]:
    """Plan item ids whose audio ``prepare`` already stored in ``shard_dir`` (empty for None)."""
    if shard_dir is None:
        return set()
    shard_dir = Path(shard_dir)
    if not (shard_dir / "codec.json").is_file():
        raise DataError(f"--skip-prepared {shard_dir} is not a prepared shard directory "
                        "(no codec.json); give the --output of 'python -m vall_e.data prepare'")
    return {source[: -len(".wav")] for source in done_sources(shard_dir)
            if source.endswith(".wav")}


def build_corpus(recipe: CorpusRecipe, output: str | Path, *, limit: int | None = None,
                 quiet: bool = False, teachers: dict | None = None,
                 worker: tuple[int, int] = (0, 1),
                 skip_prepared: str | Path | None = None) -> dict:
    """Build (or resume) the corpus of ``recipe`` in ``output``; returns the report.

    ``limit`` makes at most that many missing items, in plan order (evaluation items first);
    the plan itself is always the whole corpus. ``teachers`` replaces the real teachers
    (name -> object with ``synthesize(text, settings)``), for tests. ``worker=(i, n)`` makes
    only the items at plan positions i, i + n, ...: n processes with i = 0..n-1 share a build
    (one core each) without touching each other's items. ``skip_prepared`` names a shard
    directory: items whose audio is already prepared there (source ``<item id>.wav``) are not
    made again, so a corpus whose audio was deleted after ``prepare`` can still be extended.
    """
    index, count = worker
    if not 0 <= index < count:
        raise DataError(f"--worker must be I/N with 0 <= I < N, got {index}/{count}")
    if limit is not None and limit < 0:
        raise DataError(f"--limit must be >= 0, got {limit}")
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise DataError(f"--output {output} exists and is not a directory")
    plan = make_plan(recipe)
    write_plan(plan, output)
    _write_text(output / "recipe.yaml", yaml.safe_dump(recipe.to_dict(), sort_keys=False).rstrip())
    _write_json(output / "splits.json", plan.splits())
    prepared = _prepared_ids(skip_prepared)
    todo = [item for position, item in enumerate(plan.items)
            if position % count == index and item.id not in prepared
            and not is_done(output, item)]
    if not quiet:
        print(f"corpus plan: {len(plan.items)} items, {len(plan.speakers)} speakers "
              f"({len(plan.heldout_speakers)} held out), "
              f"{len(plan.items) - len(todo)} already made"
              + (f" ({len(prepared)} of them as shards in {skip_prepared})" if prepared else "")
              + "; "
              f"making {min(len(todo), limit) if limit is not None else len(todo)} into {output}",
              file=sys.stderr)
    if limit is not None:
        todo = todo[:limit]
    if teachers is None:
        t = recipe.teachers
        teachers = make_teachers(t.threads, t.cache_dir, recipe.language)
    # Load every teacher the remaining items need before the first item: a missing package or
    # a corrupt model is one error now, not one failure per item.
    for name in sorted({item.teacher for item in todo}):
        if hasattr(teachers[name], "load"):
            teachers[name].load()
    timing = _synthesize(plan, output, todo, teachers, quiet)
    report = build_report(plan, output, failed=_compact_failures(plan, output),
                          generation=timing)
    _write_json(output / "report.json", report)
    return report
