"""Step 4's Auth0 job: a users-exports job, downloaded (gzip, 0600) into the run folder's exports/,
read once to count its users and findings; recorded as the journal's `export_job` document."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wizard.clients.auth0 import WaitCallback
from wizard.clients.progress import ProgressCallback
from wizard.clients.settings import Settings
from wizard.core import documents, export_job
from wizard.core.exports import read_users
from wizard.core.findings import Finding
from wizard.core.journal import Journal
from wizard.tasks import clients


@dataclass
class ExportJobResult:
    job_id: str
    path: Path
    size: int
    seconds: float
    users: int  # users the file reads as
    findings: dict[str, int]  # findings by severity
    scope_warning: str | None = None


def count_export(path: str | Path) -> tuple[int, Counter]:
    """Users read and findings by severity: the first look the export check takes."""
    users, findings = 0, Counter()
    for item in read_users(path):
        if isinstance(item, Finding):
            findings[item.severity.value] += 1
        else:
            users += 1
    return users, findings


def run_export_job(journal: Journal, settings: Settings, *, on_progress: ProgressCallback | None = None,
                   connection_id: str | None = None, poll_interval: float = 2.0, on_wait: WaitCallback | None = None,
                   max_per_second: float | None = clients.DEFAULT_AUTH0_RATE, check_scopes: bool = False,
        on_scope_warning: Callable[[str], None] | None = None) -> ExportJobResult:
    """Run the job into `journal.run_dir/exports/`. Raises `ClientSetupError`, `ExportJobError`, `ApiError`."""
    with clients.auth0_management(settings, on_wait=on_wait, max_per_second=max_per_second,
                                  check_scopes=check_scopes,
            on_scope_warning=on_scope_warning) as session:
        done = export_job.run_export(session.client, journal.run_dir, connection_id=connection_id,
                                     on_progress=on_progress, poll_interval=poll_interval)
    users, findings = count_export(done.path)
    documents.EXPORT_JOB.write(journal, documents.ExportJob(
        job_id=done.job_id, path=str(done.path), size=done.size, users=users, findings=dict(findings),
        connection_id=connection_id))
    return ExportJobResult(done.job_id, done.path, done.size, done.seconds, users, dict(findings),
                           session.scope_warning)
