"""`auth0-workos export`: run a users-exports job and keep the gzip in the run folder's exports/."""

from __future__ import annotations

import argparse
from collections import Counter

from wizard.clients.errors import ApiError
from wizard.commands._common import (
    add_rate_option,
    add_run_dir_option,
    failed,
    load_settings,
    make_auth0_client,
    resolve_run_dir,
    usage,
)


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("export", help="export the users from Auth0 (Management API job) into the run folder",
                       description="Create a users-exports job with every field the migration needs, wait for it, "
                                   "download the file (kept gzipped, 0600) and check it reads.")
    add_run_dir_option(p)
    p.add_argument("--connection-id", help="export one connection only (con_...); default: all users")
    p.add_argument("--poll-interval", type=float, default=2.0, help=argparse.SUPPRESS)
    add_rate_option(p)
    p.set_defaults(func=run)
    return p


def verify_export(path) -> tuple[int, Counter]:
    """Users read and findings by severity: the first look the export check takes."""
    from wizard.core.exports import read_users
    from wizard.core.findings import Finding

    users, findings = 0, Counter()
    for item in read_users(path):
        if isinstance(item, Finding):
            findings[item.severity.value] += 1
        else:
            users += 1
    return users, findings


def run(args) -> int:
    from wizard.commands._progress import ProgressPrinter
    from wizard.core.export_job import ExportJobError, run_export
    from wizard.core.journal import Journal

    settings = load_settings(args)
    if not settings.has_auth0_credentials:
        return usage("export", "set AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (environment or "
                               ".env.local); the token needs the read:users scope")
    run_dir = resolve_run_dir(args)
    with ProgressPrinter() as show:
        try:
            client = make_auth0_client(settings, on_wait=show, max_per_second=args.auth0_rate)
        except ApiError as exc:
            return usage("export", str(exc))
        try:
            result = run_export(client, run_dir, connection_id=args.connection_id, on_progress=show,
                                poll_interval=args.poll_interval)
        except ExportJobError as exc:
            return failed("export", exc.message)
        except ApiError as exc:
            return failed("export", exc)
    users, findings = verify_export(result.path)
    with Journal.open(run_dir) as journal:
        journal.put_document("export_job", {"job_id": result.job_id, "path": str(result.path), "size": result.size,
                                            "users": users, "findings": dict(findings),
                                            "connection_id": args.connection_id})
    print(f"Export job {result.job_id} done in {result.seconds:.0f} s: {result.path} ({result.size:,} bytes, gzip)")
    print(f"It reads as {users:,} user(s)"
          + (f" with {sum(findings.values())} finding(s) ({', '.join(f'{n} {k}' for k, n in findings.items())})"
             if findings else ", no findings") + ".")
    print(f"Next: use this file as the users export (--users {result.path}).")
    return 0 if users else 1
