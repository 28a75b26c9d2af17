"""Pure migration logic: no Textual import anywhere under this package."""
