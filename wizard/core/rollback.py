"""Rollback: delete the WorkOS users this run *created*, and put back what it changed on the users
that existed before (names, external id, metadata, from the before-image recorded at update time;
a password hash cannot be restored, nor `email_verified` be set back to false). Paced and
journalled. Each deletion is logged as a `delete_user` write and the user goes back to `planned`,
so a later resume would import it again.

Only against the environment the run wrote to (`environment.require_same_environment`). A 404 for a
created user's exact id there is "already gone", recorded as `delete_user_gone`, and stays a target:
every later rollback reads it again, so a wrong conclusion is never final. A create whose answer
was lost is looked up first (our external id, created after our first send): if it landed, it is
ours and deleted like the others.
Retries follow the import's policy (`pacing.RetryPolicy`): 429s pause every worker, a bounded
number of times; 5xx and timeouts back off, honouring a 503's Retry-After.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from wizard.clients import workos as wapi
from wizard.clients.errors import ApiError, ErrorKind
from wizard.core import documents
from wizard.core.environment import require_same_environment
from wizard.core.journal import Journal
from wizard.core.pacing import (
    PACER_PAUSE_CAUSE,
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


# said before every real import (CLI, wizard, plain mode): what a rollback can and cannot undo
ROLLBACK_PROMISE = ("Rollback can undo this import: it deletes the users it creates and puts back the "
                    "names, external id and metadata of users that already exist. A password hash it sets "
                    "on an existing user cannot be restored.")
CREATED_AT_SKEW = 120.0  # as the importer: clock allowance when deciding a landed create is ours
WRITE_GONE = "delete_user_gone"  # a 404 for the id: re-checked by every later rollback
WRITE_RESTORE = "restore_user"


@dataclass
class RollbackSummary:
    targets: int = 0
    deleted: int = 0
    already_gone: int = 0
    failed: int = 0
    found_landed: int = 0  # creates whose answer was lost, found to have landed (then deleted)
    restored: int = 0  # pre-existing users put back as they were before the run
    restore_failed: int = 0
    not_restorable: list[str] = field(default_factory=list)  # what could not be put back, in words
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
        try:
            await require_same_environment(self.journal, self.client, action="roll back", bind=False)
            await self._claim_landed_creates()
        except ApiError as err:
            if err.kind is not ErrorKind.AUTH:
                raise
            return self._stopped(err)
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
            if not stop:
                try:
                    await self._restore_before_images()
                except ApiError as err:
                    if err.kind is not ErrorKind.AUTH:
                        raise
                    stop.append(err)
        finally:
            save_window(self.journal, self.pacer)
        if stop:
            self._summary.stopped = True
            self._summary.stop_reason = f"WorkOS refused the API key ({stop[0]}); nothing more was deleted."
        self._summary.duration_seconds = round(time.monotonic() - self._started, 3)
        self._emit(force=True, done=True)
        documents.ROLLBACK_SUMMARY.write(self.journal, {k: v for k, v in self._summary.to_dict().items()
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
            self.journal.record_write("delete_user" if existed else WRITE_GONE, t.workos_user_id, t.auth0_user_id)
            user = self.journal.user(t.auth0_user_id)
            if user is not None and user.workos_user_id == t.workos_user_id:
                self.journal.mark_result(t.auth0_user_id, UserStatus.PLANNED)
        if existed:
            self._summary.deleted += 1
        else:
            self._summary.already_gone += 1

    def _stopped(self, err: ApiError) -> RollbackSummary:
        self._summary.stopped = True
        self._summary.stop_reason = f"WorkOS refused the API key ({err}); nothing more was deleted."
        self._summary.duration_seconds = round(time.monotonic() - self._started, 3)
        self._emit(force=True, done=True)
        return self._summary

    async def _call(self, take, call):
        """One request under the shared pause and retry policy (429 pauses, 5xx backs off)."""
        retries = Retries(self.retry)
        while True:
            await take()
            try:
                return await call()
            except ApiError as err:
                if err.kind is ErrorKind.RATE_LIMITED:
                    self._latest_error = self.pacer.pause_after_429(err.retry_after)
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

    async def _claim_landed_creates(self) -> None:
        """A create whose answer was lost may have landed: a user with our external id created after
        our first send (and not one this run found existing) is ours, so it is recorded and deleted."""
        unknown = self.journal.creates_unknown()
        if not unknown:
            return
        pre_existing = {w["target_id"] for w in self.journal.writes("found_existing")}
        for auth0_id, first_sent in unknown:
            found = await self._call(self.pacer.read,
                                     lambda a=auth0_id: wapi.find_user_by_external_id(self.client, a))
            if found is None or found.id in pre_existing or found.external_id != auth0_id:
                continue
            if found.created_at is not None and found.created_at < datetime.fromtimestamp(
                    first_sent - CREATED_AT_SKEW, tz=timezone.utc):
                continue
            with self.journal.transaction():
                self.journal.mark_result(auth0_id, UserStatus.CREATED, workos_user_id=found.id,
                                         write_kind="create_user")
                self.journal.resolve_create(auth0_id)
            self._summary.found_landed += 1

    async def _restore_before_images(self) -> None:
        """Put the pre-existing users back as they were before this run's update."""
        for row in self.journal.before_images(restored=False):
            wid, image = row["workos_user_id"], row["image"]
            user = self.journal.user(row["auth0_user_id"]) if row["auth0_user_id"] else None
            sent_meta = (user.request.get("metadata") if user else None) or {}
            before_meta = image.get("metadata") or {}
            metadata = dict(before_meta)
            metadata.update({k: None for k in sent_meta if k not in before_meta})  # null removes a key
            try:
                await self._call(self.pacer.write, lambda w=wid, i=image, m=metadata: wapi.update_user(
                    self.client, w, first_name=i.get("first_name"), last_name=i.get("last_name"),
                    external_id=i.get("external_id"), metadata=m or None))
            except ApiError as err:
                if err.kind is ErrorKind.AUTH:
                    raise
                self._summary.restore_failed += 1
                self._latest_error = f"{wid}: could not restore: {err}"
                if len(self._summary.failures) < 20:
                    self._summary.failures.append({"auth0_user_id": row["auth0_user_id"], "workos_user_id": wid,
                                                   "code": err.code, "message": "restore: " + err.message})
                continue
            with self.journal.transaction():
                self.journal.record_write(WRITE_RESTORE, wid, row["auth0_user_id"])
                self.journal.mark_restored(wid)
                if user is not None and user.workos_user_id == wid and user.status == UserStatus.UPDATED:
                    self.journal.mark_result(user.auth0_user_id, UserStatus.PLANNED)  # as before the run
            self._summary.restored += 1
            lost = [f for f in ("first_name", "last_name") if image.get(f) is None
                    and user is not None and user.request.get(f)]
            if lost:
                self._summary.not_restorable.append(
                    f"{wid}: {' and '.join(lost)} had no value before; the API cannot clear a name, so "
                    "the imported one stays")
            if not image.get("email_verified") and user is not None and user.request.get("email_verified"):
                self._summary.not_restorable.append(
                    f"{wid}: the email stays verified (WorkOS never un-verifies an email)")
        self._emit(force=True)

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
            pause_cause=PACER_PAUSE_CAUSE if self.pacer.paused else None,
            latest_error=self._latest_error, done=done)
