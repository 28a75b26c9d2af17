"""Modal screens: the help screen, a typed reason (for not-applicable), a typed confirmation."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from wizard.core.steps import MIN_REASON_CHARS, STEPS

HELP = (
    "[b]Auth0 → WorkOS migration wizard[/b]\n\n"
    "Each step has a gate: [b]Next[/b] stays disabled until it passes, and the reason is shown at "
    "the bottom. Everything is recorded in the run's journal: quit at any time and resume with "
    "[b]auth0-workos --run-dir DIR[/b] (a --sandbox rehearsal ends with its session: its WorkOS "
    "lives in memory).\n\n"
    "[b]Keys[/b]\n"
    "  n        next step (once the gate passed)\n"
    "  b        previous step\n"
    "  r        re-run the current step's check\n"
    "  x        mark a conditional step not applicable (typed reason)\n"
    "  ?        this help\n"
    "  q        quit (everything so far is kept)\n"
    "  tab      move between fields; enter presses a button; the mouse works too\n"
    "  esc      leaves a field (typing n in a field types n; press esc first)\n\n"
    "[b]Steps[/b]\n"
    + "\n".join(f"  {i + 1:>2}. {s.title}: {s.summary}" for i, s in enumerate(STEPS))
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box", classes="modal-box"):
            with VerticalScroll(id="help-scroll"):
                yield Static(HELP, id="help-text")
            yield Button("Close (esc)", id="help-close", variant="primary", compact=True)

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
