"""Normalized records read from Auth0 exports; both key schemes end up in these shapes."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Identity:
    connection: str
    provider: str  # "auth0" (database), "google-oauth2", "github", "windowslive", "samlp", "waad", ...
    user_id: str
    is_social: bool


@dataclass(slots=True)
class Auth0User:
    """One line of the users export, normalized. `line` is 1-based in the decompressed file."""

    line: int
    user_id: str
    email: str | None
    email_verified: bool | None
    given_name: str | None = None
    family_name: str | None = None
    name: str | None = None
    nickname: str | None = None
    username: str | None = None
    phone_number: str | None = None
    connection: str | None = None
    identities: tuple[Identity, ...] = ()
    blocked: bool = False
    multifactor: tuple[str, ...] = ()
    app_metadata: dict | None = None
    user_metadata: dict | None = None
    created_at: str | None = None
    last_login: str | None = None

    @property
    def is_database_user(self) -> bool:
        """Has a password-capable identity: provider auth0 and not social (api-facts 1.1)."""
        if not self.identities:
            return self.user_id.startswith("auth0|")
        return any(i.provider == "auth0" and not i.is_social for i in self.identities)


@dataclass(frozen=True, slots=True)
class PasswordRow:
    """One line of the password-hash export. The hash itself is never stored beyond this object."""

    line: int
    offset: int  # byte offset of the line in the decompressed file: how the hash is re-read later
    oid: str | None  # _id.$oid or _ID.$oid (no auth0| prefix)
    alt_id: str | None
    email: str | None
    email_verified: bool | None
    connection: str | None
    password_hash: str | None = field(repr=False, default=None)

    @property
    def joined_user_id(self) -> str | None:
        """Auth0's own rule: auth0| + (alt_id if present, else _id.$oid)."""
        key = self.alt_id or self.oid
        return f"auth0|{key}" if key else None


class Branch:
    """The seed's decision tree, one branch per planned WorkOS user."""

    PASSWORD = "password"  # database user with an importable hash (wizard.core.hashes): sent as-is
    RESET = "reset"  # database user without a usable hash: import, then Magic Auth / password reset
    SOCIAL = "social"  # social identities only: import without password, auto-links by email
    SSO = "sso"  # enterprise connection only: import without password, sign in through SSO
    BLOCKED = "blocked"  # blocked in Auth0: not imported by default (stated in the plan and report)
    INVALID = "invalid"  # cannot be imported (reason in `reason`)

    ALL = (PASSWORD, RESET, SOCIAL, SSO, BLOCKED, INVALID)
    IMPORTABLE = (PASSWORD, RESET, SOCIAL, SSO)


class UserStatus:
    """A planned user's life in the engine (design.md)."""

    PLANNED = "planned"
    IN_FLIGHT = "in_flight"
    CREATED = "created"
    UPDATED = "updated"
    FAILED = "failed"  # permanent failure for this run (retryable ones go back to planned)
    SKIPPED = "skipped"  # not importable (blocked / invalid) — never sent

    ALL = (PLANNED, IN_FLIGHT, CREATED, UPDATED, FAILED, SKIPPED)
    DONE = (CREATED, UPDATED)


@dataclass(slots=True)
class PlannedUser:
    """One WorkOS user to be (or not be) created: a duplicate-email group collapses into one of these.

    `request` is the exact create-user body *without* the password hash; `hash_ref` is the byte offset
    of the hash's line in the password export, re-read at send time (hashes never enter the journal).
    """

    auth0_user_id: str  # the primary Auth0 id: sent as external_id
    group_key: str  # normalized email (or the user id when there is no email)
    email: str | None
    branch: str
    request: dict
    auth0_ids: tuple[str, ...] = ()  # every Auth0 id merged into this WorkOS user (primary first)
    hash_ref: int | None = None
    hash_line: int | None = None
    email_verified: bool | None = None
    reason: str = ""  # why blocked / invalid / how merged
    source_line: int | None = None
