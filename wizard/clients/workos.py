"""The WorkOS SDK, built from our Settings, with its failures mapped to `ApiError` and a few user helpers.

The engine owns pacing and retries, so clients are built with the SDK's own retries off
(`max_retries=0`): a retried create hidden inside the SDK could land twice and would hide progress.
Error messages never carry a request body (it may hold a password hash).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import httpx
import httpx2
from workos import (
    AsyncWorkOSClient,
    HTTPResponse,
    TransportConnectError,
    TransportError,
    TransportTimeout,
    WorkOSClient,
)
from workos._errors import (
    APIError,
    ConfigurationError,
    RateLimitExceededError,
    WorkOSConnectionError,
    WorkOSError,
    WorkOSTimeoutError,
)
from workos.common import CreateUserPasswordHashType
from workos.user_management import PasswordHashed

from wizard.clients.errors import ApiError, ErrorKind
from wizard.clients.settings import Settings

# Codes WorkOS uses for "this user is already there" (api-facts §2; the last one is the legacy 409).
EXISTS_CODES = frozenset({"email_not_available", "external_id_already_used", "user_already_exists"})
# Any `*_already_exists` code (e.g. organization_membership_already_exists) also means "it is there".
EXISTS_SUFFIX = "_already_exists"
# The SDK's text when a 2xx answer lacks a key its model requires (workos._types._raise_deserialize_error).
_UNREADABLE_PREFIX = "Unexpected API response while parsing"
# Fields of a planned create request that the SDK's create_user accepts (anything else is ignored).
CREATE_FIELDS = ("email", "first_name", "last_name", "name", "email_verified", "metadata", "external_id")
_MESSAGE_LIMIT = 300
# the password_hash_type values the SDK (and the OpenAPI enum) accept
SDK_HASH_TYPES = frozenset(t.value for t in CreateUserPasswordHashType)


def _require_key(settings: Settings) -> str:
    if not settings.workos_api_key:
        raise ApiError(ErrorKind.AUTH, "WORKOS_API_KEY is not set (environment or .env.local).")
    return settings.workos_api_key


# Connections the async client may hold open: the engine sends a write window's whole burst
# (500) at once, which httpx's default pool of 100 would queue in five round trips. One pool that
# large costs O(connections) per request inside httpcore, so they are split into small pools.
POOL_CONNECTIONS = 600
_SHARD_CONNECTIONS = 10


class _ShardedBackend:
    """A `workos.AsyncHTTPBackend` over several small httpx2 pools; each request goes to the least
    busy one (the SDK's own backend does the same over one pool)."""

    def __init__(self, connections: int, timeout: float) -> None:
        shards = max(1, -(-connections // _SHARD_CONNECTIONS))
        per = max(1, -(-connections // shards))
        limits = httpx2.Limits(max_connections=per, max_keepalive_connections=per)
        tls = httpx2.create_ssl_context()  # one certificate store for every pool (loading it costs ~50 ms)
        self._pools = [httpx2.AsyncClient(timeout=timeout, follow_redirects=True, limits=limits, verify=tls)
                       for _ in range(shards)]
        self._active = [0] * shards

    async def request(self, method: str, url: str, *, headers: dict[str, str], content: bytes | None,
                      timeout: float) -> HTTPResponse:
        i = min(range(len(self._pools)), key=self._active.__getitem__)
        self._active[i] += 1
        try:
            response = await self._pools[i].request(method, url, params=urlsplit(url).query or None,
                                                    headers=headers, content=content, timeout=timeout)
        except httpx2.TimeoutException as exc:
            raise TransportTimeout(str(exc)) from exc
        except httpx2.ConnectError as exc:
            raise TransportConnectError(str(exc)) from exc
        except httpx2.HTTPError as exc:
            raise TransportError(str(exc)) from exc
        finally:
            self._active[i] -= 1
        return HTTPResponse(status_code=response.status_code, headers=response.headers,
                            content=response.content, request_method=method, request_url=str(response.request.url))

    async def close(self) -> None:
        for pool in self._pools:
            await pool.aclose()


class _PooledAsyncWorkOSClient(AsyncWorkOSClient):
    """The async SDK client over our own connection pools (closed with the client)."""

    def __init__(self, *, backend: _ShardedBackend, **kwargs: Any) -> None:
        super().__init__(http_client=backend, **kwargs)
        self._pooled_backend = backend

    async def close(self) -> None:
        await super().close()
        await self._pooled_backend.close()


def make_client(settings: Settings, *, max_retries: int = 0, timeout: float = 30.0,
                max_connections: int = POOL_CONNECTIONS) -> AsyncWorkOSClient:
    """An async client for the engine: SDK retries off by default, our base URL and timeout, and
    connections enough for the bursts the pacer allows."""
    api_key = _require_key(settings)
    return _PooledAsyncWorkOSClient(
        backend=_ShardedBackend(max_connections, timeout),
        api_key=api_key,
        client_id=settings.workos_client_id,
        base_url=settings.workos_base_url,
        request_timeout=timeout,  # type: ignore[arg-type]  # the SDK passes it straight to httpx
        max_retries=max_retries,
    )


def make_sync_client(settings: Settings, *, max_retries: int = 0, timeout: float = 30.0) -> WorkOSClient:
    """A blocking client for small one-off calls (checks, verification)."""
    return WorkOSClient(
        api_key=_require_key(settings),
        client_id=settings.workos_client_id,
        base_url=settings.workos_base_url,
        request_timeout=timeout,  # type: ignore[arg-type]
        max_retries=max_retries,
    )


# --------------------------------------------------------------------------- error mapping
def _error_codes(exc: APIError) -> list[str]:
    codes = [exc.code] if exc.code else []
    errors = exc.errors
    if isinstance(errors, list):
        for item in errors:
            if isinstance(item, dict) and isinstance(item.get("code"), str):
                codes.append(item["code"])
    return codes


def _is_exists_code(code: str) -> bool:
    return code in EXISTS_CODES or code.endswith(EXISTS_SUFFIX)


def _non_json_summary(raw: str | None) -> str | None:
    """A short, readable line for an answer that is not JSON (a proxy's HTML page, plain text)."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    title = re.search(r"<title[^>]*>(.*?)</title>", raw, re.IGNORECASE | re.DOTALL)
    text = title.group(1) if title else re.sub(r"<[^>]+>", " ", raw)
    text = " ".join(text.split())[:120]
    return f"the answer was not JSON ({text})" if text else "the answer was not JSON"


def _plain_message(exc: APIError) -> str:
    """The server's own summary plus the field errors' messages; never the request body."""
    parts: list[str] = []
    if not isinstance(exc.response_json, dict):
        summary = _non_json_summary(exc.raw_body if exc.raw_body is not None else exc.message)
        return (summary or "the answer had an empty body")[:_MESSAGE_LIMIT]
    body = exc.response_json if isinstance(exc.response_json, dict) else None
    msg = body.get("message") if body else None
    if isinstance(msg, str) and msg:
        parts.append(msg)
    elif isinstance(exc.error_description, str) and exc.error_description:
        parts.append(exc.error_description)
    elif isinstance(exc.error, str) and exc.error:
        parts.append(exc.error)
    if isinstance(exc.errors, list):
        for item in exc.errors[:3]:
            if isinstance(item, dict):
                text = item.get("message") or item.get("code")
                if isinstance(text, str) and text and text not in parts:
                    parts.append(text)
    text = "; ".join(parts) or f"HTTP {exc.status_code}"
    return text[:_MESSAGE_LIMIT]


def _retry_after(exc: APIError) -> float | None:
    """Retry-After as seconds: the SDK reads integers and HTTP-dates; a decimal ("1.5") it drops,
    so the header is read again here. None when absent or unreadable (callers back off)."""
    value = getattr(exc, "retry_after", None)
    if isinstance(value, (int, float)):
        return max(0.0, float(value))
    headers = getattr(exc.response, "headers", None)
    raw = headers.get("Retry-After") if headers is not None else None
    if not raw:
        return None
    try:
        seconds = float(raw.strip())
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(raw.strip())
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
    return max(0.0, seconds) if seconds == seconds and seconds != float("inf") else None


def to_api_error(exc: BaseException) -> ApiError:
    """Map any SDK / transport failure to our `ApiError` with the kind the engine acts on."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, APIError):
        status = exc.status_code
        codes = _error_codes(exc)
        first_code = next((c for c in codes if _is_exists_code(c)), codes[0] if codes else None)
        request_id = exc.request_id or None
        message = _plain_message(exc)
        if isinstance(exc, RateLimitExceededError) or status == 429:
            kind = ErrorKind.RATE_LIMITED
        elif any(_is_exists_code(c) for c in codes) or status == 409:
            kind = ErrorKind.EXISTS
        elif status in (401, 403):
            kind = ErrorKind.AUTH
        elif status == 404:
            kind = ErrorKind.NOT_FOUND
        elif status is not None and (status >= 500 or status == 408):
            kind = ErrorKind.TRANSIENT
        elif status is not None and 400 <= status < 500:
            kind = ErrorKind.INVALID
        else:
            kind = ErrorKind.OTHER
        waits = kind in (ErrorKind.RATE_LIMITED, ErrorKind.TRANSIENT)  # 429, and 503 + Retry-After
        return ApiError(kind, message, status=status, code=first_code, request_id=request_id,
                        retry_after=_retry_after(exc) if waits else None)
    if isinstance(exc, WorkOSTimeoutError):
        return ApiError(ErrorKind.TRANSIENT, "the request timed out", code="timeout")
    if isinstance(exc, WorkOSConnectionError):
        return ApiError(ErrorKind.TRANSIENT, "could not connect to WorkOS", code="connection_failed")
    if isinstance(exc, ConfigurationError):
        return ApiError(ErrorKind.AUTH, str(exc)[:_MESSAGE_LIMIT], code="configuration")
    if isinstance(exc, (httpx.TimeoutException, httpx2.TimeoutException, asyncio.TimeoutError, TimeoutError)):
        return ApiError(ErrorKind.TRANSIENT, "the request timed out", code="timeout")
    if isinstance(exc, (httpx.TransportError, httpx2.TransportError, ConnectionError)):
        return ApiError(ErrorKind.TRANSIENT, f"network error: {type(exc).__name__}", code="network_error")
    if isinstance(exc, WorkOSError) and str(exc).startswith(_UNREADABLE_PREFIX):
        # A 2xx answer that lacks a key the SDK's model requires: the server is not the documented
        # contract (or a newer one); retrying cannot help and the request may have been applied.
        detail = str(exc)[len(_UNREADABLE_PREFIX):].strip(" :")[:120]
        return ApiError(ErrorKind.OTHER,
                        f"WorkOS answered, but the workos SDK could not read the answer ({detail}: a "
                        "field the SDK requires is missing); the request may have been applied",
                        code="unreadable_response")
    if isinstance(exc, WorkOSError):
        # "Network error: ..." (a dropped connection) or "Max retries exceeded": both transport-level.
        return ApiError(ErrorKind.TRANSIENT, "the connection was dropped before an answer arrived",
                        code="network_error")
    return ApiError(ErrorKind.OTHER, f"unexpected {type(exc).__name__}", code="unexpected")


def describe_error(exc: BaseException) -> str:
    """One readable line for any SDK / transport failure (for checks and reports)."""
    return str(to_api_error(exc))


async def _call(coro: Awaitable[Any]) -> Any:
    try:
        return await coro
    except (asyncio.CancelledError, KeyboardInterrupt):
        raise
    except Exception as exc:  # every SDK/transport failure becomes one ApiError
        raise to_api_error(exc) from None


def _answered(result: Any) -> Any:
    """The SDK returns None for a 2xx answer without a JSON body (a proxy page, an empty 200):
    the outcome is unknown, so it is retried like a lost answer."""
    if result is None:
        raise ApiError(ErrorKind.TRANSIENT, "WorkOS answered without a readable JSON body",
                       code="empty_response")
    return result


# --------------------------------------------------------------------------- user helpers
@dataclass(frozen=True, slots=True)
class RemoteUser:
    """The few fields of a WorkOS user the engine decides on."""

    id: str
    email: str | None
    external_id: str | None
    email_verified: bool
    created_at: datetime | None
    first_name: str | None = None
    last_name: str | None = None
    metadata: dict | None = None

    @classmethod
    def from_sdk(cls, user: Any) -> RemoteUser:
        metadata = getattr(user, "metadata", None)
        return cls(
            id=user.id,
            email=getattr(user, "email", None),
            external_id=getattr(user, "external_id", None),
            email_verified=bool(getattr(user, "email_verified", False)),
            created_at=parse_time(getattr(user, "created_at", None)),
            first_name=_text_or_none(getattr(user, "first_name", None)),
            last_name=_text_or_none(getattr(user, "last_name", None)),
            metadata=dict(metadata) if isinstance(metadata, dict) else None,
        )


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _hashed(password_hash: str | None, hash_type: str | None) -> PasswordHashed | None:
    """The SDK's password object; the type is the caller's (the plan's hash kind), never guessed."""
    if not password_hash:
        return None
    if hash_type not in SDK_HASH_TYPES:
        raise ApiError(ErrorKind.INVALID, f"password_hash_type {hash_type!r} is not one WorkOS accepts")
    return PasswordHashed(password_hash=password_hash, password_hash_type=hash_type)  # type: ignore[arg-type]


async def create_user(client: AsyncWorkOSClient, request: dict, password_hash: str | None = None, *,
                      password_hash_type: str | None = None) -> RemoteUser:
    """POST /user_management/users with the planned body (+ the hash, sent as `password_hash_type`,
    else the request's, when given)."""
    fields = {k: request[k] for k in CREATE_FIELDS if k in request and request[k] is not None}
    user = await _call(client.user_management.create_user(
        password=_hashed(password_hash, password_hash_type or request.get("password_hash_type")), **fields))
    return RemoteUser.from_sdk(_answered(user))


_UNSET: Any = object()


async def update_user(client: AsyncWorkOSClient, user_id: str, *, email: str | None = None,
                      first_name: str | None = None,
                      last_name: str | None = None, external_id: str | None = _UNSET,
                      email_verified: bool | None = None, metadata: dict | None = None,
                      password_hash: str | None = None, password_hash_type: str | None = None) -> RemoteUser:
    """PUT /user_management/users/{id}: only the given fields change (`external_id=None` clears it)."""
    extra: dict[str, Any] = {}
    if email is not None:
        extra["email"] = email
    if external_id is not _UNSET:
        extra["external_id"] = external_id
    if metadata:
        extra["metadata"] = metadata
    user = await _call(client.user_management.update_user(
        user_id, first_name=first_name, last_name=last_name, email_verified=email_verified,
        password=_hashed(password_hash, password_hash_type), **extra))
    return RemoteUser.from_sdk(_answered(user))


def client_environment(client: Any) -> dict[str, str | None]:
    """What identifies the WorkOS environment a client talks to, never the key itself: the base
    URL, the client id, and the key's mode from its documented prefix (sk_test_ / sk_live_)."""
    key = getattr(client, "_api_key", None) or ""
    mode = "live" if key.startswith("sk_live_") else "test" if key.startswith("sk_test_") else "unknown"
    base = str(getattr(client, "base_url", "") or "").strip().rstrip("/").lower()
    return {"base_url": base, "client_id": getattr(client, "client_id", None) or None, "key_mode": mode}


async def get_user(client: Any, user_id: str) -> RemoteUser | None:
    """GET /user_management/users/{id} with an async or a blocking client; None on 404."""
    try:
        if isinstance(client, AsyncWorkOSClient):
            user = await _call(client.user_management.get_user(user_id))
        else:
            user = await _call(asyncio.to_thread(client.user_management.get_user, user_id))
    except ApiError as err:
        if err.kind is ErrorKind.NOT_FOUND:
            return None
        raise
    return RemoteUser.from_sdk(_answered(user))


async def find_user_by_external_id(client: AsyncWorkOSClient, external_id: str) -> RemoteUser | None:
    try:
        user = await _call(client.user_management.get_user_by_external_id(external_id))
    except ApiError as err:
        if err.kind is ErrorKind.NOT_FOUND:
            return None
        raise
    return RemoteUser.from_sdk(_answered(user))


async def find_user_by_email(client: AsyncWorkOSClient, email: str) -> RemoteUser | None:
    wanted = email.strip().lower()
    page = await _call(client.user_management.list_users(email=wanted, limit=10))
    for user in page.data:
        if (user.email or "").strip().lower() == wanted:
            return RemoteUser.from_sdk(user)
    return None


async def list_users_page(client: AsyncWorkOSClient, after: str | None = None) -> tuple[list[RemoteUser], str | None]:
    """One page (100, oldest first) of the environment's users and the cursor of the next page,
    None at the end. Oldest first, so a user created while we page is met on a later page."""
    page = _answered(await _call(client.user_management.list_users(limit=100, after=after, order="asc")))
    users = [RemoteUser.from_sdk(u) for u in (getattr(page, "data", None) or [])]
    return users, getattr(page, "after", None) or None


async def find_user(client: AsyncWorkOSClient, external_id: str | None, email: str | None, *,
                    before_read: Callable[[], Awaitable[None]] | None = None) -> RemoteUser | None:
    """By external id first (it is ours), then by email; `before_read` paces each read."""
    if external_id:
        if before_read:
            await before_read()
        found = await find_user_by_external_id(client, external_id)
        if found is not None:
            return found
    if email:
        if before_read:
            await before_read()
        return await find_user_by_email(client, email)
    return None


async def delete_user(client: AsyncWorkOSClient, user_id: str) -> bool:
    """Delete one user; False when it was already gone (404), which counts as done."""
    try:
        await _call(client.user_management.delete_user(user_id))
    except ApiError as err:
        if err.kind is ErrorKind.NOT_FOUND:
            return False
        raise
    return True


# --------------------------------------------------------------------------- roles and permissions
# Thin calls over `client.authorization` and `client.organization_membership` (SDK 10.x); every
# failure becomes one ApiError. Pacing and retries belong to the caller (wizard.core.roles).
async def list_environment_roles(client: AsyncWorkOSClient) -> list[Any]:
    """Every environment role, in WorkOS priority order (the list is not paginated)."""
    return list(_answered(await _call(client.authorization.list_environment_roles())).data)


async def create_environment_role(client: AsyncWorkOSClient, slug: str, name: str, description: str) -> Any:
    return _answered(await _call(client.authorization.create_environment_role(
        slug=slug, name=name, description=description)))


async def update_environment_role(client: AsyncWorkOSClient, slug: str, *, name: str | None = None,
                                  description: str | None = None) -> Any:
    kw: dict[str, Any] = {"name": name}
    if description is not None:
        kw["description"] = description
    return _answered(await _call(client.authorization.update_environment_role(slug, **kw)))


async def set_environment_role_permissions(client: AsyncWorkOSClient, slug: str, permissions: list[str]) -> Any:
    """PUT the role's whole permission set."""
    return _answered(await _call(client.authorization.set_environment_role_permissions(
        slug, permissions=list(permissions))))


async def list_permissions(client: AsyncWorkOSClient, *,
                           before_read: Callable[[], Awaitable[None]] | None = None) -> list[Any]:
    """Every permission of the environment (all pages; `before_read` paces each page)."""
    out: list[Any] = []
    after: str | None = None
    for _ in range(100_000):
        if before_read:
            await before_read()
        page = _answered(await _call(client.authorization.list_permissions(limit=100, after=after, order="asc")))
        out += list(page.data)
        nxt = page.list_metadata.after
        if not page.data or not nxt or nxt == after:
            break
        after = nxt
    return out


async def create_permission(client: AsyncWorkOSClient, slug: str, name: str, description: str) -> Any:
    return _answered(await _call(client.authorization.create_permission(slug=slug, name=name,
                                                                        description=description)))


async def get_permission(client: AsyncWorkOSClient, slug: str) -> Any | None:
    try:
        return _answered(await _call(client.authorization.get_permission(slug)))
    except ApiError as err:
        if err.kind is ErrorKind.NOT_FOUND:
            return None
        raise


async def delete_permission(client: AsyncWorkOSClient, slug: str) -> bool:
    """False when it was already gone (404), which counts as done."""
    try:
        await _call(client.authorization.delete_permission(slug))
    except ApiError as err:
        if err.kind is ErrorKind.NOT_FOUND:
            return False
        raise
    return True


def _role_choice(slugs: list[str]):
    from workos.organization_membership import RoleMultiple, RoleSingle

    return RoleSingle(role_slug=slugs[0]) if len(slugs) == 1 else RoleMultiple(role_slugs=list(slugs))


def membership_role_slugs(membership: Any) -> list[str]:
    """The membership's roles (`roles[]`, else the primary `role`), as slugs."""
    roles = [r.slug for r in (getattr(membership, "roles", None) or [])]
    if not roles and getattr(membership, "role", None) is not None:
        roles = [membership.role.slug]
    return roles


async def find_membership(client: AsyncWorkOSClient, user_id: str, organization_id: str) -> Any | None:
    """The user's membership in the organization, any status."""
    page = _answered(await _call(client.organization_membership.list_organization_memberships(
        user_id=user_id, organization_id=organization_id, statuses=["active", "inactive", "pending"], limit=10)))
    return next((m for m in page.data if m.user_id == user_id and m.organization_id == organization_id), None)


async def get_membership(client: AsyncWorkOSClient, membership_id: str) -> Any:
    return _answered(await _call(client.organization_membership.get_organization_membership(membership_id)))


async def set_membership_roles(client: AsyncWorkOSClient, membership_id: str, slugs: list[str]) -> Any:
    """PUT the membership with `role_slug` (one) or `role_slugs` (several)."""
    return _answered(await _call(client.organization_membership.update_organization_membership(
        membership_id, role=_role_choice(slugs))))


async def create_membership_with_roles(client: AsyncWorkOSClient, user_id: str, organization_id: str,
                                       slugs: list[str]) -> Any:
    return _answered(await _call(client.organization_membership.create_organization_membership(
        user_id=user_id, organization_id=organization_id, role=_role_choice(slugs) if slugs else None)))


async def delete_membership(client: AsyncWorkOSClient, membership_id: str) -> bool:
    try:
        await _call(client.organization_membership.delete_organization_membership(membership_id))
    except ApiError as err:
        if err.kind is ErrorKind.NOT_FOUND:
            return False
        raise
    return True


# --------------------------------------------------------------------------- enterprise SSO (issue 13)
@dataclass(frozen=True, slots=True)
class RemoteConnection:
    """The fields of a WorkOS SSO connection the SDK exposes (no SAML/OIDC settings, no external id)."""

    id: str
    organization_id: str | None
    connection_type: str
    name: str
    state: str

    @classmethod
    def from_sdk(cls, conn: Any) -> RemoteConnection:
        def text(v: Any) -> str:
            return str(getattr(v, "value", v) or "")

        return cls(id=conn.id, organization_id=getattr(conn, "organization_id", None),
                   connection_type=text(conn.connection_type), name=conn.name or "", state=text(conn.state))


def _protocol_options(body: dict) -> Any:
    from workos.sso import CreateProtocolOptionsOIDC, CreateProtocolOptionsSAML
    from workos.sso.models import CreateConnectionOIDCOptions, CreateConnectionSAMLOptions

    if body.get("saml_options") is not None:
        return CreateProtocolOptionsSAML(saml_options=CreateConnectionSAMLOptions.from_dict(body["saml_options"]))
    return CreateProtocolOptionsOIDC(oidc_options=CreateConnectionOIDCOptions.from_dict(body["oidc_options"]))


async def create_connection(client: AsyncWorkOSClient, body: dict) -> RemoteConnection:
    """POST /connections with the planned JSON body (`organization_id`, `name`, `external_id`,
    `connection_type`, `attribute_maps`, and `saml_options` or `oidc_options`): idempotent by
    `external_id` within the organization (WorkOS returns the existing connection)."""
    from workos.sso.models import CreateConnectionAttributeMaps

    maps = body.get("attribute_maps")
    conn = await _call(client.sso.create_connection(
        organization_id=body["organization_id"], name=body.get("name"), external_id=body.get("external_id"),
        connection_type=body.get("connection_type"),
        attribute_maps=CreateConnectionAttributeMaps.from_dict(maps) if maps else None,
        protocol_options=_protocol_options(body)))
    return RemoteConnection.from_sdk(_answered(conn))


async def get_connection(client: AsyncWorkOSClient, connection_id: str) -> RemoteConnection | None:
    """GET /connections/{id}; None when it does not exist (404)."""
    try:
        conn = await _call(client.sso.get_connection(connection_id))
    except ApiError as err:
        if err.kind is ErrorKind.NOT_FOUND:
            return None
        raise
    return RemoteConnection.from_sdk(_answered(conn))


async def list_connections(client: AsyncWorkOSClient, organization_id: str | None = None, *,
                           before_read: Callable[[], Awaitable[None]] | None = None) -> list[RemoteConnection]:
    """Every connection (of one organization when given), all pages; `before_read` paces each page."""
    out: list[RemoteConnection] = []
    after: str | None = None
    seen: set[str] = set()
    while True:
        if before_read:
            await before_read()
        page = _answered(await _call(client.sso.list_connections(organization_id=organization_id, limit=100,
                                                                 after=after)))
        out += [RemoteConnection.from_sdk(c) for c in page.data]
        after = page.after
        if not page.data or not after or after in seen:
            return out
        seen.add(after)


async def delete_connection(client: AsyncWorkOSClient, connection_id: str) -> bool:
    """DELETE /connections/{id} (irreversible); False when it was already gone (404)."""
    try:
        await _call(client.sso.delete_connection(connection_id))
    except ApiError as err:
        if err.kind is ErrorKind.NOT_FOUND:
            return False
        raise
    return True


async def list_idp_signing_certs(client: AsyncWorkOSClient, connection_id: str) -> list[dict]:
    """The connection's IdP signing certificates, oldest first: `{id, value, not_before, not_after}`."""
    certs = _answered(await _call(client.sso.list_connection_saml_idp_signing_certs(connection_id)))
    return [{"id": c.id, "value": c.value, "not_before": c.not_before, "not_after": c.not_after}
            for c in certs.data]


async def add_idp_signing_cert(client: AsyncWorkOSClient, connection_id: str, pem: str) -> str:
    """Add one PEM certificate (WorkOS appends, never replaces); returns its id."""
    cert = await _call(client.sso.create_connection_saml_idp_signing_cert(connection_id, value=pem))
    return _answered(cert).id


async def delete_idp_signing_cert(client: AsyncWorkOSClient, connection_id: str, certificate_id: str) -> None:
    await _call(client.sso.delete_connection_saml_idp_signing_cert(connection_id, certificate_id))


async def generate_portal_link(client: AsyncWorkOSClient, organization_id: str, intent: str = "sso") -> str:
    """An Admin Portal link for one organization. It expires 5 minutes after issuance: show it, never store it."""
    answer = await _call(client.admin_portal.generate_link(organization=organization_id, intent=intent))
    return _answered(answer).link


async def find_organization_by_external_id(client: AsyncWorkOSClient, external_id: str) -> str | None:
    """The WorkOS organization id holding this external id, or None."""
    try:
        org = await _call(client.organizations.get_organization_by_external_id(external_id))
    except ApiError as err:
        if err.kind is ErrorKind.NOT_FOUND:
            return None
        raise
    return _answered(org).id


async def create_organization(client: AsyncWorkOSClient, *, name: str, external_id: str,
                              domains: list[tuple[str, str]] | None = None,
                              metadata: dict[str, str] | None = None) -> str:
    """POST /organizations; `domains` as (domain, state) pairs. Returns the organization id."""
    from workos.organizations.models import OrganizationDomainData

    data = [OrganizationDomainData(domain=d, state=s) for d, s in domains or []] or None
    extra: dict[str, Any] = {"metadata": metadata} if metadata else {}
    org = await _call(client.organizations.create_organization(name=name, external_id=external_id,
                                                               domain_data=data, **extra))
    return _answered(org).id


async def delete_organization(client: AsyncWorkOSClient, organization_id: str) -> bool:
    try:
        await _call(client.organizations.delete_organization(organization_id))
    except ApiError as err:
        if err.kind is ErrorKind.NOT_FOUND:
            return False
        raise
    return True


async def find_membership_id(client: AsyncWorkOSClient, user_id: str, organization_id: str) -> str | None:
    """The id of the user's membership (any status) in the organization, or None."""
    page = _answered(await _call(client.organization_membership.list_organization_memberships(
        user_id=user_id, organization_id=organization_id, statuses=["active", "inactive", "pending"], limit=10)))
    return next((m.id for m in page.data if m.user_id == user_id and m.organization_id == organization_id), None)


async def create_membership(client: AsyncWorkOSClient, user_id: str, organization_id: str) -> str:
    """A membership with the organization's default role; returns its id."""
    m = await _call(client.organization_membership.create_organization_membership(
        user_id=user_id, organization_id=organization_id))
    return _answered(m).id
