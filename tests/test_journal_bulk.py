"""The plan's bulk load into the real SQLite journal: secondary indexes dropped for the load and
rebuilt once, back in place after a load that fails half-way (with the previous plan), and findings
written by chunks."""

from __future__ import annotations

import pytest

from wizard.core.findings import Finding, Severity
from wizard.core.journal import Journal, JournalError
from wizard.core.records import PlannedUser, UserStatus

BULK_INDEXES = {"users_status", "users_seq", "users_branch", "aliases_primary"}


def _planned(n: int, prefix: str = "u") -> list[PlannedUser]:
    return [PlannedUser(f"auth0|{prefix}{i}", f"{prefix}{i}@example.com", f"{prefix}{i}@example.com",
                        "password" if i % 2 else "social", {"email": f"{prefix}{i}@example.com"})
            for i in range(n)]


def _indexes(journal: Journal) -> set[str]:
    return {r[0] for r in journal._db.execute("SELECT name FROM sqlite_master WHERE type='index'")}


def test_replace_plan_rebuilds_the_indexes_it_dropped(tmp_path):
    with Journal.open(tmp_path / "run") as journal:
        assert journal.replace_plan(_planned(12_000)) == 12_000  # more than one chunk
        assert _indexes(journal) >= BULK_INDEXES
        plan = journal._db.execute("EXPLAIN QUERY PLAN SELECT * FROM users WHERE status=? ORDER BY seq",
                                   (UserStatus.PLANNED,)).fetchall()
        assert "users_status" in " ".join(str(tuple(r)) for r in plan)
        assert dict(journal.count_users())[UserStatus.PLANNED] == 12_000


def test_a_load_that_fails_half_way_keeps_the_old_plan_and_its_indexes(tmp_path):
    def broken():
        yield from _planned(7_000, "new")
        raise OSError("the export went away")

    with Journal.open(tmp_path / "run") as journal:
        journal.replace_plan(_planned(10))
        with pytest.raises(OSError):
            journal.replace_plan(broken())
        assert _indexes(journal) >= BULK_INDEXES
        assert sum(dict(journal.count_users()).values()) == 10
        assert journal._db.execute("PRAGMA cache_size").fetchone()[0] == -2000  # SQLite's default again


def test_rows_keep_the_plan_order_across_chunks(tmp_path):
    planned = _planned(16_000)
    with Journal.open(tmp_path / "run") as journal:
        assert journal.replace_plan(iter(planned)) == 16_000
        stored = [r[0] for r in journal._db.execute("SELECT auth0_user_id FROM users ORDER BY seq")]
    assert stored == [p.auth0_user_id for p in planned]


def test_a_load_that_sqlite_refuses_half_way_keeps_the_old_plan_and_the_journal_usable(tmp_path):
    planned = _planned(9_000, "new")
    planned.append(planned[6_000])  # the same Auth0 id twice: SQLite's UNIQUE constraint fails mid-load
    with Journal.open(tmp_path / "run") as journal:
        journal.replace_plan(_planned(10))
        with pytest.raises(JournalError, match="UNIQUE"):
            journal.replace_plan(iter(planned))
        assert sum(dict(journal.count_users()).values()) == 10
        assert _indexes(journal) >= BULK_INDEXES
        assert journal.replace_plan(_planned(20)) == 20  # nothing left half-open
        assert sum(dict(journal.count_users()).values()) == 20


def test_findings_are_written_by_chunks_all_of_them(tmp_path):
    findings = [Finding("users.json", i, "email", Severity.WARNING, "x", f"line {i}") for i in range(1, 12_346)]
    with Journal.open(tmp_path / "run") as journal:
        assert journal.add_findings(iter(findings)) == 12_345
        stored = journal.findings(limit=3, offset=12_342)
        assert [f.line for f in stored] == [12_343, 12_344, 12_345]


def _group(primary: str, *others: str) -> PlannedUser:
    email = f"{primary.split('|')[1]}@example.com"
    return PlannedUser(primary, email, email, "password", {"email": email}, auth0_ids=(primary, *others))


def test_only_merged_ids_are_stored_as_aliases_and_every_id_still_resolves(tmp_path):
    with Journal.open(tmp_path / "run") as journal:
        journal.replace_plan([_group("auth0|a", "google-oauth2|a"), _group("auth0|b"), _group("auth0|c")])
        assert [tuple(r) for r in journal._db.execute("SELECT auth0_user_id, primary_id FROM aliases")] == [
            ("google-oauth2|a", "auth0|a")]  # one row per merged duplicate, none for a user alone
        assert journal.user("google-oauth2|a").auth0_user_id == "auth0|a"
        assert journal.user("auth0|b").auth0_user_id == "auth0|b"
        assert journal.user("auth0|nobody") is None
        assert [a for a, _, _ in journal.id_map()] == ["auth0|a", "google-oauth2|a", "auth0|b", "auth0|c"]
        assert list(journal.id_map(batch=1)) == list(journal.id_map())  # read a planned user at a time
        assert (journal.alias_primary("google-oauth2|a"), journal.alias_primary("auth0|c"),
                journal.alias_primary("auth0|nobody")) == ("auth0|a", "auth0|c", None)


def test_a_re_plan_that_splits_a_group_points_each_id_at_its_own_row(tmp_path):
    with Journal.open(tmp_path / "run") as journal:
        journal.replace_plan([_group("auth0|a", "auth0|b")])
        assert journal.user("auth0|b").auth0_user_id == "auth0|a"
        journal.merge_plan([_group("auth0|a"), _group("auth0|b")])  # b leads its own group now
        assert journal.user("auth0|b").auth0_user_id == "auth0|b"
        assert [a for a, _, _ in journal.id_map()] == ["auth0|a", "auth0|b"]


def test_a_journal_of_an_earlier_version_with_an_alias_row_per_user_reads_the_same(tmp_path):
    with Journal.open(tmp_path / "run") as journal:
        journal.replace_plan([_group("auth0|a", "google-oauth2|a"), _group("auth0|b")])
        journal._db.executemany("INSERT OR REPLACE INTO aliases VALUES(?, ?)",
                                [("auth0|a", "auth0|a"), ("auth0|b", "auth0|b")])
        journal._db.commit()
        assert [a for a, _, _ in journal.id_map()] == ["auth0|a", "google-oauth2|a", "auth0|b"]
        assert journal.user("auth0|b").auth0_user_id == "auth0|b"


def test_hash_digests_have_no_rowid_and_an_older_rowid_table_works_the_same(tmp_path):
    import sqlite3

    from wizard.core.journal import JOURNAL_NAME

    old = tmp_path / "old"
    old.mkdir(mode=0o700)
    db = sqlite3.connect(old / JOURNAL_NAME)  # what an earlier version created
    db.execute("CREATE TABLE hash_digests (auth0_user_id TEXT PRIMARY KEY, digest INTEGER NOT NULL)")
    db.close()
    for run in (tmp_path / "new", old):
        with Journal.open(run) as journal:
            journal.replace_plan([PlannedUser("auth0|a", "a@example.com", "a@example.com", "password",
                                              {"email": "a@example.com"}, hash_ref=7)])
            assert journal.replace_hash_digests([("auth0|a", 42)]) == 1
            assert journal.hash_digest_of("auth0|a") == 42 and journal.has_hash_digests()
            sql = journal._db.execute("SELECT sql FROM sqlite_master WHERE name='hash_digests'").fetchone()[0]
        assert sql.endswith("WITHOUT ROWID") is (run.name == "new")
