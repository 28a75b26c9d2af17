"""Benchmark the dry run of a resumed import: `python bench/dry_run_listing.py --users 200000`.

Plans N users into a journal, marks every other importable user created (as after an import
stopped half-way), serves a WorkOS emulator in a child process holding exactly those users, then
runs the import's dry run (`run_import(dry_run=True)`) in a fresh process over real HTTP with the
real SDK: it lists the environment once (pages of 100) and decides each remaining user locally.
Prints its time and its peak RSS: what the listing costs in memory as the environment grows.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _gen import write_exports  # noqa: E402
from scan_export import peak_rss_mb  # noqa: E402


def setup(root: Path, n: int) -> Path:
    from wizard.core.journal import Journal
    from wizard.core.plan import build_plan, save_plan

    users, pw = write_exports(root / "exports", n, gzip_users=False)
    run = root / "run"
    with Journal.open(run) as journal:
        save_plan(journal, build_plan(users, pw))
        with journal.transaction() as db:  # half imported
            db.execute("UPDATE users SET status='created', workos_user_id=printf('user_%012d', seq) "
                       "WHERE status='planned' AND seq % 2 = 0")
    return run


def dry_run(run: str, base_url: str) -> None:
    """Child mode: the dry run, timed, with this process's peak RSS."""
    from wizard.core.config import Settings
    from wizard.core.journal import Journal
    from wizard.tasks.import_ import run_import

    settings = Settings(workos_api_key="sk_test_sandbox", workos_client_id="client_sandbox",
                        workos_base_url=base_url)
    started = time.monotonic()
    with Journal.open(Path(run)) as journal:
        result = run_import(journal, settings, dry_run=True)
    seconds = time.monotonic() - started
    s = result.summary
    print(json.dumps({"seconds": round(seconds, 1), "peak_rss_mb": round(peak_rss_mb(), 1),
                      "would_create": s.would_create, "would_update": s.would_update, "would_fail": s.would_fail}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=200_000)
    ap.add_argument("--dry-run", nargs=2, metavar=("RUN", "URL"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.dry_run:
        dry_run(*args.dry_run)
        return 0
    root = Path(tempfile.mkdtemp(prefix="bench-dry-"))
    child = None
    try:
        t0 = time.monotonic()
        run = setup(root, args.users)
        verify_users = Path(__file__).resolve().parent / "verify_users.py"  # its emulator child
        child = subprocess.Popen([sys.executable, str(verify_users), "--serve", str(run)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        url = child.stdout.readline().strip()
        print(f"setup: {args.users:,} users planned, half marked imported and served in {time.monotonic() - t0:.0f}s")
        out = subprocess.run([sys.executable, __file__, "--dry-run", str(run), url], capture_output=True, text=True)
        if out.returncode != 0:
            sys.stderr.write(out.stdout[-2000:] + out.stderr[-2000:])
            return 1
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"dry run: {r['seconds']}s, peak RSS {r['peak_rss_mb']} MB; would create {r['would_create']:,}, "
              f"would update {r['would_update']:,}, would fail {r['would_fail']:,}")
    finally:
        if child is not None and child.poll() is None:
            child.stdin.close()
            child.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
