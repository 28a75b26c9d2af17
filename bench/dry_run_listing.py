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
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scan_export import peak_rss_mb  # noqa: E402
from verify_users import child_figures, served, setup  # noqa: E402


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
    try:
        t0 = time.monotonic()
        run = setup(root, args.users, every=2)
        with served(run) as url:
            print(f"setup: {args.users:,} users planned, half marked imported and served in "
                  f"{time.monotonic() - t0:.0f}s")
            r = child_figures(__file__, "--dry-run", str(run), url)
        if r is None:
            return 1
        print(f"dry run: {r['seconds']}s, peak RSS {r['peak_rss_mb']} MB; would create {r['would_create']:,}, "
              f"would update {r['would_update']:,}, would fail {r['would_fail']:,}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
