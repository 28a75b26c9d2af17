"""Checking a step's gate from a front end: the one place a gate that reads WorkOS (the
prerequisites' live key check) gets its client. The core's gates build no client; this opens one
for the gates that need it (`Step.reads_workos`), hands it in and closes it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from wizard.clients.settings import Settings
from wizard.core import steps
from wizard.core.gates import GateResult
from wizard.core.journal import Journal
from wizard.tasks import clients


@contextlib.contextmanager
def _workos_for(step: steps.Step, settings: Settings) -> Iterator[object | None]:
    if not step.reads_workos or not settings.workos_api_key:
        yield None
        return
    try:
        opened = clients.workos_sync(settings)
        client = opened.__enter__()
    except Exception:  # noqa: BLE001 - a client that cannot be built: the gate says "not checked"
        yield None
        return
    try:
        yield client
    finally:
        opened.__exit__(None, None, None)


def evaluate_step(step: steps.Step, journal: Journal, settings: Settings) -> GateResult:
    """`steps.evaluate` with the WorkOS client the gate reads through, if it reads WorkOS."""
    with _workos_for(step, settings) as workos:
        return steps.evaluate(step, journal, settings, workos=workos)


def check_step(step: steps.Step, journal: Journal, settings: Settings) -> GateResult:
    """`steps.check_step` (evaluate and record) with the client the gate reads through."""
    with _workos_for(step, settings) as workos:
        return steps.check_step(step, journal, settings, workos=workos)
