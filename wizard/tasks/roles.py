"""The roles job: read Auth0 RBAC, map it, then (after a dry run and a confirmation in the front end)
create permissions, roles with their permission sets, and membership roles in WorkOS.

`plan_roles` reads and maps (shown before anything is written); `run_roles` plans again and dry-runs
or applies; `rollback_roles` and `verify_roles` are what the rollback and verification code call.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path

from wizard.clients.auth0 import Auth0Client
from wizard.clients.workos import make_client
from wizard.core import roles as core
from wizard.core import steps
from wizard.core.config import Settings
from wizard.core.gates import Check, GateResult
from wizard.core.journal import Journal
from wizard.core.progress import ProgressCallback
from wizard.core.rundir import write_private
from wizard.tasks import clients, loop

STEP_ID = "roles"
NO_ROLES_REASON = "the Auth0 tenant has no roles (GET /api/v2/roles returned none)"


@dataclass
class RolesResult:
    read: core.RolesRead | None
    plan: core.RolesPlan
    outcome: core.RolesOutcome | None
    csv_path: Path | None
    gate: GateResult | None
    not_applicable: bool = False


def read_roles(journal: Journal, settings: Settings, *, on_progress: ProgressCallback | None = None,
               auth0_rate: float = 15.0) -> core.RolesRead:
    """Auth0 roles, permissions, member roles and tenant-level holders into the journal; when none
    exists the step is recorded not applicable with that reason."""
    with Auth0Client.from_settings(settings, on_wait=on_progress, max_per_second=auth0_rate) as client:
        read = core.read_auth0_roles(client, journal, on_progress=on_progress)
    if not read.roles:
        journal.set_step(STEP_ID, "not_applicable", NO_ROLES_REASON)
    elif (journal.step(STEP_ID) or {}).get("reason") == NO_ROLES_REASON:
        steps.clear_not_applicable(journal, STEP_ID)
    return read


@contextlib.asynccontextmanager
async def _engine(journal: Journal, settings: Settings, on_progress: ProgressCallback | None,
                  give_up_after: float | None = None) -> AsyncIterator[core.RolesEngine]:
    """The roles engine on the run's one pacer (its window kept in the journal when the job ends)."""
    async with clients.paced_workos(journal, settings, give_up_after=give_up_after) as (client, pacer):
        yield core.RolesEngine(journal, client, pacer=pacer, on_progress=on_progress)


def plan_roles(journal: Journal, settings: Settings, *, reuse_existing: Iterable[str] = (),
               default_org: str | None = None,
               on_progress: ProgressCallback | None = None) -> tuple[core.RolesPlan, core.RolesOutcome]:
    """The mapping and a dry run (reads only) from what the journal holds: what a front end shows
    before it asks for the typed confirmation."""
    async def go():
        async with _engine(journal, settings, on_progress) as engine:
            plan = await engine.plan(reuse_existing)
            return plan, await engine.dry_run(plan, default_org=core.resolve_default_org(journal, default_org))

    return loop.run(go())


def write_roles_csv(journal: Journal) -> Path:
    path = journal.run_dir / core.ROLES_CSV
    write_private(path, core.roles_csv_text(journal))
    return path


def run_roles(journal: Journal, settings: Settings, *, on_progress: ProgressCallback | None = None,
              dry_run: bool = False, reuse_existing: Iterable[str] = (), default_org: str | None = None,
              read: bool = True, auth0_rate: float = 15.0,
              give_up_after: float | None = None) -> RolesResult:
    """Read (when Auth0 credentials are set and `read`), plan, then dry-run or apply; writes
    `roles.csv` and records the step's gate after a real run."""
    read_result = None
    if read and settings.has_auth0_credentials:
        read_result = read_roles(journal, settings, on_progress=on_progress, auth0_rate=auth0_rate)
    if not core.has_roles(journal):
        return RolesResult(read_result, core.RolesPlan(), None, None, None, not_applicable=True)
    target_org = core.resolve_default_org(journal, default_org)

    async def go():
        async with _engine(journal, settings, on_progress, give_up_after) as engine:
            plan = await engine.plan(reuse_existing)
            if dry_run:
                return plan, await engine.dry_run(plan, default_org=target_org)
            return plan, await engine.apply(plan, default_org=target_org)

    plan, outcome = loop.run(go())
    csv_path = write_roles_csv(journal)
    gate = None
    if not dry_run:
        gate = steps.check_step(steps.step_by_id(STEP_ID), journal, settings)
    return RolesResult(read_result, plan, outcome, csv_path, gate)


def rollback_roles(journal: Journal, settings: Settings, *, on_progress: ProgressCallback | None = None) -> dict:
    """Undo the roles step's writes that WorkOS lets us undo; the summary lists what stays."""
    async def go():
        async with _engine(journal, settings, on_progress) as engine:
            return await engine.rollback()

    summary = loop.run(go())
    write_roles_csv(journal)
    return summary


def verify_roles(journal: Journal, settings: Settings) -> Check:
    """The verification checklist's roles check (reads only)."""
    return core.verify_check(journal, lambda: make_client(settings))
