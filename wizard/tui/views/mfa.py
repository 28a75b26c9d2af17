"""Step 9: the MFA report (who used SMS, voice, TOTP), the CSV for the email, the communication plan."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Static

from wizard.core import documents, steps
from wizard.core.gates import GateResult
from wizard.core.mfa import mfa_unknown_text
from wizard.tasks import mfa as mfa_task
from wizard.tui.hints import for_screen
from wizard.tui.text import display_path
from wizard.tui.views.base import StepView
from wizard.tui.widgets.checklist import Checklist
from wizard.tui.widgets.tickbox import TickBox


class MfaView(StepView):
    step_id = "mfa"

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="buttons"):
            yield Button("Build MFA report", id="mfa-build", variant="primary", compact=True)
        yield Static("", id="mfa-report")
        with Horizontal(classes="buttons"):
            yield Input(placeholder="TOTP secrets file (optional)", id="mfa-totp-path")
            yield Button("Import TOTP", id="mfa-totp", compact=True)
        yield Static("[b]Communication plan[/b]", id="mfa-plan-title", classes="section")
        with Vertical(id="mfa-plan"):
            for key, label in steps.MFA_COMMUNICATION_ITEMS:
                yield TickBox(label, id=f"mfa-item-{key}")
        yield Checklist("", id="mfa-checks")

    def entered(self) -> None:
        journal = self.wizard.journal
        plan = documents.MFA_COMMUNICATION.read(journal)
        after = steps.users_imported(journal)
        self.query_one("#mfa-plan-title", Static).update(
            "[b]Communication plan[/b] — the users are already imported: tick what was sent, send the rest now"
            if after else "[b]Communication plan[/b] — before the import: tell the affected users first")
        for key, label in steps.mfa_communication_items(journal):
            box = self.query_one(f"#mfa-item-{key}", Checkbox)
            box.label = label
            with box.prevent(Checkbox.Changed):
                box.value = key in plan
        self.show_report()

    def show_report(self) -> None:
        doc = documents.MFA_REPORT.read(self.wizard.journal)
        if doc is None:
            self.query_one("#mfa-report", Static).update("[dim]No MFA report yet: press Build MFA report.[/]")
            return
        lines = [
            f"Scanned users: {doc.scanned} ({'complete' if doc.complete else 'incomplete'})",
            f"SMS: {doc.sms_users}   voice: {doc.voice_users}   "
            f"TOTP: {doc.totp_users}   no MFA: {doc.no_mfa_users}   "
            f"must re-enroll: {doc.must_reenroll}",
        ]
        unknown = mfa_unknown_text(doc.scan_targets, doc.scanned, doc.complete)
        if unknown:
            lines.append(f"[yellow]MFA {escape(unknown)}[/]")
        if doc.other_factors:
            lines.append("Other factors: " + ", ".join(f"{k} {v}" for k, v in doc.other_factors.items()))
        if doc.csv_path:
            lines.append(f"CSV for the re-enrollment email: [b]{escape(display_path(doc.csv_path))}[/]")
        lines += [f"[yellow]•[/] {escape(for_screen(n))}" for n in doc.notes or []]
        self.query_one("#mfa-report", Static).update("\n".join(lines))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        if bid not in ("mfa-build", "mfa-totp"):
            return
        event.stop()
        journal, settings = self.wizard.journal, self.wizard.settings
        if bid == "mfa-build":
            self.wizard.start_work(self.step_id, "report",
                                   lambda: mfa_task.run_mfa_report(journal, settings),
                                   on_done=self.finished)
            return
        raw = self.query_one("#mfa-totp-path", Input).value.strip()
        if not raw:
            self.notify("Give the path of the TOTP secrets file.", severity="warning")
            return
        if not Path(raw).expanduser().is_file():
            self.notify(f"TOTP secrets: file not found: {escape(raw)}", severity="error")
            return
        path = Path(raw).expanduser()

        def import_totp():
            return mfa_task.run_totp_import(journal, settings, path)

        self.wizard.start_work(self.step_id, "totp import", import_totp, on_done=self.finished)

    def finished(self, _result) -> None:
        self.show_report()
        self.recheck()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        cid = event.checkbox.id or ""
        if not cid.startswith("mfa-item-"):
            return
        event.stop()
        if event.value:
            self.wizard.clear_not_applicable_by_work(self.step_id)
        steps.tick_mfa_item(self.wizard.journal, cid.removeprefix("mfa-item-"), event.value)
        self.recheck()

    def gate_checked(self, result: GateResult) -> None:
        self.query_one("#mfa-checks", Checklist).show(result)
