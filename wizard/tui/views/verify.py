"""Step 10: the verification checklist (a real password sign-in, the build), the report, the tasks after."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Static

from wizard.core import documents, report
from wizard.core.gates import GateResult
from wizard.core.progress import Progress
from wizard.tasks import report as report_task
from wizard.tasks import verify as verify_task
from wizard.tui.hints import for_screen
from wizard.tui.text import display_path
from wizard.tui.views.base import StepView
from wizard.tui.widgets.checklist import Checklist
from wizard.tui.widgets.tickbox import TickBox

SANDBOX_BUILD_REASON = "Sandbox demo run: there is no application to build"


class VerifyView(StepView):
    step_id = "verify"

    def compose_body(self) -> ComposeResult:
        yield Static("[b]Password sign-in[/b] (a real sign-in through WorkOS; the password is never stored)",
                     classes="section")
        with Horizontal(classes="buttons"):
            yield Input(placeholder="email", id="verify-email")
            yield Input(placeholder="password", password=True, id="verify-password")
        with Horizontal(classes="buttons"):
            yield Button("Try sign-in", id="verify-signin", compact=True)
            yield Button("Use demo credentials", id="verify-demo", compact=True)
        yield Static("", id="verify-signin-result")
        yield Static("[b]Application build[/b]", classes="section")
        with Horizontal(classes="buttons"):
            yield Input(value="npm run build", placeholder="build command", id="verify-build-cmd")
            yield Input(value=".", placeholder="application folder", id="verify-build-dir")
        yield Static("[dim]Or why no build applies (makes the build check not applicable):[/]", classes="hint")
        yield Input(placeholder="reason no build applies", id="verify-build-na")
        with Horizontal(classes="buttons"):
            yield Button("Run verification", id="verify-run", variant="primary", compact=True)
            yield Button("Write report", id="verify-report", compact=True)
        yield Static("", id="verify-progress")
        yield Checklist("", id="verify-checks")
        yield Static("", id="verify-report-paths")
        yield Static("[b]After the migration[/b]", classes="section")
        with Vertical(id="verify-tasks"):
            for tid, text in report.POST_MIGRATION_TASKS:
                yield TickBox(text, id=f"task-{tid}")

    def entered(self) -> None:
        has_demo = bool(self.wizard.demo_credentials) or self.wizard.demo_exports is not None
        self.query_one("#verify-demo", Button).display = has_demo
        na = self.query_one("#verify-build-na", Input)
        if has_demo and not na.value:
            na.value = SANDBOX_BUILD_REASON
        ticked = documents.POST_MIGRATION.read(self.wizard.journal)
        for box in self.query("#verify-tasks Checkbox").results(Checkbox):
            with box.prevent(Checkbox.Changed):
                box.value = (box.id or "").removeprefix("task-") in ticked
        self.show_report_paths()

    def demo_credentials(self) -> list[tuple[str, str]]:
        """The sandbox's demo accounts (from its start-up) for password users this run imported."""
        return verify_task.password_samples(self.wizard.journal, self.wizard.demo_credentials)

    def sample(self) -> tuple[str, str] | None:
        email = self.query_one("#verify-email", Input).value.strip()
        password = self.query_one("#verify-password", Input).value
        return (email, password) if email and password else None

    def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        if not bid.startswith("verify-"):
            return
        event.stop()
        journal, settings = self.wizard.journal, self.wizard.settings
        if bid == "verify-demo":
            self.wizard.start_work(self.step_id, "demo credentials", self.demo_credentials, on_done=self.fill_demo)
        elif bid == "verify-signin":
            sample = self.sample()
            if sample is None:
                self.notify("Type an email and a password first.", severity="warning")
                return

            def sign_in():
                return verify_task.try_sign_in(journal, settings, sample[0], sample[1])

            self.wizard.start_work(self.step_id, "sign-in", sign_in, on_done=self.show_signin)
        elif bid == "verify-run":
            self.run_verification()
        elif bid == "verify-report":
            self.wizard.start_work(self.step_id, "report", lambda: report_task.run_report(journal),
                                   on_done=self.report_written)

    def fill_demo(self, creds: list[tuple[str, str]]) -> None:
        if not creds:
            self.notify("No demo credentials match an imported password user.", severity="warning")
            return
        self.query_one("#verify-email", Input).value = creds[0][0]
        self.query_one("#verify-password", Input).value = creds[0][1]

    def show_signin(self, check) -> None:
        mark = "[green]✓[/]" if check.ok else "[red]✗[/]"
        hint = f"\n  fix: {escape(for_screen(check.fix_hint))}" if not check.ok and check.fix_hint else ""
        self.query_one("#verify-signin-result", Static).update(f"{mark} {escape(check.evidence)}{hint}")
        # recorded like the checklist's own sign-in, so the checklist below shows it at once
        self.wizard.journal.record_verification(check.name, check.ok, check.evidence, check.fix_hint)
        self.recheck()

    def run_verification(self) -> None:
        journal, settings = self.wizard.journal, self.wizard.settings
        reason = self.query_one("#verify-build-na", Input).value.strip() or None
        options = verify_task.BuildOptions(command=self.query_one("#verify-build-cmd", Input).value.strip() or "npm run build",
                              cwd=self.query_one("#verify-build-dir", Input).value.strip() or ".",
                              not_applicable_reason=reason)
        sample = self.sample()
        on_progress = self.wizard.progress_callback(self.step_id)
        self.query_one("#verify-run", Button).disabled = True
        self.wizard.start_work(
            self.step_id, "verification",
            lambda: verify_task.run_verification(journal, settings, on_progress=on_progress,
                                                 samples=[sample] if sample else [], build=options),
            on_done=self.verified)

    def verified(self, _result: verify_task.VerificationResult) -> None:
        self.query_one("#verify-run", Button).disabled = False
        self.recheck()

    def work_ended(self, name: str, state) -> None:
        self.query_one("#verify-run", Button).disabled = False

    def report_written(self, paths) -> None:
        self.show_report_paths()
        result = self.wizard.results.get(self.step_id)
        if result is not None and result.passed:
            self.notify("Report written.")
        else:
            self.notify("Report written, but it is partial: the verification has not passed yet "
                        "(press Run verification, then Write report again). The report says so at the top.",
                        severity="warning", timeout=8)

    def show_report_paths(self) -> None:
        doc = documents.REPORT.read(self.wizard.journal)
        files = doc.files if doc is not None else []
        text = ("Report: " + ", ".join(f"[b]{escape(display_path(self.wizard.run_dir / f))}[/]" for f in files)
                if files else "[dim]No report written yet.[/]")
        self.query_one("#verify-report-paths", Static).update(text)

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        cid = event.checkbox.id or ""
        if not cid.startswith("task-"):
            return
        event.stop()
        report.tick_post_migration(self.wizard.journal, cid.removeprefix("task-"), event.value)

    def show_progress(self, progress: Progress) -> None:
        total = "?" if progress.total is None else progress.total
        counts = ", ".join(f"{n} {k}" for k, n in sorted(progress.counts.items()))
        self.query_one("#verify-progress", Static).update(f"{progress.operation}: {total} total; {counts}")

    def gate_checked(self, result: GateResult) -> None:
        self.query_one("#verify-checks", Checklist).show(result)
