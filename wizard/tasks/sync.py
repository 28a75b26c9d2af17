"""The delta-sync job: plan the new Auth0 files against the journal, then apply and send the
difference with the import engine, and leave summary.json / id-map.csv / errors.jsonl behind.

Two calls, so a front end can show the counts and ask before anything is written:
`prepare_sync` (diff + staging, nothing sent, the plan untouched) and `run_sync` (apply, send).
`resume_sync` finishes a sync that was applied but interrupted (a crash, a kill, Ctrl-C).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wizard.core import artifacts, documents
from wizard.core.config import Settings
from wizard.core.journal import Journal
from wizard.core.progress import ProgressCallback
from wizard.core.sync import (
    SyncEngine,
    SyncError,
    SyncPlan,
    apply_sync,
    finish_sync,
    plan_sync,
    report_rows,
    sync_record,
    unfinished_sync,
)
from wizard.tasks import loop

__all__ = ["SyncError", "SyncPlan", "SyncResult", "prepare_sync", "resume_sync", "run_sync"]


@dataclass
class SyncResult:
    sync_id: int
    counts: dict
    summary: dict  # the engine's ImportSummary as a dict (journal totals + this run)
    deleted: int
    paths: artifacts.ArtifactPaths | None

    @property
    def ok(self) -> bool:
        return not self.summary.get("failed") and not self.summary.get("remaining") \
            and not self.summary.get("stopped")


def prepare_sync(journal: Journal, settings: Settings | None = None, *, users: str | Path | None = None,
                 passwords: str | Path | None = None, dry_run: bool = False, delete_removed: bool = False,
                 on_progress: ProgressCallback | None = None) -> SyncPlan:
    """Diff the new files against the journal and stage the difference (raises SyncError)."""
    # harden: call the environment-binding check here once it is merged (the run must talk to the
    # WorkOS environment it imported into) -- wizard.core.<binding>.require_same_environment(journal, settings)
    plan = plan_sync(journal, users, passwords, dry_run=dry_run, delete_removed=delete_removed,
                     on_progress=on_progress)
    if dry_run:
        documents.SYNC_DRY_RUN.write(journal, documents.SyncDryRun(sync_id=plan.sync_id, counts=dict(plan.counts)))
    return plan


def _artifacts(journal: Journal, summary: dict) -> artifacts.ArtifactPaths:
    return artifacts.write_import_artifacts(journal, {**summary, "syncs": report_rows(journal)})


async def _send(journal: Journal, settings: Settings, sync_id: int, *, on_progress, rate, concurrency,
                stop_box: list | None = None, give_up_after: float | None = None):
    from wizard.clients.workos import make_client

    client = make_client(settings, max_retries=0)
    try:
        engine = SyncEngine(journal, client, sync_id=sync_id, rate=rate, concurrency=concurrency,
                            on_progress=on_progress, give_up_after=give_up_after)
        if stop_box is not None:
            stop_box.append(engine)
        summary = await engine.run()
        return summary, engine.deleted
    finally:
        await client.close()


def _finish(journal: Journal, sync_id: int, summary, deleted: int) -> SyncResult:
    data = summary.to_dict()
    data["deleted"] = deleted
    finish_sync(journal, sync_id, data)
    paths = _artifacts(journal, data)
    return SyncResult(sync_id, sync_record(journal, sync_id)["counts"], data, deleted, paths)


async def run_sync_async(journal: Journal, settings: Settings, plan: SyncPlan | None, *,
                         on_progress: ProgressCallback | None = None, rate=None, concurrency: int = 64,
                         stop_box: list | None = None, give_up_after: float | None = None) -> SyncResult:
    """Apply a staged sync (or, with `plan=None`, resume the applied one) and send it."""
    if plan is not None:
        apply_sync(journal, plan)
        sync_id = plan.sync_id
    else:
        pending = unfinished_sync(journal)
        if pending is None:
            raise SyncError("no interrupted sync to resume in this run")
        changed = journal.changed_inputs()
        if changed:
            raise SyncError("refusing to resume the sync: " + " ".join(changed))
        sync_id = pending["id"]
    summary, deleted = await _send(journal, settings, sync_id, on_progress=on_progress, rate=rate,
                                   concurrency=concurrency, stop_box=stop_box, give_up_after=give_up_after)
    return _finish(journal, sync_id, summary, deleted)


def run_sync(journal: Journal, settings: Settings, plan: SyncPlan, *,
             on_progress: ProgressCallback | None = None, rate=None, concurrency: int = 64,
             give_up_after: float | None = None) -> SyncResult:
    return loop.run(run_sync_async(journal, settings, plan, on_progress=on_progress, rate=rate,
                                concurrency=concurrency, give_up_after=give_up_after))


def resume_sync(journal: Journal, settings: Settings, *, on_progress: ProgressCallback | None = None,
                rate=None, concurrency: int = 64, give_up_after: float | None = None) -> SyncResult:
    return loop.run(run_sync_async(journal, settings, None, on_progress=on_progress, rate=rate,
                                concurrency=concurrency, give_up_after=give_up_after))
