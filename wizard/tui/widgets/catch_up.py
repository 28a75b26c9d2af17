""""Catch up with Auth0": the delta sync as a panel, shared by the import and cutover steps.

Preview first (the difference, nothing sent), then a typed confirmation (the number of changes,
or `delete N` when users are deleted), then the sync runs in a worker with live progress. The
panel holds no logic: it calls `wizard.tasks.sync` and renders what comes back.
"""

from __future__ import annotations

import asyncio

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Static

from wizard.core.progress import Progress
from wizard.tui.text import display_path
from wizard.tui.widgets.progress_panel import ProgressPanel
from wizard.tui.widgets.tickbox import TickBox


class CatchUpPanel(Vertical):
    """Diff a fresh export against the journal and send only the difference."""

    DEFAULT_CSS = """
    CatchUpPanel { height: auto; }
    """

    class Synced(Message):
        """A sync finished (its result is a `wizard.tasks.sync.SyncResult`)."""

        def __init__(self, result) -> None:
            super().__init__()
            self.result = result

    def __init__(self, step_id: str, *, title: str = "Catch up with Auth0", passwords_only: bool = False,
                 id: str | None = None) -> None:
        super().__init__(id=id or f"catch-up-{step_id}", classes="catch-up")
        self.step_id = step_id
        self.heading = title
        self.passwords_only = passwords_only
        self.preview = None  # the last dry-run SyncPlan
        self.busy = False
        self._stop: list = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def _wid(self, name: str) -> str:
        return f"{self.id}-{name}"

    def compose(self) -> ComposeResult:
        yield Static(f"[b]{self.heading}[/b]: compare a fresh Auth0 export with what was imported and send "
                     "only the difference (new, changed and re-hashed users; unchanged users get no "
                     "request).", classes="section")
        if not self.passwords_only:
            yield Input(placeholder="fresh users export (empty: same file)", id=self._wid("users"))
        yield Input(placeholder="password export (empty: same file)",
                    id=self._wid("passwords"))
        if not self.passwords_only:
            yield TickBox("Also delete in WorkOS the users gone from Auth0 (or blocked there)",
                           id=self._wid("delete"))
        with Horizontal(classes="buttons"):
            yield Button("Preview catch-up", id=self._wid("preview"), variant="primary", compact=True)
            yield Input(placeholder="count, or 'delete N'", id=self._wid("confirm"))
            yield Button("Send catch-up", id=self._wid("send"), variant="warning", disabled=True, compact=True)
        yield Static("", id=self._wid("plan"))
        yield ProgressPanel(id=self._wid("progress"))

    # ------------------------------------------------------------------ inputs
    def _paths(self) -> tuple[str | None, str | None]:
        users = None if self.passwords_only else self.query_one(f"#{self._wid('users')}", Input).value.strip()
        passwords = self.query_one(f"#{self._wid('passwords')}", Input).value.strip()
        return users or None, passwords or None

    def _delete(self) -> bool:
        return not self.passwords_only and self.query_one(f"#{self._wid('delete')}", Checkbox).value

    def expected_confirmation(self) -> str | None:
        if self.preview is None:
            return None
        n = self.preview.counts.get("to_delete", 0)
        return f"delete {n}" if n else str(self.preview.to_send)

    # ------------------------------------------------------------------ actions
    def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        if bid == self._wid("preview"):
            event.stop()
            self.start_preview()
        elif bid == self._wid("send"):
            event.stop()
            self.confirm_and_send()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == self._wid("confirm"):
            event.stop()
            self.confirm_and_send()

    def start_preview(self) -> None:
        from wizard.tasks.sync import prepare_sync

        users, passwords = self._paths()
        if users is None and passwords is None and self.passwords_only:
            self.notify("Give the decrypted password export first.", severity="warning")
            return
        journal, settings = self.app.journal, self.app.settings
        if users is None and passwords is None:
            recorded = journal.input_path("users")
            users = str(recorded) if recorded else None
        on_progress = self.app.progress_callback(self.step_id)
        delete = self._delete()

        def work():
            return prepare_sync(journal, settings, users=users, passwords=passwords, dry_run=True,
                                delete_removed=delete, on_progress=on_progress)

        self.busy = True
        self._show("Comparing the export with the journal …")
        self.app.start_work(self.step_id, "catch-up preview", work, on_done=self._previewed)

    def _previewed(self, plan) -> None:
        self.busy = False
        self.preview = plan
        lines = [f"Preview of {escape(display_path(plan.users_path))}"
                 + (f" + {escape(display_path(plan.passwords_path))}" if plan.passwords_path else "") + ":"]
        lines += ["  " + escape(line) for line in plan.lines()]
        removed = self.app.journal.sync_changes(plan.sync_id, ("removed", "blocked", "delete"), limit=5)
        lines += [f"  - {escape(str(r['email'] or r['auth0_user_id']))}: {escape(str(r['reason'] or r['kind']))}"
                  for r in removed]
        lines += [f"  finding: {escape(f.message)}" for f in plan.findings[:3]]
        expected = self.expected_confirmation()
        lines.append("Nothing to send: WorkOS is in step with this export." if not plan.to_send else
                     f"To send: {plan.to_send} change(s). Type [b]{expected}[/b] to confirm, then Send.")
        self._show("\n".join(lines))
        self.query_one(f"#{self._wid('send')}", Button).disabled = False

    def confirm_and_send(self) -> None:
        if self.preview is None:
            self.notify("Preview the catch-up first.", severity="warning")
            return
        box = self.query_one(f"#{self._wid('confirm')}", Input)
        typed = box.value.strip()
        expected = self.expected_confirmation()
        if self.preview.to_send and typed not in (expected, "sync" if not self.preview.counts.get("to_delete") else expected):
            self.notify(f"Type {expected} to confirm.", severity="warning")
            return
        box.value = ""
        self.start_send()

    def start_send(self) -> None:
        from wizard.tasks.sync import SyncError, prepare_sync, run_sync_async

        preview = self.preview
        journal, settings = self.app.journal, self.app.settings
        on_progress = self.app.progress_callback(self.step_id)
        users = str(preview.users_path)
        passwords = str(preview.passwords_path) if preview.passwords_path else None
        self._stop = []

        def work():
            plan = prepare_sync(journal, settings, users=users, passwords=passwords, dry_run=False,
                                delete_removed=preview.delete_removed, on_progress=on_progress)
            if plan.counts != preview.counts:
                raise SyncError("the export changed since the preview: nothing was sent; preview again")
            self._loop = asyncio.new_event_loop()
            try:
                return self._loop.run_until_complete(
                    run_sync_async(journal, settings, plan, on_progress=on_progress, stop_box=self._stop))
            finally:
                self._loop.close()
                self._loop = None

        self.busy = True
        self.query_one(f"#{self._wid('send')}", Button).disabled = True
        self.app.start_work(self.step_id, "catch-up", work, on_done=self._sent)

    def stop(self) -> None:
        for engine in self._stop:
            engine.stop()

    def on_unmount(self) -> None:
        """Quitting mid-sync: start no new users; in-flight ones are reconciled on resume."""
        self.stop()

    def _sent(self, result) -> None:
        self.busy = False
        self.preview = None
        s = result.summary
        self._show(f"Sync {result.sync_id} done: {s.get('session_created', 0)} created, "
                   f"{s.get('session_updated', 0)} updated or deleted ({result.deleted} deleted), "
                   f"{s.get('session_failed', 0)} failed, {s.get('remaining', 0)} left.")
        self.post_message(self.Synced(result))

    def work_ended(self) -> None:
        self.busy = False

    def show_progress(self, progress: Progress) -> None:
        self.query_one(f"#{self._wid('progress')}", ProgressPanel).show(progress)

    def _show(self, text: str) -> None:
        self.query_one(f"#{self._wid('plan')}", Static).update(text)
