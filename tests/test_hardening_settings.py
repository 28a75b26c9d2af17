"""One rule for the WorkOS key in every front end (a publishable `pk_` key is refused with the same
message by the prerequisites and every headless command that sends it), and a warning naming the
file and `chmod 600` when `.env.local` is readable by group or others."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from wizard.cli import main
from wizard.core.config import Settings
from wizard.core.prereqs import prerequisite_checks

PK = "pk_test_abcdefghijkl"
SENDS_THE_KEY = ("import", "sync", "rollback", "orgs", "roles", "sso", "mfa", "verify")


def _cli(cwd, *args, env=None):
    full = {k: v for k, v in os.environ.items() if not k.startswith(("WORKOS_", "AUTH0_"))} | (env or {})
    return subprocess.run([sys.executable, "-m", "wizard", *args], cwd=cwd, env=full, capture_output=True,
                          text=True, timeout=120)


def _check(result, name):
    return next(c for c in result.checks if c.name == name)


@pytest.fixture
def pk_env(monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.startswith(("WORKOS_", "AUTH0_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("WORKOS_API_KEY", PK)
    monkeypatch.setenv("WORKOS_CLIENT_ID", "client_x")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_publishable_key_is_refused_with_one_message_everywhere(pk_env, capsys):
    prereq = _check(prerequisite_checks(Settings.load(), live=False), "WORKOS_API_KEY format")
    assert not prereq.ok and "publishable key (pk_)" in prereq.evidence and "sk_" in prereq.fix_hint
    messages = set()
    for command in SENDS_THE_KEY:
        assert main([command, "--run-dir", str(pk_env / "run")]) == 2, command
        err = capsys.readouterr().err
        assert err.startswith(f"auth0-workos {command}: "), err
        messages.add(err.split(": ", 1)[1])
    assert len(messages) == 1, messages
    (message,) = messages
    assert prereq.evidence in message and prereq.fix_hint in message
    assert PK not in message
    assert not (pk_env / "run").exists(), "refused before the run folder is made or locked"


def test_a_publishable_key_in_env_local_is_refused_by_a_real_subprocess(tmp_path):
    (tmp_path / ".env.local").write_text(f"WORKOS_API_KEY={PK}\nWORKOS_CLIENT_ID=client_x\n")
    (tmp_path / ".env.local").chmod(0o600)
    p = _cli(tmp_path, "rollback", "--run-dir", str(tmp_path / "run"))
    assert p.returncode == 2, p.stderr
    assert "publishable key (pk_)" in p.stderr and "Traceback" not in p.stderr and PK not in p.stderr
    assert "warning" not in p.stderr  # a private .env.local draws no warning


@pytest.mark.parametrize("mode, who", [(0o644, "group and others"), (0o640, "group"), (0o604, "others")])
def test_env_local_readable_by_others_is_warned_about_everywhere(tmp_path, mode, who):
    env_file = tmp_path / ".env.local"
    env_file.write_text("WORKOS_API_KEY=sk_test_abcdefghijkl\nWORKOS_CLIENT_ID=client_x\n")
    env_file.chmod(mode)
    settings = Settings.load(env_file)
    warning = f"{env_file} is readable by {who} (mode {mode:o}) and holds your API keys: run chmod 600 {env_file}"
    assert settings.env_file_warning == warning
    check = _check(prerequisite_checks(settings, live=False), ".env.local file")
    assert check.ok and warning in check.evidence and check.fix_hint == f"chmod 600 {env_file}"
    p = _cli(tmp_path, "--env-file", str(env_file), "report", "--run-dir", str(tmp_path / "none"))
    assert f"warning: {warning}" in p.stderr, p.stderr
    assert "sk_test_abcdefghijkl" not in p.stderr + p.stdout
    env_file.chmod(0o600)
    assert Settings.load(env_file).env_file_warning is None
    assert "chmod" not in _cli(tmp_path, "--env-file", str(env_file), "report", "--run-dir",
                               str(tmp_path / "none")).stderr


async def test_the_wizard_shows_the_env_local_warning_on_the_prerequisites_step(tmp_path, workos_emu):
    from tui_helpers import screen_text, settle, start_at

    from wizard.tui.app import WizardApp

    env_file = tmp_path / ".env.local"
    env_file.write_text(f"WORKOS_API_KEY={workos_emu.api_key}\nWORKOS_CLIENT_ID={workos_emu.client_id}\n"
                        f"WORKOS_BASE_URL={workos_emu.base_url}\n")
    env_file.chmod(0o644)
    settings = Settings.load(env_file, environ={})
    start_at(tmp_path / "run", "prereqs")
    app = WizardApp(tmp_path / "run", settings)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        assert app.current_step.id == "prereqs"
        text = " ".join(screen_text(app).split())
        assert "readable by group and others" in text and "chmod 600" in text, text
        assert workos_emu.api_key not in text
