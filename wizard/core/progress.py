"""Re-export: the progress event lives on the ground floor (`wizard.clients.progress`), so the clients
need nothing from the core. Kept so `from wizard.core.progress import Progress` keeps working."""

from wizard.clients.progress import Progress, ProgressCallback, frozen_counts, pause_label

__all__ = ["Progress", "ProgressCallback", "frozen_counts", "pause_label"]
