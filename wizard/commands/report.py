"""`auth0-workos report`: write report.md and report.json into the run folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wizard.core.journal import JOURNAL_NAME, Journal


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("report", help="write report.md and report.json for a run",
                       description="Write the migration report (no secrets, no hashes) into the run folder.")
    p.add_argument("--run-dir", default=argparse.SUPPRESS, help="the run folder to report on")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from wizard.tasks.report import run_report

    run_dir = getattr(args, "run_dir", None)
    if not run_dir:
        print("auth0-workos report: give --run-dir DIR", file=sys.stderr)
        return 2
    if not (Path(run_dir) / JOURNAL_NAME).is_file():
        print(f"auth0-workos report: {run_dir} has no {JOURNAL_NAME}: not a run folder", file=sys.stderr)
        return 2
    with Journal.open(run_dir) as journal:
        written = run_report(journal)
    md, js, failed = written.markdown, written.json, written.failed_checks
    print(f"Wrote {md}\nWrote {js}")
    if failed:
        print(f"Note: {len(failed)} verification check(s) failed: {', '.join(failed)}")
    return 0
