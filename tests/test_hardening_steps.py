"""Hardening of the steps after the import: the roles and SSO steps refuse a run folder bound to
another WorkOS environment before they write anything (like import, rollback and verify do)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sso_helpers import _world
from test_roles import full_auth0, migrated  # noqa: F401  (fixtures)

from wizard.core.environment import EnvironmentMismatch
from wizard.sandbox.server import serve
from wizard.sandbox.workos_emulator import WorkOSEmulator
from wizard.tasks.roles import rollback_roles, run_roles
from wizard.tasks.sso import run_sso, run_sso_rollback

WRITES = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def other_environment(workos_emu):
    """Another WorkOS environment (another base URL) that accepts the same key."""
    other = WorkOSEmulator(api_key=workos_emu.api_key, client_id=workos_emu.client_id)
    with serve(other.app) as url:
        yield other, url


def _writes(emu) -> int:
    return sum(1 for r in emu.requests if r[0] in WRITES)


def test_roles_refuse_a_run_bound_to_another_environment(migrated, workos_emu, sandbox_settings,  # noqa: F811
                                                         other_environment):
    journal, _ = migrated
    other, url = other_environment
    elsewhere = replace(sandbox_settings, workos_base_url=url)
    for job in (lambda: run_roles(journal, elsewhere), lambda: rollback_roles(journal, elsewhere)):
        with pytest.raises(EnvironmentMismatch) as refused:
            job()
        assert "refusing to" in str(refused.value) and workos_emu.base_url.rstrip("/").lower() in str(refused.value)
        assert sandbox_settings.workos_api_key not in str(refused.value)
    assert _writes(other) == 0
    assert run_roles(journal, sandbox_settings).outcome.ok  # the bound one still works


def test_sso_refuses_a_run_bound_to_another_environment(tmp_path, sandbox_settings, demo_exports, workos_emu,
                                                        other_environment):
    journal = _world(tmp_path, sandbox_settings, demo_exports)
    try:
        other, url = other_environment
        elsewhere = replace(sandbox_settings, workos_base_url=url)
        with pytest.raises(EnvironmentMismatch, match="refusing to create SSO connections"):
            run_sso(journal, elsewhere, write=True)
        with pytest.raises(EnvironmentMismatch, match="refusing to roll back the SSO step"):
            run_sso_rollback(journal, elsewhere)
        assert _writes(other) == 0 and not other.sso.connections
        assert not workos_emu.emulator.sso.connections
        assert run_sso(journal, sandbox_settings, write=True).ok
    finally:
        journal.close()
