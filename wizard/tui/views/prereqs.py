"""Step 2: `.env.local` read, keys present and well-formed, SDK installed, key accepted (live read)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from wizard.core.config import mask
from wizard.core.gates import GateResult
from wizard.tui.text import display_path
from wizard.tui.views.base import StepView
from wizard.tui.widgets.checklist import Checklist


class PrereqsView(StepView):
    step_id = "prereqs"

    def compose_body(self) -> ComposeResult:
        yield Static("", id="prereqs-settings")
        yield Static("[b]Checks[/b] (r re-runs them)", classes="section")
        yield Checklist("Checking…", id="prereqs-checks")

    def entered(self) -> None:
        s = self.wizard.settings
        env = display_path(s.env_file) if s.env_file else "(no .env.local found: environment only)"
        self.query_one("#prereqs-settings", Static).update(
            f"Settings file: {env}\n"
            f"WORKOS_API_KEY {mask(s.workos_api_key)}   WORKOS_CLIENT_ID {s.workos_client_id or '(not set)'}\n"
            f"AUTH0 credentials: {'present' if s.has_auth0_credentials else 'not set (export files only)'}"
        )

    def gate_checked(self, result: GateResult) -> None:
        self.query_one("#prereqs-checks", Checklist).show(result)
