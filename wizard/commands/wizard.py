"""The default command: the full-screen wizard (or `--plain` prompts), resuming `--run-dir` when given.

`--sandbox` runs it against the local emulators with the demo tenant: nothing leaves this machine.
A sandbox session is a rehearsal that lives as long as the emulators: their WorkOS is in memory and
gone when the session ends, so a sandbox run folder is kept for reading (report, id map), never resumed
against a new sandbox once it has written to WorkOS.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from pathlib import Path

from wizard.core.config import Settings
from wizard.core.journal import JOURNAL_NAME, Journal
from wizard.core.rundir import SANDBOX_RUN_META, new_run_dir
from wizard.core.runlock import claim_run_folder

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def resolve_run_dir(run_dir: str | None, default_root: Path | None = None) -> Path:
    """The folder given (checked, created 0700 if new, resumed if it holds a journal), else a new
    run; locked for this wizard session either way."""
    if run_dir:
        folder = Path(run_dir).expanduser()
    else:
        folder = new_run_dir() if default_root is None else new_run_dir(default_root)
    return claim_run_folder(folder, "auth0-workos (wizard)")


def wrote_to_workos(run_dir: Path) -> bool:
    """The run folder holds a journal that recorded a write to WorkOS."""
    if not (run_dir / JOURNAL_NAME).is_file():
        return False
    with Journal.open(run_dir) as journal:
        return journal.has_writes()


def sandbox_ended_message(run_dir: Path) -> str:
    """Where the rehearsal's files are; no resume hint: the sandbox's WorkOS is gone."""
    kept = [name for name in ("report.md", "id-map.csv", "summary.json", "errors.jsonl") if (run_dir / name).is_file()]
    files = f" ({', '.join(kept)})" if kept else ""
    return (f"Sandbox rehearsal ended. Run folder: {run_dir}{files}.\n"
            "The sandbox's WorkOS lived in memory and is gone, so this run cannot be resumed; "
            "start a new `auth0-workos --sandbox` to rehearse again.")


@contextlib.contextmanager
def sandbox_environment(workdir: Path, rehearsal=None):
    """Start both emulators with the demo tenant; yields (sandbox, settings, demo credentials)."""
    from wizard.sandbox.server import Sandbox  # uvicorn and the emulators load only for a sandbox

    r = rehearsal
    sandbox = Sandbox.start(workdir, users=r.users if r else None, faults=r.faults if r else None,
                            limits=r.limits if r else None)
    try:
        settings = Settings.load(env_file=None, environ=sandbox.env)
        yield sandbox, settings, list(sandbox.tenant.credentials)
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


def sandbox_run(run_dir: Path) -> bool:
    """The run folder was made by a `--sandbox` rehearsal."""
    if not (run_dir / JOURNAL_NAME).is_file():
        return False
    with Journal.open(run_dir) as journal:
        return bool(journal.get_meta(SANDBOX_RUN_META))


def run(args: argparse.Namespace) -> int:
    from wizard.commands._rehearsal import is_set

    plain = bool(getattr(args, "plain", False))
    if is_set(args) and not getattr(args, "sandbox", False):
        print("--users, --latency-ms, --fault-rate and --rate shape a rehearsal: add --sandbox.", file=sys.stderr)
        return EXIT_USAGE
    if not getattr(args, "sandbox", False) and args.run_dir and sandbox_run(Path(args.run_dir).expanduser()):
        print(f"{args.run_dir} is a sandbox rehearsal: its plan came from the demo tenant and its WorkOS "
              "lived in memory, so it cannot continue against the accounts in .env.local. Its report and "
              "id map are still in the folder. Start a new run (auth0-workos without --run-dir) for the "
              "real migration, or auth0-workos --sandbox to rehearse again.", file=sys.stderr)
        return EXIT_USAGE
    if getattr(args, "sandbox", False):
        from wizard.sandbox.rehearsal import from_args

        try:
            rehearsal = from_args(args)
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_USAGE
        if args.run_dir and wrote_to_workos(Path(args.run_dir).expanduser()):
            print(f"{args.run_dir} has already written to WorkOS. A sandbox's WorkOS lives in memory and "
                  "ends with its session, so this run cannot continue in a new sandbox (its report and id "
                  "map are still in the folder). Run `auth0-workos --sandbox` without --run-dir to "
                  "rehearse again.", file=sys.stderr)
            return EXIT_USAGE
        tmp = Path(tempfile.mkdtemp(prefix="auth0-workos-sandbox-"))
        run_dir = resolve_run_dir(args.run_dir, default_root=tmp / ".auth0-workos")
        with Journal.open(run_dir) as journal:  # a rehearsal's folder never passes for a live run
            journal.set_meta(SANDBOX_RUN_META, "1")
        with sandbox_environment(tmp / "sandbox", rehearsal) as (sandbox, settings, creds):
            code = _launch(run_dir, settings, plain=plain, sandbox=sandbox, demo_exports=sandbox.exports,
                           demo_credentials=creds)
        print(sandbox_ended_message(run_dir))
        return code
    settings = Settings.load(getattr(args, "env_file", ".env.local"))
    run_dir = resolve_run_dir(getattr(args, "run_dir", None))
    code = _launch(run_dir, settings, plain=plain)
    print(f"Run folder: {run_dir}  (resume with: auth0-workos --run-dir {run_dir})")
    return code
