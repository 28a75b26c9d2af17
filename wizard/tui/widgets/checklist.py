"""A gate's checklist: each check's name, evidence and, when it fails, the fix hint."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from wizard.core.gates import GateResult
from wizard.tui.text import scrub


def render_checks(result: GateResult | None, settings=None, stable: bool = False) -> Text:
    if result is None:
        return Text("Not checked yet.", style="dim")
    text = Text()
    for c in result.checks:
        text.append("✓ " if c.ok else "✗ ", style="bold green" if c.ok else "bold red")
        text.append(scrub(c.name, settings, stable=stable), style="bold")
        if c.evidence:
            text.append(f" — {scrub(c.evidence, settings, stable=stable)}")
        text.append("\n")
        if not c.ok and c.fix_hint:
            text.append(f"    fix: {scrub(c.fix_hint, settings, stable=stable)}\n", style="yellow")
    if not result.checks and result.reason:
        text.append(scrub(result.reason, settings, stable=stable) + "\n", style="cyan")
    return text


class Checklist(Static):
    """Renders a GateResult; the TUI never decides anything from it, it only shows it."""

    def show(self, result: GateResult | None) -> None:
        self.update(render_checks(result, getattr(self.app, "settings", None), stable=self.app.is_headless))
