"""Step 6: dry run first (required), then the real import after a typed confirmation.

The import runs on its own event loop in a thread worker so the UI never waits on it; Pause asks
the importer to start no new users, Cancel cancels its task (in-flight users stay `in_flight` in
the journal and are reconciled by lookup on the next run).
"""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Static

from wizard.core import artifacts, documents, estimate, steps
from wizard.core.gates import GateResult
from wizard.core.progress import Progress
from wizard.core.rollback import ROLLBACK_PROMISE
from wizard.tasks import import_ as import_task
from wizard.tasks import rollback as rollback_task
from wizard.tui.screens import ReasonScreen, TypedConfirmScreen
from wizard.tui.text import display_path
from wizard.tui.views.base import StepView
from wizard.tui.widgets.catch_up import CatchUpPanel
from wizard.tui.widgets.checklist import Checklist
from wizard.tui.widgets.progress_panel import ProgressPanel


class ImportView(StepView):
    step_id = "import"

    def __init__(self) -> None:
        super().__init__()
        self.importer: import_task.ImportRun | None = None  # the dry run or import in progress
        self.dry_run_failures: list[dict] = []  # the last dry run's first failures (not kept in the journal)

    def compose_body(self) -> ComposeResult:
        yield Static("", id="import-plan")
        with Horizontal(classes="buttons"):
            yield Button("Dry run", id="import-dry", variant="primary", compact=True)
            yield Input(placeholder="count or import", id="import-confirm")
            yield Button("Start import", id="import-start", variant="warning", disabled=True, compact=True)
        with Horizontal(classes="buttons"):
            yield Button("Pause", id="import-pause", disabled=True, compact=True)
            yield Button("Cancel", id="import-cancel", variant="error", disabled=True, compact=True)
            yield Button("Retry failed", id="import-retry", disabled=True, compact=True)
            yield Button("Accept failures…", id="import-accept", disabled=True, compact=True)
            yield Button("Roll back…", id="import-rollback", variant="error", disabled=True, compact=True)
        yield ProgressPanel(id="import-progress")
        yield Static("", id="import-summary")
        yield Static("[b]Failures[/b]", classes="section")
        yield DataTable(id="import-failures", cursor_type="row")
        yield Static("", id="import-package-note")  # window: over 200,000 users, the migration package
        yield CatchUpPanel("import", id="import-catch-up")  # window: the delta sync, once imported
        yield Checklist("", id="import-checks")

    def on_mount(self) -> None:
        self.query_one("#import-failures", DataTable).add_columns("email", "code", "reason")

    # ------------------------------------------------------------------ state
    @property
    def busy(self) -> bool:
        return self.importer is not None

    def to_send(self) -> int:
        return import_task.users_to_send(self.wizard.journal)

    def entered(self) -> None:
        self.refresh_state()
        real = documents.IMPORT_SUMMARY.read(self.wizard.journal)
        panel = self.query_one("#import-progress", ProgressPanel)
        if real and panel.last is None:  # a resumed run: show where the import ended
            counts = {"created": real.created, "updated": real.updated, "skipped": real.skipped,
                      "failed": real.failed}
            panel.show(Progress("import", sum(counts.values()) + real.remaining, counts, done=not real.remaining))

    def refresh_state(self) -> None:
        journal = self.wizard.journal
        counts = journal.count_users("status")
        branches = journal.count_users("branch")
        to_send = self.to_send()
        expected = estimate.writes("import", to_send)
        self.query_one("#import-plan", Static).update(
            "Plan: " + (", ".join(f"{n} {b}" for b, n in sorted(branches.items())) or "none yet") + "\n"
            "Status: " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no plan yet")
            + f"\nTo send: {to_send} user(s)"
            + (f"; expected duration {escape(str(expected))} (the write budget; 429s and retries add to it)"
               if to_send else "")
            + (". " + ROLLBACK_PROMISE + "\nThe real import needs a completed dry run and a typed confirmation: type "
               f"[b]{to_send}[/b] or [b]import[/b] in the field, then press Start import." if to_send else
               ": every planned user has been sent."))
        self.query_one("#import-confirm", Input).placeholder = f"{to_send} or import" if to_send else "nothing to send"
        dry_ok = steps.dry_run_gate(journal).passed
        failed = counts.get("failed", 0)
        self.query_one("#import-dry", Button).disabled = self.busy
        self.query_one("#import-start", Button).disabled = self.busy or not dry_ok or self.to_send() == 0
        self.query_one("#import-pause", Button).disabled = not self.busy
        self.query_one("#import-cancel", Button).disabled = not self.busy
        self.query_one("#import-retry", Button).disabled = self.busy or failed == 0
        self.query_one("#import-accept", Button).disabled = self.busy or failed == 0
        self.query_one("#import-rollback", Button).disabled = self.busy or not journal.has_writes()
        self.show_failures()
        self.show_summaries()
        self.show_window()

    def show_window(self) -> None:
        """The catch-up panel once the run has imported; the package offer for a large tenant."""
        from wizard.core.package import package_offer
        from wizard.core.sync import can_sync

        journal = self.wizard.journal
        self.query_one(CatchUpPanel).display = can_sync(journal) is None
        offer = package_offer(journal)
        note = self.query_one("#import-package-note", Static)
        note.display = offer is not None
        note.update(escape(offer or ""))

    def on_catch_up_panel_synced(self, message: CatchUpPanel.Synced) -> None:
        message.stop()
        self.refresh_state()
        self.recheck()

    def show_summaries(self) -> None:
        journal = self.wizard.journal
        lines = []
        dry = documents.DRY_RUN.read(journal)
        if dry:
            lines.append(f"Dry run: would create {dry.would_create}, would update "
                         f"{dry.would_update}, would fail {dry.would_fail}.")
            for f in self.dry_run_failures[:5]:
                lines.append(f"  would fail: {escape(str(f.get('email') or f.get('auth0_user_id')))} — "
                             f"{escape(str(f.get('message', '')))}")
        real = documents.IMPORT_SUMMARY.read(journal)
        if real:
            lines.append(f"Import: {real.created} created, {real.updated} updated, "
                         f"{real.skipped} skipped, {real.failed} failed, "
                         f"{real.remaining} remaining; {real.rate_limited} × 429 "
                         f"paused, {real.retries} retries"
                         + (f"; stopped: {escape(str(real.stop_reason))}" if real.stopped else ""))
            files = [self.wizard.run_dir / name for name in (artifacts.SUMMARY, artifacts.ID_MAP, artifacts.ERRORS)]
            lines.append("Files: " + ", ".join(f"[b]{escape(display_path(f))}[/]" for f in files if f.is_file()))
        self.query_one("#import-summary", Static).update("\n".join(lines))

    def show_failures(self) -> None:
        table = self.query_one("#import-failures", DataTable)
        table.clear()
        for u in self.wizard.journal.users(status="failed", limit=200):
            table.add_row(u.email or u.auth0_user_id, u.last_error_code or "", u.last_error_message or "",
                          key=u.auth0_user_id)

    # ------------------------------------------------------------------ actions
    def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        if not bid.startswith("import-"):
            return
        event.stop()
        if bid == "import-dry":
            self.start(dry_run=True)
        elif bid == "import-start":
            self.confirm_and_start()
        elif bid == "import-pause" and self.importer is not None:
            self.importer.stop()
            self.notify("Pausing: users in the air finish, the rest stay planned for a resume.")
        elif bid == "import-cancel":
            self.cancel()
        elif bid == "import-retry":
            n = import_task.retry_failed(self.wizard.journal)
            self.notify(f"{n} failed user(s) planned again: confirm and start the import to retry them.")
            self.refresh_state()
            self.recheck()
        elif bid == "import-accept":
            self.app.push_screen(ReasonScreen("Why may these failed users stay out of WorkOS?"), self._accepted)
        elif bid == "import-rollback":
            self.ask_rollback()

    def _accepted(self, reason: str | None) -> None:
        if reason:
            steps.accept_failures(self.wizard.journal, reason)
            self.recheck()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "import-confirm":
            event.stop()
            self.confirm_and_start()

    def confirm_and_start(self) -> None:
        if not steps.dry_run_gate(self.wizard.journal).passed:
            self.notify("Run the dry run first.", severity="warning")
            return
        typed = self.query_one("#import-confirm", Input).value.strip()
        if not import_task.confirmation_accepted(typed, self.to_send()):
            self.notify(f"Type {self.to_send()} (the number of users to send) or 'import' to confirm.",
                        severity="warning")
            return
        self.query_one("#import-confirm", Input).value = ""
        self.start(dry_run=False)
        self.query_one("#import-pause", Button).focus()  # the field's job is done: n / b / r are keys again

    def start(self, *, dry_run: bool) -> None:
        on_progress = self.wizard.progress_callback(self.step_id)
        self.importer = run = import_task.ImportRun(self.wizard.journal, self.wizard.settings, dry_run=dry_run,
                                                    on_progress=on_progress)
        # the task writes the same run-folder files (and journal documents) as `auth0-workos import`
        self.wizard.start_work(self.step_id, "dry run" if dry_run else "import", run.run, on_done=self.finished)
        self.refresh_state()

    def on_unmount(self) -> None:
        """Quitting mid-import: stop sending; in-flight users are reconciled on the next run."""
        if self.importer is not None:
            self.importer.stop()
            self.cancel()

    def cancel(self) -> None:
        if self.importer is not None and self.importer.cancel():
            self.notify("Cancelling: in-flight users are reconciled by lookup on the next run.")

    # ------------------------------------------------------------------ rollback
    def ask_rollback(self) -> None:
        """Deleting what this run created in WorkOS: the count first, then a typed confirmation."""
        planned = rollback_task.rollback_plan(self.wizard.journal)
        n = len(planned.targets)
        if not n and not planned.restores and not planned.unknown:
            self.notify("This run created or changed no WorkOS user that is still there: nothing to roll back.")
            return
        question = (f"[b]Roll back the import[/b]: delete the {n} WorkOS user(s) this run created at "
                    f"{escape(self.wizard.settings.workos_base_url)}. {len(planned.restores)} user(s) that "
                    "existed before are kept and put back as they were"
                    + (f"; {len(planned.unknown)} create(s) whose answer was lost are looked up first"
                       if planned.unknown else "")
                    + f". Expected duration: {escape(str(estimate.writes('rollback', n)))}.\n"
                    f"Type [b]{n}[/b] or [b]{rollback_task.CONFIRM_WORD}[/b].")

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.start_rollback()

        self.app.push_screen(TypedConfirmScreen(question, str(n), action="Delete them",
                                                also=(rollback_task.CONFIRM_WORD,)), confirmed)

    def start_rollback(self) -> None:
        journal, settings = self.wizard.journal, self.wizard.settings
        on_progress = self.wizard.progress_callback(self.step_id)

        def work():
            return rollback_task.run_rollback(journal, settings, on_progress=on_progress).summary

        self.query_one("#import-rollback", Button).disabled = True
        self.wizard.start_work(self.step_id, "rollback", work, on_done=self.rolled_back)

    def rolled_back(self, summary) -> None:
        self.notify(f"Rollback: {summary.deleted} deleted, {summary.already_gone} already gone, "
                    f"{summary.restored} put back as they were, {summary.failed + summary.restore_failed} "
                    "failed. The id map no longer lists deleted users."
                    + (f" Stopped: {summary.stop_reason}" if summary.stopped else ""),
                    severity="warning" if summary.failed or summary.stopped else "information")
        self.refresh_state()
        self.recheck()

    def finished(self, result: import_task.ImportResult) -> None:
        self.importer = None
        summary = result.summary
        if summary.dry_run:
            self.dry_run_failures = list(summary.failures)
        if summary.stopped:
            self.notify(f"Import stopped: {summary.stop_reason}", severity="warning")
        self.refresh_state()
        if isinstance(self.app.focused, Input) or self.app.focused is None or self.app.focused.disabled:
            self.focus()  # keys work again: n goes on once the gate passes
        self.recheck()

    def work_ended(self, name: str, state) -> None:
        if name.startswith("catch-up"):
            self.query_one(CatchUpPanel).work_ended()
            return
        self.importer = None
        self.refresh_state()

    # ------------------------------------------------------------------ rendering
    def show_progress(self, progress: Progress) -> None:
        catch_up = self.query_one(CatchUpPanel)
        if catch_up.busy:
            catch_up.show_progress(progress)
            return
        self.query_one("#import-progress", ProgressPanel).show(progress)

    def gate_checked(self, result: GateResult) -> None:
        self.query_one("#import-checks", Checklist).show(result)
        if not self.busy:
            self.refresh_state()
