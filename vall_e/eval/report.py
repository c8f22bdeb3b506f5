"""The human-readable table and the JSON document of an evaluation."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

_COLUMNS = (  # (header, key, format); percentages are shown as such
    ("WER%", "wer", "{:.1%}"), ("CER%", "cer", "{:.1%}"), ("SIM own", "sim_own", "{:.3f}"),
    ("SIM others", "sim_others", "{:.3f}"), ("margin", "margin", "{:+.3f}"),
    ("RTF", "rtf", "{:.3f}"), ("AR steps/s", "ar_steps_per_audio_second", "{:.1f}"),
    ("items", "items", "{}"), ("failed", "failed", "{}"),
)


def _cell(value, fmt: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return fmt.format(value).replace("%", "")


def format_table(summary: dict) -> str:
    """One line per reference and an ``overall`` line; ``-`` where a number does not apply."""
    names = list(summary["per_reference"]) + ["overall"]
    width = max(len(n) for n in names + ["reference"])
    header = "reference".ljust(width) + "".join(f"  {h:>10}" for h, _, _ in _COLUMNS)
    lines = [header, "-" * len(header)]
    for name in names:
        agg = summary["overall"] if name == "overall" else summary["per_reference"][name]
        if name == "overall":
            lines.append("-" * len(header))
        lines.append(name.ljust(width) + "".join(f"  {_cell(agg[k], f):>10}" for _, k, f in _COLUMNS))
    return "\n".join(lines)


def _finite(value):
    """JSON has no NaN or infinity: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def write_json(path: str | Path, document: dict) -> Path:
    """Write ``document`` to ``path`` (through a temporary file, so a reader never sees half)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(_finite(document), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
