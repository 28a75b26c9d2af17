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

import httpx
import httpx2
from workos import AsyncWorkOSClient, WorkOSClient
from workos._errors import (
    APIError,
    ConfigurationError,
    RateLimitExceededError,
    WorkOSConnectionError,
    WorkOSError,
    WorkOSTimeoutError,
)
from workos.user_management import PasswordHashed

from wizard.clients.errors import ApiError, ErrorKind
from wizard.core.config import Settings

# Codes WorkOS uses for "this user is already there" (api-facts §2; the last one is the legacy 409).
EXISTS_CODES = frozenset({"email_not_available", "external_id_already_used", "user_already_exists"})
# Any `*_already_exists` code (e.g. organization_membership_already_exists) also means "it is there".
EXISTS_SUFFIX = "_already_exists"
# The SDK's text when a 2xx answer lacks a key its model requires (workos._types._raise_deserialize_error).
_UNREADABLE_PREFIX = "Unexpected API response while parsing"
# Fields of a planned create request that the SDK's create_user accepts (anything else is ignored).
CREATE_FIELDS = ("email", "first_name", "last_name", "name", "email_verified", "metadata", "external_id")
_MESSAGE_LIMIT = 300


def _require_key(settings: Settings) -> str:
    if not settings.workos_api_key:
        raise ApiError(ErrorKind.AUTH, "WORKOS_API_KEY is not set (environment or .env.local).")
    return settings.workos_api_key


def make_client(settings: Settings, *, max_retries: int = 0, timeout: float = 30.0) -> AsyncWorkOSClient:
    """An async client for the engine: SDK retries off by default, our base URL and timeout."""
    return AsyncWorkOSClient(
        api_key=_require_key(settings),
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

    @classmethod
    def from_sdk(cls, user: Any) -> RemoteUser:
        return cls(
            id=user.id,
            email=getattr(user, "email", None),
            external_id=getattr(user, "external_id", None),
            email_verified=bool(getattr(user, "email_verified", False)),
            created_at=parse_time(getattr(user, "created_at", None)),
        )


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


def _hashed(password_hash: str | None) -> PasswordHashed | None:
    return PasswordHashed(password_hash=password_hash, password_hash_type="bcrypt") if password_hash else None


async def create_user(client: AsyncWorkOSClient, request: dict, password_hash: str | None = None) -> RemoteUser:
    """POST /user_management/users with the planned body (+ the bcrypt hash when given)."""
    fields = {k: request[k] for k in CREATE_FIELDS if k in request and request[k] is not None}
    user = await _call(client.user_management.create_user(password=_hashed(password_hash), **fields))
    return RemoteUser.from_sdk(_answered(user))


async def update_user(client: AsyncWorkOSClient, user_id: str, *, email: str | None = None,
                      first_name: str | None = None,
                      last_name: str | None = None, external_id: str | None = None,
                      email_verified: bool | None = None, metadata: dict | None = None,
                      password_hash: str | None = None) -> RemoteUser:
    """PUT /user_management/users/{id}: only the given fields change."""
    extra: dict[str, Any] = {}
    if email is not None:
        extra["email"] = email
    if external_id is not None:
        extra["external_id"] = external_id
    if metadata:
        extra["metadata"] = metadata
    user = await _call(client.user_management.update_user(
        user_id, first_name=first_name, last_name=last_name, email_verified=email_verified,
        password=_hashed(password_hash), **extra))
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
