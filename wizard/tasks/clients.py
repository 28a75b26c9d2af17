"""Building the SDK clients from the settings: the one place a task opens (and closes) a client.

Front ends never build a client; tasks use these context managers, so every client opened is
closed when the job ends, error or not. The Auth0 scope check returns its warning as data
(`Auth0Session.missing_scopes`): the front end decides how to show it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from wizard.clients.auth0 import Auth0Client, WaitCallback
from wizard.clients.errors import ApiError
from wizard.clients.settings import Settings
from wizard.clients.workos import make_client, make_sync_client
from wizard.core.journal import Journal
from wizard.core.pacing import Pacer, client_base_url, save_window, shared_pacer

DEFAULT_AUTH0_RATE: float | None = None  # None: as fast as Auth0's x-ratelimit headers allow


@contextlib.asynccontextmanager
async def workos_async(settings: Settings, *, max_retries: int = 0) -> AsyncIterator:
    """The async WorkOS client (the importer, rollback); SDK retries off: the engine retries itself."""
    client = make_client(settings, max_retries=max_retries)
    try:
        yield client
    finally:
        await client.close()


@contextlib.asynccontextmanager
async def paced_workos(journal: Journal, settings: Settings, *, max_retries: int = 0,
                       give_up_after: float | None = None) -> AsyncIterator[tuple[Any, Pacer]]:
    """`workos_async` with the run's one pacer (`shared_pacer`: every step's requests to this
    environment share its window); when the job ends the trailing window is kept in the journal,
    so the run's next process does not burst into it. `give_up_after`: how long a total outage
    may last before the job stops (None: keep the pacer's)."""
    async with workos_async(settings, max_retries=max_retries) as client:
        pacer = shared_pacer(client_base_url(client), journal)
        pacer.set_give_up_after(give_up_after)
        try:
            yield client, pacer
        finally:
            save_window(journal, pacer)


@contextlib.contextmanager
def workos_sync(settings: Settings, *, max_retries: int = 0) -> Iterator:
    """The synchronous WorkOS client (organizations, TOTP, verification, the key check)."""
    with make_sync_client(settings, max_retries=max_retries) as client:
        yield client


class ClientSetupError(Exception):
    """The client could not be set up (the Auth0 credentials were refused when the token was fetched):
    a configuration problem, told apart from a failure of the job itself."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class Auth0Session:
    """An open Management API client and the scopes its token lacks (empty when unknown or none)."""

    client: Auth0Client
    missing_scopes: list[str] = field(default_factory=list)

    @property
    def scope_warning(self) -> str | None:
        """The sentence a front end shows when scopes are missing, or None."""
        if not self.missing_scopes:
            return None
        return ("the Auth0 token lacks these scopes (the steps that need them will say so): "
                + ", ".join(self.missing_scopes))


@contextlib.contextmanager
def auth0_management(settings: Settings, *, on_wait: WaitCallback | None = None,
                     max_per_second: float | None = DEFAULT_AUTH0_RATE, check_scopes: bool = False,
                     on_scope_warning: Callable[[str], None] | None = None) -> Iterator[Auth0Session]:
    """The Auth0 Management API client. `check_scopes`: fetch the token now (raises
    `ClientSetupError` when the credentials are refused) and report the missing scopes, in the
    session and, before any work starts, to `on_scope_warning`."""
    client = Auth0Client.from_settings(settings, on_wait=on_wait, max_per_second=max_per_second)
    try:
        try:
            missing = client.check_token() if check_scopes else []
        except ApiError as exc:
            raise ClientSetupError(exc) from None
        session = Auth0Session(client, list(missing))
        if session.scope_warning and on_scope_warning is not None:
            on_scope_warning(session.scope_warning)
        yield session
    finally:
        client.close()


@contextlib.contextmanager
def optional_auth0(settings: Settings, *, use_api: bool = True, on_wait: WaitCallback | None = None,
                   max_per_second: float | None = DEFAULT_AUTH0_RATE, check_scopes: bool = False,
                   on_scope_warning: Callable[[str], None] | None = None) -> Iterator[Auth0Session | None]:
    """`auth0_management` when credentials are set (and `use_api`), else None."""
    if not (use_api and settings.has_auth0_credentials):
        yield None
        return
    with auth0_management(settings, on_wait=on_wait, max_per_second=max_per_second, check_scopes=check_scopes,
                          on_scope_warning=on_scope_warning) as session:
        yield session
