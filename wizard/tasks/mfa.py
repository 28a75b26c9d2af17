"""Step 9's jobs: scan the users' Auth0 authentication methods (resumable), build the MFA report
(`mfa-sms-users.csv`, phones masked), and the optional TOTP import into WorkOS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wizard.clients.auth0 import WaitCallback
from wizard.clients.progress import ProgressCallback
from wizard.clients.settings import Settings
from wizard.core import documents, mfa
from wizard.core.inventory import iter_export_users, user_from_api
from wizard.core.journal import Journal
from wizard.core.mfa import MfaReport, ScanTarget, TotpImportResult
from wizard.tasks import clients


@dataclass
class MfaReportResult:
    report: MfaReport
    scanned_now: bool  # the Management API was read in this run
    scope_warning: str | None = None


def scan_users_path(journal: Journal, given: str | Path | None = None) -> Path | None:
    """Whose methods to scan: the export given, else the one the inventory or the plan used."""
    if given:
        return Path(given)
    inv = documents.INVENTORY.read(journal)
    known = inv.export_path if inv else None
    if known and Path(known).is_file():
        return Path(known)
    return journal.input_path("users")


def _targets(client, users: Path | None) -> list[ScanTarget]:
    if users is not None:  # only the users the export marks as enrolled, when it says so
        return mfa.enrolled_targets(iter_export_users(users))[0]
    out = []
    for d in client.iter_users():
        u = user_from_api(d)
        if u is not None:
            out.append(ScanTarget(u.user_id, u.email, u.name))
    return out


def run_mfa_report(journal: Journal, settings: Settings, *, on_progress: ProgressCallback | None = None,
                   scan: bool = False, users_path: str | Path | None = None, on_wait: WaitCallback | None = None,
                   max_per_second: float | None = clients.DEFAULT_AUTH0_RATE, check_scopes: bool = False,
        on_scope_warning: Callable[[str], None] | None = None) -> MfaReportResult:
    """The MFA report from the scan in the journal; with `scan` (and Auth0 credentials) the users'
    authentication methods are read first. Raises `ClientSetupError`, `ApiError`."""
    complete = None
    scan_targets = None
    with clients.optional_auth0(settings, use_api=scan, on_wait=on_wait, max_per_second=max_per_second,
                                check_scopes=check_scopes,
            on_scope_warning=on_scope_warning) as session:
        if session is not None:
            targets = _targets(session.client, scan_users_path(journal, users_path))
            stats = mfa.scan_authentication_methods(session.client, journal, targets, on_progress=on_progress)
            complete = stats.complete
            scan_targets = len(targets)
    report = mfa.save_mfa_report(journal, mfa.build_mfa_report(journal, complete=complete,
                                                                        scan_targets=scan_targets))
    return MfaReportResult(report, session is not None, session.scope_warning if session else None)


def run_totp_import(journal: Journal, settings: Settings, secrets_path: str | Path, *,
                    on_progress: ProgressCallback | None = None, issuer: str | None = None,
                    dry_run: bool = False) -> TotpImportResult:
    """Enroll the TOTP factors from Auth0 support's file for the imported users. Raises `ApiError`."""
    with clients.workos_sync(settings) as workos:
        return mfa.import_totp_secrets(journal, workos, secrets_path, issuer=issuer, dry_run=dry_run,
                                       on_progress=on_progress)
