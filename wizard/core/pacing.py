"""Pacing for WorkOS calls: token buckets sized to the published budgets, a global 429 pause, and a
concurrency limit that grows when latency is high so the write bucket never waits for a worker.
Also what the import and the rollback engines share around it: the retry policy for one call and
the throttle on their progress events.

WorkOS budgets (api-facts §2): /user_management writes 500 per 10 s, reads 1,000 per 10 s, and
6,000 requests per 60 s in all.
A bucket refills at `limit × margin / window` per second and holds at most `limit − rate × window`
tokens, so no window of that length ever sees more than `limit` requests, fixed or sliding.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from wizard.core.progress import Progress, ProgressCallback

DEFAULT_MARGIN = 0.97
RETRY_AFTER_CAP = 60.0  # longest wait a 5xx's Retry-After may impose on one worker (as the SDK)


@dataclass(frozen=True, slots=True)
class Budget:
    """`limit` requests per `window` seconds."""

    limit: int
    window: float

    @property
    def per_second(self) -> float:
        return self.limit / self.window

    def __str__(self) -> str:
        w = f"{self.window:g}s" if self.window != 1 else "s"
        return f"{self.limit}/{w}"


WRITE_BUDGET = Budget(500, 10.0)
READ_BUDGET = Budget(1000, 10.0)
ALL_REQUESTS_BUDGET = Budget(6000, 60.0)  # every request, per API key

_UNITS = {"": 1.0, "s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0}


def parse_budget(text: str | int | float | Budget | None, default: Budget = WRITE_BUDGET) -> Budget:
    """`"500/10s"`, `"3000/min"`, `"50/s"`, or a bare number of requests per second (`"50"`)."""
    if text is None or text == "":
        return default
    if isinstance(text, Budget):
        return text
    if isinstance(text, (int, float)):
        if text <= 0:
            raise ValueError("rate must be positive")
        return Budget(max(1, round(text * 10)), 10.0)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:/\s*(\d+(?:\.\d+)?)?\s*([a-z]*))?\s*", text.lower())
    if not m:
        raise ValueError(f"cannot read rate {text!r}: use e.g. 500/10s, 50/s or 50")
    count, num, unit = float(m.group(1)), m.group(2), m.group(3) or ""
    if unit not in _UNITS or count <= 0:
        raise ValueError(f"cannot read rate {text!r}: use e.g. 500/10s, 50/s or 50")
    window = (float(num) if num else 1.0) * _UNITS[unit]
    if m.group(2) is None and m.group(3) is None:  # bare number: per second
        return Budget(max(1, round(count * 10)), 10.0)
    return Budget(max(1, round(count)), window)


class TokenBucket:
    """FIFO token bucket: waiters are served in arrival order, one token each."""

    def __init__(self, budget: Budget, margin: float = DEFAULT_MARGIN,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.budget = budget
        self.rate = budget.per_second * margin
        self.capacity = max(1.0, budget.limit - self.rate * budget.window)
        self._clock = clock
        self._tokens = self.capacity
        self._stamp = clock()
        self._lock = asyncio.Lock()
        self.waiting = 0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    @property
    def tokens(self) -> float:
        self._refill()
        return self._tokens

    def drain(self) -> None:
        """After a 429 the server's window is full: start again from empty."""
        self._refill()
        self._tokens = min(self._tokens, 0.0)

    async def acquire(self) -> None:
        self.waiting += 1
        try:
            async with self._lock:
                while True:
                    self._refill()
                    if self._tokens >= 1.0:
                        self._tokens -= 1.0
                        return
                    await asyncio.sleep((1.0 - self._tokens) / self.rate)
        finally:
            self.waiting -= 1


class AdaptiveLimit:
    """A resizable semaphore. The target is `rate × latency × headroom + 1` (Little's law), bounded by
    `maximum`: enough requests in the air that the bucket, not the round trip, sets the pace."""

    def __init__(self, maximum: int, *, initial: int | None = None, headroom: float = 1.2) -> None:
        self.maximum = max(1, maximum)
        self.limit = min(self.maximum, initial or min(8, self.maximum))
        self.headroom = headroom
        self.active = 0
        self.latency: float | None = None  # EWMA of request round trips, seconds
        self._cond = asyncio.Condition()

    def observe(self, latency: float, rate: float) -> None:
        self.latency = latency if self.latency is None else 0.8 * self.latency + 0.2 * latency
        target = math.ceil(rate * self.latency * self.headroom) + 1
        self.resize(target)

    def resize(self, target: int) -> None:
        target = max(1, min(self.maximum, target))
        if target == self.limit:
            return
        grew = target > self.limit
        self.limit = target
        if grew:
            asyncio.get_running_loop().create_task(self._wake())

    async def _wake(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    async def __aenter__(self) -> AdaptiveLimit:
        async with self._cond:
            await self._cond.wait_for(lambda: self.active < self.limit)
            self.active += 1
        return self

    async def __aexit__(self, *exc) -> None:
        async with self._cond:
            self.active -= 1
            self._cond.notify()


class Pacer:
    """Write and read buckets plus one pause shared by every worker (set by a 429's Retry-After)."""

    def __init__(self, write: Budget = WRITE_BUDGET, read: Budget = READ_BUDGET, *,
                 margin: float = DEFAULT_MARGIN, max_concurrency: int = 64,
                 default_pause: float = 10.0, total: Budget | None = None) -> None:
        self.writes = TokenBucket(write, margin)
        self.reads = TokenBucket(read, margin)
        if total is None:  # a raised write budget (negotiated limits) raises the overall one alike
            scale = max(1.0, write.per_second / WRITE_BUDGET.per_second)
            total = Budget(round(ALL_REQUESTS_BUDGET.limit * scale), ALL_REQUESTS_BUDGET.window)
        self.total = TokenBucket(total, margin)
        self.limit = AdaptiveLimit(max_concurrency)
        self.default_pause = default_pause
        self.paused_until: float | None = None  # wall-clock (time.time()) for progress events
        self.pauses = 0
        self.fallback_base = 1.0  # first wait for a 429 without Retry-After; doubles to default_pause
        self._fallback_streak = 0
        self._fallback_end = 0.0

    def _fallback(self) -> float:
        """A 429 without a readable Retry-After: 1, 2, 4 ... up to `default_pause` seconds, growing
        only across pauses (many workers hitting the same 429 count once), reset after a quiet spell."""
        now = time.time()
        if self.paused_until is not None and now < self.paused_until:
            return self.paused_until - now  # already waiting out this storm
        if now - self._fallback_end > 2 * self.default_pause:
            self._fallback_streak = 0
        seconds = min(self.default_pause, self.fallback_base * 2 ** self._fallback_streak)
        self._fallback_streak += 1
        self._fallback_end = now + seconds
        return seconds

    def pause(self, seconds: float | None) -> None:
        """Every worker waits until the later of the current pause and now + `seconds`."""
        seconds = self._fallback() if seconds is None else max(0.5, float(seconds))
        until = time.time() + seconds
        if self.paused_until is None or until > self.paused_until:
            self.paused_until = until
        self.pauses += 1
        self.writes.drain()
        self.reads.drain()
        self.total.drain()

    def pause_after_429(self, retry_after: float | None) -> str:
        """`pause(retry_after)` for a 429, and the line that tells the person how long it lasts."""
        self.pause(retry_after)
        wait = (self.paused_until or time.time()) - time.time()
        return f"rate limited by WorkOS; pausing {max(wait, 0.0):.1f} s"

    @property
    def paused(self) -> bool:
        if self.paused_until is not None and time.time() >= self.paused_until:
            self.paused_until = None
        return self.paused_until is not None

    async def _wait_pause(self) -> None:
        while self.paused:
            await asyncio.sleep(max(0.01, (self.paused_until or 0) - time.time()))

    async def _take(self, bucket: TokenBucket) -> None:
        await self._wait_pause()
        await bucket.acquire()
        await self.total.acquire()
        await self._wait_pause()  # a 429 may have arrived while we waited for the token

    async def write(self) -> None:
        await self._take(self.writes)

    async def read(self) -> None:
        await self._take(self.reads)

    def observe(self, latency: float, *, reads: bool = False) -> None:
        """Feed one round trip to the concurrency limit (sized for the bucket that sets the pace)."""
        self.limit.observe(latency, (self.reads if reads else self.writes).rate)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How one WorkOS call is retried (the import and the rollback alike): a 429 waits out the
    Pacer's shared pause, at most `max_rate_limited` times; a 5xx, timeout or dropped connection
    waits a capped exponential backoff with jitter (never less than a 503's Retry-After, itself
    capped at RETRY_AFTER_CAP), and the call is tried at most `max_attempts` times."""

    max_attempts: int = 6
    max_rate_limited: int = 200
    backoff_base: float = 0.5
    backoff_cap: float = 8.0

    def backoff(self, n: int) -> float:
        """Seconds before transient retry `n` (1-based): capped doubling, jittered down to half."""
        delay = min(self.backoff_cap, self.backoff_base * (2 ** (n - 1)))
        return delay * (0.5 + random.random() / 2)


class Retries:
    """The retries of one call under a RetryPolicy: each method counts one failure and says
    whether (and how long) to wait and try again."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.transient = 0
        self.rate_limited = 0

    def after_rate_limit(self) -> bool:
        """A 429 (the caller pauses the Pacer): False once more than `max_rate_limited` came."""
        self.rate_limited += 1
        return self.rate_limited <= self.policy.max_rate_limited

    def after_transient(self, retry_after: float | None) -> float | None:
        """A transient failure: seconds to wait before the next try, or None when out of tries."""
        self.transient += 1
        if self.transient >= self.policy.max_attempts:
            return None
        delay = self.policy.backoff(self.transient)
        if retry_after is not None:  # 503 + Retry-After: the server says when
            delay = max(delay, min(retry_after, RETRY_AFTER_CAP))
        return delay


class ThrottledProgress:
    """Sends an engine's progress events at most every `interval` seconds (forced ones always go);
    the event is built only when it is sent, and a renderer's exception never breaks the engine."""

    def __init__(self, callback: ProgressCallback | None, interval: float) -> None:
        self.callback = callback
        self.interval = interval
        self._last = 0.0

    def __call__(self, make: Callable[[], Progress], *, force: bool = False) -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        with contextlib.suppress(Exception):
            self.callback(make())
