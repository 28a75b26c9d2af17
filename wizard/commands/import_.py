"""`auth0-workos import`: plan the export files and import the users into WorkOS, headless.

    auth0-workos import --users FILE [--passwords FILE] --run-dir DIR [--dry-run] [--yes]
                        [--rate N] [--concurrency N]
    auth0-workos import --resume --run-dir DIR [--yes] [--retry-failed]

Exit codes: 0 every importable user is in WorkOS (or a clean dry run), 1 some users failed
(listed) or are left, 2 usage, configuration or gate error (nothing written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wizard.commands._common import key_problem, load_settings
from wizard.core import documents
from wizard.core.records import Branch, UserStatus

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
SHOW_FAILURES = 20


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "import", help="import the users into WorkOS (paced, resumable, idempotent)",
        description="Plan the Auth0 export files and create every importable user in WorkOS with "
                    "external_id = Auth0 user_id. Paced to the WorkOS write budget; safe to interrupt "
                    "and resume; users that already exist are updated, never duplicated.")
    p.add_argument("--users", metavar="FILE", help="Auth0 users export (NDJSON, gzip or JSON array)")
    p.add_argument("--passwords", metavar="FILE", help="Auth0 password-hash export (decrypted NDJSON)")
    p.add_argument("--run-dir", default=argparse.SUPPRESS,
                   help="run folder (new: created; --resume: the folder to resume)")
    p.add_argument("--env-file", default=argparse.SUPPRESS, help="dotenv file to read (default .env.local)")
    p.add_argument("--join-by-email", action=argparse.BooleanOptionalAction, default=None,
                   help="also bind password-hash rows that name no user id by email (each binding is a "
                        "warning in the findings and the report; default: by id only, or the choice "
                        "recorded in the run folder by the export step or `check`)")
    p.add_argument("--resume", action="store_true",
                   help="continue the import recorded in --run-dir (in-flight users are reconciled first)")
    p.add_argument("--retry-failed", action="store_true", help="with --resume: try the failed users again")
    p.add_argument("--dry-run", action="store_true",
                   help="look every user up and say what would be created or updated; write nothing")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask before writing to WorkOS")
    p.add_argument("--rate", default="500/10s",
                   help="WorkOS write budget: 500/10s (default), 3000/min, or requests per second (50)")
    p.add_argument("--concurrency", type=int, default=600,
                   help="most requests in the air at once (default 600: a fresh write window's burst of "
                        "500 plus the steady flow; the engine adapts below it)")
    p.add_argument("--give-up-after", type=_seconds, default=900.0, metavar="SECONDS",
                   help="during a total WorkOS outage every worker waits on a growing back-off; stop "
                        "cleanly (resumable) after this long without a single answer (default 900 = 15 min)")
    p.set_defaults(func=run)
    return p


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def _err(message: str) -> None:
    print(f"auth0-workos import: {message}", file=sys.stderr)


def _usage(message: str) -> int:
    _err(message)
    return EXIT_USAGE


def plan_lines(journal) -> list[str]:
    """Plan counts by branch and status, in plain words."""
    by = journal.count_by_branch_status()
    branches: dict[str, int] = {}
    statuses: dict[str, int] = {}
    for (branch, status), n in by.items():
        branches[branch] = branches.get(branch, 0) + n
        statuses[status] = statuses.get(status, 0) + n
    importable = sum(branches.get(b, 0) for b in Branch.IMPORTABLE)
    total = sum(branches.values())
    parts = ", ".join(f"{b} {branches[b]:,}" for b in Branch.IMPORTABLE if branches.get(b))
    lines = [f"Plan: {total:,} WorkOS users; {importable:,} to import ({parts or 'none'})."]
    not_imported = ", ".join(f"{b} {branches[b]:,}" for b in (Branch.BLOCKED, Branch.INVALID)
                             if branches.get(b))
    if not_imported:
        lines.append(f"Not imported: {not_imported} (see the findings / report).")
    done = {s: statuses.get(s, 0) for s in (UserStatus.CREATED, UserStatus.UPDATED, UserStatus.FAILED,
                                             UserStatus.IN_FLIGHT) if statuses.get(s)}
    if done:
        lines.append("Already recorded: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in done.items())
                     + f"; {statuses.get(UserStatus.PLANNED, 0):,} still to send.")
    return lines


def _confirm(question: str, to_send: int, assume_yes: bool) -> bool | None:
    """The typed confirmation (the same as the wizard's): the number of users to send or the word
    "import". None when there is nobody to ask (no TTY and no --yes)."""
    from wizard.tasks.import_ import CONFIRM_WORD, confirmation_accepted

    if assume_yes:
        return True
    if not sys.stdin.isatty():
        return None
    try:
        typed = input(f'{question} Type {to_send} or "{CONFIRM_WORD}" to confirm: ')
    except EOFError:
        return False
    return confirmation_accepted(typed, to_send)


def _prepare_new(args, run_dir: Path, journal, show) -> int | None:
    from wizard.core.plan import PlanOptions
    from wizard.tasks.check import run_check

    users = Path(args.users)
    if not users.is_file():
        return _usage(f"--users {users}: no such file")
    passwords = Path(args.passwords) if args.passwords else None
    if passwords is not None and not passwords.is_file():
        return _usage(f"--passwords {passwords}: no such file")
    if journal.has_writes():
        return _usage(f"{run_dir} already holds an import that wrote to WorkOS. Resume it with "
                      f"`auth0-workos import --resume --run-dir {run_dir}`, or use a new --run-dir.")
    print(f"Reading {users.name}" + (f" and {passwords.name}" if passwords else "") + " ...")
    from wizard.core.plan import record_join_choice, recorded_join_by_email

    given = getattr(args, "join_by_email", None)
    if given is not None:
        record_join_choice(journal, given, source="auth0-workos import")
    options = PlanOptions(join_by_email=given if given is not None else recorded_join_by_email(journal))
    if options.join_by_email and given is None:
        print("Binding password hashes by email too: the choice recorded in this run folder "
              "(--no-join-by-email to bind by id only)", file=sys.stderr)
    checked = run_check(journal, users, passwords, options=options, on_progress=show, save_only_if_passed=True)
    show.close()
    bound = checked.plan.summary["join"].get("email", 0)
    if bound:
        print(f"warning: {bound} password hash(es) bound by email (--join-by-email); each is listed in "
              "the findings and the report", file=sys.stderr)
    gate = checked.export_gate
    if not gate.passed:
        _err("the export files cannot be imported:")
        for c in gate.checks:
            if not c.ok:
                print(f"  x {c.name}: {c.evidence}\n    fix: {c.fix_hint}", file=sys.stderr)
        return EXIT_USAGE
    return None


def _prepare_resume(args, journal, run_dir: Path) -> int | None:
    if getattr(args, "users", None) or getattr(args, "passwords", None):
        return _usage("--resume uses the files recorded in the run folder; do not pass --users/--passwords")
    from wizard.tasks.import_ import check_resumable, retry_failed

    resumable = check_resumable(journal)
    if not resumable.has_plan:
        return _usage(f"{run_dir} has no plan to resume; start with --users FILE")
    if resumable.problems:
        _err("refusing to resume: the input files changed since this run was planned.")
        for problem in resumable.problems:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_USAGE
    if args.retry_failed:
        n = retry_failed(journal)
        print(f"Retrying {n:,} failed user(s).")
    return None


def _resolve_run_dir(args) -> Path | None:
    from wizard.core.rundir import latest_run_dir, new_run_dir
    from wizard.core.runlock import claim_run_folder

    given = getattr(args, "run_dir", None)
    if given:
        folder: Path | None = Path(given)
    elif args.resume:
        folder = latest_run_dir()
    else:
        folder = new_run_dir()
    return claim_run_folder(folder, "auth0-workos import") if folder is not None else None


def run(args) -> int:
    from wizard.commands._progress import ProgressPrinter
    from wizard.core.journal import JOURNAL_NAME, Journal
    from wizard.core.pacing import parse_budget
    from wizard.tasks.import_ import users_to_send

    if not args.resume and not args.users:
        planned = getattr(args, "run_dir", None) and (Path(args.run_dir) / JOURNAL_NAME).exists()
        if not planned:
            return _usage("give --users FILE (and --passwords FILE), or --resume --run-dir DIR")
        args.resume = True  # a run folder planned by `check --run-dir` (or the wizard): use its plan
    if args.retry_failed and not args.resume:
        return _usage("--retry-failed goes with --resume")
    try:
        budget = parse_budget(args.rate)
    except ValueError as exc:
        return _usage(str(exc))
    if args.concurrency < 1:
        return _usage("--concurrency must be at least 1")
    settings = load_settings(args)
    if (problem := key_problem(settings)) is not None:
        return _usage(problem)
    run_dir = _resolve_run_dir(args)
    if run_dir is None or (args.resume and not (run_dir / JOURNAL_NAME).exists()):
        return _usage(f"no run to resume in {run_dir or '.auth0-workos/runs'}")

    with Journal.open(run_dir) as journal:
        show = ProgressPrinter()
        early = (_prepare_resume(args, journal, run_dir) if args.resume
                 else _prepare_new(args, run_dir, journal, show))
        if early is not None:
            return early
        print(f"Run folder: {run_dir}")
        for line in plan_lines(journal):
            print(line)
        todo = users_to_send(journal)
        if todo == 0:
            print("Nothing left to send.")
        elif not args.dry_run:
            if not documents.DRY_RUN.exists(journal):
                print("note: no dry run is recorded for this plan; `--dry-run` first shows what would be "
                      "created, updated or refused without writing anything.", file=sys.stderr)
            from wizard.core.rollback import ROLLBACK_PROMISE

            print(ROLLBACK_PROMISE)
            answer = _confirm(f"Write {todo:,} user(s) to WorkOS at {settings.workos_base_url}?", todo, args.yes)
            if answer is None:
                return _usage("not on a terminal: pass --yes to confirm writing to WorkOS")
            if not answer:
                print("Nothing was sent.")
                return EXIT_OK
        return _run_import(journal, settings, args, budget, ProgressPrinter)


def _run_import(journal, settings, args, budget, printer_cls) -> int:
    from wizard.tasks.import_ import run_import

    with printer_cls() as show:
        result = run_import(journal, settings, on_progress=show, dry_run=args.dry_run, rate=budget,
                            concurrency=args.concurrency, give_up_after=args.give_up_after)
    summary, interrupted = result.summary, result.interrupted
    if args.dry_run:
        path = result.dry_run_path
        print(f"Dry run: would create {summary.would_create:,}, would update {summary.would_update:,}, "
              f"would fail {summary.would_fail:,}; not imported (blocked/invalid) {summary.skipped:,}. "
              "Nothing was written.")
        for f in summary.failures[:SHOW_FAILURES]:
            print(f"  - {f.get('email') or f['auth0_user_id']}: {f.get('message')}")
        print(f"Summary: {path}")
        return EXIT_INTERRUPTED if interrupted else (EXIT_FAILED if summary.would_fail else EXIT_OK)
    paths = result.paths
    print(f"Created {summary.created:,}, updated {summary.updated:,}, failed {summary.failed:,}, "
          f"not imported (blocked/invalid) {summary.skipped:,}, left {summary.remaining:,} "
          f"in {summary.duration_seconds:.1f}s ({summary.rate_per_second:.1f} users/s).")
    print(f"Files: {paths.summary.name}, {paths.id_map.name}, {paths.errors.name}, {paths.retry.name} "
          f"in {paths.summary.parent}")
    if interrupted:
        print("Interrupted: run the same folder with --resume to continue.", file=sys.stderr)
        return EXIT_INTERRUPTED
    if summary.stopped and summary.stop_reason and "API key" in summary.stop_reason:
        _err(summary.stop_reason)
        return EXIT_USAGE
    if summary.failed:
        failed = journal.users(status=UserStatus.FAILED, limit=SHOW_FAILURES)
        print(f"{summary.failed:,} user(s) failed:", file=sys.stderr)
        for u in failed:
            print(f"  - {u.email or u.auth0_user_id} ({u.auth0_user_id}): {u.last_error_code}: "
                  f"{u.last_error_message}", file=sys.stderr)
        if summary.failed > len(failed):
            print(f"  ... and {summary.failed - len(failed):,} more", file=sys.stderr)
        print(f"All failures: {paths.errors}. Fix the cause, then "
              f"`auth0-workos import --resume --retry-failed --run-dir {journal.run_dir}`.", file=sys.stderr)
        return EXIT_FAILED
    if summary.remaining:
        print(f"{summary.remaining:,} user(s) not sent yet: resume with --resume.", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
