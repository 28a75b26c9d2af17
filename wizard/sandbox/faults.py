"""Deterministic fault injection shared by the emulators: latency, 5xx answers, dropped connections."""

from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class Faults:
    """Shares are probabilities per request, drawn from an RNG seeded with `seed` (repeatable runs)."""

    latency_ms: float = 0
    jitter_ms: float = 0
    error_rate: float = 0.0  # answer 500/502/503 without doing anything
    drop_rate: float = 0.0  # close the connection mid-response
    commit_then_fail_rate: float = 0.0  # writes only: apply the change, then answer 500
    seed: int = 0
    # the Nth write (1-based) is applied, then its answer is held until `FaultPlan.release` is set:
    # a test sees `FaultPlan.holding` and knows the change landed while the client still waits
    hold_after_commit: int = 0


class Fault(Enum):
    NONE = "none"
    ERROR = "error"
    DROP = "drop"
    COMMIT_THEN_FAIL = "commit_then_fail"


class FaultPlan:
    """Draws, for each request, the delay and the fault to inject."""

    ERROR_STATUSES = (500, 502, 503)

    def __init__(self, faults: Faults):
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._lock = threading.Lock()
        self._writes = 0
        self.holding = threading.Event()  # set once the held write has been applied
        self.release = threading.Event()  # set by the test to let its answer go

    def hold_this_write(self) -> bool:
        """Count one write; True for the one `hold_after_commit` names."""
        if not self.faults.hold_after_commit:
            return False
        with self._lock:
            self._writes += 1
            return self._writes == self.faults.hold_after_commit

    @property
    def active(self) -> bool:
        f = self.faults
        return bool(f.latency_ms or f.jitter_ms or f.error_rate or f.drop_rate or f.commit_then_fail_rate
                    or f.hold_after_commit)

    def draw(self, is_write: bool) -> tuple[float, Fault, int]:
        """(delay seconds, fault, error status) for one request."""
        f = self.faults
        with self._lock:
            delay = (f.latency_ms + (self._rng.random() * f.jitter_ms if f.jitter_ms else 0)) / 1000
            roll = self._rng.random()
            status = self._rng.choice(self.ERROR_STATUSES)
        if roll < f.error_rate:
            return delay, Fault.ERROR, status
        roll -= f.error_rate
        if roll < f.drop_rate:
            return delay, Fault.DROP, 0
        roll -= f.drop_rate
        if is_write and roll < f.commit_then_fail_rate:
            return delay, Fault.COMMIT_THEN_FAIL, 500
        return delay, Fault.NONE, 0

    @staticmethod
    async def sleep(delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
