"""What a saved plan keeps, as the check leaves it: the hash digests the check takes while it reads
the password export equal a fresh read's, and a journal kept by an older version (requests written
by json.dumps, with its spacing) syncs an unchanged export as unchanged."""

from __future__ import annotations

import json
import sqlite3

import pytest
from test_sync import Tenant, _env, _wizard

from wizard.core.digests import FileDigests, digest_key
from wizard.core.journal import JOURNAL_NAME, Journal
from wizard.core.plan import build_plan, save_plan
from wizard.core.sync import plan_sync
from wizard.tasks.check import run_check


def _stored_digests(journal: Journal) -> dict[str, tuple[int, int]]:
    return {aid: (ref, journal.hash_digest_of(aid)) for aid, ref in journal.iter_hash_refs()}


@pytest.mark.parametrize("taken_by_the_check", [True, False], ids=["check-digests", "re-read"])
def test_saved_hash_digests_equal_a_fresh_read_of_the_password_export(tmp_path, taken_by_the_check):
    users, passwords = Tenant(tmp_path / "exports").files(1)
    with Journal.open(tmp_path / "run") as journal:
        if taken_by_the_check:  # the check's path: the run's key goes to build_plan
            saved = run_check(journal, users, passwords).saved
        else:  # a plan built without the key (the recovery path): save_plan reads the file again
            saved = save_plan(journal, build_plan(users, passwords))
        assert saved
        stored = _stored_digests(journal)
        fresh = FileDigests(passwords, digest_key(journal))
    assert len(stored) == 12  # the first snapshot's twelve hashed users
    for aid, (ref, digest) in stored.items():
        assert digest is not None and digest == fresh.at(ref) != 0, aid


def test_a_journal_written_with_json_dumps_spacing_syncs_its_unchanged_export_as_unchanged(workos_emu, tmp_path):
    tenant = Tenant(tmp_path / "exports")
    users, passwords = tenant.files(1)
    run_dir = tmp_path / "run"
    done = _wizard(["import", "--users", str(users), "--passwords", str(passwords), "--run-dir", str(run_dir),
                    "--yes"], _env(workos_emu), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    db = sqlite3.connect(run_dir / JOURNAL_NAME)
    with db:  # what an older version wrote: json.dumps(request, sort_keys=True), json.dumps(ids)
        rows = db.execute("SELECT auth0_user_id, request_json, auth0_ids_json FROM users").fetchall()
        db.executemany("UPDATE users SET request_json=?, auth0_ids_json=? WHERE auth0_user_id=?",
                       [(json.dumps(json.loads(r), sort_keys=True), json.dumps(json.loads(i)), a)
                        for a, r, i in rows])
    changed = db.execute("SELECT COUNT(*) FROM users WHERE request_json LIKE '%\": %'").fetchone()[0]
    db.close()
    assert changed == len(rows) > 0  # the rewrite took: every row now has the old spacing
    with Journal.open(run_dir) as journal:
        sync = plan_sync(journal, users, passwords, dry_run=True)
    assert sync.counts["unchanged"] == len(rows), sync.counts
    assert sync.counts["local_only"] == 0 and sync.counts["changed"] == 0, sync.counts


def _varied_users() -> list[dict]:
    """Lines that exercise every input the mapping reads: names and their fallbacks, metadata of
    every JSON type (nested, numbers, unicode, too long, reserved keys), merged duplicates,
    blocked, invalid and passwordless users, identities of each kind, non-ASCII ids."""
    db = [{"connection": "Username-Password-Authentication", "provider": "auth0", "isSocial": False}]
    users = []
    for i in range(1, 41):
        oid = f"{i:024x}"
        u = {"user_id": f"auth0|{oid}", "email": f"User{i}@Example.com", "email_verified": i % 3 == 0,
             "identities": [dict(db[0], user_id=oid)]}
        if i % 4 == 0:
            u["given_name"], u["family_name"] = f"Gïven{i}", "Fämily"
        elif i % 4 == 1:
            u["name"] = f"Full Name {i}"
        else:
            u["name"] = u["email"]  # an email as name is never split into first/last
        if i % 5 == 0:
            u["user_metadata"] = {"plan": "pro", "seats": i, "ratio": 0.25, "nested": {"b": [1, {"z": None}], "a": "ü"},
                                  "auth0_user_id": "forged", "long": "x" * 700, "flag": True}
        if i % 6 == 0:
            u["app_metadata"] = {"roles": ["admin", "billing"], "plan": "free", "tier": None}
        if i % 7 == 0:
            u["blocked"] = True
        users.append(u)
    users.append(dict(users[2], user_id="auth0|" + "f" * 24, identities=[dict(db[0], user_id="f" * 24)]))  # dup email
    users.append(dict(users[3], user_id="google-oauth2|77", email="USER4@example.com",
                      identities=[{"connection": "google-oauth2", "provider": "google-oauth2", "user_id": "77",
                                   "isSocial": True}]))  # merged with a database user
    users.append({"user_id": "samlp|acme|jane", "email": "jane@acme-corp.com",
                  "identities": [{"connection": "acme-saml", "provider": "samlp", "user_id": "acme|jane"}]})
    users.append({"user_id": "email|5f00", "email": "otp@example.com",
                  "identities": [{"connection": "email", "provider": "email", "user_id": "5f00"}]})
    users.append({"user_id": "auth0|ünïcode", "email": "uni@example.com", "identities": []})
    users.append({"user_id": "auth0|" + "9" * 24, "email": "not-an-email", "identities": []})
    users.append({"user_id": "auth0|" + "8" * 24, "identities": []})  # no email: invalid
    users.append({"user_id": "github|" + "1" * 300, "email": "long@example.com"})
    return users


def test_a_plan_mapped_from_the_spool_equals_one_mapped_from_the_export(tmp_path):
    users = tmp_path / "users.ndjson"
    users.write_text("".join(json.dumps(u, ensure_ascii=False) + "\n" for u in _varied_users()), encoding="utf-8")
    passwords = tmp_path / "passwords.ndjson"
    passwords.write_text("".join(
        json.dumps({"_id": {"$oid": f"{i:024x}"}, "email": f"user{i}@example.com",
                    "passwordHash": "$2b$10$" + "a" * 53, "connection": "Username-Password-Authentication"}) + "\n"
        for i in range(1, 30)))
    (tmp_path / "run").mkdir(mode=0o700)
    from_export = build_plan(users, passwords)
    from_spool = build_plan(users, passwords, spool_dir=tmp_path / "run")
    assert from_spool.planned._plan.spool is not None  # the spool path really ran
    assert from_export.planned._plan.spool is None
    expected = list(from_export.planned)
    assert len(expected) == len(from_export.planned) > 40
    assert {p.branch for p in expected} >= {"password", "reset", "social", "sso", "blocked", "invalid"}
    assert any(len(p.auth0_ids) > 1 for p in expected)
    assert list(from_spool.planned) == expected
    assert list(from_spool.planned) == expected  # re-iterable
    assert not list((tmp_path / "run").iterdir())  # the spool has no name in the folder


def test_a_spool_folder_that_cannot_hold_it_falls_back_to_reading_the_export_again(tmp_path):
    users = tmp_path / "users.ndjson"
    users.write_text("".join(json.dumps(u, ensure_ascii=False) + "\n" for u in _varied_users()), encoding="utf-8")
    gone = tmp_path / "no-such-folder"
    result = build_plan(users, spool_dir=gone)
    assert result.planned._plan.spool is None and not gone.exists()
    assert list(result.planned) == list(build_plan(users).planned)
