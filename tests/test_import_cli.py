"""`auth0-workos import` and `auth0-workos rollback` headless, in-process, against the emulators:
the demo tenant's exports are planned, imported, signed in with known passwords, resumed, refused
when inputs changed, dry-run, and rolled back."""

from __future__ import annotations

import csv
import json
import sys

import pytest

from wizard.cli import main
from wizard.commands.rollback import typed_confirmation
from wizard.core.journal import Journal
from wizard.core.records import UserStatus


@pytest.fixture
def env(workos_emu, monkeypatch, tmp_path):
    monkeypatch.setenv("WORKOS_API_KEY", workos_emu.api_key)
    monkeypatch.setenv("WORKOS_CLIENT_ID", workos_emu.client_id)
    monkeypatch.setenv("WORKOS_BASE_URL", workos_emu.base_url)
    monkeypatch.chdir(tmp_path)  # no stray .env.local, and .auth0-workos/ lands in tmp
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    return workos_emu


def import_args(exports, run_dir, *extra):
    return ["import", "--users", str(exports.users_path), "--passwords", str(exports.passwords_path),
            "--run-dir", str(run_dir), *extra]


def test_import_end_to_end_then_resume_is_a_no_op(env, demo_exports, demo_tenant, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(import_args(demo_exports, run_dir, "--yes")) == 0
    out = capsys.readouterr().out
    assert "Plan:" in out and "Created" in out
    emu = env.emulator
    with Journal.open(run_dir) as journal:
        importable = sum(n for s, n in journal.count_users().items() if s != UserStatus.SKIPPED)
        assert journal.count_users().get(UserStatus.CREATED) == importable
    assert len(emu.users) == importable
    assert len({u["external_id"] for u in emu.users.values()}) == importable
    for email, password in demo_tenant.credentials:  # imported hashes sign in with the old password
        user = emu.user_by_email(email)
        assert user is not None and emu.password_matches(user["id"], password), email
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["created"] == importable and summary["failed"] == 0
    ids = {r["auth0_user_id"]: r["workos_user_id"] for r in csv.DictReader((run_dir / "id-map.csv").open())}
    assert sum(1 for v in ids.values() if v) >= importable
    posts = emu.request_count("POST")
    assert main(["import", "--resume", "--run-dir", str(run_dir), "--yes"]) == 0
    assert emu.request_count("POST") == posts  # nothing sent again


def test_without_yes_and_without_a_terminal_nothing_is_written(env, demo_exports, tmp_path, capsys):
    assert main(import_args(demo_exports, tmp_path / "run")) == 2
    assert "--yes" in capsys.readouterr().err
    assert not env.emulator.users


def test_resume_refuses_changed_inputs(env, demo_exports, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(import_args(demo_exports, run_dir, "--dry-run")) == 0
    demo_exports.passwords_path.write_text(demo_exports.passwords_path.read_text() + "\n")
    capsys.readouterr()
    assert main(["import", "--resume", "--run-dir", str(run_dir), "--yes"]) == 2
    err = capsys.readouterr().err
    assert "changed" in err and "passwords" in err
    assert not env.emulator.users


def test_dry_run_writes_nothing(env, demo_exports, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(import_args(demo_exports, run_dir, "--dry-run")) == 0
    assert "would create" in capsys.readouterr().out
    assert not env.emulator.users
    assert env.emulator.request_count("POST") == env.emulator.request_count("PUT") == 0
    data = json.loads((run_dir / "summary.json").read_text())
    assert data["dry_run"] is True and data["would_create"] > 0 and data["created"] == 0
    with Journal.open(run_dir) as journal:
        assert not journal.writes()


def test_failed_users_exit_1_and_are_listed(env, tmp_path, capsys):
    from test_importer import make_plan

    make_plan(tmp_path / "run", 6, bad_email_at={2}).close()
    assert main(["import", "--resume", "--run-dir", str(tmp_path / "run"), "--yes"]) == 1
    err = capsys.readouterr().err
    assert "1 user(s) failed" in err and "auth0|u00002" in err and "errors.jsonl" in err
    lines = (tmp_path / "run" / "errors.jsonl").read_text().splitlines()
    assert [json.loads(x)["auth0_user_id"] for x in lines] == ["auth0|u00002"]
    error = json.loads(lines[0])
    assert error["request_id"].startswith("req_") and error["code"] and error["attempts"] >= 1
    assert "(request" not in error["message"]
    assert len(env.emulator.users) == 5


def test_usage_errors_exit_2(env, tmp_path, capsys):
    assert main(["import", "--run-dir", str(tmp_path / "x")]) == 2
    assert main(["import", "--resume", "--run-dir", str(tmp_path / "none"), "--yes"]) == 2
    assert main(["import", "--users", str(tmp_path / "missing.json"), "--run-dir", str(tmp_path / "r"),
                 "--yes"]) == 2
    assert main(["import", "--users", "x", "--rate", "fast", "--yes"]) == 2
    assert main(["rollback", "--run-dir", str(tmp_path / "none"), "--yes"]) == 2


def test_rollback_deletes_only_created_users(env, demo_exports, tmp_path, capsys):
    from wizard.clients.workos import make_sync_client
    from wizard.core.config import Settings

    # one user already in WorkOS before the run: it is updated by the import, kept by the rollback
    # and put back as it was (no external id), then planned again like the deleted ones
    emu = env.emulator
    sync = make_sync_client(Settings(workos_api_key=env.api_key, workos_base_url=env.base_url))
    keep_email = "zoe.angstrom@acme.example"
    sync.user_management.create_user(email=keep_email)
    run_dir = tmp_path / "run"
    assert main(import_args(demo_exports, run_dir, "--yes")) == 0
    assert main(["rollback", "--run-dir", str(run_dir)]) == 2  # no terminal, no --yes
    assert main(["rollback", "--run-dir", str(run_dir), "--yes"]) == 0
    assert [u["email"] for u in emu.users.values()] == [keep_email]
    assert [u["external_id"] for u in emu.users.values()] == [None]
    assert "put back as they were" in capsys.readouterr().out
    with Journal.open(run_dir) as journal:
        assert journal.count_users().get(UserStatus.CREATED, 0) == 0
        assert journal.count_users().get(UserStatus.UPDATED, 0) == 0
        assert len(journal.writes("restore_user")) == 1
    assert (run_dir / "id-map.csv").is_file()


def test_typed_confirmation():
    assert typed_confirmation(1234, "1,234") and typed_confirmation(5, " rollback ")
    assert not typed_confirmation(5, "y") and not typed_confirmation(5, "4")


def test_progress_printer_plain_lines_and_bar():
    import io
    import time as _time

    from wizard.commands._progress import ProgressPrinter, format_line
    from wizard.core.progress import Progress, frozen_counts

    paused = Progress("import", 100, frozen_counts({"created": 40, "failed": 2, "planned": 58}), rate=47.5,
                      eta_seconds=12.4, paused_until=_time.time() + 5, latest_error="u@x: invalid_email")
    line = format_line(paused)
    assert "import 42/100 (42%)" in line and "created 40" in line and "47.5/s" in line
    assert "ETA 12s" in line and "paused" in line
    plain = io.StringIO()
    with ProgressPrinter(plain, tty=False) as show:
        show(paused)
        show(Progress("import", 100, frozen_counts({"created": 100}), rate=50, done=True))
    text = plain.getvalue()
    assert "! u@x: invalid_email" in text and text.rstrip().endswith("done")
    assert "\x1b[" not in text  # no terminal control codes in plain mode
    bar = io.StringIO()
    with ProgressPrinter(bar, tty=True) as show:
        show(paused)
        show(Progress("rollback", 10, frozen_counts({"deleted": 10}), rate=5, done=True))
    assert "rollback" in bar.getvalue() and "10/10" in bar.getvalue()


def test_on_a_terminal_the_import_asks_for_the_typed_confirmation(env, demo_exports, tmp_path, monkeypatch, capsys):
    """The same typed confirmation as the wizard: the number of users to send, or "import"."""
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    prompts, answers = [], ["y", "IMPORT"]
    monkeypatch.setattr("builtins.input", lambda prompt="": prompts.append(prompt) or answers.pop(0))
    run_dir = tmp_path / "run"
    assert main(import_args(demo_exports, run_dir)) == 0  # "y" is not a typed confirmation
    assert "Nothing was sent." in capsys.readouterr().out and not env.emulator.users
    with Journal.open(run_dir) as journal:
        todo = journal.count_users().get(UserStatus.PLANNED, 0)
    assert f'Type {todo} or "import"' in prompts[0]
    assert main(["import", "--resume", "--run-dir", str(run_dir)]) == 0
    assert len(env.emulator.users) > 0 and not answers


def test_total_outage_stops_after_give_up_after_and_the_resume_finishes(env, demo_exports, tmp_path, capsys):
    from wizard.sandbox.faults import Faults

    run_dir = tmp_path / "run"
    env.emulator.set_faults(Faults(error_rate=1.0, seed=9))  # every request 5xx
    code = main(import_args(demo_exports, run_dir, "--yes", "--give-up-after", "0.5"))
    captured = capsys.readouterr()
    assert code != 0 and "did not answer for 0.5 s" in captured.out + captured.err
    with Journal.open(run_dir) as journal:
        assert not journal.count_users().get(UserStatus.FAILED)  # no user's attempts were burned
    env.emulator.set_faults(Faults())
    assert main(["import", "--resume", "--run-dir", str(run_dir), "--yes"]) == 0
    with Journal.open(run_dir) as journal:
        assert not journal.count_users().get(UserStatus.FAILED)


def test_give_up_after_must_be_a_positive_number(env, demo_exports, tmp_path, capsys):
    assert main(import_args(demo_exports, tmp_path / "run", "--yes", "--give-up-after", "soon")) == 2
    assert "soon is not a number of seconds" in capsys.readouterr().err
