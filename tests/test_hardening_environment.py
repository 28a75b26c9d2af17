"""Every write reversible against the right environment: a run is bound to the WorkOS environment it
wrote to (base URL, client id, key mode, and the users it wrote there), resume / rollback / verify
against another one are refused; "already gone" is re-checked; a create whose answer was lost stays
"may have landed" through retry and rollback; rollback restores the users that existed before."""

from __future__ import annotations

import sys

import pytest
from test_importer import make_plan, run_import

from wizard.cli import main
from wizard.clients.workos import make_client, make_sync_client
from wizard.core.config import Settings
from wizard.core.environment import ENVIRONMENT_DOCUMENT
from wizard.core.journal import Journal
from wizard.core.records import UserStatus
from wizard.core.rollback import Rollback
from wizard.sandbox.faults import Faults
from wizard.sandbox.server import serve
from wizard.sandbox.workos_emulator import WorkOSEmulator


@pytest.fixture
def env(workos_emu, monkeypatch, tmp_path):
    monkeypatch.setenv("WORKOS_API_KEY", workos_emu.api_key)
    monkeypatch.setenv("WORKOS_CLIENT_ID", workos_emu.client_id)
    monkeypatch.setenv("WORKOS_BASE_URL", workos_emu.base_url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    return workos_emu


def imported(demo_exports, run_dir) -> None:
    assert main(["import", "--users", str(demo_exports.users_path), "--passwords", str(demo_exports.passwords_path),
                 "--run-dir", str(run_dir), "--yes"]) == 0


def test_the_run_records_its_environment_without_the_key(env, demo_exports, tmp_path):
    run_dir = tmp_path / "run"
    imported(demo_exports, run_dir)
    with Journal.open(run_dir) as journal:
        bound = journal.get_document(ENVIRONMENT_DOCUMENT)
    assert bound["base_url"] == env.base_url.rstrip("/").lower()
    assert bound["client_id"] == env.client_id and bound["key_mode"] == "test"
    assert env.api_key not in (run_dir / "journal.sqlite").read_bytes().decode("latin-1")


def test_rollback_at_another_base_url_is_refused_and_a_later_right_one_deletes_everyone(
        env, demo_exports, tmp_path, monkeypatch, capsys):
    run_dir = tmp_path / "run"
    imported(demo_exports, run_dir)
    created = len(env.emulator.users)
    other = WorkOSEmulator(api_key=env.api_key, client_id=env.client_id)
    with serve(other.app) as other_url:
        monkeypatch.setenv("WORKOS_BASE_URL", other_url)
        capsys.readouterr()
        for args in (["rollback", "--run-dir", str(run_dir), "--yes"],
                     ["import", "--resume", "--run-dir", str(run_dir), "--yes"],
                     ["verify", "--run-dir", str(run_dir), "--no-build", "test"]):
            assert main(args) == 2, args
            err = capsys.readouterr().err
            assert "refusing to" in err and env.base_url.rstrip("/").lower() in err, err
            assert env.api_key not in err
        assert other.request_count("DELETE") == other.request_count("POST") == 0
    assert len(env.emulator.users) == created  # nothing deleted, nothing marked gone
    monkeypatch.setenv("WORKOS_BASE_URL", env.base_url)
    assert main(["rollback", "--run-dir", str(run_dir), "--yes"]) == 0
    assert "nothing to do" not in capsys.readouterr().out
    assert not env.emulator.users


def test_a_key_of_another_environment_at_the_same_url_is_refused(env, demo_exports, tmp_path, monkeypatch,
                                                                 workos_emu, _workos_server, capsys):
    run_dir = tmp_path / "run"
    imported(demo_exports, run_dir)
    board, _ = _workos_server
    first = env.emulator
    # another environment behind the same URL, same client id: only the users it holds tell
    second = WorkOSEmulator(api_key="sk_test_other_environment", client_id=env.client_id)
    board.target = second
    monkeypatch.setenv("WORKOS_API_KEY", second.api_key)
    capsys.readouterr()
    assert main(["rollback", "--run-dir", str(run_dir), "--yes"]) == 2
    err = capsys.readouterr().err
    assert "does not hold the users this run wrote" in err and "404" in err
    assert second.request_count("DELETE") == 0
    # a live key (production) against a run that wrote with a test key: refused by its mode
    live = WorkOSEmulator(api_key="sk_live_production", client_id=env.client_id)
    board.target = live
    monkeypatch.setenv("WORKOS_API_KEY", live.api_key)
    assert main(["import", "--resume", "--run-dir", str(run_dir), "--yes"]) == 2
    assert "key mode test → live" in capsys.readouterr().err
    assert live.request_count() == 0
    board.target = first
    monkeypatch.setenv("WORKOS_API_KEY", first.api_key)
    assert main(["rollback", "--run-dir", str(run_dir), "--yes"]) == 0
    assert not first.users


async def test_already_gone_comes_only_from_a_404_there_and_is_checked_again(workos_emu, tmp_path):
    journal = make_plan(tmp_path / "run", 4)
    await run_import(journal, workos_emu)
    emu = workos_emu.emulator
    gone_id = next(iter(emu.users))
    del emu.users[gone_id]  # deleted behind the run's back
    emu._external_index = {k: v for k, v in emu._external_index.items() if v != gone_id}
    client = make_client(Settings(workos_api_key=emu.api_key, workos_client_id=emu.client_id,
                                  workos_base_url=workos_emu.base_url))
    try:
        first = await Rollback(journal, client).run()
        assert (first.deleted, first.already_gone) == (3, 1)
        deletes = emu.request_count("DELETE")
        again = await Rollback(journal, client).run()  # the 404 is not final: asked again
    finally:
        await client.close()
    assert (again.targets, again.already_gone, again.deleted) == (1, 1, 0)
    assert emu.request_count("DELETE") == deletes + 1


async def test_a_lost_create_answer_stays_may_have_landed_through_retry_failed(workos_emu, tmp_path):
    emu = workos_emu.emulator
    journal = make_plan(tmp_path / "run", 6)
    emu.set_faults(Faults(commit_then_fail_rate=1.0))  # every create lands, its answer is lost
    summary, _ = await run_import(journal, workos_emu, max_attempts=1)
    assert summary.failed == 6 and len(emu.users) == 6
    failed = journal.users(status=UserStatus.FAILED)
    assert all("may have landed" in (u.last_error_message or "") for u in failed)
    emu.set_faults(Faults())
    journal.reset_failed()  # --retry-failed
    summary, _ = await run_import(journal, workos_emu)
    assert (summary.created, summary.updated, summary.failed) == (6, 0, 0)
    assert len(journal.writes("found_existing")) == 0
    client = make_client(Settings(workos_api_key=emu.api_key, workos_client_id=emu.client_id,
                                  workos_base_url=workos_emu.base_url))
    try:
        rolled = await Rollback(journal, client).run()
    finally:
        await client.close()
    assert rolled.deleted == 6 and not emu.users


async def test_rollback_finds_lost_creates_that_landed_without_a_retry(workos_emu, tmp_path):
    emu = workos_emu.emulator
    journal = make_plan(tmp_path / "run", 4)
    emu.set_faults(Faults(commit_then_fail_rate=1.0))
    await run_import(journal, workos_emu, max_attempts=1)
    emu.set_faults(Faults())
    assert len(emu.users) == 4 and not journal.writes("create_user")
    client = make_client(Settings(workos_api_key=emu.api_key, workos_client_id=emu.client_id,
                                  workos_base_url=workos_emu.base_url))
    try:
        rolled = await Rollback(journal, client).run()
    finally:
        await client.close()
    assert (rolled.found_landed, rolled.deleted) == (4, 4) and not emu.users


def test_rollback_restores_what_the_run_changed_on_existing_users(env, demo_exports, tmp_path, capsys):
    emu = env.emulator
    sync = make_sync_client(Settings(workos_api_key=env.api_key, workos_base_url=env.base_url))
    email = "zoe.angstrom@acme.example"
    sync.user_management.create_user(email=email, first_name="Zed", last_name="Before",
                                      metadata={"team": "blue"})
    run_dir = tmp_path / "run"
    imported(demo_exports, run_dir)
    out = capsys.readouterr().out
    assert "cannot be restored" in out  # said before the import
    user = emu.user_by_email(email)
    assert user["external_id"] and user["first_name"] != "Zed"
    assert main(["rollback", "--run-dir", str(run_dir), "--yes"]) == 0
    user = emu.user_by_email(email)
    assert (user["first_name"], user["last_name"], user["external_id"]) == ("Zed", "Before", None)
    assert user["metadata"] == {"team": "blue"}
    assert "put back as they were" in capsys.readouterr().out
    with Journal.open(run_dir) as journal:
        images = journal.before_images(restored=None)
    assert len(images) == 1 and "password" not in str(images[0]["image"]).lower()
