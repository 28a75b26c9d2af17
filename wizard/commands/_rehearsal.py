"""The rehearsal flags, shared by `auth0-workos --sandbox` and `auth0-workos sandbox`: parsing only,
so building the command line never imports the sandbox (`wizard.sandbox.rehearsal` reads them)."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("rehearsal (sandbox only)")
    g.add_argument("--users", dest="sandbox_users", type=int, default=None, metavar="N",
                   help="demo tenant size: generated users up to N (e.g. 20000)")
    g.add_argument("--latency-ms", dest="sandbox_latency_ms", type=float, default=0.0, metavar="MS",
                   help="added latency of every WorkOS emulator answer")
    g.add_argument("--fault-rate", dest="sandbox_fault_rate", type=float, default=0.0, metavar="SHARE",
                   help="share of WorkOS requests that fail (5xx or a dropped connection), e.g. 0.02")
    g.add_argument("--rate", dest="sandbox_rate", default=None, metavar="N/WINDOW",
                   help="the WorkOS emulator's write budget, e.g. 500/10s (429s above it)")


def is_set(args: argparse.Namespace) -> bool:
    """Any rehearsal flag was given (they mean nothing without --sandbox)."""
    return (getattr(args, "sandbox_users", None) is not None
            or bool(getattr(args, "sandbox_latency_ms", 0.0))
            or bool(getattr(args, "sandbox_fault_rate", 0.0))
            or getattr(args, "sandbox_rate", None) is not None)
