"""The support-ticket job: fill the password-export ticket in from the inventory and write
support-ticket.md into the run folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wizard.core.config import Settings
from wizard.core.journal import Journal
from wizard.core.ticket import Ticket, ticket_for_run, write_ticket


@dataclass
class TicketResult:
    ticket: Ticket
    path: Path


def run_ticket(journal: Journal, settings: Settings) -> TicketResult:
    ticket = ticket_for_run(journal, settings.auth0_domain)
    return TicketResult(ticket, write_ticket(journal, ticket))
