"""The garbage collector while a job's event loop runs (`wizard.tasks.loop`): tuned for the job,
still collecting, and put back only when the last job running ends."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import weakref

from wizard.tasks import loop


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_a_job_runs_with_the_job_thresholds_and_python_s_settings_come_back():
    before, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    seen = {}

    async def job() -> None:
        seen["threshold"] = gc.get_threshold()
        seen["frozen"] = gc.get_freeze_count()
        a, b = _Node(), _Node()
        a.other, b.other = b, a  # a cycle made during the job: only the collector can free it
        gone = weakref.ref(a)
        del a, b
        gc.collect()
        seen["cycle_freed"] = gone() is None

    loop.run(job())
    assert seen["threshold"] == loop.JOB_GC_THRESHOLD
    assert seen["frozen"] > frozen_before  # what existed before the job is out of its passes
    assert seen["cycle_freed"]
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_the_settings_stay_until_the_last_of_two_jobs_running_at_once_ends():
    """Job B starts, job A starts and ends while B runs: B still runs tuned, and Python's settings
    come back when B ends."""
    before = gc.get_threshold()
    a_started, a_ended = threading.Event(), threading.Event()
    seen = {}

    async def job_a() -> None:
        a_started.set()

    async def job_b() -> None:
        await asyncio.to_thread(a_ended.wait, 30)
        seen["after_a_ended"] = gc.get_threshold()

    def run_a() -> None:
        loop.run(job_a())
        a_ended.set()

    b = threading.Thread(target=loop.run, args=(job_b(),))
    b.start()
    deadline = time.monotonic() + 30
    while gc.get_threshold() != loop.JOB_GC_THRESHOLD and time.monotonic() < deadline:
        time.sleep(0.01)  # until B's loop runs
    a = threading.Thread(target=run_a)
    a.start()
    a.join(30)
    b.join(30)
    assert a_started.is_set()
    assert seen["after_a_ended"] == loop.JOB_GC_THRESHOLD
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
