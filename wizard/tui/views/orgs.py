"""Step 8: organizations and memberships: export from Auth0, create in WorkOS, with progress and counts."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Static

from wizard.core import documents, estimate
from wizard.core.gates import GateResult
from wizard.core.progress import Progress
from wizard.tasks import orgs as orgs_task
from wizard.tui.screens import TypedConfirmScreen
from wizard.tui.views.base import StepView
from wizard.tui.widgets.checklist import Checklist
from wizard.tui.widgets.progress_panel import ProgressPanel


class OrgsView(StepView):
    step_id = "orgs"

    def compose_body(self) -> ComposeResult:
        yield Static("", id="orgs-counts")
        with Horizontal(classes="buttons"):
            yield Button("Export from Auth0", id="orgs-export", variant="primary", compact=True)
            yield Button("Migrate to WorkOS", id="orgs-migrate", variant="warning", compact=True)
        yield Static("", id="orgs-progress")
        yield DataTable(id="orgs-table", cursor_type="row")
        yield Static("", id="orgs-problems")
        yield Checklist("", id="orgs-checks")

    def on_mount(self) -> None:
        self.query_one("#orgs-table", DataTable).add_columns("organization", "status", "members", "domains")

    def entered(self) -> None:
        self.refresh_counts()

    def refresh_counts(self) -> None:
        journal = self.wizard.journal
        org_rows = journal.orgs()
        ms = journal.memberships()
        by: dict[str, int] = {}
        for m in ms:
            by[m["status"]] = by.get(m["status"], 0) + 1
        self.query_one("#orgs-counts", Static).update(
            f"{len(org_rows)} organization(s), {len(ms)} membership(s): "
            + (", ".join(f"{n} {k}" for k, n in sorted(by.items())) or "none yet"))
        table = self.query_one("#orgs-table", DataTable)
        table.clear()
        for o in org_rows:
            members = sum(1 for m in ms if m["auth0_org_id"] == o["auth0_org_id"])
            domains = ", ".join(d.get("domain", "") for d in o["domains"])
            table.add_row(o["display_name"] or o["name"], o["status"], str(members), domains,
                          key=o["auth0_org_id"])
        doc = documents.ORGS.read(journal)
        problems = doc.problems if doc is not None else []
        self.query_one("#orgs-problems", Static).update(
            "\n".join(f"[yellow]•[/] {escape(str(p.get('auth0_org_id', '')))} {escape(str(p.get('message', '')))}"
                      for p in problems[:8]))
        self.query_one("#orgs-export", Button).disabled = not self.wizard.settings.has_auth0_credentials

    def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        if bid not in ("orgs-export", "orgs-migrate"):
            return
        event.stop()
        if bid == "orgs-migrate":
            self.ask_migrate()
            return
        self.start(bid)

    def ask_migrate(self) -> None:
        """A write to WorkOS: what will be written and how long it takes, then a typed confirmation."""
        journal = self.wizard.journal
        org_rows = [o for o in journal.orgs() if o["status"] not in ("created", "existing")]
        members = [m for m in journal.memberships() if m["status"] not in ("created", "existing")]
        if not journal.orgs():
            self.start("orgs-migrate")  # nothing exported: the gate explains what to do first
            return
        if not org_rows and not members:
            self.notify("Every organization and membership is already in WorkOS: nothing to write.")
            self.recheck()
            return
        question = (f"[b]Write to WorkOS[/b] at {escape(self.wizard.settings.workos_base_url)}: "
                    f"{len(org_rows)} organization(s) and {len(members)} membership(s).\n"
                    f"Expected duration: {escape(str(estimate.writes('organizations', len(org_rows))))}; "
                    f"{escape(str(estimate.writes('memberships', len(members))))} (the write budget).\n"
                    "Type [b]migrate[/b] to go ahead.")
        self.app.push_screen(TypedConfirmScreen(question, "migrate", action="Migrate"),
                             lambda yes: self.start("orgs-migrate") if yes else None)

    def start(self, bid: str) -> None:
        journal, settings = self.wizard.journal, self.wizard.settings
        on_progress = self.wizard.progress_callback(self.step_id)
        if bid == "orgs-export":
            def work():
                return orgs_task.run_org_export(journal, settings, on_progress=on_progress)
        else:
            def work():
                return orgs_task.run_org_migration(journal, settings, on_progress=on_progress)

        self.query_one(f"#{bid}", Button).disabled = True
        self.wizard.start_work(self.step_id, bid.split("-")[1], work, on_done=self.finished)

    def finished(self, _result) -> None:
        self.query_one("#orgs-migrate", Button).disabled = False
        self.refresh_counts()
        self.recheck()

    def work_ended(self, name: str, state) -> None:
        self.query_one("#orgs-migrate", Button).disabled = False
        self.refresh_counts()

    def show_progress(self, progress: Progress) -> None:
        counts = ", ".join(f"{n} {k}" for k, n in sorted(progress.counts.items()))
        self.query_one("#orgs-progress", Static).update(f"{ProgressPanel.describe(progress)}  ({counts})")

    def gate_checked(self, result: GateResult) -> None:
        self.query_one("#orgs-checks", Checklist).show(result)
