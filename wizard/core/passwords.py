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
import time
import zlib
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from wizard.core.findings import Finding, Severity
from wizard.core.lines import LINE_MAX, BoundedLines, line_too_long
from wizard.core.records import PasswordRow
from wizard.core.textsafe import has_escaped_surrogate, scrub_surrogates

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
        fh.close()
        return gzip.GzipFile(filename=str(path), mode="rb")  # type: ignore[return-value]
    return fh


def json_reason(exc: Exception) -> str:
    """Why a line did not decode, in a few words (both export readers say it the same way)."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg.removesuffix(' at')} at column {exc.colno}"
    if isinstance(exc, UnicodeDecodeError):
        return "bytes are not UTF-8"
    if isinstance(exc, RecursionError):
        return "nested too deeply (thousands of levels; no real record is)"
    return type(exc).__name__


def is_gzip(path: str | Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def sniff_container(path: str | Path) -> str | None:
    """Say what a file is when it is clearly not (gzipped) JSON text at all, else None: a ZIP
    archive, a PGP-encrypted file (the password export arrives encrypted), UTF-16 text (PowerShell's
    `>` writes it), or gzip inside gzip. One file-level message instead of a finding per line."""
    name = Path(path).name
    with open(path, "rb") as fh:
        raw = fh.read(64)
    if raw[:4] == b"PK\x03\x04":
        return f"{name} is a ZIP archive: extract the export from it and point at the extracted file"
    if raw.startswith(b"-----BEGIN PGP") or (raw[:1] and raw[0] in (0x84, 0x85, 0x8C, 0xC1, 0xC3, 0xA3)
                                              and b"{" not in raw[:8]):
        out = Path(name).stem if Path(Path(name).stem).suffix in (".ndjson", ".json") else f"{Path(name).stem}.ndjson"
        return (f"{name} is PGP-encrypted (as Auth0 support sends it): decrypt it first, e.g. "
                f"gpg --output {out} --decrypt {name}")
    packed = ""
    if raw[:2] == GZIP_MAGIC:
        try:
            with gzip.open(path, "rb") as gz:
                inner = gz.read(64)
        except (OSError, EOFError, zlib.error):
            return None  # a damaged gzip is reported by the reader, with its last good line
        if inner[:2] == GZIP_MAGIC:
            return f"{name} is gzip-compressed twice: decompress it once (gunzip) and use the result"
        raw, packed = inner, "gzip-compressed "
    if raw and not raw.strip(b"\0"):
        return (f"{name} holds only zero bytes (NUL), {packed}not text: it is blank or damaged (a download "
                "or copy that was interrupted?); get the export again")
    halves = (raw[1:8:2], raw[0:8:2])
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(raw) >= 8 and b"\0\0\0\0" in halves
                                                 and not all(h == b"\0\0\0\0" for h in halves)):
        return (f"{name} is UTF-16 text (Windows PowerShell writes files this way): save it as UTF-8, "
                "e.g. Get-Content FILE | Set-Content -Encoding utf8 OUT, or iconv -f UTF-16 -t UTF-8")
    return None


_OK_CACHE: dict[str, HashCheck] = {}  # "$2b$10$" -> verdict: a million rows share a handful


def classify_hash(h: object) -> HashCheck:
    """Say what a password hash is without ever echoing it (only its prefix and cost)."""
    if type(h) is str and len(h) == 60:
        cached = _OK_CACHE.get(h[:7])
        if cached is not None and BCRYPT_RE.match(h):
            return cached
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
        ok = HashCheck(True, "bcrypt", prefix, cost, "hash_ok", f"bcrypt {prefix} cost {cost}")
        _OK_CACHE[h[:7]] = ok
        return ok
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


def row_fields(obj: dict) -> tuple:
    """(oid, alt_id, email, email_verified, connection, hash) of one decoded line: the fields of a
    PasswordRow after `line` and `offset`, without building the object (the plan's hot path)."""
    get = obj.get
    email = get("email")
    verified = _bool(get("email_verified"))
    if not isinstance(email, str) or not email.strip():
        email = None
        for ident in get("identifiers") or ():
            if isinstance(ident, dict) and ident.get("type") == "email" and isinstance(ident.get("value"), str):
                email = ident["value"]
                if verified is None:
                    verified = _bool(ident.get("verified"))
                break
    alt = get("alt_id")
    conn = get("connection")
    h = get("passwordHash")
    if h is None:
        h = _hash_of(obj)
    return (
        _oid(obj),
        alt.strip() if isinstance(alt, str) and alt.strip() else None,
        email.strip() if isinstance(email, str) else None,
        verified,
        conn if isinstance(conn, str) and conn else None,
        h,  # a non-string is kept so classify_hash can name it
    )


def _iso_key(s: str) -> int:
    """`2019-12-06T18:36:12.412Z` -> 20191206183612 (0 when it is not an ISO timestamp)."""
    s = s.strip()
    if len(s) < 19 or s[4] != "-" or s[7] != "-" or s[13] != ":":
        return 0
    try:
        return int(s[0:4] + s[5:7] + s[8:10] + s[11:13] + s[14:16] + s[17:19])
    except ValueError:
        return 0


def password_set_date_key(obj: dict) -> int:
    """`password_set_date` as a sortable YYYYMMDDhhmmss integer (UTC), 0 when absent or unreadable.

    Variants seen in MongoDB-style exports: ``{"$date": "ISO"}``, ``{"$date": {"$numberLong":
    "ms"}}``, ``{"$date": ms}``, a bare ISO string, or epoch milliseconds (seconds when small)."""
    v = obj.get("password_set_date", obj.get("passwordSetDate"))
    if isinstance(v, dict):
        v = v.get("$date")
        if isinstance(v, dict):
            v = v.get("$numberLong")
    if isinstance(v, str):
        t = v.strip()
        if not t.lstrip("-").isdigit():
            return _iso_key(t)
        v = int(t)
    if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0:
        seconds = v / 1000 if v > 1e11 else v
        try:
            return int(time.strftime("%Y%m%d%H%M%S", time.gmtime(seconds)))
        except (OverflowError, OSError, ValueError):
            return 0
    return 0


def row_from_obj(obj: dict, line: int, offset: int) -> PasswordRow:
    """Normalize one decoded password-export line."""
    return PasswordRow(line, offset, *row_fields(obj))


def read_password_rows(path: str | Path, *, as_tuples: bool = False) -> Iterator[PasswordRow | Finding]:
    """Stream the password export: one PasswordRow per non-blank line, or a Finding for a line
    that cannot be used. Hash validation is left to the caller (`classify_hash`) so it can count
    prefixes and costs; rows carry the hash only as long as the caller holds them.

    Blank lines are skipped silently (they carry nothing); BOM and CRLF are tolerated.
    With `as_tuples=True` rows come as (line, offset, row_fields(...)) tuples instead (faster).
    """
    name = Path(path).name
    decode = json.JSONDecoder().decode
    with open_decompressed(path) as fh:
        for line_no, start, raw, size in BoundedLines(fh):
            if raw is None:
                yield Finding(name, line_no, None, Severity.ERROR, "line_too_long", line_too_long(size))
                continue
            data = raw
            if line_no == 1 and data.startswith(UTF8_BOM):
                data = data[3:]
            if not data.strip():
                continue
            try:
                obj = decode(data.decode("utf-8"))
            except (ValueError, UnicodeDecodeError, RecursionError) as exc:
                yield Finding(name, line_no, None, Severity.ERROR, "invalid_json",
                              f"not valid JSON ({json_reason(exc)}); this hash row is skipped")
                continue
            if not isinstance(obj, dict):
                yield Finding(name, line_no, None, Severity.ERROR, "invalid_json",
                              f"expected a JSON object, found a JSON {type(obj).__name__}; row skipped")
                continue
            if has_escaped_surrogate(data):
                obj, bad = scrub_surrogates(obj)
                if bad:
                    yield Finding(name, line_no, bad[0], Severity.WARNING, "invalid_unicode",
                                  f"{', '.join(bad[:5])} held an invalid Unicode escape (a lone surrogate): "
                                  "replaced with U+FFFD")
            fields = row_fields(obj)
            if fields[0] is None and fields[1] is None and fields[2] is None:
                yield Finding(name, line_no, "_id", Severity.ERROR, "missing_user_id",
                              "hash row has no _id.$oid, alt_id or email: it cannot be joined to a user")
                continue
            yield (line_no, start, fields) if as_tuples else PasswordRow(line_no, start, *fields)


class _PlainLines:
    """Line at a byte offset of an uncompressed file (random access is a seek)."""

    def __init__(self, path: Path) -> None:
        self._f = open(path, "rb")  # noqa: SIM115 - closed by close()

    def line_at(self, offset: int) -> tuple[bool, bytes]:
        """(a line starts exactly at `offset`, the bytes from there to the end of that line)."""
        if offset == 0:
            self._f.seek(0)
            starts = True
        else:
            self._f.seek(offset - 1)
            starts = self._f.read(1) == b"\n"
        return starts, self._f.readline(LINE_MAX + 1)

    def close(self) -> None:
        self._f.close()


class _GzipLines:
    """Line at a decompressed byte offset of a gzip file, with random access in bounded time.

    Reading forward only decompresses forward. Every `every` decompressed bytes (1 MiB) a
    checkpoint (the compressed position plus a copy of the zlib state, about 40 KB: ~4% of the
    decompressed size) is kept, so a backwards lookup decompresses at most `every` bytes from the
    nearest checkpoint instead of restarting the file. The importer asks in users-file order,
    which is rarely the password file's order.
    """

    CHUNK = 1 << 14  # compressed bytes per read: small, so a lookup decompresses little

    def __init__(self, path: Path, every: int = 1 << 20) -> None:
        self._f = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._every = every
        self._points: list[tuple[int, int, object]] = []  # (decompressed pos, compressed pos, zlib state)
        self._decs: list[int] = []
        self._restart(0, 0, zlib.decompressobj(31))

    def _restart(self, dec: int, comp: int, state) -> None:
        self._f.seek(comp)
        self._d = state
        self._dec = dec  # decompressed position of the end of _buf
        self._buf = b""
        self._buf_start = dec
        self._eof = False

    def _more(self) -> bool:
        data = self._f.read(self.CHUNK)
        if not data:
            self._eof = True
            return False
        out = self._d.decompress(data)
        while self._d.eof and self._d.unused_data:  # several gzip members in one file
            rest = self._d.unused_data
            self._d = zlib.decompressobj(31)
            out += self._d.decompress(rest)
        self._buf += out
        self._dec += len(out)
        last = self._decs[-1] if self._decs else 0
        if self._dec - last >= self._every:
            self._points.append((self._dec, self._f.tell(), self._d.copy()))
            self._decs.append(self._dec)
        return True

    def line_at(self, offset: int) -> tuple[bool, bytes]:
        i = bisect_left(self._decs, offset) - 1  # the nearest checkpoint strictly before the offset
        behind = offset < self._buf_start or (offset > 0 and offset == self._buf_start)
        if behind or (i >= 0 and self._decs[i] > self._dec):  # backwards, or a long jump forwards
            if i >= 0:
                dec, comp, state = self._points[i]
                self._restart(dec, comp, state.copy())
            else:
                self._restart(0, 0, zlib.decompressobj(31))
        while self._dec <= offset:  # move forward, keeping one byte to see the previous newline
            keep = self._buf[-1:]
            self._buf_start, self._buf = self._dec - len(keep), keep
            if not self._more():
                return False, b""
        rel = offset - self._buf_start
        end = self._buf.find(b"\n", rel)
        while end < 0 and len(self._buf) - rel <= LINE_MAX and self._more():
            end = self._buf.find(b"\n", rel)
        line = self._buf[rel:] if end < 0 else self._buf[rel:end + 1]
        starts = offset == 0 or (rel > 0 and self._buf[rel - 1:rel] == b"\n")
        drop = max(rel - 1, 0)
        self._buf, self._buf_start = self._buf[drop:], self._buf_start + drop
        return starts, line

    def close(self) -> None:
        self._f.close()


class HashReader:
    """Re-read one hash by the byte offset of its line in the (decompressed) password export.

    Plain files seek directly. Gzip files are read forward and checkpointed (see _GzipLines), so
    lookups in any order stay fast. Use as a context manager or call close().
    """

    def __init__(self, path: str | Path, *, checkpoint_every: int = 1 << 20) -> None:
        self.path = Path(path)
        self._every = checkpoint_every
        self._src: _PlainLines | _GzipLines | None = None

    def _source(self) -> _PlainLines | _GzipLines:
        if self._src is None:
            self._src = _GzipLines(self.path, self._every) if is_gzip(self.path) else _PlainLines(self.path)
        return self._src

    def row_at(self, offset: int) -> PasswordRow:
        """The whole normalized row at `offset` (its `line` is unknown here and set to 0)."""
        return row_from_obj(self.obj_at(offset), 0, offset)

    def obj_at(self, offset: int) -> dict:
        """The decoded JSON object of the line that starts at `offset` (raises HashReadError)."""
        if offset < 0:
            raise HashReadError(f"{self.path.name}: negative offset {offset}")
        starts, raw = self._source().line_at(offset)
        if offset == 0 and raw.startswith(UTF8_BOM):
            raw = raw[3:]
        changed = "; the file changed since it was planned (re-run the export check)"
        if not raw:
            raise HashReadError(f"{self.path.name}: byte {offset} is past the end of the file{changed}")
        if not starts:
            raise HashReadError(f"{self.path.name}: no row starts at byte {offset}{changed}")
        if len(raw) > LINE_MAX:
            raise HashReadError(f"{self.path.name}: the row at byte {offset} is longer than a line may be{changed}")
        try:
            obj = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise HashReadError(f"{self.path.name}: the row at byte {offset} is not valid JSON{changed}") from None
        if not isinstance(obj, dict):
            raise HashReadError(f"{self.path.name}: the row at byte {offset} is not a JSON object")
        return obj

    def hash_at(self, offset: int) -> str:
        """The password hash on the line that starts at `offset` (raises HashReadError)."""
        h = self.row_at(offset).password_hash
        if not isinstance(h, str) or not h:
            raise HashReadError(f"{self.path.name}: the row at byte {offset} has no password hash")
        return h

    def close(self) -> None:
        if self._src is not None:
            self._src.close()
            self._src = None

    def __enter__(self) -> HashReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
