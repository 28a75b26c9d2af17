"""Expected durations, from the request budgets and the counts, shown before a long job starts.

The import, organizations and memberships are paced by the WorkOS write budget (api-facts §2:
500 writes per 10 s); the MFA scan reads one user's authentication methods per Auth0 request, at
the Auth0 client's default pace (15 per second unless the tenant's rate-limit headers say less;
Essentials plans allow about 150 per minute on that endpoint). An estimate is a floor: 429 pauses,
retries and latency make a run longer, never shorter.
"""

from __future__ import annotations

from dataclasses import dataclass

from wizard.core.pacing import DEFAULT_MARGIN, WRITE_BUDGET, Budget

AUTH0_SCAN_PER_SECOND = 15.0  # wizard.clients.auth0 pacer default
AUTH0_ESSENTIALS_PER_SECOND = 150 / 60  # "all other endpoints" on Essentials / Professional plans


@dataclass(frozen=True)
class Estimate:
    """`items` at `per_second`: the least time the job takes."""

    what: str
    items: int
    per_second: float

    @property
    def seconds(self) -> float:
        return self.items / self.per_second if self.per_second > 0 else 0.0

    def __str__(self) -> str:
        rate = f"{self.per_second:.0f}/s" if self.per_second >= 1 else f"{self.per_second * 60:.0f}/min"
        return f"{self.what}: {self.items:,} at {rate} ≈ {describe_duration(self.seconds)}"


def describe_duration(seconds: float) -> str:
    """`under a minute`, `about 7 min`, `about 1 h 20 min`: no false precision."""
    if seconds < 60:
        return "under a minute" if seconds >= 1 else "a few seconds"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    return f"about {minutes // 60} h {minutes % 60:02d} min"


def writes(what: str, count: int, budget: Budget = WRITE_BUDGET, *, calls_each: float = 1.0,
           margin: float = DEFAULT_MARGIN) -> Estimate:
    """`count` items that cost `calls_each` WorkOS writes each, under `budget`."""
    return Estimate(what, count, budget.per_second * margin / max(calls_each, 1e-9))


def mfa_scan(users: int, per_second: float = AUTH0_SCAN_PER_SECOND) -> Estimate:
    """One Auth0 authentication-methods read per user."""
    return Estimate("MFA scan", users, per_second)
