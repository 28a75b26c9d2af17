"""`auth0-workos orgs`: organizations and memberships from Auth0 to WorkOS (idempotent; resumes)."""

from __future__ import annotations

import argparse
import json
import sys

from wizard.clients.errors import ApiError
from wizard.commands._common import (
    add_rate_option,
    add_run_dir_option,
    confirm,
    failed,
    load_settings,
    make_auth0_client,
    resolve_run_dir,
    usage,
)

ORGS_JSON = "orgs.json"


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
    from wizard.clients.workos import make_sync_client
    from wizard.commands._progress import ProgressPrinter
    from wizard.core.journal import Journal
    from wizard.core.orgs import export_organizations, migrate_organizations, org_counts, orgs_gate
    from wizard.core.rundir import write_private

    settings = load_settings(args)
    if not settings.workos_api_key:
        return usage("orgs", "WORKOS_API_KEY is not set (environment or .env.local)")
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
                    client = make_auth0_client(settings, on_wait=show, max_per_second=args.auth0_rate)
                    exported = export_organizations(client, journal, on_progress=show)
                except ApiError as exc:
                    return failed("orgs", exc)
                print(f"Exported {exported.organizations} organization(s), {exported.memberships} membership(s), "
                      f"{exported.domains} domain(s) from Auth0.")
                for note in exported.notes:
                    print(f"note: {note}")
        orgs = journal.orgs()
        if not orgs:
            print("Auth0 has no organizations: nothing to do.")
            journal.set_step("orgs", "not_applicable", "no Auth0 organizations")
            return 0
        todo_orgs = sum(1 for o in orgs if o["status"] not in ("created", "existing"))
        todo_members = sum(1 for m in journal.memberships() if m["status"] not in ("created", "present"))
        if not args.dry_run and not args.yes and (todo_orgs or todo_members) and not confirm(
                f"Create up to {todo_orgs} organization(s) and {todo_members} membership(s) in WorkOS at "
                f"{settings.workos_base_url}?"):
            return usage("orgs", "not confirmed: add --yes to write to WorkOS without asking, or --dry-run to look")
        workos = make_sync_client(settings)
        try:
            result = migrate_organizations(journal, workos, dry_run=args.dry_run, on_progress=show,
                                           with_roles=args.roles)
            counts = [] if args.dry_run else org_counts(journal, workos)
        except ApiError as exc:
            return failed("orgs", exc)
        if not args.dry_run:
            gate = orgs_gate(journal)
            journal.set_step("orgs", gate.status.value, gate.reason, gate.details)
            summary = result.as_dict() | {"counts": [
                {"auth0_org_id": c.auth0_org_id, "name": c.name, "workos_org_id": c.workos_org_id,
                 "auth0_members": c.expected_members, "importable_members": c.importable_members,
                 "workos_members": c.workos_members} for c in counts]}
            write_private(run_dir / ORGS_JSON, json.dumps(summary, indent=2, sort_keys=True))
    label = "Dry run, nothing written. " if args.dry_run else ""
    print(f"{label}Organizations: " + (", ".join(f"{k.replace('_', ' ')} {n}" for k, n in result.orgs.items()) or "none"))
    print("Memberships: " + (", ".join(f"{k.replace('_', ' ')} {n}" for k, n in result.memberships.items()) or "none"))
    for c in counts:
        print(f"  - {c.name} ({c.auth0_org_id}): Auth0 {c.expected_members} member(s), "
              f"WorkOS {c.workos_members if c.workos_members is not None else 'missing'}"
              + (f" ({c.expected_members - c.importable_members} not imported)"
                 if c.expected_members > c.importable_members else ""))
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
