"""Environment binding: a run folder writes to one WorkOS environment, and only to that one.

A rollback pointed at another environment (staging's key, another base URL) would find none of the
run's users, call them all "already gone" and keep saying "nothing to delete" while they stay where
they were created. So the first write of a run records which environment it goes to, and every
later writing path (import, resume, retry, rollback, verify, sync, SSO, roles, organizations, MFA)
calls `require_same_environment` first; it refuses another one with `EnvironmentMismatch`.

The record (the `workos_environment` document) never holds the key. WorkOS has no "which
environment is this key" call, so the fingerprint is what can be known cheaply:
- the base URL, the client id, and the key's mode (`sk_test_` / `sk_live_`), all from the client;
- what the API says: the WorkOS user ids this run wrote are global, so a key of the same
  environment reads them (200) and a key of another one gets 404. Up to `ANCHORS` of them are read
  at every check; one found is enough. When none is left (all deleted by this run), only the first
  three compare.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from wizard.clients import workos as wapi
from wizard.clients.errors import ApiError, ErrorKind
from wizard.core.journal import Journal, JournalError
from wizard.core.pacing import RETRY_AFTER_CAP, Retries, RetryPolicy

ENVIRONMENT_DOCUMENT = "workos_environment"
ANCHORS = 3
_FIELDS = (("base_url", "base URL"), ("client_id", "client id"), ("key_mode", "key mode"))


class EnvironmentMismatch(JournalError):
    """The settings point at another WorkOS environment than the one this run wrote to."""


def recorded_environment(journal: Journal) -> dict | None:
    return journal.get_document(ENVIRONMENT_DOCUMENT)


def describe_environment(env: dict) -> str:
    """`https://api.workos.com (client id client_01…, live key)` — no secret in it."""
    mode = env.get("key_mode") or "unknown"
    client = env.get("client_id") or "not set"
    return f"{env.get('base_url') or '?'} (client id {client}, {mode} key)"


def _differences(recorded: dict, current: dict) -> list[str]:
    out = []
    for key, label in _FIELDS:
        old, new = recorded.get(key), current.get(key)
        if key == "key_mode" and "unknown" in (old, new):
            continue  # a key without the documented prefix says nothing about its environment
        if key == "client_id" and (not old or not new):
            continue
        if old != new:
            out.append(f"{label} {old} → {new}")
    return out


async def _read_anchor(client: Any, wid: str) -> Any:
    """One anchor user read, retried like every other WorkOS call (429, 5xx, timeouts, dropped
    connections) before the check gives up on confirming the environment."""
    retries = Retries(RetryPolicy())
    while True:
        try:
            return await wapi.get_user(client, wid)
        except ApiError as err:
            if err.kind is ErrorKind.RATE_LIMITED and retries.after_rate_limit():
                await asyncio.sleep(min(err.retry_after or 1.0, RETRY_AFTER_CAP))
                continue
            delay = retries.after_transient(err.retry_after) if err.kind is ErrorKind.TRANSIENT else None
            if delay is None:
                raise
            await asyncio.sleep(delay)


async def require_same_environment(journal: Journal, client: Any, *, action: str, bind: bool = True) -> dict:
    """Refuse (EnvironmentMismatch, a JournalError: exit 2) to `action` against another WorkOS
    environment than the one this run wrote to; with `bind`, record the environment when this is
    the run's first writing step. Every writing path calls this before its first request.
    Returns the recorded environment."""
    current = wapi.client_environment(client)
    recorded = recorded_environment(journal)
    if recorded is not None:
        diff = _differences(recorded, current)
        if diff:
            raise EnvironmentMismatch(
                f"refusing to {action}: this run folder wrote to the WorkOS environment at "
                f"{describe_environment(recorded)}, but the settings now point at "
                f"{describe_environment(current)} ({'; '.join(diff)}). Set WORKOS_BASE_URL, "
                "WORKOS_API_KEY and WORKOS_CLIENT_ID back to that environment, or use a new run folder "
                "for this one.")
    anchors = journal.written_user_targets(ANCHORS)
    if anchors:
        missing = []
        for wid in anchors:
            try:
                found = await _read_anchor(client, wid)
            except ApiError as err:
                if err.kind is ErrorKind.AUTH:
                    raise  # the key is refused outright: the caller's "key refused" stop says so
                raise EnvironmentMismatch(
                    f"refusing to {action}: could not confirm that this API key belongs to the WorkOS "
                    f"environment this run wrote to (reading user {wid}: {err}). Try again when WorkOS "
                    "answers.") from None
            if found is not None:
                missing = []
                break
            missing.append(wid)
        if missing:
            raise EnvironmentMismatch(
                f"refusing to {action}: the WorkOS environment behind this API key does not hold the "
                f"users this run wrote ({', '.join(missing)} answered 404 at {current['base_url']}). "
                "The key belongs to another environment (staging and production have different keys): "
                "use the key of the environment this run wrote to"
                + (f", {describe_environment(recorded)}" if recorded else "") + ".")
    if recorded is None:
        recorded = dict(current, bound_at=time.time(), bound_by=action)
        if bind:
            journal.put_document(ENVIRONMENT_DOCUMENT, recorded)
    return recorded


async def ensure_environment(journal: Journal, client: Any, *, action: str, bind: bool = True) -> None:
    """`require_same_environment` for the steps whose own first request reports a refused key
    (401/403) its usual way (roles, SSO): only another environment is refused here."""
    try:
        await require_same_environment(journal, client, action=action, bind=bind)
    except ApiError as err:
        if err.kind is not ErrorKind.AUTH:
            raise


def require_same_environment_sync(journal: Journal, client: Any, *, action: str, bind: bool = True) -> dict:
    """`require_same_environment` for blocking code (verify, organizations, MFA): runs it on its own
    event loop in a helper thread, so it works whether or not the caller's thread has a loop. A
    refused key (401/403) is left to the caller's own first request, which reports it its usual way."""
    import threading

    box: dict[str, Any] = {}

    def go() -> None:
        try:
            box["ok"] = asyncio.run(require_same_environment(journal, client, action=action, bind=bind))
        except ApiError as exc:
            if exc.kind is not ErrorKind.AUTH:
                box["error"] = exc
            box.setdefault("ok", {})
        except BaseException as exc:  # handed back to the caller's thread as it was
            box["error"] = exc

    worker = threading.Thread(target=go, name="environment-check", daemon=True)
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["ok"]
