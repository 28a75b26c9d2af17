"""The rollback job: delete, paced and journalled, the WorkOS users this run created (users that
existed before and were only updated are kept), then rewrite `id-map.csv` without them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from wizard.clients.errors import ApiError, ErrorKind
from wizard.clients.progress import ProgressCallback
from wizard.clients.settings import Settings
from wizard.core.artifacts import write_id_map
from wizard.core.environment import require_same_environment
from wizard.core.journal import Journal
from wizard.core.pacing import Budget
from wizard.core.rollback import Rollback, RollbackSummary, RollbackTarget, rollback_targets
from wizard.tasks import clients, loop

CONFIRM_WORD = "rollback"


@dataclass
class RollbackPlan:
    targets: list[RollbackTarget]  # created by this run and still there
    kept: int  # users this run only updated: never deleted
    restores: list = field(default_factory=list)  # before-images of pre-existing users not yet put back
    unknown: list = field(default_factory=list)  # creates whose answer was lost: looked up first


@dataclass
class RollbackResult:
    summary: RollbackSummary
    id_map: Path


def rollback_plan(journal: Journal) -> RollbackPlan:
    return RollbackPlan(rollback_targets(journal), len({w["auth0_id"] for w in journal.writes("update_user")}),
                        journal.before_images(restored=False), journal.creates_unknown())


def check_environment(journal: Journal, settings: Settings) -> None:
    """Refuse another WorkOS environment before saying anything about what would be deleted (a refused
    key is left to the rollback itself, which stops with the usual message)."""

    async def go() -> None:
        async with clients.workos_async(settings) as client:
            try:
                await require_same_environment(journal, client, action="roll back", bind=False)
            except ApiError as err:
                if err.kind is not ErrorKind.AUTH:
                    raise

    loop.run(go())


def confirmation_accepted(typed: str, n: int) -> bool:
    """The person typed the number of users to delete (separators allowed) or the word "rollback"."""
    a = (typed or "").strip().lower().replace(",", "")
    return a == CONFIRM_WORD or a == str(n)


def run_rollback(journal: Journal, settings: Settings, *, on_progress: ProgressCallback | None = None,
                 rate: Budget | str | float | None = None) -> RollbackResult:
    async def go() -> RollbackSummary:
        async with clients.workos_async(settings) as client:
            return await Rollback(journal, client, rate=rate, on_progress=on_progress).run()

    summary = loop.run(go())
    return RollbackResult(summary, write_id_map(journal, journal.run_dir))
