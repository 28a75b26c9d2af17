"""Display helpers: paths relative when possible, loopback ports hidden, secrets never shown."""

from __future__ import annotations

import re
from pathlib import Path

from wizard.core.config import Settings, mask

_LOOPBACK = re.compile(r"(127\.0\.0\.1|localhost):\d+")
_TIME_IDS = re.compile(r"\b(user|org|org_membership|om|auth_factor)_[0-9A-HJKMNP-TV-Z]{26}\b")


def display_path(path: str | Path | None) -> str:
    """Relative to the working folder when inside it, else `…/name` (no temp paths on screen)."""
    if not path:
        return ""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return f"…/{p.parent.name}/{p.name}" if p.parent.name else p.name


def editable_path(path: str | Path | None) -> str:
    """A path an Input can hold and the code can open again: relative inside the working folder
    (stable on screen), else absolute. Never the `…/` display form, which names no file."""
    if not path:
        return ""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def scrub(text: str, settings: Settings | None = None, *, stable: bool = False) -> str:
    """Hide any secret that slipped into a message. `stable` (headless runs: tests and screenshots
    draw the same picture every time) also hides loopback ports and the clock-derived WorkOS ids; a
    person at the terminal sees the real URL."""
    out = text or ""
    if stable:
        out = _LOOPBACK.sub(r"\1:<port>", out)
        out = _TIME_IDS.sub(r"\1_…", out)
    if settings is not None:
        for secret in (settings.workos_api_key, settings.auth0_client_secret):
            if secret and len(secret) > 4:
                out = out.replace(secret, mask(secret))
    return out
