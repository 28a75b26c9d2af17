"""`auth0-workos sync`: catch WorkOS up with a newer Auth0 export (and/or a late password export).

    auth0-workos sync --run-dir DIR --users NEW [--passwords NEW_HASHES] [--dry-run] [--yes]
                      [--delete-removed] [--rate N] [--concurrency N]
    auth0-workos sync --run-dir DIR --passwords NEW_HASHES     (apply the password export)
    auth0-workos sync --run-dir DIR --resume                   (finish an interrupted sync)

Only the difference is sent: new users are created, changed users updated, new or changed hashes
set; unchanged users get no request at all. Users gone from Auth0 are reported; they are deleted in
WorkOS only with --delete-removed and a typed confirmation (or --yes).

Exit codes: 0 in sync, 1 some users failed or are left, 2 usage or configuration (nothing written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wizard.commands._common import key_problem, load_settings, usage

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
SHOW = 20


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "sync", help="catch WorkOS up with a newer Auth0 export (delta sync)",
        description="Compare a newer Auth0 users export (and/or password export) with what this run "
                    "imported and send only the difference: new users, changed users, new or changed "
                    "passwords. Paced, resumable and journalled like the import.")
    p.add_argument("--run-dir", required=True, help="the run folder that imported the users")
    p.add_argument("--users", metavar="NEW", help="the newer users export (default: the one the run used)")
    p.add_argument("--passwords", metavar="NEW_HASHES",
                   help="the newer (or late) password export (default: the one the run used)")
    p.add_argument("--env-file", default=argparse.SUPPRESS, help="dotenv file to read (default .env.local)")
    p.add_argument("--dry-run", action="store_true", help="show the difference; send and change nothing")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask before writing to WorkOS")
    p.add_argument("--delete-removed", action="store_true",
                   help="delete in WorkOS the users gone from Auth0 (or blocked there since the import)")
    p.add_argument("--resume", action="store_true", help="finish the sync an interruption left applied")
    p.add_argument("--rate", default="500/10s", help="WorkOS write budget (default 500/10s)")
    p.add_argument("--concurrency", type=int, default=64, help="most requests in the air at once (default 64)")
    p.set_defaults(func=run)
    return p


def _ask(question: str) -> str | None:
    if not sys.stdin.isatty():
        return None
    try:
        return input(question).strip()
    except EOFError:
        return ""


def _print_plan(journal, plan) -> None:
    from wizard.core.sync import COUNT_LABELS

    print(f"Sync {plan.sync_id}: {plan.users_path.name}"
          + (f" + {plan.passwords_path.name}" if plan.passwords_path else "") + " against the journal.")
    for line in plan.lines():
        print("  " + line)
    for kind in ("removed", "blocked", "delete"):
        rows = journal.sync_changes(plan.sync_id, kind, limit=SHOW)
        if rows:
            label = COUNT_LABELS["to_delete"] if kind == "delete" else COUNT_LABELS[kind]
            print(f"  {label}:")
            for r in rows:
                print(f"    - {r['email'] or r['auth0_user_id']} ({r['auth0_user_id']}, WorkOS {r['workos_user_id']})")
    if plan.findings:
        print(f"  {len(plan.findings)} finding(s):")
        for f in plan.findings[:SHOW]:
            print(f"    - {f.file}:{f.line} {f.code}: {f.message}")


def _confirm(plan, args, base_url: str, todo: int) -> int | None:
    """None to go on; else the exit code."""
    to_delete = plan.counts.get("to_delete", 0)
    if args.yes:
        return None
    if not sys.stdin.isatty():
        return usage("sync", "not on a terminal: pass --yes to confirm writing to WorkOS")
    answer = _ask(f"Send {todo:,} change(s) to WorkOS at {base_url}? [y/N] ")
    if (answer or "").lower() not in ("y", "yes"):
        print("Nothing was sent.")
        return EXIT_OK
    if to_delete:
        word = f"delete {to_delete}"
        typed = _ask(f"This deletes {to_delete:,} WorkOS user(s). Type '{word}' to confirm: ")
        if typed != word:
            print("Not confirmed: nothing was sent.")
            return EXIT_OK
    return None


def _report(journal, result) -> int:
    s = result.summary
    print(f"Sync {result.sync_id}: {s.get('session_created', 0):,} created, {s.get('session_updated', 0):,} "
          f"updated or deleted ({result.deleted:,} deleted), {s.get('session_failed', 0):,} failed, "
          f"{s.get('remaining', 0):,} left, in {s.get('duration_seconds', 0):.1f}s.")
    if result.paths:
        print(f"Files: {result.paths.summary.name}, {result.paths.id_map.name}, {result.paths.errors.name} "
              f"in {result.paths.summary.parent}")
    if s.get("stopped") and s.get("stop_reason"):
        print(f"auth0-workos sync: {s['stop_reason']}", file=sys.stderr)
        if "API key" in str(s["stop_reason"]):
            return EXIT_USAGE
    if s.get("session_failed") or s.get("failed"):
        failed = journal.users(status="failed", limit=SHOW)
        print(f"{s.get('failed', 0):,} user(s) failed:", file=sys.stderr)
        for u in failed:
            print(f"  - {u.email or u.auth0_user_id}: {u.last_error_code}: {u.last_error_message}", file=sys.stderr)
        return EXIT_FAILED
    if s.get("remaining"):
        print(f"{s['remaining']:,} user(s) not sent yet: run `auth0-workos sync --resume --run-dir "
              f"{journal.run_dir}`.", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def run(args) -> int:
    from wizard.commands._progress import ProgressPrinter
    from wizard.core.journal import JOURNAL_NAME, Journal
    from wizard.core.pacing import parse_budget
    from wizard.tasks.sync import SyncError, prepare_sync, resume_sync, run_sync

    run_dir = Path(args.run_dir)
    if not (run_dir / JOURNAL_NAME).exists():
        return usage("sync", f"{run_dir} is not a run folder (no {JOURNAL_NAME}); import first")
    if args.resume and (args.users or args.passwords or args.dry_run):
        return usage("sync", "--resume finishes the applied sync with its recorded files; give no files")
    if not args.resume and not (args.users or args.passwords):
        return usage("sync", "give --users NEW (and/or --passwords NEW_HASHES), or --resume")
    for flag, value in (("--users", args.users), ("--passwords", args.passwords)):
        if value and not Path(value).is_file():
            return usage("sync", f"{flag} {value}: no such file")
    try:
        budget = parse_budget(args.rate)
    except ValueError as exc:
        return usage("sync", str(exc))
    if args.concurrency < 1:
        return usage("sync", "--concurrency must be at least 1")
    settings = load_settings(args)
    if not args.dry_run and (problem := key_problem(settings)) is not None:
        return usage("sync", problem)
    with Journal.open(run_dir) as journal:
        try:
            if args.resume:
                with ProgressPrinter() as show:
                    result = resume_sync(journal, settings, on_progress=show, rate=budget,
                                         concurrency=args.concurrency)
                return _report(journal, result)
            with ProgressPrinter() as show:
                plan = prepare_sync(journal, settings, users=args.users, passwords=args.passwords,
                                    dry_run=args.dry_run, delete_removed=args.delete_removed, on_progress=show)
            _print_plan(journal, plan)
            if args.dry_run:
                print("Dry run: nothing was sent and the plan is unchanged.")
                return EXIT_OK
            counts = journal.count_users()
            todo = plan.to_send + counts.get("planned", 0) + counts.get("in_flight", 0)
            if todo == 0:
                print("WorkOS is in step with this export: nothing to send.")
            else:
                stop = _confirm(plan, args, settings.workos_base_url, todo)
                if stop is not None:
                    return stop
            with ProgressPrinter() as show:
                result = run_sync(journal, settings, plan, on_progress=show, rate=budget,
                                  concurrency=args.concurrency)
            return _report(journal, result)
        except SyncError as exc:
            return usage("sync", str(exc))
        except KeyboardInterrupt:
            print("Interrupted: run `auth0-workos sync --resume --run-dir DIR` to finish.", file=sys.stderr)
            return EXIT_INTERRUPTED
