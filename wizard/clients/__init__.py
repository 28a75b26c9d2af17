"""Thin adapters over the official SDKs (workos, auth0-python)."""
