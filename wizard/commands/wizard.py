"""The default command: the full-screen wizard (or `--plain` prompts), resuming `--run-dir` when given.

`--sandbox` runs it against the local emulators with the demo tenant: nothing leaves this machine.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from pathlib import Path

from wizard.core.config import Settings
from wizard.core.rundir import ensure_private_dir, new_run_dir

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def resolve_run_dir(run_dir: str | None, default_root: Path | None = None) -> Path:
    """The folder given (created 0700 if new, resumed if it holds a journal), else a new run."""
    if run_dir:
        return ensure_private_dir(Path(run_dir).expanduser())
    return new_run_dir() if default_root is None else new_run_dir(default_root)


@contextlib.contextmanager
def sandbox_environment(workdir: Path):
    """Start both emulators with the demo tenant; yields (sandbox, settings, demo credentials)."""
    from wizard.sandbox.server import Sandbox

    sandbox = Sandbox.start(workdir)
    try:
        settings = Settings.load(env_file=None, environ=sandbox.env)
        creds: list[tuple[str, str]] = []
        with contextlib.suppress(Exception):
            from wizard.sandbox.demo import demo_tenant

            creds = list(demo_tenant().credentials)
        yield sandbox, settings, creds
    finally:
        sandbox.stop()


def _launch(run_dir: Path, settings: Settings, *, plain: bool, sandbox=None, demo_exports=None,
            demo_credentials=None) -> int:
    if plain:
        from wizard.plain import run_plain

        return run_plain(run_dir, settings, demo_exports=demo_exports, demo_credentials=demo_credentials)
    from wizard.tui.app import WizardApp

    app = WizardApp(run_dir, settings, sandbox=sandbox, demo_exports=demo_exports,
                    demo_credentials=demo_credentials)
    app.run()
    return int(app.return_code or 0)


def run(args: argparse.Namespace) -> int:
    plain = bool(getattr(args, "plain", False))
    if getattr(args, "sandbox", False):
        tmp = Path(tempfile.mkdtemp(prefix="auth0-workos-sandbox-"))
        run_dir = resolve_run_dir(args.run_dir, default_root=tmp / ".auth0-workos")
        try:
            with sandbox_environment(tmp / "sandbox") as (sandbox, settings, creds):
                code = _launch(run_dir, settings, plain=plain, sandbox=sandbox,
                               demo_exports=getattr(sandbox, "exports", None), demo_credentials=creds)
        except ImportError as exc:
            print(f"The sandbox is not available in this build: {exc}", file=sys.stderr)
            return EXIT_USAGE
        print(f"Sandbox run folder: {run_dir} (report and artifacts are there; the emulators' state "
              "is not kept between sandbox sessions)")
        return code
    settings = Settings.load(getattr(args, "env_file", ".env.local"))
    run_dir = resolve_run_dir(getattr(args, "run_dir", None))
    code = _launch(run_dir, settings, plain=plain)
    print(f"Run folder: {run_dir}  (resume with: auth0-workos --run-dir {run_dir})")
    return code
