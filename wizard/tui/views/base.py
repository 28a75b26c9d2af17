"""The base of every step view: title, summary, body; the app owns the gate and navigation."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Input, Static

from wizard.core.gates import GateResult
from wizard.core.progress import Progress
from wizard.core.steps import step_by_id

if TYPE_CHECKING:
    from wizard.tui.app import WizardApp


class StepView(VerticalScroll):
    """One step's screen area. Subclasses fill `compose_body` and react in `entered`/`gate_checked`."""

    step_id: ClassVar[str] = ""
    auto_check: ClassVar[bool] = True  # evaluate the gate whenever the step is opened

    def __init__(self) -> None:
        super().__init__(id=f"view-{self.step_id}", classes="step-view")
        self.step = step_by_id(self.step_id)

    @property
    def wizard(self) -> WizardApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(f"[b]{self.step.title}[/b] — {self.step.summary}", classes="step-title")
        yield from self.compose_body()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def entered(self) -> None:
        """The step became current (also on resume): refresh what the journal holds."""

    def required_input(self) -> Input | None:
        """An empty Input the primary action needs first (focused on entry instead of the button)."""
        return None

    def focus_target(self) -> Widget:
        """Where focus lands on entering the step: a needed empty field, else the primary action
        button, else the first focusable widget that is not a text field (so n/b/r keep working)."""
        needed = self.required_input()
        if needed is not None:
            return needed
        buttons = [b for b in self.query(Button) if not b.disabled and b.display]
        primary = next((b for b in buttons if b.variant == "primary"), None)
        if primary is not None:
            return primary
        others = [w for w in self.query("*") if w.focusable and not isinstance(w, Input)]
        return others[0] if others else self

    def focus_primary(self) -> None:
        self.focus_target().focus(scroll_visible=False)

    def gate_checked(self, result: GateResult) -> None:
        """The gate was evaluated; views with a checklist show it."""

    def show_progress(self, progress: Progress) -> None:
        """A coalesced progress event from this step's worker."""

    def recheck(self) -> None:
        """After the person's action (or Re-check): evaluate the gate; a failure now counts."""
        self.wizard.check_gate(self.step_id, attempted=True)
