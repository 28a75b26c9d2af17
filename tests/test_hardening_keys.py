"""One WORKOS_API_KEY rule for the wizard and every headless command, and a warning for a
`.env.local` that group or others can read (issue 11), through the real CLI entry point."""

from __future__ import annotations

import os
import sys

import pytest

from wizard.cli import main
from wizard.core.config import Settings
from wizard.core.prereqs import api_key_format_check, env_file_check

COMMANDS = [["import", "--users", "users.json", "--yes"], ["orgs"], ["roles"], ["sso"],
            ["mfa", "--totp-secrets", "users.json"]]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    for key in ("WORKOS_API_KEY", "WORKOS_CLIENT_ID", "WORKOS_BASE_URL"):
        monkeypatch.delenv(key, raising=False)
    (tmp_path / "users.json").write_text('{"user_id": "auth0|1", "email": "a@example.com"}\n')
    return tmp_path


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: a[0])
def test_a_publishable_key_is_refused_by_every_command_as_by_the_wizard(folder, monkeypatch, capsys, argv):
    monkeypatch.setenv("WORKOS_API_KEY", "pk_test_publishable123")
    monkeypatch.setenv("WORKOS_CLIENT_ID", "client_123")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "publishable key" in err and "pk_test_publishable123" not in err
    wizard_says = api_key_format_check(Settings.load(env_file=None))
    assert not wizard_says.ok and "publishable key" in wizard_says.fix_hint
    assert not list(folder.glob(".auth0-workos/runs/*/journal.sqlite"))  # nothing was started


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_env_file_readable_by_others_is_warned_about_with_the_fix(folder, capsys):
    env = folder / ".env.local"
    env.write_text("WORKOS_API_KEY=pk_test_publishable123\nWORKOS_CLIENT_ID=client_123\n")
    env.chmod(0o644)
    assert main(["orgs"]) == 2
    err = capsys.readouterr().err
    assert "warning:" in err and "chmod 600" in err and "0644" in err
    check = env_file_check(Settings.load(env))
    assert not check.ok and "chmod 600" in check.fix_hint
    env.chmod(0o600)
    assert main(["orgs"]) == 2
    assert "chmod 600" not in capsys.readouterr().err
    assert env_file_check(Settings.load(env)).ok
