"""Start ``python -m vall_e.serve`` in a subprocess on a free loopback port and wait until it
answers: what the tests, ``scripts/bench_serve.py`` and ``scripts/screenshot_serve.py`` use, so
they exercise the real command over real HTTP rather than an in-process app.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """``with ServerProcess(["--model", dir]) as server: httpx.get(server.url + "/health")``."""

    def __init__(self, args: list[str], startup_timeout: float = 180.0, log: Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args, self.startup_timeout, self.log = args, startup_timeout, log
        self.proc: subprocess.Popen | None = None
        self._out = None

    def __enter__(self) -> "ServerProcess":
        env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
        # a file, not a pipe: nobody reads the server's log while it runs, and a full pipe
        # would block the server on its next warning
        self._out = open(self.log, "w+") if self.log else tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vall_e.serve", "--port", str(self.port), *self.args],
            cwd=REPO, env=env, stdout=self._out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._out.seek(0)
                raise RuntimeError(f"the server exited with {self.proc.returncode}: "
                                   f"{self._out.read()[-3000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.__exit__(None, None, None)
        raise RuntimeError(f"the server did not answer /health within {self.startup_timeout} s")

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._out is not None:
            self._out.close()

    def stats(self) -> dict:
        return httpx.get(self.url + "/health", timeout=10).json()["queue"]
