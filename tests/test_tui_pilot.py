"""The whole demo migration through the Textual wizard, against the sandbox emulators over HTTP."""

from __future__ import annotations

import csv
import re

import pytest
from tui_helpers import click, find, gate, next_step, screen_text, settle, type_into

from wizard.core.journal import Journal
from wizard.tui.app import WizardApp

pytestmark = pytest.mark.timeout(120)


def make_app(tmp_path, settings, demo_exports, demo_tenant=None) -> WizardApp:
    creds = list(demo_tenant.credentials) if demo_tenant is not None else []
    return WizardApp(tmp_path / "run", settings, demo_exports=demo_exports, demo_credentials=creds)


async def walk_to_mapping(pilot) -> None:
    app = pilot.app
    await settle(pilot)
    assert app.current_step.id == "guide"
    assert app.query_one("#btn-next").disabled
    await click(pilot, "#guide-ack")
    await settle(pilot)
    assert gate(app, "guide").passed
    await next_step(pilot, "prereqs")
    assert gate(app, "prereqs").passed, screen_text(app)
    await next_step(pilot, "inventory")
    await click(pilot, "#inventory-run")
    await settle(pilot)
    assert gate(app, "inventory").passed, screen_text(app)
    await next_step(pilot, "export")
    await click(pilot, "#export-verify")
    await settle(pilot)
    assert gate(app, "export").passed, screen_text(app)
    assert app.journal.finding_counts(), "the demo export carries findings to drill into"
    await next_step(pilot, "mapping")
    assert gate(app, "mapping").passed, screen_text(app)


async def test_whole_demo_migration(tmp_path, monkeypatch, sandbox_settings, demo_exports, demo_tenant,
                                    workos_emu, auth0_emu):
    from wizard.sandbox.auth0_emulator import FULL_SCOPES

    auth0_emu.emulator.scopes = FULL_SCOPES  # the roles step reads member roles
    monkeypatch.chdir(tmp_path)
    app = make_app(tmp_path, sandbox_settings, demo_exports, demo_tenant)
    async with app.run_test(size=(100, 34)) as pilot:
        await walk_to_mapping(pilot)
        password_user = app.journal.users(branch="password", limit=1)[0]
        await type_into(pilot, "#mapping-search", password_user.email)
        await settle(pilot)
        assert app.query_one("#mapping-users").row_count == 1
        request = str(app.query_one("#mapping-request").render())
        assert password_user.auth0_user_id in request and "external_id" in request, request
        assert "password_hash" in request and not re.search(r"\$2[abxy]\$\d\d\$[./A-Za-z0-9]{20,}", request), \
            "the hash is described, never shown"
        await next_step(pilot, "import")
        # the real import is refused before a dry run
        assert app.query_one("#import-start").disabled
        assert not gate(app, "import").passed
        await click(pilot, "#import-dry")
        await settle(pilot)
        assert workos_emu.emulator.users == {}, "the dry run writes nothing"
        to_send = app.current_view.to_send()
        await type_into(pilot, "#import-confirm", "yes")
        await click(pilot, "#import-start")
        await settle(pilot)
        assert workos_emu.emulator.users == {}, "a wrong typed confirmation sends nothing"
        await type_into(pilot, "#import-confirm", str(to_send))
        await click(pilot, "#import-start")
        await settle(pilot, timeout=60)
        counts = app.journal.count_users("status")
        assert counts.get("created", 0) > 0 and counts.get("planned", 0) == 0, counts
        assert len(workos_emu.emulator.users) == counts.get("created", 0) + counts.get("updated", 0)
        if counts.get("failed"):
            await click(pilot, "#import-accept")
            await type_into(pilot, "#reason-input", "demo failures are expected and documented")
            await pilot.press("enter")
            await settle(pilot)
        assert gate(app, "import").passed, screen_text(app)
        # the same run-folder files as `auth0-workos import`, named on screen
        run = tmp_path / "run"
        with (run / "id-map.csv").open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        id_map = list(app.journal.id_map())
        assert rows and len(rows) == len(id_map), "one row per Auth0 id"
        assert sorted(r["auth0_user_id"] for r in rows) == sorted(a for a, _, _ in id_map)
        assert {r["auth0_user_id"]: r["workos_user_id"] for r in rows} == {a: w or "" for a, w, _ in id_map}
        assert app.journal.get_document("import_summary")["created"] == counts.get("created", 0)
        assert (run / "summary.json").is_file() and (run / "errors.jsonl").is_file()
        summary_text = str(app.query_one("#import-summary").render())
        assert "id-map.csv" in summary_text and "errors.jsonl" in summary_text, summary_text
        await next_step(pilot, "social")
        providers = [b for b in app.query("#social-items Checkbox")]
        assert providers, screen_text(app)
        assert not gate(app, "social").passed
        for box in providers:
            await click(pilot, f"#{box.id}")
            await settle(pilot)
        assert gate(app, "social").passed, screen_text(app)
        assert set(app.journal.get_document("social_confirmations")) == {b.provider for b in providers}
        await next_step(pilot, "orgs")
        if sandbox_settings.has_auth0_credentials:
            await click(pilot, "#orgs-export")
            await settle(pilot)
            await click(pilot, "#orgs-migrate")
            await find(pilot, "#typed-input")
            await pilot.pause(0.1)
            await type_into(pilot, "#typed-input", "migrate")  # the write's typed confirmation
            await pilot.press("enter")
            await settle(pilot)
            assert workos_emu.emulator.organizations, screen_text(app)
        else:
            await pilot.press("x")
            await type_into(pilot, "#reason-input", "no Auth0 organizations in this tenant")
            await pilot.press("enter")
            await settle(pilot)
        assert gate(app, "orgs").passed, screen_text(app)
        await next_step(pilot, "roles")
        await click(pilot, "#roles-read")
        for _ in range(600):  # the read pages every member's roles at the Management API's pace
            await settle(pilot)
            if app.journal.get_document("roles_read") and not app.workers:
                break
            await pilot.pause(0.05)
        assert app.journal.get_document("roles_read"), screen_text(app)
        await click(pilot, "#roles-preview")
        await settle(pilot)
        assert not workos_emu.emulator.permissions, "the roles dry run writes nothing"
        await type_into(pilot, "#roles-confirm", "roles")
        await click(pilot, "#roles-apply")
        for _ in range(600):
            await settle(pilot)
            if gate(app, "roles").passed and not app.workers:
                break
            await pilot.pause(0.05)
        assert gate(app, "roles").passed, screen_text(app)
        await next_step(pilot, "sso")
        await click(pilot, "#sso-dry")
        await settle(pilot)
        assert not workos_emu.emulator.sso.connections, "the SSO dry run writes nothing"
        await type_into(pilot, "#sso-confirm", "sso")
        await click(pilot, "#sso-create")
        await settle(pilot)
        assert workos_emu.emulator.sso.connections and gate(app, "sso").passed, screen_text(app)
        await next_step(pilot, "mfa")
        await click(pilot, "#mfa-build")
        await settle(pilot)
        for key in ("email_before", "enrollment", "grace_period", "enforce_after"):
            await click(pilot, f"#mfa-item-{key}")
            await settle(pilot)
        assert gate(app, "mfa").passed, screen_text(app)
        await next_step(pilot, "verify")
        await click(pilot, "#verify-demo")
        await settle(pilot)
        assert app.query_one("#verify-password").value, "demo credentials filled"
        await click(pilot, "#verify-signin")
        await settle(pilot)
        assert "✓" in str(app.query_one("#verify-signin-result").render()), screen_text(app)
        await click(pilot, "#verify-run")
        await settle(pilot, timeout=60)
        assert gate(app, "verify").passed, screen_text(app)
        await click(pilot, "#verify-report")
        await settle(pilot)
        assert (tmp_path / "run" / "report.md").is_file()
        rail = {s: app.journal.step(s)["status"] for s in app.journal.steps()}
        assert all(v in ("passed", "not_applicable") for v in rail.values()), rail
        assert "sk_test" not in (tmp_path / "run" / "report.md").read_text()


async def test_quit_and_resume_at_the_same_step(tmp_path, monkeypatch, sandbox_settings, demo_exports):
    monkeypatch.chdir(tmp_path)
    app = make_app(tmp_path, sandbox_settings, demo_exports)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        await click(pilot, "#guide-ack")
        await settle(pilot)
        await next_step(pilot, "prereqs")
        await pilot.press("q")
    with Journal.open(tmp_path / "run") as j:
        assert j.step("guide")["status"] == "passed"
    again = make_app(tmp_path, sandbox_settings, demo_exports)
    async with again.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        assert again.current_step.id == "prereqs"
        assert "✓" in screen_text(again).splitlines()[1], "the rail shows the guide passed"
        await pilot.click("#rail-verify")  # the mouse works, but gates still hold
        await settle(pilot)
        assert again.current_step.id == "prereqs"
        await pilot.click("#rail-guide")
        await settle(pilot)
        assert again.current_step.id == "guide"


async def test_help_screen_and_small_terminal(tmp_path, monkeypatch, sandbox_settings, demo_exports):
    monkeypatch.chdir(tmp_path)
    app = make_app(tmp_path, sandbox_settings, demo_exports)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "Migration guide" in text and "Verify & report" in text, text
        assert "Next" in text and "Quit" in text
        await pilot.press("question_mark")
        await pilot.pause()
        assert "Keys" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert app.current_step.id == "guide"
