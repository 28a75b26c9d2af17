"""Findings: a summary by (severity, code) and a drill-down table of every line (file:line, field)."""

from __future__ import annotations

from textual.widgets import DataTable

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

    def load(self, findings: list[Finding]) -> None:
        self.clear()
        for i, f in enumerate(findings):
            name = display_path(f.file).rsplit("/", 1)[-1]
            where = name if f.line is None else f"{name}:{f.line}"
            if f.field:
                where += f" {f.field}"
            self.add_row(where, f.code, f.message, f.severity.value, key=str(i))
