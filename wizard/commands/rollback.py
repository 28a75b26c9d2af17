"""`auth0-workos rollback --run-dir DIR [--yes]`: delete the WorkOS users (and SSO connections) this run created.

Users the run only updated (they existed before) are never deleted. Asks for a typed confirmation:
the number of users to delete, or the word "rollback". Exit 0 done, 1 some deletions failed,
2 usage/configuration (nothing deleted).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wizard.commands._common import key_problem, load_settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("rollback", help="delete the WorkOS users this run created (typed confirmation)",
                       description="Delete, paced and journalled, every WorkOS user this run created. "
                                   "Users that existed before the run and were only updated are kept.")
    p.add_argument("--run-dir", default=argparse.SUPPRESS, help="the run folder whose import to undo")
    p.add_argument("--env-file", default=argparse.SUPPRESS, help="dotenv file to read (default .env.local)")
    p.add_argument("--yes", "-y", action="store_true", help="skip the typed confirmation")
    p.add_argument("--rate", default="500/10s", help="WorkOS write budget (default 500/10s)")
    p.set_defaults(func=run)
    return p


def _usage(message: str) -> int:
    print(f"auth0-workos rollback: {message}", file=sys.stderr)
    return EXIT_USAGE


def typed_confirmation(n: int, answer: str) -> bool:
    """The person typed the number of users to delete, or the word "rollback"."""
    from wizard.tasks.rollback import confirmation_accepted

    return confirmation_accepted(answer, n)


def run(args) -> int:
    from wizard.commands._progress import ProgressPrinter
    from wizard.core.journal import JOURNAL_NAME, Journal
    from wizard.core.pacing import parse_budget
    from wizard.tasks.rollback import check_environment, rollback_plan, run_rollback

    given = getattr(args, "run_dir", None)
    if not given:
        return _usage("give --run-dir DIR (the run whose import to undo)")
    run_dir = Path(given)
    if not (run_dir / JOURNAL_NAME).exists():
        return _usage(f"{run_dir} holds no run journal")
    try:
        budget = parse_budget(args.rate)
    except ValueError as exc:
        return _usage(str(exc))
    settings = load_settings(args)
    if (problem := key_problem(settings)) is not None:
        return _usage(problem)
    with Journal.open(run_dir) as journal:
        check_environment(journal, settings)
        planned = rollback_plan(journal)
        targets, restores, unknown = planned.targets, planned.restores, planned.unknown
        sso_code = _rollback_sso(journal, settings, args)  # enterprise SSO connections and organizations
        if sso_code is not None and sso_code != EXIT_OK:
            return sso_code
        if not targets and not restores and not unknown:
            print("This run created no WorkOS user that still exists and changed none it has not put "
                  "back: nothing to do.")
            return EXIT_OK
        print(f"This run created {len(targets):,} WorkOS user(s) at {settings.workos_base_url}; they will be "
              f"deleted. {len(restores):,} user(s) that existed before are kept and put back as they were "
              "(names, external id, metadata; a password hash set by the import cannot be undone).")
        if unknown:
            print(f"{len(unknown):,} create(s) lost their answer: each is looked up first and, if it landed, "
                  "deleted like the others.")
        if not args.yes:
            if not sys.stdin.isatty():
                return _usage("not on a terminal: pass --yes to confirm the deletion")
            try:
                answer = input(f'Type {len(targets)} or "rollback" to delete them: ')
            except EOFError:
                answer = ""
            if not typed_confirmation(len(targets), answer):
                print("Not confirmed: nothing was deleted.")
                return EXIT_OK

        with ProgressPrinter() as show:
            summary = run_rollback(journal, settings, on_progress=show, rate=budget).summary
        print(f"Deleted {summary.deleted:,}, already gone {summary.already_gone:,}, failed {summary.failed:,}; "
              f"{summary.restored:,} pre-existing user(s) put back as they were"
              + (f", {summary.restore_failed:,} could not be" if summary.restore_failed else "")
              + f" in {summary.duration_seconds:.1f}s. The id map no longer lists deleted users.")
        if summary.found_landed:
            print(f"{summary.found_landed:,} of them were creates whose answer had been lost (they had landed).")
        if summary.already_gone:
            print(f"Already gone: WorkOS answered 404 for {summary.already_gone:,} id(s) in this run's "
                  "environment; every later rollback checks them again.")
        for note in summary.not_restorable[:SHOW_NOTES]:
            print(f"  note: {note}")
        if len(summary.not_restorable) > SHOW_NOTES:
            print(f"  … and {len(summary.not_restorable) - SHOW_NOTES:,} more notes like these")
        if summary.stopped:
            return _usage(summary.stop_reason or "stopped")
        if summary.failed or summary.restore_failed:
            for f in summary.failures:
                print(f"  - {f['workos_user_id']} ({f['auth0_user_id']}): {f.get('code')}: {f.get('message')}",
                      file=sys.stderr)
            print("Run the same command again to retry them.", file=sys.stderr)
            return EXIT_FAILED
        return EXIT_OK


SHOW_NOTES = 10


def _rollback_sso(journal, settings, args) -> int | None:
    """The Enterprise SSO step's own creations (connections, the organizations it made, memberships,
    added certificates): listed, confirmed like the users, deleted. None when it created nothing."""
    from wizard.clients.errors import ApiError
    from wizard.core import sso
    from wizard.tasks.sso import run_sso_rollback

    todo = sso.rollback_targets(journal)
    n = sum(len(v) for v in todo.values())
    if not n:
        return None
    print(f"The Enterprise SSO step created {len(todo[sso.WRITE_CONNECTION])} SSO connection(s), "
          f"{len(todo[sso.WRITE_ORG])} organization(s), {len(todo[sso.WRITE_MEMBER])} membership(s) and added "
          f"{len(todo[sso.WRITE_CERT])} certificate(s) at {settings.workos_base_url}; they will be deleted.")
    if not args.yes:
        if not sys.stdin.isatty():
            return _usage("not on a terminal: pass --yes to confirm the deletion")
        try:
            answer = input(f'Type {n} or "rollback" to delete them: ')
        except EOFError:
            answer = ""
        if not typed_confirmation(n, answer):
            print("Not confirmed: nothing was deleted.")
            return EXIT_OK
    try:
        result = run_sso_rollback(journal, settings)
    except ApiError as exc:
        print(f"auth0-workos rollback: {exc}", file=sys.stderr)
        return EXIT_FAILED
    deleted = ", ".join(f"{v} {k}(s)" for k, v in sorted(result.deleted.items())) or "nothing"
    print(f"Enterprise SSO: deleted {deleted}; already gone {result.already_gone}.")
    for f in result.failures:
        print(f"  - {f}", file=sys.stderr)
    return EXIT_FAILED if result.failures else EXIT_OK
