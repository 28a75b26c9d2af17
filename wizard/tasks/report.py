"""Step 10's last job: `report.md` and `report.json` in the run folder (no secrets, no hashes)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wizard.core import report
from wizard.core.journal import Journal


@dataclass
class ReportResult:
    markdown: Path
    json: Path
    failed_checks: list[str]  # verification checks recorded as failed


def run_report(journal: Journal) -> ReportResult:
    md, js = report.write_report(journal)
    failed = [v["name"] for v in journal.verifications() if not v["ok"]]
    return ReportResult(md, js, failed)
