"""The import engine against the WorkOS emulator over real HTTP: fields, hashes, exactly-once under
faults (5xx, drops, timeouts, commit-then-fail, 429 storms), updates of existing users, dry run,
cancellation + resume, artifacts."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import stat
from pathlib import Path

import bcrypt
import pytest

from wizard.clients.workos import make_client
from wizard.core.artifacts import write_import_artifacts
from wizard.core.config import Settings
from wizard.core.importer import Importer
from wizard.core.journal import Journal
from wizard.core.pacing import Budget, parse_budget
from wizard.core.progress import Progress
from wizard.core.records import Branch, PlannedUser, UserStatus
from wizard.sandbox.faults import Faults
from wizard.sandbox.ratelimit import RateLimits

SALT = bcrypt.gensalt(rounds=4)  # cost 4: fast to hash and to verify in tests
FAST = {"backoff_base": 0.02, "backoff_cap": 0.2}


def password_of(i: int) -> str:
    return f"Secret-{i}-pw"


def make_plan(run_dir: Path, n: int, *, prefix: str = "u", merged: dict[int, list[str]] | None = None,
              bad_email_at: set[int] = frozenset()) -> Journal:
    """A journal with `n` planned users: even ones are password users (a bcrypt hash in a password
    export the journal records), every third odd one is a social user, the rest reset users."""
    run_dir.mkdir(parents=True, exist_ok=True)
    pw_path = run_dir.parent / f"{run_dir.name}-passwords.ndjson"
    planned, offset, lines = [], 0, []
    for i in range(n):
        uid = f"auth0|{prefix}{i:05d}"
        email = f"{prefix}{i}@example.com" if i not in bad_email_at else f"broken-{i}"
        branch = Branch.PASSWORD if i % 2 == 0 else (Branch.SOCIAL if i % 3 == 0 else Branch.RESET)
        hash_ref = None
        if branch == Branch.PASSWORD:
            line = json.dumps({"_id": {"$oid": f"{prefix}{i:05d}"}, "email": email,
                               "passwordHash": bcrypt.hashpw(password_of(i).encode(), SALT).decode()}) + "\n"
            hash_ref = offset
            lines.append(line)
            offset += len(line.encode())
        request = {"email": email, "first_name": f"First{i}", "last_name": f"Last{i}",
                   "email_verified": i % 4 != 1, "external_id": uid}
        planned.append(PlannedUser(
            auth0_user_id=uid, group_key=email, email=email, branch=branch, request=request,
            auth0_ids=tuple([uid, *(merged or {}).get(i, [])]), hash_ref=hash_ref,
            email_verified=request["email_verified"], source_line=i + 1))
    pw_path.write_text("".join(lines))
    journal = Journal.open(run_dir)
    journal.record_input("passwords", pw_path)
    journal.replace_plan(planned)
    return journal


def settings_for(emu, **kw) -> Settings:
    return Settings(workos_api_key=kw.get("api_key", emu.api_key), workos_client_id=emu.client_id,
                    workos_base_url=emu.base_url)


async def run_import(journal: Journal, emu, *, timeout: float = 10.0, **kw):
    events: list[Progress] = []
    client = make_client(settings_for(emu, **kw), timeout=timeout)
    kw.pop("api_key", None)
    try:
        importer = Importer(journal, client, on_progress=events.append, **{**FAST, **kw})
        summary = await importer.run()
    finally:
        await client.close()
    return summary, events


def assert_exactly_planned(emu, journal: Journal, *, check_passwords: bool = True) -> None:
    """Every importable planned user is in WorkOS exactly once with the right fields and hash."""
    users = list(emu.emulator.users.values())
    by_ext = {}
    for u in users:
        assert u["external_id"] not in by_ext, f"duplicate user for {u['external_id']}"
        by_ext[u["external_id"]] = u
    planned = [u for u in journal.users() if u.status != UserStatus.SKIPPED]
    assert len(users) == len(planned)
    for row in planned:
        assert row.status in UserStatus.DONE, (row.auth0_user_id, row.status, row.last_error_message)
        remote = by_ext[row.auth0_user_id]
        assert remote["id"] == row.workos_user_id
        assert remote["email"] == row.email
        assert remote["first_name"] == row.request["first_name"]
        assert remote["last_name"] == row.request["last_name"]
        if check_passwords and row.branch == Branch.PASSWORD:
            i = int(row.auth0_user_id[-5:])
            assert emu.emulator.password_matches(remote["id"], password_of(i))
            assert not emu.emulator.password_matches(remote["id"], "wrong")
        if row.branch != Branch.PASSWORD:
            assert not emu.emulator.has_password(remote["id"])


# ----------------------------------------------------------------------------- happy path
async def test_imports_every_planned_user_once_with_fields_and_hashes(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 24)
    summary, events = await run_import(journal, workos_emu)
    assert summary.created == 24 and summary.failed == 0 and summary.remaining == 0 and summary.ok
    assert_exactly_planned(workos_emu, journal)
    for row in journal.users():
        remote = workos_emu.emulator.users[row.workos_user_id]
        assert remote["email_verified"] is row.request["email_verified"]
        assert row.status == UserStatus.CREATED
    assert len(journal.writes("create_user")) == 24 and not journal.writes("update_user")
    assert events[-1].done and events[-1].counts.get("created") == 24
    assert all(e.total == 24 for e in events)
    # no more than ~10 events per second (+ the first and last)
    span = max(0.1, events[-1].at - events[0].at)
    assert len(events) <= span * 12 + 3


async def test_second_run_creates_nothing_and_reports_nothing_failed(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 10)
    await run_import(journal, workos_emu)
    posts = workos_emu.emulator.request_count("POST")
    again, _ = await run_import(journal, workos_emu)  # same run folder: nothing left to do
    assert again.session_created == again.session_updated == again.failed == 0 and again.ok
    assert workos_emu.emulator.request_count("POST") == posts
    # a brand-new run folder over the same export: every user exists, so each is updated, none created
    fresh = make_plan(tmp_path / "run2", 10)
    summary, _ = await run_import(fresh, workos_emu)
    assert summary.created == 0 and summary.updated == 10 and summary.failed == 0
    assert len(workos_emu.emulator.users) == 10
    assert_exactly_planned(workos_emu, fresh)


async def test_existing_users_are_updated_and_mapped(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 8)
    client = make_client(settings_for(workos_emu))
    try:  # users already in WorkOS before the run: one verified, with old names and no external id
        for i, verified in ((0, True), (1, True), (2, False)):
            await client.user_management.create_user(email=f"u{i}@example.com", first_name="Old",
                                                     last_name="Name", email_verified=verified)
    finally:
        await client.close()
    summary, _ = await run_import(journal, workos_emu)
    assert (summary.created, summary.updated, summary.failed) == (5, 3, 0)
    assert_exactly_planned(workos_emu, journal)
    statuses = {u.auth0_user_id: u.status for u in journal.users()}
    assert [statuses[f"auth0|u{i:05d}"] for i in range(3)] == [UserStatus.UPDATED] * 3
    u1 = workos_emu.emulator.user_by_email("u1@example.com")
    assert u1["email_verified"] is True  # plan says unverified (i % 4 == 1): never downgraded
    assert u1["external_id"] == "auth0|u00001"
    assert workos_emu.emulator.user_by_email("u2@example.com")["email_verified"] is True  # plan: verified
    mapped = {a: w for a, w, _ in journal.id_map()}
    assert mapped["auth0|u00000"] == workos_emu.emulator.user_by_email("u0@example.com")["id"]
    assert {w["auth0_id"] for w in journal.writes("update_user")} == {f"auth0|u{i:05d}" for i in range(3)}


async def test_user_found_by_email_with_another_external_id_is_not_taken_over(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 4)
    client = make_client(settings_for(workos_emu))
    try:
        other = await client.user_management.create_user(email="u1@example.com", first_name="Keep",
                                                          external_id="legacy-42")
    finally:
        await client.close()
    dry, _ = await run_import(journal, workos_emu, dry_run=True)
    assert (dry.would_create, dry.would_fail) == (3, 1)
    summary, _ = await run_import(journal, workos_emu)
    assert summary.created == 3 and summary.failed == 1
    failed = journal.user("auth0|u00001")
    assert failed.status == UserStatus.FAILED and failed.last_error_code == "email_belongs_to_other_user"
    kept = workos_emu.emulator.users[other.id]
    assert (kept["external_id"], kept["first_name"]) == ("legacy-42", "Keep")


# ----------------------------------------------------------------------------- faults
async def test_transient_faults_commit_then_fail_and_drops_end_exactly_once(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 60)
    workos_emu.emulator.set_faults(Faults(error_rate=0.05, drop_rate=0.04, commit_then_fail_rate=0.08,
                                          latency_ms=5, jitter_ms=10, seed=11))
    summary, _ = await run_import(journal, workos_emu, max_attempts=8)
    assert summary.failed == 0 and summary.remaining == 0, summary.failures
    assert summary.retries > 0
    assert_exactly_planned(workos_emu, journal)
    # commit-then-fail answers were resolved as our own creates: every user is "created"
    assert journal.count_users() == {UserStatus.CREATED: 60}
    assert len({w["target_id"] for w in journal.writes("create_user")}) == 60


async def test_timeouts_are_retried_and_resolved_without_duplicates(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 16)
    # a third of the answers arrive after the client gave up; the server still applies the change
    workos_emu.emulator.set_faults(Faults(latency_ms=0, jitter_ms=450, seed=5))
    summary, _ = await run_import(journal, workos_emu, timeout=0.3, max_attempts=12)
    assert summary.failed == 0 and summary.retries > 0, summary.failures
    for _ in range(6000):  # let late requests land before counting: every request has its answer
        if all(status for _, _, status in list(workos_emu.emulator.requests)):
            break
        await asyncio.sleep(0.01)
    assert_exactly_planned(workos_emu, journal)
    assert journal.count_users() == {UserStatus.CREATED: 16}


async def test_rate_limit_storm_pauses_every_worker_and_finishes(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 20)
    # a 2-second sliding window keeps the pauses short: 12 writes fit, the other 8 meet 429 + Retry-After
    workos_emu.emulator.set_limits(RateLimits(writes_per_10s=12, reads_per_10s=1000, write_window_s=2.0))
    summary, events = await run_import(journal, workos_emu, rate="200/s")
    assert summary.failed == 0 and summary.rate_limited > 0
    paused = [e for e in events if e.paused_until is not None]
    assert paused and all(e.paused_until > e.at for e in paused)
    assert_exactly_planned(workos_emu, journal, check_passwords=False)
    # the whole pool paused together: a handful of 429s, not one per retry loop per worker
    assert summary.rate_limited <= 12
    assert summary.duration_seconds < 8


# ----------------------------------------------------------------------------- errors
async def test_permanent_errors_fail_the_user_and_the_run_goes_on(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 10, bad_email_at={3, 7})
    summary, events = await run_import(journal, workos_emu)
    assert summary.failed == 2 and summary.created == 8 and not summary.ok
    failed = journal.users(status=UserStatus.FAILED)
    assert {u.auth0_user_id for u in failed} == {"auth0|u00003", "auth0|u00007"}
    assert all(u.last_error_code for u in failed)
    assert any(e.latest_error for e in events)
    paths = write_import_artifacts(journal, summary)
    errors = [json.loads(x) for x in paths.errors.read_text().splitlines()]
    assert {e["auth0_user_id"] for e in errors} == {"auth0|u00003", "auth0|u00007"}
    assert set(errors[0]) == {"auth0_user_id", "email", "code", "message", "request_id", "attempts"}
    retry = [json.loads(x) for x in paths.retry.read_text().splitlines()]
    assert [r["source_line"] for r in retry] == [4, 8]
    # failed users can be retried: fix nothing, reset them, they fail again (deterministically)
    assert journal.reset_failed() == 2


async def test_auth_error_stops_the_run_and_fails_nobody(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 6)
    summary, _ = await run_import(journal, workos_emu, api_key="sk_test_wrong")
    assert summary.stopped and "API key" in (summary.stop_reason or "")
    assert summary.failed == 0 and not workos_emu.emulator.users
    assert set(journal.count_users()) <= {UserStatus.PLANNED, UserStatus.IN_FLIGHT}
    assert "sk_test_wrong" not in (summary.stop_reason or "")
    # fixing the key and resuming imports everyone
    summary, _ = await run_import(journal, workos_emu)
    assert summary.created == 6 and summary.ok


async def test_hash_that_cannot_be_reread_is_never_sent(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 4)
    pw = journal.input_path("passwords")
    stamp = pw.stat()
    pw.write_text(pw.read_text().replace("$2b$", "$9z$"))  # the export changed under us...
    os.utime(pw, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # ...with its size and mtime kept
    summary, _ = await run_import(journal, workos_emu, concurrency=1)
    failed = {u.auth0_user_id: u.last_error_code for u in journal.users(status=UserStatus.FAILED)}
    assert failed == {"auth0|u00000": "hash_unavailable", "auth0|u00002": "hash_unavailable"}
    assert summary.created == 2 and len(workos_emu.emulator.users) == 2


# ----------------------------------------------------------------------------- dry run
async def test_dry_run_writes_nothing_and_says_what_would_happen(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 9)
    client = make_client(settings_for(workos_emu))
    try:
        await client.user_management.create_user(email="u4@example.com")
    finally:
        await client.close()
    before = dict(workos_emu.emulator.users)
    summary, events = await run_import(journal, workos_emu, dry_run=True)
    assert (summary.would_create, summary.would_update, summary.would_fail) == (8, 1, 0)
    assert summary.dry_run and summary.created == 0
    assert workos_emu.emulator.users == before
    assert workos_emu.emulator.request_count("PUT") == 0
    assert workos_emu.emulator.request_count("POST") == 1  # only our own setup call
    assert journal.count_users() == {UserStatus.PLANNED: 9}
    assert not journal.writes()
    assert events[-1].counts.get("would_create") == 8


async def _seed_users(emu, users: list[dict]) -> None:
    client = make_client(settings_for(emu))
    try:
        for fields in users:
            await client.user_management.create_user(**fields)
    finally:
        await client.close()


async def test_dry_run_lists_the_environment_once_instead_of_looking_every_user_up(workos_emu, tmp_path):
    """120 users to check, 3 already in WorkOS (ours by external id, ours by email, someone else's
    by email): two list pages instead of up to 240 lookups, and the same forecast they would give."""
    journal = make_plan(tmp_path / "run", 120)
    await _seed_users(workos_emu, [
        {"email": "u2@example.com", "external_id": "auth0|u00002"},
        {"email": "U7@Example.com "},
        {"email": "u9@example.com", "external_id": "crm-9"},
    ])
    gets_before = workos_emu.emulator.request_count("GET")
    summary, _ = await run_import(journal, workos_emu, dry_run=True)
    assert (summary.would_create, summary.would_update, summary.would_fail) == (117, 2, 1)
    assert "crm-9" in summary.failures[0]["message"] and summary.failures[0]["email"] == "u9@example.com"
    assert workos_emu.emulator.request_count("GET") - gets_before == 1  # 3 users: one page
    assert workos_emu.emulator.request_count("GET", "/user_management/users/external_id") == 0


async def test_dry_run_looks_users_up_when_the_environment_is_larger_than_the_lookups(workos_emu, tmp_path):
    """3 users to check against 250 existing: listing (3 pages) would cost more than the lookups'
    budget (1 page), so it stops after one page and the forecast comes from the lookups."""
    journal = make_plan(tmp_path / "run", 3)
    await _seed_users(workos_emu, [{"email": f"other{i}@example.org"} for i in range(249)]
                      + [{"email": "u1@example.com", "external_id": "auth0|u00001"}])
    gets_before = workos_emu.emulator.request_count("GET")
    summary, _ = await run_import(journal, workos_emu, dry_run=True)
    assert (summary.would_create, summary.would_update, summary.would_fail) == (2, 1, 0)
    lookups = workos_emu.emulator.request_count("GET", "/user_management/users/external_id")
    assert lookups == 3 and workos_emu.emulator.request_count("GET") - gets_before == 1 + 3 + 2


# ----------------------------------------------------------------------------- cancel + resume
async def test_cancelled_run_leaves_in_flight_users_that_resume_reconciles(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 30)
    workos_emu.emulator.set_faults(Faults(latency_ms=250))
    client = make_client(settings_for(workos_emu))
    importer = Importer(journal, client, concurrency=4, **FAST)  # a few at a time: some land, some in the air
    task = asyncio.get_running_loop().create_task(importer.run())
    for _ in range(6000):  # waits on the journal's state, not on a time: a slow machine only waits longer
        await asyncio.sleep(0.01)
        now = journal.count_users()  # cancel with some created and some in the air (not between batches)
        if now.get(UserStatus.CREATED, 0) >= 5 and now.get(UserStatus.IN_FLIGHT, 0) > 0:
            break
    else:
        pytest.fail(f"the import never had 5 created and some in flight: {journal.count_users()}")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    counts = journal.count_users()
    assert counts.get(UserStatus.IN_FLIGHT, 0) > 0
    # as after a kill -9: one in-flight create landed although its answer never reached the journal
    landed = journal.users(status=UserStatus.IN_FLIGHT)[0]
    for _ in range(6000):  # the server finishes the requests whose answers we dropped
        if all(status for _, _, status in list(workos_emu.emulator.requests)):
            break
        await asyncio.sleep(0.01)
    if workos_emu.emulator.user_by_email(landed.email) is None:
        await client.user_management.create_user(**landed.request)
    await client.close()
    workos_emu.emulator.set_faults(Faults())
    summary, _ = await run_import(journal, workos_emu)
    assert summary.reconciled == counts[UserStatus.IN_FLIGHT]
    assert summary.failed == 0 and summary.remaining == 0
    assert_exactly_planned(workos_emu, journal, check_passwords=False)
    assert journal.count_users() == {UserStatus.CREATED: 30}
    assert landed.auth0_user_id in {w["auth0_id"] for w in journal.writes("create_user")}


async def test_resume_during_an_update_never_claims_a_pre_existing_user(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 3)
    client = make_client(settings_for(workos_emu))
    try:  # created seconds before the run: its created_at alone cannot tell it from ours
        await client.user_management.create_user(email="u1@example.com")
    finally:
        await client.close()
    await run_import(journal, workos_emu)
    assert journal.user("auth0|u00001").status == UserStatus.UPDATED
    journal.mark_in_flight(["auth0|u00001"])  # as if killed while re-sending its update
    summary, _ = await run_import(journal, workos_emu)
    assert summary.reconciled == 1 and summary.session_updated == 1 and summary.session_created == 0
    assert journal.user("auth0|u00001").status == UserStatus.UPDATED
    assert "auth0|u00001" not in {w["auth0_id"] for w in journal.writes("create_user")}


async def test_stop_finishes_users_in_the_air_and_leaves_the_rest_planned(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 30)
    workos_emu.emulator.set_faults(Faults(latency_ms=100))
    client = make_client(settings_for(workos_emu))
    importer = Importer(journal, client, concurrency=4, **FAST)

    async def stop_soon():  # once users are landing: some done, some in the air, most still planned
        while journal.count_users().get(UserStatus.CREATED, 0) < 1:
            await asyncio.sleep(0.01)
        importer.stop()

    stopper = asyncio.get_running_loop().create_task(stop_soon())
    summary = await importer.run()
    await stopper
    await client.close()
    assert summary.stopped and summary.remaining > 0
    assert journal.count_users().get(UserStatus.IN_FLIGHT, 0) == 0
    assert len(workos_emu.emulator.users) == summary.created


# ----------------------------------------------------------------------------- artifacts
async def test_artifacts_map_every_auth0_id_and_hold_no_secrets(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 6, merged={2: ["google-oauth2|dup2", "samlp|acme|dup2"]})
    summary, _ = await run_import(journal, workos_emu)
    paths = write_import_artifacts(journal, summary)
    for p in (paths.summary, paths.id_map, paths.errors, paths.retry):
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
        text = p.read_text()
        assert "$2b$" not in text and "sk_test" not in text
    data = json.loads(paths.summary.read_text())
    assert {k: data[k] for k in ("planned", "created", "updated", "skipped", "failed")} == {
        "planned": 6, "created": 6, "updated": 0, "skipped": 0, "failed": 0}
    assert data["dry_run"] is False and data["duration_seconds"] > 0 and "rate_per_second" in data
    rows = list(csv.DictReader(paths.id_map.open()))
    assert len(rows) == 8
    by_id = {r["auth0_user_id"]: r for r in rows}
    assert by_id["google-oauth2|dup2"]["workos_user_id"] == by_id["auth0|u00002"]["workos_user_id"] != ""
    assert paths.errors.read_text() == ""
    assert journal.get_document("import_summary")["created"] == 6


# ----------------------------------------------------------------------------- pacing
def test_parse_budget_forms():
    assert parse_budget("500/10s") == Budget(500, 10.0)
    assert parse_budget("50") == Budget(500, 10.0)
    assert parse_budget("3000/min") == Budget(3000, 60.0)
    assert parse_budget("20/s") == Budget(20, 1.0)
    assert parse_budget(None) == Budget(500, 10.0)
    with pytest.raises(ValueError):
        parse_budget("fast")


def test_pacer_overall_budget_follows_a_raised_write_budget():
    from wizard.core.pacing import Pacer

    assert Pacer().total.budget == Budget(6000, 60.0)
    assert Pacer(parse_budget("1000/10s")).total.budget == Budget(12000, 60.0)
    assert Pacer().writes.capacity == 500 and Pacer(margin=0.9).writes.capacity == 450


def test_sdk_errors_map_to_the_kinds_the_engine_acts_on():
    from workos._errors import (
        AuthenticationError,
        BadRequestError,
        ConflictError,
        NotFoundError,
        RateLimitExceededError,
        ServerError,
        UnprocessableEntityError,
        WorkOSConnectionError,
        WorkOSError,
        WorkOSTimeoutError,
    )

    from wizard.clients.errors import ErrorKind
    from wizard.clients.workos import to_api_error

    secret_body = '{"password_hash": "$2b$10$abcdefghijklmnopqrstuv"}'
    exists = to_api_error(BadRequestError(
        "Could not create user.", request_id="req_1", raw_body=secret_body,
        response_json={"code": "user_creation_error", "message": "Could not create user.",
                       "errors": [{"code": "email_not_available", "message": "This email is not available."}]}))
    assert (exists.kind, exists.code, exists.request_id) == (ErrorKind.EXISTS, "email_not_available", "req_1")
    assert "$2b$" not in str(exists) and "password" not in str(exists)
    assert to_api_error(ConflictError("x", response_json={"code": "user_already_exists"})).kind is ErrorKind.EXISTS
    limited = to_api_error(RateLimitExceededError("slow down", retry_after=3.0))
    assert (limited.kind, limited.retry_after) == (ErrorKind.RATE_LIMITED, 3.0)
    assert to_api_error(ServerError("boom", status_code=503)).kind is ErrorKind.TRANSIENT
    assert to_api_error(AuthenticationError("no")).kind is ErrorKind.AUTH
    assert to_api_error(NotFoundError("no")).kind is ErrorKind.NOT_FOUND
    invalid = to_api_error(UnprocessableEntityError("bad", response_json={"code": "invalid_metadata",
                                                                          "message": "Metadata too big"}))
    assert (invalid.kind, invalid.code) == (ErrorKind.INVALID, "invalid_metadata")
    for exc in (WorkOSTimeoutError(), WorkOSConnectionError(), WorkOSError("Network error: reset")):
        assert to_api_error(exc).kind is ErrorKind.TRANSIENT
