"""The run folder: private (0700 dirs, 0600 files) because it holds personal data; atomic writes."""

from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import datetime
from pathlib import Path

DEFAULT_ROOT = Path(".auth0-workos")


class RunDirError(Exception):
    """A --run-dir that is not ours to use (a folder with other files, a symlink leaving its parent)."""


# files that may sit in a run folder before its journal exists (our own lock, a .gitignore)
_OURS_BEFORE_JOURNAL = frozenset({".auth0-workos.lock", ".gitignore"})
JOURNAL_FILE = "journal.sqlite"


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) 0700. Only folders created here are chmod-ed: a folder
    that already existed belongs to the person, and its mode is theirs."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue  # made meanwhile by someone else: not ours to chmod
        os.chmod(folder, 0o700)  # the umask may have narrowed mkdir's mode; never widen
    if not path.is_dir():
        raise RunDirError(f"{path} exists and is not a folder.")
    return path


def prepare_run_dir(path: str | Path) -> Path:
    """The `--run-dir` a person named, checked before anything is written into it: created 0700
    when missing; an existing folder must be a run folder (it holds a journal) or empty; a symlink
    is followed only when its target stays inside the parent the person named."""
    named = Path(path).expanduser()
    parent = named.parent.resolve()
    target = named.resolve()
    if parent not in target.parents:
        raise RunDirError(
            f"--run-dir {named} leads through a symbolic link to {target}, outside {parent}. Name "
            "the real folder instead.")
    if target.exists() and not target.is_dir():
        raise RunDirError(f"--run-dir {named} is a file, not a folder.")
    if target.is_dir() and not (target / JOURNAL_FILE).exists():
        others = sorted(p.name for p in target.iterdir() if p.name not in _OURS_BEFORE_JOURNAL)
        if others:
            shown = ", ".join(others[:3]) + (" …" if len(others) > 3 else "")
            raise RunDirError(
                f"--run-dir {named} is not a run folder: it holds other files ({shown}) and no "
                f"{JOURNAL_FILE}. Give a new or empty folder (the wizard never writes into, or "
                "changes the permissions of, a folder of yours).")
    return ensure_private_dir(target)


def ensure_root(root: Path = DEFAULT_ROOT) -> Path:
    """The `.auth0-workos/` root with a `.gitignore` of `*` so personal data never lands in git."""
    ensure_private_dir(root)
    gi = root / ".gitignore"
    if not gi.exists():
        write_private(gi, "*\n")
    return root


def new_run_dir(root: Path = DEFAULT_ROOT) -> Path:
    """A fresh `runs/<YYYYmmdd-HHMMSS>` folder under the root (suffixed if that second is taken).
    Made with one atomic mkdir, so two commands started in the same second never share it."""
    ensure_root(root)
    runs = ensure_private_dir(Path(root) / "runs")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    n = 1
    while True:
        candidate = runs / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            candidate.mkdir(mode=0o700)
        except FileExistsError:
            n += 1
            continue
        os.chmod(candidate, 0o700)
        return candidate


def latest_run_dir(root: Path = DEFAULT_ROOT) -> Path | None:
    runs = Path(root) / "runs"
    if not runs.is_dir():
        return None
    dirs = sorted(p for p in runs.iterdir() if (p / "journal.sqlite").exists())
    return dirs[-1] if dirs else None


def write_private(path: Path, data: str | bytes) -> Path:
    """Write atomically (temp file + rename) with mode 0600: a crash never leaves half a file."""
    binary = isinstance(data, bytes)
    with open_private(path, "wb" if binary else "w") as fh:
        fh.write(data)
    return Path(path)


@contextlib.contextmanager
def open_private(path: Path, mode: str = "w", encoding: str | None = "utf-8"):
    """Open for streaming writes (CSV, JSONL) into a temp file, renamed into place on success, 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, 0o600)
    binary = "b" in mode
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding, newline=None if binary else "") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


SANDBOX_RUN_META = "sandbox_run"  # journal meta: the run folder was made by a `--sandbox` rehearsal
