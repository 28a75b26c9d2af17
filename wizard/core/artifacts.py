"""Run-folder files an import leaves behind: summary.json, id-map.csv, errors.jsonl, retry-users.ndjson.

All are written atomically with mode 0600. None holds a password hash or a whole user object.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.core import documents
from wizard.core.journal import Journal
from wizard.core.records import UserStatus
from wizard.core.rundir import open_private, write_private

SUMMARY, ID_MAP, ERRORS, RETRY = "summary.json", "id-map.csv", "errors.jsonl", "retry-users.ndjson"
DRY_RUN_SUMMARY = "dry-run-summary.json"
_REQUEST_ID = re.compile(r"\s*\(request ([^)\s]+)\)$")


@dataclass(frozen=True, slots=True)
class ArtifactPaths:
    summary: Path
    id_map: Path
    errors: Path
    retry: Path


def split_request_id(message: str | None) -> tuple[str | None, str | None]:
    """The engine stores "message (request req_123)"; give (message, request id) back."""
    if not message:
        return message, None
    m = _REQUEST_ID.search(message)
    if not m:
        return message, None
    return message[: m.start()], m.group(1)


def _summary_dict(summary: Any) -> dict:
    data = summary.to_dict() if hasattr(summary, "to_dict") else dict(summary)
    data.pop("failures", None)  # the per-user list lives in errors.jsonl
    return data


def write_summary(run_dir: Path, summary: Any, name: str = SUMMARY) -> Path:
    """summary.json: counts (planned, created, updated, skipped, failed), duration, rate, dry_run."""
    data = _summary_dict(summary)
    return write_private(Path(run_dir) / name, json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_dry_run_artifacts(journal: Journal, summary: Any, run_dir: Path | None = None) -> Path:
    """A dry run changes nothing: only its summary is kept (the journal's `import_dry_run` document,
    and summary.json, or dry-run-summary.json once a real import has written summary.json)."""
    run_dir = Path(run_dir or journal.run_dir)
    real = documents.IMPORT_SUMMARY.read(journal)
    documents.DRY_RUN.write(journal, documents.RunSummary.load(_summary_dict(summary)))
    return write_summary(run_dir, summary, DRY_RUN_SUMMARY if real else SUMMARY)


def write_id_map(journal: Journal, run_dir: Path) -> Path:
    """id-map.csv: every Auth0 id (merged duplicates too) -> its WorkOS user id ("" if none / deleted)."""
    deleted = {w["target_id"] for w in journal.writes("delete_user") if w["target_id"]}
    path = Path(run_dir) / ID_MAP
    with open_private(path) as fh:
        out = csv.writer(fh)
        out.writerow(["auth0_user_id", "workos_user_id", "email"])
        for auth0_id, workos_id, email in journal.id_map():
            live = workos_id if workos_id and workos_id not in deleted else ""
            out.writerow([auth0_id, live, email or ""])
    return path


def write_errors(journal: Journal, run_dir: Path) -> Path:
    """errors.jsonl: one line per failed user (id, email, code, message, request id, attempts)."""
    path = Path(run_dir) / ERRORS
    with open_private(path) as fh:
        for u in journal.iter_users(status=UserStatus.FAILED):
            message, request_id = split_request_id(u.last_error_message)
            fh.write(json.dumps({
                "auth0_user_id": u.auth0_user_id, "email": u.email, "code": u.last_error_code,
                "message": message, "request_id": request_id, "attempts": u.attempts,
            }, sort_keys=True) + "\n")
    return path


def write_retry(journal: Journal, run_dir: Path) -> Path:
    """retry-users.ndjson: the failed users' Auth0 ids and export line numbers, enough to re-run
    just them (`auth0-workos import --resume --retry-failed`, or filter the export by these lines)."""
    path = Path(run_dir) / RETRY
    with open_private(path) as fh:
        for u in journal.iter_users(status=UserStatus.FAILED):
            fh.write(json.dumps({
                "auth0_user_id": u.auth0_user_id, "auth0_ids": list(u.auth0_ids or (u.auth0_user_id,)),
                "email": u.email, "source_line": u.source_line, "branch": u.branch,
                "code": u.last_error_code,
            }, sort_keys=True) + "\n")
    return path


def write_import_artifacts(journal: Journal, summary: Any, run_dir: Path | None = None) -> ArtifactPaths:
    """All four files, and the summary as the journal's `import_summary` document."""
    run_dir = Path(run_dir or journal.run_dir)
    data = documents.RunSummary.load(_summary_dict(summary))
    (documents.DRY_RUN if data.dry_run else documents.IMPORT_SUMMARY).write(journal, data)
    return ArtifactPaths(
        summary=write_summary(run_dir, summary),
        id_map=write_id_map(journal, run_dir),
        errors=write_errors(journal, run_dir),
        retry=write_retry(journal, run_dir),
    )
