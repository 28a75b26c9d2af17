"""The journal's typed documents: one name each, the same JSON on disk, old journals still read."""

from __future__ import annotations

import json
import sqlite3

from wizard.core import documents
from wizard.core.journal import Journal


def _all_documents():
    return [v for v in vars(documents).values() if isinstance(v, (documents.Document, documents.Checklist))]


def test_every_document_has_its_own_name():
    names = [d.name for d in _all_documents()]
    assert len(names) == len(set(names)) and len(names) >= 20


def test_a_document_written_before_reads_typed_and_writes_back_the_same_json(tmp_path):
    stored = {"planned": 9, "created": 5, "updated": 1, "skipped": 2, "failed": 1, "remaining": 0,
              "session_created": 5, "rate_limited": 3, "retries": 4, "duration_seconds": 1.5,
              "rate_per_second": 4.0, "dry_run": False, "would_create": 0, "would_update": 0, "would_fail": 0,
              "stopped": False, "stop_reason": None, "budget": "500/10s", "reconciled": 0}
    def on_disk() -> str:
        with sqlite3.connect(tmp_path / "journal.sqlite") as db:
            return db.execute("SELECT json FROM documents WHERE name='import_summary'").fetchone()[0]

    with Journal.open(tmp_path) as journal:
        journal.put_document("import_summary", stored)  # as an older wizard wrote it
        before = on_disk()
        summary = documents.IMPORT_SUMMARY.read(journal)
        assert (summary.created, summary.rate_limited, summary.budget) == (5, 3, "500/10s")
        assert summary.extra == {"session_created": 5, "reconciled": 0}
        documents.IMPORT_SUMMARY.write(journal, summary)
        assert on_disk() == before and json.loads(before) == stored  # byte for byte the same JSON


def test_missing_keys_take_their_defaults_and_nulls_are_kept_only_where_optional(tmp_path):
    with Journal.open(tmp_path) as journal:
        journal.put_document("import_dry_run", {"would_create": 2, "stopped": None})
        dry = documents.DRY_RUN.read(journal)
        assert dry.would_create == 2 and dry.would_fail == 0 and dry.stopped is False and dry.stop_reason is None


def test_a_document_of_the_wrong_shape_reads_as_absent(tmp_path):
    with Journal.open(tmp_path) as journal:
        journal.put_document("plan_summary", ["not", "an", "object"])
        assert documents.PLAN_SUMMARY.read(journal) is None and not documents.PLAN_SUMMARY.exists(journal)
        journal.put_document("verify_user_differences", {"not": "a list"})
        assert documents.USER_DIFFERENCES.read(journal) is None


def test_clear_and_checklists(tmp_path):
    with Journal.open(tmp_path) as journal:
        documents.GUIDE_ACK.write(journal, documents.Acknowledged(url="u", at=1.0))
        assert documents.GUIDE_ACK.read(journal).at == 1.0
        documents.GUIDE_ACK.clear(journal)
        assert documents.GUIDE_ACK.read(journal) is None
        assert documents.SOCIAL_CONFIRMATIONS.read(journal) == {}
        documents.SOCIAL_CONFIRMATIONS.tick(journal, "github", "2026-01-01T00:00:00Z")
        documents.SOCIAL_CONFIRMATIONS.tick(journal, "google-oauth2", "2026-01-01T00:00:00Z")
        documents.SOCIAL_CONFIRMATIONS.tick(journal, "github", None)
        assert documents.SOCIAL_CONFIRMATIONS.read(journal) == {"google-oauth2": "2026-01-01T00:00:00Z"}


def test_the_plan_summary_written_by_the_check_is_the_plans_own(tmp_path, demo_exports):
    from wizard.core.plan import build_plan, save_plan

    result = build_plan(demo_exports.users_path, demo_exports.passwords_path)
    with Journal.open(tmp_path) as journal:
        save_plan(journal, result)
        stored = documents.PLAN_SUMMARY.read(journal)
        assert json.loads(json.dumps(stored.dump())) == json.loads(json.dumps(result.summary))
        assert stored.passwords_file and stored.merge_rule and stored.planned == result.summary["planned"]
