"""From the export files to a per-user migration plan: join hashes, classify, merge duplicates, map.

Two streaming passes over the users export keep memory bounded (about 60 bytes per user in
compact arrays, never a user object per user):

1. the password export is indexed (64-bit keys of the joined user id and the email, the line's
   byte offset, the hash verdict); the users export is read once, every user is joined and
   classified, findings are collected; duplicates are resolved from the key arrays. This pass
   gives every count, finding and gate figure.
2. ``PlanResult.planned`` yields one ``PlannedUser`` per WorkOS user (a duplicate-email group
   becomes one), with the exact create-user request minus the hash; ``save_plan`` streams it into
   the journal. It re-reads the users export, or, when pass 1 was given a private folder (the
   run folder, ``spool_dir``), the few fields a request needs that pass 1 spooled there.

Decisions stated to the operator (also in ``summary`` and the report):
- Join (api-facts 1.2, ``JOIN_RULE``): ``auth0|`` + (``alt_id`` or ``_id.$oid``) against the
  user's id (and the ids of its database identities), never across connections. A row whose id
  matches no user is unmatched: binding by email is an explicit opt-in
  (``PlanOptions(join_by_email=True)``, ``--join-by-email``) and every email-bound row is a
  warning naming both sides. An id match whose emails disagree is a warning.
- Branches: see ``wizard.core.records.Branch``. Blocked users are not imported unless
  ``PlanOptions(include_blocked=True)``. A user with a per-user error (no/invalid email, an
  external id WorkOS would refuse) is ``invalid``; lines without a usable user id and repeated
  user ids are not planned at all (each has an error finding). Per-user problems never block the
  export gate: only file-level problems do (``export_gate``).
- A database user whose hash is truncated, unsupported or missing goes to ``reset``.
- Several hash rows for one user id: the newest ``password_set_date`` wins, even when its hash is
  unusable (an older hash may be a password the user changed on purpose); without dates to compare,
  the first valid row. Rows without a hash (social/passwordless users) are info, never "unmatched".
- ``save_plan`` is all or nothing (one journal transaction), and refuses (ExportChangedError) an
  export that changed between the check and the save.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import tempfile
import time
import weakref
import zlib
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from wizard.core import documents
from wizard.core import hashes as hash_kinds
from wizard.core.digests import FileDigests, hash_digest, record_hash_digests
from wizard.core.digests import digest_key as run_digest_key
from wizard.core.exports import UsersScan, identity_kind, metadata_sources, sorted_order
from wizard.core.exports import string_key as _key
from wizard.core.findings import Finding, Severity
from wizard.core.gates import Check, GateResult
from wizard.core.hashes import IMPORTABLE_KINDS
from wizard.core.journal import JournalError, sha256_file
from wizard.core.normalize import (
    METADATA_VALUE_MAX,
    external_id_problem,
    is_valid_email,
    normalize_email,
    split_name,
    stringify,
    workos_metadata,
)
from wizard.core.passwords import (
    HashReader,
    HashReadError,
    classify_hash,
    password_set_date_key,
    read_password_rows,
    sniff_container,
)
from wizard.core.progress import Progress, frozen_counts
from wizard.core.records import Auth0User, Branch, Identity, PlannedUser

JOIN_RULE = (
    "A hash row binds to the Auth0 user it names: auth0| + (alt_id or _id.$oid), against the user's "
    "id and its database identities' ids, and only within the same connection. A row whose id "
    "matches no user is unmatched. Binding by email happens only with --join-by-email (for rows "
    "without an id, or whose id matches no user), once per user and row, each reported."
)
MERGE_RULE = (
    "Users sharing an email (the address WorkOS compares: trimmed, ASCII case-insensitive, IDNA "
    "domain) become one WorkOS user; addresses that only look alike (Unicode NFKC) are reported "
    "and imported as themselves. Primary: among the users with a verified email if any (an "
    "unverified address never wins over a verified one), the database user with an importable "
    "hash (most recent last_login among several), else the most recently logged-in, else the first line. "
    "Its user_id is the external_id and its hash (if any) is sent; the other Auth0 ids are "
    "recorded in metadata.auth0_merged_ids and the id map; metadata is copied from the primary. "
    "first_name / last_name: the first non-empty value, primary first, then file order. Blocked "
    "and invalid users are not merged."
)
VERIFIED_RULE = (
    "email_verified is true only when an Auth0 user of the group with the address sent (as WorkOS "
    "compares it) has email_verified true; otherwise false (never guessed)."
)
BLOCKED_POLICY = (
    "Blocked Auth0 users are not imported (branch 'blocked'); re-plan with include_blocked to "
    "import them without credentials."
)
NAME_RULE = "first_name/last_name from given_name/family_name; else split `name` when it is not an email."

# per-user error codes that make a user `invalid` (they name the user)
USER_ERROR_CODES = frozenset({"missing_email", "invalid_email", "email_invisible_character"})
FILE_LEVEL_CODES = frozenset({"unreadable_file", "no_users", "array_unreadable", "not_json_export"})

_B = {name: i for i, name in enumerate(Branch.ALL)}  # branch -> code
_B_DB = 250  # provisional: database user, branch decided after the join
_HASH_KINDS = hash_kinds.KIND_NAMES
_EMPTY = _HASH_KINDS.index("empty")
_RULES = ("", "user_id", "alt_id", "email")


class ExportChangedError(JournalError):
    """An export file changed (or vanished) between the check and saving its plan: the plan would
    pair one file's users with another's branches and hashes, so nothing is saved."""


def _fingerprint(path: Path | None) -> tuple[int, int] | None:
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return (-1, -1)
    return (st.st_size, st.st_mtime_ns)


@dataclass(frozen=True)
class PlanOptions:
    include_blocked: bool = False
    metadata_keys: tuple[str, ...] | None = None  # top-level user/app metadata keys; None = all, () = none
    findings_in_memory: int = 20000  # beyond this, findings spill to a private temporary file
    join_by_email: bool = False  # opt-in: bind hash rows that match no user id by email (warned)


JOIN_BY_EMAIL_CHOICE = ("Also bind password-hash rows by email when they carry no user id matching the "
                        "users export (--join-by-email)")
JOIN_BY_EMAIL_WARNING = ("By default a hash row binds only to the Auth0 user whose id it names (auth0| + "
                         "alt_id or _id.$oid). Binding by email is for rows that carry no id, or when you "
                         "know the ids differ: a row bound by email could belong to another account, so each "
                         "one is a warning finding naming both ids, listed in the report. Leave it off unless "
                         "you have checked those rows.")


def record_join_choice(journal, join_by_email: bool, *, source: str) -> None:
    """Keep the operator's hash-join choice so `check`, `import` and the wizard use the same one."""
    documents.HASH_JOIN_CHOICE.write(journal, {"join_by_email": bool(join_by_email), "source": source,
                                               "at": time.time()})


def recorded_join_by_email(journal) -> bool:
    """The recorded choice; else what the run's plan was built with; else off (bind by id only)."""
    choice = documents.HASH_JOIN_CHOICE.read(journal) if journal is not None else None
    if choice and "join_by_email" in choice:
        return bool(choice["join_by_email"])
    return options_of(journal).join_by_email if journal is not None else False


def options_of(journal) -> PlanOptions:
    """The options the journal's plan was built with (a re-plan keeps the operator's choices)."""
    s = journal.get_document("plan_summary") or {}
    keys = s.get("metadata_keys")
    return PlanOptions(include_blocked=bool(s.get("include_blocked")),
                       metadata_keys=None if keys is None else tuple(keys),
                       join_by_email=bool(s.get("join_by_email")))


class FindingStore:
    """All findings, in order; spills to an anonymous temporary file past `limit` so a file full of
    problems does not fill memory. Counts are always complete."""

    def __init__(self, limit: int = 20000) -> None:
        self.limit = limit
        self._mem: list[Finding] = []
        self._spill_path: str | None = None  # 0600 temporary file, removed when the store goes
        self.count = 0
        self.by_severity: Counter[str] = Counter()
        self.by_code: Counter[str] = Counter()

    def add(self, f: Finding) -> None:
        self.count += 1
        self.by_severity[f.severity.value] += 1
        self.by_code[f.code] += 1
        self._mem.append(f)
        if len(self._mem) >= self.limit:
            if self._spill_path is None:
                fd, self._spill_path = tempfile.mkstemp(prefix="auth0-workos-findings-", suffix=".jsonl")
                os.close(fd)
                weakref.finalize(self, _remove_quietly, self._spill_path)
            dumps = json.dumps
            with open(self._spill_path, "a", encoding="utf-8") as fh:
                fh.write("".join(
                    dumps([x.file, x.line, x.field, x.severity.value, x.code, x.message, x.auth0_user_id]) + "\n"
                    for x in self._mem))
            self._mem.clear()

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Finding]:
        mem = list(self._mem)  # a snapshot: adding while iterating never corrupts either side
        if self._spill_path is not None:
            with open(self._spill_path, encoding="utf-8") as fh:
                for line in fh:
                    file, ln, fld, sev, code, msg, uid = json.loads(line)
                    yield Finding(file, ln, fld, Severity(sev), code, msg, uid)
        yield from mem

    def __getitem__(self, i: int) -> Finding:
        if self._spill_path is None:
            return self._mem[i]
        return list(self)[i]

    def first(self, n: int) -> list[Finding]:
        """The first `n` findings in the order they were found."""
        out = []
        for f in self:
            if len(out) >= n:
                break
            out.append(f)
        return out

    def top(self, n: int, per_code: int | None = None) -> list[Finding]:
        """Up to `n` findings, errors first, then warnings, then info (each in file order).
        `per_code` caps how many of one code are picked, so 10,000 identical problems do not hide
        every other kind (the counts by code stay complete in `by_code`)."""
        by: dict[Severity, list[Finding]] = {Severity.ERROR: [], Severity.WARNING: [], Severity.INFO: []}
        taken: Counter[str] = Counter()
        for f in self:
            bucket = by[f.severity]
            if len(bucket) < n and (per_code is None or taken[f.code] < per_code):
                taken[f.code] += 1
                bucket.append(f)
        return (by[Severity.ERROR] + by[Severity.WARNING] + by[Severity.INFO])[:n]


class _KeyIndex:
    """A sorted array of 64-bit keys with the row each came from: compact exact-key lookups."""

    def __init__(self, keys: array) -> None:
        self.rows = sorted_order(keys)
        self.keys = array("q", map(keys.__getitem__, self.rows))

    def find(self, k: int) -> list[int]:
        keys = self.keys
        j = bisect_left(keys, k)
        out = []
        while j < len(keys) and keys[j] == k:
            out.append(self.rows[j])
            j += 1
        return out


class _UserSpool:
    """What pass 2 maps, kept by pass 1: per user the fields a request and its reason read, one
    orjson line each, in an unnamed temporary file of a private folder (the run folder), gone with
    the plan or the process. Reading it back costs a fraction of parsing and normalizing the
    export again. Metadata values are kept already stringified, which `workos_metadata` leaves as
    they are, so a spooled user maps exactly as the export's line would. No hash is ever in it."""

    def __init__(self, folder: Path, name: str) -> None:
        if not hasattr(os, "pread"):
            raise OSError("no positional reads on this system")
        self.name = name  # the users export's file name, for the findings read back
        self._file = tempfile.TemporaryFile(dir=folder, prefix=".plan-spool-")  # noqa: SIM115 - lives with the plan
        self._finalizer = weakref.finalize(self, self._file.close)
        self._end = 0

    @staticmethod
    def _stringified(data: dict | None) -> dict | None:
        return {k: v if type(v) is str else stringify(v) for k, v in data.items()} if data else data

    def add(self, user: Auth0User, errors: Iterable[Finding]) -> None:
        """Append one user; raises (TypeError, OSError) when it cannot: the caller drops the spool."""
        self._file.write(orjson.dumps([
            user.line, user.user_id, user.email, user.email_verified, user.given_name, user.family_name,
            user.name, user.blocked, self._stringified(user.user_metadata), self._stringified(user.app_metadata),
            [[i.connection, i.provider, i.user_id, i.is_social] for i in user.identities],
            [[f.field, f.code, f.message, f.auth0_user_id] for f in errors],
        ]) + b"\n")

    def close_writing(self) -> None:
        self._file.flush()
        self._end = self._file.tell()

    def drop(self) -> None:
        self._finalizer()

    def __iter__(self) -> Iterator[tuple[Auth0User, list[Finding]]]:
        """Every user in pass-1 order, with its per-user errors; reads by offset, so two readers
        (a preview and a save) never disturb each other."""
        fd, end, pos, rest = self._file.fileno(), self._end, 0, b""
        while pos < end:
            block = os.pread(fd, min(1 << 20, end - pos), pos)
            if not block:
                raise OSError(f"the plan's spool ended early at byte {pos} of {end}")
            pos += len(block)
            lines = (rest + block).split(b"\n")
            rest = lines.pop()
            for raw in lines:
                (line, uid, email, verified, given, family, name, blocked, umeta, ameta, idents,
                 errs) = orjson.loads(raw)
                user = Auth0User(line, uid, email, verified, given, family, name, blocked=blocked,
                                 user_metadata=umeta, app_metadata=ameta,
                                 identities=tuple(Identity(*i) for i in idents))
                yield user, [Finding(self.name, line, f, Severity.ERROR, c, m, a) for f, c, m, a in errs]


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _login_key(s: str | None) -> int:
    """ISO timestamp -> sortable int (YYYYMMDDhhmmss); 0 when absent or unreadable."""
    if not s or len(s) < 19:
        return 0
    try:
        return int(s[0:4] + s[5:7] + s[8:10] + s[11:13] + s[14:16] + s[17:19])
    except ValueError:
        return 0


@dataclass
class _Passwords:
    """Pass-1 index of the password export (no hash kept)."""

    name: str
    path: Path | None = None
    id_keys: array = field(default_factory=lambda: array("q"))
    email_keys: array = field(default_factory=lambda: array("q"))
    conn_keys: array = field(default_factory=lambda: array("q"))  # _key(connection) or 0
    offsets: array = field(default_factory=lambda: array("q"))
    lines: array = field(default_factory=lambda: array("l"))
    kinds: bytearray = field(default_factory=bytearray)  # index into _HASH_KINDS
    costs: bytearray = field(default_factory=bytearray)
    prefixes: list = field(default_factory=list)  # small: distinct prefixes
    prefix_idx: bytearray = field(default_factory=bytearray)
    by_alt: bytearray = field(default_factory=bytearray)  # 1 when the join key came from alt_id
    emails_disagree: bytearray = field(default_factory=bytearray)  # root email vs identifiers[] differ
    connections: Counter = field(default_factory=Counter)
    connection_names: dict = field(default_factory=dict)  # _key(connection) -> name (first 1000)
    repeated: set = field(default_factory=set)  # rows whose join key another (used) row has
    lines_read: int = 0
    file_error: str | None = None
    digest_key: bytes | None = None  # the run's key, when the check was given it
    digests: array | None = None  # hash_digest of each row under digest_key (no hash kept)
    id_index: _KeyIndex | None = None
    _email_index: _KeyIndex | None = None

    def email_index(self) -> _KeyIndex:
        if self._email_index is None:
            self._email_index = _KeyIndex(self.email_keys)
        return self._email_index

    def row_id(self, row: int) -> str:
        """The Auth0 id a row names (auth0| + alt_id/_id.$oid), re-read from the file (rare use)."""
        try:
            with HashReader(self.path) as reader:
                return reader.row_at(self.offsets[row]).joined_user_id or "none"
        except (OSError, HashReadError):
            return "unreadable now"

    def file_digests(self, key: bytes) -> FileDigests | None:
        """Every row's digest under `key`, when the check took them under that key (else None:
        the caller reads the file again)."""
        if self.digests is None or self.digest_key != key:
            return None
        return FileDigests.from_rows(self.offsets, self.digests)

    def importable(self, row: int) -> bool:
        return _HASH_KINDS[self.kinds[row]] in IMPORTABLE_KINDS

    def hash_type(self, row: int) -> str:
        return hash_kinds.BY_NAME[_HASH_KINDS[self.kinds[row]]].hash_type

    def connection(self, row: int) -> str:
        k = self.conn_keys[row]
        return self.connection_names.get(k, "another connection") if k else "no connection"

    def describe(self, row: int) -> str:
        kind = _HASH_KINDS[self.kinds[row]]
        if kind == "bcrypt":
            return f"bcrypt {self.prefixes[self.prefix_idx[row]]} cost {self.costs[row]}"
        if kind in IMPORTABLE_KINDS:
            return f"{kind} {self.prefixes[self.prefix_idx[row]]}"
        return f"{kind} hash"


def _read_passwords(path: Path, findings: FindingStore, on_row: Callable[[int], None] | None,
                    secret: bytes | None = None) -> _Passwords:
    pw = _Passwords(Path(path).name, Path(path))
    digests = array("q") if secret is not None else None  # taken here: the save need not read the file again
    pw.digest_key, pw.digests = secret, digests
    prefix_pos: dict[str, int] = {}
    name = pw.name
    n = last_line = 0
    try:
        other = sniff_container(path)
        if other is not None:
            pw.file_error = other
            findings.add(Finding(name, None, None, Severity.ERROR, "not_json_export", other))
        for item in () if other is not None else read_password_rows(path, as_tuples=True):
            if type(item) is Finding:
                findings.add(item)
                if item.code == "unreadable_file":  # a streamed layout stopped being JSON: refuse it
                    pw.file_error = item.message
                last_line = item.line or last_line
                continue
            line, offset, (oid, alt_id, email, _verified, connection, h, disagree) = item
            last_line = line
            check = classify_hash(h)
            key = alt_id or oid
            pw.id_keys.append(_key("auth0|" + key.removeprefix("auth0|")) if key else 0)
            pw.email_keys.append(_key(normalize_email(email)) if email and is_valid_email(email) else 0)
            ck = _key(connection) if connection else 0
            pw.conn_keys.append(ck)
            if ck and ck not in pw.connection_names and len(pw.connection_names) < 1000:
                pw.connection_names[ck] = connection
            pw.emails_disagree.append(1 if disagree else 0)
            pw.offsets.append(offset)
            pw.lines.append(line)
            if digests is not None:
                digests.append(hash_digest(h, secret))
            pw.kinds.append(_HASH_KINDS.index(check.kind))
            pw.costs.append(check.cost if check.cost is not None and check.cost < 256 else 0)
            pfx = check.prefix or "?"
            if pfx not in prefix_pos and len(pw.prefixes) >= 250:
                pfx = "other"  # a file of random strings must not grow this table
            if pfx not in prefix_pos:
                prefix_pos[pfx] = len(pw.prefixes)
                pw.prefixes.append(pfx)
            pw.prefix_idx.append(prefix_pos[pfx])
            pw.by_alt.append(1 if alt_id else 0)
            pw.connections[connection or ""] += 1
            if not check.ok:
                if check.kind == "empty":  # social/passwordless rows carry no hash: nothing is lost
                    findings.add(Finding(name, line, "passwordHash", Severity.INFO, check.code,
                                         "no password hash on this row (null or empty, as for social or "
                                         "passwordless users); a database user joined to it resets the password"))
                else:
                    sev = Severity.ERROR if check.kind == "truncated" else Severity.WARNING
                    findings.add(Finding(name, line, "passwordHash", sev, check.code, check.message))
            n += 1
            if on_row and n % 50000 == 0:
                on_row(n)
    except (OSError, EOFError, zlib.error) as exc:
        corrupt = isinstance(exc, (EOFError, zlib.error, gzip.BadGzipFile))
        what = "gzip data is corrupt or cut short" if corrupt else str(exc)
        after = (f"after line {last_line}, the last complete one ({n} hash rows read)" if last_line
                 else "before its first complete line")
        pw.file_error = f"cannot read {name}: {what} {after}"
        findings.add(Finding(name, None, None, Severity.ERROR, "unreadable_file",
                             f"{pw.file_error}; get the file again from Auth0 support"))
    pw.lines_read = pw.lines[-1] if pw.lines else 0
    pw.id_index = _KeyIndex(pw.id_keys)
    _report_repeated_hash_keys(pw, findings, path)
    return pw


def _set_dates(path: Path, pw: _Passwords, rows: list[int]) -> array:
    """password_set_date keys (0 = unknown) of the given rows, indexed by row, re-read by offset in
    file order (sequential even in a gzip). Only repeated rows need it, so the hot path never
    parses dates; a file concatenated twice costs one more read, not memory per row object."""
    out = array("q", bytes(8 * len(pw.offsets)))
    with contextlib.suppress(OSError), HashReader(path) as reader:  # unreadable now: dates unknown
        for r in sorted(rows):
            with contextlib.suppress(HashReadError):
                out[r] = password_set_date_key(reader.obj_at(pw.offsets[r]))
    return out


def _report_repeated_hash_keys(pw: _Passwords, findings: FindingStore, path: Path | None = None) -> None:
    """Several rows for one user id: the row with the newest password_set_date is used (it is the
    user's current password; an older hash may be one they changed on purpose), even when that
    newest hash cannot be sent (the user then resets). Without dates to compare (none, or equal),
    the first row with a valid bcrypt hash wins, else the first row. Every other row is reported."""
    keys, rows = pw.id_index.keys, pw.id_index.rows
    groups: list[list[int]] = []
    i = 0
    while i < len(keys):
        j = i + 1
        while j < len(keys) and keys[j] == keys[i]:
            j += 1
        if j - i > 1:
            groups.append(list(rows[i:j]))  # file order (stable sort)
        i = j
    if not groups:
        return
    dates = _set_dates(path, pw, [r for g in groups for r in g]) if path is not None else \
        array("q", bytes(8 * len(pw.offsets)))
    for group in groups:
        newest = max(dates[r] for r in group)
        if newest:
            latest = [r for r in group if dates[r] == newest]
            chosen = next((r for r in latest if pw.importable(r)), latest[0])
            why = ("which has the newest password_set_date and is used" if len(latest) == 1 else
                   "which is used (newest password_set_date, tied: the first valid row)")
        else:
            chosen = next((r for r in group if pw.importable(r)), group[0])
            why = "which is used (no password_set_date to compare: the first valid row wins)"
        for r in group:
            if r == chosen:
                continue
            pw.repeated.add(r)
            older = " (an older password)" if newest and dates[r] < newest else ""
            findings.add(Finding(pw.name, pw.lines[r], "_id", Severity.WARNING, "duplicate_hash_row",
                                 f"same user id as the hash row on line {pw.lines[chosen]}, {why}; this "
                                 f"row{older} is ignored"))


def _without_external_id(user: Auth0User) -> str:
    if external_id_problem(user.user_id) is None:
        return ""
    return "; imported without external_id (WorkOS cannot take this id): the Auth0 id is in metadata.auth0_user_id"


class PlannedUsers:
    """Re-iterable, streaming view of the planned users (pass 2 re-reads the users export)."""

    def __init__(self, plan: _Plan) -> None:
        self._plan = plan

    def __len__(self) -> int:
        return self._plan.planned_count

    def __iter__(self) -> Iterator[PlannedUser]:
        return self._plan.iter_planned()

    def password_digests(self, key: bytes) -> FileDigests | None:
        """The password export's row digests under `key`, when the check took them (build_plan's
        `digest_key`); None means: read the file again for them."""
        pw = self._plan.pw
        return pw.file_digests(key) if pw is not None else None

    def sample(self, n: int = 3, branches: Iterable[str] | None = None) -> list[PlannedUser]:
        """A few planned users (of `branches`, when given): one per branch first, looking at the
        first few thousand only."""
        want = set(branches) if branches else None
        out: list[PlannedUser] = []
        seen: set[str] = set()
        rest: list[PlannedUser] = []
        for scanned, p in enumerate(self):
            if want is not None and p.branch not in want:
                continue
            if p.branch not in seen:
                seen.add(p.branch)
                out.append(p)
            elif len(rest) < n:
                rest.append(p)
            if len(out) >= n or (scanned >= 5000 and len(out) + len(rest) >= n):
                break  # enough variety: never read a huge export to the end for a preview
        return (out + rest)[:n]


@dataclass
class PlanResult:
    users_path: Path
    passwords_path: Path | None
    options: PlanOptions
    planned: PlannedUsers
    findings: FindingStore
    summary: dict
    blocking: list[str]  # names of failed export-gate checks; empty when the files are usable

    @property
    def ok(self) -> bool:
        return not self.blocking


class _Plan:
    """Pass-1 state (compact arrays) and the pass-2 generator."""

    def __init__(self, users_path: Path, options: PlanOptions, pw: _Passwords | None,
                 spool_dir: Path | None = None) -> None:
        self.users_path = users_path
        self.options = options
        self.pw = pw
        self.scan = UsersScan(users_path, metadata_keys=options.metadata_keys)
        self.branch = bytearray()
        self.pw_row = array("l")  # matched password row or -1
        self.rule = bytearray()  # index into _RULES
        self.login = array("q")
        self.verified = bytearray()  # 1 when email_verified is true
        self.id_len = bytearray()  # len(user_id), capped at 255: sizes metadata.auth0_merged_ids
        self.no_identity: set[int] = set()  # invalid because no sign-in method is known
        self.rejected: set[int] = set()  # repeated user ids: not planned
        self.group_of: dict[int, int] = {}  # user index -> merge group id
        self.groups: list[list[int]] = []  # member indexes, primary first
        self.planned_count = 0
        self.n_users = 0
        # pass-1 tallies and join state (see build_plan's phases)
        self.providers: Counter[str] = Counter()
        self.enterprise: Counter[str] = Counter()
        self.rule_counts: Counter[str] = Counter()
        self.blocked_seen = 0
        self.db_without_hash = 0
        self.dup_groups = 0
        self.merged_away = 0
        self.deferred = array("l")  # database users not joined by id
        self.deferred_keys = array("q")  # their email keys
        self.deferred_conns = array("q")  # their connection keys
        self.deferred_info: dict[int, tuple[str, str | None]] = {}  # (user id, connection): opt-in only
        self.connection_mismatch: set[int] = set()  # hash rows naming a user of another connection
        self.email_bound: list[int] = []  # users given a hash by email (opt-in)
        self._user_keys: array | None = None
        self.spool: _UserSpool | None = None  # pass 1's copy of what pass 2 maps (see _UserSpool)
        if spool_dir is not None:
            with contextlib.suppress(OSError):
                self.spool = _UserSpool(spool_dir, users_path.name)
        self.fingerprints = {"users": _fingerprint(users_path),
                             "passwords": _fingerprint(pw.path) if pw is not None else None}

    def names_a_user(self, id_key: int) -> bool:
        """A hash row's id key equals some user's user_id in the users export."""
        if self._user_keys is None:
            self._user_keys = array("q", sorted(self.scan._id_keys))
        j = bisect_left(self._user_keys, id_key)
        return j < len(self._user_keys) and self._user_keys[j] == id_key

    def changed_inputs(self) -> list[str]:
        """Plain messages for export files that differ (size or mtime) from when they were checked."""
        out = []
        paths = {"users": self.users_path, "passwords": self.pw.path if self.pw is not None else None}
        for kind, before in self.fingerprints.items():
            if before is not None and _fingerprint(paths[kind]) != before:
                out.append(f"the {kind} export {paths[kind]} changed or disappeared after it was checked")
        return out

    def spool_user(self, user: Auth0User, errors: Iterable[Finding]) -> None:
        """Pass 1 keeps `user` for pass 2; a spool that cannot take it is dropped (pass 2 then
        re-reads the export)."""
        try:
            self.spool.add(user, errors)
        except (TypeError, ValueError, OSError):  # a value orjson refuses, a full disk
            self.spool.drop()
            self.spool = None

    def end_spool(self) -> None:
        if self.spool is not None:
            try:
                self.spool.close_writing()
            except OSError:
                self.spool.drop()
                self.spool = None

    def _users_again(self) -> Iterator[tuple[Auth0User, list[Finding]]]:
        """Pass 1's users in order, each with its per-user errors: from the spool, else by reading
        the export again (refused when it no longer holds the same users)."""
        if self.spool is not None:
            yield from self.spool
            return
        scan = UsersScan(self.users_path, metadata_keys=self.options.metadata_keys, check_metadata=False,
                         index=False)
        errors: list[Finding] = []
        u = -1
        for item in scan:
            if not isinstance(item, Auth0User):
                if item.severity is Severity.ERROR and item.code in USER_ERROR_CODES:
                    errors.append(item)
                continue
            u += 1
            if u >= self.n_users or _key(item.user_id) != self.scan._id_keys[u]:
                raise ExportChangedError(self._changed_message(u, item.line))
            yield item, ([f for f in errors if f.line == item.line] if errors else [])
            errors = []
        if u + 1 != self.n_users:
            raise ExportChangedError(self._changed_message(u + 1, None))

    def iter_planned(self) -> Iterator[PlannedUser]:
        buffers: dict[int, list[Auth0User]] = {}
        u = -1
        for u, (item, mine) in enumerate(self._users_again()):
            if u in self.rejected:
                continue
            gid = self.group_of.get(u)
            if gid is None:
                yield self._single(u, item, mine)
                continue
            buf = buffers.setdefault(gid, [])
            buf.append(item)
            members = self.groups[gid]
            if len(buf) == len(members):
                del buffers[gid]
                yield self._merged(members, buf)
        if u + 1 != self.n_users or buffers:
            raise ExportChangedError(self._changed_message(u + 1, None))

    def _changed_message(self, u: int, line: int | None) -> str:
        where = f" (user {u + 1}, line {line})" if line is not None else f" ({u} of {self.n_users} users re-read)"
        return (f"{self.scan.name} no longer matches what was checked{where}: it changed or could not be "
                "read again; nothing was saved. Run the export check again.")

    # ---------------------------------------------------------------- mapping
    def _names(self, users: list[Auth0User]) -> tuple[str | None, str | None]:
        first = next((x.given_name for x in users if x.given_name), None)
        last = next((x.family_name for x in users if x.family_name), None)
        if first is None and last is None:
            for x in users:
                f, la = split_name(x.name)
                if f:
                    return f, la
        return first, last

    def _request(self, user: Auth0User, branch: str, verified: bool, names: tuple[str | None, str | None],
                 merged_ids: tuple[str, ...] = (), hash_type: str | None = None) -> dict:
        req: dict = {}
        if user.email:
            req["email"] = user.email
        req["email_verified"] = verified
        if names[0]:
            req["first_name"] = names[0]
        if names[1]:
            req["last_name"] = names[1]
        if external_id_problem(user.user_id) is None:
            req["external_id"] = user.user_id  # else the id lives in metadata.auth0_user_id only
        meta, _ = workos_metadata(user.user_id, metadata_sources(user), self.options.metadata_keys, merged_ids)
        req["metadata"] = meta
        if branch == Branch.PASSWORD:
            req["password_hash_type"] = hash_type
        return req

    def _reason(self, u: int, user: Auth0User, branch: str, errors: list[Finding] = ()) -> str:
        if user.blocked and branch in Branch.IMPORTABLE:
            return f"blocked in Auth0, imported without credentials (include_blocked); {branch}"
        pw, row = self.pw, self.pw_row[u]
        if branch == Branch.PASSWORD:
            return f"{pw.describe(row)} from {pw.name}:{pw.lines[row]} (joined by {_RULES[self.rule[u]]})"
        if branch == Branch.RESET:
            if row >= 0:
                return (f"{pw.describe(row)} on {pw.name}:{pw.lines[row]} is not sent: the user resets "
                        "the password (Magic Auth or password reset)")
            if any(identity_kind(i) == "database" for i in user.identities):
                why = "no password export given" if pw is None else "no row in the password export"
                return f"database user, {why}: the user resets the password (Magic Auth or password reset)"
            return "passwordless user: signs in with Magic Auth"
        if branch == Branch.SOCIAL:
            providers = sorted({i.provider for i in user.identities if identity_kind(i) == "social"})
            return "social only (" + ", ".join(providers) + "): signs in through the provider, linked by email"
        if branch == Branch.SSO:
            conns = sorted({i.connection or i.provider for i in user.identities})
            return "enterprise only (" + ", ".join(conns) + "): signs in through SSO"
        if branch == Branch.BLOCKED:
            return "blocked in Auth0: not imported by default (re-plan with include_blocked to import it)"
        if errors:
            return "; ".join(f"{f.field}: {f.message}" for f in errors)
        if u in self.no_identity:
            return "no identity or connection: the sign-in method is unknown"
        return "cannot be imported"

    def _single(self, u: int, user: Auth0User, errors: list[Finding] = ()) -> PlannedUser:
        branch = Branch.ALL[self.branch[u]]
        verified = user.email_verified is True
        row = self.pw_row[u]
        is_pw = branch == Branch.PASSWORD
        req = self._request(user, branch, verified, self._names([user]),
                            hash_type=self.pw.hash_type(row) if is_pw else None)
        return PlannedUser(
            auth0_user_id=user.user_id,
            group_key=normalize_email(user.email) if user.email else user.user_id,
            email=user.email,
            branch=branch,
            request=req,
            auth0_ids=(user.user_id,),
            hash_ref=self.pw.offsets[row] if is_pw else None,
            hash_line=self.pw.lines[row] if is_pw else None,
            email_verified=verified,
            reason=self._reason(u, user, branch, errors) + _without_external_id(user),
            source_line=user.line,
        )

    def _merged(self, members: list[int], users: list[Auth0User]) -> PlannedUser:
        by_index = dict(zip(sorted(members), users, strict=True))  # buffers fill in file order
        ordered = [by_index[m] for m in members]  # primary first
        primary, p = ordered[0], members[0]
        branch = Branch.ALL[self.branch[p]]
        sent = normalize_email(primary.email or "")
        verified = any(x.email_verified is True and normalize_email(x.email or "") == sent for x in ordered)
        ids = tuple(x.user_id for x in ordered)
        row = self.pw_row[p]
        is_pw = branch == Branch.PASSWORD
        req = self._request(primary, branch, verified, self._names(ordered), ids[1:],
                            hash_type=self.pw.hash_type(row) if is_pw else None)
        others = ", ".join(f"{x.user_id} (line {x.line})" for x in ordered[1:])
        return PlannedUser(
            auth0_user_id=primary.user_id,
            group_key=normalize_email(primary.email or primary.user_id),
            email=primary.email,
            branch=branch,
            request=req,
            auth0_ids=ids,
            hash_ref=self.pw.offsets[row] if is_pw else None,
            hash_line=self.pw.lines[row] if is_pw else None,
            email_verified=verified,
            reason=f"{self._reason(p, primary, branch)}; merged with {others} (same email)"
                   + _without_external_id(primary),
            source_line=primary.line,
        )


def build_plan(users_path: str | Path, passwords_path: str | Path | None = None,
               options: PlanOptions | None = None,
               on_progress: Callable[[Progress], None] | None = None,
               digest_key: bytes | None = None, spool_dir: str | Path | None = None) -> PlanResult:
    """Read, verify, join and classify; see the module docstring for every rule applied. With the
    run's `digest_key` each hash row's digest is taken as it is read (core/digests.py), and with a
    private `spool_dir` (the run folder) pass 1 keeps what mapping needs (_UserSpool): saving the
    plan or diffing a sync then reads neither export a second time.

    Phases, in order: index the password export, classify every user and join it by id, drop
    repeated user ids, bind by email (opt-in only), report unmatched rows and settle database users
    (password or reset), merge duplicate emails, then count."""
    options = options or PlanOptions()
    users_path = Path(users_path)
    passwords_path = Path(passwords_path) if passwords_path else None
    findings = FindingStore(options.findings_in_memory)
    started = time.monotonic()

    def progress(op: str, n: int, done: bool = False) -> None:
        if on_progress:
            el = max(time.monotonic() - started, 1e-6)
            on_progress(Progress(op, None, frozen_counts({"read": n}), rate=n / el, done=done))

    pw = None
    if passwords_path is not None:
        pw = _read_passwords(passwords_path, findings, lambda n: progress("check-passwords", n), digest_key)
    plan = _Plan(users_path, options, pw, Path(spool_dir) if spool_dir is not None else None)
    _classify_users(plan, findings, lambda n: progress("check-users", n))
    _reject_repeated_ids(plan, findings)
    used = _claimed_rows(plan)
    if pw is not None and options.join_by_email:
        _join_by_email(plan, findings, used)
    if pw is not None:
        _report_unmatched_rows(plan, findings, used)
    _settle_database_users(plan, findings)
    _merge_duplicate_emails(plan, findings)
    summary = _summarize(plan, findings, used, users_path, passwords_path, started)
    progress("check-users", plan.n_users, done=True)
    return PlanResult(users_path, passwords_path, options, PlannedUsers(plan), findings, summary,
                      list(summary["blocking"]))


def build_run_plan(journal, users_path: str | Path, passwords_path: str | Path | None = None,
                   options: PlanOptions | None = None,
                   on_progress: Callable[[Progress], None] | None = None) -> PlanResult:
    """`build_plan` for a run that will keep the plan: digests under the run's key, the spool in
    its private folder, so `save_plan` (or a sync's diff) reads neither export again."""
    return build_plan(users_path, passwords_path, options, on_progress,
                      digest_key=run_digest_key(journal), spool_dir=journal.run_dir)


def _user_connection(user: Auth0User, auth0_id: str | None = None) -> str | None:
    """The database connection of the identity `auth0_id` (auth0|...), else the user's own."""
    if auth0_id is not None:
        for ident in user.identities:
            if ident.provider == "auth0" and not ident.is_social and \
                    "auth0|" + (ident.user_id or "").removeprefix("auth0|") == auth0_id and ident.connection:
                return ident.connection
    return user.connection


def _id_candidates(user: Auth0User) -> list[str]:
    """The ids a hash row may name for this user: its own auth0| id and its database identities'."""
    cands = [user.user_id] if user.user_id.startswith("auth0|") else []
    for ident in user.identities:
        if ident.provider == "auth0" and ident.user_id and not ident.is_social:
            c = "auth0|" + ident.user_id.removeprefix("auth0|")
            if c not in cands:
                cands.append(c)
    return cands


def _join_by_id(plan: _Plan, findings: FindingStore, u: int, user: Auth0User) -> tuple[int, int]:
    """(row, rule) of the hash row naming this user's id, (-1, 0) when none binds. A row of another
    connection never binds (a finding says so); an id match whose emails disagree is a warning."""
    pw = plan.pw
    for c in _id_candidates(user):
        rows = pw.id_index.find(_key(c))
        if not rows:
            continue
        row = rows[0] if len(rows) == 1 else next(r for r in rows if r not in pw.repeated)
        conn = _user_connection(user, c)
        if pw.conn_keys[row] and conn and pw.conn_keys[row] != _key(conn):
            plan.connection_mismatch.add(row)
            findings.add(Finding(pw.name, pw.lines[row], "connection", Severity.WARNING,
                                 "hash_connection_mismatch",
                                 f"this hash row names {c} but belongs to connection {pw.connection(row)!r}, "
                                 f"and that user (users export line {user.line}) is in {conn!r}: a hash "
                                 "never binds across connections, so it is not used (the user resets "
                                 "the password)", user.user_id))
            continue
        if user.email and pw.email_keys[row] and is_valid_email(user.email) and \
                pw.email_keys[row] != _key(normalize_email(user.email)):
            findings.add(Finding(pw.name, pw.lines[row], "email", Severity.WARNING, "hash_email_mismatch",
                                 f"this hash row names {c} (users export line {user.line}) by id, but its "
                                 "email differs from that user's: bound by id as Auth0 does; check that "
                                 "the export belongs to this tenant", user.user_id))
        if pw.emails_disagree[row]:
            findings.add(Finding(pw.name, pw.lines[row], "identifiers", Severity.WARNING,
                                 "hash_email_mismatch",
                                 f"this hash row's email and its identifiers[] email differ (row of {c}): "
                                 "bound by id; check the row", user.user_id))
        return row, (2 if pw.by_alt[row] else 1)
    return -1, 0


def _classify_users(plan: _Plan, findings: FindingStore, progress: Callable[[int], None]) -> None:
    """Pass 1 over the users export: each user's provisional branch, its id join, its counts."""
    scan, options, pw = plan.scan, plan.options, plan.pw
    pending_errors: list[Finding] = []
    b_invalid, b_blocked, b_reset = _B[Branch.INVALID], _B[Branch.BLOCKED], _B[Branch.RESET]
    b_social, b_sso = _B[Branch.SOCIAL], _B[Branch.SSO]
    u = -1
    for item in scan:
        if type(item) is Finding:
            findings.add(item)
            if item.severity is Severity.ERROR and item.code in USER_ERROR_CODES:
                pending_errors.append(item)
            continue
        user: Auth0User = item  # type: ignore[assignment]
        u += 1
        if u % 50000 == 0 and u:
            progress(u)
        errors = [f for f in pending_errors if f.line == user.line] if pending_errors else ()
        pending_errors = []
        if plan.spool is not None:
            plan.spool_user(user, errors)
        match, rule = -1, 0
        has_db = has_social = has_ent = has_pwless = False
        social: list[str] = []
        for ident in user.identities:
            kind = identity_kind(ident)
            if kind == "database":
                has_db = True
            elif kind == "social":
                has_social = True
                social.append(ident.provider)
            elif kind == "passwordless":
                has_pwless = True
            else:
                has_ent = True
                plan.enterprise[ident.connection or ident.provider] += 1
        if has_db and pw is not None:
            match, rule = _join_by_id(plan, findings, u, user)
            if match < 0 and user.email and is_valid_email(user.email):
                plan.deferred.append(u)
                plan.deferred_keys.append(_key(normalize_email(user.email)))
                plan.deferred_conns.append(_key(user.connection) if user.connection else 0)
                if options.join_by_email:
                    plan.deferred_info[u] = (user.user_id, user.connection)
        if user.blocked and options.include_blocked and has_db:
            has_db = False  # imported without credentials: a blocked user's hash is never sent
            has_pwless = True
        if errors:
            code = b_invalid  # the reason is re-derived in pass 2 (no per-user strings kept here)
        elif user.blocked and not options.include_blocked:
            code = b_blocked
            plan.blocked_seen += 1
        elif has_db:
            code = _B_DB
        elif has_pwless:
            code = b_reset  # passwordless (email/sms) or an included blocked user: Magic Auth / reset
        elif has_social:
            code = b_social
        elif has_ent:
            code = b_sso
        else:
            code = b_invalid
            plan.no_identity.add(u)
        if code != b_invalid:  # an invalid user is not counted under its social provider
            for provider in social:
                plan.providers[provider] += 1
        plan.branch.append(code)
        plan.pw_row.append(match)
        plan.rule.append(rule)
        plan.login.append(_login_key(user.last_login))
        plan.verified.append(1 if user.email_verified is True else 0)
        plan.id_len.append(min(len(user.user_id), 255))
    plan.n_users = u + 1
    plan.end_spool()
    progress(plan.n_users)


def _reject_repeated_ids(plan: _Plan, findings: FindingStore) -> None:
    """Repeated user ids: the first line is kept, repeats are not planned."""
    scan = plan.scan
    for group in scan.duplicate_id_groups():
        first = scan.line_of[group[0]]
        for i in group[1:]:
            plan.rejected.add(i)
            findings.add(Finding(scan.name, scan.line_of[i], "user_id", Severity.ERROR, "duplicate_user_id",
                                 f"same user_id as line {first}; this line is not imported (the first "
                                 "line is kept)"))


def _claimed_rows(plan: _Plan) -> bytearray:
    """1 for every hash row bound (so far) to a planned user."""
    used = bytearray(len(plan.pw.offsets)) if plan.pw is not None else bytearray()
    for i in range(plan.n_users):
        if plan.pw_row[i] >= 0 and i not in plan.rejected:
            used[plan.pw_row[i]] = 1
    return used


def _email_candidates(plan: _Plan, used: bytearray, i: int, key: int, conn: int) -> list[int]:
    """Unclaimed hash rows sharing user i's email whose id names no user, of the same connection."""
    pw = plan.pw
    return [r for r in pw.email_index().find(key)
            if not used[r] and r not in pw.repeated and r not in plan.connection_mismatch
            and not (pw.id_keys[r] and plan.names_a_user(pw.id_keys[r]))
            and not (pw.conn_keys[r] and conn and pw.conn_keys[r] != conn)]


def _join_by_email(plan: _Plan, findings: FindingStore, used: bytearray) -> None:
    """Opt-in (`PlanOptions.join_by_email`): a database user without an id match takes the one
    unclaimed row with its email whose id names no user in the export (or that has no id), in its
    own connection. Every such binding is a warning naming both sides."""
    scan, pw = plan.scan, plan.pw
    for i, key, conn in zip(plan.deferred, plan.deferred_keys, plan.deferred_conns, strict=True):
        if i in plan.rejected:
            continue
        cands = _email_candidates(plan, used, i, key, conn)
        if len(cands) == 1:
            r = cands[0]
            plan.pw_row[i] = r
            plan.rule[i] = 3
            used[r] = 1
            plan.email_bound.append(i)
            row_id = f"id {pw.row_id(r)}" if pw.id_keys[r] else "no id"
            uid, uconn = plan.deferred_info[i]
            findings.add(Finding(pw.name, pw.lines[r], "email", Severity.WARNING, "hash_joined_by_email",
                                 f"bound by email (--join-by-email): this row ({row_id}, connection "
                                 f"{pw.connection(r)!r}) gives its hash to {uid} (users export line "
                                 f"{scan.line_of[i]}, connection {uconn or 'unknown'!r}); check that they are "
                                 "the same person", uid))
        elif len(cands) > 1:
            findings.add(Finding(scan.name, scan.line_of[i], "email", Severity.WARNING,
                                 "hash_join_ambiguous",
                                 f"no hash row has this user's id and {len(cands)} unclaimed rows "
                                 f"share its email (lines {', '.join(str(pw.lines[r]) for r in cands[:10])}); "
                                 "none is used: the user resets the password"))


def _report_unmatched_rows(plan: _Plan, findings: FindingStore, used: bytearray) -> None:
    pw = plan.pw
    hint = ("" if plan.options.join_by_email else
            "; rows bind by id only: if the ids differ on purpose, re-run with --join-by-email")
    for r in range(len(pw.offsets)):
        if used[r] or r in pw.repeated or r in plan.connection_mismatch or pw.kinds[r] == _EMPTY:
            continue  # empty rows: an info finding already; mismatched connection: its own warning
        what = ("names an id that matches no user in the users export" if pw.id_keys[r] else
                "has no _id/alt_id, so it binds to no user by id")
        findings.add(Finding(pw.name, pw.lines[r], "_id", Severity.WARNING, "hash_unmatched",
                             f"this hash row {what} (auth0| + alt_id/_id.$oid); it is not used{hint}"))


def _settle_database_users(plan: _Plan, findings: FindingStore) -> None:
    """Database users: password when an importable hash is bound, else reset."""
    scan, pw = plan.scan, plan.pw
    b_password, b_reset = _B[Branch.PASSWORD], _B[Branch.RESET]
    deferred = dict(zip(plan.deferred, zip(plan.deferred_keys, plan.deferred_conns, strict=True), strict=True)) \
        if pw is not None and not plan.options.join_by_email else {}
    used = _claimed_rows(plan) if deferred else bytearray()
    for i in range(plan.n_users):
        if plan.branch[i] != _B_DB:
            continue
        r = plan.pw_row[i]
        if r >= 0 and pw.importable(r):
            plan.branch[i] = b_password
            continue
        plan.branch[i] = b_reset
        if r >= 0 or i in plan.rejected:
            continue
        plan.db_without_hash += 1
        if pw is None:
            continue
        msg = ("database user without a row in the password export (by id): imported without a password, "
               "resets it (branch reset)")
        if i in deferred:
            same = _email_candidates(plan, used, i, *deferred[i])
            if same:
                msg += (f"; hash row line {pw.lines[same[0]]} has this user's email under another id: "
                        "re-run with --join-by-email to bind it by email")
        findings.add(Finding(scan.name, scan.line_of[i], "user_id", Severity.INFO, "hash_not_found", msg))
    for i in range(plan.n_users):
        if plan.pw_row[i] >= 0 and i not in plan.rejected:
            plan.rule_counts[_RULES[plan.rule[i]]] += 1


def _merge_duplicate_emails(plan: _Plan, findings: FindingStore) -> None:
    """Users sharing the address WorkOS compares become one planned user (MERGE_RULE); addresses
    that only look alike (Unicode NFKC) are reported and imported as themselves."""
    scan = plan.scan
    importable = {_B[b] for b in Branch.IMPORTABLE}
    for f in scan.lookalike_findings(plan.rejected):
        findings.add(f)
    for group in scan.email_groups(plan.rejected):
        plan.dup_groups += 1
        members = [i for i in group if plan.branch[i] in importable]
        lines = [scan.line_of[i] for i in group]
        primary = _pick_primary(plan, members) if len(members) > 1 else None
        if primary is not None:
            ordered = [primary] + [i for i in members if i != primary]
            gid = len(plan.groups)
            plan.groups.append(ordered)
            for i in ordered:
                plan.group_of[i] = gid
            plan.merged_away += len(ordered) - 1
            merged_len = sum(plan.id_len[i] for i in ordered[1:]) + len(ordered) - 2
            if merged_len > METADATA_VALUE_MAX:
                findings.add(Finding(scan.name, scan.line_of[primary], "metadata", Severity.WARNING,
                                     "metadata_too_large",
                                     f"metadata.auth0_merged_ids would be {merged_len} characters (> "
                                     f"{METADATA_VALUE_MAX}) for {len(ordered) - 1} merged ids: not stored; "
                                     "the id map still lists every merged id"))
        for i in group:
            if primary is None:
                what = ("only one of them is importable; the others are blocked or invalid"
                        if len(members) <= 1 else "")
            elif i == primary:
                what = "this line is the primary of the merged WorkOS user"
            elif i in plan.group_of:
                what = f"merged into the WorkOS user of line {scan.line_of[primary]}"
            else:
                what = f"not merged ({Branch.ALL[plan.branch[i]]})"
            findings.add(Finding(scan.name, scan.line_of[i], "email", Severity.WARNING, "duplicate_email",
                                 f"email shared (the same address to WorkOS: case-insensitive) by {len(lines)} "
                                 f"users on {'elements' if scan.format == 'json-array' else 'lines'} "
                                 f"{_list(lines)}: {what}"))


def _summarize(plan: _Plan, findings: FindingStore, used: bytearray, users_path: Path,
               passwords_path: Path | None, started: float) -> dict:
    """Every count of the plan (the plan_summary document); `planned` counts importable users."""
    scan, pw, options = plan.scan, plan.pw, plan.options
    branches: Counter[str] = Counter()
    for i in range(plan.n_users):
        if i in plan.rejected:
            continue
        g = plan.group_of.get(i)
        if g is not None and plan.groups[g][0] != i:
            continue
        branches[Branch.ALL[plan.branch[i]]] += 1
    plan.planned_count = sum(branches.values())
    hashes = {"rows": 0, "kinds": {}, "prefixes": {}, "costs": {}, "valid": 0}
    unmatched = unmatched_empty = 0
    if pw is not None:
        bcrypt_kind = _HASH_KINDS.index("bcrypt")
        kc = Counter(_HASH_KINDS[k] for k in pw.kinds)
        pc = Counter(pw.prefixes[pw.prefix_idx[r]] for r in range(len(pw.kinds)) if pw.kinds[r] != _EMPTY)
        cc = Counter(str(pw.costs[r]) for r in range(len(pw.kinds)) if pw.kinds[r] == bcrypt_kind
                     and pw.importable(r))
        hashes = {"rows": len(pw.kinds), "kinds": dict(kc), "prefixes": dict(pc), "costs": dict(cc),
                  "valid": sum(n for k, n in kc.items() if k in IMPORTABLE_KINDS),
                  "connections": dict(pw.connections)}
        for r in range(len(used)):
            if used[r] or r in pw.repeated:
                continue
            if pw.kinds[r] == _EMPTY:
                unmatched_empty += 1
            else:
                unmatched += 1
    summary = {
        "users_file": str(users_path),
        "passwords_file": str(passwords_path) if passwords_path else None,
        "format": scan.format,
        "gzipped": scan.gzipped,
        "users_file_error": scan.file_error,
        "passwords_file_error": pw.file_error if pw is not None else None,
        "lines_read": scan.lines_read,
        "blank_lines": scan.blank_lines,
        "rejected_lines": scan.rejected_lines + len(plan.rejected),
        "users_read": plan.n_users,
        "password_lines_read": pw.lines_read if pw is not None else 0,
        "planned": branches.get(Branch.PASSWORD, 0) + branches.get(Branch.RESET, 0)
        + branches.get(Branch.SOCIAL, 0) + branches.get(Branch.SSO, 0),
        "branches": {b: branches.get(b, 0) for b in Branch.ALL},
        "duplicate_user_ids": len(plan.rejected),
        "duplicate_email_groups": plan.dup_groups,
        "merged_groups": len(plan.groups),
        "merged_users": plan.merged_away,
        "join": {r: plan.rule_counts.get(r, 0) for r in _RULES[1:]},
        "join_by_email": options.join_by_email,
        "hash_rows_matched": int(sum(used)) if pw is not None else 0,
        "hash_rows_unmatched": unmatched,
        "hash_rows_without_hash_unmatched": unmatched_empty,
        "hash_rows_repeated": len(pw.repeated) if pw is not None else 0,
        "hash_rows_other_connection": len(plan.connection_mismatch),
        "database_users_without_hash": plan.db_without_hash,
        "hashes": hashes,
        "blocked_users": plan.blocked_seen,
        "social_providers": dict(plan.providers),
        "enterprise_connections": dict(plan.enterprise),
        "findings": {s.value: findings.by_severity.get(s.value, 0) for s in Severity},
        "finding_codes": dict(findings.by_code),
        "merge_rule": MERGE_RULE,
        "verified_rule": VERIFIED_RULE,
        "join_rule": JOIN_RULE,
        "blocked_policy": BLOCKED_POLICY,
        "name_rule": NAME_RULE,
        "include_blocked": options.include_blocked,
        "metadata_keys": None if options.metadata_keys is None else list(options.metadata_keys),
        "seconds": round(time.monotonic() - started, 3),
    }
    summary["blocking"] = [c.name for c in _export_checks(summary) if not c.ok]
    return summary


def _pick_primary(plan: _Plan, members: list[int]) -> int:
    """MERGE_RULE: a verified address never loses to an unverified one; then a sendable hash, then
    the most recent login, then file order."""
    b_password = _B[Branch.PASSWORD]
    pool = [i for i in members if plan.verified[i]] or members
    with_hash = [i for i in pool if plan.branch[i] == b_password]
    pool = with_hash or pool
    return max(pool, key=lambda i: (plan.login[i], -i))


def _list(lines: list[int], limit: int = 20) -> str:
    if len(lines) <= limit:
        return ", ".join(map(str, lines))
    return ", ".join(map(str, lines[:limit])) + f" and {len(lines) - limit} more"


# ------------------------------------------------------------------------------ redaction
def redacted_request(planned, reader: HashReader | None = None) -> dict:
    """The request as it will be sent, with the hash shown only as its description.

    `planned` is a PlannedUser or a journal UserRow. With a `reader` the hash is re-read to say its
    prefix, cost and length; it is never returned."""
    req = dict(planned.request)
    kind = req.get("password_hash_type")
    if kind in hash_kinds.WORKOS_HASH_TYPES and planned.hash_ref is not None:
        line = planned.hash_line
        desc = kind
        if reader is not None:
            try:
                h = reader.hash_at(planned.hash_ref)
                desc = hash_kinds.describe(classify_hash(h), len(h))
            except Exception:  # noqa: BLE001 - a description is best effort
                desc = f"{kind} (file unreadable now)"
        req["password_hash"] = f"[redacted: {desc}, line {line}]"
        # keep the key order of the real request: password_hash before its type
        req = {k: req[k] for k in [*(k for k in req if k not in ("password_hash", "password_hash_type")),
                                   "password_hash", "password_hash_type"]}
    return req


# ------------------------------------------------------------------------------ journal
def save_plan(journal, result: PlanResult, users_path: str | Path | None = None,
              passwords_path: str | Path | None = None) -> int:
    """Record the inputs (SHA-256, line counts), the findings, the planned users and the summary
    (document "plan_summary"). Returns the number of planned users written.

    Once the run has written to WorkOS the plan is merged (Journal.merge_plan), not replaced:
    corrected hashes are re-sent, created users keep their WorkOS ids.

    All or nothing: everything is written in one journal transaction, so an error part-way (an
    export that changed since the check, a disk error) leaves the previous plan intact. An export
    file that changed since `build_plan` read it raises ExportChangedError (a JournalError)."""
    users_path = Path(users_path or result.users_path)
    passwords_path = passwords_path or result.passwords_path
    plan = result.planned._plan
    changed = plan.changed_inputs()
    if changed:
        raise ExportChangedError("; ".join(changed) + ": nothing was saved. Run the export check again.")
    digests = {"users": sha256_file(users_path)}
    if passwords_path:
        digests["passwords"] = sha256_file(passwords_path)
    changed = plan.changed_inputs()  # changed while it was being hashed
    if changed:
        raise ExportChangedError("; ".join(changed) + ": nothing was saved. Run the export check again.")
    with journal.transaction():
        journal.record_input("users", users_path, sha256=digests["users"], lines=result.summary.get("lines_read"))
        files = [users_path.name]
        if passwords_path:
            journal.record_input("passwords", passwords_path, sha256=digests["passwords"],
                                 lines=result.summary.get("password_lines_read"))
            files.append(Path(passwords_path).name)
        else:
            journal.remove_input("passwords")
        for name in files:
            journal.clear_findings(name)
        journal.add_findings(result.findings)
        if journal.has_writes():  # the run wrote to WorkOS: merge, never forget what exists
            merged = journal.merge_plan(result.planned)
            documents.PLAN_MERGE.write(journal, documents.PlanMerge.load(merged))
            n = len(result.planned)
        else:
            n = journal.replace_plan(result.planned)
        documents.PLAN_SUMMARY.write(journal, documents.PlanSummary.load(result.summary))
        # in the same transaction: a later delta sync spots changed hashes by these digests
        taken = None
        if passwords_path and Path(passwords_path) == result.passwords_path:
            taken = result.planned.password_digests(run_digest_key(journal))
        record_hash_digests(journal, passwords_path, taken)
    return n


# ------------------------------------------------------------------------------ gates
def _export_checks(s: dict) -> list[Check]:
    checks = [
        Check("Users export readable", s.get("users_file_error") is None,
              s.get("users_file_error") or
              f"{s.get('lines_read', 0)} lines ({s.get('format')}{', gzip' if s.get('gzipped') else ''})",
              "Download the users export again (Auth0 job output is gzipped NDJSON)."),
        Check("Users found", s.get("users_read", 0) > 0,
              f"{s.get('users_read', 0)} users read, {s.get('rejected_lines', 0)} lines rejected",
              "Check that the file is the users export and that lines carry user_id or Id."),
    ]
    if s.get("passwords_file"):
        h = s.get("hashes") or {}
        rows, matched = h.get("rows", 0), s.get("hash_rows_matched", 0)
        checks.append(Check("Password export readable", s.get("passwords_file_error") is None and rows > 0,
                            s.get("passwords_file_error") or f"{rows} hash rows",
                            "Decrypt the file from Auth0 support (gpg) and point --passwords at it."))
        j = s.get("join") or {}
        checks.append(Check("Hashes join to users", rows == 0 or matched > 0,
                            f"{matched} of {rows} hash rows joined ("
                            + ", ".join(f"{k}: {v}" for k, v in j.items()) + ")",
                            "None matched: is this the password export of the same tenant? Rows bind by "
                            "auth0| + alt_id/_id.$oid; --join-by-email also binds rows by email."))
        kinds = ", ".join(f"{k} {n}" for k, n in sorted((h.get("kinds") or {}).items())) or "none"
        checks.append(Check("Usable password hashes", rows == 0 or h.get("valid", 0) > 0,
                            f"{h.get('valid', 0)} importable of {rows}; kinds: {kinds}",
                            "WorkOS imports bcrypt ($2a$/$2b$/$2y$), PHC argon2 / pbkdf2 / scrypt, "
                            "{SSHA}/{SSHA256} and firebase-scrypt; ask Auth0 support for a complete export."))
    br = s.get("branches") or {}
    checks.append(Check("Per-user problems (not blocking)", True,
                        f"{br.get('invalid', 0)} invalid users skipped, {s.get('rejected_lines', 0)} lines "
                        f"rejected, {s.get('findings', {}).get('warning', 0)} warnings: see findings",
                        "Fix them in Auth0 or the export and re-run the check to import those users too."))
    return checks


def export_gate(result_or_journal) -> GateResult:
    """Blocks only on file-level problems (unreadable file, no users, a password export that joins
    nothing or holds no usable hash). Per-user errors make those users `invalid` and are listed as
    findings; they do not block the gate."""
    if isinstance(result_or_journal, PlanResult):
        summary = result_or_journal.summary
    else:
        stored = documents.PLAN_SUMMARY.read(result_or_journal)
        summary = stored.dump() if stored is not None else None
        if not summary:
            return GateResult.from_checks([Check("Export checked", False, "no export check in this run yet",
                                                 "Run the export check (auth0-workos check --users FILE).")])
    checks = _export_checks(summary)
    if not isinstance(result_or_journal, PlanResult):
        changed = result_or_journal.changed_inputs()
        checks.insert(0, Check("Export files unchanged since the check", not changed,
                               "; ".join(changed) or "SHA-256 as checked",
                               "Restore the original files or run the export check again."))
    return GateResult.from_checks(checks, details={
        k: summary.get(k) for k in ("users_read", "planned", "branches", "hash_rows_matched",
                                    "hash_rows_unmatched", "duplicate_email_groups", "findings")})


def mapping_gate(journal) -> GateResult:
    """The plan in the journal is complete and consistent: importable users exist, every one has an
    email and an external id, no two share an email, password users have a hash reference, the
    merge rule is recorded, and the input files are unchanged since planning."""
    stored = documents.PLAN_SUMMARY.read(journal)
    merge_rule = stored.merge_rule if stored is not None else None
    counts = journal.count_users("branch")
    importable = tuple(Branch.IMPORTABLE)
    n_imp = sum(counts.get(b, 0) for b in importable)
    consistency = journal.plan_consistency(importable)
    no_email = consistency["missing_email_or_external_id"]
    dupes = consistency["duplicate_emails"]
    no_ref = consistency["password_without_hash_ref"]
    changed = journal.changed_inputs()
    checks = [
        Check("Plan recorded", bool(counts), f"{sum(counts.values())} planned users: {dict(counts)}",
              "Run the export check with a run folder (auth0-workos check --run-dir DIR ...)."),
        Check("Users to import", n_imp > 0, f"{n_imp} importable users",
              "Every user is blocked or invalid: fix the findings and re-run the check."),
        Check("Email and external id on every request", no_email == 0,
              f"{no_email} importable users lack an email or external_id", "Re-run the export check."),
        Check("One WorkOS user per email", dupes == 0, f"{dupes} emails planned more than once",
              "Re-run the export check: duplicate emails are merged by the plan."),
        Check("Password users have a hash reference", no_ref == 0, f"{no_ref} without", "Re-run the export check."),
        Check("Merge rule stated", bool(merge_rule), (merge_rule or "missing")[:120],
              "Re-run the export check."),
        Check("Input files unchanged", not changed, "; ".join(changed) or "SHA-256 as planned",
              "Restore the original files or re-run the export check."),
    ]
    return GateResult.from_checks(checks, details={"branches": dict(counts)})
