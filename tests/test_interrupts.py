"""Ctrl-C and SIGTERM are never lost. A KeyboardInterrupt raised inside a finaliser or a weakref
callback is swallowed by Python ("Exception ignored"), so a stop that happens to land there used to
let the import run to the end (it did so once in CI). Here the signal is raised from exactly such a
place, every time: the real import task on the WorkOS emulator, the real journal."""

from __future__ import annotations

import asyncio
import gc
import signal

import pytest

from wizard.core.journal import Journal
from wizard.core.records import UserStatus
from wizard.sandbox.faults import Faults
from wizard.tasks import check as check_task
from wizard.tasks import import_ as import_task
from wizard.tasks import loop


@pytest.fixture(params=["ctrl_c", "sigterm_in_a_background_job"])
def stop_signal(request):
    """The stop under test, with the signal dispositions set here rather than inherited (a CI
    runner may start the tests in the background, with SIGINT ignored): Ctrl-C in a terminal, or
    SIGTERM to a background job whose SIGINT is ignored."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if request.param == "ctrl_c":
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sig = signal.SIGINT
    else:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        sig = signal.SIGTERM
    yield sig
    for s, handler in saved.items():
        signal.signal(s, handler)


class _SignalOnCollect:
    """Raises `sig` from `__del__`, where an exception cannot get out."""

    def __init__(self, sig: signal.Signals) -> None:
        self.sig = sig

    def __del__(self) -> None:
        signal.raise_signal(self.sig)


def _stop_from_a_finaliser(sig: signal.Signals) -> None:
    obj = _SignalOnCollect(sig)
    del obj
    gc.collect()


def test_a_stop_inside_a_finaliser_still_cancels_the_loop(stop_signal):
    unwound = []

    async def job() -> str:
        try:
            _stop_from_a_finaliser(stop_signal)
            await asyncio.sleep(30)
            return "ran to the end"
        finally:
            unwound.append(True)

    with pytest.raises(KeyboardInterrupt):
        loop.run(job())
    assert unwound == [True]
    before = signal.default_int_handler if stop_signal == signal.SIGINT else signal.SIG_DFL
    assert signal.getsignal(stop_signal) is before  # put back


def test_a_second_stop_raises_at_once(stop_signal):
    async def stubborn() -> None:
        _stop_from_a_finaliser(stop_signal)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            signal.raise_signal(stop_signal)  # still running after the first one: the second raises
            raise AssertionError("not reached") from None

    with pytest.raises(KeyboardInterrupt):
        loop.run(stubborn())


def test_an_import_stopped_from_a_finaliser_ends_interrupted_and_resumes(stop_signal, tmp_path, sandbox_settings,
                                                                        demo_exports, workos_emu):
    def on_progress(event) -> None:
        if journal.count_users().get("created", 0) >= 3 and not fired:
            fired.append(True)
            _stop_from_a_finaliser(stop_signal)

    fired: list[bool] = []
    workos_emu.emulator.set_faults(Faults(latency_ms=100))  # one user at a time, ten a second
    with Journal.open(tmp_path / "run") as journal:
        check_task.run_check(journal, demo_exports.users_path, demo_exports.passwords_path)
        total = import_task.users_to_send(journal)
        result = import_task.ImportRun(journal, sandbox_settings, concurrency=1,
                                       on_progress=on_progress).run()
        assert fired and result.interrupted
        assert result.summary.stop_reason == "interrupted" and result.summary.remaining > 0
        workos_emu.emulator.set_faults(Faults())
        again = import_task.run_import(journal, sandbox_settings)
        assert again.summary.remaining == 0 and not again.interrupted
        sent = [u for u in journal.users() if u.status != UserStatus.SKIPPED]
    ext = [u["external_id"] for u in workos_emu.emulator.users.values()]
    assert len(ext) == len(set(ext)) == len(sent) and total == len(sent)
