"""An OpenAI-compatible speech server over one loaded model, with a web page at ``/``.

``python -m vall_e.serve`` starts it (see docs/serve.md); ``create_app(ServeConfig(...))``
builds the ASGI app for embedding or tests. FastAPI and uvicorn are imported only here, so
the library itself never needs them.
"""
from vall_e.serve.config import ServeConfig

__all__ = ["ServeConfig", "create_app"]


def create_app(config: ServeConfig, interface=None):
    from vall_e.serve.app import create_app as build

    return build(config, interface)
