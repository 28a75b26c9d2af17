"""The import engine: turns the journal's planned users into WorkOS users, paced, exactly once.

Life of one user (design.md): planned -> in_flight -> created | updated | failed.
- `in_flight` is committed before every write request leaves; on start every `in_flight` user is
  reconciled by lookup (external id, then email) before anything else is sent.
- "Exists" answers (email_not_available / external_id_already_used / user_already_exists / 409) lead
  to a lookup and an update (names, external_id, metadata, the bcrypt hash when planned; only
  `email_verified=true`, and only to an unverified user). Any other 400/422 on create is looked up
  too (other WorkOS builds word "exists" differently); when nobody has the user, it is reported as sent.
- A 2xx answer the SDK cannot read (a required key missing) stops the run (`ContractStop`).
- 429 pauses every worker for Retry-After; 5xx, timeouts and dropped connections are retried with
  capped exponential backoff and jitter, `max_attempts` times; other errors fail the user (status,
  code, request id) and the run goes on; 401/403 stop the run at once. When every request fails
  (a total outage, `outage.py`) all workers wait together with a growing back-off, spending no
  attempts, and after `give_up_after` seconds without an answer the run stops, resumable.

Created or updated? A found user counts as *created by this run* when
(a) one of our create requests for it may have landed (a transient failure after sending it, an
    unreadable 2xx, or an `in_flight` mark found on resume): that mark is in the journal
    (`create_sends`) and survives every later path (retry-failed, resume, rollback), (b) its
    external_id is the user's Auth0 id, (c) its created_at is not earlier than our *first* send
    minus `CREATED_AT_SKEW` seconds (clock allowance), and (d) it is not a user this run found
    existing (a `found_existing` mark is committed before each update of a pre-existing user,
    with a before-image of what the update changes, for rollback to restore).
A WorkOS id this run recorded as created stays ours (a re-plan's resend updates it).
Otherwise it existed before and is updated. Rollback deletes only users recorded as created.
Every run first checks it talks to the WorkOS environment it is bound to (`environment.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

from wizard.clients import workos as wapi
from wizard.clients.errors import ApiError, ErrorKind
from wizard.core import snapshot
from wizard.core.digests import digest_key, hash_digest
from wizard.core.environment import require_same_environment
from wizard.core.journal import Journal, UserRow
from wizard.core.outage import Outage, WorkOSUnreachable
from wizard.core.pacing import (
    DEFAULT_MAX_CONCURRENCY,
    READ_BUDGET,
    WRITE_BUDGET,
    Budget,
    Pacer,
    Retries,
    RetryPolicy,
    Slot,
    ThrottledProgress,
    client_base_url,
    parse_budget,
    save_window,
    shared_pacer,
)
from wizard.core.progress import Progress, ProgressCallback, frozen_counts
from wizard.core.records import Branch, UserStatus

T = TypeVar("T")

CREATED_AT_SKEW = 120.0
PROGRESS_INTERVAL = 0.1  # at most ~10 events per second
WRITE_CREATE, WRITE_UPDATE = "create_user", "update_user"
FOUND_EXISTING = "found_existing"  # a marker in `writes` (no change in WorkOS): this user pre-existed


class RunStop(Exception):
    """Nothing more can be sent safely: stop the whole run cleanly (resumable) with `reason`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AuthStop(RunStop):
    """WorkOS refused our key (401/403): nothing else can succeed, stop the run."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(str(error))
        self.error = error


class ContractStop(AuthStop):
    """A WorkOS answer the workos SDK cannot read (a key its model requires is missing): the server
    does not follow the documented contract, so every later answer would fail alike. Stop; users whose
    create may have landed stay in flight for the resume's lookup."""


@dataclass
class ImportSummary:
    """Counts for the whole run folder (journal totals) plus what this invocation did."""

    planned: int = 0  # importable users in the plan
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    remaining: int = 0  # still planned / in flight (stopped or interrupted runs)
    session_created: int = 0
    session_updated: int = 0
    session_failed: int = 0
    reconciled: int = 0
    rate_limited: int = 0  # 429 answers seen
    retries: int = 0  # transient failures retried
    duration_seconds: float = 0.0
    rate_per_second: float = 0.0
    dry_run: bool = False
    would_create: int = 0
    would_update: int = 0
    would_fail: int = 0
    stopped: bool = False
    stop_reason: str | None = None
    budget: str = str(WRITE_BUDGET)
    failures: list[dict] = field(default_factory=list)  # first few failures (id, email, code, message)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.remaining == 0 and not self.stopped

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Hash:
    """A hash re-read at send time and the password_hash_type its kind is sent as."""

    value: str = field(repr=False)
    hash_type: str


@dataclass
class _Send:
    """What this invocation knows about its write requests for one user."""

    maybe_landed: bool = False
    first_sent: float | None = None


def _now_utc() -> float:
    return time.time()


def _external_id(user: UserRow) -> str | None:
    """The external id the plan sends: None for an Auth0 id WorkOS cannot take (non-ASCII, > 128)."""
    return user.request.get("external_id")


def _ours(found: wapi.RemoteUser, user: UserRow) -> bool:
    """The WorkOS user carries this Auth0 user's mark: our external id, or (without one) our
    metadata.auth0_user_id."""
    ext = _external_id(user)
    if ext is not None:
        return found.external_id == ext
    return not found.external_id and (found.metadata or {}).get("auth0_user_id") == user.auth0_user_id


def _other_owner(found: wapi.RemoteUser, user: UserRow) -> str | None:
    """A user found by email that carries another external id (or another Auth0 id in its metadata)
    belongs to someone else: never overwrite it (another planned user, or another system's)."""
    ext = _external_id(user)
    if found.external_id and found.external_id != ext:
        return (f"WorkOS user {found.id} already has this email with external id {found.external_id}; "
                "it was not changed. Merge or remove that user in WorkOS, then retry the failed users.")
    other = (found.metadata or {}).get("auth0_user_id")
    if ext is None and not found.external_id and other and other != user.auth0_user_id:
        return (f"WorkOS user {found.id} already has this email and belongs to Auth0 user {other}; "
                "it was not changed. Merge or remove that user in WorkOS, then retry the failed users.")
    return None


def before_image(found: wapi.RemoteUser) -> dict[str, Any]:
    """What the update may change on a user that existed before the run (never a hash)."""
    return {"first_name": found.first_name, "last_name": found.last_name, "external_id": found.external_id,
            "metadata": found.metadata or {}, "email_verified": found.email_verified}


def _created_by_us(found: wapi.RemoteUser, user: UserRow, sent_at: float | None) -> bool:
    if not _ours(found, user):
        return False
    if found.created_at is None or sent_at is None:
        return True
    return found.created_at >= datetime.fromtimestamp(sent_at - CREATED_AT_SKEW, tz=timezone.utc)


class Importer:
    """Runs the journal's plan against WorkOS. `await run()` returns an `ImportSummary`."""

    def __init__(self, journal: Journal, client: Any, *, hash_reader: Any = None,
                 rate: Budget | str | float | None = None, read_rate: Budget | str | None = None,
                 concurrency: int = DEFAULT_MAX_CONCURRENCY, dry_run: bool = False,
                 on_progress: ProgressCallback | None = None, max_attempts: int = 6,
                 max_rate_limited: int = 200, backoff_base: float = 0.5, backoff_cap: float = 8.0,
                 margin: float | None = None, pacer: Pacer | None = None,
                 give_up_after: float | None = None, outage: Outage | None = None) -> None:
        self.journal = journal
        self.client = client
        self._hash_reader = hash_reader
        self.write_budget = parse_budget(rate, WRITE_BUDGET)
        self.read_budget = parse_budget(read_rate, READ_BUDGET)
        # one budget for the whole migration: the run's shared pacer unless the caller brings one
        self.pacer = pacer or shared_pacer(client_base_url(client), journal)
        self.pacer.configure(self.write_budget, self.read_budget, margin=margin, max_concurrency=concurrency)
        self.pacer.set_give_up_after(give_up_after)  # a total outage stops the run after this long
        self.dry_run = dry_run
        self.on_progress = on_progress
        self.retry = RetryPolicy(max(1, max_attempts), max_rate_limited, backoff_base, backoff_cap)
        if outage is not None:  # a tracker of the caller's (its thresholds); else the pacer's own
            self.pacer.outage = outage
        self._stamp: tuple | None = None  # (path, (size, mtime, inode)) of the password file as planned
        self._key: bytes | None = None  # the run's hash-digest key (core/digests.py)
        self._stop_requested = False
        self._owns_reader = False
        self._state: dict[str, str] = {}  # auth0 id -> status, for users between reads and results
        self._pre_existing: set[str] = set()  # WorkOS ids found existing (reconcile only)
        self._counts: dict[str, int] = {}
        self._total = 0
        self._done_times: deque[float] = deque(maxlen=5000)  # the last ~10 s, for the rate
        self._emitter = ThrottledProgress(on_progress, PROGRESS_INTERVAL)
        self._latest_error: str | None = None
        self._summary = ImportSummary(dry_run=dry_run, budget=str(self.write_budget))
        self._started = 0.0

    # ------------------------------------------------------------------ public
    def stop(self) -> None:
        """Finish the users in the air, start no new ones (they stay planned for a resume)."""
        self._stop_requested = True

    def interrupted(self, reason: str = "interrupted") -> ImportSummary:
        """The summary of a run cut short from outside (Ctrl-C, a cancelled task): the journal's
        totals, marked stopped. In-flight users are reconciled by lookup on the next run."""
        if not self._started:
            self._started = time.monotonic()
        self._summary.stopped = True
        self._summary.stop_reason = reason
        return self._finish()

    async def run(self) -> ImportSummary:
        self._started = time.monotonic()
        self._counts = dict(self.journal.count_users())
        self._total = sum(self._counts.values())
        self._emit(force=True)
        ticker = asyncio.get_running_loop().create_task(self._tick())
        try:
            try:
                await require_same_environment(self.journal, self.client, bind=not self.dry_run,
                                               action="dry-run this import" if self.dry_run else "import")
            except ApiError as err:  # only AUTH comes out: the key is refused
                raise AuthStop(err) from None
            if self.dry_run:
                await self._dry_run()
            else:
                await self._reconcile_in_flight()
                await self._pump(self.journal.iter_users(status=UserStatus.PLANNED), self._import_one)
        except ContractStop as stop:
            self._summary.stopped = True
            self._summary.stop_reason = (
                f"{stop.error.message}. The server at WORKOS_BASE_URL does not answer in the shape the "
                "WorkOS API documents; nothing more was sent. Point WORKOS_BASE_URL at the WorkOS API "
                "(or fix the implementation), then resume: users whose create may have landed are "
                "looked up first.")
            self._latest_error = self._summary.stop_reason
        except AuthStop as stop:
            self._summary.stopped = True
            self._summary.stop_reason = (
                f"WorkOS refused the API key ({stop.error}). Check WORKOS_API_KEY (and that it belongs "
                "to this environment), then resume.")
            self._latest_error = self._summary.stop_reason
        except RunStop as stop:  # a total outage, the password file changed under the run
            self._summary.stopped = True
            self._summary.stop_reason = stop.reason
            self._latest_error = stop.reason
        finally:
            ticker.cancel()
            with contextlib.suppress(BaseException):
                await ticker
            self._close_hash_reader()
            save_window(self.journal, self.pacer)
        if self._stop_requested and not self._summary.stopped:
            self._summary.stopped = True
            self._summary.stop_reason = "stopped on request"
        return self._finish()

    # ------------------------------------------------------------------ pumping
    async def _pump(self, users, handle: Callable[[UserRow], Awaitable[None]]) -> None:
        """Feed users to workers under the adaptive concurrency limit; AuthStop cancels them all."""
        limit = self.pacer.limit
        tasks: set[asyncio.Task] = set()
        failure: list[BaseException] = []

        def done(task: asyncio.Task) -> None:
            tasks.discard(task)
            if not task.cancelled() and task.exception() is not None and not failure:
                failure.append(task.exception())

        async def one(user: UserRow) -> None:
            try:
                await handle(user)
            finally:
                await limit.__aexit__(None, None, None)

        try:
            for user in users:
                if failure or self._stop_requested:
                    break
                await limit.__aenter__()
                if failure or self._stop_requested:
                    await limit.__aexit__(None, None, None)
                    break
                task = asyncio.get_running_loop().create_task(one(user))
                tasks.add(task)
                task.add_done_callback(done)
            while tasks and not failure:
                await asyncio.wait(set(tasks), return_when=asyncio.FIRST_EXCEPTION)
        except BaseException:
            for t in list(tasks):
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        if failure:
            for t in list(tasks):
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise failure[0]

    # ------------------------------------------------------------------ one user
    async def _import_one(self, user: UserRow) -> None:
        try:
            password_hash = self._password_hash(user)
        except _HashUnavailable as exc:
            self._fail(user, "hash_unavailable", str(exc))
            return
        send = _Send()
        prior = self.journal.create_send(user.auth0_user_id)
        if prior is not None:  # an earlier create may have landed: that mark survives every path
            send.first_sent, send.maybe_landed = prior[0], prior[1]
        try:
            try:
                created = await self._request(
                    self.pacer.write, lambda: wapi.create_user(
                        self.client, user.request, password_hash and password_hash.value,
                        password_hash_type=password_hash and password_hash.hash_type),
                    user=user, send=send)
            except ApiError as err:
                # EXISTS, or a 400/409/422 that another WorkOS build words differently: look it up;
                # an INVALID answer for a user nobody has is reported as it came.
                if err.kind not in (ErrorKind.EXISTS, ErrorKind.INVALID):
                    raise
                await self._resolve_exists(user, password_hash, send, err)
                return
            self._record(user, UserStatus.CREATED, created.id, WRITE_CREATE)
            self.journal.resolve_create(user.auth0_user_id)
        except RunStop:
            if not send.maybe_landed:  # else it stays in flight: the resume's lookup decides
                self._set_status(user, UserStatus.PLANNED)
            raise
        except ApiError as err:
            message = _message(err)
            if send.maybe_landed:
                message += (" (a create was sent and its answer lost: it may have landed; the next retry "
                            "or rollback looks it up first)")
            self._fail(user, err.code or err.kind.value, message, err)

    async def _resolve_exists(self, user: UserRow, password_hash: _Hash | None, send: _Send,
                              answer: ApiError | None = None) -> None:
        found = await self._lookup(user)
        if found is None:
            if answer is not None and answer.kind is not ErrorKind.EXISTS:
                self._fail(user, answer.code or answer.kind.value, _message(answer), answer)
                return
            self._fail(user, "exists_not_found",
                       "WorkOS says the user exists but no user has this external id or email.")
            return
        ours = self.journal.created_by_run(found.id)  # created by an earlier pass of this run
        if not ours and send.maybe_landed and _created_by_us(found, user, send.first_sent):
            self._record(user, UserStatus.CREATED, found.id, WRITE_CREATE)
            self.journal.resolve_create(user.auth0_user_id)
            return
        if (conflict := _other_owner(found, user)) is not None:
            self._fail(user, "email_belongs_to_other_user", conflict)
            return
        with self.journal.transaction():
            if not ours:
                # remembered before the update leaves, so a resume never mistakes this user for
                # ours, with what the update will change (rollback puts it back)
                self.journal.record_write(FOUND_EXISTING, found.id, user.auth0_user_id)
                self.journal.record_before_image(found.id, user.auth0_user_id, before_image(found))
            self.journal.resolve_create(user.auth0_user_id)
        await self._update(user, found, password_hash, send)

    async def _update(self, user: UserRow, found: wapi.RemoteUser, password_hash: _Hash | None,
                      send: _Send) -> None:
        req = user.request
        verified = True if (req.get("email_verified") is True and not found.email_verified) else None
        try:
            updated = await self._request(
                self.pacer.write,
                lambda: wapi.update_user(
                    self.client, found.id, first_name=req.get("first_name"), last_name=req.get("last_name"),
                    external_id=_external_id(user), email_verified=verified, metadata=req.get("metadata"),
                    password_hash=password_hash and password_hash.value,
                    password_hash_type=password_hash and password_hash.hash_type),
                user=user, send=None)
        except ApiError as err:
            if err.kind is ErrorKind.EXISTS:
                self._fail(user, err.code or "external_id_already_used",
                           "another WorkOS user already has this external id: " + _message(err), err)
                return
            raise
        self._record(user, UserStatus.UPDATED, updated.id, WRITE_UPDATE)

    async def _lookup(self, user: UserRow) -> wapi.RemoteUser | None:
        """By our external id, then by email (the only way for a user planned without external id,
        recognised as ours by metadata.auth0_user_id)."""
        found = None
        ext = _external_id(user)
        if ext is not None:
            found = await self._request(
                self.pacer.read, lambda: wapi.find_user_by_external_id(self.client, ext))
        if found is None and user.email:
            found = await self._request(
                self.pacer.read, lambda: wapi.find_user_by_email(self.client, user.email or ""))
        return found

    # ------------------------------------------------------------------ reconcile (resume)
    async def _reconcile_in_flight(self) -> None:
        in_flight = self.journal.users(status=UserStatus.IN_FLIGHT)
        if in_flight:
            self._pre_existing = {w["target_id"] for w in self.journal.writes(FOUND_EXISTING)}
            await self._pump(iter(in_flight), self._reconcile_one)
            self._pre_existing = set()

    async def _reconcile_one(self, user: UserRow) -> None:
        """An `in_flight` user from an interrupted run: its create may or may not have landed."""
        try:
            found = await self._lookup(user)
        except RunStop:
            raise
        except ApiError as err:
            self._fail(user, err.code or err.kind.value, "could not reconcile: " + _message(err), err)
            return
        self._summary.reconciled += 1
        sent = self.journal.create_send(user.auth0_user_id)
        sent_at = sent[0] if sent is not None else user.updated_at
        if found is not None and found.id not in self._pre_existing and (
                self.journal.created_by_run(found.id) or _created_by_us(found, user, sent_at)):
            self._record(user, UserStatus.CREATED, found.id, WRITE_CREATE)
            self.journal.resolve_create(user.auth0_user_id)
        else:
            # never landed, or it existed before: the normal path creates it or meets "exists"
            self._set_status(user, UserStatus.PLANNED)

    # ------------------------------------------------------------------ dry run
    async def _dry_run(self) -> None:
        """Forecast every user's outcome without writing. WorkOS is listed once when that is
        cheaper than looking every user up (`snapshot.py`), else each user is looked up."""
        self._counts = {k: v for k, v in self._counts.items() if k == UserStatus.SKIPPED}
        self._counts["pending"] = self._total - self._counts.get(UserStatus.SKIPPED, 0)
        environment = await self._read_environment(self._counts["pending"])

        async def look(user: UserRow) -> None:
            try:
                self._password_hash(user)
                if environment is not None:
                    found = environment.find(_external_id(user), user.email)
                else:
                    found = await self._lookup(user)
            except _HashUnavailable as exc:
                self._dry(user, "would_fail", "hash_unavailable: " + str(exc))
                return
            except ApiError as err:
                self._dry(user, "would_fail", f"{err.code or err.kind.value}: {_message(err)}")
                return
            if found is not None and (conflict := _other_owner(found, user)) is not None:
                self._dry(user, "would_fail", "email_belongs_to_other_user: " + conflict)
                return
            self._dry(user, "would_update" if found is not None else "would_create")

        await self._pump(self.journal.iter_users(status=(UserStatus.PLANNED, UserStatus.IN_FLIGHT)), look)

    async def _read_environment(self, users_to_check: int) -> snapshot.EnvironmentUsers | None:
        """WorkOS's users listed at the read budget, or None (a list WorkOS refused, one not worth
        its cost or not trustworthy): then the dry run looks users up one by one."""
        if users_to_check == 0:
            return None

        async def page(after: str | None):
            return await self._request(self.pacer.read, lambda: wapi.list_users_page(self.client, after))

        try:
            return await snapshot.read_environment(page, max_pages=snapshot.page_budget(users_to_check))
        except ApiError as err:
            self._latest_error = "listing the environment failed, looking users up one by one: " + _message(err)
            return None

    def _dry(self, user: UserRow, outcome: str, problem: str | None = None) -> None:
        setattr(self._summary, outcome, getattr(self._summary, outcome) + 1)
        self._counts["pending"] = self._counts.get("pending", 0) - 1
        self._counts[outcome] = self._counts.get(outcome, 0) + 1
        if problem:
            self._latest_error = problem
            if len(self._summary.failures) < 20:
                self._summary.failures.append(
                    {"auth0_user_id": user.auth0_user_id, "email": user.email, "message": problem})
        self._done_times.append(time.monotonic())
        self._emit()

    # ------------------------------------------------------------------ requests, retry, pacing
    async def _request(self, take: Callable[[], Awaitable[Slot]], call: Callable[[], Awaitable[T]], *,
                       user: UserRow | None = None, send: _Send | None = None) -> T:
        """One API call with pacing, the shared 429 pause and bounded transient retries.
        With `user` it is a write: the user is marked in flight (committed) before each send."""
        retries = Retries(self.retry)
        while True:
            slot = await take()
            if user is not None:
                if send is not None:
                    now = _now_utc()
                    self.journal.mark_create_in_flight(user.auth0_user_id, now)
                    if send.first_sent is None:
                        send.first_sent = now
                else:
                    self.journal.mark_in_flight([user.auth0_user_id])
                self._move(user, UserStatus.IN_FLIGHT)
            started = time.monotonic()
            slot.sent()  # counted from here (the journal write above took time)
            try:
                with slot:  # leaves the window `window` after the answer, or its send-time bound
                    result = await call()
            except ApiError as err:
                self.pacer.observe(time.monotonic() - started, reads=self.dry_run)
                if err.kind is not ErrorKind.TRANSIENT:
                    self.pacer.answered()  # any answer: WorkOS is up
                if err.kind is ErrorKind.AUTH:
                    raise AuthStop(err) from None
                if err.code == "unreadable_response":
                    if send is not None and user is not None:
                        send.maybe_landed = True  # it answered 2xx: the create was applied
                        self.journal.mark_create_unknown(user.auth0_user_id)
                    raise ContractStop(err) from None
                if err.kind is ErrorKind.RATE_LIMITED:
                    self._summary.rate_limited += 1
                    self._latest_error = self.pacer.pause_after_429(err.retry_after)
                    self._emit(force=True)
                    if not retries.after_rate_limit():
                        raise
                    continue
                if err.kind is ErrorKind.TRANSIENT:
                    if send is not None and user is not None and not send.maybe_landed:
                        send.maybe_landed = True
                        self.journal.mark_create_unknown(user.auth0_user_id)
                    self._latest_error = _message(err)
                    try:
                        outage = self.pacer.unreachable(retries, _message(err))
                    except WorkOSUnreachable as down:
                        raise RunStop(str(down)) from None
                    if outage is not None:  # every worker waits with a growing back-off, no attempt spent
                        self._latest_error = outage
                        self._emit(force=True)
                        continue
                    delay = retries.after_transient(err.retry_after)
                    if delay is None:
                        raise
                    self._summary.retries += 1
                    await asyncio.sleep(delay)
                    continue
                raise
            self.pacer.observe(time.monotonic() - started, reads=self.dry_run)
            self.pacer.answered()
            return result

    # ------------------------------------------------------------------ passwords
    def _password_hash(self, user: UserRow) -> _Hash | None:
        if user.branch != Branch.PASSWORD or user.hash_ref is None:
            return None
        reader = self._reader()
        self._require_same_password_file()
        try:
            h = reader.hash_at(user.hash_ref)
        except Exception as exc:  # HashReadError, OSError: never send a guess
            raise _HashUnavailable(str(exc)[:200]) from None
        planned_digest = self.journal.hash_digest_of(user.auth0_user_id)
        if planned_digest and hash_digest(h, self._digest_key()) != planned_digest:
            raise RunStop(self._changed_message(f"the row for {user.auth0_user_id} now holds another hash "
                                                "than the one planned"))
        from wizard.core.hashes import importable

        check = importable(h)
        planned = user.request.get("password_hash_type")  # absent in hand-made plans: the kind decides
        if check is None or (planned is not None and check.hash_type != planned):
            raise _HashUnavailable(f"the password export's row at byte {user.hash_ref} no longer holds "
                                   "the planned kind of hash (the file changed since it was planned)")
        return _Hash(h, check.hash_type)

    def _require_same_password_file(self) -> None:
        """The hashes are re-read from the export at send time: it must still be the planned file
        (size, modification time, inode: one stat per hash), else a hash written into it since would
        be sent unseen. A moved stamp is forgiven only when the content (SHA-256) is still the
        recorded one (a `touch`, a copy put back)."""
        if self._stamp is None:  # read from the journal once per run, then one stat per user
            stamp, path = self.journal.input_stamp("passwords"), self.journal.input_path("passwords")
            self._stamp = (path, (stamp["size"], stamp["mtime_ns"], stamp["inode"])) if stamp and path else ()
        if not self._stamp:
            return
        path, planned = self._stamp
        try:
            st = path.stat()
        except OSError as exc:
            raise RunStop(self._changed_message(f"it cannot be read any more ({exc.strerror})")) from None
        now = (st.st_size, st.st_mtime_ns, st.st_ino)
        if now == planned:
            return
        from wizard.core.journal import sha256_file

        recorded = (self.journal.inputs().get("passwords") or {}).get("sha256")
        with contextlib.suppress(OSError):
            if recorded and sha256_file(path) == recorded:
                self._stamp = (path, now)  # the same bytes: only the stamp moved
                return
        raise RunStop(self._changed_message("its size, modification time or inode differs, and so does "
                                            "its content"))

    def _digest_key(self) -> bytes:
        if self._key is None:
            self._key = digest_key(self.journal)
        return self._key

    def _changed_message(self, what: str) -> str:
        path = self.journal.input_path("passwords")
        name = path.name if path is not None else "the password export"
        return (f"The password export {name} changed since it was planned: {what}. Nothing more was sent. "
                f"Put the original file back ({path}), or run `auth0-workos check` on the file you mean to "
                "import (a new plan), then resume.")

    def _reader(self):
        if self._hash_reader is None:
            from wizard.core.passwords import HashReader

            path = self.journal.input_path("passwords")
            if path is None:
                raise _HashUnavailable("no password export is recorded in this run's journal")
            self._hash_reader = HashReader(path, index_gzip=True)  # a lookup per user: index a gzip once
            self._owns_reader = True
        return self._hash_reader

    def _close_hash_reader(self) -> None:
        if self._owns_reader and self._hash_reader is not None:
            with contextlib.suppress(Exception):
                self._hash_reader.close()
            self._hash_reader = None

    # ------------------------------------------------------------------ bookkeeping
    def _move(self, user: UserRow, status: str, final: bool = False) -> None:
        """Keep the in-memory counts in step with the journal (`user.status` is as it was read)."""
        old = self._state.pop(user.auth0_user_id, user.status)
        if old != status:
            self._counts[old] = self._counts.get(old, 0) - 1
            self._counts[status] = self._counts.get(status, 0) + 1
        if not final:
            self._state[user.auth0_user_id] = status

    def _record(self, user: UserRow, status: str, workos_id: str, write_kind: str) -> None:
        self.journal.mark_result(user.auth0_user_id, status, workos_user_id=workos_id, write_kind=write_kind)
        self._move(user, status, final=True)
        if status == UserStatus.CREATED:
            self._summary.session_created += 1
        else:
            self._summary.session_updated += 1
        self._done_times.append(time.monotonic())
        self._emit()

    def _set_status(self, user: UserRow, status: str) -> None:
        self.journal.mark_result(user.auth0_user_id, status)
        self._move(user, status, final=True)
        self._emit()

    def _fail(self, user: UserRow, code: str, message: str, err: ApiError | None = None) -> None:
        text = message
        if err is not None and err.request_id:
            text = f"{message} (request {err.request_id})"
        self.journal.mark_result(user.auth0_user_id, UserStatus.FAILED, error_code=code, error_message=text)
        self._move(user, UserStatus.FAILED, final=True)
        self._summary.session_failed += 1
        self._latest_error = f"{user.email or user.auth0_user_id}: {code}: {message}"
        if len(self._summary.failures) < 20:
            self._summary.failures.append({"auth0_user_id": user.auth0_user_id, "email": user.email,
                                           "code": code, "message": text})
        self._done_times.append(time.monotonic())
        self._emit()

    def _rate(self) -> float:
        now = time.monotonic()
        while self._done_times and now - self._done_times[0] > 10.0:
            self._done_times.popleft()
        if not self._done_times:
            return 0.0
        span = max(1.0, min(10.0, now - self._started))
        return len(self._done_times) / span

    def _progress(self, done: bool = False) -> Progress:
        rate = self._rate()
        pending = sum(self._counts.get(k, 0) for k in (UserStatus.PLANNED, UserStatus.IN_FLIGHT, "pending"))
        eta = pending / rate if rate > 0 and pending else (0.0 if not pending else None)
        return Progress(
            operation="import-dry-run" if self.dry_run else "import",
            total=self._total,
            counts=frozen_counts({k: v for k, v in self._counts.items() if v}),
            rate=rate,
            eta_seconds=eta,
            paused_until=self.pacer.paused_until if self.pacer.paused else None,
            pause_cause=self.pacer.pause_cause if self.pacer.paused else None,
            latest_error=self._latest_error,
            done=done,
        )

    def _emit(self, force: bool = False) -> None:
        self._emitter(self._progress, force=force)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            self._emit()

    def _finish(self) -> ImportSummary:
        s = self._summary
        counts = self.journal.count_users()
        s.created = counts.get(UserStatus.CREATED, 0)
        s.updated = counts.get(UserStatus.UPDATED, 0)
        s.failed = counts.get(UserStatus.FAILED, 0)
        s.skipped = counts.get(UserStatus.SKIPPED, 0)
        s.remaining = users_to_send(counts)
        s.planned = sum(counts.values()) - s.skipped
        s.duration_seconds = round(time.monotonic() - self._started, 3)
        handled = (s.session_created + s.session_updated + s.session_failed
                   + s.would_create + s.would_update + s.would_fail)
        s.rate_per_second = round(handled / s.duration_seconds, 2) if s.duration_seconds > 0 else 0.0
        if self.dry_run:
            s.remaining = 0
        self._emitter(lambda: self._progress(done=True), force=True)
        return s


def users_to_send(counts: Journal | Mapping[str, int]) -> int:
    """Users the import still has to send: planned + in flight (the one place this is counted).
    Takes the journal or its `count_users()` answer."""
    if isinstance(counts, Journal):
        counts = counts.count_users()
    return counts.get(UserStatus.PLANNED, 0) + counts.get(UserStatus.IN_FLIGHT, 0)


class _HashUnavailable(Exception):
    pass




def _message(err: ApiError) -> str:
    bits = []
    if err.status:
        bits.append(f"HTTP {err.status}")
    bits.append(err.message)
    return " ".join(bits)
