"""One small immutable progress event, emitted by every long operation and rendered by TUI and CLI."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Progress:
    operation: str  # "import", "inventory", "orgs", "mfa-scan", "export-job", "rollback", ...
    total: int | None  # None when unknown (a stream still being read)
    counts: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))  # status -> n
    rate: float = 0.0  # items per second, recent
    eta_seconds: float | None = None
    paused_until: float | None = None  # time.time() until which work is paused (a retry wait), else None
    pause_cause: str | None = None  # why: `ApiError.wait_cause` ("rate limited (HTTP 429)", "server error …")
    latest_error: str | None = None  # plain message; never a secret or hash
    done: bool = False
    at: float = field(default_factory=time.time)

    @property
    def completed(self) -> int:
        """Items that reached a final state (everything but planned / in_flight)."""
        return sum(n for k, n in self.counts.items() if k not in ("planned", "in_flight", "pending"))


ProgressCallback = Callable[[Progress], None]


def pause_label(p: Progress) -> str:
    """The cause of a pause as shown on screen: never "rate limited" unless a 429 said so."""
    return p.pause_cause or "waiting to retry"


def frozen_counts(counts: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType(dict(counts))
