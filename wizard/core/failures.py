"""The last word on a failure nothing else handled: one line for a person and an exit code.

The CLI's safety net (`wizard/cli.py`) hands every uncaught exception here, so no input ever ends in
a traceback. The known cases (a busy or foreign run folder, a damaged journal, a full disk, another
WorkOS environment) carry their own messages; anything else is named by its type, with where the
work stands. Exit codes: 2 usage/environment (nothing more can be done from here), 1 never (that is
a failed gate or failed records, which the commands report themselves).
"""

from __future__ import annotations

import errno
import re
import sqlite3

EXIT_USAGE = 2
_KEY_RE = re.compile(r"\b(sk|pk)_[A-Za-z0-9_]{4,}")
_RESUME = "Everything done so far is in the run journal; run the same command again to continue."


def _clean(text: str, limit: int = 300) -> str:
    text = _KEY_RE.sub("[key]", " ".join(str(text).split()))
    return text if len(text) <= limit else text[:limit] + "…"


def explain(exc: BaseException) -> tuple[str, int]:
    """(message, exit code) for an exception that reached the top of a command."""
    from wizard.core.journal import JournalError, journal_error
    from wizard.core.rundir import RunDirError
    from wizard.core.runlock import RunFolderBusy

    if isinstance(exc, (RunFolderBusy, RunDirError, JournalError)):
        return _clean(str(exc), 1000), EXIT_USAGE
    if isinstance(exc, sqlite3.Error):
        return _clean(str(journal_error(exc, None)), 1000), EXIT_USAGE
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        where = f" ({exc.filename})" if exc.filename else ""
        return (f"the disk is full{where}: nothing was half-written (files are written whole or not at "
                f"all). Free some space. {_RESUME}"), EXIT_USAGE
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return _clean(f"{where}{exc.strerror or exc}. {_RESUME}"), EXIT_USAGE
    if isinstance(exc, RecursionError):
        return ("an input is nested too deeply to read (JSON nested thousands of levels deep); no real "
                "export looks like this: check the file. Nothing was written."), EXIT_USAGE
    if isinstance(exc, MemoryError):
        return f"out of memory. {_RESUME}", EXIT_USAGE
    return (f"stopped by an unexpected error ({type(exc).__name__}: {_clean(str(exc), 200)}). "
            f"{_RESUME} Set AUTH0_WORKOS_DEBUG=1 to see the details."), EXIT_USAGE

