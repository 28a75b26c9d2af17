"""Pilot helpers for the TUI tests (the same ones the screenshot script uses)."""

from wizard.tui.demo_walk import click, find, next_step, screen_text, settle, type_into


def gate(app, step_id: str):
    return app.results.get(step_id)


__all__ = ["click", "find", "gate", "next_step", "screen_text", "settle", "type_into"]
