"""Set-up shared by the Auth0-side commands (inventory, export, mfa, orgs): settings, run folder,
the Management API client, and the one-line answers for usage errors and failures."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wizard.core.config import Settings
from wizard.core.rundir import ensure_private_dir, new_run_dir


def add_run_dir_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run-dir", default=argparse.SUPPRESS, help="run folder (created when missing)")


def add_rate_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--auth0-rate", type=float, default=None, metavar="N",
                   help="at most N Management API requests per second (default: as fast as Auth0's "
                        "x-ratelimit headers allow, i.e. your plan's limit)")


def resolve_run_dir(args) -> Path:
    """--run-dir (created private when missing), else a new run folder under .auth0-workos/runs."""
    run_dir = getattr(args, "run_dir", None)
    return ensure_private_dir(Path(run_dir)) if run_dir else new_run_dir()


def load_settings(args) -> Settings:
    return Settings.load(getattr(args, "env_file", ".env.local"))


def make_auth0_client(settings: Settings, on_wait=None, max_per_second: float | None = None):
    """The Management API client, or None without credentials; prints which scopes are missing."""
    from wizard.clients.auth0 import Auth0Client

    if not settings.has_auth0_credentials:
        return None
    client = Auth0Client.from_settings(settings, on_wait=on_wait, max_per_second=max_per_second)
    missing = client.check_token()  # raises ApiError(AUTH) when the credentials are refused
    if missing:
        print("warning: the Auth0 token lacks these scopes (the steps that need them will say so): "
              + ", ".join(missing), file=sys.stderr)
    return client


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
