"""A total WorkOS outage and a password export changed under the run (issue 11), over real HTTP.

Every request failing must not burn every user's attempts: the workers pause together on a growing
back-off, say so, and after the configured time with no answer stop cleanly; a resume then imports
everyone exactly once. A password file changed in place (even with its size and mtime kept) stops
the run before a hash from it is sent."""

from __future__ import annotations

import asyncio
import os

from test_importer import make_plan, run_import, settings_for

from wizard.clients.workos import make_client
from wizard.core.digests import record_hash_digests
from wizard.core.importer import Importer
from wizard.core.outage import OutageWatch
from wizard.core.records import UserStatus
from wizard.sandbox.faults import Faults

FAST = {"backoff_base": 0.01, "backoff_cap": 0.05}


async def test_total_outage_stops_cleanly_after_the_give_up_time_and_fails_nobody(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 12)
    workos_emu.emulator.set_faults(Faults(error_rate=1.0, seed=3))  # every request answers 5xx
    outage = OutageWatch(give_up_after=0.4, after_failures=4, base=0.05, cap=0.1)
    summary, events = await run_import(journal, workos_emu, max_attempts=2, outage=outage)
    assert summary.stopped and "did not answer" in summary.stop_reason
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
    outage = OutageWatch(give_up_after=120, after_failures=3, base=0.02, cap=0.1)
    client = make_client(settings_for(workos_emu))
    events = []
    importer = Importer(journal, client, on_progress=events.append, max_attempts=2, outage=outage, **FAST)
    task = asyncio.get_running_loop().create_task(importer.run())
    while not outage.in_outage or outage.failures < 12:  # well past two attempts per worker
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
