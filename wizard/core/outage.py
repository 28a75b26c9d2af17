"""A total outage of WorkOS: every request failing (5xx, refused or dropped connections, timeouts).

Retrying each user `max_attempts` times would burn every user's attempts in a minute and fail them
one by one. Instead, once `after_failures` transient failures come in a row with no answer from the
server in between, every worker waits on one shared, growing back-off (1 s doubling to 60 s) and the
failures stop counting against the users. The first real answer (any 2xx or 4xx, even a 429) ends
the outage. After `give_up_after` seconds with no answer at all the run stops cleanly: users in the
air stay in flight for the resume's lookup, the others stay planned.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

DEFAULT_GIVE_UP_AFTER = 900.0  # 15 minutes without a single answer


class OutageWatch:
    """Shared by every worker of one run (single event loop: no lock needed)."""

    def __init__(self, *, give_up_after: float = DEFAULT_GIVE_UP_AFTER, after_failures: int = 8,
                 base: float = 1.0, cap: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.give_up_after = max(0.0, give_up_after)
        self.after_failures = max(1, after_failures)
        self.base, self.cap = base, cap
        self.clock = clock
        self.failures = 0  # transient failures in a row, across all workers
        self.since: float | None = None  # monotonic time of the first of them
        self.since_wall: float | None = None
        self._delay = base
        self._paused_until = 0.0

    @property
    def in_outage(self) -> bool:
        return self.failures >= self.after_failures

    def answered(self) -> None:
        """The server answered (success or a 4xx): it is up."""
        self.failures = 0
        self.since = self.since_wall = None
        self._delay = self.base
        self._paused_until = 0.0

    def failed(self) -> None:
        """One transient failure (5xx, connection refused or dropped, timeout)."""
        if self.failures == 0:
            self.since, self.since_wall = self.clock(), time.time()
        self.failures += 1

    def exhausted(self) -> bool:
        return self.in_outage and self.since is not None and self.clock() - self.since >= self.give_up_after

    def wait(self) -> float:
        """Seconds this worker waits before its next try: all workers share one pause, and each
        new pause is twice the last (capped)."""
        now = self.clock()
        if now >= self._paused_until:
            self._paused_until = now + self._delay
            self._delay = min(self.cap, self._delay * 2)
        return max(0.0, self._paused_until - now)

    def describe(self, wait: float) -> str:
        """What the screen says while paused."""
        since = datetime.fromtimestamp(self.since_wall or time.time()).strftime("%H:%M:%S")
        return (f"WorkOS unreachable since {since} ({self.failures} failures in a row, no answer): every "
                f"worker paused, next try in {wait:.0f} s; the run stops after {_span(self.give_up_after)} "
                "without an answer and can be resumed")

    def stop_reason(self) -> str:
        return (f"WorkOS did not answer for {_span(self.give_up_after)} ({self.failures} failures in a row: "
                "server errors or no connection). Stopped cleanly; no user was failed for it. Check "
                "WORKOS_BASE_URL, the network and https://status.workos.com, then resume the same command.")


def _span(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s" if seconds >= 1 else f"{seconds:.1f} s"
