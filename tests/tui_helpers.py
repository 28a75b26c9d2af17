"""Pilot helpers for the TUI tests (the same ones the screenshot script uses)."""

from demo_walk import click, find, next_step, screen_text, settle, type_into

from wizard.core import steps
from wizard.core.journal import Journal


def gate(app, step_id: str):
    return app.results.get(step_id)


__all__ = ["click", "find", "gate", "next_step", "screen_text", "settle", "start_at", "type_into"]


def start_at(run_dir, step_id: str) -> None:
    """A run whose earlier steps passed (as a resumed run would be)."""
    with Journal.open(run_dir) as j:
        for s in steps.STEPS[: steps.STEP_IDS.index(step_id)]:
            j.set_step(s.id, "passed", "", {})
        steps.remember_current(j, step_id)
