"""`auth0-workos verify`: the verification checklist, headless. Exit 0 all pass, 1 some fail, 2 usage."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wizard.commands._common import key_problem, load_settings
from wizard.core.journal import JOURNAL_NAME, Journal


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("verify", help="run the verification checklist against WorkOS",
                       description="Check WorkOS against this run's journal: user count, password sign-in, "
                                   "social providers, organizations, MFA and your application's build.")
    p.add_argument("--run-dir", default=argparse.SUPPRESS, help="the run folder to verify")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--demo", action="store_true", help="sandbox only: sign in with a demo account")
    who.add_argument("--email", help="a migrated password user's email to sign in with")
    p.add_argument("--password-stdin", action="store_true", help="read that user's password from stdin")
    build = p.add_mutually_exclusive_group()
    build.add_argument("--build-cmd", default=None, help="application build command (default: npm run build)")
    build.add_argument("--no-build", metavar="REASON", default=None,
                       help="mark the application build not applicable, with the reason")
    p.add_argument("--build-dir", default=".", help="folder to run the build command in (default: .)")
    p.add_argument("--confirm-social", metavar="PROVIDER", nargs="+", default=[],
                   help="record that these providers (e.g. google-oauth2 github) are configured in WorkOS")
    p.add_argument("--fix", metavar="ACTION", default=None,
                   help="apply a one-key fix from the error-recovery list (retry_failed_users, "
                        "add_missing_memberships, resend_corrected_hash) instead of verifying")
    p.set_defaults(func=run)
    return p


def _usage(msg: str) -> int:
    print(f"auth0-workos verify: {msg}", file=sys.stderr)
    return 2


def _progress(ev) -> None:
    done = sum(ev.counts.values())
    print(f"\r  checking users in WorkOS: {done}/{ev.total or '?'}", end="\n" if ev.done else "",
          file=sys.stderr, flush=True)


def _apply_fix(run_dir: str, action: str) -> int:
    from wizard.core import recovery
    from wizard.tasks.verify import apply_fix

    if action not in recovery.ACTIONS:
        return _usage(f"unknown fix {action!r}; known: {', '.join(recovery.ACTIONS)}")
    with Journal.open(run_dir) as journal:
        outcome = apply_fix(journal, action)
    print(outcome.message)
    if outcome.next_command:
        print(f"Next: {outcome.next_command}")
    return 0


def run(args) -> int:
    from wizard.core import verify as v
    from wizard.tasks import verify as verify_task

    run_dir = getattr(args, "run_dir", None)
    if not run_dir:
        return _usage("give --run-dir DIR (the run folder to verify)")
    if not (Path(run_dir) / JOURNAL_NAME).is_file():
        return _usage(f"{run_dir} has no {JOURNAL_NAME}: not a run folder")
    if args.password_stdin and not args.email:
        return _usage("--password-stdin needs --email")
    if args.email and not args.password_stdin:
        return _usage("--email needs --password-stdin (the password is never taken from the command line)")
    if args.build_cmd is not None and not args.build_cmd.strip():
        return _usage("--build-cmd is empty")
    if args.no_build is not None and len(args.no_build.strip()) < 3:
        return _usage("--no-build needs a reason")
    if args.fix:
        return _apply_fix(run_dir, args.fix)
    settings = load_settings(args)
    if (problem := key_problem(settings)) is not None:
        return _usage(problem)

    with Journal.open(run_dir) as journal:
        found = v.social_providers(journal)
        for provider in args.confirm_social:
            if provider not in found:
                print(f"note: {provider} is not among this run's social providers ({', '.join(found) or 'none'})",
                      file=sys.stderr)
            v.confirm_social(journal, provider)
        samples: list[tuple[str, str]] = []
        if args.demo:
            from wizard.commands.sandbox import demo_credentials

            samples = verify_task.password_samples(journal, demo_credentials())
            if not samples:
                print("note: no demo account among this run's imported password users", file=sys.stderr)
        elif args.email:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                return _usage("no password on stdin")
            samples = [(args.email, password)]
        build = v.BuildOptions(command=args.build_cmd or "npm run build", cwd=args.build_dir,
                               not_applicable_reason=args.no_build)
        verified = verify_task.run_verification(journal, settings, samples=samples, build=build,
                                                on_progress=_progress, on_output=lambda line: print(f"  | {line}"))
        result, remedies = verified.gate, verified.remedies

    for c in result.checks:
        print(f"{'PASS' if c.ok else 'FAIL'}  {c.name}: {c.evidence}")
        if not c.ok and c.fix_hint:
            print(f"      fix: {c.fix_hint}")
    failing = [c.name for c in result.checks if not c.ok]
    if remedies:
        print("\nKnown failures in this run:")
        for r in remedies:
            print(f"- {r.title} ({r.affected} affected): {r.cause}\n  fix: {r.fix_hint}")
            if r.action:
                print(f"  one-key fix: auth0-workos verify --run-dir {run_dir} --fix {r.action}")
    if failing:
        print(f"\n{len(failing)} check(s) failed: {', '.join(failing)}")
        return 1
    print("\nAll checks passed. Write the report: auth0-workos report --run-dir " + str(run_dir))
    return 0
