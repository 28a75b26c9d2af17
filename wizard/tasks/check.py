"""Steps 4-5's job: verify the export files and plan them (`auth0-workos check`, the export step,
the headless import's first half). Reads the exports streaming; writes the plan into the journal."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wizard.clients.progress import ProgressCallback
from wizard.core import plan
from wizard.core.gates import GateResult
from wizard.core.journal import Journal
from wizard.core.plan import PlanOptions, PlanResult


@dataclass
class CheckResult:
    """The plan, its export gate, and (when saved into a journal) the mapping gate and users written."""

    plan: PlanResult
    export_gate: GateResult
    mapping_gate: GateResult | None = None
    saved: int | None = None  # planned users written to the journal; None when not saved

    @property
    def gates(self) -> dict[str, GateResult]:
        out = {"export": self.export_gate}
        if self.mapping_gate is not None:
            out["mapping"] = self.mapping_gate
        return out

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates.values())


def run_check(journal: Journal | None, users_path: str | Path, passwords_path: str | Path | None = None, *,
              options: PlanOptions | None = None, on_progress: ProgressCallback | None = None,
              save_only_if_passed: bool = False) -> CheckResult:
    """Build the plan from the export files; save it into `journal` (when given; with
    `save_only_if_passed`, only when the export gate passes). Raises `JournalError` when an export
    changed while it was read (nothing is saved then)."""
    users = Path(users_path)
    passwords = Path(passwords_path) if passwords_path else None
    if options is None and journal is not None:  # the run's recorded hash-join choice (export step)
        options = plan.PlanOptions(join_by_email=plan.recorded_join_by_email(journal))
    if journal is None:
        result = plan.build_plan(users, passwords, options, on_progress=on_progress)
    else:
        result = plan.build_run_plan(journal, users, passwords, options, on_progress=on_progress)
    gate = plan.export_gate(result)
    if journal is None or (save_only_if_passed and not gate.passed):
        return CheckResult(result, gate)
    saved = plan.save_plan(journal, result, users, passwords)
    return CheckResult(result, gate, plan.mapping_gate(journal), saved)
