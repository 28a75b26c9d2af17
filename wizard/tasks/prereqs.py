"""Step 2's job: the prerequisites with the live key check (one cheap read through the SDK),
recorded as the step's state."""

from __future__ import annotations

from wizard.clients.settings import Settings
from wizard.core import prereqs, steps
from wizard.core.gates import Check, GateResult
from wizard.core.journal import Journal
from wizard.tasks import clients


def live_key_check(settings: Settings) -> Check:
    """WorkOS accepts the key: the task opens (and closes) the client the check reads with."""
    if not settings.workos_api_key:
        return prereqs.live_key_check(settings)
    with clients.workos_sync(settings) as client:
        return prereqs.live_key_check(settings, client=client)


def run_prerequisites(journal: Journal, settings: Settings) -> GateResult:
    """Evaluate and record step 2's gate (the checks, the live read included)."""
    return steps.check_step(steps.step_by_id("prereqs"), journal, settings)
