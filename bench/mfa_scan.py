"""MFA scan throughput against the Auth0 emulator's configured Management API limit.

    python bench/mfa_scan.py --users 1500 --limit 50 --latency-ms 100

Serves the Auth0 emulator (demo tenant plus `--users` synthetic users with authentication methods)
in a child process with `--limit` requests per second (x-ratelimit-* headers, 429 beyond), then
scans every synthetic user's authentication methods through `Auth0Client` + the core scan (threads
paced by the headers) and prints users/s, the ratio to the configured limit (aim ≥ 0.9) and 429s.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def serve_emulator(users: int, limit: int, latency_ms: float) -> None:
    from wizard.sandbox.auth0_emulator import Auth0Emulator, Auth0Limits
    from wizard.sandbox.demo import demo_tenant
    from wizard.sandbox.faults import Faults
    from wizard.sandbox.server import serve

    tenant = demo_tenant()
    sample = next(m for ms in tenant.auth_methods.values() for m in ms if m.get("type") == "totp")
    for i in range(users):
        uid = f"auth0|bench{i:08d}"
        tenant.users.insert(0, {"user_id": uid, "email": f"mfa{i}@example.com", "name": f"MFA {i}"})
        tenant.auth_methods[uid] = [{**sample, "id": f"totp|dev_bench{i}"}]
    emu = Auth0Emulator(tenant, limits=Auth0Limits(requests_per_second=limit),
                        faults=Faults(latency_ms=latency_ms))
    with serve(emu.app) as url:
        print(json.dumps({"url": url, "client_id": emu.client_id, "secret": emu.client_secret,
                          "domain": emu.domain}), flush=True)
        sys.stdin.read()
        print(json.dumps({"429": sum(1 for _, _, s in emu.requests if s == 429),
                          "requests": len(emu.requests)}), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=1500)
    ap.add_argument("--limit", type=int, default=50, help="emulator requests per second")
    ap.add_argument("--latency-ms", type=float, default=100)
    ap.add_argument("--serve-emulator", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_emulator:
        serve_emulator(args.users, args.limit, args.latency_ms)
        return 0
    from wizard.clients.auth0 import Auth0Client
    from wizard.core.config import Settings
    from wizard.core.journal import Journal
    from wizard.core.mfa import ScanTarget, scan_authentication_methods

    child = subprocess.Popen([sys.executable, __file__, "--serve-emulator", "--users", str(args.users),
                              "--limit", str(args.limit), "--latency-ms", str(args.latency_ms)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        info = json.loads(child.stdout.readline())
        settings = Settings(auth0_domain=info["domain"], auth0_client_id=info["client_id"],
                            auth0_client_secret=info["secret"], auth0_base_url=info["url"])
        targets = [ScanTarget(f"auth0|bench{i:08d}", f"mfa{i}@example.com") for i in range(args.users)]
        with tempfile.TemporaryDirectory() as tmp, Journal.open(Path(tmp) / "run") as journal:
            client = Auth0Client.from_settings(settings)
            client.check_token()
            time.sleep(1.0)  # start in a fresh one-second window of the emulator
            started = time.monotonic()
            stats = scan_authentication_methods(client, journal, targets)
            elapsed = time.monotonic() - started
            client.close()
        child.stdin.close()
        server = json.loads(child.stdout.readline() or "{}")
    finally:
        if child.poll() is None:
            if not child.stdin.closed:
                child.stdin.close()
            child.wait(timeout=30)
    rate = stats.scanned_now / elapsed
    result = {"users": args.users, "scanned": stats.scanned_now, "failed": stats.failed,
              "seconds": round(elapsed, 2), "users_per_second": round(rate, 2), "limit_per_second": args.limit,
              "ratio_to_limit": round(rate / args.limit, 3), "latency_ms": args.latency_ms,
              "rate_limited_429": server.get("429"), "client_429_waits": client.waits}
    print(f"{stats.scanned_now:,} users scanned in {elapsed:.1f}s = {rate:.1f}/s; emulator limit {args.limit}/s "
          f"-> ratio {rate / args.limit:.3f}; 429s {server.get('429')}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
