"""The WorkOS environment's users, read page by page, so a dry run decides every user locally.

The dry run asks one question per user: does WorkOS already hold it (by our external id, then by
email)? Asked user by user, that is up to two reads each at the read budget (1,000 per 10 s):
about 50 users/s, 33 minutes for 100,000. Listing the environment costs one read per 100 users
it already holds, a few seconds before an import into a new environment. `read_environment`
lists only while that is the cheaper way and gives up (None: look users up one by one) once it
is not, so a crowded environment costs at most a few percent more than the lookups alone.

Assumed of the list (the SDK's `list_users`): pages of at most 100, a cursor for the next page
or none at the end. A page that repeats a cursor, or an empty page that still has a cursor, is
not trusted: the dry run falls back to the lookups. A user created in WorkOS while the listing
runs may be missed; the dry run is a forecast, and the import itself meets "exists" and resolves
it.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from wizard.clients.workos import RemoteUser

PAGE = 100  # users per list request (the API's maximum)
READS_PER_USER = 2  # a lookup by external id, then by email when that found nothing

FetchPage = Callable[[str | None], Awaitable[tuple[list[RemoteUser], str | None]]]


@dataclass
class EnvironmentUsers:
    """Every user of the environment, keyed as the two lookups find them."""

    by_external_id: dict[str, RemoteUser] = field(default_factory=dict)
    by_email: dict[str, RemoteUser] = field(default_factory=dict)
    count: int = 0

    def add(self, user: RemoteUser) -> None:
        self.count += 1
        kept = _decided_on(user)
        if user.external_id:
            self.by_external_id.setdefault(user.external_id, kept)
        if user.email:
            self.by_email.setdefault(user.email.strip().lower(), kept)

    def find(self, external_id: str | None, email: str | None) -> RemoteUser | None:
        """What `find_user_by_external_id`, then `find_user_by_email`, would have answered (only the
        fields the dry run decides on: see `_decided_on`)."""
        if external_id and (found := self.by_external_id.get(external_id)) is not None:
            return found
        if email:
            return self.by_email.get(email.strip().lower())
        return None


def _decided_on(user: RemoteUser) -> RemoteUser:
    """Of a listed user, what the dry run decides on (its id, its external id, the Auth0 id in its
    metadata): a listed environment of a million users then costs a fraction of the full records."""
    aid = (user.metadata or {}).get("auth0_user_id")
    return RemoteUser(id=user.id, email=None, external_id=user.external_id, email_verified=False,
                      created_at=None, metadata={"auth0_user_id": aid} if aid else None)


def page_budget(users_to_check: int) -> int:
    """The most list requests worth making: as many reads as looking the users up would cost."""
    return max(1, math.ceil(READS_PER_USER * users_to_check / PAGE))


async def read_environment(fetch_page: FetchPage, *, max_pages: int) -> EnvironmentUsers | None:
    """All users, or None when listing would cost more than `max_pages` or the pages are not
    trustworthy (then the caller looks users up one by one)."""
    users = EnvironmentUsers()
    after: str | None = None
    seen: set[str] = set()
    for _ in range(max_pages):
        page, after = await fetch_page(after)
        for user in page:
            users.add(user)
        if after is None:
            return users
        if not page or after in seen:
            return None
        seen.add(after)
    return None
