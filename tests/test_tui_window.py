"""The window in the Textual wizard: "Catch up with Auth0" on the import step and the cutover
checklist, driven with Pilot against the WorkOS emulator over HTTP."""

from __future__ import annotations

import pytest
from test_sync import Tenant, _env, _import
from tui_helpers import click, gate, screen_text, settle, start_at, type_into

from wizard.core import cutover
from wizard.core.config import Settings
from wizard.tui.app import WizardApp

pytestmark = pytest.mark.timeout(120)


def _settings(workos_emu) -> Settings:
    return Settings(workos_api_key=workos_emu.api_key, workos_client_id=workos_emu.client_id,
                    workos_base_url=workos_emu.base_url)


async def test_catch_up_on_the_import_step_sends_only_the_difference(workos_emu, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tenant = Tenant(tmp_path / "exports")
    run_dir = tmp_path / "run"
    _import(tenant, _env(workos_emu), tmp_path, run_dir)
    users2, pw2 = tenant.files(2)
    start_at(run_dir, "import")
    emu = workos_emu.emulator
    app = WizardApp(run_dir, _settings(workos_emu))
    async with app.run_test(size=(110, 40)) as pilot:
        await settle(pilot)
        assert app.current_step.id == "import"
        assert app.query_one("#import-catch-up").display
        await type_into(pilot, "#import-catch-up-users", str(users2))
        await type_into(pilot, "#import-catch-up-passwords", str(pw2))
        writes = emu.request_count("POST") + emu.request_count("PUT")
        await click(pilot, "#import-catch-up-preview")
        await settle(pilot)
        text = str(app.query_one("#import-catch-up-plan").render())
        assert "2 new in Auth0 (created)" in text, text + screen_text(app)
        assert emu.request_count("POST") + emu.request_count("PUT") == writes, "a preview sends nothing"
        panel = app.query_one("#import-catch-up")
        expected = panel.expected_confirmation()
        await type_into(pilot, "#import-catch-up-confirm", "nope")
        await click(pilot, "#import-catch-up-send")
        await settle(pilot)
        assert emu.user_by_email("user30@example.com") is None, "a wrong confirmation sends nothing"
        await type_into(pilot, "#import-catch-up-confirm", expected)
        await click(pilot, "#import-catch-up-send")
        await settle(pilot, timeout=60)
        assert emu.user_by_email("user30@example.com") is not None
        assert emu.user_by_email("renamed2@example.com") is not None
        assert app.journal.syncs(status="done")


async def test_cutover_checklist_in_the_wizard(workos_emu, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tenant = Tenant(tmp_path / "exports")
    run_dir = tmp_path / "run"
    _import(tenant, _env(workos_emu), tmp_path, run_dir)
    start_at(run_dir, "cutover")
    app = WizardApp(run_dir, _settings(workos_emu))
    async with app.run_test(size=(110, 40)) as pilot:
        await settle(pilot)
        assert app.current_step.id == "cutover"
        await click(pilot, "#cutover-switched")
        await settle(pilot)
        assert "switched" not in cutover.state(app.journal), "refused before the strategy and final sync"
        await click(pilot, "#cutover-disable_signups")
        await settle(pilot)
        await click(pilot, "#cutover-catch-up-preview")  # empty fields: the export already used
        await settle(pilot)
        await click(pilot, "#cutover-catch-up-send")
        await settle(pilot, timeout=60)
        assert cutover.state(app.journal).get("final_sync"), screen_text(app)
        await click(pilot, "#cutover-switched")
        await settle(pilot)
        await click(pilot, "#cutover-watched")  # minutes after the switch: a reason is asked
        await settle(pilot)
        await type_into(pilot, "#reason-input", "rehearsal on staging: nobody signs in")
        await pilot.press("enter")
        await settle(pilot)
        await click(pilot, "#cutover-auth0_disabled")
        await settle(pilot)
        assert gate(app, "cutover").passed, screen_text(app)
