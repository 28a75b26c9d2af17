"""Event loops that stop cleanly on Ctrl-C and SIGTERM.

A KeyboardInterrupt raised at an arbitrary bytecode can land inside a weakref callback or a
finaliser (asyncio's task set, an HTTP response being collected), where Python prints "Exception
ignored" and carries on: the stop is lost and the job runs to the end. So, as Python 3.11's
`asyncio.Runner` does for SIGINT, while a loop runs on the main thread Ctrl-C and SIGTERM only
*cancel* the main task; the task unwinds through its own `finally` blocks and the caller sees the
interruption. A second signal raises at once, for a job that does not stop."""

from __future__ import annotations

import asyncio
import contextlib
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


def run(coro: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` with the clean stop above on every supported Python (3.10 has no Runner):
    an interruption comes out as KeyboardInterrupt after the work has unwound."""
    loop = asyncio.new_event_loop()
    try:
        main = loop.create_task(coro)
        with _stop_cancels(loop, main) as fired:
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
