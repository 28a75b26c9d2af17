"""`auth0-workos export`: run a users-exports job and keep the gzip in the run folder's exports/."""

from __future__ import annotations

import argparse

from wizard.clients.errors import ApiError
from wizard.commands._common import (
    add_rate_option,
    add_run_dir_option,
    failed,
    load_settings,
    resolve_run_dir,
    usage,
    warn,
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


def run(args) -> int:
    from wizard.commands._progress import ProgressPrinter
    from wizard.core.export_job import ExportJobError
    from wizard.core.journal import Journal
    from wizard.tasks.clients import ClientSetupError
    from wizard.tasks.export_job import run_export_job

    settings = load_settings(args)
    if not settings.has_auth0_credentials:
        return usage("export", "set AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (environment or "
                               ".env.local); the token needs the read:users scope")
    run_dir = resolve_run_dir(args)
    with ProgressPrinter() as show, Journal.open(run_dir) as journal:
        try:
            result = run_export_job(journal, settings, on_progress=show, connection_id=args.connection_id,
                                    poll_interval=args.poll_interval, on_wait=show,
                                    max_per_second=args.auth0_rate, check_scopes=True, on_scope_warning=warn)
        except ClientSetupError as exc:
            return usage("export", str(exc))
        except ExportJobError as exc:
            return failed("export", exc.message)
        except ApiError as exc:
            return failed("export", exc)
    users, findings = result.users, result.findings
    print(f"Export job {result.job_id} done in {result.seconds:.0f} s: {result.path} ({result.size:,} bytes, gzip)")
    print(f"It reads as {users:,} user(s)"
          + (f" with {sum(findings.values())} finding(s) ({', '.join(f'{n} {k}' for k, n in findings.items())})"
             if findings else ", no findings") + ".")
    print(f"Next: use this file as the users export (--users {result.path}).")
    return 0 if users else 1
