"""A total WorkOS outage (every request 500, or connection refused): the import (and the other long
write jobs) pause all workers with a growing back-off, say so on progress, spend no user's attempts,
and stop cleanly after `--give-up-after` with the journal consistent; the same command resumes."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

import pytest
from test_importer import FAST, assert_exactly_planned, make_plan, run_import, settings_for
from test_roles import full_auth0, migrated  # noqa: F401  (fixtures)

from wizard.clients.workos import make_client
from wizard.core.config import Settings
from wizard.core.digests import record_hash_digests
from wizard.core.importer import Importer
from wizard.core.journal import Journal
from wizard.core.outage import Outage, WorkOSUnreachable, parse_give_up_after
from wizard.core.records import UserStatus
from wizard.sandbox.faults import Faults

EVERYTHING_FAILS = Faults(error_rate=1.0)
FAST_RETRY = {"backoff_base": 0.01, "backoff_cap": 0.05}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _import(journal, settings, **kw):
    events = []
    client = make_client(settings, timeout=5.0)
    try:
        summary = await Importer(journal, client, on_progress=events.append, **{**FAST, **kw}).run()
    finally:
        await client.close()
    return summary, events


def _left_consistent(journal: Journal) -> None:
    counts = journal.count_users()
    assert not counts.get(UserStatus.FAILED), "nobody is failed by an outage"
    assert set(counts) <= {UserStatus.PLANNED, UserStatus.IN_FLIGHT, UserStatus.CREATED, UserStatus.SKIPPED}


async def test_every_request_500_pauses_everyone_then_stops_cleanly_and_resumes(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 30)
    emu = workos_emu.emulator
    emu.set_faults(EVERYTHING_FAILS)
    try:
        # max_attempts=2: without the outage rule every user would fail after two tries
        summary, events = await _import(journal, settings_for(workos_emu), give_up_after=1.5, max_attempts=2)
    finally:
        emu.set_faults(Faults())
    assert summary.stopped and summary.stop_reason.startswith("WorkOS unreachable since ")
    assert "--give-up-after" in summary.stop_reason and "resume" in summary.stop_reason
    _left_consistent(journal)
    assert summary.failed == 0 and summary.remaining == 30
    lines = [e.latest_error for e in events if e.latest_error and "retrying in" in e.latest_error]
    assert lines and lines[0].startswith("WorkOS unreachable since "), [e.latest_error for e in events]
    assert any(e.paused_until for e in events if e.latest_error in lines), "the pause shows on progress"
    posts = emu.request_count("POST", "/user_management/users")
    assert posts < 30 * 2, f"{posts} creates sent: the workers were held, not each retried to the end"
    # WorkOS is back: the same run resumes and imports everyone exactly once
    summary, _ = await _import(journal, settings_for(workos_emu))
    assert summary.ok, summary.stop_reason
    assert_exactly_planned(workos_emu, journal)


async def test_connection_refused_for_every_request_stops_cleanly(tmp_path, workos_emu):
    journal = make_plan(tmp_path / "run", 12)
    down = Settings(workos_api_key=workos_emu.api_key, workos_client_id=workos_emu.client_id,
                    workos_base_url=f"http://127.0.0.1:{_closed_port()}")
    summary, _ = await _import(journal, down, give_up_after=0.5, max_attempts=2)
    assert summary.stopped and summary.stop_reason.startswith("WorkOS unreachable since ")
    assert summary.failed == 0
    assert set(journal.count_users()) <= {UserStatus.PLANNED, UserStatus.IN_FLIGHT}, "all left to resume"


def test_one_call_failing_alone_is_no_outage_and_the_wait_doubles_to_its_cap():
    now = [1000.0]
    calls = (object(), object())  # two calls' retry states
    outage = Outage(give_up_after=600, wall=lambda: now[0])
    for _ in range(10):  # one call failing while nothing else is asked: its own attempts count
        assert outage.failed(calls[0], "HTTP 500") is None
    assert not outage.active
    outage.answered()
    waits = []
    i = 0
    while len(waits) < 8:  # two calls failing with no answer between: an outage; each probe waits longer
        i += 1
        until = outage.failed(calls[i % 2], "HTTP 500")
        if until is not None:
            waits.append(round(until - now[0], 3))
            now[0] = until  # the wait ends, the probe fails
    assert waits[:8] == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0], waits
    assert "unreachable since" in outage.line()
    now[0] = outage.since + 600
    with pytest.raises(WorkOSUnreachable, match="WorkOS unreachable since"):
        outage.failed(calls[0], "HTTP 500")
    assert not outage.active, "after giving up the next run starts afresh"
    for i in range(6):
        outage.failed(calls[i % 2], "HTTP 500")
    assert outage.active and outage.answered() and not outage.active, "any answer ends it"


def test_give_up_after_accepts_seconds_and_units():
    assert [parse_give_up_after(t) for t in ("900", "90s", "15m", "1h", "0")] == [900, 90, 900, 3600, 0]
    assert parse_give_up_after(None) == 900
    for bad in ("forever", "-1", "nan", ""):
        with pytest.raises(ValueError, match="--give-up-after"):
            parse_give_up_after(bad)


def test_the_import_command_gives_up_after_the_given_time_and_resumes(workos_emu, demo_exports, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKOS_", "AUTH0_"))} | {
        "WORKOS_API_KEY": workos_emu.api_key, "WORKOS_CLIENT_ID": workos_emu.client_id,
        "WORKOS_BASE_URL": workos_emu.base_url}
    run_dir = tmp_path / "run"

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "wizard", "--env-file", str(tmp_path / "absent.env"), "import",
                               *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    workos_emu.emulator.set_faults(EVERYTHING_FAILS)
    try:
        p = cli("--users", str(demo_exports.users_path), "--passwords", str(demo_exports.passwords_path),
                "--run-dir", str(run_dir), "--yes", "--give-up-after", "1s")
    finally:
        workos_emu.emulator.set_faults(Faults())
    assert p.returncode == 1, p.stderr
    assert "WorkOS unreachable since" in p.stderr and "Traceback" not in p.stderr, p.stderr
    assert "failed 0" in p.stdout, p.stdout
    with Journal.open(run_dir) as journal:
        _left_consistent(journal)
    refused = cli("--give-up-after", "forever", "--resume", "--run-dir", str(run_dir))
    assert refused.returncode == 2 and "--give-up-after" in refused.stderr
    p = cli("--resume", "--run-dir", str(run_dir), "--yes")
    assert p.returncode == 0, p.stderr


# ---------------------------------------------------------------------------- the other long write jobs
def _flip_to_outage(emu, operation: str):
    """An on_progress that makes every request fail from the job's first progress event of
    `operation` on (the outage starts mid-run, after the environment check passed)."""
    flipped = []

    def on_progress(event) -> None:
        if event.operation == operation and not flipped:
            emu.set_faults(EVERYTHING_FAILS)
            flipped.append(event)
    return on_progress


def test_the_organizations_step_stops_cleanly_in_an_outage_and_a_rerun_finishes(tmp_path, workos_emu, auth0_emu,
                                                                               sandbox_settings, demo_tenant):
    from test_orgs import _auth0, _import_users, _workos

    from wizard.core.orgs import export_organizations
    from wizard.tasks.orgs import run_org_migration

    emu = workos_emu.emulator
    with Journal.open(tmp_path / "run") as journal:
        export_organizations(_auth0(auth0_emu), journal)
        _import_users(journal, _workos(workos_emu), demo_tenant)
        try:
            with pytest.raises(WorkOSUnreachable, match="WorkOS unreachable since"):
                run_org_migration(journal, sandbox_settings, on_progress=_flip_to_outage(emu, "orgs"),
                                  give_up_after=0.5)
        finally:
            emu.set_faults(Faults())
        assert len(emu.organizations) < len(demo_tenant.organizations), "stopped before the end"
        again = run_org_migration(journal, sandbox_settings)
        assert again.migration.ok, again.migration.problems
        assert len(emu.organizations) == len(demo_tenant.organizations)


def test_the_roles_step_stops_cleanly_in_an_outage_and_a_rerun_finishes(migrated, workos_emu,  # noqa: F811
                                                                       sandbox_settings):
    from wizard.tasks.roles import run_roles

    journal, _ = migrated
    emu = workos_emu.emulator
    try:
        with pytest.raises(WorkOSUnreachable, match="WorkOS unreachable since"):
            run_roles(journal, sandbox_settings, on_progress=_flip_to_outage(emu, "roles-permissions"),
                      give_up_after=0.5)
    finally:
        emu.set_faults(Faults())
    again = run_roles(journal, sandbox_settings)
    assert again.outcome.ok, again.outcome.problems


def test_the_sso_step_stops_cleanly_in_an_outage_and_a_rerun_finishes(tmp_path, sandbox_settings, demo_exports,
                                                                     workos_emu):
    from sso_helpers import _world

    from wizard.tasks.sso import run_sso

    emu = workos_emu.emulator
    journal = _world(tmp_path, sandbox_settings, demo_exports)
    try:
        try:
            with pytest.raises(WorkOSUnreachable, match="WorkOS unreachable since"):
                run_sso(journal, sandbox_settings, write=True,
                        on_progress=_flip_to_outage(emu, "sso-connections"), give_up_after=0.5)
        finally:
            emu.set_faults(Faults())
        again = run_sso(journal, sandbox_settings, write=True)
        assert again.ok, again.run
        assert again.run["connections"].get("failed", 0) == 0
    finally:
        journal.close()


# ---------------------------------------------------------------------------- from the import-only version
async def test_total_outage_stops_cleanly_after_the_give_up_time_and_fails_nobody(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 12)
    workos_emu.emulator.set_faults(Faults(error_rate=1.0, seed=3))  # every request answers 5xx
    outage = Outage(give_up_after=0.4, streak=4, first_wait=0.05, max_wait=0.1)
    summary, events = await run_import(journal, workos_emu, max_attempts=2, outage=outage)
    assert summary.stopped and "WorkOS unreachable since" in summary.stop_reason
    assert summary.failed == 0 and summary.created == 0  # two attempts each would have failed them all
    assert any("WorkOS unreachable since" in (e.latest_error or "") for e in events)
    assert not any("rate limited" in (e.latest_error or "").lower() for e in events)
    assert set(journal.count_users()) <= {UserStatus.PLANNED, UserStatus.IN_FLIGHT}
    workos_emu.emulator.set_faults(Faults())  # WorkOS is back: the same command resumes
    summary, _ = await run_import(journal, workos_emu)
    assert summary.ok and journal.count_users() == {UserStatus.CREATED: 12}
    assert len(workos_emu.emulator.users) == 12


async def test_outage_that_ends_resumes_every_worker_without_failing_users(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 10)
    workos_emu.emulator.set_faults(Faults(error_rate=1.0, seed=4))
    outage = Outage(give_up_after=120, streak=3, first_wait=0.02, max_wait=0.1)
    client = make_client(settings_for(workos_emu))
    events = []
    importer = Importer(journal, client, on_progress=events.append, max_attempts=2, outage=outage, **FAST_RETRY)
    task = asyncio.get_running_loop().create_task(importer.run())
    while not outage.active or outage.failures < 12:  # well past two attempts per worker
        await asyncio.sleep(0.01)
    workos_emu.emulator.set_faults(Faults())
    summary = await task
    await client.close()
    assert not summary.stopped and summary.failed == 0
    assert journal.count_users() == {UserStatus.CREATED: 10} and len(workos_emu.emulator.users) == 10


async def test_password_file_rewritten_with_same_size_and_mtime_stops_before_sending_it(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 4)
    pw = journal.input_path("passwords")
    record_hash_digests(journal, pw)  # what `check` records with every plan
    stamp = pw.stat()
    lines = pw.read_text().splitlines(keepends=True)
    lines[0], lines[1] = lines[1].replace("u00002", "u00000").replace("u2@", "u0@"), \
        lines[0].replace("u00000", "u00002").replace("u0@", "u2@")  # hashes swapped between two users
    pw.write_text("".join(lines))
    os.utime(pw, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert pw.stat().st_size == stamp.st_size
    summary, _ = await run_import(journal, workos_emu, concurrency=1)
    assert summary.stopped and "changed since it was planned" in summary.stop_reason
    assert "another hash than the one planned" in summary.stop_reason and pw.name in summary.stop_reason
    assert not any(workos_emu.emulator.has_password(uid) for uid in workos_emu.emulator.users)
    assert summary.failed == 0


async def test_password_file_touched_during_the_import_stops_the_run(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 6)
    pw = journal.input_path("passwords")
    with pw.open("a") as f:
        f.write("\n")  # appended to after the plan: size and mtime differ
    summary, _ = await run_import(journal, workos_emu)
    assert summary.stopped and "its size, modification time or inode differs" in summary.stop_reason
    assert summary.failed == 0
