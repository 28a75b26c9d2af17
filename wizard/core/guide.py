"""The official migration guide the wizard follows, and where the wizard knowingly departs from the seed.

The seed guide (an older copy of the official one) is right about the journey but wrong on a few API
details; api-facts wins there, and the UI shows the list below so nobody is surprised.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from wizard.core import documents
from wizard.core.gates import Check

GUIDE_URL = "https://workos.com/docs/migrate/auth0"
GUIDE_DOCUMENT = documents.GUIDE_ACK.name

# The guide's steps, in the order the wizard walks them.
FOLLOWED = (
    "Read the official guide, then validate the WorkOS prerequisites (.env.local keys, SDK, a live key).",
    "Inventory the Auth0 tenant: users, authentication methods, organizations, MFA.",
    "Export user profiles (and, for password users, the password-hash export from Auth0 support).",
    "Import users into WorkOS: bcrypt hashes for password users, no password for social / SSO users.",
    "Configure each social provider in WorkOS (callback https://api.workos.com/sso/oauth/callback).",
    "Migrate organizations and their memberships.",
    "Handle MFA: TOTP secrets if exported; SMS users must re-enroll (AuthKit has no SMS factor).",
    "Run the verification checklist (all must pass), then the post-migration tasks.",
)


@dataclass(frozen=True, slots=True)
class Difference:
    """One place where the wizard does what api-facts says instead of what the seed guide says."""

    topic: str
    seed_says: str
    wizard_does: str


DIFFERENCES = (
    Difference(
        "Joining password hashes to users",
        "compare the export's Id to _id.$oid",
        "user_id == 'auth0|' + (alt_id if present, else _id.$oid) (Auth0's own rule), and only to "
        "that user in the same connection; binding by email only when you opt in, each row a warning",
    ),
    Difference(
        "A user that already exists",
        "409 user_already_exists, then update the user",
        "400 email_not_available / external_id_already_used (and the older 409) all mean 'exists': "
        "look the user up and update it",
    ),
    Difference(
        "Organization domains",
        "auth0Org.domains",
        "Auth0 organizations have no domains: they come from discovery domains, metadata.domains and "
        "the domain aliases of the organization's enterprise connections",
    ),
    Difference(
        "Memberships",
        "userManagement.createOrganizationMembership",
        "client.organization_membership.create_organization_membership (the API moved)",
    ),
    Difference(
        "Counting users",
        "GET /api/v2/users",
        "that endpoint stops at 1,000 users; the wizard counts the export job's file instead",
    ),
    Difference(
        "Password export",
        "an NDJSON file from Auth0 support",
        "it arrives PGP-encrypted: decrypt it first (gpg --decrypt), then give the wizard the NDJSON",
    ),
    Difference(
        "Webhooks",
        "not mentioned",
        "WorkOS advises disabling webhook endpoints during a bulk import; re-enabling them is a "
        "post-migration task",
    ),
    Difference(
        "Users with the same email",
        "not mentioned",
        "WorkOS emails are unique: duplicate Auth0 users are merged into one WorkOS user by a stated rule",
    ),
)


def acknowledge_guide(journal) -> None:
    """Record that the person opened / read the official guide (step 1's first box)."""
    documents.GUIDE_ACK.write(journal, documents.Acknowledged(url=GUIDE_URL, at=time.time()))


def withdraw_acknowledgement(journal) -> None:
    """The person unticked the box: the guide counts as not read again."""
    documents.GUIDE_ACK.clear(journal)


def is_acknowledged(journal) -> bool:
    return documents.GUIDE_ACK.exists(journal)


def guide_check(journal) -> Check:
    doc = documents.GUIDE_ACK.read(journal)
    if doc:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(doc.at))
        return Check("Official guide read", True, f"acknowledged {when}: {GUIDE_URL}")
    return Check(
        "Official guide read", False, "not acknowledged yet",
        f"Open {GUIDE_URL}, read it, then acknowledge it in the wizard. "
        "Where it differs from this wizard, the wizard lists why.",
    )
