"""Event loops that stop cleanly on Ctrl-C and SIGTERM.

A KeyboardInterrupt raised at an arbitrary bytecode can land inside a weakref callback or a
finaliser (asyncio's task set, an HTTP response being collected), where Python prints "Exception
ignored" and carries on: the stop is lost and the job runs to the end. So, as Python 3.11's
`asyncio.Runner` does, while a loop runs on the main thread SIGINT only *cancels* the main task; the
task unwinds through its own `finally` blocks and the caller sees the interruption. A second Ctrl-C
raises at once, for a job that does not stop. (SIGTERM is routed to SIGINT by the CLI.)"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


@contextlib.contextmanager
def _sigint_cancels(loop: asyncio.AbstractEventLoop, task: asyncio.Future) -> Iterator[list[bool]]:
    """While inside, SIGINT cancels `task` (once; a second one raises KeyboardInterrupt). Yields a
    one-item list that turns true when a signal did the cancelling. Off the main thread, or when
    SIGINT is not Python's default handler (ignored, or someone else's), nothing is installed."""
    fired = [False]
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield fired
        return

    def on_sigint(signum, frame):
        if fired[0] or task.done():
            raise KeyboardInterrupt
        fired[0] = True
        loop.call_soon_threadsafe(task.cancel)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield fired
    finally:
        if signal.getsignal(signal.SIGINT) is on_sigint:
            signal.signal(signal.SIGINT, previous)


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
        with _sigint_cancels(loop, main) as fired:
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
