"""Import throughput against the WorkOS emulator with the WorkOS write budget.

    python bench/import_throughput.py --users 20000 --latency-ms 250 [--rate 500/10s]

The emulator runs in a child process (its own interpreter, so its work does not share our GIL),
with WorkOS's rate limits on and `--latency-ms` added to every answer. The engine imports N
planned users (half with a bcrypt hash) and the script prints users per second, the ratio to the
budget's ceiling (500 per 10 s = 50/s), 429s seen, and peak RSS (before and after the import, to
show memory stays flat).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HASH = "$2b$04$" + "a" * 53  # a well-formed bcrypt string: the emulator stores it, never checks it here


def serve_emulator(latency_ms: float, jitter_ms: float) -> None:
    """Child mode: serve a WorkOS emulator with default (WorkOS) limits until stdin closes."""
    from wizard.sandbox.faults import Faults
    from wizard.sandbox.server import serve
    from wizard.sandbox.workos_emulator import WorkOSEmulator

    emu = WorkOSEmulator(faults=Faults(latency_ms=latency_ms, jitter_ms=jitter_ms))
    with serve(emu.app) as url:
        print(url, flush=True)
        sys.stdin.read()
        limited = sum(1 for _, _, status in emu.requests if status == 429)
        print(json.dumps({"users": len(emu.users), "requests": len(emu.requests), "429": limited}), flush=True)


def make_journal(run_dir: Path, n: int):
    from wizard.core.journal import Journal
    from wizard.core.records import Branch, PlannedUser

    run_dir.mkdir(parents=True, exist_ok=True)
    pw = run_dir.parent / "passwords.ndjson"
    offsets: dict[int, int] = {}
    with pw.open("w") as fh:
        pos = 0
        for i in range(0, n, 2):
            line = json.dumps({"_id": {"$oid": f"{i:024x}"}, "passwordHash": HASH}) + "\n"
            offsets[i] = pos
            fh.write(line)
            pos += len(line)

    def planned():
        for i in range(n):
            uid = f"auth0|{i:024x}"
            email = f"bench{i}@example.com"
            yield PlannedUser(
                auth0_user_id=uid, group_key=email, email=email,
                branch=Branch.PASSWORD if i in offsets else Branch.RESET,
                request={"email": email, "first_name": "Bench", "last_name": str(i), "email_verified": True,
                         "external_id": uid, "metadata": {"auth0_user_id": uid}},
                hash_ref=offsets.get(i), email_verified=True, source_line=i + 1)

    journal = Journal.open(run_dir)
    journal.record_input("passwords", pw)
    journal.replace_plan(planned())
    offsets.clear()
    return journal


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run_import(journal, base_url: str, rate: str, concurrency: int, progress: bool):
    from wizard.clients.workos import make_client
    from wizard.core.config import Settings
    from wizard.core.importer import Importer

    settings = Settings(workos_api_key="sk_test_sandbox", workos_client_id="client_sandbox",
                        workos_base_url=base_url)
    client = make_client(settings)
    show = None
    if progress:
        from wizard.commands._progress import ProgressPrinter

        show = ProgressPrinter(plain_interval=10.0)
    try:
        importer = Importer(journal, client, rate=rate, concurrency=concurrency, on_progress=show)
        started = time.monotonic()
        summary = await importer.run()
        elapsed = time.monotonic() - started
    finally:
        await client.close()
        if show:
            show.close()
    return summary, elapsed, importer.pacer.limit.limit


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--latency-ms", type=float, default=50)
    ap.add_argument("--jitter-ms", type=float, default=0)
    ap.add_argument("--rate", default="500/10s")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    ap.add_argument("--serve-emulator", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_emulator:
        serve_emulator(args.latency_ms, args.jitter_ms)
        return 0

    from wizard.core.pacing import parse_budget

    budget = parse_budget(args.rate)
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve-emulator", "--latency-ms", str(args.latency_ms),
         "--jitter-ms", str(args.jitter_ms)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        base_url = child.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            journal = make_journal(Path(tmp) / "run", args.users)
            rss_before = rss_mb()
            summary, elapsed, final_limit = asyncio.run(
                run_import(journal, base_url, args.rate, args.concurrency, not args.quiet))
            journal.close()
        child.stdin.close()
        server = json.loads(child.stdout.readline() or "{}")
    finally:
        if child.poll() is None:
            if not child.stdin.closed:
                child.stdin.close()
            child.wait(timeout=30)
    done = summary.session_created + summary.session_updated
    rate = done / elapsed
    ceiling = budget.per_second
    result = {
        "users": args.users, "latency_ms": args.latency_ms, "budget": str(budget),
        "imported": done, "failed": summary.failed, "seconds": round(elapsed, 1),
        "users_per_second": round(rate, 2), "ceiling_per_second": ceiling,
        "ratio_to_ceiling": round(rate / ceiling, 3), "rate_limited_429": summary.rate_limited,
        "final_concurrency": final_limit, "rss_mb_before_import": round(rss_before, 1),
        "peak_rss_mb": round(rss_mb(), 1), "emulator": server,
    }
    print(f"{done:,} users in {elapsed:.1f}s = {rate:.2f} users/s; ceiling {ceiling:g}/s -> ratio "
          f"{rate / ceiling:.3f}; 429s {summary.rate_limited}; concurrency {final_limit}; "
          f"peak RSS {result['peak_rss_mb']} MB (before import {result['rss_mb_before_import']} MB)")
    print(json.dumps(result))
    return 0 if summary.failed == 0 and done == args.users else 1


if __name__ == "__main__":
    raise SystemExit(main())
