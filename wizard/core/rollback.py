"""Rollback: delete the WorkOS users this run *created* (never those it only updated), paced and
journalled. Each deletion is logged as a `delete_user` write and the user goes back to `planned`,
so a later resume would import it again. Idempotent: a user already gone (404) counts as deleted.
Retries follow the import's policy (`pacing.RetryPolicy`): 429s pause every worker, a bounded
number of times; 5xx and timeouts back off, honouring a 503's Retry-After.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from wizard.clients import workos as wapi
from wizard.clients.errors import ApiError, ErrorKind
from wizard.core.journal import Journal
from wizard.core.pacing import (
    WRITE_BUDGET,
    Budget,
    Pacer,
    Retries,
    RetryPolicy,
    ThrottledProgress,
    client_base_url,
    parse_budget,
    save_window,
    shared_pacer,
)
from wizard.core.progress import Progress, ProgressCallback, frozen_counts
from wizard.core.records import UserStatus

PROGRESS_INTERVAL = 0.1


@dataclass(frozen=True, slots=True)
class RollbackTarget:
    auth0_user_id: str
    workos_user_id: str


@dataclass
class RollbackSummary:
    targets: int = 0
    deleted: int = 0
    already_gone: int = 0
    failed: int = 0
    duration_seconds: float = 0.0
    stopped: bool = False
    stop_reason: str | None = None
    failures: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and not self.stopped

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rollback_targets(journal: Journal) -> list[RollbackTarget]:
    """Users recorded as created by this run whose WorkOS user has not been deleted yet."""
    deleted = {w["target_id"] for w in journal.writes("delete_user")}
    seen: set[str] = set()
    out = []
    for w in journal.writes("create_user"):
        wid, aid = w["target_id"], w["auth0_id"]
        if not wid or wid in deleted or wid in seen:
            continue
        seen.add(wid)
        out.append(RollbackTarget(aid, wid))
    return out


class Rollback:
    def __init__(self, journal: Journal, client: Any, *, rate: Budget | str | float | None = None,
                 concurrency: int = 32, on_progress: ProgressCallback | None = None,
                 max_attempts: int = 5, max_rate_limited: int = 200, backoff_base: float = 0.5,
                 backoff_cap: float = 8.0, pacer: Pacer | None = None) -> None:
        self.journal = journal
        self.client = client
        self.pacer = pacer or shared_pacer(client_base_url(client), journal)
        self.pacer.configure(parse_budget(rate, WRITE_BUDGET))
        self.on_progress = on_progress
        self.concurrency = max(1, concurrency)
        self.retry = RetryPolicy(max(1, max_attempts), max_rate_limited, backoff_base, backoff_cap)
        self._summary = RollbackSummary()
        self._emitter = ThrottledProgress(on_progress, PROGRESS_INTERVAL)
        self._latest_error: str | None = None
        self._started = 0.0

    async def run(self) -> RollbackSummary:
        self._started = time.monotonic()
        targets = rollback_targets(self.journal)
        self._summary.targets = len(targets)
        self._emit(force=True)
        queue = iter(targets)
        stop: list[ApiError] = []

        async def worker() -> None:
            for t in queue:  # one shared iterator: each target goes to exactly one worker
                if stop:
                    return
                try:
                    await self._delete(t)
                except ApiError as err:
                    if err.kind is ErrorKind.AUTH:
                        stop.append(err)
                        return
                    self._summary.failed += 1
                    self._latest_error = f"{t.workos_user_id}: {err}"
                    if len(self._summary.failures) < 20:
                        self._summary.failures.append({"auth0_user_id": t.auth0_user_id,
                                                       "workos_user_id": t.workos_user_id,
                                                       "code": err.code, "message": err.message})
                self._emit()

        workers = max(1, min(self.concurrency, len(targets)))
        try:
            await asyncio.gather(*(worker() for _ in range(workers)))
        finally:
            save_window(self.journal, self.pacer)
        if stop:
            self._summary.stopped = True
            self._summary.stop_reason = f"WorkOS refused the API key ({stop[0]}); nothing more was deleted."
        self._summary.duration_seconds = round(time.monotonic() - self._started, 3)
        self._emit(force=True, done=True)
        self.journal.put_document("rollback_summary", {k: v for k, v in self._summary.to_dict().items()
                                                       if k != "failures"})
        return self._summary

    async def _delete(self, t: RollbackTarget) -> None:
        retries = Retries(self.retry)
        while True:
            slot = await self.pacer.write()
            try:
                with slot:
                    existed = await wapi.delete_user(self.client, t.workos_user_id)
            except ApiError as err:
                if err.kind is ErrorKind.RATE_LIMITED:
                    self._latest_error = self.pacer.pause_after_429(err.retry_after)
                    self._emit(force=True)
                    if not retries.after_rate_limit():
                        raise
                    continue
                if err.kind is ErrorKind.TRANSIENT:
                    delay = retries.after_transient(err.retry_after)
                    if delay is None:
                        raise
                    await asyncio.sleep(delay)
                    continue
                raise
            break
        with self.journal.transaction():
            self.journal.record_write("delete_user", t.workos_user_id, t.auth0_user_id)
            user = self.journal.user(t.auth0_user_id)
            if user is not None and user.workos_user_id == t.workos_user_id:
                self.journal.mark_result(t.auth0_user_id, UserStatus.PLANNED)
        if existed:
            self._summary.deleted += 1
        else:
            self._summary.already_gone += 1

    def _emit(self, force: bool = False, done: bool = False) -> None:
        self._emitter(lambda: self._progress(done), force=force)

    def _progress(self, done: bool) -> Progress:
        s = self._summary
        finished = s.deleted + s.already_gone + s.failed
        elapsed = max(1e-6, time.monotonic() - self._started)
        rate = finished / elapsed
        pending = s.targets - finished
        return Progress(
            operation="rollback", total=s.targets,
            counts=frozen_counts({k: v for k, v in {"deleted": s.deleted, "already_gone": s.already_gone,
                                                    "failed": s.failed, "pending": pending}.items() if v}),
            rate=rate, eta_seconds=(pending / rate) if rate > 0 else None,
            paused_until=self.pacer.paused_until if self.pacer.paused else None,
            latest_error=self._latest_error, done=done)
