"""Step 3: the Auth0 inventory, from the Management API (credentials) or from the users export."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Input, Static

from wizard.core import documents, estimate, inventory
from wizard.core.gates import GateResult
from wizard.core.progress import Progress
from wizard.tasks import inventory as inventory_task
from wizard.tui.text import editable_path
from wizard.tui.views.base import StepView
from wizard.tui.widgets.checklist import Checklist
from wizard.tui.widgets.progress_panel import ProgressPanel


class InventoryView(StepView):
    step_id = "inventory"

    def compose_body(self) -> ComposeResult:
        yield Static("", id="inventory-source")
        yield Static("Users export file (optional with Management API access):", classes="section")
        yield Input(placeholder="users export path (used when there is no Management API access)",
                    id="inventory-users-path")
        with Horizontal(classes="buttons"):
            yield Button("Build inventory", id="inventory-run", variant="primary", compact=True)
        yield Static("", id="inventory-progress")
        yield Static("", id="inventory-summary")
        yield Checklist("", id="inventory-checks")

    def entered(self) -> None:
        s = self.wizard.settings
        source = ("Auth0 Management API (credentials present)" if s.has_auth0_credentials
                  else "the users export file below (no Auth0 credentials)")
        known = self.known_users()
        scan = (f"\nExpected duration of the MFA scan (one Auth0 read per user): "
                f"{escape(str(estimate.mfa_scan(known)))}; Essentials plans allow about 150 reads per "
                f"minute: {escape(estimate.describe_duration(estimate.mfa_scan(known, estimate.AUTH0_ESSENTIALS_PER_SECOND).seconds))}"
                if known and s.has_auth0_credentials else "")
        self.query_one("#inventory-source", Static).update(f"Source: {source}{scan}")
        box = self.query_one("#inventory-users-path", Input)
        if not box.value:
            exports = self.wizard.demo_exports
            path = self.wizard.journal.input_path("users") or (exports.users_path if exports else None)
            if path:
                box.value = editable_path(path)
        self.show_summary()

    def known_users(self) -> int:
        """Users this run already knows of (an earlier inventory, or the export's line count)."""
        journal = self.wizard.journal
        doc = documents.INVENTORY.read(journal)
        users = doc.users if doc else {}
        count = users.get("export_users") or users.get("api_total")
        if isinstance(count, int):
            return count
        return int((journal.inputs().get("users") or {}).get("lines") or 0)

    def required_input(self) -> Input | None:
        """Without Auth0 credentials the export path is needed before Build inventory can work."""
        box = self.query_one("#inventory-users-path", Input)
        return box if not self.wizard.settings.has_auth0_credentials and not box.value.strip() else None

    def show_summary(self) -> None:
        doc = documents.INVENTORY.read(self.wizard.journal)
        text = "\n".join(map(escape, inventory.summary_lines(doc.dump()))) if doc else "[dim]No inventory yet: press Build inventory.[/]"
        self.query_one("#inventory-summary", Static).update(text)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "inventory-run":
            event.stop()
            self.run_inventory()

    def run_inventory(self) -> None:
        settings = self.wizard.settings
        raw = self.query_one("#inventory-users-path", Input).value.strip()
        users_path = Path(raw).expanduser() if raw else None
        if users_path is not None and not users_path.is_file():
            self.notify(f"Users export not found: {escape(raw)} is not a file. Fix the path or clear it.",
                        severity="error")
            return
        if not settings.has_auth0_credentials and users_path is None:
            self.notify("Give the users export path (no Auth0 credentials are set).", severity="warning")
            return
        journal = self.wizard.journal
        on_progress = self.wizard.progress_callback(self.step_id)
        self.query_one("#inventory-run", Button).disabled = True

        def work():
            return inventory_task.run_inventory(journal, settings, on_progress=on_progress, users_path=users_path)

        self.wizard.start_work(self.step_id, "inventory", work, on_done=self.done)

    def done(self, _inv) -> None:
        self.query_one("#inventory-run", Button).disabled = False
        self.entered()
        self.query_one("#inventory-progress", Static).update("Inventory saved in the journal.")
        self.show_summary()
        self.recheck()

    def work_ended(self, name: str, state) -> None:
        self.query_one("#inventory-run", Button).disabled = False

    def show_progress(self, progress: Progress) -> None:
        self.query_one("#inventory-progress", Static).update(ProgressPanel.describe(progress))

    def gate_checked(self, result: GateResult) -> None:
        self.query_one("#inventory-checks", Checklist).show(result)
