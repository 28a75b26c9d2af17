"""The Auth0 Management API, through auth0-python 6.x: token, paging that always ends, rate limits.

The SDK's own retries are switched off (`max_retries=0`) so that waiting on a 429 is visible
(a `Progress` event with `paused_until`) instead of a silent sleep inside the SDK. Every response's
`x-ratelimit-*` headers are read through an httpx event hook and used to pace the next request.
Results come back as plain dicts (the SDK's pydantic models dumped to JSON types).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from wizard.clients.errors import ApiError, ErrorKind
from wizard.clients.progress import Progress

# What each kind of read needs (Auth0 Management API scope names).
SCOPES: dict[str, str] = {
    "users": "read:users",
    "users_exports": "read:users",  # POST /jobs/users-exports and GET /jobs/{id}
    "connections": "read:connections",
    "connections_options": "read:connections_options",  # enterprise SSO: options are omitted without it
    "organizations": "read:organizations",
    "organization_members": "read:organization_members",
    "organization_member_roles": "read:organization_member_roles",
    "organization_connections": "read:organization_connections",
    "organization_discovery_domains": "read:organization_discovery_domains",
    "guardian_factors": "read:guardian_factors",
    "authentication_methods": "read:authentication_methods",
}
REQUIRED_SCOPES: tuple[str, ...] = tuple(dict.fromkeys(SCOPES.values()))
# What the roles step reads in addition (not required by the other steps, so not in REQUIRED_SCOPES).
RBAC_SCOPES: dict[str, str] = {
    "roles": "read:roles",
    "role_users": "read:users",  # GET /roles/{id}/users needs read:roles and read:users (uncertain)
    "user_roles": "read:roles",
    "organization_member_roles": "read:organization_member_roles",
}

USERS_API_CAP = 1000  # GET /users pages only through the first 1,000 users
MAX_PAGES = 10_000  # hard safety cap on any pager: paging always ends
_SCOPE_RE = re.compile(r"\b((?:read|create|update|delete):[a-z_]+)\b")

WaitCallback = Callable[[Progress], None]


def missing_scope_message(scope: str, what: str) -> str:
    return (
        f"Auth0 refused to {what}: the Management API token lacks the scope `{scope}`. "
        f"In the Auth0 dashboard open Applications > APIs > Auth0 Management API > Machine to Machine "
        f"Applications, expand your application and tick `{scope}`, then run this again."
    )


def bare_domain(domain: str | None) -> str | None:
    """`https://acme.eu.auth0.com/` -> `acme.eu.auth0.com` (people paste the URL)."""
    if not domain:
        return domain
    d = domain.strip()
    if "://" in d:
        d = urlsplit(d).netloc
    return d.rstrip("/")


def _granted_scopes(scope_text: str | None) -> frozenset[str] | None:
    return frozenset(scope_text.split()) if scope_text else None


@dataclass
class RatePacer:
    """Paces requests to what the `x-ratelimit-*` headers say is left, from any number of threads.

    `limit` / `remaining` / `reset_at` come from the latest answer (reset = unix seconds). Each send
    takes one of `remaining`; when none is left every sender waits for `reset_at`, after which the
    budget is whole again (minus requests still in the air, which the server may count in the new
    window). Answers from an older window never raise `remaining`; a newer one replaces it, minus the
    other requests in the air (they may not be counted yet). Before the first answer, one request
    at a time. `max_per_second`, when set, is our own cap on top of the headers.
    """

    max_per_second: float | None = None
    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None
    in_flight: int = 0
    _last: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, headers: httpx.Headers | dict) -> None:
        """One answer's headers (its own request is still counted in the air)."""
        def _int(name: str) -> int | None:
            value = headers.get(name)
            try:
                return int(float(value)) if value is not None else None
            except (TypeError, ValueError):
                return None

        limit, remaining, reset = (_int("x-ratelimit-limit"), _int("x-ratelimit-remaining"),
                                   _int("x-ratelimit-reset"))
        with self._lock:
            others = max(0, self.in_flight - 1)
            if limit is not None:
                self.limit = limit
            if remaining is None:
                return
            if reset is not None and (self.reset_at is None or reset > self.reset_at):
                self.reset_at = float(reset)  # a newer window
                self.remaining = max(0, remaining - others)
            elif reset is None or reset == self.reset_at:
                known = remaining - others
                self.remaining = known if self.remaining is None else max(0, min(self.remaining, known))

    def _roll(self, now: float) -> None:
        if self.reset_at is not None and now >= self.reset_at and self.limit:
            self.remaining = max(0, self.limit - self.in_flight)
            self.reset_at = None  # the next answer says when this window ends

    def _wait(self, now: float) -> float:
        self._roll(now)
        wait = 0.0
        if self.max_per_second:
            wait = max(0.0, self._last + 1.0 / self.max_per_second - now)
        if self.remaining is not None and self.remaining <= 0:
            wait = max(wait, self.reset_at - now if self.reset_at and self.reset_at > now else 0.02)
        elif self.limit is None and self.in_flight:
            wait = max(wait, 0.02)  # no answer yet: learn the limit from the first one
        return wait

    def delay(self, now: float | None = None) -> float:
        """Seconds to wait before the next request (0: send now)."""
        with self._lock:
            return self._wait(time.time() if now is None else now)

    def acquire(self, sleep: Callable[[float], None] = time.sleep) -> None:
        """Wait for room and take it (atomic: threads never overspend the remaining budget)."""
        while True:
            now = time.time()
            with self._lock:
                wait = self._wait(now)
                if wait <= 0:
                    self._last = now
                    self.in_flight += 1
                    if self.remaining is not None:
                        self.remaining -= 1
                    return
            sleep(min(wait, 1.0))

    def release(self) -> None:
        """The request taken by `acquire` is answered (or failed)."""
        with self._lock:
            self.in_flight = max(0, self.in_flight - 1)

    def mark_sent(self) -> None:
        with self._lock:
            self._last = time.time()
            if self.remaining is not None:
                self.remaining -= 1


def retry_after_seconds(headers: dict | httpx.Headers | None, attempt: int) -> float:
    """How long to wait after a 429: Retry-After, else x-ratelimit-reset, else exponential backoff."""
    headers = {k.lower(): v for k, v in dict(headers or {}).items()}
    ra = headers.get("retry-after")
    if ra is not None:
        try:
            return max(0.0, float(ra))
        except ValueError:
            pass
    reset = headers.get("x-ratelimit-reset")
    if reset is not None:
        try:
            return max(0.0, float(reset) - time.time()) + 0.05
        except ValueError:
            pass
    return min(30.0, 0.5 * (2 ** attempt))


def to_api_error(exc: Exception, *, what: str = "call the Management API", scope: str | None = None) -> ApiError:
    """Map an auth0-python exception to our ApiError (service="auth0"), naming a missing scope."""
    if isinstance(exc, ApiError):
        return exc
    status = getattr(exc, "status_code", None)
    headers = getattr(exc, "headers", None) or {}
    body = getattr(exc, "body", None)
    if body is None and hasattr(exc, "content"):  # auth0.authentication.Auth0Error
        body = exc.content
    code = None
    message = ""
    if isinstance(body, dict):
        code = body.get("errorCode") or body.get("error")
        message = str(body.get("message") or body.get("error_description") or body.get("error") or "")
    elif body:
        message = str(body)[:300]
    if not message and hasattr(exc, "message"):
        message = str(exc.message)
    if not code and getattr(exc, "error_code", None):
        code = exc.error_code
    request_id = None
    if isinstance(headers, dict):
        lower = {str(k).lower(): v for k, v in headers.items()}
        request_id = lower.get("x-request-id") or lower.get("x-auth0-requestid")
    if status is None:
        if isinstance(exc, (httpx.TimeoutException, httpx.TransportError, ConnectionError, OSError)):
            return ApiError(ErrorKind.TRANSIENT, f"could not reach Auth0 to {what}: {type(exc).__name__}",
                            service="auth0")
        return ApiError(ErrorKind.OTHER, f"{what} failed: {type(exc).__name__}", service="auth0")
    if status == 429:
        return ApiError(ErrorKind.RATE_LIMITED, f"Auth0 rate limit reached while trying to {what}",
                        status=429, code=code or "too_many_requests", request_id=request_id,
                        retry_after=retry_after_seconds(headers, 1), service="auth0")
    if status == 403 and (code == "insufficient_scope" or "scope" in message.lower()):
        named = _SCOPE_RE.findall(message)
        missing = named[0] if named else (scope or "unknown")
        return ApiError(ErrorKind.AUTH, missing_scope_message(missing, what), status=403,
                        code="insufficient_scope", request_id=request_id, service="auth0")
    if status in (401, 403):
        hint = ("check AUTH0_CLIENT_ID / AUTH0_CLIENT_SECRET and that the application is authorized "
                "for the Auth0 Management API")
        return ApiError(ErrorKind.AUTH, f"Auth0 refused to {what} ({message or 'unauthorized'}); {hint}",
                        status=status, code=code, request_id=request_id, service="auth0")
    if status == 404:
        return ApiError(ErrorKind.NOT_FOUND, f"not found while trying to {what}: {message}", status=404,
                        code=code, request_id=request_id, service="auth0")
    if status >= 500:
        return ApiError(ErrorKind.TRANSIENT, f"Auth0 server error while trying to {what}: {message}",
                        status=status, code=code, request_id=request_id, service="auth0")
    if status == 409:
        return ApiError(ErrorKind.EXISTS, message or "conflict", status=status, code=code,
                        request_id=request_id, service="auth0")
    return ApiError(ErrorKind.INVALID, f"Auth0 rejected the request to {what}: {message}", status=status,
                    code=code, request_id=request_id, service="auth0")


def _dump(model: Any) -> dict:
    if model is None:
        return {}
    if isinstance(model, dict):
        return model
    return model.model_dump(mode="json", exclude_none=True, by_alias=True)


def _dump_all(pages: Iterable[list]) -> list[dict]:
    """Every item of every page, as plain dicts."""
    return [_dump(item) for batch in pages for item in batch]


# ------------------------------------------------------------------ enterprise SSO (issue 13)
# Strategies whose users sign in through a company's IdP (api-facts-b2b §1.2; `ad`/`auth0-adldap`
# are LDAP through the AD connector: inventoried, never created).
ENTERPRISE_STRATEGIES = ("samlp", "oidc", "waad", "adfs", "okta", "google-apps", "pingfederate", "ad",
                         "auth0-adldap")
OPTIONS_SCOPE = "read:connections_options"


def options_withheld_error(detail: str) -> ApiError:
    """Auth0 withheld connection `options`: the scope is named, with where to grant it."""
    return ApiError(ErrorKind.AUTH, missing_scope_message(OPTIONS_SCOPE, "read the enterprise connections' "
                                                          "options") + f" ({detail})",
                    status=403, code="missing_connections_options_scope", service="auth0")


class _TokenSource:
    """Client-credentials token, fetched lazily and refreshed a minute before it expires."""

    def __init__(self, fetch: Callable[[], dict]) -> None:
        self._fetch = fetch
        self._token: str | None = None
        self._expires_at = 0.0
        self.scopes: frozenset[str] | None = None
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or time.time() > self._expires_at - 60:
                data = self._fetch()
                self._token = data["access_token"]
                self._expires_at = time.time() + float(data.get("expires_in") or 86400)
                self.scopes = _granted_scopes(data.get("scope"))
            return self._token


class Auth0Client:
    """A small, paced, always-terminating facade over `auth0.management.Auth0`."""

    def __init__(self, management: Any, *, pacer: RatePacer | None = None, token: _TokenSource | None = None,
                 on_wait: WaitCallback | None = None, max_attempts: int = 6, page_size: int = 100,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.api = management
        self.pacer = pacer or RatePacer()
        self._token = token
        self.on_wait = on_wait
        self.max_attempts = max_attempts
        self.page_size = page_size
        self._sleep = sleep
        self.requests = 0
        self.waits = 0  # how many times we paused for a 429
        self._http: httpx.Client | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_settings(cls, settings, *, on_wait: WaitCallback | None = None, max_per_second: float | None = None,
                      timeout: float = 30.0, respect_headers: bool = True, **kwargs) -> Auth0Client:
        """Token by client credentials, then the Management API at `$AUTH0_BASE_URL/api/v2` when set,
        else `https://{AUTH0_DOMAIN}/api/v2`."""
        from auth0.authentication import GetToken
        from auth0.management import Auth0

        if not settings.has_auth0_credentials:
            raise ApiError(ErrorKind.AUTH, "Auth0 credentials are not configured: set AUTH0_DOMAIN, "
                           "AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (in .env.local or the environment).",
                           service="auth0")
        if settings.auth0_base_url:
            parts = urlsplit(settings.auth0_base_url)
            token_domain, protocol = parts.netloc, parts.scheme or "https"
            api_url = f"{settings.auth0_base_url.rstrip('/')}/api/v2"
        else:
            token_domain, protocol = bare_domain(settings.auth0_domain), "https"
            api_url = f"https://{token_domain}/api/v2"
        audience = f"https://{bare_domain(settings.auth0_domain) or token_domain}/api/v2/"
        getter = GetToken(token_domain, settings.auth0_client_id, client_secret=settings.auth0_client_secret,
                          protocol=protocol, timeout=timeout)

        def fetch() -> dict:
            try:
                return getter.client_credentials(audience)
            except Exception as exc:  # auth0.authentication.exceptions.Auth0Error, requests errors
                raise to_api_error(exc, what="issue a Management API token (client credentials)") from None

        token = _TokenSource(fetch)
        pacer = RatePacer(max_per_second=max_per_second)
        hooks = {"response": [lambda r: pacer.observe(r.headers)]} if respect_headers else {}
        http = httpx.Client(timeout=timeout, follow_redirects=True, event_hooks=hooks)
        api = Auth0(base_url=api_url, token=token, max_retries=0, httpx_client=http, timeout=timeout)
        client = cls(api, pacer=pacer, token=token, on_wait=on_wait, **kwargs)
        client._http = http
        return client

    def close(self) -> None:
        """Close the HTTP connections (the client is unusable afterwards)."""
        if self._http is not None:
            self._http.close()

    def __enter__(self) -> Auth0Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ scopes
    @property
    def granted_scopes(self) -> frozenset[str] | None:
        """Scopes in the token (None when the token did not list them or none was fetched yet)."""
        return self._token.scopes if self._token else None

    def check_token(self) -> list[str]:
        """Fetch the token now and return the required scopes it lacks (empty when all present or
        when the token does not list its scopes)."""
        if self._token is None:
            return []
        self._token()
        granted = self.granted_scopes
        return [] if granted is None else [s for s in REQUIRED_SCOPES if s not in granted]

    def has_scope(self, scope: str) -> bool | None:
        granted = self.granted_scopes
        return None if granted is None else scope in granted

    # ------------------------------------------------------------------ one call
    def call(self, kind: str, what: str, fn: Callable[..., Any], *args, **kwargs) -> Any:
        """One Management API call: paced, 429 waited out visibly, 5xx retried, errors mapped."""
        scope = SCOPES.get(kind) or RBAC_SCOPES.get(kind)
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            self.pacer.acquire(self._sleep)
            self.requests += 1
            try:
                try:
                    return fn(*args, **kwargs)
                finally:
                    self.pacer.release()
            except Exception as exc:
                err = to_api_error(exc, what=what, scope=scope)
                if err.status == 401 and self._token is not None and not refreshed:
                    self._token.invalidate()  # an expired or revoked token: fetch a new one, once
                    refreshed = True
                    continue
                if not err.retryable or attempt >= self.max_attempts:
                    raise err from None
                delay = (retry_after_seconds(getattr(exc, "headers", None), attempt)
                         if err.kind is ErrorKind.RATE_LIMITED else min(30.0, 0.5 * 2 ** attempt))
                self.waits += 1
                if self.on_wait:
                    self.on_wait(Progress(operation="auth0-wait", total=None, paused_until=time.time() + delay,
                                          pause_cause=err.wait_cause,
                                          latest_error=f"{err.message}; waiting {delay:.1f} s "
                                                       f"(attempt {attempt}/{self.max_attempts})"))
                self._sleep(delay)

    # ------------------------------------------------------------------ pagers
    def offset_pages(self, kind: str, what: str, fn: Callable[..., Any], items: Callable[[Any], list | None],
                     *, per_page: int | None = None, max_items: int | None = None, **kwargs) -> Iterator[list]:
        """page/per_page pagers: stop on an empty or short page, at `total`, at `max_items`, or the cap."""
        per_page = per_page or self.page_size
        seen = 0
        previous: list | None = None
        for page in range(MAX_PAGES):
            pager = self.call(kind, what, fn, page=page, per_page=per_page, **kwargs)
            batch = list(items(pager.response) or [])
            if not batch or batch == previous:  # empty, or a server that ignores `page`
                return
            previous = batch
            yield batch
            seen += len(batch)
            total = getattr(pager.response, "total", None)
            if len(batch) < per_page or (total is not None and seen >= total) or (
                    max_items is not None and seen >= max_items):
                return

    def checkpoint_pages(self, kind: str, what: str, fn: Callable[..., Any], items: Callable[[Any], list | None],
                         *, take: int | None = None, **kwargs) -> Iterator[list]:
        """from/take pagers: stop when `next` is absent (or repeats), on an empty page, or at the cap."""
        cursor: str | None = None
        seen_cursors: set[str] = set()
        previous: list | None = None
        for _ in range(MAX_PAGES):
            pager = self.call(kind, what, fn, from_=cursor, take=take or self.page_size, **kwargs)
            batch = list(items(pager.response) or [])
            if not batch or batch == previous:
                return
            previous = batch
            yield batch
            nxt = getattr(pager.response, "next", None)
            if not nxt or nxt in seen_cursors:
                return
            seen_cursors.add(nxt)
            cursor = nxt

    # ------------------------------------------------------------------ reads
    def count_users(self) -> tuple[int | None, bool]:
        """(total, capped): `GET /users` reports a total capped near 1,000; `capped` says so."""
        pager = self.call("users", "count users", self.api.users.list, page=0, per_page=1,
                          fields="user_id", include_fields=True)
        total = getattr(pager.response, "total", None)
        total = int(total) if total is not None else None
        return total, bool(total is not None and total >= USERS_API_CAP)

    def iter_users(self, fields: str | None = None) -> Iterator[dict]:
        """The first 1,000 users (the API's own limit); use the export job for more."""
        kw = {"fields": fields, "include_fields": True} if fields else {}
        for batch in self.offset_pages("users", "list users", self.api.users.list, lambda r: r.users,
                                       max_items=USERS_API_CAP, **kw):
            yield from (_dump(u) for u in batch)

    def list_connections(self) -> list[dict]:
        return _dump_all(self.checkpoint_pages("connections", "list connections", self.api.connections.list,
                                               lambda r: r.connections))

    def get_connection(self, connection_id: str) -> dict:
        resp = self.call("connections", "read a connection", self.api.connections.get, connection_id)
        return _dump(resp)

    def list_organizations(self) -> list[dict]:
        return _dump_all(self.checkpoint_pages("organizations", "list organizations", self.api.organizations.list,
                                               lambda r: r.organizations))

    def list_members(self, org_id: str, *, with_roles: bool = False) -> list[dict]:
        """Members of one organization; `with_roles` asks for `fields=...,roles` (needs
        read:organization_member_roles)."""
        kind = "organization_member_roles" if with_roles else "organization_members"
        kw = {"fields": "user_id,email,name,picture,roles", "include_fields": True} if with_roles else {}
        return _dump_all(self.checkpoint_pages(kind, "list organization members",
                                               self.api.organizations.members.list, lambda r: r.members,
                                               id=org_id, **kw))

    def list_discovery_domains(self, org_id: str) -> list[dict]:
        return _dump_all(self.checkpoint_pages("organization_discovery_domains", "list organization discovery domains",
                                               self.api.organizations.discovery_domains.list, lambda r: r.domains,
                                               id=org_id))

    def list_org_connections(self, org_id: str) -> list[dict]:
        return _dump_all(self.offset_pages("organization_connections", "list organization connections",
                                           self.api.organizations.enabled_connections.list,
                                           lambda r: r.enabled_connections, id=org_id))

    def list_guardian_factors(self) -> list[dict]:
        resp = self.call("guardian_factors", "list MFA factors", self.api.guardian.factors.list)
        return [_dump(f) for f in resp]

    def list_authentication_methods(self, user_id: str) -> list[dict]:
        return _dump_all(self.offset_pages("authentication_methods", "read a user's authentication methods",
                                           self.api.users.authentication_methods.list, lambda r: r.authenticators,
                                           id=user_id))

    def create_users_export(self, fields: list[str], *, format: str = "json",
                            connection_id: str | None = None) -> dict:
        from auth0.management.types import CreateExportUsersFields

        kw: dict[str, Any] = {"format": format, "fields": [CreateExportUsersFields(name=f) for f in fields]}
        if connection_id:
            kw["connection_id"] = connection_id
        return _dump(self.call("users_exports", "create a users export job", self.api.jobs.users_exports.create,
                               **kw))

    def get_job(self, job_id: str) -> dict:
        return _dump(self.call("users_exports", "read the export job", self.api.jobs.get, job_id))

    # ------------------------------------------------------------------ RBAC (roles step)
    def list_roles(self) -> list[dict]:
        """Tenant roles `{id, name, description}` (GET /roles, offset pages; read:roles)."""
        return _dump_all(self.offset_pages("roles", "list roles", self.api.roles.list, lambda r: r.roles))

    def list_role_permissions(self, role_id: str) -> list[dict]:
        """`{resource_server_identifier, permission_name, resource_server_name, description}` per
        permission of one role (GET /roles/{id}/permissions; read:roles)."""
        return _dump_all(self.offset_pages("roles", "list a role's permissions", self.api.roles.permissions.list,
                                           lambda r: r.permissions, id=role_id))

    def list_role_users(self, role_id: str) -> list[dict]:
        """Users holding the role tenant-wide, directly (GET /roles/{id}/users; read:roles, read:users)."""
        return _dump_all(self.checkpoint_pages("role_users", "list a role's users", self.api.roles.users.list,
                                               lambda r: r.users, id=role_id))

    def list_user_roles(self, user_id: str) -> list[dict]:
        """A user's tenant-level roles, outside any organization (GET /users/{id}/roles)."""
        return _dump_all(self.offset_pages("user_roles", "list a user's roles", self.api.users.roles.list,
                                           lambda r: r.roles, id=user_id))

    def list_member_roles(self, org_id: str, user_id: str) -> list[dict]:
        """One organization member's roles (GET /organizations/{id}/members/{user_id}/roles;
        read:organization_member_roles)."""
        return _dump_all(self.offset_pages("organization_member_roles", "list an organization member's roles",
                                           self.api.organizations.members.roles.list, lambda r: r.roles,
                                           id=org_id, user_id=user_id))
    # ------------------------------------------------------------------ enterprise SSO (issue 13)
    def list_enterprise_connections(self) -> list[dict]:
        """Every enterprise connection with its `options` (strategy filter, checkpoint paging).

        Without `read:connections_options` Auth0 either refuses (403) or silently drops `options`
        (the usual answer, api-facts-b2b §1.1): both raise the same AUTH error naming the scope."""
        try:
            items = _dump_all(self.checkpoint_pages("connections_options", "list the enterprise connections",
                                                    self.api.connections.list, lambda r: r.connections,
                                                    strategy=list(ENTERPRISE_STRATEGIES)))
        except ApiError as exc:
            if exc.kind is ErrorKind.AUTH and exc.status == 403 and OPTIONS_SCOPE in exc.message:
                raise options_withheld_error("Auth0 answered 403") from None
            raise
        if items and all("options" not in c for c in items):
            raise options_withheld_error("Auth0 answered without any connection's `options`")
        return items

