"""`auth0-workos mfa`: who must re-enroll (SMS/voice), the CSV for the e-mail, optional TOTP import."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wizard.clients.errors import ApiError
from wizard.commands._common import (
    add_rate_option,
    add_run_dir_option,
    confirm,
    failed,
    key_problem,
    load_settings,
    resolve_run_dir,
    usage,
    warn,
)


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("mfa", help="report SMS/TOTP MFA users; optionally import TOTP secrets to WorkOS",
                       description="Scan each user's Auth0 authentication methods (resumable), write "
                                   "mfa-sms-users.csv (phones masked) and the MFA report; with --totp-secrets, "
                                   "enroll those TOTP factors in WorkOS.")
    add_run_dir_option(p)
    p.add_argument("--users", help="the users export (default: the one the inventory used)")
    p.add_argument("--totp-secrets", help="CSV `email,totp_secret` or NDJSON from Auth0 support")
    p.add_argument("--issuer", default=None, help="TOTP issuer shown in authenticator apps")
    p.add_argument("--dry-run", action="store_true", help="TOTP import: count only, write nothing")
    p.add_argument("--yes", action="store_true", help="do not ask before enrolling factors in WorkOS")
    p.add_argument("--no-api", action="store_true", help="report from the scan already in this run only")
    add_rate_option(p)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from wizard.commands._progress import ProgressPrinter
    from wizard.core.journal import Journal
    from wizard.core.mfa import mfa_unknown_text
    from wizard.tasks.clients import ClientSetupError
    from wizard.tasks.mfa import run_mfa_report, run_totp_import

    if args.auth0_rate is not None and args.auth0_rate <= 0:
        return usage("mfa", "--auth0-rate must be positive")
    if args.users and not Path(args.users).is_file():
        return usage("mfa", f"--users {args.users}: no such file")
    if args.totp_secrets and not Path(args.totp_secrets).is_file():
        return usage("mfa", f"--totp-secrets {args.totp_secrets}: no such file")
    settings = load_settings(args)
    if args.totp_secrets and (problem := key_problem(settings)) is not None:
        return usage("mfa", problem + " (needed to enroll TOTP factors)")
    run_dir = resolve_run_dir(args)
    exit_code = 0
    with Journal.open(run_dir) as journal, ProgressPrinter() as show:
        if not args.no_api and not settings.has_auth0_credentials:
            print("No Auth0 credentials: reporting from the scan already in this run (if any).", file=sys.stderr)
        try:
            report = run_mfa_report(journal, settings, on_progress=show, scan=not args.no_api,
                                    users_path=args.users, on_wait=show, max_per_second=args.auth0_rate,
                                    check_scopes=True, on_scope_warning=warn).report
        except (ClientSetupError, ApiError) as exc:
            return failed("mfa", exc)
        print(f"MFA: {report.scanned} user(s) scanned; SMS {report.sms_users}, voice {report.voice_users}, "
              f"TOTP {report.totp_users}, no MFA {report.no_mfa_users}"
              + (", other: " + ", ".join(f"{k} {n}" for k, n in report.other_factors.items())
                 if report.other_factors else ""))
        unknown = mfa_unknown_text(report.scan_targets, report.scanned, report.complete)
        if unknown:
            print(f"MFA {unknown}")
        for note in report.notes:
            print(f"note: {note}")
        print(f"Saved {report.csv_path} ({report.must_reenroll} user(s) to contact; phone numbers masked)")
        if report.scanned and not report.complete:
            exit_code = 1
        if args.totp_secrets:
            if not args.dry_run and not args.yes and not confirm(
                    f"Enroll the TOTP factors from {args.totp_secrets} in WorkOS at {settings.workos_base_url}?"):
                return usage("mfa", "not confirmed: add --yes to enroll without asking, or --dry-run to look")
            try:
                res = run_totp_import(journal, settings, args.totp_secrets, issuer=args.issuer,
                                      dry_run=args.dry_run, on_progress=show)
            except ApiError as exc:
                return failed("mfa", exc)
            head = "Dry run, nothing written. " if args.dry_run else ""
            print(f"{head}TOTP: enrolled {res.enrolled}, already enrolled {res.already_enrolled}, "
                  f"would enroll {res.would_enroll}, user not imported {res.user_not_imported}, "
                  f"invalid {res.invalid}, failed {res.failed}")
            for p in res.problems[:25]:
                print(f"  line {p['line']} {p['email']}: {p['status']}: {p['message']}")
            if not res.ok:
                exit_code = 1
    return exit_code
