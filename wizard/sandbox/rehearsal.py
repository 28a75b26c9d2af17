"""What the rehearsal flags (parsed in `wizard.commands._rehearsal`) make of the sandbox: the demo tenant at
scale and the WorkOS emulator with latency, faults and a request budget, so pause, cancel, 429
pauses, failures, retries and the ETA can be seen working before the real evening."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from wizard.core.pacing import Budget, parse_budget
from wizard.sandbox.faults import Faults
from wizard.sandbox.ratelimit import RateLimits

MAX_USERS = 1_000_000


@dataclass(frozen=True)
class Rehearsal:
    users: int | None = None
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    rate: Budget | None = None  # the emulator's write budget (default: WorkOS's documented 500/10s)

    @property
    def faults(self) -> Faults | None:
        if not (self.latency_ms or self.fault_rate):
            return None
        # half the faults answer 5xx, half drop the connection mid-answer: both must be retried
        return Faults(latency_ms=self.latency_ms, error_rate=self.fault_rate / 2, drop_rate=self.fault_rate / 2,
                      seed=7)

    @property
    def limits(self) -> RateLimits | None:
        if self.rate is None:
            return None
        per_10s = max(1, round(self.rate.limit * 10 / self.rate.window))
        return RateLimits(writes_per_10s=per_10s, reads_per_10s=max(per_10s * 2, 1))

    def describe(self) -> str:
        parts = []
        if self.users:
            parts.append(f"{self.users:,} users")
        if self.latency_ms:
            parts.append(f"{self.latency_ms:g} ms latency")
        if self.fault_rate:
            parts.append(f"{self.fault_rate:.0%} faults (5xx and dropped connections)")
        if self.rate is not None:
            parts.append(f"WorkOS write budget {self.rate}")
        return ", ".join(parts) or "the demo tenant, no faults"


def from_args(args: argparse.Namespace) -> Rehearsal:
    """The flags, checked: a ValueError names the flag and what is allowed."""
    users = getattr(args, "sandbox_users", None)
    latency = float(getattr(args, "sandbox_latency_ms", 0.0) or 0.0)
    fault_rate = float(getattr(args, "sandbox_fault_rate", 0.0) or 0.0)
    rate_text = getattr(args, "sandbox_rate", None)
    if users is not None and not 1 <= users <= MAX_USERS:
        raise ValueError(f"--users must be between 1 and {MAX_USERS:,} (got {users})")
    if not 0 <= latency <= 60_000:
        raise ValueError(f"--latency-ms must be between 0 and 60000 (got {latency:g})")
    if not 0 <= fault_rate < 1:
        raise ValueError(f"--fault-rate is a share between 0 and 1, e.g. 0.02 (got {fault_rate:g})")
    try:
        rate = parse_budget(rate_text) if rate_text else None
    except ValueError as exc:
        raise ValueError(f"--rate: {exc}") from None
    return Rehearsal(users=users, latency_ms=latency, fault_rate=fault_rate, rate=rate)
