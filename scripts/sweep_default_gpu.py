"""Train variants of the default model side by side on one lent GPU and bring the best back.

A lent GPU comes for minutes, on a bare machine whose files are lost when it goes back, and
only a few files of at most 16 MiB return from it. So this script does the whole job in one
command there:

    python scripts/sweep_default_gpu.py --minutes 7 --out "$OUT" --bring 3 \\
        --run a:train.batch_size=8,train.learning_rate=3e-4,train.max_steps=1200 \\
        --run b:train.batch_size=32,train.learning_rate=6e-4,train.max_steps=1500

Each ``--run NAME:KEY=VALUE,...`` is ``--yaml`` (default configs/default.yaml) with dotted
overrides, trained by ``python -m vall_e.train`` into ``--runs-dir/NAME``, all at once, each
stopped by ``train.max_minutes``. Afterwards every exported checkpoint is ranked by the
validation level-0 loss logged at its step (``--metric``); the best step of each of the
``--bring`` best runs is written to ``--out`` in bfloat16 (the shipped precision) as ``NAME-step-N.tar.partXX`` pieces under
16 MiB, with every run's metrics in ``metrics.tar.gz`` and the ranking in ``ranking.txt``.
Put a checkpoint back together here with
``cat NAME-step-N.tar.part* | tar -x -C DIR``.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import yaml

PART_BYTES = 15 * 1024 * 1024  # a returned file is at most 16 MiB


def parse_run(text: str) -> tuple[str, dict]:
    """``NAME:a.b=1,c.d=x`` -> (NAME, {"a.b": 1, "c.d": "x"}); values parsed as YAML scalars."""
    name, _, spec = text.partition(":")
    if not name.isidentifier():
        raise SystemExit(f"--run {text!r}: the name before ':' must be a plain identifier")
    overrides = {}
    for item in filter(None, spec.split(",")):
        key, sep, value = item.partition("=")
        if not sep or "." not in key:
            raise SystemExit(f"--run {text!r}: '{item}' is not SECTION.KEY=VALUE")
        overrides[key] = yaml.safe_load(value)
        if isinstance(overrides[key], str):  # YAML 1.1 reads "3e-4" as a string
            try:
                overrides[key] = float(value)
            except ValueError:
                pass
    return name, overrides


def write_config(base: Path, overrides: dict, output_dir: Path, minutes: float, path: Path) -> None:
    config = yaml.safe_load(base.read_text())
    for key, value in {**overrides, "train.output_dir": str(output_dir),
                       "train.max_minutes": minutes}.items():
        section, _, field = key.partition(".")
        config.setdefault(section, {})[field] = value
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def val_losses(run_dir: Path, metric: str) -> dict[int, float]:
    """Validation ``metric`` by the global step it was logged after (all starts of the run)."""
    losses = {}
    for metrics in sorted(run_dir.glob("logs/version_*/metrics.csv")):
        with metrics.open() as f:
            for row in csv.DictReader(f):
                if row.get(metric):
                    losses[int(row["step"])] = float(row[metric])
    return losses


def ranked_checkpoints(runs: dict[str, Path], metric: str) -> list[tuple[float, str, Path]]:
    """(loss, run name, checkpoint dir) of every exported step that has a validation score,
    best first. Lightning logs a validation after step N as step N or N - 1."""
    ranked = []
    for name, run_dir in runs.items():
        losses = val_losses(run_dir, metric)
        for checkpoint in sorted(run_dir.glob("checkpoints/step-*")):
            step = int(checkpoint.name.removeprefix("step-"))
            loss = losses.get(step, losses.get(step - 1))
            if loss is not None:
                ranked.append((loss, name, checkpoint))
    return sorted(ranked)


def best_of_each_run(ranked: list) -> list:
    """Each run's best checkpoint, best runs first: neighbouring steps of one run differ little,
    so returning one of each run says more than several steps of the best run."""
    best = {}
    for loss, name, checkpoint in ranked:
        best.setdefault(name, (loss, name, checkpoint))
    return sorted(best.values())


def ranking_table(runs: dict[str, Path], specs: dict, ranked: list, elapsed: float, metric: str) -> str:
    lines = []
    for name, run_dir in runs.items():
        steps = [int(c.name.removeprefix("step-")) for c in run_dir.glob("checkpoints/step-*")]
        lines.append(f"{name}: {max(steps, default=0)} steps in {elapsed / 60:.1f} min, {specs[name]}")
    lines.append(f"{metric}, best first")
    lines += [f"{loss:.4f}  {name}  {checkpoint.name}" for loss, name, checkpoint in ranked]
    return "\n".join(lines) + "\n"


def archive_metrics(runs: dict[str, Path], runs_dir: Path, path: Path) -> None:
    """Every run's config, log and metrics.csv files in one small returned file."""
    with tarfile.open(path, "w:gz") as tar:
        for name, run_dir in runs.items():
            for file in (runs_dir / f"{name}.yaml", runs_dir / f"{name}.log"):
                tar.add(file, arcname=f"{name}/{file.name}")
            for metrics in run_dir.glob("logs/version_*/metrics.csv"):
                tar.add(metrics, arcname=f"{name}/{metrics.parent.name}-metrics.csv")


def write_parts(directory: Path, arcname: str, out: Path) -> list[Path]:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(directory, arcname=arcname)
    data = buffer.getvalue()
    parts = []
    for index, start in enumerate(range(0, len(data), PART_BYTES)):
        part = out / f"{arcname}.tar.part{index:02d}"
        part.write_bytes(data[start:start + PART_BYTES])
        parts.append(part)
    return parts


def bring_back(checkpoint: Path, name: str, out: Path) -> list[Path]:
    """The checkpoint in bfloat16 (as shipped), tarred and cut into returnable pieces."""
    import torch

    from vall_e.checkpoint import load_checkpoint, save_like

    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "model"
        save_like(load_checkpoint(checkpoint, dtype=torch.bfloat16), staged)
        return write_parts(staged, f"{name}-{checkpoint.name}", out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="append", required=True, metavar="NAME:KEY=VALUE,...")
    parser.add_argument("--yaml", type=Path, default=Path("configs/default.yaml"))
    parser.add_argument("--minutes", type=float, required=True, help="train.max_minutes of every run")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/sweep"))
    parser.add_argument("--out", type=Path, required=True, help="where the returned files go")
    parser.add_argument("--bring", type=int, default=3, help="best checkpoints to return")
    parser.add_argument("--metric", default="val/level0_loss")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads per run")
    args = parser.parse_args(argv)
    specs = dict(parse_run(text) for text in args.run)
    args.out.mkdir(parents=True, exist_ok=True)
    args.runs_dir.mkdir(parents=True, exist_ok=True)

    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), PYTHONUNBUFFERED="1")
    runs, procs, logs, started = {}, {}, [], time.monotonic()
    for name, overrides in specs.items():
        runs[name] = args.runs_dir / name
        config = args.runs_dir / f"{name}.yaml"
        write_config(args.yaml, overrides, runs[name], args.minutes, config)
        logs.append((args.runs_dir / f"{name}.log").open("w"))
        procs[name] = subprocess.Popen(
            [sys.executable, "-m", "vall_e.train", "--yaml", str(config), "--quiet"],
            stdout=logs[-1], stderr=subprocess.STDOUT, env=env)
    failed = [name for name, proc in procs.items() if proc.wait() != 0]
    for log in logs:
        log.close()
    for name in failed:
        print(f"run {name} failed; the end of its log:", file=sys.stderr)
        print((args.runs_dir / f"{name}.log").read_text()[-3000:], file=sys.stderr)

    elapsed = time.monotonic() - started
    ranked = ranked_checkpoints(runs, args.metric)
    table = ranking_table(runs, specs, ranked, elapsed, args.metric)
    (args.out / "ranking.txt").write_text(table)
    print(table)
    archive_metrics(runs, args.runs_dir, args.out / "metrics.tar.gz")
    for loss, name, checkpoint in best_of_each_run(ranked)[:args.bring]:
        parts = bring_back(checkpoint, name, args.out)
        print(f"returned {name}/{checkpoint.name} ({loss:.4f}): {', '.join(p.name for p in parts)}")
    return 1 if failed and not ranked else 0


if __name__ == "__main__":
    sys.exit(main())
