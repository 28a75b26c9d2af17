"""Drive the sandbox demo through the wizard and save an SVG of every step into screenshots/.

    /path/to/python screenshots/make_screenshots.py [--size 100x34]

Deterministic: fixed demo tenant (seed 7), fixed terminal size, paths shown relative, ports hidden.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the Pilot driver is a test helper, not shipped

from demo_walk import settle, walk_demo  # noqa: E402

from wizard.core.config import Settings  # noqa: E402
from wizard.sandbox.server import Sandbox  # noqa: E402
from wizard.tui.app import WizardApp  # noqa: E402


async def make(out_dir: Path, size: tuple[int, int]) -> list[Path]:
    saved: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="auth0-workos-shots-") as tmp:
        base = Path(tmp)
        sandbox = Sandbox.start(base / "sandbox")
        cwd = Path.cwd()
        os.chdir(base)  # paths on screen are shown relative to the working folder
        try:
            settings = Settings.load(env_file=None, environ=sandbox.env)
            creds = list(sandbox.tenant.credentials) if sandbox.tenant is not None else []
            app = WizardApp(base / "run", settings, sandbox=sandbox, demo_exports=sandbox.exports,
                            demo_credentials=creds)
            started = time.monotonic()
            async with app.run_test(size=size) as pilot:
                async def shoot(step_id: str) -> None:
                    index = app.current + 1
                    name = f"{index:02d}-{step_id}.svg"
                    app.save_screenshot(name, path=str(out_dir))
                    saved.append(out_dir / name)
                    print(f"{time.monotonic() - started:6.1f}s  {name}")

                await settle(pilot)  # first launch: the guide is "to do" (▶), not failed
                app.save_screenshot("00-first-launch.svg", path=str(out_dir))
                saved.append(out_dir / "00-first-launch.svg")
                await walk_demo(pilot, shoot)
        finally:
            os.chdir(cwd)
            sandbox.stop()
    return saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="100x34", help="terminal size COLSxROWS (default 100x34)")
    parser.add_argument("--out", default=str(HERE), help="folder for the SVG files")
    args = parser.parse_args()
    cols, rows = (int(x) for x in args.size.lower().split("x"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for p in asyncio.run(make(out, (cols, rows))):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
