"""The step rail: always visible, one line per step with its state (and the reason when skipped)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from wizard.core.steps import STEPS
from wizard.tui.messages import StepSelected

ICONS = {
    "pending": ("○", "dim"),
    "todo": ("▶", "accent"),  # the current step, not passed yet, nobody acted on it: not a failure
    "running": ("◌", "bold yellow"),
    "passed": ("✓", "bold green"),
    "failed": ("✗", "bold red"),
    "not_applicable": ("–", "cyan"),
    "stale": ("!", "bold yellow"),  # passed once, but an earlier step fails again: re-checked, not trusted
}


class RailItem(Static):
    """One step in the rail; click to open it (when reachable)."""

    def __init__(self, index: int) -> None:
        super().__init__(id=f"rail-{STEPS[index].id}", classes="rail-item")
        self.index = index
        self.status = "pending"
        self.reason = ""
        self.current = False

    def set_state(self, status: str, reason: str = "", current: bool = False) -> None:
        self.status, self.reason, self.current = status, reason, current
        self.set_class(current, "-current")
        self.update(self.rail_text())
        self.tooltip = reason or None

    def rail_text(self) -> Text:
        icon, style = ICONS.get(self.status, ICONS["pending"])
        if style == "accent":
            style = f"bold {self.app.get_css_variables().get('accent', 'yellow')}"
        title = STEPS[self.index].title
        text = Text.assemble((f"{icon} ", style), (f"{self.index + 1:>2} {title}", "bold" if self.current else ""))
        if self.status == "stale":
            text.append("\n     re-check", style="yellow")
        if self.status == "not_applicable":
            text.append("\n     n/a", style="cyan")
            if self.reason:
                text.append(f": {self.reason[:40]}", style="cyan italic")
        return text

    def on_click(self) -> None:
        self.post_message(StepSelected(self.index))


class StepRail(Vertical):
    """Every step and its state: pending, to do, running, passed, failed, not applicable (with reason)."""

    def compose(self) -> ComposeResult:
        for i in range(len(STEPS)):
            yield RailItem(i)

    def set_states(self, states: dict[str, tuple[str, str]], current: int) -> None:
        for item in self.query(RailItem):
            status, reason = states.get(STEPS[item.index].id, ("pending", ""))
            item.set_state(status, reason, item.index == current)

    def item(self, step_id: str) -> RailItem:
        return self.query_one(f"#rail-{step_id}", RailItem)
