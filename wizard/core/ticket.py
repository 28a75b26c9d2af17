"""The Auth0 support ticket that asks for the password-hash export, filled in from the inventory.

Auth0 exports password hashes only through a support ticket (the seed guide: tenant domain, the
database connections, a justification; allow 5-10 business days). The file comes back as NDJSON,
PGP-encrypted to a public key you give them (api-facts 1.2). The wizard writes the ticket, then
remembers when it was sent; when the hash file arrives the export step offers "apply the password
export" (a delta sync with only the hash file).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from wizard.core.journal import Journal
from wizard.core.rundir import write_private

TICKET_NAME = "support-ticket.md"
TICKET_DOCUMENT = "support_ticket"  # {"sent_at": time} once the operator ticks "sent"
EXPECTED_WAIT = "5 to 10 business days (allow one to two weeks)"
JUSTIFICATION = ("We are migrating our users to WorkOS AuthKit and need their password hashes so "
                 "that they keep their current passwords (no forced reset).")
DOMAIN_PLACEHOLDER = "YOUR-TENANT.us.auth0.com"


@dataclass(frozen=True)
class DatabaseConnection:
    name: str
    users: int | None  # None when the inventory could not count them


@dataclass(frozen=True)
class Ticket:
    tenant_domain: str
    connections: tuple[DatabaseConnection, ...]
    subject: str
    body: str
    domain_known: bool

    @property
    def text(self) -> str:
        return f"Subject: {self.subject}\n\n{self.body}"


def database_connections(inventory: dict | None) -> tuple[DatabaseConnection, ...]:
    """The inventory's database connections (the only ones with passwords), biggest first."""
    rows = [m for m in (inventory or {}).get("sign_in_methods") or [] if m.get("kind") == "database"]
    conns = [DatabaseConnection(str(m.get("connection") or "?"),
                                int(m["users"]) if isinstance(m.get("users"), int) else None) for m in rows]
    return tuple(sorted(conns, key=lambda c: (-(c.users or 0), c.name)))


def build_ticket(inventory: dict | None, tenant_domain: str | None) -> Ticket:
    """The ticket text: tenant, each database connection with its user count, the justification,
    what to ask for (NDJSON, encrypted to your PGP public key) and the expected wait."""
    domain = (tenant_domain or "").strip() or DOMAIN_PLACEHOLDER
    conns = database_connections(inventory)
    if conns:
        conn_lines = [f"  - {c.name}: {c.users:,} users" if c.users is not None else f"  - {c.name}"
                      for c in conns]
        total = sum(c.users or 0 for c in conns)
        conn_lines.append(f"  (total: {total:,} database users)")
    else:
        conn_lines = ["  - Username-Password-Authentication (replace with your database connection names)"]
    subject = f"Password hash export for tenant {domain} (migration to WorkOS)"
    body = "\n".join([
        "Hello Auth0 Support,",
        "",
        "Please export the password hashes of our tenant's database connections.",
        "",
        f"Tenant domain: {domain}",
        "Database connections (users per connection):",
        *conn_lines,
        "",
        f"Justification: {JUSTIFICATION}",
        "",
        "What we need:",
        "  - one file in NDJSON (one JSON object per line) with, for every user of these connections:",
        "    _id, alt_id (where set), email, email_verified, passwordHash, password_set_date and connection;",
        "  - encrypted with our PGP public key (below); please do not send the hashes unencrypted.",
        "  - if MFA (TOTP) secrets can be exported too, in a separate file encrypted the same way.",
        "",
        "Our PGP public key:",
        "  [paste the armored public key here: gpg --armor --export YOU@EXAMPLE.COM]",
        "",
        f"We understand this usually takes {EXPECTED_WAIT}.",
        "",
        "Thank you.",
    ])
    return Ticket(domain, conns, subject, body, bool((tenant_domain or "").strip()))


def ticket_for_run(journal: Journal, tenant_domain: str | None) -> Ticket:
    return build_ticket(journal.get_document("inventory"), tenant_domain)


def write_ticket(journal: Journal, ticket: Ticket) -> Path:
    """support-ticket.md in the run folder (0600, atomic)."""
    text = f"# {ticket.subject}\n\n{ticket.body}\n"
    return write_private(journal.run_dir / TICKET_NAME, text)


def mark_sent(journal: Journal, sent: bool = True, at: float | None = None) -> None:
    """The operator sent the ticket (or un-ticks it): the time is remembered."""
    journal.set_document_item(TICKET_DOCUMENT, "sent_at", (at or time.time()) if sent else None)


def sent_at(journal: Journal) -> float | None:
    doc = journal.get_document(TICKET_DOCUMENT) or {}
    value = doc.get("sent_at")
    return float(value) if value is not None else None


def waiting_line(journal: Journal, now: float | None = None) -> str:
    """One line for the export step: not sent yet, or sent N days ago (expected wait)."""
    at = sent_at(journal)
    if at is None:
        return "Support ticket not sent yet: copy it, send it, then tick 'sent'."
    days = max(0.0, ((now or time.time()) - at) / 86400)
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(at))
    return (f"Support ticket sent {when} ({days:.0f} day{'s' if round(days) != 1 else ''} ago); expected wait "
            f"{EXPECTED_WAIT}. When the hash file arrives, decrypt it and apply it here.")
