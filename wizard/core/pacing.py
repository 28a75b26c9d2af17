"""Pacing for WorkOS calls: sliding windows that match the published budgets exactly, one global
pause on 429, and a concurrency limit high enough to send a window's whole burst at once.
Also what the import and the rollback engines share around it: the retry policy for one call and
the throttle on their progress events.

WorkOS budgets (api-facts §2): /user_management writes 500 per 10 s, reads 1,000 per 10 s, and
6,000 requests per 60 s in all, per API key. A budget is a window, so a client that counts its own
requests in the trailing window may send the first `limit` at once and then one for each that
leaves: N writes take about (N − 500) / 50 s instead of N / 50.

Why this never exceeds the server's window, whatever the latency: the server counts a request when
it arrives, which is after we send it and before its answer reaches us. So a request is counted
here from the moment it is sent until `window` seconds after its answer came back (`Slot.done()`);
a new request may leave only while fewer than `limit × margin` are counted. Each cycle of the
window therefore lasts `window + latency`, never less. A slot whose answer is never reported is
counted `UNREPORTED_HOLD` seconds longer than the window. `Slot.sent()` restamps a slot just before
its request goes out, when work (a journal write) came between taking the slot and sending.

Why not count from the send alone (`send + window`, a shorter cycle at high latency): that is
exact only if every request takes the same time to reach the server. It does not: measured with
`bench/import_throughput.py` (3,000 users at 250 ms), the first burst's requests reached the
emulator up to 0.75 s after their send (500 new connections on shared cores) and the next burst's,
over warm connections, sooner, so the emulator saw 501 writes in 10 s and answered a 429. The only
bound that holds whatever the network does is the answer: the server counted the request before
it answered.

One migration shares one `Pacer` (`shared_pacer`): users, organizations, memberships, TOTP factors,
SSO connections and roles draw on the same budget, from asyncio engines (`await pacer.write()`) and
from blocking SDK steps (`pacer.write_sync()`) alike. Its trailing window is kept in the run's
journal (`save_window` / `restore_window`), so the next command of the same run starts where the
previous one stopped instead of bursting into a server window that is still full.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import math
import random
import re
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wizard.core.progress import Progress, ProgressCallback

DEFAULT_MARGIN = 1.0  # share of each documented limit we use; the window accounting is already exact
UNREPORTED_HOLD = 5.0  # seconds a slot whose answer was never reported stays counted past its send
POLL = 0.02  # how often a waiter looks again while every counted request is still in the air
DEFAULT_MAX_CONCURRENCY = 600  # the write window's burst (500) plus the steady flow at high latency
RETRY_AFTER_CAP = 60.0  # longest wait a 5xx's Retry-After may impose on one worker (as the SDK)
PACER_PAUSE_CAUSE = "rate limited (HTTP 429)"  # the shared pause starts only after a 429
WINDOW_DOCUMENT = "pacer_window"  # journal document: the trailing window, for the run's next process


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


def total_budget_for(write: Budget) -> Budget:
    """The per-key budget for every request; a raised write budget (negotiated) raises it alike."""
    scale = max(1.0, write.per_second / WRITE_BUDGET.per_second)
    return Budget(round(ALL_REQUESTS_BUDGET.limit * scale), ALL_REQUESTS_BUDGET.window)


class SlidingWindow:
    """The requests counted against one budget: at most `capacity` at any moment, each from its
    send until `window` seconds after its answer (see the module docstring for why that is exact).
    Not locked: the `Pacer` that owns it calls it under its own lock."""

    def __init__(self, budget: Budget, margin: float = DEFAULT_MARGIN, *,
                 unreported_hold: float = UNREPORTED_HOLD) -> None:
        self.unreported_hold = unreported_hold
        self._open: dict[int, float] = {}  # slot id -> send time, in send order: still in the air
        self._ends: dict[int, float] = {}  # slot id -> when it leaves the window (answered)
        self._heap: list[tuple[float, int]] = []  # (end, id); stale entries skipped lazily
        self._ids = 0
        self.configure(budget, margin)

    def configure(self, budget: Budget, margin: float = DEFAULT_MARGIN) -> None:
        if not 0 < margin <= 1:
            raise ValueError("margin must be in (0, 1]")
        self.budget = budget
        self.margin = margin
        self.capacity = max(1, math.floor(budget.limit * margin + 1e-9))

    @property
    def window(self) -> float:
        return self.budget.window

    def _prune(self, now: float) -> None:
        heap, ends = self._heap, self._ends
        while heap and (heap[0][0] <= now or ends.get(heap[0][1]) != heap[0][0]):
            end, sid = heapq.heappop(heap)
            if ends.get(sid) == end:
                del ends[sid]
        hold = self.unreported_hold
        while self._open:  # answers never reported: counted as answered `hold` after sending
            sid, sent = next(iter(self._open.items()))
            if sent + hold > now:
                break
            del self._open[sid]
            self._set_end(sid, sent + hold + self.window)

    def _set_end(self, sid: int, end: float) -> None:
        if end > self._ends.get(sid, -math.inf):
            self._ends[sid] = end
            heapq.heappush(self._heap, (end, sid))

    def count(self, now: float) -> int:
        """Requests counted in the window at `now` (sent and not yet out of the window)."""
        self._prune(now)
        return len(self._open) + len(self._ends)

    def wait(self, now: float) -> tuple[float, bool]:
        """(seconds until a slot frees, whether that time is certain). (0, True) when one is free.
        Uncertain: the next slot to free is a request still in the air (its answer starts the clock)."""
        over = self.count(now) - self.capacity + 1
        if over <= 0:
            return 0.0, True
        if over == 1:  # the usual case: the heap's top is the next to leave (pruning keeps it valid)
            ended = [self._heap[0][0]] if self._heap else []
        else:
            ended = sorted(self._ends.values())
        if len(ended) >= over:
            return max(0.0, ended[over - 1] - now), True
        return POLL, False

    def take(self, now: float) -> int:
        self._ids += 1
        self._open[self._ids] = now
        return self._ids

    def sent(self, sid: int, now: float) -> None:
        """Slot `sid` goes out only now (`now` is the latest send, so moving it to the end keeps
        `_open` in send order)."""
        if sid in self._open:
            del self._open[sid]
            self._open[sid] = now

    def done(self, sid: int, now: float) -> None:
        """The answer of slot `sid` arrived at `now`: it leaves the window `window` seconds later."""
        self._open.pop(sid, None)
        self._set_end(sid, now + self.window)

    def fill(self, now: float, until: float) -> None:
        """After a 429 the server's window is full: count it full, emptying evenly over one window
        from `until` on, so sending resumes at the steady rate, not with a burst."""
        missing = self.capacity - self.count(now)
        for i in range(missing):
            self._ids += 1
            self._set_end(self._ids, until + self.window * (i + 1) / missing)

    def ends(self, now: float) -> list[float]:
        """When each counted request leaves the window (those in the air: `window` after now)."""
        self._prune(now)
        return sorted([*self._ends.values(), *(now + self.window for _ in self._open)])

    def seed(self, ends: list[float], now: float) -> None:
        """Count requests another process sent (their window ends, on this clock)."""
        for end in ends:
            if end > now:
                self._ids += 1
                self._set_end(self._ids, end)


class Slot:
    """One request's place in the windows it counts against. Call `done()` when its answer (or its
    failure) arrives; also a context manager: `with await pacer.write(): ...`."""

    __slots__ = ("_pacer", "_taken", "_done")

    def __init__(self, pacer: Pacer, taken: list[tuple[SlidingWindow, int]]) -> None:
        self._pacer = pacer
        self._taken = taken
        self._done = False

    def sent(self) -> None:
        """The request goes out now: count it from here (call it right before the SDK call)."""
        if not self._done:
            self._pacer._restamp(self._taken)

    def done(self) -> None:
        if self._done:
            return
        self._done = True
        self._pacer._release(self._taken)

    def __enter__(self) -> Slot:
        return self

    def __exit__(self, *exc) -> None:
        self.done()


class AdaptiveLimit:
    """A resizable semaphore for one event loop. The target is the write window's burst plus
    `rate × latency × headroom + 1` (Little's law), bounded by `maximum`: enough requests in the
    air that the window, not the round trip, sets the pace, including the burst a fresh window allows."""

    def __init__(self, maximum: int, *, initial: int | None = None, headroom: float = 1.2,
                 burst: int = 0) -> None:
        self.maximum = max(1, maximum)
        self.burst = burst
        self.limit = min(self.maximum, initial or max(8, burst + 1))
        self.headroom = headroom
        self.active = 0
        self.latency: float | None = None  # EWMA of request round trips, seconds
        self._cond = asyncio.Condition()

    def observe(self, latency: float, rate: float) -> None:
        self.latency = latency if self.latency is None else 0.8 * self.latency + 0.2 * latency
        self.resize(self.burst + math.ceil(rate * self.latency * self.headroom) + 1)

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
    """Write, read and per-key windows plus one pause shared by every worker (set by a 429's
    Retry-After). Thread-safe: asyncio engines in any event loop and blocking steps in any thread
    may share one; each waits in arrival order behind the others of its loop (or of the threads)."""

    def __init__(self, write: Budget = WRITE_BUDGET, read: Budget = READ_BUDGET, *,
                 margin: float = DEFAULT_MARGIN, max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
                 default_pause: float = 10.0, total: Budget | None = None,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time,
                 unreported_hold: float = UNREPORTED_HOLD) -> None:
        self._clock = clock
        self._wall = wall
        self._lock = threading.RLock()
        self._explicit_total = total is not None
        self.writes = SlidingWindow(write, margin, unreported_hold=unreported_hold)
        self.reads = SlidingWindow(read, margin, unreported_hold=unreported_hold)
        self.total = SlidingWindow(total or total_budget_for(write), margin, unreported_hold=unreported_hold)
        self.max_concurrency = max(1, max_concurrency)
        self.default_pause = default_pause
        self.paused_until: float | None = None  # wall-clock (time.time()) for progress events
        self.pauses = 0
        self.fallback_base = 1.0  # first wait for a 429 without Retry-After; doubles to default_pause
        self._fallback_streak = 0
        self._fallback_end = 0.0
        self._latency: float | None = None
        self._limits: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # loop -> AdaptiveLimit
        self._loop_locks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # loop -> asyncio.Lock
        self._thread_queue = threading.Lock()  # blocking callers queue here
        self._last_limit: AdaptiveLimit | None = None
        self.seeded: set[str] = set()  # journals whose stored window this pacer has counted

    # ------------------------------------------------------------------ configuration
    def configure(self, write: Budget | None = None, read: Budget | None = None, *,
                  margin: float | None = None, max_concurrency: int | None = None) -> None:
        """Change budgets in place (the counted requests stay counted)."""
        with self._lock:
            m = self.writes.margin if margin is None else margin
            if write is not None or margin is not None:
                self.writes.configure(write or self.writes.budget, m)
                if not self._explicit_total:
                    self.total.configure(total_budget_for(self.writes.budget), m)
                else:
                    self.total.configure(self.total.budget, m)
            if read is not None or margin is not None:
                self.reads.configure(read or self.reads.budget, m)
            if max_concurrency is not None:
                self.max_concurrency = max(1, max_concurrency)
                for limit in list(self._limits.values()):
                    limit.maximum = self.max_concurrency
                    limit.limit = min(limit.limit, limit.maximum)

    # ------------------------------------------------------------------ concurrency
    @property
    def limit(self) -> AdaptiveLimit:
        """The concurrency limit of the running event loop (one per loop: asyncio primitives
        belong to the loop that made them); outside a loop, the last one used."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            if self._last_limit is None:
                self._last_limit = AdaptiveLimit(self.max_concurrency, burst=self.writes.capacity)
            return self._last_limit
        limit = self._limits.get(loop)
        if limit is None:
            limit = AdaptiveLimit(self.max_concurrency, burst=self.writes.capacity)
            if self._latency is not None:
                limit.latency = self._latency
            self._limits[loop] = limit
        self._last_limit = limit
        return limit

    def observe(self, latency: float, *, reads: bool = False) -> None:
        """Feed one round trip to the concurrency limit (sized for the window that sets the pace)."""
        self._latency = latency if self._latency is None else 0.8 * self._latency + 0.2 * latency
        window = self.reads if reads else self.writes
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # blocking callers have no concurrency limit to size
        limit = self.limit
        limit.burst = window.capacity
        limit.observe(latency, window.budget.per_second * window.margin)

    # ------------------------------------------------------------------ the pause
    def _fallback(self) -> float:
        """A 429 without a readable Retry-After: 1, 2, 4 ... up to `default_pause` seconds, growing
        only across pauses (many workers hitting the same 429 count once), reset after a quiet spell."""
        now = self._wall()
        if self.paused_until is not None and now < self.paused_until:
            return self.paused_until - now  # already waiting out this storm
        if now - self._fallback_end > 2 * self.default_pause:
            self._fallback_streak = 0
        seconds = min(self.default_pause, self.fallback_base * 2 ** self._fallback_streak)
        self._fallback_streak += 1
        self._fallback_end = now + seconds
        return seconds

    def pause(self, seconds: float | None) -> None:
        """Every worker waits until the later of the current pause and now + `seconds`; the windows
        count as full from then on (the server said so), so sending resumes at the steady rate."""
        with self._lock:
            seconds = self._fallback() if seconds is None else max(0.5, float(seconds))
            until = self._wall() + seconds
            if self.paused_until is None or until > self.paused_until:
                self.paused_until = until
            self.pauses += 1
            now = self._clock()
            resume = now + (self.paused_until - self._wall())
            for window in (self.writes, self.reads, self.total):
                window.fill(now, resume)

    def pause_after_429(self, retry_after: float | None) -> str:  # the only way the shared pause starts
        """`pause(retry_after)` for a 429, and the line that tells the person how long it lasts."""
        self.pause(retry_after)
        wait = (self.paused_until or self._wall()) - self._wall()
        return f"{PACER_PAUSE_CAUSE} by WorkOS; pausing {max(wait, 0.0):.1f} s"

    @property
    def paused(self) -> bool:
        with self._lock:
            if self.paused_until is not None and self._wall() >= self.paused_until:
                self.paused_until = None
            return self.paused_until is not None

    # ------------------------------------------------------------------ taking slots
    def _try_take(self, windows: tuple[SlidingWindow, ...]) -> Slot | float:
        """A slot in every window at once, or how long to wait before asking again."""
        with self._lock:
            if self.paused:
                return max(0.01, (self.paused_until or 0.0) - self._wall())
            now = self._clock()
            delay = 0.0
            for window in windows:
                wait, certain = window.wait(now)
                delay = max(delay, wait if certain else min(wait, POLL))
            if delay > 0:
                return min(delay, 1.0)  # look again at least every second (pauses, new budgets)
            return Slot(self, [(w, w.take(now)) for w in windows])

    def _restamp(self, taken: list[tuple[SlidingWindow, int]]) -> None:
        with self._lock:
            now = self._clock()
            for window, sid in taken:
                window.sent(sid, now)

    def _release(self, taken: list[tuple[SlidingWindow, int]]) -> None:
        with self._lock:
            now = self._clock()
            for window, sid in taken:
                window.done(sid, now)

    def _loop_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._lock:
            lock = self._loop_locks.get(loop)
            if lock is None:
                lock = self._loop_locks[loop] = asyncio.Lock()
            return lock

    async def _take(self, windows: tuple[SlidingWindow, ...]) -> Slot:
        async with self._loop_lock():  # FIFO: only the head of the queue watches the windows
            while True:
                got = self._try_take(windows)
                if isinstance(got, Slot):
                    return got
                await asyncio.sleep(got)

    def _take_sync(self, windows: tuple[SlidingWindow, ...], sleep: Callable[[float], None]) -> Slot:
        with self._thread_queue:
            while True:
                got = self._try_take(windows)
                if isinstance(got, Slot):
                    return got
                sleep(got)

    async def write(self) -> Slot:
        """Wait for room in the write and per-key windows; `done()` the slot when the answer comes."""
        return await self._take((self.writes, self.total))

    async def read(self) -> Slot:
        return await self._take((self.reads, self.total))

    def write_sync(self, sleep: Callable[[float], None] = time.sleep) -> Slot:
        """`write()` for blocking SDK calls (organizations, memberships, TOTP factors...)."""
        return self._take_sync((self.writes, self.total), sleep)

    def read_sync(self, sleep: Callable[[float], None] = time.sleep) -> Slot:
        return self._take_sync((self.reads, self.total), sleep)

    def other_sync(self, sleep: Callable[[float], None] = time.sleep) -> Slot:
        """A request outside /user_management (organizations, SSO...): only the per-key window."""
        return self._take_sync((self.total,), sleep)

    async def other(self) -> Slot:
        return await self._take((self.total,))

    # ------------------------------------------------------------------ across processes
    def export_window(self) -> dict[str, Any]:
        """The trailing windows as wall-clock end times (what `restore` needs in another process)."""
        with self._lock:
            now, wall = self._clock(), self._wall()
            out: dict[str, Any] = {"saved_at": wall}
            for name, window in (("writes", self.writes), ("reads", self.reads), ("total", self.total)):
                out[name] = [round(e - now + wall, 3) for e in window.ends(now)]
            if self.paused:
                out["paused_until"] = self.paused_until
            return out

    def restore_window(self, saved: dict[str, Any]) -> None:
        """Count the requests another process of this run sent that are still in the window."""
        with self._lock:
            now, wall = self._clock(), self._wall()
            for name, window in (("writes", self.writes), ("reads", self.reads), ("total", self.total)):
                ends = saved.get(name)
                if isinstance(ends, list):
                    window.seed([float(e) - wall + now for e in ends if isinstance(e, (int, float))], now)
            until = saved.get("paused_until")
            if isinstance(until, (int, float)) and until > wall:
                self.paused_until = max(self.paused_until or 0.0, float(until))


# ---------------------------------------------------------------------- one pacer per migration
_SHARED: dict[tuple[str, str], Pacer] = {}
_SHARED_LOCK = threading.Lock()


def _journal_key(journal: Any) -> str:
    run_dir = getattr(journal, "run_dir", None)
    return str(run_dir) if run_dir is not None else ""


def shared_pacer(base_url: str | None, journal: Any = None, *, write: Budget | None = None,
                 read: Budget | None = None, margin: float | None = None) -> Pacer:
    """The one Pacer of this migration (its run folder's journal) against this WorkOS environment:
    every WorkOS request of the run, from any step, draws on it. Made on first use, seeded from the
    trailing window the journal holds; budgets given here replace the current ones."""
    key = ((base_url or "").rstrip("/"), _journal_key(journal))
    with _SHARED_LOCK:
        pacer = _SHARED.get(key)
        if pacer is None:
            pacer = _SHARED[key] = Pacer(write or WRITE_BUDGET, read or READ_BUDGET,
                                         margin=DEFAULT_MARGIN if margin is None else margin)
        elif write is not None or read is not None or margin is not None:
            pacer.configure(write, read, margin=margin)
    if journal is not None:
        restore_window(journal, pacer)
    return pacer


def client_base_url(client: Any) -> str:
    """The base URL a WorkOS SDK client (sync or async) sends to."""
    return str(getattr(client, "base_url", None) or getattr(client, "_base_url", "") or "")


def restore_window(journal: Any, pacer: Pacer) -> None:
    """Count what earlier processes of this run left in the window (once per pacer and journal)."""
    key = _journal_key(journal)
    if not key or key in pacer.seeded:
        return
    pacer.seeded.add(key)
    with contextlib.suppress(Exception):  # an unreadable document only costs a possible 429
        saved = journal.get_document(WINDOW_DOCUMENT)
        if isinstance(saved, dict):
            pacer.restore_window(saved)


def save_window(journal: Any, pacer: Pacer) -> None:
    """Keep the trailing window in the journal for the run's next process (engines call it at the
    end of their work)."""
    if journal is None:
        return
    with contextlib.suppress(Exception):
        journal.put_document(WINDOW_DOCUMENT, pacer.export_window())


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
