"""`auth0-workos inventory`: the pre-migration assessment, saved to the run folder (inventory.json)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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


# ---------------------------------------------------------------------- the command
def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("inventory", help="count users, sign-in methods, organizations and MFA in Auth0",
                       description="The pre-migration assessment. Uses the Management API when AUTH0_* "
                                   "credentials are set, and/or the users export (--users). Says what is unknown.")
    add_run_dir_option(p)
    p.add_argument("--users", help="the Auth0 users export (NDJSON, gzip or JSON array)")
    p.add_argument("--mfa-scan", choices=("all", "flagged", "none"), default="all",
                   help="read each user's authentication methods to find SMS/voice users: all users "
                        "(exact, default), only users whose `multifactor` is set (faster), or none")
    p.add_argument("--no-api", action="store_true", help="do not use the Management API even if configured")
    add_rate_option(p)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from wizard.commands._progress import ProgressPrinter
    from wizard.core.inventory import summary_lines
    from wizard.core.journal import Journal
    from wizard.tasks.clients import ClientSetupError
    from wizard.tasks.inventory import run_inventory

    if args.auth0_rate is not None and args.auth0_rate <= 0:
        return usage("inventory", "--auth0-rate must be positive")
    users = Path(args.users) if args.users else None
    if users is not None and not users.is_file():
        return usage("inventory", f"--users {users}: no such file")
    settings = load_settings(args)
    if (args.no_api or not settings.has_auth0_credentials) and users is None:
        return usage("inventory", "give --users FILE (the users export) or set AUTH0_DOMAIN, AUTH0_CLIENT_ID "
                                  "and AUTH0_CLIENT_SECRET for the Management API")
    run_dir = resolve_run_dir(args)
    use_api = not args.no_api and settings.has_auth0_credentials
    if not use_api and users is not None:
        print("No Management API access: the inventory covers what the export shows.", file=sys.stderr)
    with ProgressPrinter() as show, Journal.open(run_dir) as journal:
        try:
            done = run_inventory(journal, settings, on_progress=show, users_path=users, use_api=use_api,
                                 scan_mfa=args.mfa_scan, on_wait=show, max_per_second=args.auth0_rate,
                                 check_scopes=True, on_scope_warning=warn)
        except ClientSetupError as exc:
            return usage("inventory", str(exc))
        except ApiError as exc:
            return failed("inventory", exc)
    inv, path, gate = done.inventory, done.path, done.gate
    for line in summary_lines(inv.as_dict()):
        print(line)
    print(f"Saved {path}")
    for c in gate.checks:
        if not c.ok:
            print(f"FAILED {c.name}: {c.evidence}. {c.fix_hint}", file=sys.stderr)
    return 0 if gate.passed else 1
