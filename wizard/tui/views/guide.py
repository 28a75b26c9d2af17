"""Step 1: the official guide's address, what this wizard follows, where newer facts win; acknowledge."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.widgets import Checkbox, Static

from wizard.core import guide, steps
from wizard.core.gates import GateResult
from wizard.tui.views.base import StepView
from wizard.tui.widgets.tickbox import TickBox


def difference_text(d: guide.Difference) -> str:
    return (f"[b]{escape(d.topic)}[/b]: {escape(d.wizard_does)} "
            f"[dim](seed guide: {escape(d.seed_says)})[/]")


class GuideView(StepView):
    step_id = "guide"

    def compose_body(self) -> ComposeResult:
        # the acknowledgement sits above the fold: the details follow it, scrollable (pgdn / end)
        yield Static(f"Official guide: [b u]{guide.GUIDE_URL}[/]", id="guide-url")
        yield TickBox("I have read the guide and what this wizard follows",
                      id="guide-ack")
        text = (
            "[b]What this wizard follows, in order:[/]\n"
            + "\n".join(f" {i}. {f}" for i, f in enumerate(map(escape, guide.FOLLOWED), 1))
            + "\n\n[b]Where newer API facts override the seed guide:[/]\n"
            + "\n".join(f" • {difference_text(d)}" for d in guide.DIFFERENCES)
        )
        yield Static(text, id="guide-text", classes="section")

    def entered(self) -> None:
        ack = guide.is_acknowledged(self.wizard.journal)
        box = self.query_one("#guide-ack", Checkbox)
        with box.prevent(Checkbox.Changed):
            box.value = ack

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        if event.checkbox.id != "guide-ack":
            return
        if event.value:
            steps.acknowledge_guide(self.wizard.journal)
        else:
            guide.withdraw_acknowledgement(self.wizard.journal)
        self.recheck()

    def gate_checked(self, result: GateResult) -> None:
        pass
