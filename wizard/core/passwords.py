"""The Auth0 password-hash export: stream its rows, validate each hash, re-read one hash by offset.

Auth0 support delivers NDJSON (sometimes gzipped) with one row per database user
(api-facts 1.2): ``_id.$oid`` (or ``_ID.$oid``), optional ``alt_id``, ``email`` /
``email_verified`` at the root or in ``identifiers[]``, ``connection`` and ``passwordHash``.

Hash rule (the only one): a hash is bcrypt when it matches exactly
``^\\$2[abxy]\\$\\d\\d\\$[./A-Za-z0-9]{53}$`` (60 characters), with these prefix decisions:

- ``$2a$`` and ``$2b$``: bcrypt, sent as-is with ``password_hash_type: "bcrypt"``.
- ``$2y$``: bcrypt. PHP's ``$2y$`` is byte-for-byte the same algorithm as ``$2b$`` and WorkOS
  accepts it (the seed guide lists ``$2a$``, ``$2b$`` and ``$2y$``); it is sent unchanged.
- ``$2x$``: **unsupported**. It marks hashes made by the buggy pre-2011 PHP crypt_blowfish
  (wrong handling of 8-bit characters); no modern verifier reproduces it, so sending it would lock
  the user out silently. The user is imported without a password (``reset`` branch).
- A string that is a proper prefix of a valid bcrypt hash is **truncated** (an error with its
  line: the export was cut); anything else is **unsupported**. Neither is ever labelled bcrypt.

Hashes never leave this module except through ``HashReader.hash_at`` at send time: rows keep only
the byte offset of their line so a hash can be re-read from the user's own file.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from wizard.core.findings import Finding, Severity
from wizard.core.records import PasswordRow

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"

BCRYPT_RE = re.compile(r"^\$2[abxy]\$(\d\d)\$[./A-Za-z0-9]{53}$")
# a proper prefix of something BCRYPT_RE would accept: the export cut the hash short
_BCRYPT_PREFIX_RE = re.compile(r"^\$(2([abxy](\$(\d(\d(\$[./A-Za-z0-9]{0,52})?)?)?)?)?)?$")
HASH_KEYS = ("passwordHash", "password_hash", "PasswordHash", "Password Hash")

UNSUPPORTED_2X = (
    "$2x$ marks hashes from the buggy pre-2011 PHP crypt_blowfish; no current verifier (WorkOS "
    "included) reproduces it, so it is not sent: the user is imported without a password and "
    "resets it."
)


class HashReadError(Exception):
    """A hash could not be re-read at an offset (file changed, wrong offset, row without hash)."""


@dataclass(frozen=True, slots=True)
class HashCheck:
    ok: bool  # True only for a bcrypt hash that will be sent
    kind: str  # "bcrypt" | "unsupported" | "truncated" | "empty"
    prefix: str | None  # "$2b$" ... or the first 4 characters of an unsupported hash (never more)
    cost: int | None
    code: str  # "hash_ok" | "hash_unsupported" | "hash_truncated" | "hash_missing"
    message: str  # plain words; never the hash itself


def open_decompressed(path: str | Path) -> BinaryIO:
    """Open a file for binary reading, transparently gunzipping it when it starts with 1f 8b
    (the file name is never trusted)."""
    fh = open(path, "rb")  # noqa: SIM115 - returned to the caller
    magic = fh.read(2)
    fh.seek(0)
    if magic == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[return-value]
    return fh


def is_gzip(path: str | Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def classify_hash(h: object) -> HashCheck:
    """Say what a password hash is without ever echoing it (only its prefix and cost)."""
    if h is None or (isinstance(h, str) and not h.strip()):
        return HashCheck(False, "empty", None, None, "hash_missing",
                         "no password hash on this row; the user will reset their password")
    if not isinstance(h, str):
        return HashCheck(False, "unsupported", None, None, "hash_unsupported",
                         f"password hash is a JSON {type(h).__name__}, not a string; not sent")
    m = BCRYPT_RE.match(h)
    if m:
        prefix, cost = h[:4], int(m.group(1))
        if prefix == "$2x$":
            return HashCheck(False, "unsupported", prefix, cost, "hash_unsupported",
                             f"bcrypt variant {prefix} is unsupported: {UNSUPPORTED_2X}")
        return HashCheck(True, "bcrypt", prefix, cost, "hash_ok", f"bcrypt {prefix} cost {cost}")
    if len(h) < 60 and _BCRYPT_PREFIX_RE.match(h):
        return HashCheck(False, "truncated", h[:4] if len(h) >= 4 else None, None, "hash_truncated",
                         f"password hash is truncated ({len(h)} of 60 characters of a bcrypt hash); "
                         "it is not sent: ask Auth0 support for a complete export, or let the "
                         "user reset their password")
    shown = h[:4] if h.startswith("$") else None
    what = f"starts with {shown!r}" if shown else "is not in a bcrypt format"
    return HashCheck(False, "unsupported", shown, None, "hash_unsupported",
                     f"password hash {what} ({len(h)} characters) and does not match bcrypt "
                     "^$2[aby]$NN$<53 chars>$; it is never sent as bcrypt: the user will reset "
                     "their password")


def _bool(v: object) -> bool | None:
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        s = v.strip().lower()
        if s in ("true", "1", "yes"):
            return True
        if s in ("false", "0", "no"):
            return False
    return None


def _oid(obj: dict) -> str | None:
    """`_id.$oid` / `_ID.$oid` (or a plain string id)."""
    raw = obj.get("_id", obj.get("_ID"))
    if isinstance(raw, dict):
        raw = raw.get("$oid")
    if isinstance(raw, str) and raw.strip():
        return raw.strip()
    return None


def _hash_of(obj: dict) -> object:
    for k in HASH_KEYS:
        if k in obj:
            return obj[k]
    return None


def row_from_obj(obj: dict, line: int, offset: int) -> PasswordRow:
    """Normalize one decoded password-export line."""
    email = obj.get("email")
    verified = _bool(obj.get("email_verified"))
    if not isinstance(email, str) or not email.strip():
        email = None
        for ident in obj.get("identifiers") or ():
            if isinstance(ident, dict) and ident.get("type") == "email" and isinstance(ident.get("value"), str):
                email = ident["value"]
                if verified is None:
                    verified = _bool(ident.get("verified"))
                break
    alt = obj.get("alt_id")
    conn = obj.get("connection")
    h = _hash_of(obj)
    return PasswordRow(
        line=line,
        offset=offset,
        oid=_oid(obj),
        alt_id=alt.strip() if isinstance(alt, str) and alt.strip() else None,
        email=email.strip() if isinstance(email, str) else None,
        email_verified=verified,
        connection=conn if isinstance(conn, str) and conn else None,
        password_hash=h,  # type: ignore[arg-type]  # a non-string is kept so classify_hash can name it
    )


def read_password_rows(path: str | Path) -> Iterator[PasswordRow | Finding]:
    """Stream the password export: one PasswordRow per non-blank line, or a Finding for a line
    that cannot be used. Hash validation is left to the caller (`classify_hash`) so it can count
    prefixes and costs; rows carry the hash only as long as the caller holds them.

    Blank lines are skipped silently (they carry nothing); BOM and CRLF are tolerated.
    """
    name = Path(path).name
    with open_decompressed(path) as fh:
        offset = 0
        for line_no, raw in enumerate(fh, 1):
            start = offset
            offset += len(raw)
            data = raw
            if line_no == 1 and data.startswith(UTF8_BOM):
                data = data[3:]
            if not data.strip():
                continue
            try:
                obj = json.loads(data)
            except (ValueError, UnicodeDecodeError) as exc:
                yield Finding(name, line_no, None, Severity.ERROR, "invalid_json",
                              f"not valid JSON ({_json_reason(exc)}); this hash row is skipped")
                continue
            if not isinstance(obj, dict):
                yield Finding(name, line_no, None, Severity.ERROR, "invalid_json",
                              f"expected a JSON object, found a JSON {type(obj).__name__}; row skipped")
                continue
            row = row_from_obj(obj, line_no, start)
            if row.oid is None and row.alt_id is None and row.email is None:
                yield Finding(name, line_no, "_id", Severity.ERROR, "missing_user_id",
                              "hash row has no _id.$oid, alt_id or email: it cannot be joined to a user")
                continue
            yield row


def _json_reason(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg.removesuffix(' at')} at column {exc.colno}"
    if isinstance(exc, UnicodeDecodeError):
        return "bytes are not UTF-8"
    return type(exc).__name__


class HashReader:
    """Re-read one hash by the byte offset of its line in the (decompressed) password export.

    Sequential lookups with growing offsets are cheap even for gzip (the stream only moves
    forward); a backwards offset rewinds a gzip stream. Use as a context manager or call close().
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fh: BinaryIO | None = None

    def _file(self) -> BinaryIO:
        if self._fh is None:
            self._fh = open_decompressed(self.path)
        return self._fh

    def row_at(self, offset: int) -> PasswordRow:
        """The whole normalized row at `offset` (its `line` is unknown here and set to 0)."""
        if offset < 0:
            raise HashReadError(f"{self.path.name}: negative offset {offset}")
        fh = self._file()
        fh.seek(offset)
        raw = fh.readline()
        if offset == 0 and raw.startswith(UTF8_BOM):
            raw = raw[3:]
        try:
            obj = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise HashReadError(
                f"{self.path.name}: no JSON row starts at byte {offset}; the file changed since it "
                "was planned (re-run the export check)") from None
        if not isinstance(obj, dict):
            raise HashReadError(f"{self.path.name}: the row at byte {offset} is not a JSON object")
        return row_from_obj(obj, 0, offset)

    def hash_at(self, offset: int) -> str:
        """The password hash on the line that starts at `offset` (raises HashReadError)."""
        h = self.row_at(offset).password_hash
        if not isinstance(h, str) or not h:
            raise HashReadError(f"{self.path.name}: the row at byte {offset} has no password hash")
        return h

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> HashReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
