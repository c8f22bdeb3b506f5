"""``ServeConfig``: everything the server is started with (argv is parsed in ``__main__``)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vall_e.errors import ConfigError

DEFAULT_VOICES_DIR = Path("~/.cache/vall_e/voices")


@dataclass
class ServeConfig:
    model: str | None = None  # checkpoint directory; None: the embedded default model
    device: str = "auto"
    host: str = "127.0.0.1"  # loopback unless the operator asks for more
    port: int = 8000
    api_key: str | None = None  # set: every route but /health and the static page needs Bearer
    voices_dir: str = str(DEFAULT_VOICES_DIR)  # saved speaker profiles (server-generated ids)
    max_queue: int = 32  # requests waiting behind the running one; more get 503 + Retry-After
    max_input_chars: int = 4096  # OpenAI's own limit on `input`
    max_upload_bytes: int = 10_000_000  # a reference upload (whole multipart body)
    max_reference_seconds: float = 30.0  # a reference recording, after decoding
    max_json_bytes: int = 1_000_000  # any JSON body
    retry_after_seconds: int = 5  # told to clients turned away by a full queue
    threads: int | None = None  # torch CPU threads (None: torch's choice)
    compile: bool = False  # torch.compile the model's decode passes at start-up (vall_e.compile)

    def validate(self) -> "ServeConfig":
        for name in ("max_queue", "max_input_chars", "max_upload_bytes", "max_json_bytes",
                     "retry_after_seconds"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_reference_seconds <= 0:
            raise ConfigError("max_reference_seconds must be > 0")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be in 0..65535, got {self.port}")
        if self.api_key is not None and not self.api_key.strip():
            raise ConfigError("--api-key is empty: give a key or leave the flag out")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads must be >= 1, got {self.threads}")
        return self

    @property
    def voices_path(self) -> Path:
        return Path(self.voices_dir).expanduser()
