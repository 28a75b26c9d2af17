"""No user is dropped because its Auth0 id cannot be a WorkOS external_id (issue 10 §3): non-ASCII
and over-long ids are imported without external_id, with the id in metadata.auth0_user_id and the id
map; a resume, a verification and a rollback still find them. Real files, the CLI, the emulator."""

from __future__ import annotations

import csv
import json

import pytest

from wizard.cli import main
from wizard.clients.workos import make_sync_client
from wizard.core.config import Settings
from wizard.core.journal import Journal
from wizard.core.records import UserStatus
from wizard.core.verify import reconcile_users

UMLAUT = "auth0|müller-jürgen"
LONG = "auth0|" + "x" * 140
PLAIN = "auth0|plain"


@pytest.fixture
def env(workos_emu, monkeypatch, tmp_path):
    monkeypatch.setenv("WORKOS_API_KEY", workos_emu.api_key)
    monkeypatch.setenv("WORKOS_CLIENT_ID", workos_emu.client_id)
    monkeypatch.setenv("WORKOS_BASE_URL", workos_emu.base_url)
    monkeypatch.chdir(tmp_path)
    return workos_emu


def _users(tmp_path):
    p = tmp_path / "users.ndjson"
    p.write_text("".join(json.dumps({"user_id": uid, "email": f"user{i}@example.com", "email_verified": True,
                                     "identities": [{"provider": "auth0", "user_id": uid.split("|", 1)[1],
                                                     "isSocial": False, "connection": "custom-db"}]},
                                    ensure_ascii=False) + "\n"
                         for i, uid in enumerate((UMLAUT, LONG, PLAIN))), encoding="utf-8")
    return p


def test_check_explains_each_id_with_its_own_code(tmp_path, capsys):
    assert main(["check", "--users", str(_users(tmp_path)), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    codes = {f["line"]: f["code"] for f in data["findings"] if f["field"] == "user_id"}
    assert codes == {1: "non_ascii_external_id", 2: "external_id_too_long"}
    assert data["summary"]["branches"]["invalid"] == 0 and data["summary"]["planned"] == 3


def test_imported_without_external_id_and_found_again(env, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["import", "--users", str(_users(tmp_path)), "--run-dir", str(run), "--yes"]) == 0
    emu = env.emulator
    for i, uid in enumerate((UMLAUT, LONG)):
        u = emu.user_by_email(f"user{i}@example.com")
        assert u is not None and not u.get("external_id") and u["metadata"]["auth0_user_id"] == uid
    assert emu.user_by_email("user2@example.com")["external_id"] == PLAIN
    ids = {r["auth0_user_id"]: r["workos_user_id"] for r in csv.DictReader((run / "id-map.csv").open(encoding="utf-8"))}
    assert ids[UMLAUT] and ids[LONG] and ids[PLAIN]

    # a crash after the creates landed: the users are in flight again; the resume finds them by
    # email + metadata and records them as created, sending nothing twice
    with Journal.open(run) as journal:
        journal.mark_in_flight([UMLAUT, LONG])
    posts = emu.request_count("POST")
    assert main(["import", "--resume", "--run-dir", str(run), "--yes"]) == 0
    assert emu.request_count("POST") == posts and len(emu.users) == 3
    with Journal.open(run) as journal:
        assert {journal.user(u).status for u in (UMLAUT, LONG)} == {UserStatus.CREATED}
        settings = Settings(workos_api_key=env.api_key, workos_client_id=env.client_id,
                            workos_base_url=env.base_url)
        client = make_sync_client(settings)
        for strategy in ("lookup", "list"):
            rec = reconcile_users(journal, client, strategy=strategy)
            assert rec.found == 3 and not rec.differences, (strategy, rec.differences)

    assert main(["rollback", "--run-dir", str(run), "--yes"]) == 0
    assert not emu.users  # every created user is deleted, those without external_id too
