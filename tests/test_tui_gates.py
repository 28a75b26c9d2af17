"""Each gate refuses to advance on a failing input, and the TUI shows why (Next stays disabled)."""

from __future__ import annotations

import gzip

import pytest
from textual.widgets import Button
from tui_helpers import click, gate, screen_text, settle, start_at, type_into

from wizard.core import steps
from wizard.core.artifacts import write_dry_run_artifacts
from wizard.core.config import Settings
from wizard.core.journal import Journal
from wizard.core.progress import Progress
from wizard.sandbox.ratelimit import RateLimits
from wizard.tui.app import WizardApp
from wizard.tui.messages import ProgressUpdate

pytestmark = pytest.mark.timeout(60)


async def test_bad_api_key_fails_prereqs_and_next_stays_disabled(tmp_path, workos_emu):
    settings = Settings(workos_api_key="sk_test_not_the_right_key", workos_client_id="client_sandbox",
                        workos_base_url=workos_emu.base_url)
    start_at(tmp_path / "run", "prereqs")
    app = WizardApp(tmp_path / "run", settings)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        assert app.current_step.id == "prereqs"
        result = gate(app, "prereqs")
        assert not result.passed
        assert app.query_one("#btn-next", Button).disabled
        checks = app.query_one("#prereqs-checks")
        assert "○" in str(checks.render()) and "✗" not in str(checks.render()), "untouched: to do, not failed"
        assert "fix:" in str(checks.render()), "the reason is on screen before anyone acts"
        await pilot.press("n")
        await settle(pilot)
        assert app.current_step.id == "prereqs", "n must not pass a failed gate"
        assert "✗" in str(checks.render()), "Next pressed on a failed gate: now it is a failure"
        text = screen_text(app)
        assert "✗" in text and "fix:" in text, text
        assert "sk_test_not_the_right_key" not in text, "keys are masked"
    with Journal.open(tmp_path / "run") as j:
        assert j.step("prereqs")["status"] == "failed"


async def test_users_file_with_only_invalid_lines_fails_export_gate(tmp_path, monkeypatch, sandbox_settings):
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "users.json.gz"
    with gzip.open(bad, "wt") as fh:
        fh.write("{not json\n[1, 2\n{\"user_id\": \n")
    start_at(tmp_path / "run", "export")
    app = WizardApp(tmp_path / "run", sandbox_settings)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        assert app.current_step.id == "export"
        await type_into(pilot, "#export-users", "users.json.gz")
        await click(pilot, "#export-verify")
        await settle(pilot)
        assert app.query_one("#btn-next", Button).disabled
        # no password export: the conditional part needs a typed reason first
        await click(pilot, "#export-nopw")
        await type_into(pilot, "#reason-input", "short")
        await pilot.press("enter")
        await pilot.pause()
        assert "required" in screen_text(app), "a too-short reason is refused"
        await type_into(pilot, "#reason-input", "this tenant has only social users")
        await pilot.press("enter")
        await settle(pilot)
        await click(pilot, "#export-verify")
        await settle(pilot)
        result = gate(app, "export")
        assert result is not None and not result.passed, screen_text(app)
        assert app.query_one("#btn-next", Button).disabled
        findings = app.journal.findings()
        assert findings and all(f.line for f in findings if f.code != "no_users"), findings
        table_text = screen_text(app)
        assert "users.json.gz:1" in table_text, table_text


async def test_conditional_step_needs_a_typed_reason(tmp_path, sandbox_settings):
    start_at(tmp_path / "run", "social")
    app = WizardApp(tmp_path / "run", sandbox_settings)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        assert app.current_step.id == "social"
        assert not gate(app, "social").passed, "no plan, no provider: the gate fails"
        await pilot.press("x")
        await pilot.pause()
        await type_into(pilot, "#reason-input", "no")
        await pilot.press("enter")
        await pilot.pause()
        assert app.journal.step("social")["status"] != "not_applicable"
        await type_into(pilot, "#reason-input", "we never enabled social sign-in")
        await pilot.press("enter")
        await settle(pilot)
        assert gate(app, "social").passed
        assert app.journal.step("social") == app.journal.step("social") | {
            "status": "not_applicable", "reason": "we never enabled social sign-in"}
        assert "n/a" in screen_text(app)
        assert not app.query_one("#btn-next", Button).disabled
        await pilot.press("b")
        await settle(pilot)
        await pilot.press("x")  # the import always applies: no modal, a warning
        await pilot.pause()
        assert not app.query("#reason-input")


async def test_worker_errors_are_shown_and_logged_without_secrets(tmp_path, sandbox_settings):
    settings = Settings(**{**sandbox_settings.__dict__, "auth0_client_secret": "wrong-secret-value-123"})
    start_at(tmp_path / "run", "inventory")
    app = WizardApp(tmp_path / "run", settings)
    async with app.run_test(size=(100, 34), notifications=True) as pilot:
        await settle(pilot)
        await click(pilot, "#inventory-run")
        await settle(pilot)
        assert not gate(app, "inventory").passed
        errors = app.journal.get_document("wizard_errors")
        assert errors and errors[-1]["step"] == "inventory", errors
        assert "wrong-secret-value-123" not in str(errors)
        assert not app.query_one("#inventory-run", Button).disabled, "the button comes back after an error"


def test_gate_rules_in_core(tmp_path):
    with Journal.open(tmp_path) as j:
        with pytest.raises(ValueError):
            steps.mark_not_applicable(j, "import", "a long enough reason")
        with pytest.raises(ValueError):
            steps.mark_not_applicable(j, "orgs", "short")
        assert steps.resume_index(j) == 0
        settings = Settings()
        assert not steps.evaluate(steps.step_by_id("guide"), j, settings).passed
        steps.acknowledge_guide(j)
        assert steps.check_step(steps.step_by_id("guide"), j, settings).passed
        assert not steps.evaluate(steps.step_by_id("import"), j, settings).passed
        assert not steps.dry_run_gate(j).passed
        write_dry_run_artifacts(j, {"would_create": 1, "stopped": False, "dry_run": True})
        assert steps.dry_run_gate(j).passed
        assert steps.resume_index(j) == 1


def test_progress_messages_coalesce_per_operation():
    a = ProgressUpdate("import", Progress("import", 10))
    b = ProgressUpdate("import", Progress("import", 10, {"created": 5}))
    other = ProgressUpdate("import", Progress("import-dry-run", 10))
    assert b.can_replace(a) and not other.can_replace(a)
    assert not ProgressUpdate("orgs", Progress("import", 1)).can_replace(a)


async def test_import_cancel_keeps_the_journal_and_resume_finishes(tmp_path, sandbox_settings, demo_exports,
                                                                   workos_emu, hold_creates):
    from wizard.core.plan import build_plan, save_plan

    with Journal.open(tmp_path / "run") as j:
        save_plan(j, build_plan(demo_exports.users_path, demo_exports.passwords_path),
                  demo_exports.users_path, demo_exports.passwords_path)
    start_at(tmp_path / "run", "import")
    app = WizardApp(tmp_path / "run", sandbox_settings)
    hold = hold_creates(after=3)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        assert app.current_step.id == "import"
        await click(pilot, "#import-dry")
        await settle(pilot)
        hold.install()
        # the pacer sends a whole window at once: a server that takes only 5 writes per second
        # keeps most users unsent (429 pauses), so the cancel finds some planned
        workos_emu.emulator.set_limits(RateLimits(writes_per_10s=5, write_window_s=1.0))
        await type_into(pilot, "#import-confirm", "import")
        await click(pilot, "#import-start")
        for _ in range(400):  # the first three creates answer; the rest are held in the air
            await pilot.pause(0.05)
            if app.journal.count_users("status").get("created", 0) >= 3:
                break
        await click(pilot, "#import-cancel")
        hold.release.set()
        await settle(pilot)
        counts = app.journal.count_users("status")
        assert counts.get("planned", 0) + counts.get("in_flight", 0) > 0, counts
        assert not gate(app, "import").passed, "a cancelled import does not pass the gate"
        workos_emu.emulator.set_limits(RateLimits())
        hold.remove()
        await type_into(pilot, "#import-confirm", "import")
        await click(pilot, "#import-start")
        await settle(pilot)
        counts = app.journal.count_users("status")
        assert counts.get("planned", 0) == counts.get("in_flight", 0) == 0, counts
        done = counts.get("created", 0) + counts.get("updated", 0)
        assert len(workos_emu.emulator.users) == done, "every user exactly once after the resume"
        assert gate(app, "import").passed, screen_text(app)


def test_no_password_export_needs_a_stated_reason(tmp_path, demo_exports):
    from wizard.core.plan import build_plan, save_plan

    with Journal.open(tmp_path) as j:
        save_plan(j, build_plan(demo_exports.users_path, None), demo_exports.users_path, None)
        export = steps.step_by_id("export")
        result = steps.evaluate(export, j, Settings())
        assert not result.passed and "Password-hash export" in result.reason
        with pytest.raises(ValueError):
            steps.set_no_passwords_reason(j, "no")
        steps.set_no_passwords_reason(j, "social-only tenant, no database users")
        assert steps.evaluate(export, j, Settings()).passed


def test_progress_line_shows_rate_eta_and_a_429_pause():
    import time

    from wizard.tui.widgets.progress_panel import ProgressPanel

    running = Progress("import", 100, {"created": 20, "failed": 1}, rate=4.0, eta_seconds=90,
                       paused_until=time.time() + 30, pause_cause="rate limited (HTTP 429)",
                       latest_error="429 from WorkOS")
    line = ProgressPanel.describe(running)
    assert "21/100" in line and "4.0/s" in line and "ETA 1m30s" in line
    assert "rate limited (HTTP 429)" in line and "latest error" in line
    # a wait after a 5xx or with no stated cause is never called "rate limited" (issue 10)
    server = ProgressPanel.describe(Progress("import", 100, {}, paused_until=time.time() + 30,
                                             pause_cause="server error (HTTP 502)"))
    unknown = ProgressPanel.describe(Progress("import", 100, {}, paused_until=time.time() + 30))
    assert "server error (HTTP 502)" in server and "rate limited" not in server + unknown
    done = ProgressPanel.describe(Progress("import", 100, {"created": 100}, rate=4.0, done=True))
    assert "finished, 100/100" in done and "/s" not in done


def test_a_gate_that_raises_fails_with_a_plain_message(tmp_path):
    broken = steps.Step("x", "Broken", lambda j, s: 1 / 0)
    with Journal.open(tmp_path) as j:
        result = steps.evaluate(broken, j, Settings())
    assert not result.passed and "ZeroDivisionError" in result.reason


async def test_an_untouched_step_is_to_do_not_failed(tmp_path):
    """First launch: the guide's gate has not passed, but nobody acted yet, so no red ✗ in the rail;
    Next pressed on the failed gate makes it a failure (and stays one when the run is resumed)."""
    app = WizardApp(tmp_path / "run", Settings())
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        assert app.current_step.id == "guide" and not gate(app, "guide").passed
        item = app.query_one("#rail-guide")
        assert item.status == "todo" and str(item.rail_text()).startswith("▶"), item.rail_text()
        assert "to do" in str(app.query_one("#gate-status").render())
        assert app.query_one("#btn-next", Button).disabled
        await pilot.press("n")
        await settle(pilot)
        assert app.current_step.id == "guide"
        assert item.status == "failed" and str(item.rail_text()).startswith("✗")
    app = WizardApp(tmp_path / "run", Settings())
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        assert app.query_one("#rail-guide").status == "failed", "a recorded attempt is remembered"


async def test_prefilled_export_paths_outside_the_working_folder_open(tmp_path, monkeypatch, sandbox_settings,
                                                                      demo_exports):
    """`auth0-workos --sandbox` keeps its exports in a temp folder, away from the working folder: the
    prefilled inputs must hold paths that open, not a shortened display form."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    start_at(tmp_path / "run", "export")
    app = WizardApp(tmp_path / "run", sandbox_settings, demo_exports=demo_exports)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        await click(pilot, "#export-verify")
        await settle(pilot)
        assert gate(app, "export").passed, screen_text(app)
    with Journal.open(tmp_path / "run") as j:
        assert j.input_path("users") == demo_exports.users_path.resolve()
