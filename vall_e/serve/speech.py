"""``POST /v1/audio/speech``: validate everything, queue one job, answer with audio.

Every check that needs no model runs before the job is queued (a bad request never waits
behind others). A streaming answer waits for the first chunk before sending its headers, so
errors that happen before any audio exists (a profile that will not load, text that cannot
be phonemized) still get a JSON 4xx; an error after audio was sent can only cut the stream.
"""
from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from vall_e.errors import SamplingError, VallEError
from vall_e.serve import audio_formats
from vall_e.serve.errors import APIError, from_library
from vall_e.serve.schemas import SpeechRequest, sampler_overrides
from vall_e.serve.state import ServeState, require_key, serve_state
from vall_e.serve.synth import sampling_error
from vall_e.serve.worker import Job, QueueFull

log = logging.getLogger("vall_e.serve")
router = APIRouter(dependencies=[Depends(require_key)])


def _format(body: SpeechRequest, state: ServeState) -> str:
    fmt = body.response_format or ("mp3" if "mp3" in state.formats else "wav")
    if fmt not in state.formats:
        raise APIError(400, f"response_format {fmt[:40]!r} is not available here; this server "
                       f"encodes: {', '.join(state.formats)}", param="response_format",
                       code="unsupported_format")
    if body.stream and fmt not in audio_formats.STREAMABLE:
        raise APIError(400, f"stream: true sends {' or '.join(audio_formats.STREAMABLE)} (their "
                       f"bytes can be cut anywhere); {fmt} is only sent whole",
                       param="response_format")
    return fmt


def _check(body: SpeechRequest, state: ServeState) -> None:
    state.check_model(body.model)
    if body.instructions and body.instructions.strip():
        raise APIError(400, "instructions: this model takes no style prompt; leave it out",
                       param="instructions")
    if len(body.input) > state.config.max_input_chars:
        raise APIError(400, f"input is {len(body.input)} characters; this server takes at most "
                       f"{state.config.max_input_chars} per request", param="input")
    state.store.require(body.voice_id())


def submit(state: ServeState, work) -> Job:
    try:
        return state.worker.submit(work)
    except QueueFull:
        raise APIError(503, f"the server is busy ({state.worker.max_waiting} requests already "
                       "wait); retry later", "server_error", code="queue_full",
                       headers={"Retry-After": str(state.config.retry_after_seconds)}) from None


async def cancel_on_disconnect(request: Request, job: Job) -> None:
    """Cancel ``job`` when the client goes away (the worker stops at its next chunk)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            job.cancel()
            return


def as_api_error(exc: Exception) -> APIError:
    if isinstance(exc, APIError):
        return exc
    if isinstance(exc, SamplingError):
        return sampling_error(exc)
    if isinstance(exc, VallEError):
        return from_library(exc)
    log.exception("synthesis failed", exc_info=exc)
    return APIError(500, f"synthesis failed: {type(exc).__name__}", "server_error")


@router.post("/v1/audio/speech")
async def speech(body: SpeechRequest, request: Request):
    state = serve_state(request)
    fmt = _format(body, state)
    _check(body, state)
    config = state.synth.config(body.input, sampler_overrides(body), body.speed, bool(body.stream),
                                body.voice_match, body.voice_match_levels, body.repeat_short_prompt)
    job = submit(state, state.synth.work(config, body.voice_id()))
    watcher = asyncio.create_task(cancel_on_disconnect(request, job))
    chunks = job.results()
    try:
        first = await anext(chunks, None)
    except Exception as exc:
        watcher.cancel()
        raise as_api_error(exc) from None
    if body.stream:
        return _streaming(state, job, watcher, first, chunks, fmt)
    try:
        rest = [chunk async for chunk in chunks]
    except Exception as exc:
        raise as_api_error(exc) from None
    finally:
        watcher.cancel()
    if first is None:  # cancelled before any audio: the client has gone, nobody reads this
        return Response(status_code=499)
    audio = state.synth.join([first, *rest])
    data = await asyncio.to_thread(audio_formats.encode, audio, state.synth.sample_rate, fmt)
    return Response(data, media_type=audio_formats.content_type(fmt),
                    headers={"X-Sample-Rate": str(state.synth.sample_rate)})


def _streaming(state: ServeState, job: Job, watcher, first, chunks, fmt: str) -> StreamingResponse:
    rate = state.synth.sample_rate

    async def body():
        try:
            if fmt == "wav":
                yield audio_formats.wav_stream_header(rate)
            if first is not None:
                yield audio_formats.pcm16(first.audio, rate)
            async for chunk in chunks:
                yield audio_formats.pcm16(chunk.audio, rate)
        finally:  # also reached when the client disconnects mid-stream
            job.cancel()
            watcher.cancel()

    return StreamingResponse(body(), media_type=audio_formats.content_type(fmt),
                             headers={"X-Sample-Rate": str(state.synth.sample_rate)})
