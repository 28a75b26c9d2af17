"""Enterprise SSO: plan + dry run, a cutover mode per connection, client secrets typed in (masked,
held in memory only), a typed confirmation before writing, Admin Portal links on demand."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Static

from wizard.core import documents, sso
from wizard.core.gates import GateResult
from wizard.core.progress import Progress
from wizard.tasks.sso import run_portal_links, run_sso
from wizard.tui.text import display_path
from wizard.tui.views.base import StepView
from wizard.tui.widgets.checklist import Checklist


class SsoView(StepView):
    step_id = "sso"

    def __init__(self) -> None:
        super().__init__()
        self.typed_secrets: dict[str, str] = {}  # connection name -> secret: memory only, never shown
        self.consolidate = False
        self.links: list[str] = []  # the last generated portal links (shown, never stored)

    def compose_body(self) -> ComposeResult:
        yield Static(
            f"[b]{sso.KEEP_IDP}[/b]: {escape(sso.MODE_LABELS[sso.KEEP_IDP])}. {escape(sso.KEEP_IDP_ROUTING)}\n"
            f"[b]{sso.NEW_ENDPOINTS}[/b]: {escape(sso.MODE_LABELS[sso.NEW_ENDPOINTS])}: they get an Admin Portal "
            f"link (intent sso, valid {sso.PORTAL_LINK_TTL_MINUTES} minutes) and a message in the handoff file.",
            id="sso-modes")
        with Horizontal(classes="buttons"):
            yield Button("Plan + dry run", id="sso-dry", variant="primary", compact=True)
            yield Button("Switch mode of selected", id="sso-mode", compact=True)
            yield Button("Consolidate: off", id="sso-consolidate", compact=True)
        with Horizontal(classes="buttons"):
            yield Input(placeholder="selected connection's client secret", password=True, id="sso-secret")
            yield Button("Use secret", id="sso-use-secret", compact=True)
        with Horizontal(classes="buttons"):
            yield Input(placeholder="count or 'sso'", id="sso-confirm")
            yield Button("Create in WorkOS", id="sso-create", variant="warning", disabled=True, compact=True)
            yield Button("Admin Portal links", id="sso-portal", compact=True)
        yield Static("", id="sso-progress")
        yield DataTable(id="sso-table", cursor_type="row")
        yield Static("", id="sso-summary")
        yield Checklist("", id="sso-checks")

    def on_mount(self) -> None:
        self.query_one("#sso-table", DataTable).add_columns("connection", "strategy", "users", "organizations",
                                                           "mode", "outcome", "why")

    def entered(self) -> None:
        self.refresh_state()

    # ------------------------------------------------------------------ state
    def _would_create(self) -> int:
        dry = documents.SSO_DRY_RUN.read(self.wizard.journal) or {}
        return int((dry.get("connections") or {}).get("would_create", 0))

    def selected_name(self) -> str | None:
        table = self.query_one("#sso-table", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return str(key.value) if key is not None else None

    def refresh_state(self) -> None:
        journal = self.wizard.journal
        rows = sso.summary_rows(journal)
        table = self.query_one("#sso-table", DataTable)
        table.clear()
        for r in rows:
            secret = " (secret typed in)" if r["name"] in self.typed_secrets else ""
            table.add_row(r["display_name"], r["strategy"], "" if r["users"] is None else str(r["users"]),
                          ", ".join(r["organizations"]) or "own organization", r["mode"], r["outcome"] + secret,
                          r["reason"][:80], key=r["name"])
        dry = documents.SSO_DRY_RUN.read(journal)
        lines = []
        if dry:
            c = dry.get("connections") or {}
            lines.append(f"Dry run: {c.get('would_create', 0)} connection(s) would be created, "
                         f"{c.get('handoff', 0)} handed off, {c.get('already_done', 0)} already there; "
                         f"{(dry.get('organizations') or {}).get('would_create', 0)} organization(s) of their own.")
        real = documents.SSO_RESULT.read(journal)
        if real:
            c = real.get("connections") or {}
            lines.append("Created: " + (", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(c.items()))
                                        or "nothing") + "; members: "
                         + (", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted((real.get('members') or {})
                                                                                     .items())) or "none"))
        handoff = journal.get_document(sso.DOC_HANDOFF)
        if handoff:
            lines.append(f"Handoff: [b]{escape(display_path(handoff['markdown']))}[/], "
                         f"[b]{escape(display_path(handoff['csv']))}[/]")
        lines += self.links
        self.query_one("#sso-summary", Static).update("\n".join(lines))
        self.query_one("#sso-create", Button).disabled = not dry
        self.query_one("#sso-consolidate", Button).label = f"Consolidate: {'on' if self.consolidate else 'off'}"
        self.query_one("#sso-dry", Button).disabled = not self.wizard.settings.has_auth0_credentials

    # ------------------------------------------------------------------ actions
    def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        if not bid.startswith("sso-"):
            return
        event.stop()
        journal, settings = self.wizard.journal, self.wizard.settings
        on_progress = self.wizard.progress_callback(self.step_id)
        name = self.selected_name()
        if bid == "sso-mode":
            if name is None:
                self.wizard.notify("Run the plan first, then select a connection.", severity="warning")
                return
            row = next(r for r in sso.summary_rows(journal) if r["name"] == name)
            sso.set_mode(journal, name, sso.NEW_ENDPOINTS if row["mode"] == sso.KEEP_IDP else sso.KEEP_IDP)
            self.refresh_state()
            return
        if bid == "sso-consolidate":
            self.consolidate = not self.consolidate
            self.refresh_state()
            return
        if bid == "sso-use-secret":
            field = self.query_one("#sso-secret", Input)
            if name is None or not field.value.strip():
                self.wizard.notify("Select a connection and type its client secret.", severity="warning")
                return
            self.typed_secrets[name] = field.value.strip()
            field.value = ""
            self.wizard.notify(f"Secret of {escape(name)} held in memory for this session; run the plan again.")
            self.refresh_state()
            return
        if bid == "sso-create":
            typed = self.query_one("#sso-confirm", Input).value.strip()
            if typed not in (str(self._would_create()), "sso"):
                self.wizard.notify(f"Type {self._would_create()} (the connections to create) or 'sso' first.",
                                   severity="warning")
                return
            self.query_one("#sso-confirm", Input).value = ""
        kw = dict(consolidate=self.consolidate, typed_secrets=dict(self.typed_secrets), on_progress=on_progress)
        if bid == "sso-dry":
            def work():
                return run_sso(journal, settings, dry_run=True, **kw)
        elif bid == "sso-create":
            def work():
                return run_sso(journal, settings, write=True, **kw)
        elif bid == "sso-portal":
            names = [r["name"] for r in sso.summary_rows(journal)
                     if r["outcome"] == "handed off" or r["mode"] == sso.NEW_ENDPOINTS]
            if name in names:
                names = [name]

            def work():
                return [(n, org, link) for n in names for org, link in run_portal_links(journal, settings, n)]
        else:
            return
        event.button.disabled = True
        self.wizard.start_work(self.step_id, bid, work, on_done=self.finished)

    def finished(self, result) -> None:
        if isinstance(result, list):  # portal links: shown now, expire in 5 minutes, never stored
            self.links = [f"{escape(n)} / {escape(org)}: {escape(link)} (valid {sso.PORTAL_LINK_TTL_MINUTES} min)"
                          for n, org, link in result] or ["No organization in WorkOS yet: create first."]
        self.query_one("#sso-dry", Button).disabled = False
        self.query_one("#sso-portal", Button).disabled = False
        self.refresh_state()
        self.recheck()

    def work_ended(self, name: str, state) -> None:
        self.query_one("#sso-dry", Button).disabled = False
        self.query_one("#sso-portal", Button).disabled = False
        self.refresh_state()

    def show_progress(self, progress: Progress) -> None:
        total = "?" if progress.total is None else progress.total
        counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(progress.counts.items()))
        self.query_one("#sso-progress", Static).update(f"{progress.operation}: {total} total; {counts}")

    def gate_checked(self, result: GateResult) -> None:
        self.query_one("#sso-checks", Checklist).show(result)
