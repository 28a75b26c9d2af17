"""A total WorkOS outage: every request fails (connection refused, timeouts, 5xx for all).

Retrying each call on its own would fail the users (organizations, roles, connections) one by one,
each after burning its attempts. Instead the shared `Pacer` keeps one `Outage` tracker: once
`STREAK` transient failures in a row, from at least two different calls, came with no answer in
between, WorkOS counts as unreachable. Then every caller of the pacer waits together (the pacer's
pause), one probe request goes out when the wait ends, and the wait doubles after each failed probe
(1 s, 2 s, 4 s … `MAX_WAIT`). The calls' own attempts are not used up meanwhile. Any answer (a
success, a 4xx, a 429) ends the outage. After `give_up_after` seconds without one, the waiting
call raises `WorkOSUnreachable` and the job stops cleanly: what it wrote is journalled, the rest
stays to do, and running the same command again resumes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

STREAK = 6  # transient failures in a row (no answer between) that make an outage
FIRST_WAIT = 1.0
MAX_WAIT = 60.0
DEFAULT_GIVE_UP_AFTER = 15 * 60.0  # seconds without any answer before a job stops (--give-up-after)
PROBE_TIMEOUT = 90.0  # a probe with no outcome reported after this long no longer holds the others


def clock_time(wall: float) -> str:
    """14:02:11 (local time): when the outage began, as a person reads it on screen."""
    return time.strftime("%H:%M:%S", time.localtime(wall))


class WorkOSUnreachable(Exception):
    """WorkOS gave no answer at all for `give_up_after` seconds: stop the job, resumable."""

    def __init__(self, since: float, waited: float, last_error: str) -> None:
        self.since = since
        self.waited = waited
        self.last_error = last_error
        super().__init__(
            f"WorkOS unreachable since {clock_time(since)} ({waited:.0f} s without an answer; last: "
            f"{last_error}): stopped after the --give-up-after time. Nothing was lost: what was written is "
            "in the run journal and the rest is still to do. Check the network and WORKOS_BASE_URL "
            "(status.workos.com), then run the same command again to resume.")


def parse_give_up_after(text: str | float | int | None) -> float:
    """`--give-up-after`: seconds, or with a unit (90s, 15m, 1h). Raises ValueError."""
    if text is None:
        return DEFAULT_GIVE_UP_AFTER
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        raw = text.strip().lower()
        scale = {"s": 1.0, "m": 60.0, "h": 3600.0}.get(raw[-1:] if raw else "")
        number = raw[:-1] if scale is not None else raw
        try:
            value = float(number) * (scale or 1.0)
        except ValueError:
            raise ValueError(f"--give-up-after {text!r}: give seconds (900) or a duration like 90s, 15m, 1h") \
                from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"--give-up-after {text!r}: give a duration of 0 s or more")
    return value


class Outage:
    """The outage state of one pacer (not thread-safe on its own: the Pacer's lock guards it)."""

    def __init__(self, give_up_after: float = DEFAULT_GIVE_UP_AFTER, *, streak: int = STREAK,
                 first_wait: float = FIRST_WAIT, max_wait: float = MAX_WAIT,
                 wall: Callable[[], float] = time.time) -> None:
        self.give_up_after = give_up_after
        self.streak_needed = streak
        self.first_wait = first_wait
        self.max_wait = max_wait
        self._wall = wall
        self.reset()

    def reset(self) -> None:
        self.failures = 0
        self._callers: set[int] = set()
        self.since: float | None = None  # wall time of the first failure of the streak
        self.active = False
        self.wait = 0.0
        self.resume_at: float | None = None
        self.probe_since: float | None = None
        self.last_error = ""

    def answered(self) -> bool:
        """WorkOS answered (anything but a transient failure): the outage, if any, is over.
        Returns whether one was on."""
        was = self.active
        if self.failures or self.active:
            self.reset()
        return was

    def failed(self, caller: object, error: str) -> float | None:
        """Count a transient failure of `caller` (one call's retry state). None: no outage (the
        caller retries with its own backoff). Else the wall time until which every caller waits.
        Raises WorkOSUnreachable once `give_up_after` seconds passed without an answer."""
        now = self._wall()
        if self.since is None:
            self.since = now
        self.failures += 1
        self._callers.add(id(caller))
        self.last_error = error
        self.probe_since = None
        if not self.active and (self.failures < self.streak_needed or len(self._callers) < 2):
            return None
        waited = now - self.since
        if waited >= self.give_up_after:
            since, last = self.since, self.last_error
            self.reset()
            raise WorkOSUnreachable(since, waited, last)
        if not self.active or self.resume_at is None or now >= self.resume_at:
            # a new outage, or the probe after the last wait failed: wait longer (stragglers that
            # were in the air during the wait do not count)
            self.wait = self.first_wait if not self.active else min(self.max_wait, self.wait * 2)
            self.active = True
            left = self.since + self.give_up_after - now
            self.resume_at = now + max(0.05, min(self.wait, left))
        return self.resume_at

    def may_probe(self) -> bool:
        """During an outage only one request (the probe) is out at a time; True takes the probe."""
        if not self.active:
            return True
        now = self._wall()
        if self.probe_since is not None and now - self.probe_since < PROBE_TIMEOUT:
            return False
        self.probe_since = now
        return True

    def line(self) -> str:
        """What the progress line says during an outage."""
        if not self.active or self.since is None:
            return ""
        left = max(0.0, (self.resume_at or self._wall()) - self._wall())
        give_up = clock_time(self.since + self.give_up_after)
        return (f"WorkOS unreachable since {clock_time(self.since)}, retrying in {left:.0f} s "
                f"(stopping at {give_up} if it stays down; last: {self.last_error})")
