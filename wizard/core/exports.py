"""Read the Auth0 users export as a stream of normalized users and findings.

Formats (detected from the bytes, never from the file name): gzip (magic ``1f 8b``, one or
several members) around either NDJSON (the Management API job output, also what the extension
wrote), a JSON array (the first non-space byte is ``[``; streamed element by element) or
pretty-printed objects one after another (``jq .`` output; read object by object, with a note).
A UTF-8 BOM, CRLF line ends and blank lines are tolerated: blank lines are skipped and counted
(``UsersScan.blank_lines``), they are not findings. Each line may use either key scheme
(api-facts 1.1), and a file may mix them; keys spelt loosely ("Email Verified ", "email verified",
"EMAIL") are read too, with one ``key_spelling`` note per spelling (never one per line).

Files that are not JSON text at all (CSV, ZIP, PGP, UTF-16, gzip twice) get one file-level
``not_json_export`` finding saying what the file is and how to fix it, not a finding per line. A
line with bytes that are not UTF-8 is skipped with its line, byte position and (when readable) user
id; a gzip cut short yields every complete line, then a file-level ``unreadable_file`` naming the
last complete line; a plain file whose last line stops mid-object is reported the same way.
Booleans accept true/false, "true"/"false" (any case), "1"/"0", 1/0, "yes"/"no"; anything else is
an ``unreadable_flag`` warning (email_verified: not verified; blocked: blocked, the safe side).

Line numbers are 1-based lines of the decompressed file; in a JSON array they are the element's
1-based index (the finding message says so).

Memory: users are yielded one at a time; the duplicate checks keep one 64-bit key per user in
compact arrays (Python ``hash()`` of the id / normalized email, about 24 bytes per user). Two
different strings sharing a 64-bit key is possible in theory (about 1 in 10^7 for a million
users: far below the odds of a typo in the export, and stated here rather than hidden).
"""

from __future__ import annotations

import codecs
import json
import re
import zlib
from array import array
from collections.abc import Iterator
from pathlib import Path

from wizard.core.findings import Finding, Severity
from wizard.core.lines import BoundedLines, line_too_long, parse_json
from wizard.core.normalize import (
    DATABASE_PROVIDER,
    EXTERNAL_ID_MAX,
    NAME_MAX,
    PASSWORDLESS_PROVIDERS,
    SOCIAL_PROVIDERS,
    email_problem,
    external_id_problem,
    invisible_character,
    is_valid_user_id,
    lookalike_key,
    metadata_fits,
    normalize_email,
    provider_of,
    workos_metadata,
)
from wizard.core.passwords import (
    UTF8_BOM,
    is_gzip,
    json_reason,
    open_decompressed,
    sniff_container,
)
from wizard.core.records import Auth0User, Identity
from wizard.core.textsafe import _ESCAPED_SURROGATE_TEXT, has_escaped_surrogate, scrub_surrogates

_WS = re.compile(r"\s*")
_ARRAY_MAX_ELEMENT = 16 << 20  # a single JSON array element larger than this is treated as broken
_CHUNK = 1 << 20

# file-level problems: they make the whole file unusable (the export gate fails)
FILE_LEVEL_CODES = ("unreadable_file", "no_users", "array_unreadable", "not_json_export")


_JSON_TYPES = {int: "number", float: "number", bool: "boolean", list: "array", dict: "object"}


_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f"})
_UNREADABLE = object()  # a flag value that is present but means neither true nor false


def _flag(v: object) -> object:
    """A boolean field as written in the wild: JSON true/false, the strings "true"/"false" (the
    extension's CSV-minded output, any case and spacing), "1"/"0", "yes"/"no" and the numbers 1/0.
    None when absent or null; `_UNREADABLE` for anything else (the caller reports it)."""
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, str):
        s = v.strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
        return None if not s else _UNREADABLE
    if isinstance(v, (int, float)) and v in (0, 1):
        return v == 1
    return _UNREADABLE


def _bool(v: object) -> bool | None:
    f = _flag(v)
    return None if f is _UNREADABLE else f  # type: ignore[return-value]


def _shown(v: object) -> str:
    """A short, safe rendering of a flag value for a message (never a whole object)."""
    if isinstance(v, str):
        return repr(v[:20] + ("..." if len(v) > 20 else ""))
    return f"a JSON {_JSON_TYPES.get(type(v), type(v).__name__)}" if isinstance(v, (dict, list)) else repr(v)


# every key an export line normally holds (api-facts 1.1): lines with only these take the fast path
API_KEYS = frozenset({
    "user_id", "email", "email_verified", "given_name", "family_name", "name", "nickname", "username",
    "phone_number", "phone_verified", "picture", "identities", "app_metadata", "user_metadata",
    "blocked", "created_at", "updated_at", "last_login", "last_ip", "logins_count", "multifactor",
    "multifactor_last_modified", "connection", "last_password_reset", "locale", "tenant",
})
# the Import/Export extension's display names -> Management API names (api-facts 1.1). Its default
# columns (auth0-user-import-export-extension client/reducers/export.js): Id, Given Name, Family
# Name, Nickname, Name, Email, Email Verified, Picture, Connection, Created At, Updated At; any
# other field a person adds is titled the same way ("Last Login", "Logins Count", "Phone Number").
EXTENSION_KEYS = {k.replace("_", " ").title(): k for k in sorted(API_KEYS)}
EXTENSION_KEYS.update({"Id": "user_id", "Multifactor": "multifactor", "Last Ip": "last_ip",
                       "Last IP": "last_ip", "Identities": "identities"})
_EXTENSION_KEY_SET = frozenset(EXTENSION_KEYS)
_KNOWN_KEYS = API_KEYS | _EXTENSION_KEY_SET


def _loose(key: str) -> str:
    """A key as people mistype it: case, outer and repeated spaces, '-' or ' ' for '_'."""
    return "_".join(key.replace("-", " ").replace("_", " ").split()).lower()


# loose spelling -> Management API name ("Email Verified ", "email verified", "EMAIL", "id"...)
_LOOSE_KEYS = {_loose(k): k for k in API_KEYS}
_LOOSE_KEYS.update({_loose(k): v for k, v in EXTENSION_KEYS.items()})
_LOOSE_KEYS["id"] = "user_id"
_LOOSE_KEYS["userid"] = "user_id"
_LOOSE_KEYS["emailverified"] = "email_verified"


def _canonical(obj: dict, renamed: dict | None = None) -> dict:
    """`to_api_keys` plus keys spelt loosely (other case, stray spaces); each loose key read is
    recorded in `renamed` (original key -> API name) so the scan can say so once per file."""
    if _KNOWN_KEYS.issuperset(obj):
        return to_api_keys(obj)
    out = to_api_keys(obj)
    for k in obj:
        if k in _KNOWN_KEYS or not isinstance(k, str) or k.startswith("_"):  # `_id`: a hash-export row
            continue
        api = _LOOSE_KEYS.get(_loose(k))
        if api is None:
            continue
        if out.get(api) is None:
            if out is obj:
                out = dict(obj)
            out[api] = obj[k]
        if renamed is not None:
            renamed[k] = api
    return out


def to_api_keys(obj: dict) -> dict:
    """One key scheme: extension display names become Management API names, unless the line also
    has the API name with a value (a line may mix both schemes)."""
    if _EXTENSION_KEY_SET.isdisjoint(obj):
        return obj
    out = dict(obj)
    for ext, api in EXTENSION_KEYS.items():
        if ext in obj and out.get(api) is None:
            out[api] = obj[ext]
    return out


def _str(v: object) -> str | None:
    if isinstance(v, str):
        v = v.strip()
        return v or None
    return None


def _from_json_text(v: object, kind: type, opener: str):
    """The `kind` (dict or list) that JSON text `v` holds, else None: the export extension (and
    hand-made files) may write an object or array field as text."""
    if isinstance(v, str) and v.lstrip().startswith(opener):
        try:
            parsed = json.loads(v)
        except ValueError:
            return None
        return parsed if isinstance(parsed, kind) else None
    return None


def _dict(v: object) -> dict | None:
    return v if isinstance(v, dict) else _from_json_text(v, dict, "{")


def _identity_list(raw: object) -> list | None:
    """`identities` as a list, also when held as JSON text."""
    return raw if isinstance(raw, list) else _from_json_text(raw, list, "[")


def _user_id_from_identities(obj: dict) -> str | None:
    """`provider|user_id` of the first identity that has both (some exports omit the root id)."""
    for ident in _identity_list(obj.get("identities")) or ():
        if isinstance(ident, dict):
            provider, iid = ident.get("provider"), ident.get("user_id")
            if isinstance(iid, int) and not isinstance(iid, bool):
                iid = str(iid)
            if isinstance(provider, str) and provider.strip() and isinstance(iid, str) and iid.strip():
                return f"{provider.strip()}|{iid.strip()}"
    return None


def _identities(obj: dict, user_id: str) -> tuple[Identity, ...]:
    raw = _identity_list(obj.get("identities"))
    out = []
    if raw is not None:
        for i in raw:
            if not isinstance(i, dict):
                continue
            provider = i.get("provider")
            provider = provider if isinstance(provider, str) and provider else None
            conn = i.get("connection")
            conn = conn if isinstance(conn, str) else ""
            if provider is None:
                provider = provider_of(user_id) if len(out) == 0 else ""
            social = _bool(i.get("isSocial"))
            if social is None:  # missing: inferred from the provider (auth0/email/sms/enterprise: no)
                social = provider in SOCIAL_PROVIDERS
            iid = i.get("user_id")
            out.append(Identity(conn, provider, "" if iid is None else str(iid), social))
        if out:
            return tuple(out)
    conn = _str(obj.get("connection"))
    provider = provider_of(user_id)
    if not provider and conn is None:
        return ()
    return (Identity(conn or "", provider, user_id.split("|", 1)[-1], provider in SOCIAL_PROVIDERS),)


def identity_kind(ident: Identity) -> str:
    """database | social | enterprise | passwordless (unknown non-social providers count as
    enterprise: they sign in through a connection WorkOS must provide as SSO)."""
    if ident.provider == DATABASE_PROVIDER and not ident.is_social:
        return "database"
    if ident.is_social or ident.provider in SOCIAL_PROVIDERS:
        return "social"
    if ident.provider in PASSWORDLESS_PROVIDERS:
        return "passwordless"
    return "enterprise"  # samlp, waad, adfs, oidc, okta, ... (normalize.ENTERPRISE_PROVIDERS) and unknown


def user_from_obj(obj: dict, line: int, file: str, where: str = "",
                  renamed: dict | None = None) -> tuple[Auth0User | None, list[Finding]]:
    """Normalize one decoded line (either key scheme, keys matched loosely). Returns the user (None
    when the line has no usable user id) and the findings about it. `where` qualifies the line in
    messages; `renamed`, when given, collects loosely spelt keys that were read (see _canonical)."""
    findings: list[Finding] = []
    obj = _canonical(obj, renamed)
    get = obj.get
    uid = get("user_id")
    if uid is None or (isinstance(uid, str) and not uid.strip()):
        uid = _user_id_from_identities(obj)
        if uid is None:
            hint = ("this looks like a password-export row: pass it with --passwords, and the users "
                    "export with --users" if ("passwordHash" in obj or "_id" in obj or "_ID" in obj)
                    else "re-export with the user_id field")
            findings.append(Finding(file, line, "user_id", Severity.ERROR, "missing_user_id",
                                    f"{where}no user_id (or Id): the line cannot be imported or joined; {hint}"))
            return None, findings
        findings.append(Finding(file, line, "user_id", Severity.INFO, "user_id_from_identities",
                                f"{where}no user_id at the root: using identities[0] (provider|user_id) "
                                f"= {uid!r} as the Auth0 id", uid))
    if not isinstance(uid, str) or not is_valid_user_id(uid):
        if isinstance(uid, str):
            shown = repr(uid) if len(uid) <= 80 else f"of {len(uid)} characters"
            what = f"user_id {shown} is not an Auth0 id of the form 'provider|id'"
        else:
            what = f"user_id is a JSON {_JSON_TYPES.get(type(uid), type(uid).__name__)}, not a string"
        findings.append(Finding(file, line, "user_id", Severity.ERROR, "malformed_user_id",
                                f"{where}{what}; the line is skipped"))
        return None, findings
    id_problem = external_id_problem(uid)
    if id_problem == "non_ascii_external_id":
        findings.append(Finding(file, line, "user_id", Severity.WARNING, id_problem,
                                f"{where}user_id holds non-ASCII characters, which a WorkOS external_id "
                                "cannot: the user is imported without external_id, with the Auth0 id in "
                                "metadata.auth0_user_id and id-map.csv (re-runs find it by email)", uid))
    elif id_problem == "external_id_too_long":
        findings.append(Finding(file, line, "user_id", Severity.WARNING, id_problem,
                                f"{where}user_id is {len(uid)} characters; a WorkOS external_id allows at "
                                f"most {EXTERNAL_ID_MAX}: the user is imported without external_id, with the "
                                "Auth0 id in metadata.auth0_user_id and id-map.csv (re-runs find it by email)",
                                uid))
    email_raw = get("email")
    email = None
    if email_raw is None or (isinstance(email_raw, str) and not email_raw.strip()):
        findings.append(Finding(file, line, "email", Severity.ERROR, "missing_email",
                                f"{where}no email: WorkOS users need an email address, so this user "
                                "cannot be imported", uid))
    elif not isinstance(email_raw, str):
        findings.append(Finding(file, line, "email", Severity.ERROR, "invalid_email",
                                f"{where}email is not a string; fix it in Auth0 or the export", uid))
    elif (hidden := invisible_character(email_raw)) is not None:
        findings.append(Finding(file, line, "email", Severity.ERROR, "email_invisible_character",
                                f"{where}email holds an invisible or control character ({hidden}): it is "
                                "not sent (it would be another address than the one the person types); "
                                "fix it in Auth0 or the export", uid))
        email = email_raw.strip()
    elif (problem := email_problem(email_raw)) is not None:
        findings.append(Finding(file, line, "email", Severity.ERROR, "invalid_email",
                                f"{where}email is not a valid address ({problem.rstrip('.')}); fix it in "
                                "Auth0 or the export", uid))
        email = email_raw.strip()
    else:
        email = email_raw.strip()
    identities = _identities(obj, uid)
    conn = None
    for ident in identities:
        if ident.provider == DATABASE_PROVIDER and not ident.is_social:
            conn = ident.connection or None
            break
    if conn is None and identities:
        conn = identities[0].connection or None
    verified = _flag(get("email_verified"))
    if verified is _UNREADABLE:
        findings.append(Finding(file, line, "email_verified", Severity.WARNING, "unreadable_flag",
                                f"{where}email_verified is {_shown(get('email_verified'))}, neither true nor "
                                "false: treated as not verified (never guessed)", uid))
        verified = None
    blocked = _flag(get("blocked"))
    if blocked is _UNREADABLE:
        findings.append(Finding(file, line, "blocked", Severity.WARNING, "unreadable_flag",
                                f"{where}blocked is {_shown(get('blocked'))}, neither true nor false: "
                                "treated as blocked (the safe side); fix the value to import this user", uid))
        blocked = True
    mfa = get("multifactor")
    names = {}
    for key in ("given_name", "family_name", "name", "nickname", "username"):
        value = _str(get(key))
        if value is not None and len(value) > NAME_MAX:
            findings.append(Finding(file, line, key, Severity.WARNING, "name_too_long",
                                    f"{where}{key} is {len(value):,} characters, more than the {NAME_MAX} a "
                                    "name may have here: it is not sent", uid))
            value = None
        names[key] = value
    user = Auth0User(
        line=line,
        user_id=uid,
        email=email,
        email_verified=verified,  # type: ignore[arg-type]
        given_name=names["given_name"],
        family_name=names["family_name"],
        name=names["name"],
        nickname=names["nickname"],
        username=names["username"],
        phone_number=_str(get("phone_number")),  # (dict.get + _str: ~0.1 us each, kept readable)
        connection=conn,
        identities=identities,
        blocked=blocked is True,
        multifactor=tuple(m for m in mfa if isinstance(m, str)) if isinstance(mfa, list) else (),
        app_metadata=_dict(get("app_metadata")),
        user_metadata=_dict(get("user_metadata")),
        created_at=_str(get("created_at")),
        last_login=_str(get("last_login")),
    )
    return user, findings


def metadata_sources(user: Auth0User) -> list[tuple[str, dict | None]]:
    """Where copied metadata comes from, in priority order (user_metadata wins a key clash)."""
    return [("user_metadata", user.user_metadata), ("app_metadata", user.app_metadata)]


def sorted_order(keys: array, skip: set[int] | None = None) -> array:
    """Indexes of the non-zero `keys`, ordered by key (ties in index order), in a compact array.

    Sorting a million indexes with a key function makes a million temporary int objects (about
    80 MB); bucketing by the top 8 bits first keeps that transient to 1/256 of it."""
    buckets = [array("l") for _ in range(256)]
    for i, k in enumerate(keys):
        if k and not (skip and i in skip):
            buckets[(k >> 56) + 128].append(i)
    out = array("l")
    get = keys.__getitem__
    for b in buckets:
        if b:
            out.extend(sorted(b, key=get))
    return out


def string_key(s: str) -> int:
    """A 64-bit key for a string, within this process (the compact sorted-array indexes)."""
    k = hash(s)
    return k if k != 0 else 1  # 0 means "no key"



class UsersScan:
    """One streaming pass over a users export. Iterate it for Auth0User / Finding objects; after
    the pass, `duplicate_id_indexes()` and `email_groups()` answer from compact key arrays.

    Users are numbered by the order they are yielded (0-based `index`), which is stable across
    passes over the same file.
    """

    def __init__(self, path: str | Path, *, metadata_keys: tuple[str, ...] | None = None,
                 check_metadata: bool = True, index: bool = True) -> None:
        self.path = Path(path)
        self.name = self.path.name
        self.metadata_keys = metadata_keys
        self.check_metadata = check_metadata
        self.index = index  # False: a re-read that needs no duplicate indexes (the plan's pass 2)
        self.format = "ndjson"
        self.gzipped = False
        self.lines_read = 0  # physical lines (NDJSON) or elements (JSON array), blank ones included
        self.blank_lines = 0
        self.rejected_lines = 0  # lines that yielded no user (invalid JSON, no/malformed user id)
        self.users = 0
        self.file_error: str | None = None
        self.line_of = array("l")
        self.renamed: dict[str, str] = {}  # loosely spelt keys read (original -> API name)
        self._id_keys = array("q")
        self._email_keys = array("q")
        self._lookalike_keys = array("q")  # NFKC + case folding: equal keys look alike to a person
        self._non_ascii_emails = False

    # ------------------------------------------------------------------ reading
    def _detect(self) -> None:
        self.gzipped = is_gzip(self.path)
        other = sniff_container(self.path)
        if other is not None:
            self.format, self.file_error = "other", other
            return
        with open_decompressed(self.path) as fh:
            head = fh.read(4096)
        if head.startswith(UTF8_BOM):
            head = head[3:]
        start = head.lstrip()
        if start[:1] == b"[":
            self.format = "json-array"
            return
        first = start.split(b"\n", 1)[0].strip()
        if first == b"{":  # pretty-printed objects (`jq . export.json`): one object over many lines
            self.format = "json-stream"
        elif first and first[:1] != b"{" and b"," in first and _looks_like_csv_header(first):
            self.format = "csv"

    def __iter__(self) -> Iterator[Auth0User | Finding]:
        try:
            self._detect()
        except (OSError, EOFError, zlib.error) as exc:
            yield self._unreadable(exc, None)
            return
        if self.format == "other":
            yield Finding(self.name, None, None, Severity.ERROR, "not_json_export", f"{self.file_error}")
            return
        if self.format == "csv":
            self.file_error = (f"{self.name} is a CSV file (its first line is a header of column names); "
                               "only NDJSON or a JSON array is read")
            yield Finding(self.name, 1, None, Severity.ERROR, "not_json_export",
                          f"{self.file_error}: export the users as JSON (Management API export job with "
                          "format \"json\", or the extension's JSON option) and point --users at that file")
            return
        if self.format == "json-array":
            yield from self._scan(self._array_items(), "element {n} of the JSON array: ")
        elif self.format == "json-stream":
            yield from self._scan(self._array_items(stream=True), "object {n} of the file: ")
        else:
            yield from self._scan(self._ndjson_items(), "")

    def _unreadable(self, exc: BaseException, line: int | None) -> Finding:
        """A file-level error; `line` is the last line (or element) read completely, if any."""
        corrupt = isinstance(exc, (EOFError, zlib.error)) or "gzip" in str(exc).lower() or \
            "compressed" in str(exc).lower()
        what = "gzip data is corrupt or cut short (an interrupted download?)" if corrupt else str(exc)
        unit = "line" if self.format == "ndjson" else "element"
        after = (f" after {unit} {line}, the last complete one ({unit}s 1-{line} were read and checked)"
                 if line else " before its first complete line")
        self.file_error = f"cannot read {self.name}: {what}{after}"
        return Finding(self.name, None, None, Severity.ERROR, "unreadable_file",
                       f"{self.file_error}; download the export again")

    def _ndjson_items(self) -> Iterator[tuple[int, object]]:
        """(line number, decoded object or the exception) for every non-blank line; lines past
        `lines.LINE_MAX` are skipped unread, blank runs are counted in bulk (`lines.BoundedLines`)."""
        loads = json.JSONDecoder().decode

        def slow(raw: bytes) -> object:  # what orjson refuses: the stdlib's answer and error
            return loads(raw.decode("utf-8"))

        with open_decompressed(self.path) as fh:
            reader = BoundedLines(fh)
            try:
                for n, _offset, raw, size in reader:
                    if raw is None:
                        yield n, _TooLong(size)
                        continue
                    if n == 1 and raw.startswith(UTF8_BOM):
                        raw = raw[3:]
                    try:
                        obj = parse_json(raw, slow)
                    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
                        if not raw.strip():
                            self.blank_lines += 1
                            continue
                        if isinstance(exc, UnicodeDecodeError):
                            yield n, _bad_utf8(raw, exc, loads)
                        elif not raw.endswith(b"\n") and _looks_cut(exc):
                            self.lines_read = reader.lines
                            self.blank_lines += reader.blank
                            yield n, _CutShort(exc)  # the last line stops mid-object: file cut short
                            return
                        else:
                            yield n, exc
                        continue
                    if has_escaped_surrogate(raw):
                        obj, fields = scrub_surrogates(obj)
                        if fields:
                            yield n, _Surrogates(fields)
                    yield n, obj
            except (OSError, EOFError, zlib.error) as exc:
                self.lines_read = reader.lines
                self.blank_lines += reader.blank
                yield reader.lines, _FileError(exc)  # the last line read completely
                return
            self.lines_read = reader.lines
            self.blank_lines += reader.blank

    def _array_items(self, stream: bool = False) -> Iterator[tuple[int, object]]:
        """Stream a JSON array element by element with JSONDecoder.raw_decode over text chunks.
        `stream`: no brackets or commas, just JSON objects one after another (pretty-printed)."""
        decoder = json.JSONDecoder()
        dec = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
        buf, pos, eof, started, want_comma, idx = "", 0, False, stream, False, 0
        with open_decompressed(self.path) as fh:

            def fill() -> None:
                nonlocal buf, pos, eof
                chunk = fh.read(_CHUNK)
                if not chunk:
                    eof = True
                    buf = buf[pos:] + dec.decode(b"", final=True)
                else:
                    buf = buf[pos:] + dec.decode(chunk)
                pos = 0

            try:
                while True:
                    pos = _WS.match(buf, pos).end()
                    if pos >= len(buf):
                        if eof:
                            if not stream:
                                yield idx + 1, _ArrayError("the array is not closed with ']' (file cut short?)")
                            break
                        fill()
                        continue
                    c = buf[pos]
                    if not started:
                        if c != "[":
                            yield 1, _ArrayError("expected '[' at the start of the JSON array")
                            break
                        started, pos = True, pos + 1
                        continue
                    if c == "]" and not stream:
                        pos += 1
                        while True:  # anything but whitespace after the array is reported
                            pos = _WS.match(buf, pos).end()
                            if pos < len(buf):
                                yield idx, _ArrayTrailing()
                                break
                            if eof:
                                break
                            fill()
                        break
                    if want_comma and not stream:
                        if c != ",":
                            yield idx + 1, _ArrayError(f"expected ',' or ']' after element {idx}")
                            break
                        pos, want_comma = pos + 1, False
                        continue
                    try:
                        obj, end = decoder.raw_decode(buf, pos)
                    except json.JSONDecodeError as exc:
                        if not eof and len(buf) - pos < _ARRAY_MAX_ELEMENT:
                            fill()
                            continue
                        yield idx + 1, _ArrayError(f"{exc.msg}")
                        break
                    except RecursionError:
                        yield idx + 1, _ArrayError("an element is nested too deeply (thousands of levels)")
                        break
                    if end >= len(buf) and not eof:  # a number/literal may continue in the next chunk
                        fill()
                        continue
                    idx += 1
                    self.lines_read = idx
                    if _ESCAPED_SURROGATE_TEXT.search(buf, pos, end):
                        obj, fields = scrub_surrogates(obj)
                        if fields:
                            yield idx, _Surrogates(fields)
                    yield idx, obj
                    pos, want_comma = end, True
            except UnicodeDecodeError:
                yield idx + 1, _ArrayError("bytes are not UTF-8")
            except (OSError, EOFError, zlib.error) as exc:
                yield idx, _FileError(exc)

    def _scan(self, items: Iterator[tuple[int, object]], where_tpl: str) -> Iterator[Auth0User | Finding]:
        name = self.name
        line_of, id_keys, email_keys = self.line_of, self._id_keys, self._email_keys
        look_keys = self._lookalike_keys
        check_meta, keys = self.check_metadata, self.metadata_keys
        renamed = self.renamed
        if self.format == "json-stream":
            yield Finding(name, None, None, Severity.INFO, "pretty_printed_json",
                          f"{name} holds JSON objects spread over several lines (pretty-printed), not one "
                          "per line: read object by object; findings name the object's position")
        for n, obj in items:
            where = where_tpl.format(n=n) if where_tpl else ""
            if type(obj) is _BadUtf8:  # the line is skipped, but the finding names its user if it can
                self.rejected_lines += 1
                uid = obj.obj.get("user_id", obj.obj.get("Id")) if obj.obj is not None else None
                uid = uid if isinstance(uid, str) and uid.isascii() and is_valid_user_id(uid) else None
                yield Finding(name, n, None, Severity.ERROR, "invalid_json",
                              f"{where}not valid JSON text: byte {obj.pos} of this line is not UTF-8 (saved "
                              "in another encoding, or damaged); this line is skipped"
                              + (f" (user {uid})" if uid else ""), uid)
                continue
            if type(obj) is not dict:
                if isinstance(obj, _Surrogates):
                    yield Finding(name, n, obj.fields[0], Severity.WARNING, "invalid_unicode",
                                  f"{where}{', '.join(obj.fields[:5])} held an invalid Unicode escape (a lone "
                                  "surrogate such as \\ud800, which no text can hold): each one is replaced "
                                  "with U+FFFD (\ufffd)")
                    continue
                if isinstance(obj, _TooLong):
                    self.rejected_lines += 1
                    yield Finding(name, n, None, Severity.ERROR, "line_too_long", where + line_too_long(obj.size))
                    continue
                if isinstance(obj, _FileError):
                    yield from self._renamed_findings()
                    yield self._unreadable(obj.exc, n or None)
                    return
                if isinstance(obj, _CutShort):
                    self.rejected_lines += 1
                    self.file_error = (f"{name} is cut short: its last line ({n}) ends in the middle of a "
                                       "JSON object")
                    yield from self._renamed_findings()
                    yield Finding(name, n, None, Severity.ERROR, "unreadable_file",
                                  f"{self.file_error} ({json_reason(obj.exc)}); lines 1-{n - 1} were read; "
                                  "download the export again")
                    return
                if isinstance(obj, _ArrayTrailing):
                    yield Finding(name, None, None, Severity.WARNING, "array_trailing_data",
                                  f"data after the closing ']' of the JSON array (after element {n}) "
                                  "is ignored")
                    continue
                if isinstance(obj, _ArrayError):
                    self.file_error = f"{name}: JSON array cannot be read from element {n}: {obj.msg}"
                    yield Finding(name, n, None, Severity.ERROR, "array_unreadable",
                                  f"{where_tpl.format(n=n)}{obj.msg}; elements from here on cannot "
                                  "be read (fix the file or export NDJSON instead)")
                    return
                self.rejected_lines += 1
                if isinstance(obj, Exception):
                    yield Finding(name, n, None, Severity.ERROR, "invalid_json",
                                  f"{where}not valid JSON ({json_reason(obj)}); this line is skipped")
                else:
                    yield Finding(name, n, None, Severity.ERROR, "invalid_json",
                                  f"{where}expected a JSON object, found a JSON {type(obj).__name__}; "
                                  "this line is skipped")
                continue
            user, findings = user_from_obj(obj, n, name, where, renamed)
            if findings:
                yield from findings
            if user is None:
                self.rejected_lines += 1
                continue
            if check_meta and (user.user_metadata or user.app_metadata):
                sources = metadata_sources(user)
                cut = None if keys is None and metadata_fits(sources) else \
                    workos_metadata(user.user_id, sources, keys)[1]
                if cut:
                    yield metadata_finding(name, n, user.user_id, cut, where)
            self.users += 1
            if not self.index:
                yield user
                continue
            line_of.append(n)
            id_keys.append(string_key(user.user_id))
            email_ok = user.email is not None and not (findings and any(f.field == "email" for f in findings))
            ek = string_key(normalize_email(user.email)) if email_ok else 0
            email_keys.append(ek)
            if ek and not user.email.isascii():
                self._non_ascii_emails = True
                look_keys.append(string_key(lookalike_key(user.email)))
            else:
                look_keys.append(ek)
            yield user
        yield from self._renamed_findings()
        if self.users == 0 and self.file_error is None:
            if self.lines_read == 0:
                what = "is empty (no data)"
            elif self.blank_lines == self.lines_read:
                what = f"holds only blank lines ({self.lines_read})"
            else:
                what = f"holds no readable users ({self.lines_read} lines read, all rejected: see findings)"
            self.file_error = f"{name} {what}"
            yield Finding(name, None, None, Severity.ERROR, "no_users",
                          f"{self.file_error}; check that this is the users export")

    def _renamed_findings(self) -> Iterator[Finding]:
        """One note per loosely spelt key that was read (never once per line)."""
        for original, api in self.renamed.items():
            yield Finding(self.name, None, original.strip() or original, Severity.INFO, "key_spelling",
                          f"key {original!r} is read as {api!r} (matched ignoring case and spaces)")
        self.renamed = {}

    # ------------------------------------------------------------------ duplicate indexes
    @staticmethod
    def _runs(keys: array, skip: set[int] | None = None) -> list[list[int]]:
        """Groups (size >= 2) of indexes sharing a non-zero key, each in file order."""
        order = sorted_order(keys, skip)
        groups, run, last = [], [], None
        for i in order:
            k = keys[i]
            if k == last:
                run.append(i)
            else:
                if len(run) > 1:
                    groups.append(sorted(run))
                run, last = [i], k
        if len(run) > 1:
            groups.append(sorted(run))
        groups.sort(key=lambda g: g[0])
        return groups

    def duplicate_id_groups(self) -> list[list[int]]:
        """User indexes sharing a user_id; the first of each group is kept, the others rejected."""
        return self._runs(self._id_keys)

    def email_groups(self, skip: set[int] | None = None) -> list[list[int]]:
        """User indexes sharing a normalized email (`skip`: indexes to leave out)."""
        return self._runs(self._email_keys, skip)

    def lookalike_findings(self, skip: set[int] | None = None) -> Iterator[Finding]:
        """Users whose addresses differ to WorkOS but look alike (Unicode NFKC: `ａlice` and
        `alice`): a warning on each, listing the others; they are never merged."""
        if not self._non_ascii_emails:
            return
        unit = "elements" if self.format == "json-array" else "lines"
        for group in self._runs(self._lookalike_keys, skip):
            if len({self._email_keys[i] for i in group}) < 2:
                continue  # one address to WorkOS: the duplicate rule handles it
            lines = [self.line_of[i] for i in group]
            for i in group:
                others = [ln for ln in lines if ln != self.line_of[i]]
                yield Finding(self.name, self.line_of[i], "email", Severity.WARNING, "lookalike_email",
                              f"this address looks like the one on {unit if len(others) > 1 else unit[:-1]} "
                              f"{_list_lines(others)} but differs "
                              "(Unicode look-alike characters, e.g. fullwidth letters): they are not "
                              "merged, each is imported as itself; check which one is genuine")

    def duplicate_findings(self) -> Iterator[Finding]:
        """duplicate_user_id (error on every repeat) and duplicate_email (warning on every line of
        the group) findings, with generic wording (the plan words its own, naming the primary)."""
        rejected: set[int] = set()
        for group in self.duplicate_id_groups():
            first = self.line_of[group[0]]
            for i in group[1:]:
                rejected.add(i)
                yield Finding(self.name, self.line_of[i], "user_id", Severity.ERROR, "duplicate_user_id",
                              f"same user_id as line {first}; this line is ignored (the first is kept)")
        unit = "elements" if self.format == "json-array" else "lines"
        for group in self.email_groups(rejected):
            lines = [self.line_of[i] for i in group]
            for ln in lines:
                yield Finding(self.name, ln, "email", Severity.WARNING, "duplicate_email",
                              f"email shared (the same address to WorkOS: case-insensitive) by {len(lines)} "
                              f"users on {unit} {_list_lines(lines)}: they become one WorkOS user")


def _list_lines(lines: list[int], limit: int = 20) -> str:
    if len(lines) <= limit:
        return ", ".join(map(str, lines))
    return ", ".join(map(str, lines[:limit])) + f" and {len(lines) - limit} more"


def metadata_finding(file: str, line: int, user_id: str, cut: list[str], where: str = "") -> Finding:
    return Finding(file, line, "metadata", Severity.WARNING, "metadata_too_large",
                   f"{where}metadata that will not fit WorkOS limits is left out: " + "; ".join(cut),
                   user_id)


_CSV_HEADER_NAMES = frozenset({"id", "user_id", "userid", "email", "email_verified", "connection",
                               "given_name", "family_name", "name", "nickname", "username"})


def _looks_like_csv_header(first_line: bytes) -> bool:
    """A first line of comma-separated column names such as `Id,Email,Email Verified,...`."""
    text = first_line.decode("utf-8", "replace")
    cells = [_loose(c.strip().strip('"')) for c in text.split(",")]
    return len(cells) >= 2 and sum(c in _CSV_HEADER_NAMES for c in cells) >= 1


class _BadUtf8:
    """A line with bytes that are not UTF-8: `obj` is what it says when those bytes are replaced
    (None when even that is not a JSON object), `pos` the 1-based byte position."""

    __slots__ = ("obj", "pos")

    def __init__(self, obj: dict | None, pos: int) -> None:
        self.obj, self.pos = obj, pos


def _bad_utf8(raw: bytes, exc: UnicodeDecodeError, loads) -> _BadUtf8:
    try:
        obj = loads(raw.decode("utf-8", "replace"))
    except ValueError:
        obj = None
    return _BadUtf8(obj if isinstance(obj, dict) else None, exc.start + 1)


def _looks_cut(exc: Exception) -> bool:
    """The JSON error is where a line that stops mid-object would fail: an open string, or the
    last few characters (a missing value, comma or closing brace)."""
    if not isinstance(exc, json.JSONDecodeError):
        return False
    size = len(exc.doc.rstrip())
    return "Unterminated" in exc.msg or (size > 10 and exc.pos >= size - 5)


class _TooLong:
    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size


class _Surrogates:
    __slots__ = ("fields",)

    def __init__(self, fields: list[str]) -> None:
        self.fields = fields


class _CutShort:
    __slots__ = ("exc",)

    def __init__(self, exc: Exception) -> None:
        self.exc = exc


class _FileError:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _ArrayTrailing:
    __slots__ = ()


class _ArrayError:
    __slots__ = ("msg",)

    def __init__(self, msg: str) -> None:
        self.msg = msg


def read_users(path: str | Path, *, metadata_keys: tuple[str, ...] | None = None) -> Iterator[Auth0User | Finding]:
    """Stream normalized users and findings; duplicate findings come after the last user (they
    need the whole file). Blank lines are skipped without a finding."""
    scan = UsersScan(path, metadata_keys=metadata_keys)
    yield from scan
    if scan.file_error is None or scan.users:
        yield from scan.duplicate_findings()
        yield from scan.lookalike_findings()
