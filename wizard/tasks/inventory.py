"""Step 3's job: the Auth0 inventory, from the Management API (credentials set) and/or the users
export; saved as the journal's `inventory` document and `inventory.json`, step state recorded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wizard.clients.auth0 import WaitCallback
from wizard.clients.progress import ProgressCallback
from wizard.clients.settings import Settings
from wizard.core import inventory, steps
from wizard.core.gates import GateResult
from wizard.core.inventory import Inventory
from wizard.core.journal import Journal
from wizard.tasks import clients


@dataclass
class InventoryResult:
    inventory: Inventory
    path: Path  # inventory.json in the run folder
    gate: GateResult
    used_api: bool
    scope_warning: str | None = None  # the Auth0 token lacks scopes some steps need


def run_inventory(journal: Journal, settings: Settings, *, on_progress: ProgressCallback | None = None,
                  users_path: str | Path | None = None, use_api: bool = True, scan_mfa: str = "all",
                  on_wait: WaitCallback | None = None, max_per_second: float | None = clients.DEFAULT_AUTH0_RATE,
                  check_scopes: bool = False,
        on_scope_warning: Callable[[str], None] | None = None) -> InventoryResult:
    """Build and save the inventory; the Management API is used when credentials are set and
    `use_api`. Raises `ClientSetupError` (credentials refused, with `check_scopes`) or `ApiError`."""
    users = Path(users_path) if users_path else None
    with clients.optional_auth0(settings, use_api=use_api, on_wait=on_wait, max_per_second=max_per_second,
                                check_scopes=check_scopes,
            on_scope_warning=on_scope_warning) as session:
        inv = inventory.build_inventory(session.client if session else None, users, on_progress,
                                        journal=journal, scan_mfa=scan_mfa)
    path = inventory.save_inventory(journal, inv)
    gate = steps.check_step(steps.step_by_id("inventory"), journal, settings)
    return InventoryResult(inv, path, gate, session is not None, session.scope_warning if session else None)
