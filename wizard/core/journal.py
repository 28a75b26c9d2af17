"""The SQLite journal: the single source of truth of one migration run (progress, users, id map, errors).

Every state change is committed before the action it describes leaves the process, so a killed run
resumes exactly where it was. No password hash and no secret is ever written here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from wizard import __version__
from wizard.core.findings import Finding, Severity
from wizard.core.records import PlannedUser, UserStatus
from wizard.core.rundir import ensure_private_dir

SCHEMA_VERSION = 1
JOURNAL_NAME = "journal.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS inputs (
    kind TEXT PRIMARY KEY, path TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER, lines INTEGER,
    recorded_at REAL);
CREATE TABLE IF NOT EXISTS steps (
    step_id TEXT PRIMARY KEY, status TEXT NOT NULL, reason TEXT, details_json TEXT, updated_at REAL);
CREATE TABLE IF NOT EXISTS findings (
    id INTEGER PRIMARY KEY, file TEXT, line INTEGER, field TEXT, severity TEXT, code TEXT,
    message TEXT, auth0_user_id TEXT);
CREATE INDEX IF NOT EXISTS findings_sev ON findings(severity, code);
CREATE TABLE IF NOT EXISTS users (
    auth0_user_id TEXT PRIMARY KEY, group_key TEXT, email TEXT, branch TEXT NOT NULL,
    status TEXT NOT NULL, workos_user_id TEXT, attempts INTEGER NOT NULL DEFAULT 0,
    last_error_code TEXT, last_error_message TEXT, request_json TEXT, hash_ref INTEGER,
    hash_line INTEGER, email_verified INTEGER, reason TEXT, source_line INTEGER,
    auth0_ids_json TEXT, updated_at REAL, seq INTEGER);
CREATE INDEX IF NOT EXISTS users_status ON users(status, seq);
CREATE INDEX IF NOT EXISTS users_seq ON users(seq);  -- plan order: every batched walk (seq > ? ORDER BY seq LIMIT ?)
CREATE INDEX IF NOT EXISTS users_branch ON users(branch);
CREATE TABLE IF NOT EXISTS aliases (  -- merged duplicates only: another Auth0 id -> its group's primary
    auth0_user_id TEXT PRIMARY KEY, primary_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS aliases_primary ON aliases(primary_id);
CREATE TABLE IF NOT EXISTS orgs (
    auth0_org_id TEXT PRIMARY KEY, name TEXT, display_name TEXT, status TEXT NOT NULL,
    workos_org_id TEXT, domains_json TEXT, metadata_json TEXT, member_count INTEGER,
    last_error_code TEXT, last_error_message TEXT, updated_at REAL);
CREATE TABLE IF NOT EXISTS memberships (
    auth0_org_id TEXT NOT NULL, auth0_user_id TEXT NOT NULL, status TEXT NOT NULL,
    workos_membership_id TEXT, role_slug TEXT, last_error_code TEXT, last_error_message TEXT,
    updated_at REAL, PRIMARY KEY (auth0_org_id, auth0_user_id));
CREATE TABLE IF NOT EXISTS writes (
    id INTEGER PRIMARY KEY, at REAL NOT NULL, kind TEXT NOT NULL, target_id TEXT, auth0_id TEXT);
CREATE INDEX IF NOT EXISTS writes_kind ON writes(kind);
CREATE TABLE IF NOT EXISTS documents (name TEXT PRIMARY KEY, json TEXT NOT NULL, updated_at REAL);
CREATE TABLE IF NOT EXISTS verifications (
    name TEXT PRIMARY KEY, ok INTEGER NOT NULL, evidence TEXT, fix_hint TEXT, at REAL);
-- hardening: creates whose answer was lost (they may have landed), kept through every later path
CREATE TABLE IF NOT EXISTS create_sends (
    auth0_user_id TEXT PRIMARY KEY, first_sent REAL NOT NULL, outcome_unknown INTEGER NOT NULL DEFAULT 0);
-- hardening: what an update changed on a user that existed before the run (no hash, no secret)
CREATE TABLE IF NOT EXISTS before_images (
    workos_user_id TEXT PRIMARY KEY, auth0_user_id TEXT, json TEXT NOT NULL, recorded_at REAL,
    restored_at REAL);
-- hardening: an input file's stat when planned (re-checked at every re-read of a hash)
CREATE TABLE IF NOT EXISTS input_stamps (
    kind TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, inode INTEGER);
CREATE INDEX IF NOT EXISTS writes_target ON writes(target_id);
-- roles and permissions (roles step): Auth0 RBAC and its WorkOS mapping
CREATE TABLE IF NOT EXISTS rbac_permissions (
    perm_key TEXT PRIMARY KEY, resource_server TEXT NOT NULL, resource_server_name TEXT, name TEXT NOT NULL,
    description TEXT, slug TEXT, status TEXT NOT NULL DEFAULT 'planned', updated_at REAL);
CREATE TABLE IF NOT EXISTS rbac_roles (
    auth0_role_id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT, permission_keys_json TEXT NOT NULL,
    slug TEXT, status TEXT NOT NULL DEFAULT 'planned', previous_permissions_json TEXT, error TEXT,
    updated_at REAL);
CREATE TABLE IF NOT EXISTS rbac_member_roles (
    auth0_org_id TEXT NOT NULL, auth0_user_id TEXT NOT NULL, source TEXT NOT NULL DEFAULT 'org',
    auth0_role_ids_json TEXT NOT NULL, workos_org_id TEXT, workos_membership_id TEXT, applied_json TEXT,
    dropped_json TEXT, previous_json TEXT, status TEXT NOT NULL DEFAULT 'planned', note TEXT, updated_at REAL,
    PRIMARY KEY (auth0_org_id, auth0_user_id));
-- enterprise SSO (issue 13): Auth0 enterprise connections, the WorkOS connection(s) each becomes
-- (one per placement: an enabling Auth0 organization, or '' for an organization of its own), and the
-- sso-branch users who join the connection's organization. No secret is ever stored here.
CREATE TABLE IF NOT EXISTS sso_connections (
    auth0_connection_id TEXT PRIMARY KEY, name TEXT NOT NULL, display_name TEXT, strategy TEXT,
    users INTEGER, auth0_orgs_json TEXT, domains_json TEXT, mode TEXT, outcome TEXT NOT NULL,
    connection_type TEXT, idp_url TEXT, reason TEXT, action TEXT, request_json TEXT, unknowns_json TEXT,
    notes_json TEXT, updated_at REAL);
CREATE TABLE IF NOT EXISTS sso_targets (
    auth0_connection_id TEXT NOT NULL, placement TEXT NOT NULL, auth0_org_id TEXT, external_id TEXT,
    org_name TEXT, workos_org_id TEXT, status TEXT NOT NULL, workos_connection_id TEXT,
    last_error_code TEXT, last_error_message TEXT, updated_at REAL,
    PRIMARY KEY (auth0_connection_id, placement));
CREATE TABLE IF NOT EXISTS sso_members (
    auth0_user_id TEXT NOT NULL, auth0_connection_id TEXT NOT NULL, status TEXT NOT NULL,
    workos_org_id TEXT, workos_membership_id TEXT, last_error_message TEXT, updated_at REAL,
    PRIMARY KEY (auth0_user_id, auth0_connection_id, workos_org_id));
-- delta sync (the migration window): per-user hash digests taken at plan time, one row per sync,
-- and each sync's differences (staged, then applied to `users` in one transaction)
-- hash_digests has no rowid: its key is its only index, half the bytes of a rowid table plus
-- the key's own index (a journal made before keeps its rowid table; every query is the same)
CREATE TABLE IF NOT EXISTS hash_digests (auth0_user_id TEXT PRIMARY KEY, digest INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS syncs (
    id INTEGER PRIMARY KEY, status TEXT NOT NULL, started_at REAL, applied_at REAL, finished_at REAL,
    dry_run INTEGER NOT NULL DEFAULT 0, delete_removed INTEGER NOT NULL DEFAULT 0,
    inputs_json TEXT, counts_json TEXT, summary_json TEXT);
CREATE TABLE IF NOT EXISTS sync_changes (
    sync_id INTEGER NOT NULL, auth0_user_id TEXT NOT NULL, kind TEXT NOT NULL, fields TEXT,
    prev_status TEXT, workos_user_id TEXT, group_key TEXT, email TEXT, branch TEXT, request_json TEXT,
    hash_ref INTEGER, hash_line INTEGER, email_verified INTEGER, reason TEXT, source_line INTEGER,
    auth0_ids_json TEXT, hash_digest INTEGER, old_request_json TEXT, PRIMARY KEY (sync_id, auth0_user_id));
CREATE INDEX IF NOT EXISTS sync_changes_kind ON sync_changes(sync_id, kind);
"""


class JournalError(Exception):
    """A journal refused an operation (wrong schema, changed inputs, re-plan after writes)."""


class JournalDamaged(JournalError):
    """The journal file is not a readable SQLite database (0 bytes, truncated, overwritten)."""


class JournalWriteFailed(JournalError):
    """The journal could not be written (full disk, I/O error): the last change was rolled back."""


SQLITE_HEADER = b"SQLite format 3\x00"


def _recovery_hint(path: Path) -> str:
    return (f"It is not re-created or repaired automatically. To recover: restore {path.name} from a "
            f"backup; or salvage it with `sqlite3 {path} .recover | sqlite3 recovered.sqlite` and put "
            f"recovered.sqlite in its place; if this run never wrote to WorkOS, start a new run folder.")


def journal_error(exc: sqlite3.Error, path: Path | None) -> JournalError:
    """A plain message for a failed SQLite call: a full disk, an I/O error, or a damaged file."""
    path = path or Path("journal.sqlite").resolve()
    text = str(exc)
    low = text.lower()
    if "database or disk is full" in low:
        return JournalWriteFailed(
            f"the disk holding {path.parent} is full (database or disk is full). Nothing was half-written: "
            "the last change was rolled back and the run stopped. Free some space, then run the same "
            "command again to resume.")
    if "disk i/o error" in low or "readonly" in low or "unable to open" in low:
        return JournalWriteFailed(
            f"could not write the run journal {path} ({text}). Check that the disk has free space and the "
            "folder is writable, then run the same command again to resume.")
    if "malformed" in low or "not a database" in low or "file is encrypted" in low or "corrupt" in low:
        return JournalDamaged(f"the run journal {path} is damaged ({text}). {_recovery_hint(path)}")
    return JournalError(f"the run journal {path} could not be used ({text}).")


@dataclass(frozen=True, slots=True)
class UserRow:
    auth0_user_id: str
    group_key: str | None
    email: str | None
    branch: str
    status: str
    workos_user_id: str | None
    attempts: int
    last_error_code: str | None
    last_error_message: str | None
    request: dict
    hash_ref: int | None
    hash_line: int | None
    email_verified: bool | None
    reason: str | None
    source_line: int | None
    auth0_ids: tuple[str, ...]
    updated_at: float | None


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


_BULK_CACHE_KIB = 64 << 10  # page cache while a plan is bulk-loaded (SQLite's default is 2 MiB)


@contextlib.contextmanager
def _bulk_load(db: sqlite3.Connection, tables: tuple[str, ...]) -> Iterator[None]:
    """Inside a transaction: drop the secondary indexes of `tables` (as `_SCHEMA` declares them)
    and rebuild each once at the end (a sort instead of a B-tree insert per row), with a bigger
    page cache meanwhile. On an error the transaction's rollback brings the indexes back."""
    indexes = [(m.group(1), m.group(0)) for m in re.finditer(
        r"CREATE INDEX IF NOT EXISTS (\w+) ON (\w+)\([^)]*\)", _SCHEMA) if m.group(2) in tables]
    old_cache = db.execute("PRAGMA cache_size").fetchone()[0]
    db.execute(f"PRAGMA cache_size=-{_BULK_CACHE_KIB}")
    try:
        for name, _ in indexes:
            db.execute(f"DROP INDEX IF EXISTS {name}")
        yield
        for _, ddl in indexes:
            db.execute(ddl)
    finally:
        db.execute(f"PRAGMA cache_size={int(old_cache)}")


def _set_aliases(db: sqlite3.Connection, primary: str, ids: Iterable[str]) -> None:
    """A group's other Auth0 ids point at its primary; the primary itself is no alias (an id that
    was merged into another group before and leads its own now loses its old pointer)."""
    db.execute("DELETE FROM aliases WHERE auth0_user_id=?", (primary,))
    db.executemany("INSERT OR REPLACE INTO aliases(auth0_user_id, primary_id) VALUES(?, ?)",
                   [(a, primary) for a in ids if a != primary])


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def plan_json(value: dict | list) -> str:
    """The JSON text the journal keeps for a planned request or id list: compact, keys sorted (so
    equal values give equal text), UTF-8 as is. orjson writes it about ten times faster than
    json.dumps, which matters at a million users; json.dumps takes what orjson refuses (an integer
    beyond 64 bits). Readers parse it, so older journals (json.dumps spacing) read the same."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _row_to_user(r: sqlite3.Row) -> UserRow:
    ev = r["email_verified"]
    return UserRow(
        auth0_user_id=r["auth0_user_id"],
        group_key=r["group_key"],
        email=r["email"],
        branch=r["branch"],
        status=r["status"],
        workos_user_id=r["workos_user_id"],
        attempts=r["attempts"],
        last_error_code=r["last_error_code"],
        last_error_message=r["last_error_message"],
        request=orjson.loads(r["request_json"] or "{}"),
        hash_ref=r["hash_ref"],
        hash_line=r["hash_line"],
        email_verified=None if ev is None else bool(ev),
        reason=r["reason"],
        source_line=r["source_line"],
        auth0_ids=tuple(json.loads(r["auth0_ids_json"] or "[]")),
        updated_at=r["updated_at"],
    )


class Journal:
    """One SQLite file per run. Thread-safe (one connection behind a lock); commits are immediate."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser().resolve()  # absolute: paths stored in documents stay valid
        ensure_private_dir(self.path.parent)
        if self.path.exists():
            self._check_file()
        else:
            os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        os.chmod(self.path, 0o600)
        self._lock = threading.RLock()
        self._in_tx = 0
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._check_size()
            self._db.executescript(_SCHEMA)
            version = self.get_meta("schema_version")
        except sqlite3.Error as exc:
            with contextlib.suppress(Exception):
                self._db.close()
            raise journal_error(exc, self.path) from None
        if version is None:
            self.set_meta("schema_version", str(SCHEMA_VERSION))
            self.set_meta("created_at", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
            self.set_meta("tool_version", __version__)
        elif int(version) > SCHEMA_VERSION:
            raise JournalError(
                f"{self.path} was written by a newer wizard (schema {version} > {SCHEMA_VERSION}); upgrade first."
            )

    def _check_file(self) -> None:
        """An existing journal must be an SQLite file: a 0-byte or overwritten one is refused, never
        silently started again (that would forget every write the run made)."""
        size = self.path.stat().st_size
        if size == 0:
            raise JournalDamaged(f"the run journal {self.path} is empty (0 bytes): it was truncated or "
                                 f"replaced. {_recovery_hint(self.path)}")
        with open(self.path, "rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
        if head != SQLITE_HEADER:
            raise JournalDamaged(f"the run journal {self.path} is not an SQLite database (its first bytes "
                                 f"are not the SQLite header). {_recovery_hint(self.path)}")

    def _check_size(self) -> None:
        """A journal cut short (copied half, truncated) is shorter than its header says."""
        wal = self.path.with_name(self.path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            return  # pages may live in the WAL until the next checkpoint
        size = self.path.stat().st_size
        if size == 0:
            return  # new
        with open(self.path, "rb") as fh:
            header = fh.read(100)
        if len(header) < 100:
            raise JournalDamaged(f"the run journal {self.path} is truncated ({size} bytes). "
                                 f"{_recovery_hint(self.path)}")
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = int.from_bytes(header[28:32], "big")
        if page_size and pages and size < page_size * pages:
            raise JournalDamaged(f"the run journal {self.path} is truncated ({size:,} bytes, its header "
                                 f"says {page_size * pages:,}). {_recovery_hint(self.path)}")

    # ----------------------------------------------------------------- plumbing
    @classmethod
    def open(cls, run_dir: str | Path) -> Journal:
        return cls(Path(run_dir) / JOURNAL_NAME)

    @property
    def run_dir(self) -> Path:
        return self.path.parent

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Group writes into one commit (nested use joins the outer transaction)."""
        with self._lock:
            if self._in_tx:
                self._in_tx += 1
                try:
                    yield self._db
                finally:
                    self._in_tx -= 1
                return
            try:  # BEGIN inside the try: a signal (Ctrl-C, SIGTERM) landing just after it rolls back
                self._in_tx = 1  # instead of leaving a transaction open for the next BEGIN to trip on
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise journal_error(exc, self.path) from None
                raise
            finally:
                self._in_tx = 0

    def _q(self, sql: str, params: Iterable = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._db.execute(sql, tuple(params)).fetchall()
            except sqlite3.Error as exc:
                raise journal_error(exc, self.path) from None

    def _x(self, sql: str, params: Iterable = ()) -> None:
        with self.transaction() as db:
            db.execute(sql, tuple(params))

    # ----------------------------------------------------------------- meta & documents
    def get_meta(self, key: str) -> str | None:
        rows = self._q("SELECT value FROM meta WHERE key=?", (key,))
        return rows[0]["value"] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._x("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))

    def put_document(self, name: str, obj) -> None:
        """A JSON document (inventory, plan summary, import summary...) reused by later steps."""
        self._x(
            "INSERT INTO documents(name, json, updated_at) VALUES(?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET json=excluded.json, updated_at=excluded.updated_at",
            (name, json.dumps(obj, sort_keys=True, default=str), time.time()),
        )

    def set_document_item(self, name: str, key: str, value) -> None:
        """Set (or, with None, remove) one key of a dict document in one transaction: the checklists
        (social confirmations, MFA communication plan, post-migration tasks) are ticked this way."""
        with self.transaction():
            doc = dict(self.get_document(name) or {})
            if value is None:
                doc.pop(key, None)
            else:
                doc[key] = value
            self.put_document(name, doc)

    def get_document(self, name: str, default=None):
        rows = self._q("SELECT json FROM documents WHERE name=?", (name,))
        return json.loads(rows[0]["json"]) if rows else default

    # ----------------------------------------------------------------- inputs
    def record_input(self, kind: str, path: str | Path, *, sha256: str | None = None, lines: int | None = None) -> None:
        """Remember an input file by content hash; resuming refuses when it has changed."""
        p = Path(path).resolve()
        digest = sha256 or sha256_file(p)
        self._x(
            "INSERT INTO inputs(kind, path, sha256, size, lines, recorded_at) VALUES(?,?,?,?,?,?) "
            "ON CONFLICT(kind) DO UPDATE SET path=excluded.path, sha256=excluded.sha256, size=excluded.size, "
            "lines=excluded.lines, recorded_at=excluded.recorded_at",
            (kind, str(p), digest, p.stat().st_size, lines, time.time()),
        )
        st = p.stat()
        self._x("INSERT OR REPLACE INTO input_stamps(kind, size, mtime_ns, inode) VALUES(?,?,?,?)",
                (kind, st.st_size, st.st_mtime_ns, st.st_ino))

    def input_stamp(self, kind: str) -> dict | None:
        """(size, mtime_ns, inode) of an input when it was recorded: re-checked at every re-read."""
        rows = self._q("SELECT size, mtime_ns, inode FROM input_stamps WHERE kind=?", (kind,))
        return dict(rows[0]) if rows else None

    def remove_input(self, kind: str) -> None:
        """Forget an input (re-planning without a password export drops the old one)."""
        self._x("DELETE FROM inputs WHERE kind=?", (kind,))
        self._x("DELETE FROM input_stamps WHERE kind=?", (kind,))

    def inputs(self) -> dict[str, dict]:
        return {r["kind"]: dict(r) for r in self._q("SELECT * FROM inputs")}

    def input_path(self, kind: str) -> Path | None:
        rows = self._q("SELECT path FROM inputs WHERE kind=?", (kind,))
        return Path(rows[0]["path"]) if rows else None

    def changed_inputs(self) -> list[str]:
        """Plain messages for each recorded input that is missing or differs from when it was planned."""
        problems = []
        for kind, rec in self.inputs().items():
            p = Path(rec["path"])
            if not p.exists():
                problems.append(f"{kind} file {p} is missing (it was planned from this file).")
            elif p.stat().st_size != rec["size"] or sha256_file(p) != rec["sha256"]:
                problems.append(
                    f"{kind} file {p} changed since it was planned (SHA-256 differs); "
                    "re-run the export verification and mapping steps, or restore the original file."
                )
        return problems

    def require_unchanged_inputs(self) -> None:
        problems = self.changed_inputs()
        if problems:
            raise JournalError(" ".join(problems))

    # ----------------------------------------------------------------- steps (wizard progress)
    def set_step(self, step_id: str, status: str, reason: str = "", details: dict | None = None) -> None:
        self._x(
            "INSERT INTO steps(step_id, status, reason, details_json, updated_at) VALUES(?,?,?,?,?) "
            "ON CONFLICT(step_id) DO UPDATE SET status=excluded.status, reason=excluded.reason, "
            "details_json=excluded.details_json, updated_at=excluded.updated_at",
            (step_id, status, reason, json.dumps(details or {}, default=str), time.time()),
        )

    def steps(self) -> dict[str, dict]:
        out = {}
        for r in self._q("SELECT * FROM steps"):
            d = dict(r)
            d["details"] = json.loads(d.pop("details_json") or "{}")
            out[r["step_id"]] = d
        return out

    def step(self, step_id: str) -> dict | None:
        return self.steps().get(step_id)

    # ----------------------------------------------------------------- findings
    def clear_findings(self, file: str | None = None, *, prefix: bool = False) -> None:
        if file is None:
            self._x("DELETE FROM findings")
        elif prefix:  # every finding whose file starts with `file` (one check's own findings)
            self._x("DELETE FROM findings WHERE substr(file, 1, ?) = ?", (len(file), file))
        else:
            self._x("DELETE FROM findings WHERE file=?", (file,))

    def add_findings(self, findings: Iterable[Finding]) -> int:
        n = 0
        with self.transaction() as db:
            for chunk in _chunks(findings, 5000):  # executemany: one statement per chunk, not per row
                db.executemany(
                    "INSERT INTO findings(file, line, field, severity, code, message, auth0_user_id) VALUES(?,?,?,?,?,?,?)",
                    [(f.file, f.line, f.field, f.severity.value, f.code, f.message, f.auth0_user_id) for f in chunk],
                )
                n += len(chunk)
        return n

    def findings(self, *, severity: str | None = None, code: str | None = None, limit: int | None = None,
                 offset: int = 0) -> list[Finding]:
        sql, params = "SELECT * FROM findings WHERE 1=1", []
        if severity:
            sql += " AND severity=?"
            params.append(severity)
        if code:
            sql += " AND code=?"
            params.append(code)
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        return [
            Finding(r["file"], r["line"], r["field"], Severity(r["severity"]), r["code"], r["message"], r["auth0_user_id"])
            for r in self._q(sql, params)
        ]

    def finding_counts(self) -> dict[tuple[str, str], int]:
        """(severity, code) -> count."""
        return {(r[0], r[1]): r[2] for r in self._q("SELECT severity, code, COUNT(*) FROM findings GROUP BY 1, 2")}

    # ----------------------------------------------------------------- plan / users
    def has_writes(self) -> bool:
        return bool(self._q("SELECT 1 FROM writes LIMIT 1"))

    def ensure_replannable(self) -> None:
        """Raise when this run has written to WorkOS: the journal is then the record of what exists."""
        if self.has_writes():
            raise JournalError(
                "This run has already written to WorkOS; its plan cannot be replaced. Start a new run folder "
                "(the import is idempotent by external_id) or resume this one."
            )

    def replace_plan(self, planned: Iterable[PlannedUser], *, force: bool = False) -> int:
        """Replace the planned users. Refused once this run has written to WorkOS (unless `force`),
        because the journal is then the record of what exists."""
        if not force:
            self.ensure_replannable()
        now = time.time()
        importable = ("password", "reset", "social", "sso")
        n = 0
        with self.transaction() as db, _bulk_load(db, ("users", "aliases")):
            db.execute("DELETE FROM users")
            db.execute("DELETE FROM aliases")
            for chunk in _chunks(planned, 5000):  # executemany per chunk: 1M users in seconds, bounded memory
                rows, aliases = [], []
                for p in chunk:
                    n += 1
                    ids = p.auth0_ids or (p.auth0_user_id,)
                    status = UserStatus.PLANNED if p.branch in importable else UserStatus.SKIPPED
                    rows.append((
                        p.auth0_user_id, p.group_key, p.email, p.branch, status,
                        plan_json(p.request), p.hash_ref, p.hash_line,
                        None if p.email_verified is None else int(p.email_verified), p.reason,
                        p.source_line, plan_json(list(ids)), now, n,
                    ))
                    aliases.extend((a, p.auth0_user_id) for a in ids if a != p.auth0_user_id)
                db.executemany(
                    "INSERT INTO users(auth0_user_id, group_key, email, branch, status, request_json, hash_ref, "
                    "hash_line, email_verified, reason, source_line, auth0_ids_json, updated_at, seq) "
                    "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    rows,
                )
                db.executemany("INSERT OR REPLACE INTO aliases(auth0_user_id, primary_id) VALUES(?, ?)", aliases)
        return n

    def merge_plan(self, planned: Iterable[PlannedUser]) -> dict[str, int]:
        """Re-plan a run that has already written to WorkOS without forgetting what exists.

        Known users keep their WorkOS id and status, except: a failed user, or a done user whose
        branch changed (say `reset` -> `password` once a corrected hash export arrives), goes back to
        `planned`, so the engine sends it again (as an update: it exists). New users are added as
        planned; users no longer in the export are kept and counted, never deleted."""
        importable = ("password", "reset", "social", "sso")
        counts = {"kept": 0, "resend": 0, "added": 0, "missing_from_export": 0}
        now = time.time()
        with self.transaction() as db:
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM users").fetchone()[0]
            seen: set[str] = set()
            for p in planned:
                seen.add(p.auth0_user_id)
                ids = p.auth0_ids or (p.auth0_user_id,)
                old = db.execute("SELECT status, branch FROM users WHERE auth0_user_id=?",
                                 (p.auth0_user_id,)).fetchone()
                new_importable = p.branch in importable
                if old is None:
                    seq += 1
                    counts["added"] += 1
                    status = UserStatus.PLANNED if new_importable else UserStatus.SKIPPED
                    db.execute(
                        "INSERT INTO users(auth0_user_id, status, branch, seq) VALUES(?,?,?,?)",
                        (p.auth0_user_id, status, p.branch, seq),
                    )
                else:
                    status = old["status"]
                    if new_importable and (
                        status in (UserStatus.FAILED, UserStatus.SKIPPED)
                        or (status in UserStatus.DONE and old["branch"] != p.branch)
                    ):
                        status = UserStatus.PLANNED
                        counts["resend"] += 1
                    elif not new_importable and status == UserStatus.PLANNED:
                        status = UserStatus.SKIPPED
                    else:
                        counts["kept"] += 1
                db.execute(
                    "UPDATE users SET group_key=?, email=?, branch=?, status=?, request_json=?, hash_ref=?, "
                    "hash_line=?, email_verified=?, reason=?, source_line=?, auth0_ids_json=?, updated_at=? "
                    "WHERE auth0_user_id=?",
                    (p.group_key, p.email, p.branch, status, plan_json(p.request), p.hash_ref,
                     p.hash_line, None if p.email_verified is None else int(p.email_verified), p.reason,
                     p.source_line, plan_json(list(ids)), now, p.auth0_user_id),
                )
                _set_aliases(db, p.auth0_user_id, ids)
            all_ids = [r[0] for r in db.execute("SELECT auth0_user_id FROM users")]
            counts["missing_from_export"] = sum(1 for a in all_ids if a not in seen)
        return counts

    def plan_consistency(self, importable: Iterable[str]) -> dict[str, int]:
        """Counts the mapping gate needs: importable users without email/external id, emails planned
        twice, password users without a hash reference."""
        imp = tuple(importable)
        marks = ",".join("?" * len(imp))
        no_email = self._q(
            f"SELECT COUNT(*) FROM users WHERE branch IN ({marks}) AND (email IS NULL OR email='' "
            "OR COALESCE(json_extract(request_json, '$.external_id'), "
            "json_extract(request_json, '$.metadata.auth0_user_id')) IS NULL)", imp)[0][0]
        dupes = self._q(
            f"SELECT COUNT(*) FROM (SELECT lower(trim(email)) e FROM users WHERE branch IN ({marks}) "
            "GROUP BY e HAVING COUNT(*) > 1)", imp)[0][0]
        no_ref = self._q("SELECT COUNT(*) FROM users WHERE branch='password' AND hash_ref IS NULL")[0][0]
        return {"missing_email_or_external_id": no_email, "duplicate_emails": dupes, "password_without_hash_ref": no_ref}

    def users(self, *, status: str | Iterable[str] | None = None, branch: str | None = None,
              limit: int | None = None, after_seq: int = 0) -> list[UserRow]:
        sql, params = "SELECT * FROM users WHERE seq > ?", [after_seq]
        if status is not None:
            statuses = [status] if isinstance(status, str) else list(status)
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            params += statuses
        if branch is not None:
            sql += " AND branch=?"
            params.append(branch)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_row_to_user(r) for r in self._q(sql, params)]

    def iter_users(self, *, status: str | Iterable[str] | None = None, batch: int = 1000) -> Iterator[UserRow]:
        """Stream users in plan order without holding them all in memory."""
        last = 0
        while rows := self.users(status=status, limit=batch, after_seq=last):
            yield from rows
            last = self._q("SELECT seq FROM users WHERE auth0_user_id=?", (rows[-1].auth0_user_id,))[0]["seq"]

    def user(self, auth0_user_id: str) -> UserRow | None:
        """The planned user for any Auth0 id (a merged duplicate resolves to its group's primary)."""
        rows = self._q(
            "SELECT * FROM users WHERE auth0_user_id = "
            "COALESCE((SELECT primary_id FROM aliases WHERE auth0_user_id=?), ?)",
            (auth0_user_id, auth0_user_id),
        )
        return _row_to_user(rows[0]) if rows else None

    def count_users(self, by: str = "status") -> dict[str, int]:
        if by not in ("status", "branch"):
            raise ValueError(by)
        return {r[0]: r[1] for r in self._q(f"SELECT {by}, COUNT(*) FROM users GROUP BY 1")}

    def count_by_branch_status(self) -> dict[tuple[str, str], int]:
        return {(r[0], r[1]): r[2] for r in self._q("SELECT branch, status, COUNT(*) FROM users GROUP BY 1, 2")}

    def mark_in_flight(self, auth0_user_ids: Iterable[str]) -> None:
        """Committed *before* the requests leave: on resume these are reconciled by lookup first."""
        now = time.time()
        with self.transaction() as db:
            db.executemany(
                "UPDATE users SET status=?, attempts=attempts+1, updated_at=? WHERE auth0_user_id=?",
                [(UserStatus.IN_FLIGHT, now, a) for a in auth0_user_ids],
            )

    def mark_result(self, auth0_user_id: str, status: str, *, workos_user_id: str | None = None,
                    error_code: str | None = None, error_message: str | None = None,
                    write_kind: str | None = None) -> None:
        """Record the outcome of one user; `write_kind` (create_user / update_user) also logs the write
        in the same commit so rollback knows exactly what this run created."""
        if status not in UserStatus.ALL:
            raise ValueError(status)
        now = time.time()
        with self.transaction() as db:
            db.execute(
                "UPDATE users SET status=?, workos_user_id=COALESCE(?, workos_user_id), last_error_code=?, "
                "last_error_message=?, updated_at=? WHERE auth0_user_id=?",
                (status, workos_user_id, error_code, error_message, now, auth0_user_id),
            )
            if write_kind:
                db.execute(
                    "INSERT INTO writes(at, kind, target_id, auth0_id) VALUES(?,?,?,?)",
                    (now, write_kind, workos_user_id, auth0_user_id),
                )

    def reset_failed(self, auth0_user_ids: Iterable[str] | None = None) -> int:
        """Put failed users back to planned (the 'retry failed users' action)."""
        with self.transaction() as db:
            if auth0_user_ids is None:
                cur = db.execute("UPDATE users SET status=?, updated_at=? WHERE status=?",
                                 (UserStatus.PLANNED, time.time(), UserStatus.FAILED))
                return cur.rowcount
            n = 0
            for a in auth0_user_ids:
                n += db.execute("UPDATE users SET status=?, updated_at=? WHERE auth0_user_id=? AND status=?",
                                (UserStatus.PLANNED, time.time(), a, UserStatus.FAILED)).rowcount
            return n

    def id_map(self, batch: int = 5000) -> Iterator[tuple[str, str | None, str | None]]:
        """(auth0_user_id, workos_user_id, email) for every Auth0 id, merged duplicates included, in
        plan order; read `batch` planned users at a time (a million-user map is never in memory)."""
        top = self._q("SELECT COALESCE(MAX(seq), 0) FROM users")[0][0]
        for lo in range(0, top, batch):
            rows = self._q(
                "SELECT auth0_user_id AS aid, workos_user_id, email, seq FROM users WHERE seq > ? AND seq <= ? "
                "UNION ALL SELECT a.auth0_user_id, u.workos_user_id, u.email, u.seq FROM aliases a "
                "JOIN users u ON u.auth0_user_id = a.primary_id WHERE a.auth0_user_id != a.primary_id "
                "AND u.seq > ? AND u.seq <= ? ORDER BY seq, aid", (lo, lo + batch, lo, lo + batch))
            for r in rows:
                yield r[0], r[1], r[2]

    def workos_user_id(self, auth0_user_id: str) -> str | None:
        u = self.user(auth0_user_id)
        return u.workos_user_id if u else None

    # ----------------------------------------------------------------- writes (for rollback)
    def record_write(self, kind: str, target_id: str | None, auth0_id: str | None = None) -> None:
        self._x("INSERT INTO writes(at, kind, target_id, auth0_id) VALUES(?,?,?,?)", (time.time(), kind, target_id, auth0_id))

    def writes(self, kind: str | None = None) -> list[dict]:
        if kind:
            return [dict(r) for r in self._q("SELECT * FROM writes WHERE kind=? ORDER BY id", (kind,))]
        return [dict(r) for r in self._q("SELECT * FROM writes ORDER BY id")]

    def written_user_targets(self, limit: int) -> list[str]:
        """WorkOS users this run wrote (created, updated, found) and did not delete or find gone,
        newest first."""
        rows = self._q(
            "SELECT target_id FROM writes w WHERE kind IN ('create_user', 'update_user', 'found_existing') "
            "AND target_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM writes d WHERE d.kind IN "
            "('delete_user', 'delete_user_gone') AND d.target_id = w.target_id) "
            "GROUP BY target_id ORDER BY MAX(id) DESC LIMIT ?", (limit,))
        return [r[0] for r in rows]

    def created_by_run(self, workos_user_id: str) -> bool:
        """This run recorded creating this WorkOS user (whatever happened to it since)."""
        return bool(self._q("SELECT 1 FROM writes WHERE target_id=? AND kind='create_user' LIMIT 1",
                            (workos_user_id,)))

    # ----------------------------------------------------------------- creates that may have landed
    def mark_create_in_flight(self, auth0_user_id: str, at: float) -> None:
        """`mark_in_flight` for a create request, plus the time of the user's *first* create send
        (kept through every later path: a user found with our external id and a created_at after it
        is ours)."""
        with self.transaction() as db:
            self.mark_in_flight([auth0_user_id])
            db.execute("INSERT OR IGNORE INTO create_sends(auth0_user_id, first_sent, outcome_unknown) "
                       "VALUES(?, ?, 0)", (auth0_user_id, at))

    def mark_create_unknown(self, auth0_user_id: str) -> None:
        """A create left and its answer was lost (5xx after sending, dropped connection, timeout)."""
        self._x("UPDATE create_sends SET outcome_unknown=1 WHERE auth0_user_id=?", (auth0_user_id,))

    def resolve_create(self, auth0_user_id: str) -> None:
        """The create's outcome is known (its answer arrived, or a lookup decided)."""
        self._x("UPDATE create_sends SET outcome_unknown=0 WHERE auth0_user_id=?", (auth0_user_id,))

    def create_send(self, auth0_user_id: str) -> tuple[float, bool] | None:
        """(first send time, outcome unknown) of the user's creates, or None if none was sent."""
        rows = self._q("SELECT first_sent, outcome_unknown FROM create_sends WHERE auth0_user_id=?",
                       (auth0_user_id,))
        return (rows[0][0], bool(rows[0][1])) if rows else None

    def creates_unknown(self) -> list[tuple[str, float]]:
        """Users whose create may have landed unrecorded: (auth0 id, first send time)."""
        return [(r[0], r[1]) for r in self._q(
            "SELECT c.auth0_user_id, c.first_sent FROM create_sends c WHERE c.outcome_unknown=1 "
            "AND NOT EXISTS (SELECT 1 FROM writes w WHERE w.kind='create_user' AND w.auth0_id=c.auth0_user_id "
            "AND NOT EXISTS (SELECT 1 FROM writes d WHERE d.kind='delete_user' AND d.target_id=w.target_id)) "
            "ORDER BY c.auth0_user_id")]

    # ----------------------------------------------------------------- before-images (rollback restores)
    def record_before_image(self, workos_user_id: str, auth0_user_id: str, image: dict) -> None:
        """What a pre-existing user looked like before this run's first change to it (names,
        external id, metadata, email_verified; never a hash). The first image wins."""
        self._x("INSERT INTO before_images(workos_user_id, auth0_user_id, json, recorded_at) VALUES(?,?,?,?) "
                "ON CONFLICT(workos_user_id) DO UPDATE SET auth0_user_id=excluded.auth0_user_id, "
                "json=excluded.json, recorded_at=excluded.recorded_at, restored_at=NULL "
                "WHERE before_images.restored_at IS NOT NULL",  # after a restore, the state is "before" again
                (workos_user_id, auth0_user_id, json.dumps(image, sort_keys=True), time.time()))

    def before_images(self, *, restored: bool | None = False) -> list[dict]:
        sql = "SELECT * FROM before_images"
        if restored is not None:
            sql += " WHERE restored_at IS " + ("NOT NULL" if restored else "NULL")
        out = []
        for r in self._q(sql + " ORDER BY recorded_at, workos_user_id"):
            d = dict(r)
            d["image"] = json.loads(d.pop("json"))
            out.append(d)
        return out

    def mark_restored(self, workos_user_id: str, restored: bool = True) -> None:
        self._x("UPDATE before_images SET restored_at=? WHERE workos_user_id=?",
                (time.time() if restored else None, workos_user_id))

    # ----------------------------------------------------------------- organizations
    def upsert_org(self, auth0_org_id: str, *, name: str, display_name: str | None = None,
                   domains: list[dict] | None = None, metadata: dict | None = None,
                   member_count: int | None = None) -> None:
        """Record an Auth0 organization (keeps its WorkOS status if already known)."""
        self._x(
            "INSERT INTO orgs(auth0_org_id, name, display_name, status, domains_json, metadata_json, member_count, updated_at) "
            "VALUES(?,?,?,'planned',?,?,?,?) ON CONFLICT(auth0_org_id) DO UPDATE SET name=excluded.name, "
            "display_name=excluded.display_name, domains_json=excluded.domains_json, metadata_json=excluded.metadata_json, "
            "member_count=excluded.member_count, updated_at=excluded.updated_at",
            (auth0_org_id, name, display_name, json.dumps(domains or []), json.dumps(metadata or {}), member_count, time.time()),
        )

    def orgs(self, status: str | None = None) -> list[dict]:
        sql = "SELECT * FROM orgs" + (" WHERE status=?" if status else "") + " ORDER BY auth0_org_id"
        out = []
        for r in self._q(sql, (status,) if status else ()):
            d = dict(r)
            d["domains"] = json.loads(d.pop("domains_json") or "[]")
            d["metadata"] = json.loads(d.pop("metadata_json") or "{}")
            out.append(d)
        return out

    def set_org_result(self, auth0_org_id: str, status: str, *, workos_org_id: str | None = None,
                       error_code: str | None = None, error_message: str | None = None,
                       write_kind: str | None = None) -> None:
        now = time.time()
        with self.transaction() as db:
            db.execute(
                "UPDATE orgs SET status=?, workos_org_id=COALESCE(?, workos_org_id), last_error_code=?, "
                "last_error_message=?, updated_at=? WHERE auth0_org_id=?",
                (status, workos_org_id, error_code, error_message, now, auth0_org_id),
            )
            if write_kind:
                db.execute("INSERT INTO writes(at, kind, target_id, auth0_id) VALUES(?,?,?,?)",
                           (now, write_kind, workos_org_id, auth0_org_id))

    def upsert_membership(self, auth0_org_id: str, auth0_user_id: str, *, role_slug: str | None = None) -> None:
        self._x(
            "INSERT INTO memberships(auth0_org_id, auth0_user_id, status, role_slug, updated_at) VALUES(?,?,'planned',?,?) "
            "ON CONFLICT(auth0_org_id, auth0_user_id) DO UPDATE SET role_slug=excluded.role_slug",
            (auth0_org_id, auth0_user_id, role_slug, time.time()),
        )

    def memberships(self, auth0_org_id: str | None = None, status: str | None = None) -> list[dict]:
        sql, params = "SELECT * FROM memberships WHERE 1=1", []
        if auth0_org_id:
            sql += " AND auth0_org_id=?"
            params.append(auth0_org_id)
        if status:
            sql += " AND status=?"
            params.append(status)
        return [dict(r) for r in self._q(sql + " ORDER BY auth0_org_id, auth0_user_id", params)]

    def set_membership_result(self, auth0_org_id: str, auth0_user_id: str, status: str, *,
                              workos_membership_id: str | None = None, error_code: str | None = None,
                              error_message: str | None = None, write_kind: str | None = None) -> None:
        now = time.time()
        with self.transaction() as db:
            db.execute(
                "UPDATE memberships SET status=?, workos_membership_id=COALESCE(?, workos_membership_id), "
                "last_error_code=?, last_error_message=?, updated_at=? WHERE auth0_org_id=? AND auth0_user_id=?",
                (status, workos_membership_id, error_code, error_message, now, auth0_org_id, auth0_user_id),
            )
            if write_kind:
                db.execute("INSERT INTO writes(at, kind, target_id, auth0_id) VALUES(?,?,?,?)",
                           (now, write_kind, workos_membership_id, f"{auth0_org_id}/{auth0_user_id}"))

    # ----------------------------------------------------------------- enterprise SSO (issue 13)
    def upsert_sso_connection(self, row: dict) -> None:
        """One Auth0 enterprise connection and its plan (the request is stored redacted)."""
        cols = ("auth0_connection_id", "name", "display_name", "strategy", "users", "auth0_orgs_json",
                "domains_json", "mode", "outcome", "connection_type", "idp_url", "reason", "action",
                "request_json", "unknowns_json", "notes_json")
        values = [row.get(c) for c in cols]
        updates = ", ".join(f"{c}=excluded.{c}" for c in cols[1:])
        self._x(f"INSERT INTO sso_connections({', '.join(cols)}, updated_at) VALUES({', '.join('?' * len(cols))}, ?) "
                f"ON CONFLICT(auth0_connection_id) DO UPDATE SET {updates}, updated_at=excluded.updated_at",
                (*values, time.time()))

    def sso_connections(self) -> list[dict]:
        out = []
        for r in self._q("SELECT * FROM sso_connections ORDER BY name"):
            d = dict(r)
            for key in ("auth0_orgs", "domains", "request", "unknowns", "notes"):
                raw = d.pop(f"{key}_json")
                d[key] = json.loads(raw) if raw else ([] if key != "request" else None)
            out.append(d)
        return out

    def delete_sso_connection_rows(self, keep_ids: Iterable[str]) -> None:
        """Forget connections no longer in Auth0 (only those with nothing created)."""
        keep = set(keep_ids)
        with self.transaction() as db:
            for r in db.execute("SELECT auth0_connection_id FROM sso_connections").fetchall():
                cid = r[0]
                if cid in keep:
                    continue
                made = db.execute("SELECT 1 FROM sso_targets WHERE auth0_connection_id=? AND status IN "
                                  "('created','existing','in_flight')", (cid,)).fetchall()
                if not made:
                    db.execute("DELETE FROM sso_connections WHERE auth0_connection_id=?", (cid,))
                    db.execute("DELETE FROM sso_targets WHERE auth0_connection_id=?", (cid,))

    def ensure_sso_target(self, auth0_connection_id: str, placement: str, *, auth0_org_id: str | None,
                          external_id: str, org_name: str) -> None:
        """A placement of a connection (kept with its status when already known)."""
        self._x("INSERT INTO sso_targets(auth0_connection_id, placement, auth0_org_id, external_id, org_name, status, "
                "updated_at) VALUES(?,?,?,?,?,'planned',?) ON CONFLICT(auth0_connection_id, placement) DO UPDATE SET "
                "org_name=excluded.org_name", (auth0_connection_id, placement, auth0_org_id, external_id, org_name,
                                               time.time()))

    def drop_planned_sso_targets(self, auth0_connection_id: str, keep: Iterable[str]) -> None:
        """Placements the plan no longer has (e.g. after choosing consolidation), unless sent already."""
        keep_set = set(keep)
        with self.transaction() as db:
            for r in db.execute("SELECT placement, status FROM sso_targets WHERE auth0_connection_id=?",
                                (auth0_connection_id,)).fetchall():
                if r[0] not in keep_set and r[1] in ("planned", "failed", "org_missing"):
                    db.execute("DELETE FROM sso_targets WHERE auth0_connection_id=? AND placement=?",
                               (auth0_connection_id, r[0]))

    def sso_targets(self, auth0_connection_id: str | None = None) -> list[dict]:
        if auth0_connection_id:
            rows = self._q("SELECT * FROM sso_targets WHERE auth0_connection_id=? ORDER BY placement",
                           (auth0_connection_id,))
        else:
            rows = self._q("SELECT * FROM sso_targets ORDER BY auth0_connection_id, placement")
        return [dict(r) for r in rows]

    def set_sso_target(self, auth0_connection_id: str, placement: str, status: str, *,
                       workos_org_id: str | None = None, workos_connection_id: str | None = None,
                       error_code: str | None = None, error_message: str | None = None,
                       write_kind: str | None = None, write_target: str | None = None) -> None:
        """A placement's new status (and the write it stands for, in the same transaction)."""
        now = time.time()
        with self.transaction() as db:
            db.execute("UPDATE sso_targets SET status=?, workos_org_id=COALESCE(?, workos_org_id), "
                       "workos_connection_id=COALESCE(?, workos_connection_id), last_error_code=?, "
                       "last_error_message=?, updated_at=? WHERE auth0_connection_id=? AND placement=?",
                       (status, workos_org_id, workos_connection_id, error_code, error_message, now,
                        auth0_connection_id, placement))
            if write_kind:
                db.execute("INSERT INTO writes(at, kind, target_id, auth0_id) VALUES(?,?,?,?)",
                           (now, write_kind, write_target, f"{auth0_connection_id}|{placement}"))

    def clear_sso_target(self, auth0_connection_id: str, placement: str) -> None:
        """Back to planned after a rollback deleted its connection."""
        self._x("UPDATE sso_targets SET status='planned', workos_connection_id=NULL, updated_at=? "
                "WHERE auth0_connection_id=? AND placement=?", (time.time(), auth0_connection_id, placement))

    def forget_sso_org(self, workos_org_id: str) -> None:
        """A rollback deleted an organization the SSO step created: no placement points at it any more."""
        self._x("UPDATE sso_targets SET workos_org_id=NULL, status=CASE WHEN status IN ('created','existing',"
                "'in_flight') THEN 'planned' ELSE status END WHERE workos_org_id=?", (workos_org_id,))

    def set_sso_mode(self, connection_name: str, mode: str) -> bool:
        """The operator's cutover choice for one connection; False when no such connection."""
        with self.transaction() as db:
            cur = db.execute("UPDATE sso_connections SET mode=?, updated_at=? WHERE name=?",
                             (mode, time.time(), connection_name))
            return cur.rowcount > 0

    def replace_sso_members(self, rows: Iterable[tuple[str, str]]) -> int:
        """(auth0 user id, auth0 connection id) pairs from the users export; known results are kept."""
        n = 0
        with self.transaction() as db:
            for uid, cid in rows:
                db.execute("INSERT OR IGNORE INTO sso_members(auth0_user_id, auth0_connection_id, status, "
                           "workos_org_id, updated_at) VALUES(?,?,'planned','',?)", (uid, cid, time.time()))
                n += 1
        return n

    def reset_sso_member(self, auth0_user_id: str, auth0_connection_id: str, workos_org_id: str) -> None:
        """A rollback deleted this membership: the user is planned again (organization chosen anew)."""
        with self.transaction() as db:
            db.execute("DELETE FROM sso_members WHERE auth0_user_id=? AND auth0_connection_id=? AND workos_org_id=?",
                       (auth0_user_id, auth0_connection_id, workos_org_id))
            db.execute("INSERT OR IGNORE INTO sso_members(auth0_user_id, auth0_connection_id, status, workos_org_id, "
                       "updated_at) VALUES(?,?,'planned','',?)", (auth0_user_id, auth0_connection_id, time.time()))

    def sso_members(self) -> list[dict]:
        return [dict(r) for r in self._q("SELECT * FROM sso_members ORDER BY auth0_connection_id, auth0_user_id")]

    def set_sso_member(self, auth0_user_id: str, auth0_connection_id: str, workos_org_id: str, status: str, *,
                       membership_id: str | None = None, error_message: str | None = None,
                       write_kind: str | None = None) -> None:
        """One user's membership in one organization of their connection (rows per organization)."""
        now = time.time()
        with self.transaction() as db:
            db.execute("DELETE FROM sso_members WHERE auth0_user_id=? AND auth0_connection_id=? AND workos_org_id=''",
                       (auth0_user_id, auth0_connection_id))
            db.execute("INSERT INTO sso_members(auth0_user_id, auth0_connection_id, status, workos_org_id, "
                       "workos_membership_id, last_error_message, updated_at) VALUES(?,?,?,?,?,?,?) "
                       "ON CONFLICT(auth0_user_id, auth0_connection_id, workos_org_id) DO UPDATE SET "
                       "status=excluded.status, workos_membership_id=COALESCE(excluded.workos_membership_id, "
                       "workos_membership_id), last_error_message=excluded.last_error_message, "
                       "updated_at=excluded.updated_at",
                       (auth0_user_id, auth0_connection_id, status, workos_org_id, membership_id, error_message, now))
            if write_kind:
                db.execute("INSERT INTO writes(at, kind, target_id, auth0_id) VALUES(?,?,?,?)",
                           (now, write_kind, membership_id, f"{auth0_connection_id}|{auth0_user_id}"))

    # ----------------------------------------------------------------- verification results
    def record_verification(self, name: str, ok: bool, evidence: str = "", fix_hint: str = "") -> None:
        self._x(
            "INSERT INTO verifications(name, ok, evidence, fix_hint, at) VALUES(?,?,?,?,?) ON CONFLICT(name) DO UPDATE "
            "SET ok=excluded.ok, evidence=excluded.evidence, fix_hint=excluded.fix_hint, at=excluded.at",
            (name, int(ok), evidence, fix_hint, time.time()),
        )

    def verifications(self) -> list[dict]:
        return [dict(r) | {"ok": bool(r["ok"])} for r in self._q("SELECT * FROM verifications ORDER BY at")]

    # ----------------------------------------------------------------- roles and permissions (roles step)
    _RBAC_KEYS = {"rbac_permissions": ("perm_key",), "rbac_roles": ("auth0_role_id",),
                  "rbac_member_roles": ("auth0_org_id", "auth0_user_id")}

    def rbac_rows(self, table: str) -> list[dict]:
        """Every row of one roles-step table, in key order."""
        keys = self._RBAC_KEYS[table]
        return [dict(r) for r in self._q(f"SELECT * FROM {table} ORDER BY {', '.join(keys)}")]

    def rbac_upsert(self, table: str, row: dict, *, keep: Iterable[str] = ()) -> None:
        """Insert or update one row; columns in `keep` keep their stored value on update (the WorkOS
        outcome of an earlier run survives a fresh read from Auth0)."""
        keys = self._RBAC_KEYS[table]
        cols = list(row) + ["updated_at"]
        values = list(row.values()) + [time.time()]
        updates = ", ".join(f"{c}=excluded.{c}" for c in cols if c not in keys and c not in set(keep))
        self._x(f"INSERT INTO {table}({', '.join(cols)}) VALUES({', '.join('?' * len(cols))}) "
                f"ON CONFLICT({', '.join(keys)}) DO UPDATE SET {updates}", values)

    def rbac_update(self, table: str, key: tuple, *, write: tuple[str, str | None, str | None] | None = None,
                    **fields) -> None:
        """Update one row and, in the same commit, record the WorkOS write `(kind, target, auth0_id)`."""
        keys = self._RBAC_KEYS[table]
        fields["updated_at"] = time.time()
        with self.transaction() as db:
            db.execute(f"UPDATE {table} SET {', '.join(f'{c}=?' for c in fields)} "
                       f"WHERE {' AND '.join(f'{k}=?' for k in keys)}", [*fields.values(), *key])
            if write:
                db.execute("INSERT INTO writes(at, kind, target_id, auth0_id) VALUES(?,?,?,?)",
                           (time.time(), *write))

    def rbac_delete_missing(self, table: str, keep: Iterable[tuple]) -> int:
        """Forget planned rows that a fresh Auth0 read no longer has (rows already written stay)."""
        keys = self._RBAC_KEYS[table]
        wanted = {tuple(k) for k in keep}
        gone = [tuple(r[k] for k in keys) for r in self.rbac_rows(table)
                if tuple(r[k] for k in keys) not in wanted and r["status"] == "planned"]
        with self.transaction() as db:
            for key in gone:
                db.execute(f"DELETE FROM {table} WHERE {' AND '.join(f'{k}=?' for k in keys)}", key)
        return len(gone)
    # ----------------------------------------------------------------- delta sync (the migration window)
    def iter_hash_refs(self, batch: int = 5000) -> Iterator[tuple[str, int]]:
        """(auth0_user_id, hash_ref) of every user with a hash reference, in plan order."""
        last = -1
        while True:
            rows = self._q("SELECT seq, auth0_user_id, hash_ref FROM users WHERE seq > ? AND hash_ref IS NOT "
                           "NULL ORDER BY seq LIMIT ?", (last, batch))
            if not rows:
                return
            last = rows[-1][0]
            for r in rows:
                yield r[1], r[2]

    def replace_hash_digests(self, pairs: Iterable[tuple[str, int]]) -> int:
        """Replace every stored hash digest (see core/digests.py); returns how many were stored."""
        n = 0
        with self.transaction() as db:
            db.execute("DELETE FROM hash_digests")
            for chunk in _chunks(pairs, 5000):
                db.executemany("INSERT OR REPLACE INTO hash_digests(auth0_user_id, digest) VALUES(?, ?)", chunk)
                n += len(chunk)
        return n

    def has_hash_digests(self) -> bool:
        return bool(self._q("SELECT 1 FROM hash_digests LIMIT 1"))

    def hash_digest_of(self, auth0_user_id: str) -> int | None:
        """The digest of the hash this user was planned with (None: none recorded)."""
        rows = self._q("SELECT digest FROM hash_digests WHERE auth0_user_id=?", (auth0_user_id,))
        return rows[0]["digest"] if rows else None

    def iter_sync_basis(self, batch: int = 5000) -> Iterator[tuple]:
        """What a sync compares against, one tuple per planned user in plan order: (auth0_user_id,
        branch, status, request_json, auth0_ids_json, hash_ref, source_line, hash digest or None)."""
        last = -1
        while True:
            rows = self._q(
                "SELECT u.seq, u.auth0_user_id, u.branch, u.status, u.request_json, u.auth0_ids_json, "
                "u.hash_ref, u.source_line, d.digest FROM users u LEFT JOIN hash_digests d "
                "ON d.auth0_user_id = u.auth0_user_id WHERE u.seq > ? ORDER BY u.seq LIMIT ?", (last, batch))
            if not rows:
                return
            last = rows[-1][0]
            for r in rows:
                yield tuple(r)[1:]

    def alias_primary(self, auth0_user_id: str) -> str | None:
        """The group primary an Auth0 id resolves to (itself when it is not a merged duplicate), or
        None when the run does not know it."""
        rows = (self._q("SELECT primary_id FROM aliases WHERE auth0_user_id=?", (auth0_user_id,))
                or self._q("SELECT auth0_user_id FROM users WHERE auth0_user_id=?", (auth0_user_id,)))
        return rows[0][0] if rows else None

    def start_sync(self, *, dry_run: bool, delete_removed: bool, inputs: dict) -> int:
        """A new sync row (status `diffing`); an earlier sync left half-diffed is discarded."""
        with self.transaction() as db:
            stale = [r[0] for r in db.execute("SELECT id FROM syncs WHERE status IN ('diffing', 'staged')")]
            for sid in stale:
                db.execute("DELETE FROM sync_changes WHERE sync_id=?", (sid,))
                db.execute("UPDATE syncs SET status='discarded' WHERE id=?", (sid,))
            cur = db.execute("INSERT INTO syncs(status, started_at, dry_run, delete_removed, inputs_json) "
                             "VALUES('diffing', ?, ?, ?, ?)",
                             (time.time(), int(dry_run), int(delete_removed), json.dumps(inputs, sort_keys=True)))
            return int(cur.lastrowid)

    def update_sync(self, sync_id: int, *, status: str | None = None, counts: dict | None = None,
                    summary: dict | None = None) -> None:
        now = time.time()
        with self.transaction() as db:
            if status is not None:
                col = {"applied": "applied_at", "done": "finished_at", "dry_run": "finished_at"}.get(status)
                db.execute("UPDATE syncs SET status=? WHERE id=?", (status, sync_id))
                if col:
                    db.execute(f"UPDATE syncs SET {col}=? WHERE id=?", (now, sync_id))
            if counts is not None:
                db.execute("UPDATE syncs SET counts_json=? WHERE id=?", (json.dumps(counts, sort_keys=True), sync_id))
            if summary is not None:
                db.execute("UPDATE syncs SET summary_json=? WHERE id=?",
                           (json.dumps(summary, sort_keys=True, default=str), sync_id))

    def syncs(self, status: str | Iterable[str] | None = None) -> list[dict]:
        """Every sync of this run, oldest first, with its inputs, counts and engine summary."""
        sql, params = "SELECT * FROM syncs", []
        if status is not None:
            statuses = [status] if isinstance(status, str) else list(status)
            sql += f" WHERE status IN ({','.join('?' * len(statuses))})"
            params = statuses
        out = []
        for r in self._q(sql + " ORDER BY id", params):
            d = dict(r)
            for k in ("inputs", "counts", "summary"):
                d[k] = json.loads(d.pop(f"{k}_json") or "{}")
            d["dry_run"], d["delete_removed"] = bool(d["dry_run"]), bool(d["delete_removed"])
            out.append(d)
        return out

    def stage_sync_changes(self, sync_id: int, changes: Iterable[dict]) -> int:
        cols = ("kind", "fields", "prev_status", "workos_user_id", "group_key", "email", "branch",
                "request_json", "hash_ref", "hash_line", "email_verified", "reason", "source_line",
                "auth0_ids_json", "hash_digest", "old_request_json")
        n = 0
        with self.transaction() as db:
            for chunk in _chunks(changes, 5000):
                db.executemany(
                    f"INSERT OR REPLACE INTO sync_changes(sync_id, auth0_user_id, {', '.join(cols)}) "
                    f"VALUES(?, ?, {', '.join('?' * len(cols))})",
                    [(sync_id, c["auth0_user_id"], *(c.get(k) for k in cols)) for c in chunk])
                n += len(chunk)
        return n

    def sync_changes(self, sync_id: int, kind: str | Iterable[str] | None = None,
                     limit: int | None = None) -> list[dict]:
        sql, params = "SELECT * FROM sync_changes WHERE sync_id=?", [sync_id]
        if kind is not None:
            kinds = [kind] if isinstance(kind, str) else list(kind)
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            params += kinds
        sql += " ORDER BY rowid"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [dict(r) for r in self._q(sql, params)]

    def sync_actions(self, sync_id: int) -> dict[str, dict]:
        """auth0 id -> {kind, fields, prev_status, workos_user_id} for the changes the engine sends."""
        rows = self._q("SELECT auth0_user_id, kind, fields, prev_status, workos_user_id FROM sync_changes "
                       "WHERE sync_id=? AND kind IN ('create', 'update', 'delete')", (sync_id,))
        return {r[0]: {"kind": r[1], "fields": tuple(filter(None, (r[2] or "").split(","))),
                       "prev_status": r[3], "workos_user_id": r[4]} for r in rows}

    def sync_previous_request(self, sync_id: int, auth0_user_id: str) -> dict:
        """The request a sync's update replaced (to remove metadata keys gone from Auth0)."""
        rows = self._q("SELECT old_request_json FROM sync_changes WHERE sync_id=? AND auth0_user_id=?",
                       (sync_id, auth0_user_id))
        return json.loads(rows[0][0] or "{}") if rows else {}

    def apply_sync_changes(self, sync_id: int) -> None:
        """Write a staged sync into the plan (one transaction): creates and updates become `planned`
        with their new request, deletes become `planned` for the engine, `refresh` and
        `not_imported` rows take the new plan's fields without anything to send. Reported-only
        kinds (removed, blocked, now_invalid) leave the user as it is."""
        now = time.time()
        with self.transaction() as db:
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM users").fetchone()[0]
            rows = db.execute("SELECT * FROM sync_changes WHERE sync_id=? ORDER BY rowid", (sync_id,)).fetchall()
            for c in rows:
                aid, kind = c["auth0_user_id"], c["kind"]
                if kind in ("create", "update", "not_imported", "refresh"):
                    exists = db.execute("SELECT status FROM users WHERE auth0_user_id=?", (aid,)).fetchone()
                    if not exists:
                        seq += 1
                        db.execute("INSERT INTO users(auth0_user_id, status, branch, seq) VALUES(?,?,?,?)",
                                   (aid, UserStatus.PLANNED, c["branch"], seq))
                    status = {"not_imported": UserStatus.SKIPPED, "refresh": exists[0] if exists else
                              UserStatus.SKIPPED}.get(kind, UserStatus.PLANNED)
                    db.execute(
                        "UPDATE users SET group_key=?, email=?, branch=?, status=?, request_json=?, hash_ref=?, "
                        "hash_line=?, email_verified=?, reason=?, source_line=?, auth0_ids_json=?, "
                        "updated_at=? WHERE auth0_user_id=?",
                        (c["group_key"], c["email"], c["branch"], status, c["request_json"], c["hash_ref"],
                         c["hash_line"], c["email_verified"], c["reason"], c["source_line"],
                         c["auth0_ids_json"], now, aid))
                    if kind != "refresh":
                        db.execute("UPDATE users SET last_error_code=NULL, last_error_message=NULL "
                                   "WHERE auth0_user_id=?", (aid,))
                    ids = json.loads(c["auth0_ids_json"] or "[]") or [aid]
                    _set_aliases(db, aid, ids)
                elif kind == "delete":
                    db.execute("UPDATE users SET status=?, updated_at=? WHERE auth0_user_id=?",
                               (UserStatus.PLANNED, now, aid))
                if kind in ("create", "update", "refresh", "not_imported"):
                    if c["hash_digest"]:
                        db.execute("INSERT OR REPLACE INTO hash_digests(auth0_user_id, digest) VALUES(?, ?)",
                                   (aid, c["hash_digest"]))
                    else:
                        db.execute("DELETE FROM hash_digests WHERE auth0_user_id=?", (aid,))
