"""The run folder: private (0700 dirs, 0600 files) because it holds personal data; atomic writes."""

from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import datetime
from pathlib import Path

DEFAULT_ROOT = Path(".auth0-workos")


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) and make it 0700."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def ensure_root(root: Path = DEFAULT_ROOT) -> Path:
    """The `.auth0-workos/` root with a `.gitignore` of `*` so personal data never lands in git."""
    ensure_private_dir(root)
    gi = root / ".gitignore"
    if not gi.exists():
        write_private(gi, "*\n")
    return root


def new_run_dir(root: Path = DEFAULT_ROOT) -> Path:
    """A fresh `runs/<YYYYmmdd-HHMMSS>` folder under the root (suffixed if that second is taken)."""
    ensure_root(root)
    runs = ensure_private_dir(Path(root) / "runs")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate, n = runs / stamp, 1
    while candidate.exists():
        n += 1
        candidate = runs / f"{stamp}-{n}"
    return ensure_private_dir(candidate)


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
