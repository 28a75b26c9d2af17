"""Export the users from the wizard: a users-exports job with explicit fields, polled, downloaded.

The job's `location` is a pre-signed URL valid for about 60 seconds, fetched with plain httpx and no
Authorization header. The gzip is kept as delivered in `run_dir/exports/` (0600) and checked by its
magic bytes before it is handed to the export verification.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from wizard.clients.errors import ApiError, ErrorKind
from wizard.core.progress import Progress, ProgressCallback, frozen_counts
from wizard.core.rundir import ensure_private_dir, open_private

# Everything the plan needs (api-facts 1.1): always explicit, never the default field set.
EXPORT_FIELDS: tuple[str, ...] = (
    "user_id", "email", "email_verified", "given_name", "family_name", "name", "nickname", "username",
    "phone_number", "identities", "app_metadata", "user_metadata", "blocked", "multifactor", "created_at",
    "updated_at", "last_login", "logins_count",
)
GZIP_MAGIC = b"\x1f\x8b"
FINAL_STATES = ("completed", "failed", "expired")


class ExportJobError(Exception):
    """The export could not be produced or fetched; the message says what to do."""

    def __init__(self, message: str, *, job_id: str | None = None, code: str = "export_failed") -> None:
        super().__init__(message)
        self.message = message
        self.job_id = job_id
        self.code = code


@dataclass(frozen=True, slots=True)
class ExportResult:
    job_id: str
    path: Path
    size: int
    seconds: float


def _free_plan(exc: ApiError) -> bool:
    text = (exc.message or "").lower()
    return exc.status == 402 or "plan" in text or "not available" in text or "upgrade" in text


def start_export(client, *, connection_id: str | None = None, fields: tuple[str, ...] = EXPORT_FIELDS) -> dict:
    try:
        return client.create_users_export(list(fields), format="json", connection_id=connection_id)
    except ApiError as exc:
        if exc.kind is not ErrorKind.RATE_LIMITED and exc.status in (402, 403) and _free_plan(exc):
            raise ExportJobError(
                "Auth0 refused the users export job: bulk user exports are not available on the Free plan. "
                "Export from the Auth0 dashboard (User Management > Users > Export) or upgrade the tenant, "
                "then give the file with --users.", code="plan_refused") from None
        if exc.kind is ErrorKind.INVALID and connection_id:
            raise ExportJobError(f"Auth0 refused the export for connection {connection_id}: {exc.message}. "
                                 "Check the connection id (Authentication > Database > the connection's "
                                 "Identifier, `con_...`).", code="bad_connection") from None
        raise


def wait_for_job(client, job_id: str, *, poll_interval: float = 2.0, timeout: float = 3600.0,
                 on_progress: ProgressCallback | None = None, sleep: Callable[[float], None] = time.sleep) -> dict:
    """Poll GET /jobs/{id} until completed; failed and expired jobs raise with a clear message."""
    started = time.monotonic()
    interval = poll_interval
    while True:
        job = client.get_job(job_id)
        status = str(job.get("status") or "pending")
        pct = job.get("percentage_done")
        if on_progress:
            percent = 100 if status == "completed" else int(pct or 0)
            on_progress(Progress(operation=f"export-job ({status})", total=100,
                                 counts=frozen_counts({"percent": percent}),
                                 eta_seconds=job.get("time_left_seconds"), done=status in FINAL_STATES))
        if status == "completed":
            if not job.get("location"):
                raise ExportJobError(f"Export job {job_id} completed without a download location; run export again.",
                                     job_id=job_id)
            return job
        if status == "failed":
            details = job.get("status_details") or "no details given"
            raise ExportJobError(f"Auth0 reports export job {job_id} failed ({details}). Run `auth0-workos export` "
                                 "again; if it keeps failing, export from the Auth0 dashboard and give the file "
                                 "with --users.", job_id=job_id, code="job_failed")
        if status == "expired":
            raise ExportJobError(f"Export job {job_id} expired before it was downloaded (Auth0 keeps results for a "
                                 "short time). Run `auth0-workos export` again.", job_id=job_id, code="job_expired")
        if time.monotonic() - started > timeout:
            raise ExportJobError(f"Export job {job_id} is still {status} after {timeout:.0f} s; run export again "
                                 "later (the job keeps running in Auth0).", job_id=job_id, code="job_timeout")
        sleep(interval)
        interval = min(interval * 1.5, 15.0)


def _file_name(location: str, job_id: str) -> str:
    name = Path(urlsplit(location).path).name
    if not name or not name.endswith(".gz"):
        name = f"auth0-users-{job_id}.json.gz"
    return name


def download_export(location: str, dest_dir: Path, *, job_id: str, timeout: float = 60.0,
                    http: httpx.Client | None = None) -> Path:
    """Fetch the pre-signed URL (no Authorization header) into dest_dir, 0600; verify gzip magic."""
    ensure_private_dir(dest_dir)
    path = Path(dest_dir) / _file_name(location, job_id)
    client = http or httpx.Client(timeout=timeout, follow_redirects=True)
    try:
        with client.stream("GET", location) as resp:
            if resp.status_code in (401, 403, 404, 410):
                raise ExportJobError(f"The export file link was refused (HTTP {resp.status_code}): the link lives "
                                     "60 s; re-run export.", job_id=job_id, code="link_expired")
            if resp.status_code >= 400:
                raise ExportJobError(f"Downloading the export file failed (HTTP {resp.status_code}); re-run export.",
                                     job_id=job_id, code="download_failed")
            with open_private(path, "wb") as fh:
                for chunk in resp.iter_bytes(1 << 16):
                    fh.write(chunk)
    except httpx.HTTPError as exc:
        raise ExportJobError(f"Downloading the export file failed ({type(exc).__name__}); re-run export.",
                             job_id=job_id, code="download_failed") from None
    finally:
        if http is None:
            client.close()
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic != GZIP_MAGIC:
        bad = path.with_name(path.name + ".not-gzip")
        path.replace(bad)
        raise ExportJobError(f"The downloaded export is not gzip (first bytes {magic.hex() or 'empty'}); it was kept "
                             f"as {bad.name} for inspection. Re-run export.", job_id=job_id, code="not_gzip")
    return path


def run_export(client, run_dir: str | Path, *, connection_id: str | None = None,
               fields: tuple[str, ...] = EXPORT_FIELDS, poll_interval: float = 2.0, timeout: float = 3600.0,
               on_progress: ProgressCallback | None = None, http: httpx.Client | None = None,
               sleep: Callable[[float], None] = time.sleep) -> ExportResult:
    """Create the job, wait for it, download the gzip into `run_dir/exports/`; returns where it is."""
    started = time.monotonic()
    job = start_export(client, connection_id=connection_id, fields=fields)
    job_id = job["id"]
    done = wait_for_job(client, job_id, poll_interval=poll_interval, timeout=timeout, on_progress=on_progress,
                        sleep=sleep)
    path = download_export(done["location"], Path(run_dir) / "exports", job_id=job_id, http=http)
    return ExportResult(job_id=job_id, path=path, size=path.stat().st_size, seconds=time.monotonic() - started)
