"""Terminal rendering of `Progress` events for headless commands: a rich progress bar on a terminal,
plain timestamped lines otherwise (CI logs, pipes). Generic over any operation.

    with ProgressPrinter() as show:
        await Importer(..., on_progress=show).run()
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from wizard.core.progress import Progress, pause_label

_ORDER = ("created", "updated", "would_create", "would_update", "deleted", "already_gone", "done",
          "skipped", "failed", "would_fail", "in_flight", "pending", "planned")


def format_counts(counts) -> str:
    keys = [k for k in _ORDER if counts.get(k)] + sorted(k for k in counts if k not in _ORDER and counts[k])
    return ", ".join(f"{k.replace('_', ' ')} {counts[k]:,}" for k in keys)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


def pause_text(p: Progress, now: float | None = None) -> str:
    if p.paused_until is None:
        return ""
    left = max(0.0, p.paused_until - (now or time.time()))
    return f"paused {left:.0f}s ({pause_label(p)})"


def format_line(p: Progress) -> str:
    """One plain line: `import 120/1,000 (12%) | created 100, failed 2 | 47.5/s | ETA 18s`."""
    if p.total:
        head = f"{p.operation} {p.completed:,}/{p.total:,} ({100 * p.completed / p.total:.0f}%)"
    else:
        head = f"{p.operation} {p.completed:,}"
    bits = [head]
    if p.counts:
        bits.append(format_counts(p.counts))
    bits.append(f"{p.rate:.1f}/s")
    if not p.done:
        bits.append(f"ETA {format_duration(p.eta_seconds)}")
    if (pt := pause_text(p)):
        bits.append(pt)
    if p.done:
        bits.append("done")
    return " | ".join(bits)


class ProgressPrinter:
    """Callable sink for Progress events. `tty=None` decides from the stream."""

    def __init__(self, stream: TextIO | None = None, *, tty: bool | None = None,
                 plain_interval: float = 2.0) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.plain_interval = plain_interval
        self._last_plain = 0.0
        self._last: Progress | None = None
        self._last_error_shown: str | None = None
        self._rich = None
        self._task = None

    # -- context manager
    def __enter__(self) -> ProgressPrinter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()
            self._rich = None
        elif self._last is not None and not self._last.done:
            self._plain(self._last, force=True)

    def __call__(self, p: Progress) -> None:
        self._last = p
        if self.tty:
            self._bar(p)
        else:
            self._plain(p, force=p.done)

    # -- plain lines
    def _plain(self, p: Progress, force: bool = False) -> None:
        now = time.monotonic()
        if p.latest_error and p.latest_error != self._last_error_shown:
            self._last_error_shown = p.latest_error
            print(f"  ! {p.latest_error}", file=self.stream, flush=True)
        if not force and now - self._last_plain < self.plain_interval:
            return
        self._last_plain = now
        print(format_line(p), file=self.stream, flush=True)

    # -- rich bar
    def _bar(self, p: Progress) -> None:
        from rich.console import Console
        from rich.markup import escape
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        if self._rich is None:
            self._rich = RichProgress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"), TextColumn("ETA {task.fields[eta]}"),
                TimeElapsedColumn(), TextColumn("{task.fields[extra]}"),
                console=Console(file=self.stream), transient=False, refresh_per_second=8)
            self._rich.start()
            self._task = self._rich.add_task(p.operation, total=p.total, rate="", eta="", extra="")
        extra = format_counts(p.counts)
        if (pt := pause_text(p)):
            extra = f"[yellow]{pt}[/] {extra}"
        if p.latest_error and p.latest_error != self._last_error_shown:
            self._last_error_shown = p.latest_error
            self._rich.console.print("[red]![/] " + escape(p.latest_error), highlight=False)
        self._rich.update(self._task, description=p.operation, total=p.total, completed=p.completed,
                          rate=f"{p.rate:.1f}/s",
                          eta=format_duration(p.eta_seconds) if not p.done else "0s", extra=extra)
        if p.done:
            self._rich.refresh()
