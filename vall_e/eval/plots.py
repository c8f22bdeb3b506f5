"""Figures and tables for the ablation notebooks (matplotlib, imported when first drawn).

Each function takes the plain rows / summaries of ``vall_e.eval.ablations`` and returns a
matplotlib ``Figure`` (the notebook shows it) or a Markdown table (GitHub renders both in a
committed notebook). ``finding`` marks a notebook's one-line conclusion so that
``scripts/run_notebooks.py`` can collect it.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from vall_e.errors import ConfigError

FINDING = "**Finding:**"

# (key, label, format) of the columns the summaries share; percentages shown as such
COLUMNS = {
    "wer": ("WER", "{:.1%}"), "cer": ("CER", "{:.1%}"), "sim_own": ("sim. own", "{:.3f}"),
    "margin": ("sim. margin", "{:+.3f}"), "clip_seconds": ("clip s", "{:.2f}"),
    "ar_steps": ("AR steps", "{:.0f}"), "stopped": ("stopped", "{:.0%}"),
    "ms_per_step": ("ms/AR step", "{:.1f}"), "layer_fraction": ("layers run", "{:.0%}"),
    "rtf": ("RTF", "{:.3f}"), "mel_l1": ("log-mel L1", "{:.3f}"), "items": ("clips", "{}"),
    "model_mib": ("model MiB", "{:.1f}"), "disk_mib": ("disk MiB", "{:.1f}"),
    "build_seconds": ("build s", "{:.1f}"),
}


def pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError('plots need matplotlib: pip install -e ".[dev]"') from None
    return plt


def _cell(value, fmt: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return fmt.format(value) if not isinstance(value, str) else value


def markdown_table(summary: Sequence[dict], key: str, columns: Sequence[str]):
    """A Markdown table: one row per summary line, ``key`` first, then ``columns``."""
    from IPython.display import Markdown

    head = [key] + [COLUMNS.get(c, (c, ""))[0] for c in columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for line in summary:
        cells = [str(line[key])] + [_cell(line.get(c), COLUMNS.get(c, (c, "{}"))[1])
                                    for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return Markdown("\n".join(lines))


def describe(line: dict, columns: Sequence[str]) -> str:
    """``"WER 12.0%, sim. own 0.812"``: the ``columns`` of one summary line, formatted."""
    return ", ".join(f"{COLUMNS.get(c, (c,))[0]} {_cell(line.get(c), COLUMNS.get(c, (c, '{}'))[1])}"
                     for c in columns)


def finding(text: str):
    """The notebook's one-line conclusion, marked for ``scripts/run_notebooks.py``."""
    from IPython.display import Markdown

    return Markdown(f"{FINDING} {text}")


def _values(summary, column):
    return [np.nan if s.get(column) is None else float(s[column]) for s in summary]


def bar_panels(summary: Sequence[dict], key: str, columns: Sequence[str], title: str = ""):
    """One horizontal bar chart per column, the settings (``key``) down the side."""
    plt = pyplot()
    labels = [str(s[key]) for s in summary]
    fig, axes = plt.subplots(1, len(columns), figsize=(3.2 * len(columns), 0.35 * len(labels) + 1.6),
                             sharey=True, squeeze=False)
    for ax, column in zip(axes[0], columns):
        values = _values(summary, column)
        ax.barh(range(len(labels)), np.nan_to_num(values), color="tab:blue")
        ax.set_title(COLUMNS.get(column, (column,))[0])
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].set_yticks(range(len(labels)), labels)
    axes[0][0].invert_yaxis()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def xy_panels(summary: Sequence[dict], x: str, columns: Sequence[str], xlabel: str = "",
              title: str = "", logx: bool = False):
    """One line plot per column against the numeric ``x`` of each summary line."""
    plt = pyplot()
    xs = _values(summary, x)
    fig, axes = plt.subplots(1, len(columns), figsize=(3.4 * len(columns), 3), squeeze=False)
    for ax, column in zip(axes[0], columns):
        ax.plot(xs, _values(summary, column), marker="o")
        ax.set_title(COLUMNS.get(column, (column,))[0])
        ax.set_xlabel(xlabel or x)
        if logx:
            ax.set_xscale("log", base=2)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def exit_layer_plot(trace: dict):
    """The depth each AR step exited at, along one utterance."""
    plt = pyplot()
    layers = trace["layers"]
    fig, ax = plt.subplots(figsize=(9, 2.8))
    ax.step(range(1, len(layers) + 1), layers, where="mid")
    ax.axhline(np.mean(layers) if layers else 0, color="tab:orange", ls="--",
               label=f"mean {np.mean(layers) if layers else 0:.2f}")
    ax.set_ylim(0.5, trace["n_layers"] + 0.5)
    ax.set_yticks(range(1, trace["n_layers"] + 1))
    ax.set_xlabel("AR step (level-0 frame)")
    ax.set_ylabel("layers run")
    ax.set_title(f"exit layer per token: \u201c{trace['text'][:60]}\u201d")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def spectrograms(audio: dict, sample_rate: int, title: str = ""):
    """Log-mel spectrograms side by side, one per entry of ``audio`` ({label: wav})."""
    from vall_e.eval.ablations import log_mel

    plt = pyplot()
    mels = {label: log_mel(wav, sample_rate).numpy() for label, wav in audio.items()}
    low = min(float(m.min()) for m in mels.values())
    high = max(float(m.max()) for m in mels.values())
    fig, axes = plt.subplots(1, len(mels), figsize=(3.2 * len(mels), 2.8), sharey=True,
                             squeeze=False)
    for ax, (label, mel) in zip(axes[0], mels.items()):
        ax.imshow(mel, origin="lower", aspect="auto", vmin=low, vmax=high, cmap="magma",
                  extent=(0, mel.shape[1] / 100, 0, mel.shape[0]))
        ax.set_title(str(label))
        ax.set_xlabel("seconds")
    axes[0][0].set_ylabel("mel bin")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def curve_panels(panels: dict, title: str = "", smooth: int = 1):
    """One plot per panel ``{panel title: {metric: (steps, values)}}``; ``smooth`` > 1 adds
    a running mean over that many logged points (the raw curve stays, faded)."""
    plt = pyplot()
    panels = {name: curves for name, curves in panels.items() if curves}
    if not panels:
        raise ConfigError("no curves to plot: the log has none of the metrics asked for")
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.2), squeeze=False)
    for ax, (name, curves) in zip(axes[0], panels.items()):
        for metric, (steps, values) in curves.items():
            if smooth > 1 and len(values) > smooth:
                line, = ax.plot(steps, values, alpha=0.25)
                kernel = np.ones(smooth) / smooth
                ax.plot(steps[smooth - 1:], np.convolve(values, kernel, "valid"),
                        color=line.get_color(), label=metric)
            else:
                ax.plot(steps, values, marker="." if len(values) < 30 else None, label=metric)
        ax.set_title(name)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
