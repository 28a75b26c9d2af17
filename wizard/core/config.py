"""Re-export: the settings type lives on the ground floor (`wizard.clients.settings`), so the clients
need nothing from the core. Kept so `from wizard.core.config import Settings, mask` keeps working,
and so the front ends reach the one key rule and the key-file check without importing a client."""

from wizard.clients.settings import (
    DEFAULT_WORKOS_BASE_URL,
    KEYS,
    Settings,
    env_file_exposure,
    mask,
    workos_key_problem,
)

__all__ = ["DEFAULT_WORKOS_BASE_URL", "KEYS", "Settings", "env_file_exposure", "mask", "workos_key_problem"]
