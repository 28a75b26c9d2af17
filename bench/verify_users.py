"""Benchmark the verification's user check: `python bench/verify_users.py --users 200000`.

Plans N users into a journal as an imported run (every importable user marked created with a
WorkOS id), serves a WorkOS emulator in a child process that holds exactly those users, then runs
the verification's user count (`check_user_count`, the listing strategy: pages of 100) in a fresh
process over real HTTP with the real SDK, and prints its time, its read rate against the 100/s of
WorkOS's read window (1,000 per 10 s, the run's shared pacer), and its peak RSS: the figure that has to stay flat as N grows, since the journal and
WorkOS may both hold millions of users.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _gen import write_exports  # noqa: E402
from scan_export import peak_rss_mb  # noqa: E402


def setup(root: Path, n: int, every: int = 1) -> Path:
    """N users planned into a run folder, every `every`-th importable one marked created with a
    WorkOS id (1: as after a completed import; 2: as after one stopped half-way)."""
    from wizard.core.journal import Journal
    from wizard.core.plan import build_plan, save_plan

    users, pw = write_exports(root / "exports", n, gzip_users=False)
    run = root / "run"
    with Journal.open(run) as journal:
        save_plan(journal, build_plan(users, pw))
        with journal.transaction() as db:
            db.execute("UPDATE users SET status='created', workos_user_id=printf('user_%012d', seq) "
                       "WHERE status='planned' AND seq % ? = 0", (every,))
    return run


@contextlib.contextmanager
def served(run: Path) -> Iterator[str]:
    """The base URL of a WorkOS emulator (a child process) holding the run's created users."""
    child = subprocess.Popen([sys.executable, __file__, "--serve", str(run)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        yield child.stdout.readline().strip()
    finally:
        if child.poll() is None:
            child.stdin.close()
            child.wait(timeout=30)


def child_figures(script: str, *args: str) -> dict | None:
    """Run `script` with `args` in a fresh process; the JSON object its last line prints."""
    out = subprocess.run([sys.executable, script, *args], capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stdout[-2000:] + out.stderr[-2000:])
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def serve(run: str) -> None:
    """Child mode: a WorkOS emulator holding the run's created users, until stdin closes."""
    from wizard.core.journal import Journal
    from wizard.sandbox.server import serve as serve_app
    from wizard.sandbox.workos_emulator import WorkOSEmulator

    emu = WorkOSEmulator()
    with Journal.open(Path(run)) as journal:
        for u in journal.iter_users():
            if not u.workos_user_id:
                continue
            email = (u.email or "").strip().lower()
            ext = u.request.get("external_id")
            emu.users[u.workos_user_id] = {
                "object": "user", "id": u.workos_user_id, "email": email, "first_name": None,
                "last_name": None, "name": None, "email_verified": True, "profile_picture_url": None,
                "external_id": ext, "last_sign_in_at": None, "locale": None,
                "metadata": {} if ext else {"auth0_user_id": u.auth0_user_id},
                "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-01T00:00:00.000Z"}
            emu._email_index[email] = u.workos_user_id
            if ext:
                emu._external_index[ext] = u.workos_user_id
    with serve_app(emu.app) as url:
        print(url, flush=True)
        sys.stdin.read()


def verify(run: str, base_url: str) -> None:
    """Child mode: the verification's user check, timed, with this process's peak RSS."""
    from wizard.clients.workos import make_sync_client
    from wizard.core.config import Settings
    from wizard.core.journal import Journal
    from wizard.core.verify import check_user_count

    settings = Settings(workos_api_key="sk_test_sandbox", workos_client_id="client_sandbox", workos_base_url=base_url)
    client = make_sync_client(settings)
    started = time.monotonic()
    with Journal.open(Path(run)) as journal:
        check = check_user_count(journal, client, strategy="list")
    seconds = time.monotonic() - started
    print(json.dumps({"seconds": round(seconds, 1), "peak_rss_mb": round(peak_rss_mb(), 1),
                      "ok": check.ok, "evidence": check.evidence[:200]}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=200_000)
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    ap.add_argument("--verify", nargs=2, metavar=("RUN", "URL"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    if args.verify:
        verify(*args.verify)
        return 0
    root = Path(tempfile.mkdtemp(prefix="bench-verify-"))
    try:
        t0 = time.monotonic()
        run = setup(root, args.users)
        with served(run) as url:
            print(f"setup: {args.users:,} users planned, marked imported and served in {time.monotonic() - t0:.0f}s")
            r = child_figures(__file__, "--verify", str(run), url)
        if r is None:
            return 1
        pages = args.users / 100
        rate = pages / max(r["seconds"], 1e-6)
        print(f"verify: {r['seconds']}s for {args.users:,} users ({pages:,.0f} list pages = {rate:.1f} reads/s "
              f"= {rate / 100:.2f} of the read window's 100/s), peak RSS {r['peak_rss_mb']} MB; "
              f"passed {r['ok']}: {r['evidence']}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
