"""Delta sync against the WorkOS emulator over real HTTP: a run imports an export, then syncs a
second export with new, changed, re-hashed, blocked and removed users. WorkOS ends equal to the
second export, unchanged users receive no request at all, and a SIGKILL mid-sync plus a resume
lose and duplicate nothing."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import bcrypt
import pytest

from wizard.core.journal import Journal
from wizard.core.records import UserStatus
from wizard.sandbox.faults import Faults

CONN = "Username-Password-Authentication"
N = 24


def _hash(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()


def _db_user(i: int, **over) -> dict:
    oid = f"{i:024x}"
    u = {"user_id": f"auth0|{oid}", "email": f"user{i}@example.com", "email_verified": True,
         "given_name": f"Given{i}", "family_name": f"Family{i}",
         "identities": [{"connection": CONN, "provider": "auth0", "user_id": oid, "isSocial": False}],
         "app_metadata": {"plan": "free"}}
    u.update(over)
    return u


def _social_user(i: int) -> dict:
    return {"user_id": f"google-oauth2|{1000 + i}", "email": f"social{i}@gmail.com", "email_verified": True,
            "given_name": f"Soc{i}", "family_name": "Ial",
            "identities": [{"connection": "google-oauth2", "provider": "google-oauth2",
                            "user_id": str(1000 + i), "isSocial": True}]}


def _hash_row(user: dict, h: str) -> dict:
    return {"_id": {"$oid": user["user_id"].removeprefix("auth0|")}, "email": user["email"],
            "email_verified": True, "passwordHash": h, "connection": CONN,
            "password_set_date": {"$date": "2024-01-01T00:00:00.000Z"}}


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


class Tenant:
    """Two snapshots of one small Auth0 tenant, with the passwords that go with each."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.passwords1 = {i: f"first-pass-{i}" for i in range(1, 13)}  # users 13..N-2 have no hash yet
        self.users1 = [_db_user(i) for i in range(1, N - 1)] + [_social_user(1), _social_user(2)]
        self.hashes1 = {i: _hash(p) for i, p in self.passwords1.items()}
        # ---- the second snapshot
        self.passwords2 = dict(self.passwords1)
        self.passwords2[6] = "changed-in-auth0-6"  # a password changed in Auth0
        self.passwords2[13] = "late-export-13"  # a hash that arrived late (reset -> password)
        self.passwords2[30] = "new-user-30"
        hashes2 = {i: self.hashes1[i] for i in self.passwords1}
        for i in (6, 13, 30):
            hashes2[i] = _hash(self.passwords2[i])
        self.hashes2 = hashes2
        users2 = []
        for u in self.users1:
            i = int(u["email"].split("@")[0].removeprefix("user")) if u["user_id"].startswith("auth0|") else None
            if i == 7:
                continue  # gone from Auth0
            u = json.loads(json.dumps(u))
            if i == 2:
                u["email"] = "renamed2@example.com"
            elif i == 3:
                u["given_name"] = "Renamed"
            elif i == 4:
                u["app_metadata"] = {"plan": "pro"}
            elif i == 5:
                u["email_verified"] = True
            elif i == 8:
                u["blocked"] = True
            elif i == 9:
                u["email"] = "taken@example.com"  # another WorkOS user already has it
            users2.append(u)
        users2.append(_db_user(30))
        users2.append(_social_user(3))
        self.users2 = users2
        self.users1[4]["email_verified"] = False  # user5 verifies between the snapshots

    def files(self, n: int) -> tuple[Path, Path]:
        users = self.users1 if n == 1 else self.users2
        hashes = self.hashes1 if n == 1 else self.hashes2
        by_i = {int(u["email"].split("@")[0].removeprefix("user")): u for u in users
                if u["user_id"].startswith("auth0|") and u["email"].startswith("user")}
        by_i.update({2: next(u for u in users if u["user_id"] == "auth0|" + f"{2:024x}")} if n == 2 else {})
        by_i.update({9: next(u for u in users if u["user_id"] == "auth0|" + f"{9:024x}")} if n == 2 else {})
        rows = [_hash_row(by_i[i], h) for i, h in sorted(hashes.items()) if i in by_i]
        return (_write(self.root / f"users{n}.ndjson", users), _write(self.root / f"passwords{n}.ndjson", rows))


def _env(workos_emu) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKOS_", "AUTH0_"))}
    env.update(WORKOS_API_KEY=workos_emu.api_key, WORKOS_CLIENT_ID=workos_emu.client_id,
               WORKOS_BASE_URL=workos_emu.base_url, PYTHONUNBUFFERED="1")
    return env


def _wizard(args: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wizard", "--env-file", str(cwd / "absent.env"), *args],
                          env=env, cwd=cwd, capture_output=True, text=True, timeout=180)


def _snapshot(emu) -> dict[str, dict]:
    while True:
        try:
            return {u["external_id"]: dict(u) for u in list(emu.users.values()) if u.get("external_id")}
        except RuntimeError:
            continue


def _assert_equal_to_export(emu, tenant: Tenant, passwords: dict[int, str]) -> None:
    remote = {k: v for k, v in _snapshot(emu).items() if not k.startswith("crm-")}  # not ours
    expected = {u["user_id"]: u for u in tenant.users2 if not u.get("blocked")}
    assert set(remote) == set(expected), (set(remote) ^ set(expected))
    for uid, u in expected.items():
        r = remote[uid]
        if uid == "auth0|" + f"{9:024x}":
            assert r["email"] == "user9@example.com"  # refused: never took the other user's email
            continue
        assert r["email"] == u["email"].lower(), uid
        assert r["first_name"] == u["given_name"] and r["last_name"] == u["family_name"], uid
        assert r["email_verified"] is bool(u["email_verified"]), uid
        assert r["metadata"].get("plan") == (u.get("app_metadata") or {}).get("plan"), uid
    for i, password in passwords.items():
        uid = "auth0|" + f"{i:024x}"
        if uid in remote:
            assert emu.password_matches(remote[uid]["id"], password), i


def _import(tenant: Tenant, env, tmp_path: Path, run_dir: Path) -> None:
    users1, pw1 = tenant.files(1)
    done = _wizard(["import", "--users", str(users1), "--passwords", str(pw1), "--run-dir", str(run_dir),
                    "--yes"], env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def _outsider(workos_emu):
    """A WorkOS user that is not ours, holding the email user 9 moves to in the second export."""
    import asyncio

    from wizard.clients.workos import create_user, make_client
    from wizard.core.config import Settings

    emu = workos_emu.emulator

    async def go():
        client = make_client(Settings(workos_api_key=emu.api_key, workos_client_id=emu.client_id,
                                      workos_base_url=workos_emu.base_url))
        try:
            return await create_user(client, {"email": "taken@example.com", "external_id": "crm-42"})
        finally:
            await client.close()

    return asyncio.run(go())


def _requests_naming(emu, ids: set[str]) -> list:
    with emu._lock:
        return [r for r in emu.requests if any(i in r[1] for i in ids)]


def test_sync_brings_workos_to_the_second_export_and_leaves_unchanged_users_alone(workos_emu, tmp_path):
    emu = workos_emu.emulator
    env = _env(workos_emu)
    tenant = Tenant(tmp_path / "exports")
    run_dir = tmp_path / "run"
    _import(tenant, env, tmp_path, run_dir)
    before = _snapshot(emu)
    # somebody outside the migration already holds the email user 9 moves to
    outsider_user = _outsider(workos_emu)
    users2, pw2 = tenant.files(2)

    # dry run: the counts, and not a single request
    n_requests = len(emu.requests)
    dry = _wizard(["sync", "--run-dir", str(run_dir), "--users", str(users2), "--passwords", str(pw2),
                   "--dry-run"], env, tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert len(emu.requests) == n_requests
    out = dry.stdout
    assert "2 new in Auth0 (created)" in out  # user 30 and social 3
    assert "1 gone from Auth0, still in WorkOS" in out and "1 blocked in Auth0" in out
    assert "2 password arrived or changed" in out
    with Journal.open(run_dir) as journal:
        assert journal.get_document("sync_dry_run")["counts"]["changed"] == 5  # 2, 3, 4, 5, 9

    n_requests = len(emu.requests)
    done = _wizard(["sync", "--run-dir", str(run_dir), "--users", str(users2), "--passwords", str(pw2),
                    "--yes", "--delete-removed"], env, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr  # user 9's email is taken: one failure
    assert "email_taken" in done.stderr

    _assert_equal_to_export(emu, tenant, tenant.passwords2)
    assert emu.users[outsider_user.id]["external_id"] == "crm-42"  # untouched
    # unchanged users: not one request names them
    changed = {f"{i:024x}" for i in (2, 3, 4, 5, 6, 7, 8, 9, 13, 30)}
    unchanged_ids = {r["id"] for ext, r in before.items()
                     if not any(c in ext for c in changed) and "google-oauth2|1003" not in ext}
    assert len(unchanged_ids) >= 10
    naming = _requests_naming(emu, unchanged_ids)
    # the environment check reads back one user the run wrote (core/environment.py): a single GET,
    # nothing else names an unchanged user
    assert [r for r in naming if r[0] != "GET"] == [] and len(naming) <= 1, naming
    sync_requests = emu.requests[n_requests:]
    writes = [r for r in sync_requests if r[0] in ("POST", "PUT", "DELETE")]
    # 2 creates, 7 updates (2, 3, 4, 5, 6, 13 and the refused 9), 2 deletes (7 gone, 8 blocked)
    assert len(writes) == 11, writes

    with Journal.open(run_dir) as journal:
        syncs = journal.syncs(status=("done", "applied"))
        assert len(syncs) == 1 and syncs[0]["counts"]["unchanged"] >= 10
        taken = journal.findings(code="email_taken")
        assert len(taken) == 1 and taken[0].auth0_user_id == "auth0|" + f"{9:024x}"
        deleted = {w["auth0_id"] for w in journal.writes("delete_user")}
        assert deleted == {"auth0|" + f"{7:024x}", "auth0|" + f"{8:024x}"}
        assert journal.inputs()["users"]["path"] == str(users2.resolve())
    data = json.loads((run_dir / "summary.json").read_text())
    assert data["syncs"][0]["counts"]["new"] == 2
    with open(run_dir / "id-map.csv") as fh:
        rows = {r["auth0_user_id"]: r for r in csv.DictReader(fh)}
    assert rows["auth0|" + f"{7:024x}"]["workos_user_id"] == ""
    assert rows["auth0|" + f"{30:024x}"]["workos_user_id"]
    assert rows["auth0|" + f"{2:024x}"]["email"] == "renamed2@example.com"

    # a second sync of the same files sends nothing at all
    n_requests = len(emu.requests)
    again = _wizard(["sync", "--run-dir", str(run_dir), "--users", str(users2), "--passwords", str(pw2),
                     "--yes"], env, tmp_path)
    assert "0 changed" not in again.stdout  # zero counts are not listed
    writes = [r for r in emu.requests[n_requests:] if r[0] in ("POST", "PUT", "DELETE")]
    assert writes == []


def test_sync_only_the_late_password_export(workos_emu, tmp_path):
    """Imported without hashes, the hash file arrives: one sync with only --passwords."""
    emu = workos_emu.emulator
    env = _env(workos_emu)
    tenant = Tenant(tmp_path / "exports")
    users1, pw1 = tenant.files(1)
    run_dir = tmp_path / "run"
    done = _wizard(["import", "--users", str(users1), "--run-dir", str(run_dir), "--yes"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    synced = _wizard(["sync", "--run-dir", str(run_dir), "--passwords", str(pw1), "--yes"], env, tmp_path)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert f"{len(tenant.passwords1)} password arrived or changed" in synced.stdout
    remote = _snapshot(emu)
    for i, password in tenant.passwords1.items():
        assert emu.password_matches(remote["auth0|" + f"{i:024x}"]["id"], password), i
    assert len(remote) == len(tenant.users1)


def _in_flight(journal_path: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{journal_path}?mode=ro", uri=True, timeout=1)
        try:
            return db.execute("SELECT COUNT(*) FROM users WHERE status='in_flight'").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_sigkill_during_sync_then_resume_loses_and_duplicates_nothing(workos_emu, tmp_path):
    emu = workos_emu.emulator
    env = _env(workos_emu)
    tenant = Tenant(tmp_path / "exports")
    run_dir = tmp_path / "run"
    _import(tenant, env, tmp_path, run_dir)
    _outsider(workos_emu)
    users2, pw2 = tenant.files(2)
    # commit-then-fail keeps sent requests "in flight" while WorkOS already applied them; the
    # latency holds the sync open: the kill lands while a write is in the air
    emu.set_faults(Faults(latency_ms=150, commit_then_fail_rate=0.3, seed=3))
    writes_before = emu.request_count("PUT") + emu.request_count("POST") + emu.request_count("DELETE")
    proc = subprocess.Popen(
        [sys.executable, "-m", "wizard", "--env-file", str(tmp_path / "absent.env"), "sync", "--run-dir",
         str(run_dir), "--users", str(users2), "--passwords", str(pw2), "--yes", "--delete-removed",
         "--concurrency", "2"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    killed_in_flight = False
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            sent = emu.request_count("PUT") + emu.request_count("POST") + emu.request_count("DELETE")
            if sent - writes_before >= 3 and _in_flight(run_dir / "journal.sqlite"):
                killed_in_flight = True
                break
            time.sleep(0.002)
        assert proc.poll() is None, "the sync ended before the kill: " + proc.stderr.read().decode()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
    assert killed_in_flight and proc.returncode == -signal.SIGKILL
    with Journal.open(run_dir) as journal:
        assert [s["status"] for s in journal.syncs()][-1] == "applied"
    emu.set_faults(Faults())
    resumed = _wizard(["sync", "--run-dir", str(run_dir), "--resume"], env, tmp_path)
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr  # only user 9's taken email
    _assert_equal_to_export(emu, tenant, tenant.passwords2)
    ext = [u["external_id"] for u in list(emu.users.values())]
    assert len(ext) == len(set(ext))  # nobody created twice
    with Journal.open(run_dir) as journal:
        assert [s["status"] for s in journal.syncs()][-1] == "done"
        failed = journal.users(status=UserStatus.FAILED)
        assert [u.auth0_user_id for u in failed] == ["auth0|" + f"{9:024x}"]
        created = [w["auth0_id"] for w in journal.writes("create_user")]
        assert len(created) == len(set(created))
