"""The Auth0 password-hash export: stream its rows, validate each hash, re-read one hash by offset.

Auth0 support delivers NDJSON (sometimes gzipped) with one row per database user
(api-facts 1.2): ``_id.$oid`` (or ``_ID.$oid``), optional ``alt_id``, ``email`` /
``email_verified`` at the root or in ``identifiers[]``, ``connection`` and ``passwordHash``.
Its sample is pretty-printed, and people convert the file to a JSON array, so every layout is read
(detected from the bytes, never the name), streamed, gzip or not:

- NDJSON (one object per line): a bad line is one ``invalid_json`` finding, the rest is read;
- a JSON array (compact on one line, or pretty), one pretty object, several objects one after
  another: streamed object by object over a sliding buffer (a 1 GB array is never loaded whole);
  rows carry the line their object starts on and its byte offset. Anything that cannot be read
  there (an array cut short, a missing comma, bytes that are not JSON) is one file-level
  ``unreadable_file`` finding saying what the file looks like and how to convert it, and the
  export gate fails: never a partial read behind a passing gate.

Which hash is which, and how it is sent, is ``wizard.core.hashes`` (re-exported here).

Hashes never leave this module except through ``HashReader.hash_at`` at send time: rows keep only
the byte offset of their object so a hash can be re-read from the user's own file.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import time
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from wizard.core.findings import Finding, Severity
from wizard.core.hashes import BCRYPT_RE, HashCheck, classify_hash  # noqa: F401 - re-exported
from wizard.core.lines import LINE_MAX, BoundedLines, line_too_long, parse_json
from wizard.core.records import PasswordRow
from wizard.core.textsafe import has_escaped_surrogate, scrub_surrogates

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"

HASH_KEYS = ("passwordHash", "password_hash", "PasswordHash", "Password Hash")

class HashReadError(Exception):
    """A hash could not be re-read at an offset (file changed, wrong offset, row without hash)."""


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
    """(oid, alt_id, email, email_verified, connection, hash, emails_disagree) of one decoded line:
    the fields of a PasswordRow after `line` and `offset` (plus whether the root email and an
    `identifiers[]` email differ), without building the object (the plan's hot path)."""
    get = obj.get
    email = get("email")
    verified = _bool(get("email_verified"))
    disagree = False
    idents = get("identifiers")
    if not isinstance(email, str) or not email.strip():
        email = None
        for ident in idents or ():
            if isinstance(ident, dict) and ident.get("type") == "email" and isinstance(ident.get("value"), str):
                email = ident["value"]
                if verified is None:
                    verified = _bool(ident.get("verified"))
                break
    elif idents and isinstance(idents, list):
        root = email.strip().lower()
        disagree = any(isinstance(i, dict) and i.get("type") == "email" and isinstance(i.get("value"), str)
                       and i["value"].strip().lower() != root for i in idents)
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
        disagree,
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
    return PasswordRow(line, offset, *row_fields(obj)[:6])


def parse_row(data: bytes) -> object:
    """Decode one row's JSON bytes: the single place rows are parsed (orjson, the stdlib for the
    rows orjson refuses: `lines.parse_json`)."""
    return parse_json(data)


NDJSON, STREAM = "ndjson", "stream"  # layouts: one object per line / objects or an array spread freely
_STREAM_MAX_OBJECT = 16 << 20  # a row larger than this is not a password row: the file is unreadable
_STREAM_CHUNK = 1 << 20
_STREAM_PREV_BYTES = frozenset(bytes([b]) for b in b" \t\r\n[,\xbf")  # bytes that may precede a row's '{' (\xbf: end of a BOM)
_WS_RE = re.compile(r"[ \t\r\n]*")


def password_layout(path: str | Path) -> str:
    """NDJSON when the first non-blank line is a whole JSON value, else STREAM (pretty objects,
    JSON arrays): decided from the first bytes, the same way by the reader and the HashReader."""
    with open_decompressed(path) as fh:
        head = fh.read(1 << 16)
    if head.startswith(UTF8_BOM):
        head = head[3:]
    body = head.lstrip()
    if body[:1] == b"[":
        return STREAM
    if body[:1] != b"{":
        return NDJSON
    first = body.split(b"\n", 1)[0]
    try:
        json.loads(first)
    except RecursionError:  # one absurdly deep row: still a line of NDJSON (the row is a finding)
        return NDJSON
    except (ValueError, UnicodeDecodeError):
        return STREAM if (b"\n" in body or len(head) < (1 << 16)) else NDJSON
    return NDJSON


class _Unreadable(Exception):
    """A streamed layout stops being JSON at `line`: the whole file is refused."""

    def __init__(self, line: int, what: str) -> None:
        super().__init__(what)
        self.line = line
        self.what = what


def _stream_objects(fh: BinaryIO) -> Iterator[tuple[int, int, bytes]]:
    """(line, byte offset, the value's bytes) for every top-level value of a JSON array or of a
    sequence of JSON values. The bytes are decoded as latin-1 (one character per byte) only to find
    where each value ends (JSONDecoder.raw_decode); `parse_row` then decodes the bytes as UTF-8, so
    offsets are exact and one function parses every row. Raises _Unreadable."""
    raw_decode = json.JSONDecoder().raw_decode
    buf, base, pos, line, eof = "", 0, 0, 1, False
    in_array = None  # unknown until the first value: '[' opens an array
    want_comma = False

    def fill() -> bool:
        nonlocal buf, base, pos, eof
        chunk = fh.read(_STREAM_CHUNK)
        buf, base, pos = buf[pos:] + chunk.decode("latin-1"), base + pos, 0
        if not chunk:
            eof = True
        return bool(chunk)

    def skip_ws() -> None:
        nonlocal pos, line
        while True:
            end = _WS_RE.match(buf, pos).end()
            line += buf.count("\n", pos, end)
            pos = end
            if pos < len(buf) or not fill():
                return

    fill()
    if buf.startswith("\xef\xbb\xbf"):
        pos = 3
    n = 0
    while True:
        skip_ws()
        if pos >= len(buf):
            if in_array:
                raise _Unreadable(line, "the JSON array is not closed with ']' (the file is cut short)")
            return
        c = buf[pos]
        if in_array is None:
            in_array = c == "["
            if in_array:
                pos += 1
                continue
        if in_array and c == "]":
            pos += 1
            skip_ws()
            if pos < len(buf):
                raise _Unreadable(line, "there is data after the closing ']' of the JSON array")
            return
        if want_comma:
            if in_array and c != ",":
                raise _Unreadable(line, f"expected ',' or ']' after row {n} of the JSON array")
            if in_array:
                pos += 1
                want_comma = False
                continue
        if c != "{":
            raise _Unreadable(line, f"expected a JSON object (a row) but found {c!r}")
        while True:
            try:
                _, end = raw_decode(buf, pos)
                break
            except json.JSONDecodeError as exc:
                if eof:
                    raise _Unreadable(line, f"row {n + 1} is not valid JSON, or the file is cut short in "
                                            f"its middle ({exc.msg})") from None
                if len(buf) - pos > _STREAM_MAX_OBJECT:
                    raise _Unreadable(line, f"row {n + 1} is not valid JSON ({exc.msg})") from None
                fill()
        n += 1
        yield line, base + pos, buf[pos:end].encode("latin-1")
        line += buf.count("\n", pos, end)
        pos = end
        want_comma = True


def _layout_hint(name: str) -> str:
    return (f"convert it to one row per line, e.g. `jq -c '.[]?, objects' {name} > rows.ndjson` "
            "(or ask Auth0 support for the export again)")


def read_password_rows(path: str | Path, *, as_tuples: bool = False) -> Iterator[PasswordRow | Finding]:
    """Stream the password export: one PasswordRow per row, or a Finding for a row that cannot be
    used. Hash validation is left to the caller (`classify_hash`) so it can count prefixes and
    costs; rows carry the hash only as long as the caller holds them.

    NDJSON: blank lines are skipped silently (they carry nothing); BOM and CRLF are tolerated.
    Other layouts: see the module docstring; a file that stops being JSON yields one file-level
    `unreadable_file` finding (line None) after the rows read before it.
    With `as_tuples=True` rows come as (line, offset, row_fields(...)) tuples instead (faster).
    """
    name = Path(path).name
    if password_layout(path) == STREAM:
        yield from _read_stream(path, name, as_tuples)
        return
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
                obj = parse_row(data)
            except (ValueError, UnicodeDecodeError, RecursionError) as exc:
                yield Finding(name, line_no, None, Severity.ERROR, "invalid_json",
                              f"not valid JSON ({json_reason(exc)}); this hash row is skipped")
                continue
            yield from _row_or_finding(name, line_no, start, obj, as_tuples, data)


def _row_or_finding(name: str, line: int, offset: int, obj: object, as_tuples: bool, data: bytes = b""):
    if not isinstance(obj, dict):
        yield Finding(name, line, None, Severity.ERROR, "invalid_json",
                      f"expected a JSON object, found a JSON {type(obj).__name__}; row skipped")
        return
    if has_escaped_surrogate(data):
        obj, bad = scrub_surrogates(obj)
        if bad:
            yield Finding(name, line, bad[0], Severity.WARNING, "invalid_unicode",
                          f"{', '.join(bad[:5])} held an invalid Unicode escape (a lone surrogate): "
                          "replaced with U+FFFD")
    fields = row_fields(obj)
    if fields[0] is None and fields[1] is None and fields[2] is None:
        yield Finding(name, line, "_id", Severity.ERROR, "missing_user_id",
                      "hash row has no _id.$oid, alt_id or email: it cannot be joined to a user")
        return
    yield (line, offset, fields) if as_tuples else PasswordRow(line, offset, *fields[:6])


def _read_stream(path: str | Path, name: str, as_tuples: bool):
    with open_decompressed(path) as fh:
        try:
            for line, offset, data in _stream_objects(fh):
                try:
                    obj = parse_row(data)
                except (ValueError, UnicodeDecodeError, RecursionError) as exc:
                    raise _Unreadable(line, f"the row on line {line} is not valid JSON text "
                                            f"({json_reason(exc)})") from None
                yield from _row_or_finding(name, line, offset, obj, as_tuples, data)
        except _Unreadable as exc:
            yield Finding(name, None, None, Severity.ERROR, "unreadable_file",
                          f"cannot read {name}: it holds pretty-printed JSON or a JSON array, and from "
                          f"line {exc.line} on {exc.what}; no row of it is used. Fix the file, or "
                          + _layout_hint(name))


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

    def span_at(self, offset: int, n: int) -> tuple[bytes, bytes]:
        """(the byte before `offset`, up to `n` bytes from `offset`)."""
        self._f.seek(max(offset - 1, 0))
        prev = self._f.read(1) if offset else b""
        return prev, self._f.read(n)

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

    def _seek(self, offset: int) -> int | None:
        """Make _buf hold `offset` (and the byte before it); its index in _buf, None past the end."""
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
                return None
        return offset - self._buf_start

    def _drop_before(self, rel: int) -> None:
        drop = max(rel - 1, 0)
        self._buf, self._buf_start = self._buf[drop:], self._buf_start + drop

    def span_at(self, offset: int, n: int) -> tuple[bytes, bytes]:
        rel = self._seek(offset)
        if rel is None:
            return b"", b""
        while len(self._buf) - rel < n and self._more():
            pass
        prev = self._buf[rel - 1:rel] if rel > 0 else b""
        data = self._buf[rel:rel + n]
        self._drop_before(rel)
        return prev, data

    def line_at(self, offset: int) -> tuple[bool, bytes]:
        rel = self._seek(offset)
        if rel is None:
            return False, b""
        end = self._buf.find(b"\n", rel)
        while end < 0 and len(self._buf) - rel <= LINE_MAX and self._more():
            end = self._buf.find(b"\n", rel)
        line = self._buf[rel:] if end < 0 else self._buf[rel:end + 1]
        starts = offset == 0 or (rel > 0 and self._buf[rel - 1:rel] == b"\n")
        self._drop_before(rel)
        return starts, line

    def close(self) -> None:
        self._f.close()


class _HashIndex:
    """Every row's hash of a gzipped NDJSON password export by the row's decompressed byte offset,
    read in one streaming pass and packed in memory (about 76 bytes a row: 1M rows in ~80 MB).
    A gzip stream has no random access: lookups in the users file's order, which is rarely the
    hash file's, cost up to a checkpoint's worth of decompression each (0.5 ms; 8 minutes per 1M
    users); from here they are a binary search. Nothing is written anywhere; it lives as long as
    the reader. A row without a usable hash is left out (the reader's lookup then says why)."""

    def __init__(self, fh: BinaryIO) -> None:
        self._offsets = array("q")  # row starts, ascending (the stream's order)
        self._ends = array("q")  # end of each row's hash in _blob
        self._blob = bytearray()
        with contextlib.suppress(OSError, EOFError, zlib.error):  # damaged from here: rows before it stay
            for _line, start, raw, _size in BoundedLines(fh):
                if raw is None:
                    continue
                data = raw[3:] if start == 0 and raw.startswith(UTF8_BOM) else raw
                try:
                    obj = parse_row(data)
                except (ValueError, UnicodeDecodeError, RecursionError):
                    continue
                if not isinstance(obj, dict) or has_escaped_surrogate(data):
                    continue  # the reader's own path handles what is unusual
                h = row_fields(obj)[5]
                if isinstance(h, str) and h:
                    self._blob += h.encode("utf-8")
                    self._offsets.append(start)
                    self._ends.append(len(self._blob))

    def __len__(self) -> int:
        return len(self._offsets)

    def get(self, offset: int) -> str | None:
        i = bisect_left(self._offsets, offset)
        if i == len(self._offsets) or self._offsets[i] != offset:
            return None
        return self._blob[self._ends[i - 1] if i else 0:self._ends[i]].decode("utf-8")


class HashReader:
    """Re-read one hash by the byte offset of its row in the (decompressed) password export, in
    every layout `read_password_rows` reads (a line of NDJSON, an object of an array or stream).

    Plain files seek directly. Gzip files are read forward and checkpointed (see _GzipLines), so
    lookups in any order stay fast; with `index_gzip` (the importer: a lookup per user) a gzipped
    NDJSON export is read once into a `_HashIndex` at the first lookup instead. Use as a context
    manager or call close().
    """

    def __init__(self, path: str | Path, *, checkpoint_every: int = 1 << 20, index_gzip: bool = False) -> None:
        self.path = Path(path)
        self._every = checkpoint_every
        self._src: _PlainLines | _GzipLines | None = None
        self._layout: str | None = None
        self._index_gzip = index_gzip
        self._index: _HashIndex | None = None

    def _source(self) -> _PlainLines | _GzipLines:
        if self._src is None:
            self._src = _GzipLines(self.path, self._every) if is_gzip(self.path) else _PlainLines(self.path)
        return self._src

    def row_at(self, offset: int) -> PasswordRow:
        """The whole normalized row at `offset` (its `line` is unknown here and set to 0)."""
        return row_from_obj(self.obj_at(offset), 0, offset)

    def obj_at(self, offset: int) -> dict:
        """The decoded JSON object of the row that starts at `offset` (raises HashReadError)."""
        if offset < 0:
            raise HashReadError(f"{self.path.name}: negative offset {offset}")
        if self._layout is None:
            self._layout = password_layout(self.path)
        if self._layout == STREAM:
            return self._stream_obj_at(offset)
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
            obj = parse_row(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise HashReadError(f"{self.path.name}: the row at byte {offset} is not valid JSON{changed}") from None
        if not isinstance(obj, dict):
            raise HashReadError(f"{self.path.name}: the row at byte {offset} is not a JSON object")
        return obj

    def _stream_obj_at(self, offset: int) -> dict:
        """The object starting at `offset` of an array / pretty layout: read until it closes."""
        changed = "; the file changed since it was planned (re-run the export check)"
        raw_decode = json.JSONDecoder().raw_decode
        n = 1 << 16
        while True:
            prev, data = self._source().span_at(offset, n)
            if not data:
                raise HashReadError(f"{self.path.name}: byte {offset} is past the end of the file{changed}")
            if data[:1] != b"{" or (offset and prev not in _STREAM_PREV_BYTES):
                raise HashReadError(f"{self.path.name}: no row starts at byte {offset}{changed}")
            try:
                _, end = raw_decode(data.decode("latin-1"))
                break
            except json.JSONDecodeError:
                if len(data) < n or n >= _STREAM_MAX_OBJECT:
                    raise HashReadError(f"{self.path.name}: the row at byte {offset} is not valid JSON"
                                        f"{changed}") from None
                n *= 4
        try:
            obj = parse_row(data[:end])
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise HashReadError(f"{self.path.name}: the row at byte {offset} is not valid JSON{changed}") from None
        return obj  # an object: it starts with '{'

    def hash_at(self, offset: int) -> str:
        """The password hash on the line that starts at `offset` (raises HashReadError)."""
        if self._index_gzip:
            self._index_gzip = False  # one attempt
            if is_gzip(self.path) and password_layout(self.path) == NDJSON:
                with open_decompressed(self.path) as fh:
                    self._index = _HashIndex(fh)
        if self._index is not None and (h := self._index.get(offset)) is not None:
            return h
        h = self.row_at(offset).password_hash
        if not isinstance(h, str) or not h:
            raise HashReadError(f"{self.path.name}: the row at byte {offset} has no password hash")
        return h

    def close(self) -> None:
        self._index = None
        if self._src is not None:
            self._src.close()
            self._src = None

    def __enter__(self) -> HashReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
