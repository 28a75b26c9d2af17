"""Text that can be stored: JSON may spell a lone UTF-16 surrogate (`"\\ud800"`), which decodes to
a Python string that no UTF-8 text (SQLite, files, the terminal) can hold. The readers replace each
one with U+FFFD and name the field in a finding, so a mutated export never crashes a journal write.
The check is cheap: only a line whose bytes spell a surrogate escape is walked."""

from __future__ import annotations

import re

_ESCAPED_SURROGATE = re.compile(rb"\\[uU][dD][89a-fA-F]")
_ESCAPED_SURROGATE_TEXT = re.compile(r"\\[uU][dD][89a-fA-F]")
_LONE = re.compile("[\ud800-\udfff]")


def has_escaped_surrogate(raw: bytes) -> bool:
    """The line spells a surrogate escape (a valid pair is fine too; the walk tells them apart)."""
    return _ESCAPED_SURROGATE.search(raw) is not None


def scrub_surrogates(obj, path: str = "", found: list[str] | None = None, depth: int = 0):
    """(`obj` with every lone surrogate in its strings and keys replaced by U+FFFD, the fields that
    held one: dotted paths such as `user_metadata.nick`)."""
    found = [] if found is None else found
    if depth > 200:  # deeper than any record; json itself refuses far deeper input
        return obj, found
    if isinstance(obj, str):
        if _LONE.search(obj):
            found.append(path or "(value)")
            return _LONE.sub("\ufffd", obj), found
        return obj, found
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            key = _LONE.sub("\ufffd", k) if isinstance(k, str) and _LONE.search(k) else k
            if key != k:
                found.append(f"{path}.{key}" if path else str(key))
            out[key], _ = scrub_surrogates(v, f"{path}.{key}" if path else str(key), found, depth + 1)
        return out, found
    if isinstance(obj, list):
        return [scrub_surrogates(v, f"{path}[{i}]", found, depth + 1)[0] for i, v in enumerate(obj)], found
    return obj, found
