"""Modal screens: the help screen, a typed reason (for not-applicable), a typed confirmation."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from wizard.core.steps import MIN_REASON_CHARS, STEPS

HELP = """[b]Auth0 → WorkOS migration wizard[/b]

Each step has a gate. [b]Next[/b] stays disabled until the gate passes; the reason is shown
at the bottom. Everything is recorded in the run's journal: quit at any time and resume with
[b]auth0-workos --run-dir DIR[/b].

[b]Keys[/b]
  n  next step (when the gate passed)     b  previous step
  r  re-run the current step's check      x  mark a conditional step not applicable
  ?  this help                            q  quit (progress is kept)
  tab / shift+tab move between fields; enter presses a button; the mouse works too.

[b]Steps[/b]
""" + "\n".join(f"  {i + 1:>2}. {s.title}: {s.summary}" for i, s in enumerate(STEPS))


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box", classes="modal-box"):
            yield Static(HELP, id="help-text")
            yield Button("Close", id="help-close", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)


class ReasonScreen(ModalScreen[str | None]):
    """Asks for a typed reason; returns it, or None when cancelled. Too-short reasons are refused."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Label(self.question, id="reason-question")
            yield Input(placeholder=f"reason (at least {MIN_REASON_CHARS} characters)", id="reason-input")
            yield Label("", id="reason-error")
            with Horizontal(classes="buttons"):
                yield Button("Record", id="reason-ok", variant="primary")
                yield Button("Cancel", id="reason-cancel")

    def _submit(self) -> None:
        value = self.query_one("#reason-input", Input).value.strip()
        if len(value) < MIN_REASON_CHARS:
            self.query_one("#reason-error", Label).update(
                f"[red]A reason of at least {MIN_REASON_CHARS} characters is required.[/]")
            return
        self.dismiss(value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "reason-ok":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
