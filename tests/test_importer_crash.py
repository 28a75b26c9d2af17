"""A real `python -m wizard import` process killed with SIGKILL mid-import, then resumed: WorkOS ends
with exactly the planned users, each once, with the right fields, and their old passwords work."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from wizard.core.journal import Journal
from wizard.core.records import UserStatus
from wizard.sandbox.faults import Faults


def _env(workos_emu) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKOS_", "AUTH0_"))}
    env.update(WORKOS_API_KEY=workos_emu.api_key, WORKOS_CLIENT_ID=workos_emu.client_id,
               WORKOS_BASE_URL=workos_emu.base_url, PYTHONUNBUFFERED="1")
    return env


def _in_flight(journal_path: Path) -> set[str]:
    """Read the running process's journal read-only (WAL lets us, without blocking it)."""
    try:
        db = sqlite3.connect(f"file:{journal_path}?mode=ro", uri=True, timeout=1)
        try:
            return {r[0] for r in db.execute("SELECT auth0_user_id FROM users WHERE status='in_flight'")}
        finally:
            db.close()
    except sqlite3.Error:
        return set()


def _external_ids(emulator) -> list[str]:
    while True:
        try:
            return [u["external_id"] for u in list(emulator.users.values())]
        except RuntimeError:  # the server thread changed the dict while we copied it
            continue


def _wizard(args: list[str], env: dict, cwd: Path, **kw):
    return subprocess.run([sys.executable, "-m", "wizard", "--env-file", str(cwd / "absent.env"), *args],
                          env=env, cwd=cwd, capture_output=True, text=True, timeout=120, **kw)


def test_kill_9_mid_import_then_resume_imports_everyone_exactly_once(workos_emu, demo_exports,
                                                                     demo_tenant, tmp_path):
    emu = workos_emu.emulator
    # the 10th write lands in WorkOS and its answer is held: that user stays `in_flight` in the
    # journal (committed before the request left) until the kill, deterministically; seeded
    # commit-then-fail answers add more landed-but-unanswered creates around it
    emu.set_faults(Faults(latency_ms=5, commit_then_fail_rate=0.12, error_rate=0.02, seed=9,
                          hold_after_commit=10))
    plan = emu.fault_plan
    env = _env(workos_emu)
    run_dir = tmp_path / "run"
    journal_path = run_dir / "journal.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "wizard", "--env-file", str(tmp_path / "absent.env"), "import",
         "--users", str(demo_exports.users_path), "--passwords", str(demo_exports.passwords_path),
         "--run-dir", str(run_dir), "--yes", "--rate", "20/s", "--concurrency", "4"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert plan.holding.wait(timeout=120), "no write reached the held answer: " + \
            (proc.stderr.read().decode() if proc.poll() is not None else "still running")
        assert proc.poll() is None, "the import finished before it could be killed"
        held = set(_in_flight(journal_path)) & set(_external_ids(emu))
        assert held, "the held user is in WorkOS and in flight in the journal"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        plan.release.set()
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    emu.set_faults(Faults(latency_ms=5, commit_then_fail_rate=0.12, error_rate=0.02, seed=10))

    with Journal.open(run_dir) as journal:
        before = journal.count_users()
    assert before.get(UserStatus.PLANNED, 0) + before.get(UserStatus.IN_FLIGHT, 0) > 0
    landed_before = len(emu.users)
    assert landed_before > 0

    resumed = _wizard(["import", "--resume", "--run-dir", str(run_dir), "--yes"], env, tmp_path)
    assert resumed.returncode == 0, resumed.stderr + (run_dir / "errors.jsonl").read_text()

    with Journal.open(run_dir) as journal:
        rows = [u for u in journal.users() if u.status != UserStatus.SKIPPED]
        counts = journal.count_users()
        summary = journal.get_document("import_summary")
    # WorkOS was empty: every importable user must now exist once and be recorded as *created*
    assert counts.get(UserStatus.CREATED) == len(rows), counts
    ext = _external_ids(emu)
    assert len(ext) == len(set(ext)) == len(rows)
    by_ext = {u["external_id"]: u for u in emu.users.values()}
    for row in rows:
        remote = by_ext[row.auth0_user_id]
        assert remote["id"] == row.workos_user_id
        assert remote["email"] == row.request["email"].strip().lower()
        assert remote.get("first_name") == row.request.get("first_name")
        assert remote["email_verified"] is bool(row.request.get("email_verified"))
    for email, password in demo_tenant.credentials:
        user = emu.user_by_email(email)
        assert user is not None and emu.password_matches(user["id"], password), email
    created_writes = {w["auth0_id"] for w in journal_writes(run_dir, "create_user")}
    assert created_writes == {r.auth0_user_id for r in rows}
    assert summary["reconciled"] >= 1  # the kill left a landed create in flight: resume reconciled it
    assert held <= {r.auth0_user_id for r in rows if r.status == UserStatus.CREATED}

    # a second run after completion sends no write and reports nothing failed
    posts = emu.request_count("POST")
    again = _wizard(["import", "--resume", "--run-dir", str(run_dir), "--yes"], env, tmp_path)
    assert again.returncode == 0, again.stderr
    assert emu.request_count("POST") == posts
    data = json.loads((run_dir / "summary.json").read_text())
    assert data["failed"] == 0 and data["session_created"] == 0 and data["created"] == len(rows)


def journal_writes(run_dir: Path, kind: str) -> list[dict]:
    with Journal.open(run_dir) as journal:
        return journal.writes(kind)
