"""Step 6's jobs: the dry run, the import, the resume and the retry of failed users.

`ImportRun` is the long async work: it opens the async WorkOS client, runs the importer, closes the
client and writes the run-folder files (`summary.json`, `id-map.csv`, `errors.jsonl`,
`retry-users.ndjson`, or the dry run's summary). An interrupted run (Ctrl-C, Cancel) still ends with
the importer's own summary and its files; in-flight users are reconciled on the next run.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from pathlib import Path

from wizard.clients.progress import ProgressCallback
from wizard.clients.settings import Settings
from wizard.core import artifacts
from wizard.core.artifacts import ArtifactPaths
from wizard.core.importer import Importer, ImportSummary, users_to_send
from wizard.core.journal import Journal
from wizard.core.pacing import Budget
from wizard.tasks import clients, loop

CONFIRM_WORD = "import"

__all__ = ["CONFIRM_WORD", "ImportResult", "ImportRun", "ResumeCheck", "check_resumable", "confirmation_accepted",
           "retry_failed", "run_import", "users_to_send"]


def confirmation_accepted(typed: str, to_send: int) -> bool:
    """The typed confirmation of the real import, normalised once for every front end: the number of
    users to send (thousands separators allowed) or the word "import", any case, spaces trimmed."""
    answer = (typed or "").strip().lower().replace(",", "").replace("_", "")
    return answer == CONFIRM_WORD or (answer.isdigit() and int(answer) == to_send)


@dataclass
class ImportResult:
    """What one dry run or import did, and where its files are."""

    summary: ImportSummary
    paths: ArtifactPaths | None = None  # the real import's four files
    dry_run_path: Path | None = None  # the dry run's summary file
    interrupted: bool = False  # cut short from outside (Ctrl-C, Cancel)


@dataclass(frozen=True)
class ResumeCheck:
    """Whether the journal's plan can be resumed: `problems` empty means yes."""

    problems: tuple[str, ...]
    has_plan: bool

    @property
    def ok(self) -> bool:
        return self.has_plan and not self.problems


def check_resumable(journal: Journal) -> ResumeCheck:
    """A resume uses the plan and input files recorded in the run folder, unchanged."""
    return ResumeCheck(tuple(journal.changed_inputs()), bool(journal.count_users()))


def retry_failed(journal: Journal) -> int:
    """Put the failed users back to planned; the next import sends them again. Returns how many."""
    return journal.reset_failed()


class ImportRun:
    """One dry run or real import of the journal's plan. `run()` blocks on its own event loop (call
    it from a worker thread or a command); `stop()` (start no new users) and `cancel()` (cancel the
    run) are safe from any thread."""

    def __init__(self, journal: Journal, settings: Settings, *, dry_run: bool = False,
                 on_progress: ProgressCallback | None = None, rate: Budget | str | float | None = None,
                 concurrency: int = 64, give_up_after: float | None = None) -> None:
        self.journal = journal
        self.settings = settings
        self.dry_run = dry_run
        self.on_progress = on_progress
        self.rate = rate
        self.concurrency = concurrency
        self.give_up_after = give_up_after
        self.importer: Importer | None = None
        self._stop_requested = False
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._cancelled = False

    # ------------------------------------------------------------------ control
    def stop(self) -> None:
        """Finish the users in the air, start no new ones (they stay planned for a resume)."""
        self._stop_requested = True
        if self.importer is not None:
            self.importer.stop()

    def cancel(self) -> bool:
        """Cancel the run; in-flight users stay `in_flight` and are reconciled by lookup next time.
        False when nothing is running."""
        with self._lock:
            self._cancelled = True
            running, task = self._loop, self._task
        if running is None or task is None:
            return False
        running.call_soon_threadsafe(task.cancel)
        return True

    # ------------------------------------------------------------------ running
    async def _main(self) -> ImportSummary:
        with self._lock:
            self._loop, self._task = asyncio.get_running_loop(), asyncio.current_task()
            cancelled = self._cancelled
        if cancelled:
            raise asyncio.CancelledError()
        async with clients.workos_async(self.settings) as client:
            self.importer = Importer(self.journal, client, rate=self.rate, concurrency=self.concurrency,
                                     dry_run=self.dry_run, on_progress=self.on_progress,
                                     give_up_after=self.give_up_after)
            if self._stop_requested:
                self.importer.stop()
            return await self.importer.run()

    def _interrupted(self) -> ImportSummary:
        importer = self.importer or Importer(self.journal, None, dry_run=self.dry_run, on_progress=self.on_progress)
        return importer.interrupted()

    def _finish(self, summary: ImportSummary, interrupted: bool) -> ImportResult:
        with self._lock:
            self._loop = self._task = None
        if self.dry_run:
            return ImportResult(summary, dry_run_path=artifacts.write_dry_run_artifacts(self.journal, summary),
                                interrupted=interrupted)
        return ImportResult(summary, paths=artifacts.write_import_artifacts(self.journal, summary),
                            interrupted=interrupted)

    def run(self) -> ImportResult:
        """Run to the end (or the interruption) on a new event loop, then write the run-folder files.
        Ctrl-C / SIGTERM cancel the run the same way `cancel` does (see `tasks.loop`)."""
        try:
            summary, interrupted = loop.run(self._main()), False
        except (KeyboardInterrupt, asyncio.CancelledError):  # the loop has unwound: the client is closed
            summary, interrupted = self._interrupted(), True
        return self._finish(summary, interrupted)


def run_import(journal: Journal, settings: Settings, *, on_progress: ProgressCallback | None = None,
               dry_run: bool = False, rate: Budget | str | float | None = None,
               concurrency: int = 64, give_up_after: float | None = None) -> ImportResult:
    """A dry run or the real import, start to end (see `ImportRun` for pause and cancel)."""
    return ImportRun(journal, settings, dry_run=dry_run, on_progress=on_progress, rate=rate,
                     concurrency=concurrency, give_up_after=give_up_after).run()
