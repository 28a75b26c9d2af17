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
    "  q        quit (everything so far is kept; asks first while work is running)\n"
    "  tab      move between fields and buttons (the focused one is drawn in reverse video);\n"
    "           enter presses the focused button; space ticks a checkbox; the mouse works too\n"
    "  esc      leaves a field (typing n in a field types n; press esc first)\n"
    "  pgdn pgup home end   scroll the step (when no table or field has focus)\n"
    "  /        the search box on the mapping step\n\n"
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


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; returns True only for the explicit yes button (Esc is no)."""

    BINDINGS = [Binding("escape", "no", "Cancel")]

    def __init__(self, question: str, *, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question, self.yes, self.no = question, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Static(self.question, id="confirm-question")
            with Horizontal(classes="buttons"):
                yield Button(self.no, id="confirm-no", variant="primary")
                yield Button(self.yes, id="confirm-yes", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()  # the safe answer is the default

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm-yes")

    def action_no(self) -> None:
        self.dismiss(False)


class TypedConfirmScreen(ModalScreen[bool]):
    """A write to WorkOS: the person types `word` (a count or a verb) to go ahead."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, word: str, *, action: str = "Go ahead", also: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.question, self.word, self.action = question, word, action
        self.accepted = {word, *also}

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Static(self.question, id="typed-question")
            yield Input(placeholder=f"type {self.word}", id="typed-input")
            yield Label("", id="typed-error")
            with Horizontal(classes="buttons"):
                yield Button(self.action, id="typed-ok", variant="warning")
                yield Button("Cancel", id="typed-cancel", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#typed-input", Input).focus()

    def _submit(self) -> None:
        if self.query_one("#typed-input", Input).value.strip().lower().replace(",", "") not in self.accepted:
            self.query_one("#typed-error", Label).update(
                f"[red]Type {' or '.join(sorted(self.accepted))} exactly to confirm.[/]")
            return
        self.dismiss(True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "typed-ok":
            self._submit()
        else:
            self.dismiss(False)

    def action_cancel(self) -> None:
        self.dismiss(False)
