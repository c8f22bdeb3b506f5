"""Exact phoneme timings from the teachers, captured while they synthesize.

Our corpus is synthesized, so when each phoneme is spoken is known exactly; nothing has to be
learned to align it. Each teacher returns a ``vall_e.data.timing.TeacherTiming`` beside its
waveform; ``vall_e.data.durations`` maps it onto our phoneme tokens and codec frames.

- **Kokoro**: the graph computes integer frame counts per input token (25 ms frames) in the
  tensor ``/encoder/Cast_output_0``. ``timed_kokoro_model`` exposes it as a second graph
  output; the audio stays bit-identical. The output must not be named ``duration``: kokoro_onnx
  then switches to timed synthesis, which inserts pauses and changes the audio. A session
  proxy (``DurationTap``) keeps the extra output of every run while kokoro_onnx uses the first.
- **Piper**: Piper 1.8 patches its own graph (``add_alignment_output``) and returns samples per
  phoneme, with pads folded into the preceding phoneme.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from vall_e.data.timing import TeacherTiming
from vall_e.errors import DataError

KOKORO_DURATION_TENSOR = "/encoder/Cast_output_0"


def timed_kokoro_model(model_path: Path, out: Path) -> Path:
    """Write (once) Kokoro's graph with ``/encoder/Cast_output_0`` as a second output."""
    if out.is_file() and out.stat().st_mtime >= model_path.stat().st_mtime:
        return out
    try:
        import onnx
    except ImportError:
        raise DataError('teacher durations need the package onnx; install it with: '
                        'pip install -e ".[data]"') from None
    model = onnx.load(str(model_path))
    if KOKORO_DURATION_TENSOR not in {o.name for o in model.graph.output}:
        info = onnx.helper.make_tensor_value_info(KOKORO_DURATION_TENSOR, onnx.TensorProto.INT64, None)
        model.graph.output.append(info)
    tmp = out.with_name(f".{out.name}.tmp")
    onnx.save(model, str(tmp))
    tmp.replace(out)
    return out


class DurationTap:
    """An onnxruntime session stand-in that remembers the last run's extra outputs.

    kokoro_onnx reads only ``outputs[0]`` (the audio) when no output is named ``duration``; the
    durations of every run are kept in ``runs`` for the caller, who clears it per utterance.
    """

    def __init__(self, session):
        self._session = session
        self.runs: list[np.ndarray] = []

    def run(self, output_names, inputs, *args, **kwargs):
        outputs = self._session.run(output_names, inputs, *args, **kwargs)
        if len(outputs) > 1:
            self.runs.append(np.asarray(outputs[1]).reshape(-1))
        return outputs

    def __getattr__(self, name):
        return getattr(self._session, name)


def kokoro_batch_timing(symbols: str, durations: np.ndarray, raw_length: int, head: int,
                        length: int) -> tuple[list[int], list[int]]:
    """Spans of one Kokoro batch's symbols in its trimmed audio.

    ``durations`` are the graph's frame counts for [pad, symbols..., pad]; the raw audio is
    ``raw_length`` samples, trimmed to ``raw[head:head + length]``. Boundaries are scaled so the
    counts fill the raw audio exactly (600 samples a frame in practice).
    """
    durations = np.asarray(durations, np.int64)
    if len(durations) != len(symbols) + 2:
        raise DataError(f"Kokoro returned {len(durations)} durations for {len(symbols)} symbols + 2 pads")
    edges = np.concatenate([[0], np.cumsum(durations)]).astype(np.float64)
    edges = np.round(edges * (raw_length / edges[-1])).astype(np.int64) - head
    edges = np.clip(edges, 0, length)
    return edges[1:-2].tolist(), edges[2:-1].tolist()
