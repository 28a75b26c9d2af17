"""Step 10's jobs: the verification checklist against WorkOS (a real password sign-in, the build),
a single sign-in try, and the one-key recovery fixes for known failures."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from wizard.clients.progress import ProgressCallback
from wizard.clients.settings import Settings
from wizard.core import recovery, verify
from wizard.core.gates import Check, GateResult
from wizard.core.journal import Journal
from wizard.core.recovery import ActionOutcome, Remedy
from wizard.core.verify import BuildOptions
from wizard.tasks import clients

__all__ = ["BuildOptions", "VerificationResult", "apply_fix", "password_samples", "run_verification",
           "try_sign_in"]


@dataclass
class VerificationResult:
    gate: GateResult  # recorded as the verify step's state
    remedies: list[Remedy] = field(default_factory=list)  # known failures and their fixes


def password_samples(journal: Journal, credentials: Iterable[tuple[str, str]], limit: int = 1) -> list[tuple[str, str]]:
    """Of the (email, password) pairs a front end holds (the sandbox's demo accounts), those of
    password users this run imported."""
    return verify.password_samples(journal, credentials, limit)


def run_verification(journal: Journal, settings: Settings, *, on_progress: ProgressCallback | None = None,
                     samples: Iterable[tuple[str, str]] = (), build: BuildOptions | None = None,
                     on_output: Callable[[str], None] | None = None) -> VerificationResult:
    """All six checks, each recorded; then the known failures (recovery) of this run."""
    with clients.workos_sync(settings) as client:
        gate = verify.run_verification(journal, settings, password_sample=list(samples), build=build or BuildOptions(),
                                       on_progress=on_progress, on_output=on_output, client=client)
    return VerificationResult(gate, recovery.diagnose(journal))


def try_sign_in(journal: Journal, settings: Settings, email: str, password: str) -> Check:
    """One real password sign-in through WorkOS (the password is never stored)."""
    with clients.workos_sync(settings) as client:
        return verify.check_password_sign_in(client, email, password, journal=journal)


def apply_fix(journal: Journal, action: str) -> ActionOutcome:
    """A one-key fix from the recovery list (`recovery.ACTIONS`); raises ValueError for an unknown one."""
    return recovery.apply(journal, action)
