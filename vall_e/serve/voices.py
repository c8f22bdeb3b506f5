"""Voices the server speaks with: the model's shipped voices and saved speaker profiles.

A request's ``voice`` is only ever compared against the shipped names or matched against
``spk_<16 hex>`` (ids this server generated) before a file name is built from it, so no
voice string reaches the filesystem as a path. Encoding a reference runs the codec, so
``create`` and ``resolve`` are called on the worker thread, never beside a synthesis.
"""
from __future__ import annotations

import json
import re
import secrets
import threading
from pathlib import Path

from vall_e.errors import VallEError
from vall_e.inference.speaker import SpeakerProfile, save_speaker
from vall_e.serve.errors import APIError

PROFILE_ID = re.compile(r"^spk_[0-9a-f]{16}$")
_NAME = re.compile(r"[^\w .,()'-]+")


def clean_name(name: str | None, fallback: str) -> str:
    """A display name: printable, at most 64 characters (shown in lists, never a path)."""
    name = _NAME.sub("", (name or "").strip())[:64].strip()
    return name or fallback


class VoiceStore:
    def __init__(self, interface, directory: Path):
        self.interface = interface
        self.directory = directory
        self._speakers: dict[str, SpeakerProfile] = {}  # voice id -> encoded profile
        self._meta: dict[str, dict] = {}  # profile id -> listing entry
        self._lock = threading.Lock()

    # ----- checks that need no model (request threads) -------------------------------------
    def require(self, voice: str) -> None:
        """400 unless ``voice`` names a shipped voice or a saved profile."""
        if voice in self.interface.voices:
            return
        if PROFILE_ID.match(voice) and (self.directory / f"{voice}.json").is_file():
            return
        known = ", ".join(self.interface.voices) or "none"
        raise APIError(400, f"unknown voice {voice[:80]!r}: use a shipped voice ({known}) or the "
                       "id of a profile from POST /v1/voices (GET /v1/audio/voices lists them)",
                       param="voice", code="voice_not_found")

    def listing(self) -> list[dict]:
        shipped = [{"id": v, "name": v, "kind": "shipped"} for v in self.interface.voices]
        return shipped + [self._entry(path) for path in self._profile_files()
                          if self._entry(path) is not None]

    def _profile_files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.glob("spk_*.json") if PROFILE_ID.match(p.stem))

    def _entry(self, path: Path) -> dict | None:
        with self._lock:
            if path.stem in self._meta:
                return self._meta[path.stem]
        try:
            profile = SpeakerProfile.from_dict(json.loads(path.read_text()), where=path.name)
            profile.require_codec(self.interface.engine.codec.info, "this server's model")
        except (OSError, ValueError):
            return None  # unreadable, or made for another model's codec: not usable here
        entry = _describe(path.stem, profile)
        with self._lock:
            self._meta[path.stem] = entry
        return entry

    # ----- model work (worker thread) ------------------------------------------------------
    def resolve(self, voice: str) -> SpeakerProfile:
        self.require(voice)
        with self._lock:
            cached = self._speakers.get(voice)
        if cached is not None:
            return cached
        if voice in self.interface.voices:
            speaker = self.interface.named_speaker(voice)
        else:
            speaker = self.interface.load_speaker(self.directory / f"{voice}.json")
        with self._lock:
            self._speakers[voice] = speaker
        return speaker

    def create(self, wav: Path, transcript: str | None, name: str) -> dict:
        """Encode ``wav`` into a profile saved under a fresh server-made id."""
        try:
            profile = self.interface.create_speaker(wav, transcript or None)
        except VallEError as exc:
            raise APIError(400, str(exc), param="file") from None
        except ValueError as exc:  # a reference the codec cannot take
            raise APIError(400, f"the upload could not be used as a reference: {exc}",
                           param="file") from None
        profile.source = name
        voice_id = f"spk_{secrets.token_hex(8)}"
        try:
            save_speaker(profile, self.directory / f"{voice_id}.json")
        except OSError as exc:  # the operator's directory, not the client's input: a 500
            raise APIError(500, f"cannot save the profile in the server's voices directory: "
                           f"{exc.strerror}", "server_error") from None
        entry = _describe(voice_id, profile)
        with self._lock:
            self._speakers[voice_id], self._meta[voice_id] = profile, entry
        return entry


def _describe(voice_id: str, profile: SpeakerProfile) -> dict:
    return {"id": voice_id, "name": profile.source or voice_id, "kind": "profile",
            "seconds": round(profile.seconds, 2), "transcript": profile.transcript is not None}
