"""The rollback job: delete, paced and journalled, the WorkOS users this run created (users that
existed before and were only updated are kept), then rewrite `id-map.csv` without them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from wizard.clients.progress import ProgressCallback
from wizard.clients.settings import Settings
from wizard.core.artifacts import write_id_map
from wizard.core.journal import Journal
from wizard.core.pacing import Budget
from wizard.core.rollback import Rollback, RollbackSummary, RollbackTarget, rollback_targets
from wizard.tasks import clients

CONFIRM_WORD = "rollback"


@dataclass
class RollbackPlan:
    targets: list[RollbackTarget]  # created by this run and still there
    kept: int  # users this run only updated: never deleted


@dataclass
class RollbackResult:
    summary: RollbackSummary
    id_map: Path


def rollback_plan(journal: Journal) -> RollbackPlan:
    return RollbackPlan(rollback_targets(journal), len({w["auth0_id"] for w in journal.writes("update_user")}))


def confirmation_accepted(typed: str, n: int) -> bool:
    """The person typed the number of users to delete (separators allowed) or the word "rollback"."""
    a = (typed or "").strip().lower().replace(",", "")
    return a == CONFIRM_WORD or a == str(n)


def run_rollback(journal: Journal, settings: Settings, *, on_progress: ProgressCallback | None = None,
                 rate: Budget | str | float | None = None) -> RollbackResult:
    async def go() -> RollbackSummary:
        async with clients.workos_async(settings) as client:
            return await Rollback(journal, client, rate=rate, on_progress=on_progress).run()

    summary = asyncio.run(go())
    return RollbackResult(summary, write_id_map(journal, journal.run_dir))
