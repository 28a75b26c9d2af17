"""Our own small error type: every SDK failure is mapped to one `ApiError` with a `kind` we act on."""

from __future__ import annotations

from enum import Enum


class ErrorKind(str, Enum):
    EXISTS = "exists"  # email_not_available / external_id_already_used / user_already_exists / 409
    RATE_LIMITED = "rate_limited"  # 429: wait retry_after, then try again
    TRANSIENT = "transient"  # 5xx, timeout, dropped connection: retry with backoff
    AUTH = "auth"  # 401/403: stop everything, fix the key or scopes
    NOT_FOUND = "not_found"
    INVALID = "invalid"  # 400/422 other than exists: permanent for this record
    OTHER = "other"


class ApiError(Exception):
    """A failed API call, without the request body (which may hold a hash) in its text."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        service: str = "workos",
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.retry_after = retry_after
        self.service = service

    @property
    def retryable(self) -> bool:
        return self.kind in (ErrorKind.RATE_LIMITED, ErrorKind.TRANSIENT)

    @property
    def wait_cause(self) -> str:
        """Why a retry waits, in words: only a 429 is "rate limited"; a 5xx is a server error."""
        if self.kind is ErrorKind.RATE_LIMITED:
            return "rate limited (HTTP 429)"
        if self.status is not None and self.status >= 500:
            return f"server error (HTTP {self.status})"
        if self.code == "timeout" or self.status == 408:
            return "timeout"
        if self.kind is ErrorKind.TRANSIENT:
            return "connection error"
        return "error"

    def __str__(self) -> str:
        bits = [f"{self.service} {self.kind.value}"]
        if self.status:
            bits.append(f"HTTP {self.status}")
        if self.code:
            bits.append(self.code)
        text = " ".join(bits) + f": {self.message}"
        if self.request_id:
            text += f" (request {self.request_id})"
        return text
