"""Re-export: the settings type lives on the ground floor (`wizard.clients.settings`), so the clients
need nothing from the core. Kept so `from wizard.core.config import Settings, mask` keeps working."""

from wizard.clients.settings import DEFAULT_WORKOS_BASE_URL, KEYS, Settings, mask

__all__ = ["DEFAULT_WORKOS_BASE_URL", "KEYS", "Settings", "mask"]
