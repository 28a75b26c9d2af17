"""Set-up shared by the Auth0-side commands (inventory, export, mfa, orgs): settings, run folder,
the scope warning, and the one-line answers for usage errors and failures. (The tasks build the
clients: `wizard.tasks.clients`.)"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wizard.core.config import Settings, env_file_exposure, workos_key_problem
from wizard.core.rundir import new_run_dir
from wizard.core.runlock import claim_run_folder


def add_run_dir_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run-dir", default=argparse.SUPPRESS, help="run folder (created when missing)")


def add_rate_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--auth0-rate", type=float, default=None, metavar="N",
                   help="at most N Management API requests per second (default: as fast as Auth0's "
                        "x-ratelimit headers allow, i.e. your plan's limit)")


def resolve_run_dir(args) -> Path:
    """--run-dir (checked, created private when missing), else a new run folder under
    .auth0-workos/runs; locked for this command either way."""
    run_dir = getattr(args, "run_dir", None)
    command = f"auth0-workos {getattr(args, 'command', None) or ''}".strip()
    return claim_run_folder(Path(run_dir) if run_dir else new_run_dir(), command)


def load_settings(args) -> Settings:
    """Settings from the environment and the dotenv file; a key file others can read is warned about."""
    settings = Settings.load(getattr(args, "env_file", ".env.local"))
    warn(env_file_exposure(settings.env_file))
    return settings


def key_problem(settings: Settings) -> str | None:
    """The one WORKOS_API_KEY rule (missing, a pk_ or client ID, spaces), as the prerequisites apply it."""
    return workos_key_problem(settings.workos_api_key)


def warn(warning: str | None) -> None:
    """A task's warning (e.g. the Auth0 token's missing scopes) on stderr."""
    if warning:
        print(f"warning: {warning}", file=sys.stderr)


def confirm(question: str) -> bool:
    """A yes from the person at the terminal; no terminal means no."""
    if not sys.stdin.isatty():
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def usage(command: str, message: str) -> int:
    """Usage or configuration error: say so, exit code 2."""
    print(f"auth0-workos {command}: {message}", file=sys.stderr)
    return 2


def failed(command: str, message: object) -> int:
    """The step ran and failed (API error, job error): say so, exit code 1."""
    print(f"auth0-workos {command}: {message}", file=sys.stderr)
    return 1
