"""The Enterprise SSO step in the real Textual app: plan + dry run, a typed confirmation before any
write, a mode switched per connection, a secret typed in masked, N/A refused while connections exist."""

from __future__ import annotations

import asyncio

import pytest
from sso_helpers import _world
from textual.widgets import Button, DataTable, Input
from tui_helpers import click, gate, screen_text, settle, type_into

from wizard.core import sso, steps
from wizard.tui.app import WizardApp

pytestmark = pytest.mark.timeout(120)


def _at_sso(journal) -> None:
    for s in steps.STEPS[: steps.STEP_IDS.index("sso")]:
        journal.set_step(s.id, "passed", "", {})
    steps.remember_current(journal, "sso")


def test_sso_step_dry_run_confirm_create_and_gate(tmp_path, sandbox_settings, demo_exports, workos_emu):
    journal = _world(tmp_path, sandbox_settings, demo_exports)  # sets up with its own event loops
    _at_sso(journal)
    journal.close()
    asyncio.run(_walk_sso_step(tmp_path, sandbox_settings, workos_emu))


async def _walk_sso_step(tmp_path, sandbox_settings, workos_emu) -> None:
    secret = "typed-in-the-tui-7781"
    app = WizardApp(tmp_path / "run", sandbox_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.current_step.id == "sso"
        assert not gate(app, "sso").passed
        assert app.query_one("#sso-create", Button).disabled, "no write before a dry run"
        await click(pilot, "#sso-dry")
        await settle(pilot)
        assert not workos_emu.emulator.sso.connections, "the dry run wrote nothing"
        table = app.query_one("#sso-table", DataTable)
        assert table.row_count == 9
        # N/A is refused while the inventory lists enterprise connections
        await pilot.press("x")
        await type_into(pilot, "#reason-input", "no enterprise customers here")
        await pilot.press("enter")
        await settle(pilot)
        assert app.journal.step("sso")["status"] != "not_applicable"
        # the selected connection's mode is switched; a secret is typed in for the one Auth0 kept
        names = [str(k.value) for k in table.rows]
        table.move_cursor(row=names.index("acme-saml"))
        await click(pilot, "#sso-mode")
        table.move_cursor(row=names.index("fabrikam-oidc"))
        field = app.query_one("#sso-secret", Input)
        assert field.password, "the secret is masked"
        await type_into(pilot, "#sso-secret", secret)
        await click(pilot, "#sso-use-secret")
        await click(pilot, "#sso-dry")
        await settle(pilot)
        assert secret not in screen_text(app)
        # a wrong confirmation writes nothing
        await type_into(pilot, "#sso-confirm", "yes")
        await click(pilot, "#sso-create")
        await settle(pilot)
        assert not workos_emu.emulator.sso.connections
        await type_into(pilot, "#sso-confirm", "sso")
        await click(pilot, "#sso-create")
        await settle(pilot)
        assert len(workos_emu.emulator.sso.connections) == 8
        assert gate(app, "sso").passed, screen_text(app)
        rows = {r["name"]: r for r in sso.summary_rows(app.journal)}
        assert rows["acme-saml"]["mode"] == sso.NEW_ENDPOINTS
        assert rows["fabrikam-oidc"]["outcome"] == "created"
        assert secret not in screen_text(app)
