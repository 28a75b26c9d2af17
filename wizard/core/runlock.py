"""One run per folder: an exclusive lock on the run folder for every command that writes to it.

Two imports into the same folder at once would both send every user (each thinks the other's users
are "existing"). Every front end (the wizard, the plain prompts, each headless command) takes the
lock through `hold_run_folder` before it touches the journal; a second process is refused with who
holds it. The lock is `fcntl.flock` on `<run>/.auth0-workos.lock`: the kernel releases it when the
holder exits, however it exits (even `kill -9`), so a stale lock is taken over exactly when its holder
is gone and never while it lives. The file's text (pid, host, command, since) only names the holder.
Within one process the lock is re-entrant (the wizard and the tasks it runs share it).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

LOCK_NAME = ".auth0-workos.lock"


class RunFolderBusy(Exception):
    """Another live process holds the run folder."""


@dataclass
class _Held:
    fd: int
    count: int


_held: dict[Path, _Held] = {}
_guard = threading.Lock()


def _holder_text(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    if not isinstance(info, dict) or not info.get("pid"):
        return "another process"
    since = info.get("since")
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(since)) if isinstance(since, (int, float)) else "?"
    return (f"pid {info.get('pid')} on {info.get('host') or 'an unknown host'} "
            f"(`{info.get('command') or 'auth0-workos'}`, since {when})")


def hold_run_folder(run_dir: str | Path, command: str) -> RunLock:
    """Take the run folder's exclusive lock (re-entrant in this process) or raise RunFolderBusy.

    Use as a context manager, or keep the returned lock until the process ends."""
    folder = Path(run_dir).resolve()
    with _guard:
        held = _held.get(folder)
        if held is not None:
            held.count += 1
            return RunLock(folder)
        path = folder / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunFolderBusy(
                f"{folder} is in use by {_holder_text(path)}. One command at a time per run folder: "
                "wait for it to finish (or stop it), then run this again.") from None
        except OSError:
            os.close(fd)
            raise
        text = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "command": command,
                           "since": time.time()}).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, text, 0)
        _held[folder] = _Held(fd, 1)
        return RunLock(folder)


def holds_run_folder(run_dir: str | Path) -> bool:
    """This process holds the folder's lock."""
    return Path(run_dir).resolve() in _held


class RunLock:
    """A reference to this process's lock on one folder; `release()` drops this reference."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._released = False

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        with _guard:
            held = _held.get(self.folder)
            if held is None:
                return
            held.count -= 1
            if held.count > 0:
                return
            del _held[self.folder]
            with contextlib.suppress(OSError):  # clear the holder's name before the lock goes
                os.ftruncate(held.fd, 0)
            os.close(held.fd)  # closing the descriptor releases the flock

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def claim_run_folder(run_dir: str | Path, command: str, *, create: bool = True) -> Path | None:
    """The one entry every writing front end calls with the run folder it was given: checked
    (`rundir.prepare_run_dir`: ours or empty, no symlink out of its parent), created when missing
    (with `create`), and locked for this process's lifetime. Returns the real folder, or None when
    it is missing and `create` is off (the command then says there is no run there).
    Raises RunDirError or RunFolderBusy with a message for the person."""
    from wizard.core.rundir import prepare_run_dir

    named = Path(run_dir).expanduser()
    if not create and not named.exists():
        return None
    folder = prepare_run_dir(named)
    hold_run_folder(folder, command)
    return folder


def held_folders() -> frozenset[Path]:
    """The folders this process holds now."""
    with _guard:
        return frozenset(_held)


def release_held(keep: frozenset[Path] = frozenset()) -> None:
    """Release every folder this process holds, but those in `keep` (a command's end: the CLI
    releases what the command took, whoever inside it took it)."""
    with _guard:
        folders = [f for f in _held if f not in keep]
    for folder in folders:
        with _guard:
            held = _held.get(folder)
            if held is None:
                continue
            held.count = 1
        RunLock(folder).release()
