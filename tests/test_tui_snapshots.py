"""Snapshots of every step (pytest-textual-snapshot), from one real demo walk.

One module fixture walks the sandbox demo through the wizard once and keeps a copy of the run
folder as it stood at the end of each step. Each test resumes its copy at that step and compares
the screen. Deterministic: seed-7 demo tenant, 100x34, paths relative, ports hidden, no blink.
Regenerate with `pytest tests/test_tui_snapshots.py --snapshot-update` after looking at the SVGs.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from demo_walk import settle, walk_demo
from textual.widgets import DataTable

from wizard.core.config import Settings
from wizard.core.steps import STEP_IDS
from wizard.tui.app import WizardApp

SIZE = (100, 34)
pytestmark = pytest.mark.timeout(120)


def copy_run(src: Path, dest: Path) -> None:
    """A consistent copy of a live run folder (SQLite's backup API for the journal)."""
    dest.mkdir(parents=True)
    for item in src.iterdir():
        if item.name.startswith("journal.sqlite"):
            continue
        if item.is_file():
            shutil.copy2(item, dest / item.name)
        else:
            shutil.copytree(item, dest / item.name)
    with sqlite3.connect(src / "journal.sqlite") as a, sqlite3.connect(dest / "journal.sqlite") as b:
        a.backup(b)


@pytest.fixture(scope="module")
def demo_steps(tmp_path_factory):
    from wizard.sandbox.server import Sandbox

    base = tmp_path_factory.mktemp("snapshots")
    cwd = Path.cwd()
    os.chdir(base)
    sandbox = Sandbox.start(base / "sandbox")
    try:
        settings = Settings.load(env_file=None, environ=sandbox.env)
        creds = list(sandbox.tenant.credentials)

        async def walk() -> None:
            app = WizardApp(base / "run", settings, demo_exports=sandbox.exports, demo_credentials=creds)
            async with app.run_test(size=SIZE) as pilot:
                async def keep(step_id: str) -> None:
                    copy_run(base / "run", base / "steps" / step_id)

                await walk_demo(pilot, keep)

        asyncio.run(walk())
        yield base, settings, sandbox.exports, creds
    finally:
        sandbox.stop()
        os.chdir(cwd)


@pytest.mark.parametrize("step_id", STEP_IDS)
def test_step_snapshot(step_id, demo_steps, snap_compare, monkeypatch):
    base, settings, exports, creds = demo_steps
    monkeypatch.chdir(base)
    run = base / "steps" / step_id
    assert (run / "journal.sqlite").is_file(), f"the demo walk kept no run folder for {step_id}"
    app = WizardApp(Path("steps") / step_id, settings, demo_exports=exports, demo_credentials=creds)
    assert snap_compare(app, terminal_size=SIZE, run_before=at_rest)


async def at_rest(pilot) -> None:
    """Workers done, focus off the fields, scrolled to the top: the same picture every time.

    The capture waits for a settled screen, not for a fixed time: on a busy machine a table can
    size itself, or a late layout can move the scroll position, after a first `scroll_home`. So
    tables are waited for, then scrolling home is repeated until one more layout pass changes
    neither a scroll offset nor the view's size."""
    await settle(pilot)
    pilot.app.set_focus(None)
    view = pilot.app.current_view
    tables = list(view.query(DataTable))
    for _ in range(200):  # tables size themselves on idle: wait until they have
        if not any(t._require_update_dimensions for t in tables):
            break
        await pilot.pause(0.02)
    for table in tables:
        table._clear_caches()  # redraw from the settled column widths
        table.refresh(layout=True)
    for widget in view.query("*"):  # auto heights from the final content, not a cached earlier one
        widget.clear_cached_dimensions()
        widget.refresh(layout=True)
    await pilot.pause(0.1)
    await pilot.wait_for_scheduled_animations()
    stable = 0
    for _ in range(200):
        before = _scroll_state(view)
        for widget in (view, *view.query("*")):
            if widget.scroll_offset != (0, 0):
                widget.scroll_home(animate=False, immediate=True)
        await pilot.pause(0.02)
        await pilot.wait_for_scheduled_animations()
        after = _scroll_state(view)
        stable = stable + 1 if before == after and not any(any(o) for o in after[1]) else 0
        if stable >= 3:  # three quiet passes in a row: nothing is still moving
            break
    else:
        raise AssertionError(f"the screen never settled: {after}")
    await pilot.pause()


def _scroll_state(view) -> tuple:
    """The view's size and every scroll offset under it: equal twice means the layout is at rest."""
    widgets = (view, *view.query("*"))
    return (tuple(view.virtual_size), tuple(tuple(w.scroll_offset) for w in widgets),
            tuple(tuple(t.virtual_size) for t in widgets if isinstance(t, DataTable)))
