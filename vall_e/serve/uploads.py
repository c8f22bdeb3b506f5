"""``POST /v1/voices``: a reference recording (+ optional transcript) -> a saved profile.

The upload is checked before the model sees it: it must be audio that soundfile reads, no
longer than ``max_reference_seconds``; the whole body is capped by ``BodyLimit``. Encoding
runs on the worker (it uses the codec) and the profile gets a server-made id.
"""
from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import soundfile as sf
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile

from vall_e.serve.errors import APIError
from vall_e.serve.speech import as_api_error, cancel_on_disconnect, submit
from vall_e.serve.state import require_key, serve_state
from vall_e.serve.voices import clean_name

router = APIRouter(dependencies=[Depends(require_key)])
MAX_TRANSCRIPT_CHARS = 2000


def _check_audio(path: Path, max_seconds: float) -> None:
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError):
        raise APIError(400, "file: the upload is not audio this server reads (wav, flac, ogg, "
                       "mp3)", param="file", code="invalid_audio") from None
    if info.frames == 0 or info.samplerate <= 0:
        raise APIError(400, "file: the upload holds no audio", param="file", code="invalid_audio")
    seconds = info.frames / info.samplerate
    if seconds > max_seconds:
        raise APIError(400, f"file: the recording is {seconds:.1f} s; references may be at most "
                       f"{max_seconds:g} s (cut it)", param="file", code="audio_too_long")


@router.post("/v1/voices", status_code=201)
async def create_voice(request: Request, file: UploadFile = File(...),
                       transcript: str | None = Form(None), name: str | None = Form(None)):
    state = serve_state(request)
    if transcript is not None and len(transcript) > MAX_TRANSCRIPT_CHARS:
        raise APIError(400, f"transcript: at most {MAX_TRANSCRIPT_CHARS} characters",
                       param="transcript")
    display = clean_name(name, clean_name(Path(file.filename or "").stem, "uploaded voice"))
    with tempfile.TemporaryDirectory(prefix="vall_e_upload_") as folder:
        # our own file name: the client's filename is never used as a path
        path = Path(folder) / "reference"
        with path.open("wb") as out:
            await asyncio.to_thread(shutil.copyfileobj, file.file, out)
        _check_audio(path, state.config.max_reference_seconds)

        def work(job):
            yield state.store.create(path, transcript, display)

        job = submit(state, work)
        watcher = asyncio.create_task(cancel_on_disconnect(request, job))
        try:
            entries = [entry async for entry in job.results()]
        except Exception as exc:
            raise as_api_error(exc) from None
        finally:
            watcher.cancel()
    if not entries:
        raise APIError(499, "the client went away before the voice was made")
    return entries[0]
