"""Findings: a summary by (severity, code) and a drill-down table of every line (file:line, field)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable, Static

from wizard.core.findings import Finding
from wizard.tui.text import display_path


class FindingSummary(DataTable):
    """One row per (severity, code) with its count; selecting a row filters the drill-down."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns("severity", "code", "count")

    def load(self, counts: dict[tuple[str, str], int]) -> None:
        self.clear()
        order = {"error": 0, "warning": 1, "info": 2}
        for (sev, code), n in sorted(counts.items(), key=lambda kv: (order.get(kv[0][0], 3), kv[0][1])):
            self.add_row(sev, code, str(n), key=f"{sev}|{code}")


class FindingsTable(DataTable):
    """Every finding with file, line, field and the plain message."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns("where", "code", "message", "severity")

    findings: list[Finding]

    def load(self, findings: list[Finding]) -> None:
        self.clear()
        self.findings = list(findings)
        for i, f in enumerate(findings):
            self.add_row(where(f), f.code, f.message, f.severity.value, key=str(i))

    def finding(self, key: str | None) -> Finding | None:
        try:
            return self.findings[int(key or "")]
        except (AttributeError, ValueError, IndexError):
            return None


def where(f: Finding) -> str:
    """file:line field, the file by its name only."""
    name = display_path(f.file).rsplit("/", 1)[-1]
    out = name if f.line is None else f"{name}:{f.line}"
    return f"{out} {f.field}" if f.field else out


class FindingDetail(Static):
    """The highlighted finding in full, wrapped: the table cuts long messages, this never does."""

    def show(self, f: Finding | None) -> None:
        if f is None:
            self.update("[dim]Highlight a finding (↑/↓ in the table) to read it in full here.[/]")
            return
        text = Text()
        text.append(f"{f.severity.value} {f.code}", style="bold")
        text.append(f" at {where(f)}\n")
        text.append(f.message)
        self.update(text)
