"""Request budgets for the emulators, cheap enough for benchmarks that push thousands of requests:
WorkOS's documented sliding windows (`SlidingWindowCounter`: no more than `limit` requests in ANY
`window` seconds) and the fixed per-second windows the Auth0 emulator reports in its headers."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimits:
    """WorkOS's documented budgets per API key; `enabled=False` turns them all off."""

    writes_per_10s: int = 500  # POST/PUT/PATCH/DELETE on /user_management/*
    reads_per_10s: int = 1000  # GET on /user_management/*
    requests_per_minute: int = 6000  # every request
    authentications_per_minute_per_email: int = 10  # POST /user_management/authenticate
    enabled: bool = True
    write_window_s: float = 10.0  # the windows' lengths (tests shorten them to keep pauses short)
    read_window_s: float = 10.0


class WindowCounter:
    """Counts events per key in fixed windows; `take` answers 0 (allowed) or the seconds to wait."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> int:
        now = self._clock()
        window = int(now // self.window_s)
        with self._lock:
            count = self._counts.get((key, window), 0)
            if count >= self.limit:
                wait = (window + 1) * self.window_s - now
                return max(1, math.ceil(wait))
            if len(self._counts) > 10_000:  # forget old windows
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
            self._counts[(key, window)] = count + 1
            return 0

    def remaining(self, key: str) -> int:
        window = int(self._clock() // self.window_s)
        with self._lock:
            return max(0, self.limit - self._counts.get((key, window), 0))

    def reset_at(self) -> float:
        """Monotonic-clock time when the current window ends."""
        return (int(self._clock() // self.window_s) + 1) * self.window_s


class SlidingWindowCounter:
    """Allows at most `limit` events per key in any `window_s` seconds (counted on arrival; refused
    requests are not counted). `take` answers 0 (allowed) or the whole seconds until the oldest
    counted event leaves the window (the Retry-After)."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self.max_seen = 0  # the most events any window held (benchmarks and tests read it)

    def _trim(self, key: str, now: float) -> deque[float]:
        events = self._events.setdefault(key, deque())
        edge = now - self.window_s
        while events and events[0] <= edge:
            events.popleft()
        return events

    def take(self, key: str) -> int:
        now = self._clock()
        with self._lock:
            events = self._trim(key, now)
            if len(events) >= self.limit:
                return max(1, math.ceil(events[0] + self.window_s - now))
            events.append(now)
            self.max_seen = max(self.max_seen, len(events))
            return 0

    def remaining(self, key: str) -> int:
        with self._lock:
            return max(0, self.limit - len(self._trim(key, self._clock())))
