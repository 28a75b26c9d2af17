"""Key-press-to-screen latency of the full-screen wizard while a big sandbox import runs.

    python bench/tui_latency.py [--users 20000] [--seconds 30] [--latency-ms 0]

Drives the real app with a Textual Pilot, as `auth0-workos --sandbox --users N` would be driven by a
person: verify the demo exports, open the import, dry run, type the confirmation, start the import.
While the import runs, it presses Tab / Shift+Tab (each moves the focus ring, so the screen must be
redrawn) every 100 ms. Each key is sent the way the terminal driver sends one (`driver.send_message`
from outside the app's task) and timed until the focus has moved and the screen has been refreshed
after it (`wait_for_refresh`). Not `Pilot.pause()`: that waits until the whole process's CPU time
stops advancing, which never happens while the import and the emulators work in their threads, so
it measures the import, not the screen (about 1 s per press whatever the app does). It prints the
median, p95 and worst of those times, how many users were imported meanwhile, then cancels the
import. The emulators run in this process, as with `--sandbox` (they share the interpreter and its
GIL with the app: the least favourable case). Aim: p95 under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


async def key_to_screen_ms(app, key: str) -> float:
    """One key, sent as the terminal driver sends it, until the focus moved and the screen redrew."""
    from textual import events

    before = app.focused
    event = events.Key(key, None)
    event.set_sender(app)
    t0 = time.perf_counter()
    app._driver.send_message(event)
    while app.focused is before:
        await asyncio.sleep(0.002)
    await app.screen.wait_for_refresh()
    return (time.perf_counter() - t0) * 1000


async def drive(users: int, seconds: float, latency_ms: float) -> dict:
    from tui_helpers import click, settle, start_at, type_into

    from wizard.core.config import Settings
    from wizard.sandbox.faults import Faults
    from wizard.sandbox.server import Sandbox
    from wizard.tui.app import WizardApp

    with tempfile.TemporaryDirectory(prefix="tui-latency-") as tmp:
        base = Path(tmp)
        os.chdir(base)
        started = time.monotonic()
        sandbox = Sandbox.start(base / "sandbox", users=users,
                                faults=Faults(latency_ms=latency_ms) if latency_ms else None)
        print(f"sandbox with {len(sandbox.tenant.users):,} users ready in {time.monotonic() - started:.1f}s",
              flush=True)
        try:
            settings = Settings.load(env_file=None, environ=sandbox.env)
            start_at(base / "run", "export")
            app = WizardApp(base / "run", settings, sandbox=sandbox, demo_exports=sandbox.exports,
                            demo_credentials=list(sandbox.tenant.credentials))
            async with app.run_test(size=(120, 40)) as pilot:
                await settle(pilot)
                t = time.monotonic()
                await click(pilot, "#export-verify")
                await settle(pilot, timeout=600)
                print(f"export check: {time.monotonic() - t:.1f}s", flush=True)
                app.set_focus(None)
                for _ in range(2):  # mapping, then import
                    await pilot.press("n")
                    await settle(pilot, timeout=600)
                assert app.current_step.id == "import", app.current_step.id
                t = time.monotonic()
                await click(pilot, "#import-dry")
                await settle(pilot, timeout=1200)
                print(f"dry run: {time.monotonic() - t:.1f}s", flush=True)
                await type_into(pilot, "#import-confirm", "import")
                await pilot.press("enter")
                await pilot.pause(1.0)  # the import is under way
                view = app.current_view
                timings: list[float] = []
                keys = ("tab", "shift+tab")
                end = time.monotonic() + seconds
                while time.monotonic() < end and view.importer is not None:
                    timings.append(await key_to_screen_ms(app, keys[len(timings) % 2]))
                    await asyncio.sleep(0.1)
                done = app.journal.count_users("status")
                await click(pilot, "#import-cancel")
                await settle(pilot, timeout=120)
        finally:
            sandbox.stop()
            os.chdir(ROOT)
    timings.sort()
    return {
        "presses": len(timings),
        "median_ms": statistics.median(timings) if timings else float("nan"),
        "p95_ms": timings[max(0, int(len(timings) * 0.95) - 1)] if timings else float("nan"),
        "max_ms": timings[-1] if timings else float("nan"),
        "imported": done.get("created", 0) + done.get("updated", 0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to measure during the import")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="WorkOS emulator latency")
    args = parser.parse_args()
    r = asyncio.run(drive(args.users, args.seconds, args.latency_ms))
    print(f"key-press-to-screen while importing ({r['presses']} presses, {r['imported']:,} users imported "
          f"meanwhile): median {r['median_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, max {r['max_ms']:.1f} ms")
    return 0 if r["p95_ms"] < 100 else 1


if __name__ == "__main__":
    raise SystemExit(main())
