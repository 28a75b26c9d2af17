"""`auth0-workos package`: the WorkOS migration package, for WorkOS's managed import (over 200,000
users WorkOS asks you to contact support).

    auth0-workos package --run-dir DIR --out FOLDER [--with-hashes] [--totp-secrets F] [--yes]

Written from the journal and the exports, validated against the package contract. Password hashes
(and TOTP secrets) are included only when asked and confirmed by typing; files are 0600 and the
folder is never inside the run folder. Exit 0 valid package, 1 contract errors, 2 usage.
"""

from __future__ import annotations

import argparse
import sys

from wizard.commands._common import load_settings, usage

CONFIRM_WORD = "include secrets"


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("package", help="write the WorkOS migration package (managed import)",
                       description="Write the WorkOS migration package (manifest.json, users.csv, "
                                   "organizations.csv, memberships, roles, sso/, workos_upload/) from the "
                                   "run, validated against the contract.")
    p.add_argument("--run-dir", required=True, help="the run folder")
    p.add_argument("--out", required=True, help="a new or empty folder outside the run folder")
    p.add_argument("--with-hashes", action="store_true",
                   help="include the bcrypt password hashes, re-read from the password export")
    p.add_argument("--totp-secrets", metavar="FILE", help="TOTP secrets from Auth0 support (CSV or NDJSON)")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask before writing secrets")
    p.add_argument("--env-file", default=argparse.SUPPRESS, help="dotenv file to read (default .env.local)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from pathlib import Path

    from wizard.core.journal import JOURNAL_NAME, Journal
    from wizard.core.package import PackageError, check_out_dir
    from wizard.tasks.package import run_package

    run_dir = Path(args.run_dir)
    if not (run_dir / JOURNAL_NAME).exists():
        return usage("package", f"{run_dir} is not a run folder (no {JOURNAL_NAME})")
    if args.totp_secrets and not Path(args.totp_secrets).is_file():
        return usage("package", f"--totp-secrets {args.totp_secrets}: no such file")
    settings = load_settings(args)
    with Journal.open(run_dir) as journal:
        try:
            out = check_out_dir(journal, args.out)
        except PackageError as exc:
            return usage("package", str(exc))
        if (args.with_hashes or args.totp_secrets) and not args.yes:
            if not sys.stdin.isatty():
                return usage("package", "secrets go into the package only with a typed confirmation: run on "
                                        "a terminal, or pass --yes")
            what = " and ".join(x for x, on in (("password hashes", args.with_hashes),
                                                ("TOTP secrets", bool(args.totp_secrets))) if on)
            typed = input(f"The package will hold {what} in {out}. Type '{CONFIRM_WORD}' to go on: ").strip()
            if typed != CONFIRM_WORD:
                print("Not confirmed: nothing was written.")
                return 0
        try:
            result = run_package(journal, settings, out, with_hashes=args.with_hashes,
                                 totp_secrets=args.totp_secrets)
        except PackageError as exc:
            return usage("package", str(exc))
    print(f"Migration package: {result.out}")
    for k, n in result.counts.items():
        if n:
            print(f"  {k}: {n:,}")
    print("  password hashes: " + ("included" if result.with_hashes else "left out (--with-hashes includes them)"))
    for issue in result.issues:
        print(f"  {issue.severity}: {issue.code}: {issue.message}", file=sys.stderr)
    print("Valid against the migration-package contract." if result.valid else "The package does NOT validate.")
    return 0 if result.valid else 1
