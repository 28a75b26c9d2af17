"""One run per folder, and only our folders: the run-folder lock across real processes, and the
checks on --run-dir (a folder of the person's, a symlink leaving its parent, modes left alone)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.core.runlock import LOCK_NAME

HOLD = ("import sys; from wizard.core.runlock import hold_run_folder; "
        "hold_run_folder(sys.argv[1], 'auth0-workos import'); print('held', flush=True); sys.stdin.read()")


def cli(*args: str, cwd: Path, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wizard", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


@pytest.fixture
def holder(tmp_path):
    """A live process holding a run folder's lock (until the test ends or kills it)."""
    procs = []

    def start(run_dir: Path) -> subprocess.Popen:
        run_dir.mkdir(exist_ok=True)
        p = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "held"
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=30)


def test_a_second_command_on_a_held_run_folder_says_who_holds_it_and_exits_2(holder, demo_exports, tmp_path):
    run_dir = tmp_path / "run"
    p = holder(run_dir)
    res = cli("check", "--users", str(demo_exports.users_path), "--run-dir", str(run_dir), cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert f"pid {p.pid}" in res.stderr and "auth0-workos import" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (run_dir / "journal.sqlite").exists()  # nothing written
    # the wizard takes the same lock
    res = cli("--plain", "--run-dir", str(run_dir), cwd=tmp_path)
    assert res.returncode == 2 and f"pid {p.pid}" in res.stderr
    res = cli("import", "--resume", "--run-dir", str(run_dir), "--yes", cwd=tmp_path,
              env={"WORKOS_API_KEY": "sk_test_x"})
    assert res.returncode == 2 and f"pid {p.pid}" in res.stderr


def test_a_lock_whose_holder_died_is_taken_over(holder, demo_exports, tmp_path):
    run_dir = tmp_path / "run"
    p = holder(run_dir)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    assert (run_dir / LOCK_NAME).read_text()  # the dead holder's name is still written there
    res = cli("check", "--users", str(demo_exports.users_path), "--run-dir", str(run_dir), cwd=tmp_path)
    assert res.returncode in (0, 1), res.stderr
    assert (run_dir / "journal.sqlite").is_file()


def test_run_dir_on_a_folder_of_the_persons_is_refused_untouched(demo_exports, tmp_path):
    mine = tmp_path / "project"
    mine.mkdir()
    (mine / "README.md").write_text("mine\n")
    os.chmod(mine, 0o755)
    res = cli("check", "--users", str(demo_exports.users_path), "--run-dir", str(mine), cwd=tmp_path)
    assert res.returncode == 2
    assert "not a run folder" in res.stderr and "README.md" in res.stderr
    assert sorted(p.name for p in mine.iterdir()) == ["README.md"]
    assert (mine.stat().st_mode & 0o777) == 0o755


def test_an_empty_folder_of_the_persons_is_used_but_its_mode_is_left_alone(demo_exports, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    os.chmod(empty, 0o750)
    res = cli("check", "--users", str(demo_exports.users_path), "--run-dir", str(empty), cwd=tmp_path)
    assert res.returncode in (0, 1), res.stderr
    assert (empty / "journal.sqlite").is_file()
    assert (empty.stat().st_mode & 0o777) == 0o750
    assert ((empty / "journal.sqlite").stat().st_mode & 0o777) == 0o600
    fresh = tmp_path / "a" / "b"
    res = cli("check", "--users", str(demo_exports.users_path), "--run-dir", str(fresh), cwd=tmp_path)
    assert res.returncode in (0, 1), res.stderr
    assert (fresh.stat().st_mode & 0o777) == 0o700 and (fresh.parent.stat().st_mode & 0o777) == 0o700


def test_a_symlink_leaving_the_named_parent_is_refused(demo_exports, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    parent = tmp_path / "runs"
    parent.mkdir()
    (parent / "r1").symlink_to(outside)
    res = cli("check", "--users", str(demo_exports.users_path), "--run-dir", str(parent / "r1"), cwd=tmp_path)
    assert res.returncode == 2 and "symbolic link" in res.stderr
    assert not list(outside.iterdir())
    (parent / "real").mkdir()
    (parent / "r2").symlink_to(parent / "real")  # stays inside the parent: followed
    res = cli("check", "--users", str(demo_exports.users_path), "--run-dir", str(parent / "r2"), cwd=tmp_path)
    assert res.returncode in (0, 1), res.stderr
    assert (parent / "real" / "journal.sqlite").is_file()


def test_rollback_on_a_missing_folder_creates_nothing(tmp_path):
    res = cli("rollback", "--run-dir", str(tmp_path / "nope"), "--yes", cwd=tmp_path,
              env={"WORKOS_API_KEY": "sk_test_x"})
    assert res.returncode == 2 and not (tmp_path / "nope").exists()


def test_sandbox_never_overwrites_an_env_file_it_did_not_write(tmp_path):
    env_file = tmp_path / ".env.local"
    env_file.write_text("WORKOS_API_KEY=sk_live_real\n")
    res = cli("sandbox", "--dir", str(tmp_path / "box"), "--env-file", str(env_file), "--exit-after", "0",
              cwd=tmp_path)
    assert res.returncode == 2 and "left alone" in res.stderr
    assert env_file.read_text() == "WORKOS_API_KEY=sk_live_real\n"
    ours = tmp_path / "sandbox.env"
    assert cli("sandbox", "--dir", str(tmp_path / "box2"), "--env-file", str(ours), "--exit-after", "0",
               "--port-workos", "0", "--port-auth0", "0", cwd=tmp_path).returncode == 0
    assert cli("sandbox", "--dir", str(tmp_path / "box3"), "--env-file", str(ours), "--exit-after", "0",
               "--port-workos", "0", "--port-auth0", "0", cwd=tmp_path).returncode == 0  # ours: rewritten
