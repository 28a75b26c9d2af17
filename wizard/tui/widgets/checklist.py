"""A gate's checklist: each check's name, evidence and, when it fails, the fix hint."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from wizard.core.gates import GateResult
from wizard.tui.hints import for_screen
from wizard.tui.text import scrub
from wizard.tui.views.base import StepView


def render_checks(result: GateResult | None, settings=None, stable: bool = False, *, tried: bool = True,
                  todo_style: str = "bold yellow") -> Text:
    """`tried`: the person acted on the step; before that an unmet check is "to do" (○), not failed (✗)."""
    if result is None:
        return Text("Not checked yet.", style="dim")
    text = Text()
    for c in result.checks:
        if c.ok:
            text.append("✓ ", style="bold green")
        else:
            text.append("✗ " if tried else "○ ", style="bold red" if tried else todo_style)
        text.append(scrub(c.name, settings, stable=stable), style="bold")
        if c.evidence:
            text.append(f" — {scrub(c.evidence, settings, stable=stable)}")
        text.append("\n")
        if not c.ok and c.fix_hint:
            text.append(f"    fix: {scrub(for_screen(c.fix_hint), settings, stable=stable)}\n", style="yellow")
    if not result.checks and result.reason:
        text.append(scrub(result.reason, settings, stable=stable) + "\n", style="cyan")
    return text


class Checklist(Static, can_focus=True):
    """Renders a GateResult; the TUI never decides anything from it, it only shows it. Focusable, so
    Tab brings a long checklist into view without the mouse."""

    def show(self, result: GateResult | None) -> None:
        view = next(a for a in self.ancestors if isinstance(a, StepView))
        wizard = view.wizard
        accent = wizard.get_css_variables().get("accent", "yellow")
        self.update(render_checks(result, wizard.settings, stable=wizard.is_headless,
                                  tried=view.step_id in wizard.attempted, todo_style=f"bold {accent}"))
        # Static.update keeps the cached auto height when it lands before the widget is mounted
        # or mid-layout; a longer checklist then showed clipped to its first line.
        self.clear_cached_dimensions()
        self.refresh(layout=True)
