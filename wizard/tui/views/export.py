"""Step 4: choose the export files (or run the export job), verify them line by line, drill into findings."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Checkbox, Collapsible, DataTable, Input, Label, Static

from wizard.core import documents, steps, ticket
from wizard.core.gates import GateResult
from wizard.core.plan import (
    JOIN_BY_EMAIL_CHOICE,
    JOIN_BY_EMAIL_WARNING,
    record_join_choice,
    recorded_join_by_email,
)
from wizard.core.progress import Progress
from wizard.tasks import check as check_task
from wizard.tasks import export_job as export_job_task
from wizard.tui.screens import ReasonScreen
from wizard.tui.text import display_path, editable_path
from wizard.tui.views.base import StepView
from wizard.tui.widgets.catch_up import CatchUpPanel
from wizard.tui.widgets.checklist import Checklist
from wizard.tui.widgets.findings_table import FindingDetail, FindingsTable, FindingSummary
from wizard.tui.widgets.tickbox import TickBox


class ExportView(StepView):
    step_id = "export"

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="field"):
            yield Label("Users export", classes="field-label")
            yield Input(placeholder=".json or .json.gz", id="export-users")
        with Horizontal(classes="field"):
            yield Label("Password hashes", classes="field-label")
            yield Input(placeholder="decrypted NDJSON (optional)", id="export-passwords")
        # trust (issue 10): the hash-join choice, recorded in the journal for check and import
        yield TickBox(JOIN_BY_EMAIL_CHOICE, id="export-join-by-email")
        yield Static(f"[dim]{escape(JOIN_BY_EMAIL_WARNING)}[/]", id="export-join-warning")
        with Horizontal(classes="buttons"):
            yield Button("Verify files", id="export-verify", variant="primary", compact=True)
            yield Button("Run export job", id="export-job", compact=True)
            yield Button("No password export…", id="export-nopw", compact=True)
        yield Static("", id="export-status")
        yield Static("[b]Findings[/b] (select a row to drill down)", classes="section")
        yield FindingSummary(id="export-summary")
        yield FindingsTable(id="export-findings")
        yield FindingDetail("", id="export-finding-detail", classes="detail")
        # window: the password-export ticket, and applying the hash file once it arrives
        with Collapsible(title="Support ticket for the password export", collapsed=True, id="export-ticket-box"):
            yield Static("", id="export-ticket")
            with Horizontal(classes="buttons"):
                yield Button("Copy ticket", id="export-ticket-copy", compact=True)
                yield TickBox("Ticket sent to Auth0 support", id="export-ticket-sent")
        yield Static("", id="export-ticket-wait")
        yield CatchUpPanel("export", title="Apply the password export", passwords_only=True,
                           id="export-apply-passwords")
        yield Checklist("", id="export-checks")

    def entered(self) -> None:
        journal = self.wizard.journal
        exports = self.wizard.demo_exports
        users = self.query_one("#export-users", Input)
        pw = self.query_one("#export-passwords", Input)
        if not users.value:
            path = journal.input_path("users") or (exports.users_path if exports else None)
            users.value = editable_path(path)
        if not pw.value and not documents.NO_PASSWORDS_REASON.exists(journal):
            path = journal.input_path("passwords") or (exports.passwords_path if exports else None)
            pw.value = editable_path(path)
        self.query_one("#export-job", Button).disabled = not self.wizard.settings.has_auth0_credentials
        join = self.query_one("#export-join-by-email", Checkbox)
        with join.prevent(Checkbox.Changed):
            join.value = recorded_join_by_email(journal)
        self.show_findings()
        self.show_ticket()

    def show_ticket(self) -> None:
        """The ticket from the inventory, when it was sent, and the "apply" panel once imported."""
        from wizard.core.sync import can_sync

        journal = self.wizard.journal
        t = ticket.ticket_for_run(journal, self.wizard.settings.auth0_domain)
        self.query_one("#export-ticket", Static).update(escape(t.text))
        sent = self.query_one("#export-ticket-sent", Checkbox)
        with sent.prevent(Checkbox.Changed):
            sent.value = ticket.sent_at(journal) is not None
        self.query_one("#export-ticket-wait", Static).update(escape(ticket.waiting_line(journal)))
        self.query_one("#export-apply-passwords", CatchUpPanel).display = can_sync(journal) is None

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        if event.checkbox.id == "export-ticket-sent":
            event.stop()
            ticket.mark_sent(self.wizard.journal, event.value)
            self.show_ticket()
        elif event.checkbox.id == "export-join-by-email":  # used by the next Verify files and the import
            event.stop()
            record_join_choice(self.wizard.journal, event.value, source="wizard export step")

    def on_catch_up_panel_synced(self, message: CatchUpPanel.Synced) -> None:
        message.stop()
        self.show_findings()
        self.recheck()

    def required_input(self) -> Input | None:
        """Verify files needs the users export path first."""
        box = self.query_one("#export-users", Input)
        return None if box.value.strip() else box

    def show_findings(self, code: str | None = None) -> None:
        journal = self.wizard.journal
        counts = journal.finding_counts()
        self.query_one("#export-summary", FindingSummary).load(counts)
        sev, _, c = (code or "").partition("|")
        table = self.query_one("#export-findings", FindingsTable)
        table.load(journal.findings(severity=sev or None, code=c or None, limit=500))
        self.query_one("#export-finding-detail", FindingDetail).show(table.finding("0"))
        reason = documents.NO_PASSWORDS_REASON.read(journal)
        lines = []
        inputs = journal.inputs()
        for kind in ("users", "passwords"):
            if kind in inputs:
                rec = inputs[kind]
                lines.append(f"{kind}: {escape(display_path(rec['path']))} "
                             f"({rec.get('lines') or '?'} lines, sha256 {rec['sha256'][:12]}…)")
        if reason:
            lines.append(f"[cyan]password hashes not applicable: {escape(reason.reason)}[/]")
        errors = sum(n for (s, _), n in counts.items() if s == "error")
        warnings = sum(n for (s, _), n in counts.items() if s == "warning")
        if counts:
            lines.append(f"{errors} error(s), {warnings} warning(s)")
        self.query_one("#export-status", Static).update("\n".join(lines))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "export-findings" and event.row_key is not None:
            event.stop()
            table = self.query_one("#export-findings", FindingsTable)
            self.query_one("#export-finding-detail", FindingDetail).show(table.finding(event.row_key.value))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "export-summary":
            event.stop()
            self.show_findings(event.row_key.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        if not bid.startswith("export-"):
            return
        event.stop()
        if bid == "export-ticket-copy":
            t = ticket.ticket_for_run(self.wizard.journal, self.wizard.settings.auth0_domain)
            ticket.write_ticket(self.wizard.journal, t)
            self.app.copy_to_clipboard(t.text)
            self.notify(f"Ticket copied (also in {ticket.TICKET_NAME} in the run folder).")
        elif bid == "export-verify":
            self.verify()
        elif bid == "export-nopw":
            self.app.push_screen(ReasonScreen("Why is there no password-hash export for this migration?"),
                                 self._no_passwords)
        elif bid == "export-job":
            self.run_job()

    def _no_passwords(self, reason: str | None) -> None:
        if reason:
            steps.set_no_passwords_reason(self.wizard.journal, reason)
            self.query_one("#export-passwords", Input).value = ""
            self.show_findings()
            self.notify("Recorded: password users will be imported without a password (reset flow).")

    def verify(self) -> None:
        users_raw = self.query_one("#export-users", Input).value.strip()
        pw_raw = self.query_one("#export-passwords", Input).value.strip()
        users = Path(users_raw).expanduser() if users_raw else None
        passwords = Path(pw_raw).expanduser() if pw_raw else None
        if users is None or not users.is_file():
            self.notify(f"Users export: file not found: {escape(users_raw)}" if users_raw
                        else "Give the users export path first.", severity="error")
            return
        if passwords is not None and not passwords.is_file():
            self.notify(f"Password export: file not found: {escape(pw_raw)}", severity="error")
            return
        if passwords is None and not documents.NO_PASSWORDS_REASON.exists(self.wizard.journal):
            self.notify("No password export given: press 'No password export…' and state why.",
                        severity="warning")
            return
        journal = self.wizard.journal
        self.query_one("#export-verify", Button).disabled = True
        self.query_one("#export-status", Static).update("Verifying…")
        self.wizard.start_work(self.step_id, "verification",
                               lambda: check_task.run_check(journal, users, passwords), on_done=self.verified)

    def run_job(self) -> None:
        journal, settings = self.wizard.journal, self.wizard.settings
        on_progress = self.wizard.progress_callback(self.step_id)

        def work():
            return export_job_task.run_export_job(journal, settings, on_progress=on_progress)

        self.query_one("#export-status", Static).update("Export job started: waiting for Auth0…")
        self.wizard.start_work(self.step_id, "export job", work, on_done=self.job_done)

    def job_done(self, result) -> None:
        self.query_one("#export-users", Input).value = str(result.path)
        self.query_one("#export-status", Static).update(
            f"Export job {escape(result.job_id)} downloaded: {escape(display_path(result.path))}. "
            "Press Verify files.")

    def verified(self, _result) -> None:
        self.query_one("#export-verify", Button).disabled = False
        self.show_findings()
        self.recheck()

    def work_ended(self, name: str, state) -> None:
        if name.startswith("catch-up"):
            self.query_one(CatchUpPanel).work_ended()
            return
        self.query_one("#export-verify", Button).disabled = False
        self.show_findings()

    def show_progress(self, progress: Progress) -> None:
        panel = self.query_one(CatchUpPanel)
        if panel.busy:
            panel.show_progress(progress)
            return
        counts = ", ".join(f"{n} {k}" for k, n in sorted(progress.counts.items()))
        self.query_one("#export-status", Static).update(f"{progress.operation}: {counts}")

    def gate_checked(self, result: GateResult) -> None:
        self.query_one("#export-checks", Checklist).show(result)
