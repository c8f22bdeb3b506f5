"""``create_app``: the FastAPI application over one loaded model.

Routes: ``POST /v1/audio/speech`` (speech.py), ``POST /v1/voices`` (uploads.py), and here
``GET /v1/audio/voices``, ``GET /v1/models``, ``GET /health`` and the page at ``/``.
With an API key every route needs it except ``/health`` and the page's static files: a
browser cannot send a header when it opens a page, so the page asks for the key and sends it
with its own API calls (the files hold nothing secret).
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from vall_e.serve import speech, uploads
from vall_e.serve.config import ServeConfig
from vall_e.serve.errors import install_handlers
from vall_e.serve.state import BodyLimit, ServeState, require_key, serve_state

STATIC = Path(__file__).resolve().parent / "static"
api = APIRouter(dependencies=[Depends(require_key)])


@api.get("/v1/audio/voices")
async def voices(request: Request):
    return {"voices": serve_state(request).store.listing()}


@api.get("/v1/models")
async def models(request: Request):
    state = serve_state(request)
    return {"object": "list", "data": [{"id": state.model_id, "object": "model", "created": 0,
                                        "owned_by": "vall_e"}]}


def create_app(config: ServeConfig, interface=None) -> FastAPI:
    """An app over ``interface`` (loaded from ``config.model`` when not given)."""
    state = ServeState.load(config.validate(), interface)

    @asynccontextmanager
    async def lifespan(_):
        state.worker.start()
        yield
        state.worker.stop()

    app = FastAPI(title="vall_e speech server", lifespan=lifespan, docs_url=None,
                  redoc_url=None)
    app.state.serve = state
    install_handlers(app)
    app.add_middleware(BodyLimit, json_limit=config.max_json_bytes,
                       upload_limit=config.max_upload_bytes, upload_path="/v1/voices")
    app.include_router(api)
    app.include_router(speech.router)
    app.include_router(uploads.router)

    @app.get("/health")
    async def health():
        return {"status": "ok", "model": state.model_id, "family": state.interface.family,
                "sample_rate": state.interface.sample_rate, "auth": config.api_key is not None,
                "formats": list(state.formats), "queue": state.worker.stats()}

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
