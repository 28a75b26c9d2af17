"""Prerequisites (guide step 1) against the WorkOS emulator over real HTTP."""

from __future__ import annotations

import socket
from pathlib import Path

from wizard.core.config import Settings
from wizard.core.gates import GateStatus
from wizard.core.prereqs import prerequisite_checks


def _check(result, name):
    return next(c for c in result.checks if c.name == name)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sandbox_settings_pass_every_check(sandbox_settings):
    result = prerequisite_checks(sandbox_settings)
    assert result.status is GateStatus.PASSED, result.reason
    assert [c.name for c in result.checks] == [
        ".env.local file", "WORKOS_API_KEY present", "WORKOS_API_KEY format", "WORKOS_CLIENT_ID present",
        "SDKs installed", "WorkOS accepts the key"]
    assert "test (staging)" in _check(result, "WORKOS_API_KEY format").evidence
    assert "workos 10." in _check(result, "SDKs installed").evidence
    text = repr(result)
    assert sandbox_settings.workos_api_key not in text  # only ever masked
    assert "sk_te…box" in text


def test_env_file_found_and_environment_wins(tmp_path: Path, workos_emu):
    env = tmp_path / ".env.local"
    env.write_text(f"WORKOS_API_KEY=sk_test_fromfile123\nWORKOS_CLIENT_ID={workos_emu.client_id}\n"
                   f"WORKOS_BASE_URL={workos_emu.base_url}\n")
    env.chmod(0o600)  # as the README says (a file others can read fails this check: test_hardening_keys)
    settings = Settings.load(env, environ={"WORKOS_API_KEY": workos_emu.api_key})
    result = prerequisite_checks(settings)
    assert result.passed, result.reason
    assert str(env) in _check(result, ".env.local file").evidence
    assert "overrides .env.local" in _check(result, "WORKOS_API_KEY present").evidence
    assert "from .env.local" in _check(result, "WORKOS_CLIENT_ID present").evidence


def test_missing_keys_fail_with_hints(tmp_path: Path):
    settings = Settings.load(tmp_path / "nope.env", environ={})
    result = prerequisite_checks(settings)
    assert result.status is GateStatus.FAILED
    for name in (".env.local file", "WORKOS_API_KEY present", "WORKOS_CLIENT_ID present", "WorkOS accepts the key"):
        c = _check(result, name)
        assert not c.ok and c.fix_hint, name
    assert "WORKOS_API_KEY=sk_" in _check(result, "WORKOS_API_KEY present").fix_hint


def test_bad_formats(workos_emu):
    s = Settings(workos_api_key="client_123456789", workos_client_id="sk_test_abcdefgh",
                 workos_base_url=workos_emu.base_url)
    result = prerequisite_checks(s, live=False)
    fmt = _check(result, "WORKOS_API_KEY format")
    assert not fmt.ok and "client ID" in fmt.fix_hint
    assert not _check(result, "WORKOS_CLIENT_ID present").ok
    assert "WorkOS accepts the key" not in [c.name for c in result.checks]


def test_live_key_is_flagged_but_accepted_format():
    s = Settings(workos_api_key="sk_live_abcdefghijkl", workos_client_id="client_x")
    c = _check(prerequisite_checks(s, live=False), "WORKOS_API_KEY format")
    assert c.ok and "LIVE" in c.evidence


def test_wrong_key_is_refused(workos_emu):
    s = Settings(workos_api_key="sk_test_wrongwrongwrong", workos_client_id=workos_emu.client_id,
                 workos_base_url=workos_emu.base_url)
    result = prerequisite_checks(s)
    c = _check(result, "WorkOS accepts the key")
    assert not c.ok and "the key was refused" in c.evidence and "401" in c.evidence
    assert "API Keys" in c.fix_hint
    assert "sk_test_wrongwrongwrong" not in c.evidence
    assert result.reason.startswith("WorkOS accepts the key")


def test_unreachable_url():
    url = f"http://127.0.0.1:{_closed_port()}"
    s = Settings(workos_api_key="sk_test_abcdefghijkl", workos_client_id="client_x", workos_base_url=url)
    c = _check(prerequisite_checks(s), "WorkOS accepts the key")
    assert not c.ok and f"cannot reach WORKOS_BASE_URL {url}" in c.evidence
    assert "WORKOS_BASE_URL" in c.fix_hint
