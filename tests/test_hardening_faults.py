"""No input or fault ends in a traceback: a damaged journal is refused with how to recover, SIGTERM
stops like Ctrl-C, and the CLI's safety net turns anything else into one line and an exit code.
Real subprocesses of the CLI, real files, the WorkOS emulator over HTTP."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wizard.core.journal import Journal
from wizard.core.records import UserStatus
from wizard.sandbox.faults import Faults


def env_for(workos_emu) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKOS_", "AUTH0_"))}
    env.update(WORKOS_API_KEY=workos_emu.api_key, WORKOS_CLIENT_ID=workos_emu.client_id,
               WORKOS_BASE_URL=workos_emu.base_url, PYTHONUNBUFFERED="1")
    return env


def cli(args: list[str], env: dict, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wizard", "--env-file", str(cwd / "absent.env"), *args],
                          env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def planned_run(demo_exports, workos_emu, tmp_path) -> Path:
    run_dir = tmp_path / "run"
    res = cli(["check", "--users", str(demo_exports.users_path), "--passwords", str(demo_exports.passwords_path),
               "--run-dir", str(run_dir)], env_for(workos_emu), tmp_path)
    assert res.returncode == 0, res.stderr
    return run_dir


@pytest.mark.parametrize("damage", ["zero_bytes", "garbage", "truncated"])
def test_a_damaged_journal_is_refused_with_how_to_recover_never_recreated(damage, demo_exports, workos_emu,
                                                                         tmp_path):
    run_dir = planned_run(demo_exports, workos_emu, tmp_path)
    journal = run_dir / "journal.sqlite"
    with sqlite3.connect(journal) as db:  # fold the WAL in, so the file alone is the journal
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = journal.read_bytes()
    assert len(data) > 8192
    if damage == "zero_bytes":
        journal.write_bytes(b"")
    elif damage == "garbage":
        journal.write_bytes(b"\x00garbage" * 512)
    else:
        journal.write_bytes(data[: len(data) // 2])
    before = journal.read_bytes()
    env = env_for(workos_emu)
    for args in (["import", "--resume", "--run-dir", str(run_dir), "--yes"],
                 ["rollback", "--run-dir", str(run_dir), "--yes"],
                 ["report", "--run-dir", str(run_dir)]):
        res = cli(args, env, tmp_path)
        assert res.returncode == 2, (args, res.stdout, res.stderr)
        assert "Traceback" not in res.stderr
        assert "journal" in res.stderr and ".recover" in res.stderr, res.stderr
        assert journal.read_bytes() == before  # never re-created or "repaired" behind the person's back
    assert not workos_emu.emulator.users


def test_sigterm_stops_the_import_like_ctrl_c_with_a_summary_then_resume_finishes(demo_exports, workos_emu,
                                                                                  tmp_path):
    emu = workos_emu.emulator
    emu.set_faults(Faults(latency_ms=50))
    env = env_for(workos_emu)
    run_dir = planned_run(demo_exports, workos_emu, tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "wizard", "--env-file", str(tmp_path / "absent.env"),
                             "import", "--resume", "--run-dir", str(run_dir), "--yes", "--rate", "10/s"],
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(emu.users) < 5 and proc.poll() is None:
            time.sleep(0.01)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    assert "Interrupted" in err and "--resume" in err
    assert "Created" in out  # the same summary as Ctrl-C
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["stopped"] is True and summary["remaining"] > 0
    emu.set_faults(Faults())
    res = cli(["import", "--resume", "--run-dir", str(run_dir), "--yes"], env, tmp_path)
    assert res.returncode == 0, res.stderr
    with Journal.open(run_dir) as journal:
        rows = [u for u in journal.users() if u.status != UserStatus.SKIPPED]
    ext = [u["external_id"] for u in emu.users.values()]
    assert len(ext) == len(set(ext)) == len(rows)


def test_the_safety_net_turns_an_unexpected_failure_into_one_line(demo_exports, workos_emu, tmp_path):
    """A run folder whose `exports` is a file, not a folder: an OSError deep inside a command."""
    run_dir = planned_run(demo_exports, workos_emu, tmp_path)
    (run_dir / "summary.json").mkdir()  # the import's summary cannot be written over a folder
    res = cli(["import", "--resume", "--run-dir", str(run_dir), "--yes"], env_for(workos_emu), tmp_path)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("auth0-workos import:")]
    assert lines and "summary.json" in lines[-1], res.stderr


def _imported_once(emu, run_dir: Path) -> None:
    with Journal.open(run_dir) as journal:
        rows = [u for u in journal.users() if u.status != UserStatus.SKIPPED]
        assert {u.status for u in rows} <= set(UserStatus.DONE)
    ext = [u["external_id"] for u in emu.users.values()]
    assert len(ext) == len(set(ext)) == len(rows)


def test_a_file_size_limit_mid_import_stops_cleanly_and_resumes(demo_exports, workos_emu, tmp_path):
    """The journal cannot grow (RLIMIT_FSIZE: SQLite's write fails as on a full disk): the import says
    so in one line, exit 2, and resumes once writing works again, each user once."""
    import resource

    env = env_for(workos_emu)
    run_dir = planned_run(demo_exports, workos_emu, tmp_path)
    cap = max(p.stat().st_size for p in run_dir.iterdir() if p.is_file()) + 48 * 1024

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))

    res = subprocess.run([sys.executable, "-m", "wizard", "--env-file", str(tmp_path / "absent.env"), "import",
                          "--resume", "--run-dir", str(run_dir), "--yes"], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=180, preexec_fn=limit, stdin=subprocess.DEVNULL)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    assert "run journal" in res.stderr and "run the same command again" in res.stderr, res.stderr
    landed = len(workos_emu.emulator.users)
    with Journal.open(run_dir) as journal:
        assert journal.count_users().get(UserStatus.PLANNED, 0) > 0  # stopped part-way
    res = cli(["import", "--resume", "--run-dir", str(run_dir), "--yes"], env, tmp_path)
    assert res.returncode == 0, res.stderr
    assert len(workos_emu.emulator.users) >= landed
    _imported_once(workos_emu.emulator, run_dir)


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/proc/filesystems").read_text().count("tmpfs"),
                    reason="mounting a small tmpfs (a real full disk) needs root")
def test_a_full_disk_mid_import_says_so_stops_cleanly_and_resumes(demo_exports, workos_emu, tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)]).returncode != 0:
        pytest.skip("tmpfs mount refused")
    try:
        env = env_for(workos_emu)
        run_dir = mnt / "run"
        res = cli(["check", "--users", str(demo_exports.users_path), "--passwords", str(demo_exports.passwords_path),
                   "--run-dir", str(run_dir)], env, tmp_path)
        assert res.returncode == 0, res.stderr
        filler = mnt / "filler"
        with open(filler, "wb") as fh:  # leave ~40 KB: a few users fit, then the disk is full
            free = os.statvfs(mnt).f_bavail * os.statvfs(mnt).f_frsize
            fh.write(b"\0" * max(0, free - 40 * 1024))
        res = cli(["import", "--resume", "--run-dir", str(run_dir), "--yes"], env, tmp_path)
        assert res.returncode == 2, res.stdout + res.stderr
        assert "Traceback" not in res.stderr
        assert "database or disk is full" in res.stderr and "Free some space" in res.stderr, res.stderr
        filler.unlink()
        res = cli(["import", "--resume", "--run-dir", str(run_dir), "--yes"], env, tmp_path)
        assert res.returncode == 0, res.stderr
        _imported_once(workos_emu.emulator, run_dir)
    finally:
        subprocess.run(["umount", "-l", str(mnt)])
