"""Live progress of one long operation: overall bar, one bar per status, rate, ETA, 429 pause."""

from __future__ import annotations

import time

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, ProgressBar, Static

from wizard.core.progress import Progress, pause_label

STATUSES = ("created", "updated", "skipped", "failed")
DRY_RUN_ALIASES = {"created": "would_create", "updated": "would_update", "failed": "would_fail"}


class ProgressPanel(Vertical):
    """Shows the newest Progress event; `statuses` are the per-status bars to draw."""

    def __init__(self, statuses: tuple[str, ...] = STATUSES, **kwargs) -> None:
        super().__init__(**kwargs)
        self.statuses = statuses
        self.last: Progress | None = None
        self._line_breaks = 0

    def compose(self) -> ComposeResult:
        with Horizontal(classes="bar-row"):
            yield Label("overall  ", classes="bar-label")
            yield ProgressBar(id="bar-overall", show_eta=False)
        for s in self.statuses:
            with Horizontal(classes="bar-row"):
                yield Label(f"{s:<9}", classes="bar-label")
                yield ProgressBar(id=f"bar-{s}", show_eta=False, show_percentage=False)
                yield Label("0", id=f"count-{s}", classes="bar-count")
        yield Static("", id="progress-line")

    def show(self, p: Progress) -> None:
        self.last = p
        total = p.total if p.total else None
        self.query_one("#bar-overall", ProgressBar).update(total=total, progress=p.completed)
        for s in self.statuses:
            n = int(p.counts.get(s, 0) or p.counts.get(DRY_RUN_ALIASES.get(s, ""), 0))
            self.query_one(f"#bar-{s}", ProgressBar).update(total=total or max(n, 1), progress=n)
            self.query_one(f"#count-{s}", Label).update(str(n), layout=False)  # its width is fixed
        line = self.describe(p)
        # a new layout only when the line's height changes: reflowing the screen is the costly part
        self.query_one("#progress-line", Static).update(line, layout=line.count("\n") != self._line_breaks)
        self._line_breaks = line.count("\n")

    @staticmethod
    def describe(p: Progress) -> str:
        total = "?" if p.total is None else str(p.total)
        if p.done:
            line = f"{p.operation}: finished, {p.completed}/{total}"
        else:
            line = f"{p.operation}: {p.completed}/{total}  {p.rate:.1f}/s"
            if p.eta_seconds is not None:
                line += f"  ETA {int(p.eta_seconds // 60)}m{int(p.eta_seconds % 60):02d}s"
            if p.paused_until and p.paused_until > time.time():
                line += f"\n[b yellow]⏸ {escape(pause_label(p))}: paused {p.paused_until - time.time():.0f}s[/]"
        if p.latest_error:
            line += f"\n[red]latest error: {p.latest_error[:120]}[/]"
        return line
