"""A finding: one problem in the input, pinned to file, line and field, so nothing is dropped silently."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum


class Severity(str, Enum):
    """`error` blocks the user it names (or the gate, when it names no user); `warning` informs."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Finding:
    file: str
    line: int | None  # 1-based line number in the (decompressed) file; None for file-level findings
    field: str | None
    severity: Severity
    code: str  # stable machine code, e.g. "invalid_json", "duplicate_email", "hash_truncated"
    message: str  # plain words for a person; never a password hash or a full user object
    auth0_user_id: str | None = None

    def as_dict(self) -> dict:
        d = asdict(self)
        d["severity"] = self.severity.value
        return d

    def where(self) -> str:
        """`users.ndjson:12 email` — the place a person should look."""
        place = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{place} {self.field}" if self.field else place


# Codes written outside the input checks (kept here so every writer and reader spells them alike)
ORG_MEMBER_NOT_IN_AUTH0 = "org_member_not_in_auth0"  # verification: a WorkOS org member Auth0 does not list
