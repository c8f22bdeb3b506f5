"""One worker thread owns the model; requests wait their turn in a bounded queue.

The model is not thread-safe and one synthesis already uses every core torch is given, so
jobs run one at a time, in arrival order. ``submit`` refuses when ``max_waiting`` jobs already
wait (the route answers 503 + Retry-After) instead of letting latency grow without bound.
A job is a generator run on the worker thread; what it yields is handed to the event loop
as it comes, so a streaming response can send audio while later sentences are made.
``Job.cancel`` (a client that went away) is honoured before the job starts and between the
items it yields: work already inside the model finishes its current item, then stops.

The model is also *loaded* on this thread (``Worker.call``): GNU OpenMP keeps a pool of helper
threads per thread that ran torch in parallel, and once the pools hold more threads than there
are cores every barrier stops spinning and sleeps (libgomp's "throttled" spin). A model loaded
on the main thread and run here made the default model's first window 1.8x slower in one
process (docs/serve.md).
"""
from __future__ import annotations

import asyncio
import queue
import threading
from concurrent.futures import Future
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

_ITEM, _END, _ERROR = "item", "end", "error"


class QueueFull(Exception):
    pass


class Job:
    def __init__(self, work: Callable[["Job"], Iterator[Any]], loop: asyncio.AbstractEventLoop):
        self.work = work
        self.loop = loop
        self.out: asyncio.Queue = asyncio.Queue()
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def _push(self, kind: str, value: Any = None) -> None:
        try:
            self.loop.call_soon_threadsafe(self.out.put_nowait, (kind, value))
        except RuntimeError:  # the event loop closed (server shutting down): nobody listens
            pass

    async def results(self) -> AsyncIterator[Any]:
        """What the job yields, in order; re-raises the exception it ended with."""
        while True:
            kind, value = await self.out.get()
            if kind == _END:
                return
            if kind == _ERROR:
                raise value
            yield value


class _Call:
    """``Worker.call``'s request: a function to run on the worker thread, and its outcome."""

    def __init__(self, fn: Callable[[], Any]):
        self.fn = fn
        self.outcome: Future = Future()

    def run(self) -> None:
        try:
            self.outcome.set_result(self.fn())
        except BaseException as exc:  # handed back to the caller, who re-raises it
            self.outcome.set_exception(exc)


class Worker:
    def __init__(self, max_waiting: int):
        self.max_waiting = max_waiting
        self._jobs: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._counts = {"waiting": 0, "running": 0, "done": 0, "cancelled": 0, "failed": 0,
                        "items": 0}
        self._thread = threading.Thread(target=self._run, name="vall_e-serve-worker", daemon=True)

    def start(self) -> None:
        """Start the thread (again a no-op once started)."""
        if self._thread.ident is None:
            self._thread.start()

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn()`` on the worker thread (starting it if needed), after the jobs already
        queued; wait, and return its result or raise its exception."""
        if self._thread.ident is not None and not self._thread.is_alive():
            raise RuntimeError("the server's worker thread has stopped; restart the server")
        self.start()
        request = _Call(fn)
        self._jobs.put(request)
        return request.outcome.result()

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=30)

    def stats(self) -> dict:
        with self._lock:
            return {**self._counts, "max_waiting": self.max_waiting}

    def submit(self, work: Callable[[Job], Iterator[Any]]) -> Job:
        job = Job(work, asyncio.get_running_loop())
        with self._lock:
            if self._counts["waiting"] >= self.max_waiting:
                raise QueueFull
            self._counts["waiting"] += 1
        self._jobs.put(job)
        return job

    def _count(self, **deltas: int) -> None:
        with self._lock:
            for key, delta in deltas.items():
                self._counts[key] += delta

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            if isinstance(job, _Call):
                job.run()
                continue
            self._count(waiting=-1, running=1)
            try:
                outcome = self._execute(job)
            except Exception as exc:  # a job's cleanup failed: the worker must outlive it
                job._push(_ERROR, exc)
                outcome = "failed"
            self._count(running=-1, **{outcome: 1})
            job._push(_END)

    def _execute(self, job: Job) -> str:
        if job.cancelled:
            return "cancelled"  # its client left while it waited: the model never runs for it
        items = None
        try:
            items = iter(job.work(job))
            for item in items:
                self._count(items=1)
                job._push(_ITEM, item)
                if job.cancelled:
                    return "cancelled"
            return "done"
        except Exception as exc:  # handed to the request, which answers with it
            job._push(_ERROR, exc)
            return "failed"
        finally:
            # a generator left mid-way runs its cleanup now, on this thread, not at some GC
            close = getattr(items, "close", None)
            if close is not None:
                close()
