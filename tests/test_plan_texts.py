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
