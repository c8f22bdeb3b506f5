"""Training curves from Lightning's CSV logs (``<run>/logs/version_*/metrics.csv``).

A resumed run writes a new ``version_N`` that continues the step count, so the versions are
read in order and merged: where two versions logged the same metric at the same step (a run
killed between a log line and its checkpoint, then resumed), the later version wins. A CSV
row holds only the metrics logged at that step; the other columns are blank and ignored.
"""
from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import numpy as np

from vall_e.errors import DataError

_VERSION = re.compile(r"version_(\d+)$")


def metrics_files(path: str | Path) -> list[Path]:
    """The ``metrics.csv`` files of ``path``: the file itself, a ``version_*`` folder, a
    folder of versions, or a run directory with ``logs/``; versions in numeric order."""
    path = Path(path)
    if path.is_file():
        return [path]
    if (path / "metrics.csv").is_file():
        return [path / "metrics.csv"]
    for folder in (path, path / "logs"):
        versions = [p for p in folder.glob("version_*") if _VERSION.search(p.name)
                    and (p / "metrics.csv").is_file()] if folder.is_dir() else []
        if versions:
            versions.sort(key=lambda p: int(_VERSION.search(p.name).group(1)))
            return [p / "metrics.csv" for p in versions]
    raise DataError(f"no training log under {path}: expected metrics.csv, version_*/metrics.csv "
                    "or logs/version_*/metrics.csv (Lightning's CSV logger)")


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def read_training_log(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{metric: (steps, values)}`` merged over every version, sorted by step."""
    merged: dict[str, dict[int, float]] = {}
    for file in metrics_files(path):
        with open(file, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                step = _number(row.get("step"))
                if step is None:
                    continue
                for name, text in row.items():
                    value = _number(text)
                    if name in ("step", "epoch") or value is None:
                        continue
                    merged.setdefault(name, {})[int(step)] = value
    if not merged:
        raise DataError(f"the training log under {path} has no metric values yet")
    return {name: (np.array(sorted(points)), np.array([points[s] for s in sorted(points)]))
            for name, points in sorted(merged.items())}


def select(log: dict, pattern: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The metrics whose names match the regular expression ``pattern`` (``re.search``)."""
    rule = re.compile(pattern)
    return {name: curve for name, curve in log.items() if rule.search(name)}


def last_values(log: dict, names=None) -> dict[str, tuple[int, float]]:
    """``{metric: (last step, last value)}`` for ``names`` (all metrics when None)."""
    names = list(log) if names is None else [n for n in names if n in log]
    return {n: (int(log[n][0][-1]), float(log[n][1][-1])) for n in names}
