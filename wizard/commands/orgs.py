"""`auth0-workos orgs`: organizations and memberships from Auth0 to WorkOS (idempotent; resumes)."""

from __future__ import annotations

import argparse
import sys

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
    p = sub.add_parser("orgs", help="move organizations and memberships to WorkOS",
                       description="Export Auth0 organizations (members, roles, domains), create them all in WorkOS "
                                   "(by external_id = Auth0 organization id), then the memberships of imported "
                                   "users. Re-running adds only what is missing.")
    add_run_dir_option(p)
    p.add_argument("--dry-run", action="store_true", help="show what would be created; write nothing to WorkOS")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation before writing to WorkOS")
    p.add_argument("--roles", action="store_true",
                   help="give each membership the member's first Auth0 role as its WorkOS role slug "
                        "(create those roles in WorkOS first); default: WorkOS's default role. The roles step "
                        "(auth0-workos roles) creates the roles and sets all of them")
    p.add_argument("--no-export", action="store_true",
                   help="use the organizations already exported into this run (no Auth0 calls)")
    add_rate_option(p)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from wizard.commands._progress import ProgressPrinter
    from wizard.core.journal import Journal
    from wizard.tasks.clients import ClientSetupError
    from wizard.tasks.orgs import (
        ORGS_JSON,
        mark_no_orgs,
        org_work,
        run_org_export,
        run_org_migration,
    )

    settings = load_settings(args)
    if (problem := key_problem(settings)) is not None:
        return usage("orgs", problem)
    run_dir = resolve_run_dir(args)
    with Journal.open(run_dir) as journal, ProgressPrinter() as show:
        if not args.no_export:
            if not settings.has_auth0_credentials:
                if not journal.orgs():
                    return usage("orgs", "set AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET to export the "
                                         "organizations (scopes read:organizations, read:organization_members)")
                print("No Auth0 credentials: using the organizations already exported into this run.",
                      file=sys.stderr)
            else:
                try:
                    exported = run_org_export(journal, settings, on_progress=show, on_wait=show,
                                              max_per_second=args.auth0_rate, check_scopes=True,
                                              on_scope_warning=warn).export
                except (ClientSetupError, ApiError) as exc:
                    return failed("orgs", exc)
                print(f"Exported {exported.organizations} organization(s), {exported.memberships} membership(s), "
                      f"{exported.domains} domain(s) from Auth0.")
                for note in exported.notes:
                    print(f"note: {note}")
        orgs = journal.orgs()
        if not orgs:
            print("Auth0 has no organizations: nothing to do.")
            mark_no_orgs(journal)
            return 0
        todo_orgs, todo_members = org_work(journal)
        if not args.dry_run and not args.yes and (todo_orgs or todo_members) and not confirm(
                f"Create up to {todo_orgs} organization(s) and {todo_members} membership(s) in WorkOS at "
                f"{settings.workos_base_url}?"):
            return usage("orgs", "not confirmed: add --yes to write to WorkOS without asking, or --dry-run to look")
        try:
            migrated = run_org_migration(journal, settings, on_progress=show, dry_run=args.dry_run,
                                         with_roles=args.roles, count_members=True)
        except ApiError as exc:
            return failed("orgs", exc)
        result, counts = migrated.migration, migrated.counts
    label = "Dry run, nothing written. " if args.dry_run else ""
    print(f"{label}Organizations: " + (", ".join(f"{k.replace('_', ' ')} {n}" for k, n in result.orgs.items()) or "none"))
    print("Memberships: " + (", ".join(f"{k.replace('_', ' ')} {n}" for k, n in result.memberships.items()) or "none"))
    for c in counts:
        print(f"  - {c.name} ({c.auth0_org_id}): Auth0 {c.auth0_text()}, WorkOS {c.workos_text()}"
              + (f" ({c.expected_members - c.importable_members} not imported)"
                 if c.expected_members is not None and c.expected_members > c.importable_members else "")
              + (f" — unknown: {c.unknown}" if c.unknown else ""))
    not_imported = result.memberships.get("user_not_imported", 0)
    if not_imported and not_imported == sum(result.memberships.values()):
        print("note: no member's user is in WorkOS yet: import the users first (auth0-workos import), then run "
              "orgs again; it adds only the missing memberships.")
    shown = result.problems[:25]
    for p in shown:
        who = f"{p['auth0_org_id']}" + (f" / {p['auth0_user_id']}" if p.get("auth0_user_id") else "")
        print(f"  {p['status']}: {who}: {p['message']}")
    if len(result.problems) > len(shown):
        print(f"  ... and {len(result.problems) - len(shown)} more (see {ORGS_JSON})")
    if not args.dry_run:
        print(f"Saved {run_dir / ORGS_JSON}")
    return 0 if result.ok else 1
