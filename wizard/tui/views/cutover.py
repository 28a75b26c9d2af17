"""The last step: the cutover checklist (sign-up strategy, final catch-up, switch, watch, Auth0 off).

Every tick is stored with its time by the core (`wizard.core.cutover`); the gate there decides.
"""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Static

from wizard.core import cutover
from wizard.core.gates import GateResult
from wizard.core.progress import Progress
from wizard.tui.screens import ReasonScreen
from wizard.tui.views.base import StepView
from wizard.tui.widgets.catch_up import CatchUpPanel
from wizard.tui.widgets.checklist import Checklist

STRATEGY_NOTE = "\n".join(f"[b]{title}[/b]: {escape(text)}" for title, text in cutover.STRATEGIES.values())


class CutoverView(StepView):
    step_id = "cutover"

    def compose_body(self) -> ComposeResult:
        yield Static("[b]1. Sign-up strategy for the window[/b]\n" + STRATEGY_NOTE, id="cutover-strategy-note")
        with Horizontal(classes="buttons"):
            yield Button("Disable sign-ups in Auth0", id="cutover-disable_signups", compact=True)
            yield Button("Dual-write", id="cutover-dual_write", compact=True)
        yield Static("[b]2. Final catch-up sync[/b], right before switching: export the users again, then "
                     "preview and send.", classes="section")
        yield CatchUpPanel("cutover", title="Final catch-up sync", id="cutover-catch-up")
        yield Static("[b]3–5.[/b] Switch the application, watch errors for "
                     f"{cutover.WATCH_HOURS} hours, then disable the Auth0 tenant.", classes="section")
        with Horizontal(classes="buttons"):
            yield Button("Application switched", id="cutover-switched", compact=True)
            yield Button(f"{cutover.WATCH_HOURS}-hour watch done", id="cutover-watched", compact=True)
            yield Button("Auth0 tenant disabled", id="cutover-auth0_disabled", compact=True)
        yield Static("", id="cutover-state")
        yield Checklist("", id="cutover-checks")

    def entered(self) -> None:
        self.show_state()

    def show_state(self) -> None:
        rows = cutover.report_section(self.wizard.journal)
        self.query_one("#cutover-state", Static).update("\n".join(
            f"{'✓' if r['done'] else '○'} {escape(r['item'])}"
            + (f" — {escape(r['note'])}" if r["note"] else "") for r in rows))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        if not bid.startswith("cutover-") or bid.startswith("cutover-catch-up"):
            return
        event.stop()
        item = bid.removeprefix("cutover-")
        journal = self.wizard.journal
        try:
            if item in cutover.STRATEGIES:
                cutover.choose_strategy(journal, item)
            elif item == "watched":
                try:
                    cutover.tick(journal, "watched")
                except cutover.CutoverError as exc:
                    if "reason" not in str(exc):
                        raise
                    self.app.push_screen(ReasonScreen(f"{exc}. Why is a shorter watch enough?"), self._watched)
                    return
            else:
                cutover.tick(journal, item)
        except cutover.CutoverError as exc:
            self.notify(str(exc), severity="warning")
            return
        self.show_state()
        self.recheck()

    def _watched(self, reason: str | None) -> None:
        if not reason:
            return
        try:
            cutover.tick(self.wizard.journal, "watched", reason=reason)
        except cutover.CutoverError as exc:
            self.notify(str(exc), severity="warning")
        self.show_state()
        self.recheck()

    def on_catch_up_panel_synced(self, message: CatchUpPanel.Synced) -> None:
        message.stop()
        try:
            cutover.record_final_sync(self.wizard.journal)
        except cutover.CutoverError as exc:
            self.notify(str(exc), severity="warning")
        self.show_state()
        self.recheck()

    def work_ended(self, name: str, state) -> None:
        self.query_one(CatchUpPanel).work_ended()

    def show_progress(self, progress: Progress) -> None:
        self.query_one(CatchUpPanel).show_progress(progress)

    def gate_checked(self, result: GateResult) -> None:
        self.query_one("#cutover-checks", Checklist).show(result)
