"""What one server process holds: the loaded model, its voices, the worker and the limits."""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from starlette.exceptions import HTTPException

from vall_e.serve.audio_formats import supported_formats
from vall_e.serve.config import ServeConfig
from vall_e.serve.errors import APIError
from vall_e.serve.synth import Synthesizer
from vall_e.serve.voices import VoiceStore
from vall_e.serve.worker import Worker

DEFAULT_MODEL_ID = "vall_e-default"
# names OpenAI clients send by default; each means "the one model this server has loaded"
OPENAI_MODEL_ALIASES = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")


@dataclass
class ServeState:
    config: ServeConfig
    interface: object  # vall_e.Interface
    store: VoiceStore
    synth: Synthesizer
    worker: Worker
    formats: tuple
    model_id: str

    @classmethod
    def load(cls, config: ServeConfig, interface=None) -> "ServeState":
        worker = Worker(config.max_queue)
        if interface is None:  # loaded on the thread that will run it (worker.py says why)
            interface = worker.call(lambda: _load_interface(config))
        store = VoiceStore(interface, config.voices_path)
        model_id = DEFAULT_MODEL_ID if config.model is None else Path(config.model).resolve().name
        return cls(config, interface, store, Synthesizer(interface, store), worker,
                   supported_formats(interface.sample_rate), model_id)

    def check_model(self, model: str | None) -> None:
        if model is None or model in (self.model_id, *OPENAI_MODEL_ALIASES):
            return
        raise APIError(400, f"unknown model {model[:80]!r}: this server runs {self.model_id!r} "
                       f"(also accepted as {', '.join(OPENAI_MODEL_ALIASES)})", param="model",
                       code="model_not_found")


def _load_interface(config: ServeConfig):
    from vall_e.interface import Interface, InterfaceConfig

    if config.threads:
        import torch

        torch.set_num_threads(config.threads)
    return Interface(InterfaceConfig(model_path=config.model, device=config.device,
                                     compile=config.compile))


def serve_state(request: Request) -> ServeState:
    return request.app.state.serve


def require_key(request: Request) -> None:
    """FastAPI dependency: with --api-key, a matching ``Authorization: Bearer`` or a 401."""
    key = serve_state(request).config.api_key
    if key is None:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    # compare_digest: the time taken does not tell how much of a guessed key was right
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), key.encode()):
        raise APIError(401, "missing or wrong API key: send 'Authorization: Bearer <key>'",
                       code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})


class BodyLimit:
    """ASGI middleware: refuse bodies over the limit (413) by Content-Length, and count the
    bytes of chunked bodies too, so a client cannot make the server buffer without bound."""

    def __init__(self, app, json_limit: int, upload_limit: int, upload_path: str):
        self.app, self.json_limit, self.upload_limit = app, json_limit, upload_limit
        self.upload_path = upload_path

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.upload_limit if scope["path"] == self.upload_path else self.json_limit
        message = f"the request body is larger than this server's limit of {limit} bytes"
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > limit:
            return await APIError(413, message, code="body_too_large").response()(scope, receive, send)
        seen = 0

        async def counted():
            nonlocal seen
            event = await receive()
            seen += len(event.get("body", b""))
            if seen > limit:
                # an HTTPException passes through FastAPI's body parsing; errors.py shapes it
                raise HTTPException(413, message)
            return event

        await self.app(scope, counted, send)
