"""Step 8's jobs: export the organizations (members, roles, domains) from Auth0, then create them
and the memberships in WorkOS; the migration writes `orgs.json` and records the step's state."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from wizard.clients.auth0 import WaitCallback
from wizard.clients.progress import ProgressCallback
from wizard.clients.settings import Settings
from wizard.core import orgs, steps
from wizard.core.gates import GateResult
from wizard.core.journal import Journal
from wizard.core.orgs import OrgCount, OrgExport, OrgMigration
from wizard.core.rundir import write_private
from wizard.tasks import clients

ORGS_JSON = "orgs.json"
NO_ORGS_REASON = "no Auth0 organizations"


@dataclass
class OrgExportResult:
    export: OrgExport
    scope_warning: str | None = None


@dataclass
class OrgMigrationResult:
    migration: OrgMigration
    counts: list[OrgCount] = field(default_factory=list)  # per organization, after a real run
    gate: GateResult | None = None  # recorded after a real run
    path: Path | None = None  # orgs.json after a real run


def run_org_export(journal: Journal, settings: Settings, *, on_progress: ProgressCallback | None = None,
                   on_wait: WaitCallback | None = None, max_per_second: float | None = clients.DEFAULT_AUTH0_RATE,
                   check_scopes: bool = False,
        on_scope_warning: Callable[[str], None] | None = None) -> OrgExportResult:
    """Organizations, members and domains from Auth0 into the journal. Raises `ClientSetupError`, `ApiError`."""
    with clients.auth0_management(settings, on_wait=on_wait, max_per_second=max_per_second,
                                  check_scopes=check_scopes,
            on_scope_warning=on_scope_warning) as session:
        exported = orgs.export_organizations(session.client, journal, on_progress=on_progress)
    return OrgExportResult(exported, session.scope_warning)


def org_work(journal: Journal) -> tuple[int, int]:
    """Organizations and memberships still to create in WorkOS (for the confirmation)."""
    todo_orgs = sum(1 for o in journal.orgs() if o["status"] not in ("created", "existing"))
    todo_members = sum(1 for m in journal.memberships() if m["status"] not in ("created", "present"))
    return todo_orgs, todo_members


def mark_no_orgs(journal: Journal) -> GateResult:
    """Auth0 has no organizations: the step is not applicable, recorded with that reason."""
    return steps.mark_not_applicable(journal, "orgs", NO_ORGS_REASON)


def _orgs_json(result: OrgMigration, counts: list[OrgCount]) -> str:
    summary = result.as_dict() | {"counts": [
        {"auth0_org_id": c.auth0_org_id, "name": c.name, "workos_org_id": c.workos_org_id,
         "auth0_members": c.expected_members, "importable_members": c.importable_members,
         "workos_members": c.workos_members, "unknown": c.unknown} for c in counts]}
    return json.dumps(summary, indent=2, sort_keys=True)


def run_org_migration(journal: Journal, settings: Settings, *, on_progress: ProgressCallback | None = None,
                      dry_run: bool = False, with_roles: bool = False, count_members: bool = False) -> OrgMigrationResult:
    """Create the organizations, then the memberships, in WorkOS (idempotent; adds only what is
    missing). After a real run: the step's gate is recorded, and with `count_members` each
    organization's WorkOS members are counted and `orgs.json` is written. Raises `ApiError`."""
    with clients.workos_sync(settings) as workos:
        migration = orgs.migrate_organizations(journal, workos, dry_run=dry_run, on_progress=on_progress,
                                               with_roles=with_roles)
        counts = orgs.org_counts(journal, workos) if count_members and not dry_run else []
    if dry_run:
        return OrgMigrationResult(migration)
    gate = steps.check_step(steps.step_by_id("orgs"), journal, settings)
    path = write_private(journal.run_dir / ORGS_JSON, _orgs_json(migration, counts)) if count_members else None
    return OrgMigrationResult(migration, counts, gate, path)
