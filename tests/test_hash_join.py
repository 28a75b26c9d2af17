"""A password hash binds only to the Auth0 user it names (issue 10 §1): by id, in its own
connection; by email only with --join-by-email, each binding reported. Real files, the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from wizard.cli import main
from wizard.core.journal import Journal
from wizard.core.report import build_report, render_markdown

TAIL = "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
DB = "Username-Password-Authentication"


def _user(uid: str, email: str, conn: str = DB) -> dict:
    return {"user_id": f"auth0|{uid}", "email": email, "email_verified": True,
            "identities": [{"provider": "auth0", "user_id": uid, "connection": conn, "isSocial": False}]}


def _row(oid: str | None, email: str, conn: str = DB, cost: str = "10") -> dict:
    row = {"connection": conn, "email": email, "passwordHash": f"$2b${cost}${TAIL}"}
    if oid is not None:
        row["_id"] = {"$oid": oid}
    return row


def _write(path: Path, items) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in items))
    return path


def _files(tmp_path: Path) -> tuple[Path, Path]:
    users = _write(tmp_path / "users.ndjson", [
        _user("victim", "victim@example.com"),
        _user("other-db", "olive@example.com", conn="db-two"),
        _user("mismatch", "mia@example.com"),
        _user("noid", "nora@example.com"),
    ])
    rows = _write(tmp_path / "passwords.ndjson", [
        _row("deleted0000", "victim@example.com"),  # another (deleted) account's row with the victim's email
        _row("other-db", "olive@example.com"),  # the right id, but another connection
        _row("mismatch", "someone-else@example.com"),  # id match, emails disagree
        _row(None, "nora@example.com"),  # no id at all
    ])
    return users, rows


def _check(*args: str) -> tuple[int, dict]:
    p = subprocess.run([sys.executable, "-m", "wizard", "check", "--json", "--findings", "100", *args],
                       capture_output=True, text=True, timeout=120)
    return p.returncode, json.loads(p.stdout)


def _codes(data: dict) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for f in data["findings"]:
        out.setdefault(f["code"], []).append(f["line"])
    return out


def test_by_default_a_row_binds_only_to_the_user_it_names(tmp_path):
    users, rows = _files(tmp_path)
    code, data = _check("--users", str(users), "--passwords", str(rows))
    s = data["summary"]
    assert s["join"] == {"user_id": 1, "alt_id": 0, "email": 0} and s["join_by_email"] is False
    assert s["branches"]["password"] == 1 and s["branches"]["reset"] == 3  # only mia binds (by id)
    codes = _codes(data)
    assert codes["hash_unmatched"] == [1, 4]  # the deleted account's row and the row without id
    assert codes["hash_connection_mismatch"] == [2]
    assert codes["hash_email_mismatch"] == [3]
    assert "hash_joined_by_email" not in codes
    by_line = {f["line"]: f for f in data["findings"] if f["file"] == "passwords.ndjson"}
    assert "--join-by-email" in by_line[1]["message"]
    assert "'db-two'" in by_line[2]["message"] and DB in by_line[2]["message"]
    assert code == 0  # the files are readable; per-row problems are findings, not a failed gate


def test_join_by_email_is_opt_in_and_every_binding_is_reported(tmp_path):
    users, rows = _files(tmp_path)
    run = tmp_path / "run"
    code, data = _check("--users", str(users), "--passwords", str(rows), "--join-by-email", "--run-dir", str(run))
    assert code == 0 and data["summary"]["join"]["email"] == 2 and data["summary"]["join_by_email"] is True
    bound = [f for f in data["findings"] if f["code"] == "hash_joined_by_email"]
    assert [f["line"] for f in bound] == [1, 4] and {f["severity"] for f in bound} == {"warning"}
    assert "id auth0|deleted0000" in bound[0]["message"] and "auth0|victim" in bound[0]["message"]
    assert "no id" in bound[1]["message"] and "auth0|noid" in bound[1]["message"]
    # another connection never binds, not even by email
    assert data["summary"]["branches"]["password"] == 3
    with Journal.open(run) as journal:
        assert journal.user("auth0|other-db").branch == "reset"
        report = build_report(journal)
    listed = report["plan"]["hashes_bound_by_email"]
    assert len(listed) == 2 and "auth0|victim" in listed[0]["message"]
    assert "Password hashes bound by email" in render_markdown(report)


def test_import_without_the_opt_in_never_sends_another_accounts_hash(workos_emu, monkeypatch, tmp_path, capsys):
    users, rows = _files(tmp_path)
    monkeypatch.setenv("WORKOS_API_KEY", workos_emu.api_key)
    monkeypatch.setenv("WORKOS_CLIENT_ID", workos_emu.client_id)
    monkeypatch.setenv("WORKOS_BASE_URL", workos_emu.base_url)
    monkeypatch.chdir(tmp_path)
    assert main(["import", "--users", str(users), "--passwords", str(rows), "--run-dir",
                 str(tmp_path / "run"), "--yes"]) == 0
    emu = workos_emu.emulator
    victim = emu.user_by_email("victim@example.com")
    assert victim is not None and not emu.has_password(victim["id"])  # no hash sent: resets it
    assert emu.has_password(emu.user_by_email("mia@example.com")["id"])  # bound by id
    assert "bound by email" not in capsys.readouterr().err


def test_the_join_choice_is_recorded_and_used_by_the_next_check_and_import(tmp_path):
    """The choice made once (export step, or `check --join-by-email`) is the run's choice: a later
    `check` without the flag binds alike, `--no-join-by-email` switches it off (issue 10)."""
    users, rows = _files(tmp_path)
    run = tmp_path / "run"
    code, data = _check("--users", str(users), "--passwords", str(rows), "--join-by-email", "--run-dir", str(run))
    assert code == 0 and data["summary"]["join_by_email"] is True
    code, data = _check("--users", str(users), "--passwords", str(rows), "--run-dir", str(run))
    assert data["summary"]["join_by_email"] is True and data["summary"]["join"]["email"] == 2
    code, data = _check("--users", str(users), "--passwords", str(rows), "--no-join-by-email", "--run-dir", str(run))
    assert data["summary"]["join_by_email"] is False and data["summary"]["join"]["email"] == 0
    with Journal.open(run) as journal:
        choice = journal.get_document("hash_join_choice")
        assert choice["join_by_email"] is False and choice["source"] == "auth0-workos check"
    # without a run folder nothing is recorded and the default stays "by id only"
    code, data = _check("--users", str(users), "--passwords", str(rows))
    assert data["summary"]["join_by_email"] is False


async def test_the_export_view_records_the_join_choice_for_check_and_import(tmp_path, sandbox_settings):
    from textual.widgets import Checkbox
    from tui_helpers import click, settle, start_at

    from wizard.core.plan import recorded_join_by_email
    from wizard.tasks.check import run_check
    from wizard.tui.app import WizardApp

    users, rows = _files(tmp_path)
    start_at(tmp_path / "run", "export")
    app = WizardApp(tmp_path / "run", sandbox_settings)
    async with app.run_test(size=(140, 60)) as pilot:
        await settle(pilot)
        assert app.current_step.id == "export"
        box = app.query_one("#export-join-by-email", Checkbox)
        assert box.value is False and "--join-by-email" in str(box.label)
        await click(pilot, "#export-join-by-email")
        await settle(pilot)
        assert box.value is True and recorded_join_by_email(app.journal) is True
        checked = run_check(app.journal, users, rows)  # what Verify files and the import's plan run
        assert checked.plan.summary["join_by_email"] is True and checked.plan.summary["join"]["email"] == 2
