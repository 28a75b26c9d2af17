"""The roles, SSO and migration-window documents are typed (`core/documents.py`): journals written
before, with the same names and JSON, read unchanged; unknown keys ride along; a document that is
not a JSON object reads as absent instead of breaking the step."""

from __future__ import annotations

from wizard.core import cutover, documents, sso, ticket
from wizard.core import roles as rbac
from wizard.core.environment import recorded_environment
from wizard.core.journal import Journal
from wizard.core.pacing import WINDOW_DOCUMENT


def test_the_names_on_disk_are_unchanged():
    assert (rbac.DOC_READ, rbac.DOC_PLAN, rbac.DOC_DRY_RUN, rbac.DOC_APPLY, rbac.DOC_ROLLBACK) == (
        "roles_read", "roles_plan", "roles_dry_run", "roles", "roles_rollback")
    assert (sso.DOC_INVENTORY, sso.DOC_DRY_RUN, sso.DOC_RESULT, sso.DOC_HANDOFF) == (
        "sso_inventory", "sso_dry_run", "sso", "sso_handoff")
    assert (ticket.TICKET_DOCUMENT, cutover.CUTOVER_DOCUMENT, WINDOW_DOCUMENT) == (
        "support_ticket", "cutover", "pacer_window")
    assert documents.SYNC_DRY_RUN.name == "sync_dry_run"
    assert documents.WORKOS_ENVIRONMENT.name == "workos_environment"


def test_old_journals_read_unchanged_and_keep_unknown_keys(tmp_path):
    with Journal.open(tmp_path / "run") as journal:
        # as an earlier wizard wrote them: plain JSON under the same names
        journal.put_document("sso_handoff", {"markdown": "/r/sso-handoff.md", "csv": "/r/c.csv", "at": 5.0,
                                             "from_a_newer_wizard": True})
        journal.put_document("sync_dry_run", {"sync_id": 3, "counts": {"new": 2}})
        journal.put_document("workos_environment", {"base_url": "https://api.workos.com", "client_id": "client_1",
                                                    "key_mode": "live", "bound_at": 1.0, "bound_by": "import"})
        journal.put_document("roles", {"ok": True, "roles": {"created": 2}})
        journal.put_document("cutover", {"strategy": {"value": "big-bang", "at": 1.0}})
        handoff = documents.SSO_HANDOFF.read(journal)
        assert (handoff.markdown, handoff.csv, handoff.at) == ("/r/sso-handoff.md", "/r/c.csv", 5.0)
        documents.SSO_HANDOFF.write(journal, handoff)
        assert journal.get_document("sso_handoff")["from_a_newer_wizard"] is True, "unknown keys round-trip"
        dry = documents.SYNC_DRY_RUN.read(journal)
        assert (dry.sync_id, dry.counts) == (3, {"new": 2})
        assert recorded_environment(journal)["client_id"] == "client_1"
        assert documents.ROLES_APPLY.read(journal)["roles"] == {"created": 2}
        assert cutover.state(journal)["strategy"]["value"] == "big-bang"


def test_a_document_that_is_not_an_object_reads_as_absent(tmp_path):
    with Journal.open(tmp_path / "run") as journal:
        for name in ("sso_handoff", "sync_dry_run", "workos_environment", "roles_read", "sso", "pacer_window"):
            journal.put_document(name, "hand-edited")
        assert documents.SSO_HANDOFF.read(journal) is None
        assert documents.SYNC_DRY_RUN.read(journal) is None
        assert recorded_environment(journal) is None
        assert documents.ROLES_READ.read(journal) is None and documents.SSO_RESULT.read(journal) is None
        assert documents.PACER_WINDOW.read(journal) is None
