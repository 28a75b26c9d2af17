"""`auth0-workos sso`: Auth0 enterprise connections into WorkOS SSO connections (dry run first,
confirmation, paced, idempotent; what cannot be created is handed off in sso-handoff.md)."""

from __future__ import annotations

import argparse
import getpass
import sys

from wizard.clients.errors import ApiError
from wizard.commands._common import (
    add_run_dir_option,
    confirm,
    failed,
    key_problem,
    load_settings,
    resolve_run_dir,
    usage,
)

MODES = ("keep-idp", "new-endpoints")


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("sso", help="move Auth0 enterprise connections to WorkOS SSO connections",
                       description="Read the Auth0 enterprise connections (read:connections, "
                                   "read:connections_options, read:organization_connections), plan one WorkOS "
                                   "connection per enabling organization, dry-run, then create them (external_id = "
                                   "Auth0 connection id) and add each imported SSO user to the connection's "
                                   "organization. What cannot be created is listed in sso-handoff.md and "
                                   "sso-connections.csv. Client secrets Auth0 does not return are read from "
                                   "AUTH0_SSO_SECRET_<CONNECTION_NAME> or asked for (hidden).")
    add_run_dir_option(p)
    p.add_argument("--dry-run", action="store_true", help="plan and read WorkOS; write nothing")
    p.add_argument("--yes", action="store_true", help="do not ask before writing to WorkOS (and ask no secret)")
    p.add_argument("--mode", choices=MODES, default=None,
                   help="cutover mode for every connection (default: the one chosen before, else keep-idp)")
    p.add_argument("--mode-for", action="append", default=[], metavar="NAME=MODE",
                   help="cutover mode for one connection (repeatable)")
    p.add_argument("--consolidate", action="store_true",
                   help="one WorkOS connection (in an organization of its own) for a connection several Auth0 "
                        "organizations enable, instead of one per organization")
    p.add_argument("--callback-domain", default=None, metavar="HOST",
                   help="the Auth0 host the IdPs were configured with (a custom domain); default AUTH0_DOMAIN")
    p.add_argument("--tenant", default=None, help="Auth0 tenant name for urn:auth0:TENANT:CONNECTION "
                                                  "(default: the first label of AUTH0_DOMAIN)")
    p.add_argument("--portal-link", default=None, metavar="CONNECTION",
                   help="print fresh Admin Portal links (intent sso) for a connection's organizations and stop; "
                        "each expires 5 minutes after issuance")
    p.set_defaults(func=run)
    return p


def _modes(values: list[str]) -> dict[str, str]:
    out = {}
    for v in values:
        name, sep, mode = v.partition("=")
        if not sep or mode not in MODES or not name:
            raise ValueError(f"--mode-for takes NAME=MODE with MODE one of {', '.join(MODES)} (got '{v}')")
        out[name] = mode
    return out


def _print(result, *, label: str) -> None:
    run = result.run or {}
    print(f"{label}{result.connections} enterprise connection(s):")
    for r in result.rows:
        orgs = ", ".join(r["organizations"]) or "none"
        line = f"  - {r['name']} ({r['strategy']}, {r['mode']}): {r['outcome']}"
        line += f" in {orgs}" if r["outcome"] not in ("handed off",) else ""
        if r["reason"]:
            line += f": {r['reason']}"
        print(line)
    if run:
        for key in ("connections", "organizations", "members"):
            counts = run.get(key) or {}
            print(f"{key.capitalize()}: " + (", ".join(f"{k.replace('_', ' ')} {n}" for k, n in
                                                       sorted(counts.items())) or "none"))
        for p in run.get("problems", [])[:20]:
            who = p.get("organization") or p.get("user") or ""
            print(f"  {p['status'].replace('_', ' ')}: {p['connection']} {who}: {p['message']}")
    for name, env in result.secrets_needed:
        print(f"note: {name} needs its client secret: set {env} (or type it in the wizard) and run again.")
    for note in result.notes:
        print(f"note: {note}")


def run(args) -> int:
    from wizard.core import sso
    from wizard.core.journal import Journal
    from wizard.tasks.sso import run_portal_links, run_sso

    settings = load_settings(args)
    if (problem := key_problem(settings)) is not None:
        return usage("sso", problem)
    run_dir = resolve_run_dir(args)
    with Journal.open(run_dir) as journal:
        if args.portal_link:
            try:
                links = run_portal_links(journal, settings, args.portal_link)
            except KeyError:
                return usage("sso", f"no enterprise connection named '{args.portal_link}' in this run "
                                    "(run `auth0-workos sso --dry-run` first)")
            except ApiError as exc:
                return failed("sso", exc)
            if not links:
                return failed("sso", f"{args.portal_link} has no organization in WorkOS yet: run the step first")
            print(f"Admin Portal links (intent sso), each valid for {sso.PORTAL_LINK_TTL_MINUTES} minutes from now: "
                  "open or send them at once.")
            for org, link in links:
                print(f"  {org}: {link}")
            return 0
        if not settings.has_auth0_credentials:
            return usage("sso", "set AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (scopes read:connections, "
                                "read:connections_options, read:organization_connections)")
        try:
            modes = _modes(args.mode_for)
        except ValueError as exc:
            return usage("sso", str(exc))
        kw = dict(modes=modes, consolidate=args.consolidate, callback_domain=args.callback_domain,
                  tenant=args.tenant, **({"default_mode": args.mode} if args.mode else {}))
        if args.mode:  # the flag applies to every connection, over earlier choices
            kw["modes"] = {**{r["name"]: args.mode for r in journal.sso_connections()}, **modes}
        try:
            result = run_sso(journal, settings, dry_run=True, **kw)
            typed: dict[str, str] = {}
            if result.secrets_needed and not args.yes and not args.dry_run and sys.stdin.isatty():
                for name, env in result.secrets_needed:
                    value = getpass.getpass(f"Client secret of {name} (hidden; Enter to skip, or set {env}): ")
                    if value.strip():
                        typed[name] = value.strip()
                if typed:
                    result = run_sso(journal, settings, dry_run=True, typed_secrets=typed, **kw)
            _print(result, label="Dry run, nothing written. ")
            if not result.connections:
                print("The inventory found no enterprise connection: mark the step not applicable in the wizard.")
                return 0
            if args.dry_run:
                print(f"Handoff: {result.handoff_md} and {result.connections_csv}")
                return 0 if result.ok else 1
            would = (result.run or {}).get("connections", {}).get("would_create", 0)
            members = (result.run or {}).get("members", {}).get("would_create", 0)
            if (would or members) and not args.yes and not confirm(
                    f"Create {would} SSO connection(s) and {members} membership(s) in WorkOS at "
                    f"{settings.workos_base_url}?"):
                return usage("sso", "not confirmed: add --yes to write to WorkOS without asking, or --dry-run "
                                    "to look")
            result = run_sso(journal, settings, write=True, typed_secrets=typed, **kw)
        except ApiError as exc:
            return failed("sso", exc)
        except ValueError as exc:
            return usage("sso", str(exc))
        _print(result, label="")
        print(f"Handoff: {result.handoff_md} and {result.connections_csv}")
        if result.gate is not None and not result.gate.passed:
            print(f"Gate: {result.gate.reason}")
        return 0 if result.ok else 1
