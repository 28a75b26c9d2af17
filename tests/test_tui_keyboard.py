"""Keyboard-first use of the wizard, and the inventory view's input checks and summary."""

from __future__ import annotations

import pytest
from textual.widgets import Input
from tui_helpers import click, gate, screen_text, settle, start_at

from wizard.core.config import Settings
from wizard.tui.app import WizardApp

pytestmark = pytest.mark.timeout(60)


def notifications(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_entering_a_step_focuses_its_primary_action(tmp_path, monkeypatch, sandbox_settings, demo_exports):
    monkeypatch.chdir(tmp_path)
    start_at(tmp_path / "run", "inventory")
    app = WizardApp(tmp_path / "run", sandbox_settings, demo_exports=demo_exports)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        assert app.focused is app.query_one("#inventory-run"), app.focused
        await pilot.press("enter")  # the focused button is the action: Enter builds the inventory
        await settle(pilot)
        assert gate(app, "inventory").passed, screen_text(app)
        await pilot.press("n")
        await settle(pilot)
        assert app.current_step.id == "export"
        assert app.focused is app.query_one("#export-verify"), app.focused


async def test_without_credentials_an_empty_export_path_gets_the_focus(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    start_at(tmp_path / "run", "inventory")
    app = WizardApp(tmp_path / "run", Settings())
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        assert app.focused is app.query_one("#inventory-users-path"), app.focused


async def test_escape_leaves_a_field_so_n_goes_next(tmp_path, monkeypatch, sandbox_settings, demo_exports):
    monkeypatch.chdir(tmp_path)
    start_at(tmp_path / "run", "inventory")
    app = WizardApp(tmp_path / "run", sandbox_settings, demo_exports=demo_exports)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        await click(pilot, "#inventory-run")
        await settle(pilot)
        assert gate(app, "inventory").passed, screen_text(app)
        box = app.query_one("#inventory-users-path", Input)
        before = box.value
        await pilot.click(box)
        await pilot.pause()
        assert app.focused is box
        assert "esc" in screen_text(app) and "leaves a field" in screen_text(app), "the footer says how out"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.focused, Input), app.focused
        await pilot.press("n")
        await settle(pilot)
        assert box.value == before, "n after Esc is not typed into the field"
        assert app.current_step.id == "export", screen_text(app)


async def test_a_users_path_that_is_not_a_file_is_refused_by_name(tmp_path, monkeypatch, sandbox_settings):
    monkeypatch.chdir(tmp_path)
    start_at(tmp_path / "run", "inventory")
    app = WizardApp(tmp_path / "run", sandbox_settings)  # Auth0 credentials present
    missing = tmp_path / "nowhere" / "users.json.gz"
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        app.query_one("#inventory-users-path", Input).value = str(missing)
        await click(pilot, "#inventory-run")
        await settle(pilot)
        assert any(str(missing) in m and "not a file" in m for m in notifications(app)), notifications(app)
        assert app.journal.get_document("inventory") is None, "nothing was scanned"
        assert not app.query_one("#inventory-run").disabled, "no work was started"


async def test_inventory_view_shows_the_summary_not_a_key_dump(tmp_path, monkeypatch, sandbox_settings,
                                                                demo_exports, demo_tenant):
    monkeypatch.chdir(tmp_path)
    start_at(tmp_path / "run", "inventory")
    app = WizardApp(tmp_path / "run", sandbox_settings, demo_exports=demo_exports)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(pilot)
        await click(pilot, "#inventory-run")
        await settle(pilot)
        text = str(app.query_one("#inventory-summary").render())
        assert f"Users: {len(demo_tenant.users)}" in text, text
        assert "Sign-in methods (users per kind): " in text and "MFA (from " in text, text
        assert "item(s)" not in text and "entries" not in text, text


async def test_the_key_bar_is_rebuilt_only_when_its_keys_change(tmp_path, monkeypatch, sandbox_settings,
                                                               demo_exports):
    """Moving between buttons keeps the footer's key widgets (rebuilding them made Tab slow during an
    import); focusing a text field adds Esc, and leaving it takes Esc away again."""
    from textual.widgets._footer import FooterKey

    from wizard.tui.widgets.key_footer import KeyFooter

    monkeypatch.chdir(tmp_path)
    start_at(tmp_path / "run", "export")
    app = WizardApp(tmp_path / "run", sandbox_settings, demo_exports=demo_exports)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        footer = app.query_one(KeyFooter)

        def keys():
            return [(k.key, k) for k in footer.query(FooterKey)]

        app.query_one("#export-verify").focus()
        await settle(pilot)
        before = keys()
        assert before and "escape" not in [k for k, _ in before]
        await pilot.press("tab")
        await settle(pilot)
        assert not isinstance(app.focused, Input), app.focused
        assert keys() == before  # the same widgets, not rebuilt ones
        app.query_one(Input).focus()
        await settle(pilot)
        assert "escape" in [k for k, _ in keys()]
        await pilot.press("escape")
        await settle(pilot)
        assert "escape" not in [k for k, _ in keys()]
