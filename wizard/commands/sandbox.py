"""`auth0-workos sandbox`: both emulators with the demo tenant, for a rehearsal with no accounts."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from wizard.core.rundir import write_private

EXIT_OK, EXIT_USAGE = 0, 2


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "sandbox",
        help="run local WorkOS and Auth0 emulators loaded with a demo tenant",
        description="Start local WorkOS and Auth0 Management API emulators with a deterministic demo "
                    "tenant, write its export files, print the environment to use, and serve until "
                    "Ctrl-C.",
    )
    p.add_argument("--port-workos", type=int, default=0, help="WorkOS emulator port (default: any free)")
    p.add_argument("--port-auth0", type=int, default=0, help="Auth0 emulator port (default: any free)")
    p.add_argument("--dir", help="folder for the demo export files (default: a new temporary folder)")
    p.add_argument("--env-file", dest="sandbox_env_file", metavar="PATH",
                   help="also write the environment to PATH (dotenv format, mode 0600)")
    p.add_argument("--seed", type=int, default=7, help="demo tenant seed (default: 7)")
    p.add_argument("--exit-after", type=float, default=None, help=argparse.SUPPRESS)  # tests
    from wizard.commands._rehearsal import add_arguments

    add_arguments(p)
    p.set_defaults(func=run)
    return p


def demo_credentials(seed: int = 7) -> list[tuple[str, str]]:
    """The demo tenant's (email, password) pairs, for `verify --demo`: only the sandbox knows them."""
    from wizard.sandbox.demo import demo_tenant

    return list(demo_tenant(seed=seed).credentials)


ENV_FILE_HEADER = "# Written by `auth0-workos sandbox`: points the wizard at the local emulators."


def env_file_text(env: dict[str, str]) -> str:
    lines = [ENV_FILE_HEADER]
    lines += [f"{k}={v}" for k, v in env.items()]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from wizard.sandbox.server import Sandbox

    for name in ("port_workos", "port_auth0"):
        port = getattr(args, name)
        if not 0 <= port <= 65535:
            print(f"--{name.replace('_', '-')} must be between 0 and 65535 (got {port}).", file=sys.stderr)
            return EXIT_USAGE
    from wizard.sandbox.rehearsal import from_args

    try:
        rehearsal = from_args(args)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    env_file = Path(args.sandbox_env_file) if args.sandbox_env_file else None
    if env_file is not None and env_file.exists() and not _written_by_sandbox(env_file):
        print(f"--env-file {env_file} exists and was not written by `auth0-workos sandbox` (it may hold "
              "your real keys): it is left alone. Name another file.", file=sys.stderr)
        return EXIT_USAGE
    workdir = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="auth0-workos-sandbox-"))
    try:
        box = Sandbox.start(workdir, seed=args.seed, workos_port=args.port_workos,
                            auth0_port=args.port_auth0, users=rehearsal.users, faults=rehearsal.faults,
                            limits=rehearsal.limits)
    except OSError as exc:
        print(f"Could not start the sandbox: {exc}. Pick other ports with --port-workos/--port-auth0.",
              file=sys.stderr)
        return EXIT_USAGE
    with box:
        env = box.env
        if args.sandbox_env_file:
            write_private(Path(args.sandbox_env_file), env_file_text(env))
        out = sys.stdout
        print(f"Sandbox running (nothing leaves this machine): {rehearsal.describe()}.", file=out)
        print(f"  WorkOS API emulator          {box.workos_base_url}", file=out)
        print(f"  Auth0 Management API emulator {box.auth0_base_url}/api/v2  "
              f"(token: {box.auth0_base_url}/oauth/token)", file=out)
        print("\nEnvironment to use (paste into your shell, or put in .env.local):", file=out)
        for k, v in env.items():
            print(f"  export {k}={v}", file=out)
        if args.sandbox_env_file:
            print(f"  (also written to {args.sandbox_env_file})", file=out)
        print("\nAuth0 export files of the demo tenant:", file=out)
        print(f"  users export     {box.exports.users_path}", file=out)
        print(f"  password export  {box.exports.passwords_path}", file=out)
        print(f"\nDemo tenant: {len(box.tenant.users)} users, {len(box.tenant.organizations)} "
              f"organizations. Sign-in credentials that work in WorkOS after the import:", file=out)
        for email, password in box.tenant.credentials[:3]:
            print(f"  {email}  /  {password}", file=out)
        print("\nIn another terminal, with the environment above, run: auth0-workos", file=out)
        print("Press Ctrl-C to stop the sandbox.", file=out, flush=True)
        try:
            if args.exit_after is not None:
                time.sleep(args.exit_after)
            else:
                while True:
                    time.sleep(3600)
        except KeyboardInterrupt:
            print("\nSandbox stopped.", file=out)
    return EXIT_OK


def _written_by_sandbox(path: Path) -> bool:
    """Only a file this command wrote (it starts with our header line) is ever overwritten."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.readline().rstrip("\n") == ENV_FILE_HEADER
    except OSError:
        return False
