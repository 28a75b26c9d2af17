"""Benchmark the delta sync's diff: `python bench/sync_diff.py --users 1000000 --changed 0.02`.

Writes N users (+ hashes) and plans them into a journal as an imported run (every importable user
marked created, as after a real import), then writes a second export where a share of the users
changed (half a new name, half a new password hash), and times `plan_sync` on it in a fresh
process: the planner's pass over the new files, the streamed comparison with the journal and the
staging of the difference (dry run: nothing is sent). Prints the diff time, the counts and the
diff process's peak RSS.
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

from _gen import fake_hash, hash_line, user_line, write_exports  # noqa: E402
from scan_export import peak_rss_mb  # noqa: E402


def _changed(i: int, share: float) -> str | None:
    """Which change user `i` gets in the second export: 'name', 'hash' or None."""
    step = max(1, round(1 / share))
    if i % step:
        return None
    return "hash" if (i // step) % 2 and hash_line(i) is not None else "name"


def write_second(dest: Path, n: int, share: float) -> tuple[Path, Path, int]:
    dest.mkdir(parents=True, exist_ok=True)
    users, pw = dest / "users2.ndjson", dest / "passwords2.ndjson"
    changed = 0
    with open(users, "w") as fu, open(pw, "w") as fp:
        for i in range(n):
            what = _changed(i, share)
            line = user_line(i)
            if what == "name":
                d = json.loads(line)
                d["given_name"] = f"Renamed{i}"
                line = json.dumps(d, separators=(",", ":"))
                changed += 1
            fu.write(line + "\n")
            h = hash_line(i)
            if h is not None:
                if what == "hash":
                    d = json.loads(h)
                    d["passwordHash"] = fake_hash(i + 7_000_000)
                    h = json.dumps(d, separators=(",", ":"))
                    changed += 1
                fp.write(h + "\n")
    return users, pw, changed


def setup(root: Path, n: int) -> Path:
    from wizard.core.journal import Journal
    from wizard.core.plan import build_plan, save_plan

    users, pw = write_exports(root / "first", n, gzip_users=False)
    run = root / "run"
    with Journal.open(run) as journal:
        save_plan(journal, build_plan(users, pw))
        with journal.transaction() as db:  # as after a completed import (no WorkOS in a benchmark)
            db.execute("UPDATE users SET status='created', workos_user_id='user_' || seq WHERE status='planned'")
            db.execute("INSERT INTO writes(at, kind, target_id, auth0_id) VALUES(?, 'create_user', 'user_1', '')",
                       (time.time(),))
        journal.put_document("import_summary", {"created": n})
    return run


def diff(run: str, users: str, pw: str) -> None:
    from wizard.core.journal import Journal
    from wizard.core.sync import plan_sync

    started = time.monotonic()
    with Journal.open(run) as journal:
        plan = plan_sync(journal, users, pw, dry_run=True)
    seconds = time.monotonic() - started
    print(json.dumps({"seconds": round(seconds, 1), "peak_rss_mb": round(peak_rss_mb(), 1),
                      "counts": plan.counts}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=200_000)
    ap.add_argument("--changed", type=float, default=0.02, help="share of users changed (default 0.02)")
    ap.add_argument("--diff", nargs=3, metavar=("RUN", "USERS", "PASSWORDS"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.diff:
        diff(*args.diff)
        return 0
    root = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    try:
        t0 = time.monotonic()
        run = setup(root, args.users)
        users2, pw2, changed = write_second(root / "second", args.users, args.changed)
        print(f"setup: {args.users:,} users planned and marked imported, second export with {changed:,} "
              f"changed users ({changed / args.users:.1%}) in {time.monotonic() - t0:.0f}s")
        out = subprocess.run([sys.executable, __file__, "--diff", str(run), str(users2), str(pw2)],
                             capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        c = result["counts"]
        print(f"diff: {result['seconds']}s for {c['users_read']:,} users "
              f"({c['users_read'] / max(result['seconds'], 1e-6):,.0f} users/s), peak RSS "
              f"{result['peak_rss_mb']} MB")
        print(f"found: {c['changed']:,} changed, {c['rehashed']:,} re-hashed, {c['unchanged']:,} unchanged, "
              f"{c['new']:,} new, {c['removed']:,} removed")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
