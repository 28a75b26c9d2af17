"""Roles and permissions (after Organizations): read Auth0 RBAC, show the mapping with its collisions,
reuse decisions and what cannot be undone, dry-run, then write after a typed confirmation."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Input, Label, Static

from wizard.core import documents
from wizard.core import roles as rbac
from wizard.core.gates import GateResult
from wizard.core.progress import Progress
from wizard.tasks import roles as roles_task
from wizard.tui.views.base import StepView
from wizard.tui.widgets.checklist import Checklist

CONFIRM_WORD = "roles"


class RolesView(StepView):
    step_id = "roles"

    def __init__(self) -> None:
        super().__init__()
        self.previewed: tuple[tuple[str, ...], str | None] | None = None  # the decisions the dry run showed

    def compose_body(self) -> ComposeResult:
        yield Static("", id="roles-counts")
        with Horizontal(classes="buttons"):
            yield Button("Read from Auth0", id="roles-read", variant="primary", compact=True)
            yield Button("Dry run (show the mapping)", id="roles-preview", compact=True)
        with Horizontal(classes="field"):
            yield Label("Reuse roles", classes="field-label")
            yield Input(placeholder="WorkOS role slugs, comma-separated", id="roles-reuse")
        with Horizontal(classes="field"):
            yield Label("Default org", classes="field-label")
            yield Input(placeholder="for roles outside any organization", id="roles-default-org")
        yield Static("[dim]Reuse roles empty: each Auth0 role becomes a new WorkOS role (a suffixed slug "
                     "where the slug is taken). Default org empty: roles held outside any organization are "
                     "reported only.[/]", id="roles-fields-hint")
        with Horizontal(classes="buttons"):
            yield Input(placeholder=f"type '{CONFIRM_WORD}' to write", id="roles-confirm")
            yield Button("Write to WorkOS", id="roles-apply", variant="warning", disabled=True, compact=True)
        yield Static("", id="roles-progress")
        yield Static("", id="roles-mapping")
        yield Static("", id="roles-outcome")
        yield Checklist("", id="roles-checks")

    # ------------------------------------------------------------------ state
    def decisions(self) -> tuple[tuple[str, ...], str | None]:
        reuse = self.query_one("#roles-reuse", Input).value
        org = self.query_one("#roles-default-org", Input).value.strip() or None
        return tuple(sorted({s.strip() for s in reuse.split(",") if s.strip()})), org

    def entered(self) -> None:
        self.refresh_counts()

    def refresh_counts(self) -> None:
        journal = self.wizard.journal
        read = documents.ROLES_READ.read(journal)
        text = (f"{read.get('roles', 0)} Auth0 role(s), {read.get('permissions', 0)} permission(s), "
                f"{read.get('members_with_roles', 0)} member(s) with roles, {read.get('tenant_role_holders', 0)} "
                "user(s) with roles outside any organization" if read else "Roles not read from Auth0 yet.")
        self.query_one("#roles-counts", Static).update(escape(text))
        self.query_one("#roles-read", Button).disabled = not self.wizard.settings.has_auth0_credentials
        self.query_one("#roles-preview", Button).disabled = not rbac.has_roles(journal)
        self.query_one("#roles-apply", Button).disabled = self.previewed is None

    # ------------------------------------------------------------------ actions
    def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        if bid not in ("roles-read", "roles-preview", "roles-apply"):
            return
        event.stop()
        if bid == "roles-apply":
            self.confirm_and_apply()
            return
        journal, settings = self.wizard.journal, self.wizard.settings
        on_progress = self.wizard.progress_callback(self.step_id)
        if bid == "roles-read":
            def work():
                return roles_task.read_roles(journal, settings, on_progress=on_progress)
            done = self.read_done
        else:
            reuse, org = self.decisions()

            def work():
                return roles_task.plan_roles(journal, settings, reuse_existing=reuse, default_org=org,
                                             on_progress=on_progress), (reuse, org)
            done = self.preview_done
        event.button.disabled = True
        self.wizard.start_work(self.step_id, bid.split("-")[1], work, on_done=done)

    def read_done(self, _read) -> None:
        self.previewed = None
        self.refresh_counts()
        self.recheck()

    def preview_done(self, result) -> None:
        (plan, preview), decisions = result
        lines = rbac.plan_lines(plan) + rbac.tenant_lines(self.wizard.journal)
        self.query_one("#roles-mapping", Static).update("\n".join(escape(line) for line in lines))
        self.query_one("#roles-outcome", Static).update("\n".join(escape(line) for line in rbac.outcome_lines(preview)))
        self.previewed = None if plan.unknown_reuse else decisions
        if plan.unknown_reuse:
            self.notify("Reuse names no WorkOS role an Auth0 role maps onto: " + ", ".join(plan.unknown_reuse),
                        severity="warning")
        self.refresh_counts()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "roles-confirm":
            event.stop()
            self.confirm_and_apply()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id in ("roles-reuse", "roles-default-org") and self.previewed is not None \
                and self.decisions() != self.previewed:
            self.previewed = None  # changed decisions need a new dry run
            self.refresh_counts()

    def confirm_and_apply(self) -> None:
        if self.previewed is None or self.decisions() != self.previewed:
            self.notify("Run the dry run with these decisions first: it shows what will be written.",
                        severity="warning")
            return
        if self.query_one("#roles-confirm", Input).value.strip().lower() != CONFIRM_WORD:
            self.notify(f"Type '{CONFIRM_WORD}' to confirm: roles created in WorkOS cannot be deleted through the API.",
                        severity="warning")
            return
        self.query_one("#roles-confirm", Input).value = ""
        journal, settings = self.wizard.journal, self.wizard.settings
        on_progress = self.wizard.progress_callback(self.step_id)
        reuse, org = self.previewed

        def work():
            return roles_task.run_roles(journal, settings, on_progress=on_progress, read=False,
                                        reuse_existing=reuse, default_org=org)

        self.query_one("#roles-apply", Button).disabled = True
        self.wizard.start_work(self.step_id, "apply", work, on_done=self.applied)

    def applied(self, result) -> None:
        if result.outcome is not None:
            self.query_one("#roles-outcome", Static).update(
                "\n".join(escape(line) for line in rbac.outcome_lines(result.outcome)))
        self.refresh_counts()
        self.recheck()

    def work_ended(self, name: str, state) -> None:
        self.refresh_counts()

    def show_progress(self, progress: Progress) -> None:
        total = "?" if progress.total is None else progress.total
        counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(progress.counts.items()))
        self.query_one("#roles-progress", Static).update(escape(f"{progress.operation}: {total} total; {counts}"))

    def gate_checked(self, result: GateResult) -> None:
        self.query_one("#roles-checks", Checklist).show(result)
