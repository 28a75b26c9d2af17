"""The `auth0-workos` entry point: the wizard by default, headless sub-commands for every step.

Exit codes everywhere: 0 success, 1 the gate or some records failed (listed), 2 usage or configuration.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

# sub-command name -> module under wizard.commands exposing add_parser(subparsers) and run(args) -> int
COMMANDS = {
    "sandbox": "sandbox",
    "check": "check",
    "inventory": "inventory",
    "export": "export",
    "import": "import_",
    "sync": "sync",
    "ticket": "ticket",
    "package": "package",
    "rollback": "rollback",
    "orgs": "orgs",
    "roles": "roles",
    "sso": "sso",
    "mfa": "mfa",
    "verify": "verify",
    "report": "report",
}

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="auth0-workos",
        description="Move your users from Auth0 to WorkOS, one gated step at a time.",
    )
    parser.add_argument("--run-dir", help="run folder to create or resume (default: a new one under .auth0-workos/runs)")
    parser.add_argument("--plain", action="store_true", help="prompt-based wizard instead of the full-screen app")
    parser.add_argument("--env-file", default=".env.local", help="dotenv file to read (default: .env.local)")
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="rehearse on this machine: start local WorkOS and Auth0 emulators with a demo tenant "
        "and run the wizard against them in a temporary run folder",
    )
    from wizard.commands._rehearsal import add_arguments as add_rehearsal_arguments

    add_rehearsal_arguments(parser)  # --users, --latency-ms, --fault-rate, --rate with --sandbox
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS.values():
        try:
            mod = importlib.import_module(f"wizard.commands.{module}")
        except ModuleNotFoundError as exc:  # a command still being built must not break the others
            if exc.name != f"wizard.commands.{module}":
                raise
            continue
        mod.add_parser(sub)
    return parser


# commands that may start a run folder when --run-dir names a missing one; the others need a run
_CREATES_RUN_DIR = frozenset({None, "check", "inventory", "export", "import", "orgs", "mfa"})


def _stop_on_sigterm() -> None:
    """SIGTERM stops like Ctrl-C (SIGINT): the same clean stop, summary and resume hint."""

    def on_term(signum, frame):
        if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL, None):
            raise KeyboardInterrupt  # SIGINT is ignored (a background job): stop the same way
        signal.raise_signal(signal.SIGINT)

    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, on_term)


def _claim(args) -> None:
    """Check and lock the --run-dir before a command touches it (one function for every front end)."""
    from wizard.core.runlock import claim_run_folder

    run_dir = getattr(args, "run_dir", None)
    if run_dir:
        command = " ".join(["auth0-workos", args.command or "wizard"])
        claim_run_folder(run_dir, command, create=args.command in _CREATES_RUN_DIR)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors; keep that, return it
        return int(exc.code or 0)
    _stop_on_sigterm()
    from wizard.core.runlock import held_folders, release_held

    held_before = held_folders()
    try:
        _claim(args)
        if args.command is None:
            from wizard.commands.wizard import run as run_wizard

            return run_wizard(args)
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("\nInterrupted. Everything done so far is in the journal; run the same command to resume.",
              file=sys.stderr)
        return 130
    except Exception as exc:  # the safety net: a clear line and an exit code, never a traceback
        from wizard.core.failures import explain

        if os.environ.get("AUTH0_WORKOS_DEBUG"):
            raise
        message, code = explain(exc)
        print(f"auth0-workos{' ' + args.command if args.command else ''}: {message}", file=sys.stderr)
        return code
    finally:
        release_held(keep=held_before)


if __name__ == "__main__":
    raise SystemExit(main())
