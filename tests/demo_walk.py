"""Drive the sandbox demo through the wizard with a Textual Pilot, like a person at the keyboard.

Used by screenshots/make_screenshots.py (an SVG per step) and the snapshot tests (a run folder per
step, resumed). Every gate is passed for real: nothing here writes to the journal directly.
"""

from __future__ import annotations

import io
import time
from collections.abc import Awaitable, Callable

from rich.console import Console
from textual.widgets import Button, Checkbox, Input

OnStep = Callable[[str], Awaitable[None]]


def screen_text(app) -> str:
    """The current screen as plain text (what a person sees)."""
    w, h = app.size
    console = Console(width=w, height=h, file=io.StringIO(), record=True, force_terminal=True, color_system=None)
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text()


async def settle(pilot, timeout: float = 60.0) -> None:
    """Wait until no wizard worker runs and no gate check is pending."""
    app = pilot.app
    deadline = time.monotonic() + timeout
    await pilot.pause()
    while time.monotonic() < deadline:
        if app.idle:
            await pilot.pause()
            if app.idle:
                return
        await pilot.pause(0.05)
    raise AssertionError(f"workers still running after {timeout}s\n{screen_text(app)}")


async def find(pilot, selector: str, timeout: float = 5.0):
    """The widget on the current screen (modal screens appear a few frames after the click)."""
    deadline = time.monotonic() + timeout
    while True:
        found = pilot.app.screen.query(selector)
        if found:
            return found.first()
        if time.monotonic() > deadline:
            raise AssertionError(f"{selector} not on screen\n{screen_text(pilot.app)}")
        await pilot.pause(0.05)


async def click(pilot, selector: str) -> None:
    """Scroll the widget into view, then click it."""
    widget = await find(pilot, selector)
    widget.scroll_visible(animate=False, immediate=True)
    await pilot.pause()
    assert not getattr(widget, "disabled", False), f"{selector} is disabled\n{screen_text(pilot.app)}"
    if isinstance(widget, (Button, Checkbox)):
        await pilot.click(widget)
    else:
        widget.focus()
    await pilot.pause()


async def type_into(pilot, selector: str, text: str) -> None:
    box = await find(pilot, selector)
    assert isinstance(box, Input)
    box.scroll_visible(animate=False, immediate=True)
    box.focus()
    box.value = ""
    await pilot.pause()
    await pilot.press(*list(text))
    await pilot.pause()


async def next_step(pilot, expect: str) -> None:
    """Press n (focus off any input) and check where we are."""
    app = pilot.app
    app.set_focus(None)
    await pilot.press("n")
    await settle(pilot)
    assert app.current_step.id == expect, f"expected {expect}, at {app.current_step.id}\n{screen_text(app)}"


def steps_passed(app, step_id: str) -> bool:
    from wizard.core import steps
    from wizard.tasks.gates import evaluate_step

    return evaluate_step(steps.step_by_id(step_id), app.journal, app.settings).passed


def _passed(app, step_id: str) -> None:
    result = app.results.get(step_id)
    assert result is not None and result.passed, f"{step_id} gate did not pass\n{screen_text(app)}"


async def give_reason(pilot, reason: str) -> None:
    await type_into(pilot, "#reason-input", reason)
    await pilot.press("enter")
    await settle(pilot)


async def walk_demo(pilot, on_step: OnStep | None = None) -> None:
    """Every step of the demo migration, each gate passed; `on_step(id)` once a step's work is done."""
    app = pilot.app

    async def done(step_id: str) -> None:
        _passed(app, step_id)
        app.set_focus(None)
        app.current_view.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        if on_step is not None:
            await on_step(step_id)

    await settle(pilot)
    await click(pilot, "#guide-ack")
    await settle(pilot)
    await done("guide")
    await next_step(pilot, "prereqs")
    await done("prereqs")
    await next_step(pilot, "inventory")
    await click(pilot, "#inventory-run")
    await settle(pilot)
    await done("inventory")
    await next_step(pilot, "export")
    await click(pilot, "#export-verify")
    await settle(pilot)
    await done("export")
    await next_step(pilot, "mapping")
    await done("mapping")
    await next_step(pilot, "import")
    await click(pilot, "#import-dry")
    await settle(pilot)
    await type_into(pilot, "#import-confirm", "import")
    await click(pilot, "#import-start")
    await settle(pilot)
    if app.journal.count_users("status").get("failed"):
        await click(pilot, "#import-accept")
        await give_reason(pilot, "demo users with broken data; listed in the report")
    await done("import")
    await next_step(pilot, "social")
    for box in list(app.query("#social-items Checkbox")):
        await click(pilot, f"#{box.id}")
        await settle(pilot)
    await done("social")
    await next_step(pilot, "orgs")
    if app.settings.has_auth0_credentials:
        await click(pilot, "#orgs-export")
        await settle(pilot)
        await click(pilot, "#orgs-migrate")
        await find(pilot, "#typed-input")
        await pilot.pause(0.1)
        await type_into(pilot, "#typed-input", "migrate")  # the typed confirmation of the write
        await pilot.press("enter")
        await settle(pilot)
    else:
        await pilot.press("x")
        await give_reason(pilot, "no Auth0 organizations without Management API access")
    await done("orgs")
    await next_step(pilot, "roles")  # roles: read, dry run (the mapping), typed confirmation, write
    await click(pilot, "#roles-read")
    for _ in range(600):  # the read pages every member's roles at the Management API's pace
        await settle(pilot)
        if app.journal.get_document("roles_read") and not app.workers:
            break
        await pilot.pause(0.05)
    await click(pilot, "#roles-preview")
    await settle(pilot)
    await type_into(pilot, "#roles-confirm", "roles")
    await click(pilot, "#roles-apply")
    for _ in range(600):
        await settle(pilot)
        if steps_passed(app, "roles") and not app.workers:
            break
        await pilot.pause(0.05)
    await done("roles")
    await next_step(pilot, "sso")  # enterprise SSO: plan + dry run, typed confirmation, create
    await click(pilot, "#sso-dry")
    await settle(pilot)
    await type_into(pilot, "#sso-confirm", "sso")
    await click(pilot, "#sso-create")
    await settle(pilot)
    await done("sso")
    await next_step(pilot, "mfa")
    await click(pilot, "#mfa-build")
    await settle(pilot)
    for key in ("email_before", "enrollment", "grace_period", "enforce_after"):
        await click(pilot, f"#mfa-item-{key}")
        await settle(pilot)
    await done("mfa")
    await next_step(pilot, "verify")
    await click(pilot, "#verify-demo")
    await settle(pilot)
    await click(pilot, "#verify-run")
    await settle(pilot)
    await click(pilot, "#verify-report")
    await settle(pilot)
    await done("verify")
    await next_step(pilot, "cutover")  # the last step: the sign-up strategy chosen; the rest is the real evening's
    await click(pilot, "#cutover-disable_signups")
    await settle(pilot)
    app.set_focus(None)
    app.current_view.scroll_home(animate=False, immediate=True)
    await pilot.pause()
    if on_step is not None:
        await on_step("cutover")
