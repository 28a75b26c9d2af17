"""Rollback engine: deletes only what this run created, journalled, idempotent, paced through 429s."""

from __future__ import annotations

import time

from test_importer import make_plan, run_import, settings_for
from test_workos_conformance import Variant, answer

from wizard.clients.workos import make_client
from wizard.core.artifacts import write_id_map
from wizard.core.config import Settings
from wizard.core.environment import ENVIRONMENT_DOCUMENT
from wizard.core.progress import Progress
from wizard.core.records import UserStatus
from wizard.core.rollback import Rollback, rollback_targets
from wizard.sandbox.faults import Faults
from wizard.sandbox.ratelimit import RateLimits
from wizard.sandbox.server import serve


async def rollback(journal, emu, **kw):
    events: list[Progress] = []
    client = make_client(settings_for(emu))
    try:
        summary = await Rollback(journal, client, on_progress=events.append,
                                 backoff_base=0.02, backoff_cap=0.2, **kw).run()
    finally:
        await client.close()
    return summary, events


async def test_rollback_deletes_created_users_and_restores_updated_ones(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 10)
    client = make_client(settings_for(workos_emu))
    try:
        pre = await client.user_management.create_user(email="u3@example.com", first_name="Pre")
    finally:
        await client.close()
    await run_import(journal, workos_emu)
    assert len(rollback_targets(journal)) == 9
    summary, events = await rollback(journal, workos_emu)
    assert (summary.deleted, summary.already_gone, summary.failed) == (9, 0, 0) and summary.ok
    assert list(workos_emu.emulator.users) == [pre.id]
    kept = workos_emu.emulator.users[pre.id]  # kept, and put back as it was before the run
    assert kept["external_id"] is None and kept["first_name"] == "Pre"
    assert summary.restored == 1 and not kept.get("metadata")
    assert journal.count_users() == {UserStatus.PLANNED: 10}
    assert len(journal.writes("delete_user")) == 9 and len(journal.writes("restore_user")) == 1
    assert events[-1].done and events[-1].counts.get("deleted") == 9
    path = write_id_map(journal, tmp_path / "run")
    assert path.is_file()
    # idempotent: a second rollback has nothing to do and sends nothing
    deletes = workos_emu.emulator.request_count("DELETE")
    again, _ = await rollback(journal, workos_emu)
    assert again.targets == 0 and workos_emu.emulator.request_count("DELETE") == deletes
    # and the run can be imported again after a rollback
    summary, _ = await run_import(journal, workos_emu)
    assert (summary.created, summary.updated, summary.session_created) == (9, 1, 9)
    assert len(workos_emu.emulator.users) == 10


async def test_rollback_counts_users_already_gone_and_survives_faults(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 20)
    await run_import(journal, workos_emu)
    gone = journal.users(status=UserStatus.CREATED)[0]
    client = make_client(settings_for(workos_emu))
    try:
        await client.user_management.delete_user(gone.workos_user_id)
    finally:
        await client.close()
    workos_emu.emulator.set_faults(Faults(error_rate=0.1, commit_then_fail_rate=0.1, seed=3))
    summary, _ = await rollback(journal, workos_emu, max_attempts=8)
    assert summary.failed == 0 and summary.deleted + summary.already_gone == 20
    assert summary.already_gone >= 1
    assert not workos_emu.emulator.users


async def test_rollback_pauses_on_429(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 14)
    await run_import(journal, workos_emu)
    workos_emu.emulator.set_limits(RateLimits(writes_per_10s=8))
    time.sleep((8.5 - time.monotonic() % 10) % 10)  # near the end of the emulator's fixed window
    summary, events = await rollback(journal, workos_emu, rate="100/s")
    assert summary.ok and summary.deleted == 14 and not workos_emu.emulator.users
    assert any(e.paused_until for e in events)


async def test_wrong_key_stops_rollback_without_deleting(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 4)
    await run_import(journal, workos_emu)
    client = make_client(Settings(workos_api_key="sk_test_bad", workos_base_url=workos_emu.base_url))
    try:
        summary = await Rollback(journal, client).run()
    finally:
        await client.close()
    assert summary.stopped and summary.deleted == 0 and len(workos_emu.emulator.users) == 4
    assert journal.count_users() == {UserStatus.CREATED: 4}


async def _rollback_through(variant, journal, emu, **kw):
    """Rollback against the emulator behind a conformance `Variant` (another valid WorkOS answer)."""
    with serve(variant) as url:
        # the same environment behind another URL: the run's binding names that URL
        bound = journal.get_document(ENVIRONMENT_DOCUMENT)
        journal.put_document(ENVIRONMENT_DOCUMENT, {**bound, "base_url": url.rstrip("/").lower()})
        client = make_client(Settings(workos_api_key=emu.api_key, workos_base_url=url))
        try:
            return await Rollback(journal, client, backoff_base=0.02, backoff_cap=0.2, **kw).run()
        finally:
            await client.close()


async def test_rollback_waits_out_a_503_retry_after(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 1)
    await run_import(journal, workos_emu)
    deletes = {"n": 0}

    def before(req):
        if req.method == "DELETE":
            deletes["n"] += 1
            if deletes["n"] == 1:
                return answer(503, "<html><title>503 Service Unavailable</title></html>",
                              {"Retry-After": "1"}, "text/html")
        return None

    variant = Variant(workos_emu.emulator.app, before=before)
    summary = await _rollback_through(variant, journal, workos_emu)
    assert summary.ok and summary.deleted == 1 and not workos_emu.emulator.users
    sent = [r.at for r in variant.log if r.method == "DELETE"]
    assert len(sent) == 2 and sent[1] - sent[0] >= 0.9  # the Retry-After, not the 20 ms backoff


async def test_rollback_gives_up_after_a_bounded_number_of_429s(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 1)
    await run_import(journal, workos_emu)

    def before(req):
        if req.method == "DELETE":
            return answer(429, {"message": "Too many requests", "code": "rate_limit_exceeded"},
                          {"Retry-After": "0.5"})
        return None

    variant = Variant(workos_emu.emulator.app, before=before)
    summary = await _rollback_through(variant, journal, workos_emu, max_rate_limited=2)
    assert (summary.deleted, summary.failed) == (0, 1) and not summary.ok
    assert sum(1 for r in variant.log if r.method == "DELETE") == 3  # the first try and 2 retries
    assert len(workos_emu.emulator.users) == 1  # nothing deleted, the user is reported failed
    assert summary.failures[0]["workos_user_id"] == journal.users()[0].workos_user_id
