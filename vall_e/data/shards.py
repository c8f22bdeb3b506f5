"""On-disk format of prepared data: phonemes + codec codes in numpy shards.

A prepared directory holds:

- ``codec.json``: ``CodecInfo.to_dict()`` plus ``"format": "vall_e.codes", "version": 1``. Every
  shard in the directory was made with this codec; loading with another codec is refused.
- ``shard-00000.npz``, ``shard-00001.npz``, ...: arrays (never pickled objects)

  ``codes``            int16 [K, sum T]   every utterance's codes concatenated along time
  ``offsets``          int64 [N + 1]      utterance i is ``codes[:, offsets[i]:offsets[i+1]]``
  ``phonemes``         unicode [sum P]    every utterance's phoneme tokens concatenated
  ``phoneme_offsets``  int64 [N + 1]      utterance i is ``phonemes[po[i]:po[i+1]]``
  ``durations``        int16 [sum P + 2N] (optional: only when every utterance of the shard has
                       them) frames of bos, each phoneme and eos; utterance i's are
                       ``durations[po[i] + 2i : po[i+1] + 2i + 2]``, summing to its frames

- ``shard-00000.json``: the sidecar, ``{"utterances": [{"id", "speaker", "text", "source",
  "n_frames", "n_phonemes"}, ...]}`` in the same order as the arrays (``source``: the input
  file it came from, which is how a rerun of ``prepare`` knows what is done).
- ``failed.jsonl``: one ``{"source", "reason"}`` object per line for inputs that were skipped.
- ``manifest.json`` (optional, ``vall_e.data.manifest``): sha256 of every shard file, checked by
  ``load_prepared`` and ``prepare``; prepare rewrites it after adding shards.

Writes are atomic (temporary name, then ``os.replace``) and the sidecar is written after its
``.npz``, so a sidecar implies a complete shard: ``done_sources`` and ``load_prepared`` trust only
shards that have one, and an interrupted run loses at most the shard it was building.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from vall_e.codecs import CodecInfo
from vall_e.data.manifest import verify_manifest
from vall_e.errors import DataError

FORMAT = "vall_e.codes"
VERSION = 1
CODEC_FILE = "codec.json"
FAILED_FILE = "failed.jsonl"
_SHARD_RE = re.compile(r"^shard-(\d{5,})\.(npz|json)$")
_INT16_MAX = np.iinfo(np.int16).max


@dataclass
class Utterance:
    """One prepared utterance. ``codes`` is int16 [K, T]; ``phonemes`` uses " " between words."""

    id: str
    speaker: str
    text: str
    phonemes: list[str]
    codes: np.ndarray
    # frames of [bos, phonemes..., eos], each >= 1, summing to T (vall_e.data.durations);
    # None where no teacher or aligner timed the utterance
    durations: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        return int(self.codes.shape[1])


def _atomic_write(path: Path, write) -> None:
    """Call ``write(file)`` on a temporary sibling, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _write_json(path: Path, obj: dict) -> None:
    data = (json.dumps(obj, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    _atomic_write(path, lambda handle: handle.write(data))


def _read_codec_json(path: Path) -> CodecInfo:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable codec description ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise DataError(f"{path}: not a vall_e codes description (format != '{FORMAT}')")
    if raw.get("version") != VERSION:
        raise DataError(f"{path}: format version {raw.get('version')} unsupported; re-run prepare")
    fields = {k: v for k, v in raw.items() if k not in ("format", "version")}
    return CodecInfo.from_dict(fields)


def _shard_indices(data_dir: Path, suffix: str) -> list[int]:
    found = (_SHARD_RE.match(p.name) for p in data_dir.iterdir()) if data_dir.is_dir() else ()
    return sorted(int(m.group(1)) for m in found if m and m.group(2) == suffix)


def _sidecar(data_dir: Path, index: int) -> Path:
    return data_dir / f"shard-{index:05d}.json"


def _read_sidecar(path: Path) -> list[dict]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))["utterances"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(
            f"{path}: corrupt shard sidecar ({exc}); delete it and re-run prepare"
        ) from None


def done_sources(out_dir: str | Path) -> set[str]:
    """Sources of every utterance already stored in a complete shard of ``out_dir``."""
    out_dir = Path(out_dir)
    return {
        row["source"]
        for index in _shard_indices(out_dir, "json")
        for row in _read_sidecar(_sidecar(out_dir, index))
    }


def failed_sources(out_dir: str | Path) -> dict[str, str]:
    """``{source: reason}`` from ``failed.jsonl`` (the last reason wins); empty when absent."""
    path = Path(out_dir) / FAILED_FILE
    failed: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
                failed[row["source"]] = row["reason"]
            except (ValueError, KeyError, TypeError):
                continue  # a line torn by a crash mid-append: the source is simply retried
    return failed


def record_failure(out_dir: str | Path, source: str, reason: str) -> None:
    """Append one ``{"source", "reason"}`` line to ``failed.jsonl`` (reason kept to one line)."""
    reason = " ".join(str(reason).split())
    line = json.dumps({"source": source, "reason": reason}, ensure_ascii=False)
    with open(Path(out_dir) / FAILED_FILE, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


class ShardWriter:
    """Buffers utterances and writes them ``shard_size`` at a time into ``out_dir``.

    Creating a writer on a directory that already holds data made with another codec raises
    ``CodecMismatchError``; on a directory made with the same codec it appends new shards after
    the existing ones, which is what makes ``prepare`` resumable.
    """

    def __init__(self, out_dir: str | Path, codec_info: CodecInfo, shard_size: int = 128):
        if shard_size <= 0:
            raise DataError(f"shard_size must be positive, got {shard_size}")
        if codec_info.codebook_size - 1 > _INT16_MAX:
            raise DataError(
                f"codec '{codec_info.name}' has {codec_info.codebook_size} codes per level; "
                f"shards store int16 codes (at most {_INT16_MAX + 1})"
            )
        self.out_dir = Path(out_dir)
        self.codec_info = codec_info
        self.shard_size = shard_size
        self.out_dir.mkdir(parents=True, exist_ok=True)
        codec_file = self.out_dir / CODEC_FILE
        if codec_file.is_file():
            _read_codec_json(codec_file).require_match(codec_info, f"codes in {self.out_dir}")
        else:
            _write_json(codec_file, {**codec_info.to_dict(), "format": FORMAT, "version": VERSION})
        # Continue after every index in use, including an orphan .npz whose sidecar never landed.
        used = _shard_indices(self.out_dir, "npz") + _shard_indices(self.out_dir, "json")
        self._next_index = max(used) + 1 if used else 0
        self._buffer: list[tuple[Utterance, str]] = []
        self.shards_written = 0

    def add(self, utt: Utterance, source: str) -> None:
        """Queue ``utt`` (prepared from ``source``); writes a shard when the buffer is full."""
        codes = np.asarray(utt.codes)
        if codes.ndim != 2 or codes.shape[0] != self.codec_info.n_levels:
            raise DataError(
                f"{utt.id}: codes shape {codes.shape} is not [{self.codec_info.n_levels}, T]"
            )
        if codes.size and (codes.min() < 0 or codes.max() >= self.codec_info.codebook_size):
            raise DataError(f"{utt.id}: codes outside [0, {self.codec_info.codebook_size})")
        if utt.durations is not None and (
                len(utt.durations) != len(utt.phonemes) + 2
                or int(np.sum(utt.durations)) != codes.shape[1] or np.min(utt.durations) < 1):
            raise DataError(f"{utt.id}: durations must give each of bos, the "
                            f"{len(utt.phonemes)} phonemes and eos >= 1 frame, "
                            f"{codes.shape[1]} frames in all")
        self._buffer.append((replace(utt, codes=codes.astype(np.int16)), str(source)))
        if len(self._buffer) >= self.shard_size:
            self.flush()

    def flush(self) -> None:
        """Write the buffered utterances (if any) as one shard."""
        if not self._buffer:
            return
        utts = [u for u, _ in self._buffer]
        arrays = _pack(utts, self.codec_info.n_levels)
        npz_path = self.out_dir / f"shard-{self._next_index:05d}.npz"
        _atomic_write(npz_path, lambda handle: np.savez(handle, **arrays))
        rows = [
            {"id": u.id, "speaker": u.speaker, "text": u.text, "source": src,
             "n_frames": u.n_frames, "n_phonemes": len(u.phonemes)}
            for u, src in self._buffer
        ]
        _write_json(_sidecar(self.out_dir, self._next_index), {"utterances": rows})
        self._next_index += 1
        self.shards_written += 1
        self._buffer = []

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> "ShardWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _pack(utts: list[Utterance], n_levels: int) -> dict[str, np.ndarray]:
    """Concatenate utterances into the flat arrays of one shard."""
    frames = np.cumsum([0] + [u.n_frames for u in utts], dtype=np.int64)
    phone_offsets = np.cumsum([0] + [len(u.phonemes) for u in utts], dtype=np.int64)
    codes = np.concatenate([u.codes for u in utts], axis=1) if utts else np.zeros((n_levels, 0))
    tokens = [p for u in utts for p in u.phonemes]
    # dtype=str gives a fixed-width '<U..' array; an empty list still needs a unicode dtype.
    phonemes = np.array(tokens, dtype=str) if tokens else np.zeros(0, dtype="<U1")
    arrays = {"codes": codes.astype(np.int16), "offsets": frames,
              "phonemes": phonemes, "phoneme_offsets": phone_offsets}
    if utts and all(u.durations is not None for u in utts):
        arrays["durations"] = np.concatenate([u.durations for u in utts]).astype(np.int16)
    return arrays


def _load_shard(data_dir: Path, index: int) -> list[Utterance]:
    rows = _read_sidecar(_sidecar(data_dir, index))
    npz_path = data_dir / f"shard-{index:05d}.npz"
    try:
        with np.load(npz_path, allow_pickle=False) as npz:
            codes, offsets = npz["codes"], npz["offsets"]
            phonemes, phone_offsets = npz["phonemes"], npz["phoneme_offsets"]
            durations = npz["durations"] if "durations" in npz.files else None
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(
            f"{npz_path}: unreadable shard ({exc}); delete it and its .json, re-run prepare"
        ) from None
    if len(offsets) != len(rows) + 1 or len(phone_offsets) != len(rows) + 1:
        raise DataError(f"{npz_path}: {len(rows)} utterances in the sidecar but not in the arrays")
    return [
        Utterance(
            id=row["id"], speaker=row["speaker"], text=row["text"],
            phonemes=phonemes[phone_offsets[i]:phone_offsets[i + 1]].tolist(),
            codes=codes[:, offsets[i]:offsets[i + 1]],
            durations=(None if durations is None else
                       durations[phone_offsets[i] + 2 * i:phone_offsets[i + 1] + 2 * i + 2]),
        )
        for i, row in enumerate(rows)
    ]


def load_prepared(
    data_dir: str | Path, expected: CodecInfo | None = None
) -> tuple[CodecInfo, list[Utterance]]:
    """Load every complete shard of ``data_dir`` in shard order.

    Raises ``DataError`` when ``data_dir`` was never prepared and ``CodecMismatchError`` when it
    was prepared with a codec other than ``expected``.
    """
    data_dir = Path(data_dir)
    codec_file = data_dir / CODEC_FILE
    if not codec_file.is_file():
        raise DataError(
            f"no prepared data at {data_dir}: run python -m vall_e.data prepare "
            f"--input <corpus> --output {data_dir}"
        )
    info = _read_codec_json(codec_file)
    if expected is not None:
        info.require_match(expected, f"codes in {data_dir}")
    verify_manifest(data_dir)
    utterances: list[Utterance] = []
    for index in _shard_indices(data_dir, "json"):
        utterances.extend(_load_shard(data_dir, index))
    return info, utterances
