"""`auth0-workos roles`: Auth0 roles and permissions into WorkOS permissions, environment roles and
membership roles. Exit 0 done, 1 the step ran and something failed, 2 usage / configuration."""

from __future__ import annotations

import argparse
import sys

from wizard.clients.errors import ApiError
from wizard.commands._common import (
    add_rate_option,
    add_run_dir_option,
    failed,
    key_problem,
    load_settings,
    resolve_run_dir,
    usage,
)


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("roles", help="move Auth0 roles and permissions to WorkOS (after the organizations step)",
                       description="Read Auth0 roles, their permissions and each organization member's roles, "
                                   "show the mapping, then create WorkOS permissions and environment roles and set "
                                   "the roles on the memberships the organizations step created. Idempotent.")
    add_run_dir_option(p)
    p.add_argument("--dry-run", action="store_true", help="show the mapping and what would change; write nothing")
    p.add_argument("--yes", action="store_true", help="do not ask for the typed confirmation before writing")
    p.add_argument("--reuse-existing", action="append", default=[], metavar="SLUG",
                   help="reuse the existing WorkOS role SLUG (e.g. member) for the Auth0 role of that slug, "
                        "adding its permissions; by default such a role gets a suffixed slug (repeatable)")
    p.add_argument("--default-org", metavar="ORG",
                   help="assign roles held outside any Auth0 organization within this organization (Auth0 id "
                        "or name of a migrated organization, or a WorkOS org_ id); default: report them only")
    p.add_argument("--no-read", action="store_true", help="use the roles already read into this run (no Auth0 calls)")
    p.add_argument("--rollback", action="store_true",
                   help="undo this step: restore membership roles and role permissions, delete the permissions "
                        "it created (environment roles cannot be deleted through the API and stay)")
    add_rate_option(p)
    p.set_defaults(func=run)
    return p


def _typed(word: str, question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    try:
        return input(f'{question} Type "{word}" to go on: ').strip().lower() == word
    except EOFError:
        return False


def run(args) -> int:
    from wizard.commands._progress import ProgressPrinter
    from wizard.core import roles as core
    from wizard.core.journal import Journal
    from wizard.tasks import roles as task

    settings = load_settings(args)
    if (problem := key_problem(settings)) is not None:
        return usage("roles", problem)
    run_dir = resolve_run_dir(args)
    with Journal.open(run_dir) as journal, ProgressPrinter() as show:
        if args.rollback:
            return _rollback(journal, settings, args, show)
        try:
            if not args.no_read:
                if settings.has_auth0_credentials:
                    read = task.read_roles(journal, settings, on_progress=show, auth0_rate=args.auth0_rate)
                    print(f"Read {read.roles} role(s), {read.permissions} permission(s), {read.members_with_roles} "
                          f"organization member(s) with roles, {read.tenant_role_holders} user(s) with roles "
                          "outside any organization from Auth0.")
                    for note in read.notes:
                        print(f"note: {note}")
                elif not core.has_roles(journal):
                    return usage("roles", "set AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET to read the roles "
                                          "(scopes read:roles, read:organization_member_roles, read:users)")
            if not core.has_roles(journal):
                print(f"Nothing to do: {task.NO_ROLES_REASON}; the step is marked not applicable.")
                return 0
            try:
                default_org = core.resolve_default_org(journal, args.default_org)
            except ValueError as exc:
                return usage("roles", str(exc))
            plan, preview = task.plan_roles(journal, settings, reuse_existing=args.reuse_existing,
                                            default_org=args.default_org, on_progress=show)
        except ApiError as exc:
            return failed("roles", exc)
        for line in core.plan_lines(plan) + core.tenant_lines(journal):
            print(line)
        if plan.unknown_reuse:
            return usage("roles", "--reuse-existing names no WorkOS role an Auth0 role maps onto: "
                                  + ", ".join(plan.unknown_reuse))
        if args.dry_run:
            for line in core.outcome_lines(preview):
                print(line)
            task.write_roles_csv(journal)
            print(f"Saved {run_dir / core.ROLES_CSV}")
            return 0
        counts = plan.counts()
        writes = counts["permissions_to_create"] + counts["roles_to_create"] + counts["roles_permission_changes"] \
            + preview.memberships.get("would_change", 0) + preview.memberships.get("would_create_membership", 0)
        if writes and not args.yes and not _typed(
                "roles", f"This writes to WorkOS at {settings.workos_base_url}: "
                         f"{counts['permissions_to_create']} permission(s), {counts['roles_to_create']} role(s) "
                         f"(which cannot be deleted through the API), "
                         f"{preview.memberships.get('would_change', 0)} membership(s) changed."):
            return usage("roles", "not confirmed: add --yes to write without asking, or --dry-run to look")
        try:
            result = task.run_roles(journal, settings, on_progress=show, read=False,
                                    reuse_existing=args.reuse_existing, default_org=default_org)
        except ApiError as exc:
            return failed("roles", exc)
    for line in core.outcome_lines(result.outcome):
        print(line)
    print(f"Saved {result.csv_path}")
    if result.gate is not None and not result.gate.passed:
        for c in result.gate.checks:
            if not c.ok:
                print(f"  not done: {c.name}: {c.evidence}. {c.fix_hint}", file=sys.stderr)
    return 0 if result.outcome.ok else 1


def _rollback(journal, settings, args, show) -> int:
    from wizard.core import roles as core
    from wizard.tasks import roles as task

    if not core.has_roles(journal):
        print("This run holds no roles step: nothing to undo.")
        return 0
    print("Rollback restores each membership's previous roles and each role's previous permissions, and deletes "
          "the permissions this run created. " + core.CANNOT_UNDO)
    if not args.yes and not _typed("rollback", "Undo the roles step?"):
        return usage("roles", "not confirmed: add --yes to roll back without asking")
    try:
        summary = task.rollback_roles(journal, settings, on_progress=show)
    except ApiError as exc:
        return failed("roles", exc)
    for line in core.rollback_lines(summary):
        print(line)
    return 1 if summary["failures"] else 0
