"""Issue 16: keyboard and focus, full messages, honest states, the rehearsal flags (small scale)."""

from __future__ import annotations

import pytest
from textual.widgets import Button, DataTable, Input
from tui_helpers import click, find, gate, screen_text, settle, start_at, type_into

from wizard.cli import main
from wizard.core import steps
from wizard.core.journal import Journal
from wizard.core.rundir import SANDBOX_RUN_META
from wizard.tui.app import WizardApp
from wizard.tui.hints import for_screen
from wizard.tui.screens import ConfirmScreen, TypedConfirmScreen
from wizard.tui.widgets.tickbox import TickBox

pytestmark = pytest.mark.timeout(90)


def notifications(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_focus_ring_differs_from_the_primary_button(tmp_path, monkeypatch, sandbox_settings, demo_exports):
    monkeypatch.chdir(tmp_path)
    start_at(tmp_path / "run", "import")
    app = WizardApp(tmp_path / "run", sandbox_settings, demo_exports=demo_exports)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        dry = app.query_one("#import-dry", Button)  # the primary button
        back = app.query_one("#btn-back", Button)
        back.focus()
        await pilot.pause()
        focused_bg, primary_bg = back.styles.background, dry.styles.background
        assert focused_bg != primary_bg, "a focused button must not look like the primary one"
        dry.focus()
        await pilot.pause()
        assert dry.styles.background == focused_bg, "focus looks the same on every button"
        assert dry.styles.background != primary_bg


async def test_ticked_and_unticked_boxes_differ_by_glyph(tmp_path, monkeypatch, sandbox_settings):
    monkeypatch.chdir(tmp_path)
    app = WizardApp(tmp_path / "run", sandbox_settings)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        box = app.query_one("#guide-ack", TickBox)
        before = str(box.render())
        await click(pilot, "#guide-ack")
        await settle(pilot)
        after = str(box.render())
        assert "✓" in after and "✓" not in before, (before, after)


async def test_guide_acknowledgement_is_above_the_fold(tmp_path, monkeypatch, sandbox_settings):
    monkeypatch.chdir(tmp_path)
    app = WizardApp(tmp_path / "run", sandbox_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert "I have read the guide" in screen_text(app)


async def test_toast_leaves_the_gate_bar_visible(tmp_path, monkeypatch, sandbox_settings):
    monkeypatch.chdir(tmp_path)
    app = WizardApp(tmp_path / "run", sandbox_settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("n")  # refused: the guide is not acknowledged
        await pilot.pause(0.3)
        assert any("Next is unavailable" in m for m in notifications(app))
        bar = screen_text(app).splitlines()[-2]
        assert "Back" in bar and "Re-check" in bar and "Next" in bar, bar


async def test_after_the_import_keys_work_again(tmp_path, monkeypatch, sandbox_settings, demo_exports):
    monkeypatch.chdir(tmp_path)
    start_at(tmp_path / "run", "export")
    app = WizardApp(tmp_path / "run", sandbox_settings, demo_exports=demo_exports)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        await click(pilot, "#export-verify")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert app.current_step.id == "import"
        text = screen_text(app)
        assert "expected duration" not in text or "import:" in text
        await click(pilot, "#import-dry")
        await settle(pilot)
        assert "expected duration import:" in screen_text(app).replace("\n", " "), screen_text(app)
        await type_into(pilot, "#import-confirm", "import")
        await pilot.press("enter")
        await settle(pilot)
        assert gate(app, "import").passed, screen_text(app)
        assert not isinstance(app.focused, Input), app.focused
        await pilot.press("n")
        await settle(pilot)
        assert app.current_step.id == "social", "n goes on: it was not typed into the field"
        assert app.query_one("#import-confirm", Input).value == ""


async def test_mapping_page_scrolls_and_search_is_one_key_away(tmp_path, monkeypatch, sandbox_settings,
                                                                demo_exports):
    monkeypatch.chdir(tmp_path)
    start_at(tmp_path / "run", "export")
    app = WizardApp(tmp_path / "run", sandbox_settings, demo_exports=demo_exports)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        await click(pilot, "#export-verify")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        view = app.current_view
        assert app.current_step.id == "mapping" and app.focused is view
        await pilot.press("end")
        await pilot.pause(0.2)
        assert view.scroll_y > 0, "End scrolls the page"
        await pilot.press("home")
        await pilot.pause(0.2)
        assert view.scroll_y == 0
        await pilot.press("pagedown")
        await pilot.pause(0.2)
        assert view.scroll_y > 0, "PageDown scrolls the page"
        await pilot.press("slash")
        await pilot.pause()
        assert app.focused is app.query_one("#mapping-search")
        await pilot.press("escape")
        app.set_focus(view)
        await pilot.press("tab")
        assert app.focused is app.query_one("#mapping-search"), "one Tab reaches the search box"
        dups = app.query_one("#mapping-duplicates-table", DataTable)
        assert dups.focusable and dups.row_count >= 1
        assert app.query_one("#mapping-checks").focusable


async def test_findings_are_shown_whole(tmp_path, monkeypatch, sandbox_settings, demo_exports):
    monkeypatch.chdir(tmp_path)
    start_at(tmp_path / "run", "export")
    app = WizardApp(tmp_path / "run", sandbox_settings, demo_exports=demo_exports)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        await click(pilot, "#export-verify")
        await settle(pilot)
        first = app.journal.findings(limit=1)[0]
        detail = str(app.query_one("#export-finding-detail").render())
        assert first.message in detail.replace("\n", " "), (first.message, detail)


@pytest.mark.parametrize("hint", [
    "Press Build inventory (headless: `auth0-workos inventory --run-dir DIR` with the users export)",
    "Run `auth0-workos orgs --run-dir DIR` with Auth0 credentials, or mark this step not applicable.",
    "Run the export check (auth0-workos check --users FILE).",
    "Sign in as one migrated password user: give --email and --password-stdin (or --demo in the sandbox).",
    "then confirm (--confirm-social github). Users link by email on first sign-in.",
    "Decrypt the file from Auth0 support (gpg) and point --passwords at it.",
])
def test_fix_hints_name_a_button_not_a_flag(hint):
    out = for_screen(hint)
    assert "--" not in out and "auth0-workos" not in out, out
    assert out


async def test_prereqs_show_the_real_url(tmp_path, monkeypatch, sandbox_settings):
    """A person sees the real address (tests and screenshots, headless, hide the port)."""
    from wizard.tui.text import scrub

    assert "<port>" not in scrub(f"{sandbox_settings.workos_base_url} accepted")
    assert "<port>" in scrub(f"{sandbox_settings.workos_base_url} accepted", stable=True)


async def test_not_applicable_needs_confirmation_to_clear_and_work_clears_it(tmp_path, monkeypatch,
                                                                              sandbox_settings, demo_exports):
    monkeypatch.chdir(tmp_path)
    start_at(tmp_path / "run", "orgs")
    app = WizardApp(tmp_path / "run", sandbox_settings, demo_exports=demo_exports)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await type_into(pilot, "#reason-input", "no organizations are used here")
        await pilot.press("enter")
        await settle(pilot)
        assert steps.recorded_status(app.journal, "orgs")[0] == "not_applicable"
        status = str(app.query_one("#gate-status").render())
        assert "inventory shows it applies" in status, status  # Auth0 credentials: organizations apply
        app.set_focus(None)
        await pilot.press("x")
        await find(pilot, "#confirm-no")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")  # keep it
        await settle(pilot)
        assert steps.recorded_status(app.journal, "orgs")[0] == "not_applicable"
        await click(pilot, "#orgs-export")  # doing the step's work: it applies after all
        await settle(pilot)
        assert steps.recorded_status(app.journal, "orgs")[0] != "not_applicable"


async def test_orgs_write_asks_a_typed_confirmation_with_the_duration(tmp_path, monkeypatch, sandbox_settings,
                                                                       demo_exports):
    monkeypatch.chdir(tmp_path)
    start_at(tmp_path / "run", "orgs")
    app = WizardApp(tmp_path / "run", sandbox_settings, demo_exports=demo_exports)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        await click(pilot, "#orgs-export")
        await settle(pilot)
        await click(pilot, "#orgs-migrate")
        await find(pilot, "#typed-input")
        assert isinstance(app.screen, TypedConfirmScreen)
        assert "Expected duration" in str(app.screen.query_one("#typed-question").render())
        await pilot.press("escape")
        await settle(pilot)
        assert not any(o["status"] == "created" for o in app.journal.orgs()), "cancelled: nothing written"


async def test_last_step_says_nothing_comes_after(tmp_path, monkeypatch, sandbox_settings):
    monkeypatch.chdir(tmp_path)
    last = steps.STEPS[-1].id
    start_at(tmp_path / "run", last)
    app = WizardApp(tmp_path / "run", sandbox_settings)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        app.results[last] = steps.GateResult.from_checks([])  # a passed gate
        app.set_focus(None)
        await pilot.press("n")
        await pilot.pause()
        assert any("nothing after it" in m for m in notifications(app)), notifications(app)


async def test_report_before_verification_says_partial(tmp_path, monkeypatch, sandbox_settings):
    monkeypatch.chdir(tmp_path)
    start_at(tmp_path / "run", "verify")
    app = WizardApp(tmp_path / "run", sandbox_settings)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        await click(pilot, "#verify-report")
        await settle(pilot)
        assert any("partial" in m for m in notifications(app)), notifications(app)
    text = (tmp_path / "run" / "report.md").read_text()
    assert "This report is partial" in text
    for literal in ("None", "[]", "{'", "True", "False"):
        assert literal not in text, literal


async def test_totp_path_that_does_not_exist_says_file_not_found(tmp_path, monkeypatch, sandbox_settings):
    monkeypatch.chdir(tmp_path)
    start_at(tmp_path / "run", "mfa")
    app = WizardApp(tmp_path / "run", sandbox_settings)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        app.query_one("#mfa-totp-path", Input).value = "nowhere/totp.csv"
        await click(pilot, "#mfa-totp")
        await pilot.pause()
        assert any("file not found" in m and "nowhere/totp.csv" in m for m in notifications(app))


async def test_earlier_step_failing_again_marks_later_steps_stale(tmp_path, monkeypatch, sandbox_settings):
    monkeypatch.chdir(tmp_path)
    start_at(tmp_path / "run", "export")
    app = WizardApp(tmp_path / "run", sandbox_settings)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        app.mark_attempted("inventory")
        app.journal.set_step("inventory", "failed", "no inventory", {})
        states = app.rail_states()
        assert states["inventory"][0] == "failed"
        assert states["prereqs"][0] == "passed"
        assert states["export"][0] != "passed"


def test_a_sandbox_run_reopened_without_sandbox_is_refused(tmp_path, capsys):
    run_dir = tmp_path / "run"
    with Journal.open(run_dir) as journal:
        journal.set_meta(SANDBOX_RUN_META, "1")
    assert main(["--run-dir", str(run_dir), "--env-file", str(tmp_path / "none.env")]) == 2
    assert "sandbox rehearsal" in capsys.readouterr().err


@pytest.mark.parametrize("flag", [["--users", "50"], ["--latency-ms", "150"], ["--fault-rate", "0.02"],
                                  ["--rate", "500/10s"]])
def test_each_rehearsal_flag_needs_sandbox(flag, tmp_path, capsys):
    assert main([*flag, "--env-file", str(tmp_path / "none.env")]) == 2
    assert "add --sandbox" in capsys.readouterr().err


def test_rehearsal_flags_are_checked(capsys):
    assert main(["sandbox", "--fault-rate", "2", "--exit-after", "0"]) == 2
    assert "--fault-rate" in capsys.readouterr().err


def test_sandbox_command_at_small_scale(tmp_path, capsys):
    code = main(["sandbox", "--dir", str(tmp_path), "--users", "300", "--latency-ms", "1", "--fault-rate",
                 "0.02", "--rate", "100/10s", "--exit-after", "0"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "300 users" in out and "2% faults" in out and "100/10s" in out
    assert "Demo tenant: 300 users" in out


def test_demo_tenant_scales_and_keeps_sign_in_meaningful():
    from wizard.sandbox.demo import demo_tenant

    base = demo_tenant(7)
    big = demo_tenant(7, users=2000)
    assert len(big.users) == 2000 and big.users[: len(base.users)] == base.users
    assert len(big.credentials) > len(base.credentials)
    email, password = big.credentials[-1]
    import bcrypt

    row = next(r for r in big.password_rows if r.get("email") == email)
    assert bcrypt.checkpw(password.encode(), row["passwordHash"].encode()), "the generated user's password is real"
    assert demo_tenant(7, users=2000).users[-1] == big.users[-1], "deterministic"
