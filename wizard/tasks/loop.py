"""Event loops that stop cleanly on Ctrl-C and SIGTERM.

A KeyboardInterrupt raised at an arbitrary bytecode can land inside a weakref callback or a
finaliser (asyncio's task set, an HTTP response being collected), where Python prints "Exception
ignored" and carries on: the stop is lost and the job runs to the end. So, as Python 3.11's
`asyncio.Runner` does for SIGINT, while a loop runs on the main thread Ctrl-C and SIGTERM only
*cancel* the main task; the task unwinds through its own `finally` blocks and the caller sees the
interruption. A second signal raises at once, for a job that does not stop.

While a loop runs, the cyclic garbage collector is tuned for a long job (`_collector_for_jobs`):
an import allocates a few hundred short-lived objects per request, and with Python's default
thresholds the collector ran about 800 times for 3,000 users, its full passes walking some 80,000
long-lived objects (the WorkOS SDK's models among them): 0.4-0.7 s, 7-11 % of the import's CPU,
against 0.05-0.2 s tuned (measured with `gc.callbacks`)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def _stop_signals() -> list[signal.Signals]:
    """The signals that stop a job here: SIGINT when it is Python's default (not ignored, as in a
    background job, and not someone else's handler), and SIGTERM unless it is ignored. SIGTERM is
    taken directly, not routed through SIGINT, so a background job (SIGINT ignored) stops cleanly too."""
    out = []
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        out.append(signal.SIGINT)
    if hasattr(signal, "SIGTERM") and signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN:
        out.append(signal.SIGTERM)
    return out


@contextlib.contextmanager
def _stop_cancels(loop: asyncio.AbstractEventLoop, task: asyncio.Future) -> Iterator[list[bool]]:
    """While inside, a stop signal cancels `task` (once; a second one raises KeyboardInterrupt).
    Yields a one-item list that turns true when a signal did the cancelling. Off the main thread
    nothing is installed (Python delivers signals to the main thread only)."""
    fired = [False]
    if threading.current_thread() is not threading.main_thread():
        yield fired
        return

    def on_stop(signum, frame):
        if fired[0] or task.done():
            raise KeyboardInterrupt
        fired[0] = True
        loop.call_soon_threadsafe(task.cancel)

    previous = {sig: signal.signal(sig, on_stop) for sig in _stop_signals()}
    try:
        yield fired
    finally:
        for sig, handler in previous.items():
            if signal.getsignal(sig) is on_stop:
                signal.signal(sig, handler)


def _cancel_all_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is still running and let it unwind (the clients close), as `asyncio.run` does."""
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in tasks:
        t.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


JOB_GC_THRESHOLD = (50_000, 20, 20)  # young collections every 50,000 new objects, not 700
_gc_lock = threading.Lock()
_gc_jobs = 0  # loops running now (the wizard may run two jobs at once in worker threads)
_gc_saved: tuple[int, ...] | None = None


@contextlib.contextmanager
def _collector_for_jobs() -> Iterator[None]:
    """While any job's loop runs: what exists already (modules, the plan, the app) is frozen out of
    the collector's passes, and young collections come every 50,000 allocations. The first job in
    sets this, the last one out puts Python's settings back."""
    global _gc_jobs, _gc_saved
    with _gc_lock:
        if _gc_jobs == 0:
            _gc_saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(*JOB_GC_THRESHOLD)
        _gc_jobs += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_jobs -= 1
            if _gc_jobs == 0 and _gc_saved is not None:
                gc.set_threshold(*_gc_saved)
                gc.unfreeze()
                _gc_saved = None


def run(coro: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` with the clean stop above on every supported Python (3.10 has no Runner):
    an interruption comes out as KeyboardInterrupt after the work has unwound."""
    loop = asyncio.new_event_loop()
    try:
        main = loop.create_task(coro)
        with _stop_cancels(loop, main) as fired, _collector_for_jobs():
            try:
                return loop.run_until_complete(main)
            except asyncio.CancelledError:
                if fired[0]:
                    raise KeyboardInterrupt from None
                raise
            finally:
                _cancel_all_tasks(loop)
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()
