"""Step 5: the decision tree with counts, the field mapping, sample users with the exact request
(hash redacted), duplicate groups and how they merge."""

from __future__ import annotations

import json

from rich.markup import escape
from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static

from wizard.core import documents, plan
from wizard.core.gates import GateResult
from wizard.tui.views.base import StepView
from wizard.tui.widgets.checklist import Checklist

BRANCHES = (
    ("password", "database user with a valid bcrypt hash → created with password_hash (bcrypt)"),
    ("reset", "database user without a usable hash → created without password; reset / Magic Auth"),
    ("social", "social identities only → created without password; links by email"),
    ("sso", "enterprise connection only → created without password; signs in through SSO"),
    ("blocked", "blocked in Auth0 → not imported (listed in the report)"),
    ("invalid", "cannot be imported → not imported (reason per user)"),
)
FIELD_MAPPING = (
    ("email", "email (lower-cased, trimmed)"),
    ("email_verified", "email_verified (only true is sent; never forced)"),
    ("given_name / family_name", "first_name / last_name (name split when missing)"),
    ("user_id", "external_id (the group's primary Auth0 id)"),
    ("passwordHash (hash export)", "password_hash + password_hash_type=bcrypt (read at send time)"),
    ("app_metadata / user_metadata", "metadata (string values, size-limited)"),
)


class MappingView(StepView):
    step_id = "mapping"
    BINDINGS = [Binding("slash", "search", "Search", key_display="/")]

    def compose_body(self) -> ComposeResult:
        # the search box is the first stop of Tab (and `/` jumps to it); pgdn / end scroll the page
        yield Input(placeholder="/ search users by email or Auth0 id", id="mapping-search")
        yield Static("", id="mapping-tree")
        yield Static("", id="mapping-fields")
        yield Static("[b]Sample users[/b] (↑/↓ in the table shows each user's request)", classes="section")
        yield DataTable(id="mapping-users", cursor_type="row")
        yield Static("", id="mapping-request")
        yield Static("", id="mapping-duplicates", classes="section")
        yield DataTable(id="mapping-duplicates-table", cursor_type="row")
        yield Checklist("", id="mapping-checks")

    def on_mount(self) -> None:
        self._shown: str | None = ""
        self.query_one("#mapping-users", DataTable).add_columns("email", "branch", "auth0 id")
        self.query_one("#mapping-duplicates-table", DataTable).add_columns("email", "Auth0 ids", "primary")

    def focus_target(self) -> Widget:
        """The page itself: pgdn / end scroll it, Tab reaches the search box next."""
        return self

    def action_search(self) -> None:
        box = self.query_one("#mapping-search", Input)
        box.focus()
        self.scroll_to_widget(box, animate=False)

    def entered(self) -> None:
        journal = self.wizard.journal
        counts = journal.count_users("branch")
        total = sum(counts.values())
        tree = Table(box=None, padding=(0, 1), expand=True, title=f"Decision tree: {total} planned WorkOS users",
                     title_justify="left", title_style="bold")
        tree.add_column("", no_wrap=True)
        tree.add_column("branch", style="bold", no_wrap=True)
        tree.add_column("users", justify="right", no_wrap=True)
        tree.add_column("what happens", ratio=1)
        for i, (b, text) in enumerate(BRANCHES):
            tree.add_row("└─" if i == len(BRANCHES) - 1 else "├─", b, str(counts.get(b, 0)), text)
        self.query_one("#mapping-tree", Static).update(tree)
        fields = Table(box=None, padding=(0, 1), expand=True, title="Field mapping (Auth0 → WorkOS)", title_justify="left",
                       title_style="bold")
        fields.add_column("Auth0", style="cyan", ratio=2)
        fields.add_column("WorkOS", ratio=3)
        for a, b in FIELD_MAPPING:
            fields.add_row(a, b)
        for label, rule in (("name", plan.NAME_RULE), ("verified", plan.VERIFIED_RULE),
                            ("blocked", plan.BLOCKED_POLICY)):
            fields.add_row(label, rule)
        self.query_one("#mapping-fields", Static).update(fields)
        self.load_users("")
        journal = self.wizard.journal

        def duplicates() -> tuple[int, list]:
            dups = [u for u in journal.iter_users() if len(u.auth0_ids) > 1]
            return len(dups), dups[:8]

        self.wizard.start_work(self.step_id, "duplicates", duplicates, on_done=self.show_duplicates)

    def show_duplicates(self, found: tuple[int, list]) -> None:
        n, first = found
        summary = documents.PLAN_SUMMARY.read(self.wizard.journal)
        merge_rule = (summary.merge_rule if summary is not None else None) or plan.MERGE_RULE
        self.query_one("#mapping-duplicates", Static).update(
            f"[b]Duplicate groups[/b]: {n} — {escape(str(merge_rule))}"
            + (f" (the first {len(first)} below)" if n > len(first) else ""))
        table = self.query_one("#mapping-duplicates-table", DataTable)
        table.clear()
        table.display = bool(first)
        for u in first:
            table.add_row(u.email or "no email", ", ".join(u.auth0_ids), u.auth0_user_id, key=u.auth0_user_id)

    def load_users(self, query: str, limit: int = 50) -> None:
        """Search in a worker (a big plan must not freeze the screen); the newest search wins."""
        journal = self.wizard.journal
        q = query.lower().strip()

        def search() -> list[tuple[str, str, str]]:
            rows = []
            for u in journal.iter_users():
                if q and q not in (u.email or "").lower() and not any(q in a.lower() for a in u.auth0_ids):
                    continue
                rows.append((u.email or "no email", u.branch, u.auth0_user_id))
                if len(rows) >= limit:
                    break
            return rows

        self.wizard.start_work(self.step_id, "search", search, on_done=self.show_users, exclusive=True)

    def show_users(self, rows: list[tuple[str, str, str]]) -> None:
        table = self.query_one("#mapping-users", DataTable)
        table.clear()
        for email, branch, auth0_id in rows:
            table.add_row(email, branch, auth0_id, key=auth0_id)
        self.show_request(rows[0][2] if rows else None)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "mapping-search":
            event.stop()
            self.load_users(event.value)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id not in ("mapping-users", "mapping-duplicates-table") or event.row_key is None:
            return
        event.stop()
        self.show_request(str(event.row_key.value))

    def show_request(self, auth0_user_id: str | None) -> None:
        """The exact request for one user (hash redacted), shown under the table."""
        if auth0_user_id == self._shown:
            return
        self._shown = auth0_user_id
        user = self.wizard.journal.user(auth0_user_id) if auth0_user_id else None
        if user is None:
            self.query_one("#mapping-request", Static).update("[dim]No user matches.[/]")
            return
        body = json.dumps(plan.redacted_request(user), indent=2, sort_keys=True)
        why = f"\n[dim]{escape(user.reason)}[/]" if user.reason else ""
        self.query_one("#mapping-request", Static).update(
            f"[b]{escape(user.auth0_user_id)}[/b] ({user.branch}) → POST /user_management/users\n"
            f"{escape(body)}{why}")

    def gate_checked(self, result: GateResult) -> None:
        self.query_one("#mapping-checks", Checklist).show(result)
