"""The gate model: every step's gate returns a GateResult; TUI, plain mode and CLI only render it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class GateStatus(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of a checklist: what was checked, whether it held, the evidence, and how to fix it."""

    name: str
    ok: bool
    evidence: str = ""
    fix_hint: str = ""


@dataclass(frozen=True, slots=True)
class GateResult:
    status: GateStatus
    checks: tuple[Check, ...] = ()
    reason: str = ""  # why failed / why not applicable, in one sentence
    details: dict = field(default_factory=dict)  # JSON-able figures saved in the journal

    @property
    def passed(self) -> bool:
        return self.status in (GateStatus.PASSED, GateStatus.NOT_APPLICABLE)

    @classmethod
    def from_checks(cls, checks: list[Check] | tuple[Check, ...], details: dict | None = None) -> GateResult:
        """Passed when every check holds; otherwise failed, naming the first failing check."""
        checks = tuple(checks)
        failing = [c for c in checks if not c.ok]
        if failing:
            reason = f"{failing[0].name}: {failing[0].evidence or 'failed'}"
            return cls(GateStatus.FAILED, checks, reason, details or {})
        return cls(GateStatus.PASSED, checks, "", details or {})

    @classmethod
    def not_applicable(cls, reason: str, details: dict | None = None) -> GateResult:
        return cls(GateStatus.NOT_APPLICABLE, (), reason, details or {})
