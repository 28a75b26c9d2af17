"""The migration window's other parts: the support ticket, the cutover gate, the migration package
(written from a real imported run and checked against the package contract)."""

from __future__ import annotations

import csv
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from test_sync import Tenant, _env, _import, _wizard

from wizard.core import cutover, package, ticket
from wizard.core.journal import Journal

INVENTORY = {"sign_in_methods": [
    {"kind": "database", "connection": "Username-Password-Authentication", "users": 1200},
    {"kind": "database", "connection": "legacy-db", "users": 34},
    {"kind": "social", "connection": "google-oauth2", "users": 500},
]}


def test_ticket_names_the_tenant_each_database_connection_and_what_to_ask(tmp_path):
    t = ticket.build_ticket(INVENTORY, "acme.eu.auth0.com")
    text = t.text
    assert "Tenant domain: acme.eu.auth0.com" in text
    assert "Username-Password-Authentication: 1,200 users" in text and "legacy-db: 34 users" in text
    assert "google-oauth2" not in text  # social users have no password to export
    assert "NDJSON" in text and "PGP public key" in text and ticket.EXPECTED_WAIT in text
    assert ticket.JUSTIFICATION in text
    unknown = ticket.build_ticket(None, None)
    assert not unknown.domain_known and ticket.DOMAIN_PLACEHOLDER in unknown.text


def test_ticket_command_prints_writes_and_remembers_sent(tmp_path):
    run_dir = tmp_path / "run"
    with Journal.open(run_dir) as journal:
        journal.put_document("inventory", INVENTORY)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKOS_", "AUTH0_"))}
    env["AUTH0_DOMAIN"] = "acme.eu.auth0.com"
    done = subprocess.run([sys.executable, "-m", "wizard", "--env-file", str(tmp_path / "absent.env"), "ticket",
                           "--run-dir", str(run_dir), "--sent"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "legacy-db: 34 users" in done.stdout and "Support ticket sent" in done.stdout
    written = run_dir / ticket.TICKET_NAME
    assert "acme.eu.auth0.com" in written.read_text()
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    with Journal.open(run_dir) as journal:
        assert ticket.sent_at(journal) is not None
        ticket.mark_sent(journal, False)
        assert ticket.sent_at(journal) is None


def _done_sync(journal: Journal, started: float, remaining: int = 0) -> int:
    sid = journal.start_sync(dry_run=False, delete_removed=False, inputs={})
    journal._x("UPDATE syncs SET started_at=? WHERE id=?", (started, sid))
    journal.update_sync(sid, status="done", summary={"remaining": remaining, "session_failed": 0})
    journal._x("UPDATE syncs SET finished_at=? WHERE id=?", (started + 5, sid))
    return sid


def test_cutover_gate_needs_every_item_in_order(tmp_path):
    with Journal.open(tmp_path / "run") as journal:
        gate = cutover.cutover_gate(journal)
        assert not gate.passed and len(gate.checks) == 5
        with pytest.raises(cutover.CutoverError, match="strategy"):
            cutover.record_final_sync(journal)
        with pytest.raises(cutover.CutoverError, match="first"):
            cutover.tick(journal, "switched")
        t0 = 1_800_000_000.0
        _done_sync(journal, t0 - 100)  # before the strategy: not a final catch-up
        cutover.choose_strategy(journal, "disable_signups", at=t0)
        with pytest.raises(cutover.CutoverError, match="no completed sync"):
            cutover.record_final_sync(journal)
        _done_sync(journal, t0 + 10, remaining=3)  # left users behind: not final either
        with pytest.raises(cutover.CutoverError):
            cutover.record_final_sync(journal)
        sid = _done_sync(journal, t0 + 20)
        assert cutover.record_final_sync(journal)["id"] == sid
        assert not cutover.cutover_gate(journal).passed
        cutover.tick(journal, "switched", at=t0 + 3600)
        with pytest.raises(cutover.CutoverError, match="48"):
            cutover.tick(journal, "watched", at=t0 + 7200)  # one hour after the switch
        cutover.tick(journal, "watched", at=t0 + 3600 + 48 * 3600)
        assert not cutover.cutover_gate(journal).passed
        cutover.tick(journal, "auth0_disabled", at=t0 + 50 * 3600)
        gate = cutover.cutover_gate(journal)
        assert gate.passed, [c for c in gate.checks if not c.ok]
        rows = cutover.report_section(journal)
        assert all(r["done"] and r["at"] for r in rows)
        assert rows[0]["note"] == "Disable sign-ups in Auth0"
        cutover.untick(journal, "switched")
        state = cutover.state(journal)
        assert "switched" not in state and "watched" not in state and "final_sync" in state


def test_cutover_shorter_watch_needs_a_reason(tmp_path):
    with Journal.open(tmp_path / "run") as journal:
        cutover.choose_strategy(journal, "dual_write", at=100.0)
        _done_sync(journal, 200.0)
        cutover.record_final_sync(journal)
        cutover.tick(journal, "switched", at=10_000.0)
        with pytest.raises(cutover.CutoverError, match="reason"):
            cutover.tick(journal, "watched", reason="short", at=10_100.0)
        cutover.tick(journal, "watched", reason="rehearsal on staging, no traffic", at=10_100.0)
        assert cutover.state(journal)["watched"]["reason"].startswith("rehearsal")


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_package_from_an_imported_run_meets_the_contract(workos_emu, tmp_path):
    env = _env(workos_emu)
    tenant = Tenant(tmp_path / "exports")
    run_dir = tmp_path / "run"
    _import(tenant, env, tmp_path, run_dir)
    with Journal.open(run_dir) as journal:
        journal.upsert_org("org_1", name="acme", display_name="Acme", domains=[{"domain": "acme.com"}])
        journal.upsert_membership("org_1", "auth0|" + f"{1:024x}", role_slug="admin")
        journal.upsert_membership("org_1", "auth0|" + f"{2:024x}")
    inside = _wizard(["package", "--run-dir", str(run_dir), "--out", str(run_dir / "pkg")], env, tmp_path)
    assert inside.returncode == 2 and "inside the run folder" in inside.stderr
    out = tmp_path / "pkg"
    done = _wizard(["package", "--run-dir", str(run_dir), "--out", str(out)], env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert package.validate_package(out) == []
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["schemaVersion"] == 1 and manifest["provider"] == "auth0"
    assert manifest["secretsRedacted"] is True and "totpSecrets" not in manifest["files"]
    users = _rows(out / "users.csv")
    assert len(users) == manifest["entitiesExported"]["users"] == len(tenant.users1)
    assert all(u["password_hash"] == "" for u in users)
    assert _rows(out / "organizations.csv")[0]["domains"] == "acme.com"
    members = _rows(out / "organization_memberships.csv")
    assert {m["external_id"] for m in members} == {"auth0|" + f"{1:024x}", "auth0|" + f"{2:024x}"}
    assert _rows(out / "role_definitions.csv")[0]["role_slug"] == "admin"
    assert len(_rows(out / "user_role_assignments.csv")) == 1
    for f in out.rglob("*"):
        if f.is_file():
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
            assert "$2b$" not in f.read_text(), f
    # the same again is refused (never overwrite a package)
    again = _wizard(["package", "--run-dir", str(run_dir), "--out", str(out)], env, tmp_path)
    assert again.returncode == 2 and "not an empty folder" in again.stderr

    # with the hashes: re-read from the export, only after confirmation (--yes here, no terminal)
    refused = _wizard(["package", "--run-dir", str(run_dir), "--out", str(tmp_path / "p2"), "--with-hashes"],
                      env, tmp_path)
    assert refused.returncode == 2 and "typed confirmation" in refused.stderr
    assert not (tmp_path / "p2").exists()
    with_hashes = _wizard(["package", "--run-dir", str(run_dir), "--out", str(tmp_path / "p2"), "--with-hashes",
                           "--yes"], env, tmp_path)
    assert with_hashes.returncode == 0, with_hashes.stderr
    hashed = {u["external_id"]: u for u in _rows(tmp_path / "p2" / "users.csv")}
    assert hashed["auth0|" + f"{1:024x}"]["password_hash"] == tenant.hashes1[1]
    assert hashed["auth0|" + f"{1:024x}"]["password_hash_type"] == "bcrypt"
    assert hashed["auth0|" + f"{20:024x}"]["password_hash"] == ""  # reset user: no hash
    m2 = json.loads((tmp_path / "p2" / "manifest.json").read_text())
    assert m2["secretsRedacted"] is False and package.validate_package(tmp_path / "p2") == []


def test_package_validator_catches_contract_breaks(tmp_path, workos_emu):
    env = _env(workos_emu)
    tenant = Tenant(tmp_path / "exports")
    run_dir = tmp_path / "run"
    _import(tenant, env, tmp_path, run_dir)
    out = tmp_path / "pkg"
    with Journal.open(run_dir) as journal:
        assert package.write_package(journal, out).valid
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["entitiesExported"]["users"] += 1
    manifest["files"]["users"] = "people.csv"
    manifest_path.write_text(json.dumps(manifest))
    (out / "organizations.csv").write_text("org_id,name\n")
    (out / "warnings.jsonl").write_text("{not json\n")
    codes = {i.code for i in package.validate_package(out)}
    assert {"noncanonical_file_path", "missing_file", "invalid_csv_header", "jsonl_parse_failed"} <= codes
    manifest["files"]["users"] = "users.csv"
    manifest_path.write_text(json.dumps(manifest))
    assert "entity_count_mismatch" in {i.code for i in package.validate_package(out)}


def test_package_offer_only_over_the_managed_import_threshold(tmp_path):
    with Journal.open(tmp_path / "run") as journal:
        journal.put_document("plan_summary", {"users_read": 200_000})
        assert package.package_offer(journal) is None
        journal.put_document("plan_summary", {"users_read": 200_001})
        assert "auth0-workos package" in package.package_offer(journal)
