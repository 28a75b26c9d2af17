"""The Enterprise SSO job: inventory + plan, dry run, create (paced, idempotent, resumable), members,
the handoff files, Admin Portal links on demand, verification and rollback of what it created.

Builds its own clients and closes them. Client secrets are passed in (typed) or read from the
environment and `.env.local` (`AUTH0_SSO_SECRET_<NAME>`); they stay in memory: the journal, the
run folder and the result hold redactions only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from wizard.clients.auth0 import Auth0Client
from wizard.clients.workos import make_sync_client
from wizard.core import documents, sso
from wizard.core.config import Settings
from wizard.core.gates import GateResult
from wizard.core.journal import Journal
from wizard.core.progress import ProgressCallback
from wizard.tasks import clients, loop


@dataclass
class SsoResult:
    """What a front end shows: redacted rows, counts, files; never a secret or a portal link."""

    connections: int = 0
    rows: list[dict] = field(default_factory=list)  # sso.summary_rows (requests redacted)
    run: dict | None = None  # SsoRun.as_dict() of the dry run or the real run
    dry_run: bool = False
    handoff_md: Path | None = None
    connections_csv: Path | None = None
    secrets_needed: list[tuple[str, str]] = field(default_factory=list)  # (connection, env variable)
    notes: list[str] = field(default_factory=list)
    gate: GateResult | None = None

    @property
    def ok(self) -> bool:
        return self.run is None or bool(self.run.get("ok"))


def secret_environment(settings: Settings) -> dict[str, str]:
    """`AUTH0_SSO_SECRET_*` from `.env.local` and the environment (the environment wins)."""
    merged = {**(settings.env_file_values or {}), **os.environ}
    return {k: v for k, v in merged.items() if k.startswith(sso.SECRET_ENV_PREFIX) and v}


def _context(settings: Settings, callback_domain: str | None, tenant: str | None) -> sso.CutoverContext:
    return sso.CutoverContext.from_domain(callback_domain or settings.auth0_domain, tenant)


def run_sso(journal: Journal, settings: Settings, *, on_progress: ProgressCallback | None = None,
            write: bool = False, dry_run: bool = False, default_mode: str = sso.KEEP_IDP,
            modes: Mapping[str, str] | None = None, consolidate: bool = False,
            typed_secrets: Mapping[str, str] | None = None, callback_domain: str | None = None,
            tenant: str | None = None, give_up_after: float | None = None) -> SsoResult:
    """Inventory and plan always; then `dry_run` (reads WorkOS, writes nothing) or `write` (creates
    connections and memberships). The handoff files are rewritten and the step's gate recorded."""
    if not settings.has_auth0_credentials:
        raise ValueError("Auth0 credentials are needed to read the enterprise connections: set AUTH0_DOMAIN, "
                         "AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (scopes read:connections, "
                         "read:connections_options, read:organization_connections).")
    ctx = _context(settings, callback_domain, tenant)
    with Auth0Client.from_settings(settings, on_wait=on_progress) as auth0:
        inventory = sso.read_inventory(auth0, journal, on_progress=on_progress)
    plans = sso.build_plans(inventory, journal, ctx=ctx, default_mode=default_mode, modes=modes,
                            consolidate=consolidate, typed_secrets=typed_secrets,
                            env=secret_environment(settings))
    sso.save_plans(journal, plans)
    result = SsoResult(connections=len(plans), dry_run=dry_run, notes=list(inventory.notes),
                       secrets_needed=sso.iter_secret_names(plans))
    if plans and (dry_run or write):
        result.run = loop.run(_workos(journal, settings, plans, dry_run=dry_run,
                                      on_progress=on_progress, give_up_after=give_up_after)).as_dict()
        (documents.SSO_DRY_RUN if dry_run else documents.SSO_RESULT).write(journal, result.run)
    if plans:
        result.handoff_md, result.connections_csv = sso.write_handoff(journal, journal.run_dir, ctx)
    result.rows = sso.summary_rows(journal)
    result.gate = record_gate(journal)
    return result


async def _workos(journal: Journal, settings: Settings, plans: list[sso.ConnectionPlan], *, dry_run: bool,
                  on_progress: ProgressCallback | None, give_up_after: float | None = None) -> sso.SsoRun:
    async with clients.paced_workos(journal, settings, give_up_after=give_up_after) as (client, pacer):
        run = await sso.create_connections(journal, client, plans, pacer=pacer, dry_run=dry_run,
                                           on_progress=on_progress)
        return await sso.add_members(journal, client, plans, pacer=pacer, dry_run=dry_run,
                                     on_progress=on_progress, run=run)


def record_gate(journal: Journal) -> GateResult:
    """The step's gate, recorded (a not-applicable decision stays as it is)."""
    gate = sso.sso_gate(journal)
    current = journal.step(sso.STEP_ID) or {}
    if current.get("status") != "not_applicable":
        journal.set_step(sso.STEP_ID, gate.status.value, gate.reason, gate.details)
    return gate


def run_portal_links(journal: Journal, settings: Settings, connection_name: str) -> list[tuple[str, str]]:
    """Fresh Admin Portal links (intent sso) for one connection's organizations, to show right away:
    each expires 5 minutes after issuance and is never written anywhere."""
    async def go():
        async with clients.paced_workos(journal, settings) as (client, pacer):
            return await sso.portal_link(journal, client, connection_name, pacer=pacer)

    return loop.run(go())


def run_sso_rollback(journal: Journal, settings: Settings, *,
                     on_progress: ProgressCallback | None = None) -> sso.SsoRollback:
    """Delete exactly the connections, memberships, certificates and organizations the SSO step created."""
    async def go():
        async with clients.paced_workos(journal, settings) as (client, pacer):
            return await sso.rollback(journal, client, pacer=pacer, on_progress=on_progress)

    result = loop.run(go())
    record_gate(journal)
    return result


def run_sso_check(journal: Journal, settings: Settings):
    """The verification check alone (the verify step calls `sso.check_connections` itself)."""
    with make_sync_client(settings, max_retries=0) as client:
        return sso.check_connections(journal, client)
