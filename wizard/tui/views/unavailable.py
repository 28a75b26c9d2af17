"""What a step shows when the core module it needs is not in this build."""

from __future__ import annotations

from textual.widgets import Static

from wizard.core.steps import NotAvailable, core


def core_or_none(module: str, name: str):
    try:
        return core(module, name)
    except NotAvailable:
        return None


def unavailable_notice(what: str) -> Static:
    return Static(f"[b yellow]{what} is not available in this build.[/]", classes="unavailable")
