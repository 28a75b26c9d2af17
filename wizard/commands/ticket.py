"""`auth0-workos ticket`: the Auth0 support ticket asking for the password-hash export.

    auth0-workos ticket --run-dir DIR [--sent]

Prints the ticket (tenant domain, each database connection with its user count, justification,
what to ask for, expected wait), writes DIR/support-ticket.md; `--sent` remembers that you sent it.
"""

from __future__ import annotations

import argparse

from wizard.commands._common import load_settings, usage


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("ticket", help="the Auth0 support ticket for the password-hash export",
                       description="Print the password-export ticket for Auth0 support, filled in from the "
                                   "inventory, and write support-ticket.md into the run folder.")
    p.add_argument("--run-dir", required=True, help="the run folder (its inventory fills the ticket in)")
    p.add_argument("--env-file", default=argparse.SUPPRESS, help="dotenv file to read (default .env.local)")
    p.add_argument("--sent", action="store_true", help="record that the ticket was sent (now)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from pathlib import Path

    from wizard.core.journal import JOURNAL_NAME, Journal
    from wizard.core.ticket import mark_sent, waiting_line
    from wizard.tasks.ticket import run_ticket

    run_dir = Path(args.run_dir)
    if not (run_dir / JOURNAL_NAME).exists():
        return usage("ticket", f"{run_dir} is not a run folder: take the inventory first "
                               f"(auth0-workos inventory --run-dir {run_dir})")
    settings = load_settings(args)
    with Journal.open(run_dir) as journal:
        result = run_ticket(journal, settings)
        print(result.ticket.text)
        print()
        if not result.ticket.domain_known:
            print("note: AUTH0_DOMAIN is not set: replace the tenant domain placeholder before sending.")
        if not result.ticket.connections:
            print("note: no inventory with database connections yet: run `auth0-workos inventory` first, or "
                  "fill the connection names in by hand.")
        if args.sent:
            mark_sent(journal)
        print(waiting_line(journal))
        print(f"Written: {result.path}")
    return 0
