"""MFA: which users must re-enroll (SMS/voice has no WorkOS equivalent), and optional TOTP import.

The user's `multifactor` field only says "guardian"; each user's authentication methods tell SMS
from TOTP. That scan is paced and resumable: every scanned user is one row in the journal's
`mfa_methods` table (created here), so a stopped scan continues where it was.
"""

from __future__ import annotations

import csv
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from wizard.clients.errors import ApiError, ErrorKind
from wizard.core import documents
from wizard.core.journal import Journal
from wizard.core.progress import Progress, ProgressCallback, frozen_counts
from wizard.core.rundir import open_private

SMS_CSV_NAME = "mfa-sms-users.csv"
PHONE_FACTORS = ("sms", "voice")
NOT_MFA = frozenset({"password", "email-verification"})  # first-factor methods, not MFA enrolments

_SCHEMA = """CREATE TABLE IF NOT EXISTS mfa_methods (
    auth0_user_id TEXT PRIMARY KEY, email TEXT, name TEXT, types_json TEXT NOT NULL,
    phone_factor TEXT, phone_masked TEXT, error TEXT, scanned_at REAL)"""


def mask_phone(phone: str | None) -> str:
    """`+14155551234` -> `+1•••••1234`: enough for a person to recognise their number, no more."""
    if not phone:
        return ""
    digits = re.sub(r"\D", "", phone)
    if len(digits) <= 4:
        return "•" * len(digits)
    prefix = "+" if phone.strip().startswith("+") else ""
    return f"{prefix}{digits[0]}•••••{digits[-4:]}"


@dataclass(frozen=True, slots=True)
class MethodSummary:
    """One user's MFA enrolments, reduced to what the migration needs (no phone number in clear)."""

    types: tuple[str, ...]  # confirmed MFA method types: "sms", "voice", "totp", "push", "webauthn-roaming"...
    phone_factor: str | None  # "sms" / "voice" when enrolled with a phone
    phone_masked: str = ""


def summarize_methods(methods: Iterable[dict]) -> MethodSummary:
    """Reduce `GET /users/{id}/authentication-methods` to types; a phone is SMS unless it prefers voice."""
    types: list[str] = []
    phone_factor, phone_masked = None, ""
    for m in methods:
        if m.get("confirmed") is False:
            continue
        kind = m.get("type") or "unknown"
        if kind in NOT_MFA:
            continue
        if kind == "phone":
            pref = (m.get("preferred_authentication_method") or "sms").lower()
            kind = "voice" if pref == "voice" else "sms"
            phone_factor = phone_factor or kind
            phone_masked = phone_masked or mask_phone(m.get("phone_number"))
        if kind not in types:
            types.append(kind)
    return MethodSummary(tuple(types), phone_factor, phone_masked)


# ---------------------------------------------------------------------- the resumable scan store
def _ensure_table(journal: Journal) -> None:
    with journal.transaction() as db:
        db.execute(_SCHEMA)


def _rows(journal: Journal, sql: str, params: tuple = ()) -> list[dict]:
    _ensure_table(journal)
    with journal.transaction() as db:
        return [dict(r) for r in db.execute(sql, params).fetchall()]


def scanned_user_ids(journal: Journal) -> set[str]:
    """Users read successfully (a failed read is tried again on the next scan)."""
    return {r["auth0_user_id"] for r in _rows(journal, "SELECT auth0_user_id FROM mfa_methods WHERE error IS NULL")}


def record_scan(journal: Journal, user_id: str, summary: MethodSummary | None, *, email: str | None,
                name: str | None, error: str | None = None) -> None:
    _ensure_table(journal)
    with journal.transaction() as db:
        db.execute(
            "INSERT INTO mfa_methods(auth0_user_id, email, name, types_json, phone_factor, phone_masked, error, "
            "scanned_at) VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(auth0_user_id) DO UPDATE SET email=excluded.email, "
            "name=excluded.name, types_json=excluded.types_json, phone_factor=excluded.phone_factor, "
            "phone_masked=excluded.phone_masked, error=excluded.error, scanned_at=excluded.scanned_at",
            (user_id, email, name, json.dumps(list(summary.types) if summary else []),
             summary.phone_factor if summary else None, summary.phone_masked if summary else "", error,
             time.time()),
        )


def scan_results(journal: Journal) -> list[dict]:
    rows = _rows(journal, "SELECT * FROM mfa_methods WHERE error IS NULL ORDER BY email, auth0_user_id")
    for r in rows:
        r["types"] = json.loads(r.pop("types_json") or "[]")
    return rows


@dataclass(frozen=True, slots=True)
class ScanTarget:
    user_id: str
    email: str | None = None
    name: str | None = None


def enrolled_targets(users: Iterable) -> tuple[list[ScanTarget], bool]:
    """Scan targets from export users: only those whose `multifactor` is set when the export
    carries that field for anyone (then a user without it has no MFA), else every user.
    Returns (targets, narrowed)."""
    every: list[ScanTarget] = []
    flagged: list[ScanTarget] = []
    for u in users:
        t = ScanTarget(u.user_id, u.email, u.name)
        every.append(t)
        if u.multifactor:
            flagged.append(t)
    return (flagged, True) if flagged else (every, False)


@dataclass
class ScanStats:
    total: int = 0
    scanned_now: int = 0
    already_scanned: int = 0
    failed: int = 0
    complete: bool = False
    stopped_reason: str = ""


def scan_authentication_methods(client, journal: Journal, targets: Iterable[ScanTarget], *,
                                on_progress: ProgressCallback | None = None,
                                stop_after: int | None = None) -> ScanStats:
    """Read each user's authentication methods once (paced by the client); resumable via the journal.

    A missing scope stops the scan with the client's message; a user that cannot be read is recorded
    as failed and retried on the next run. `stop_after` limits how many users are read this run.
    """
    targets = list(targets)
    done = scanned_user_ids(journal)
    stats = ScanStats(total=len(targets))
    counts: Counter = Counter()
    started = time.monotonic()
    pending = [t for t in targets if t.user_id not in done]
    stats.already_scanned = len(targets) - len(pending)
    counts["scanned"] = stats.already_scanned

    def emit(latest_error: str | None = None, finished: bool = False, paused_until: float | None = None,
             pause_cause: str | None = None) -> None:
        if on_progress:
            elapsed = max(1e-6, time.monotonic() - started)
            rate = stats.scanned_now / elapsed
            left = len(pending) - stats.scanned_now - stats.failed
            on_progress(Progress(operation="mfa-scan", total=stats.total, counts=frozen_counts(counts), rate=rate,
                                 eta_seconds=(left / rate) if rate > 0 else None, latest_error=latest_error,
                                 paused_until=paused_until, pause_cause=pause_cause, done=finished))

    # a 429 pause inside the client shows on this scan's progress, not as a separate operation
    outer_wait = getattr(client, "on_wait", None)
    if on_progress and hasattr(client, "on_wait"):
        client.on_wait = lambda p: emit(p.latest_error, paused_until=p.paused_until, pause_cause=p.pause_cause)
    try:
        _scan_pending(client, journal, pending, stats, counts, emit, stop_after)
    finally:
        if hasattr(client, "on_wait"):
            client.on_wait = outer_wait
    stats.complete = not stats.stopped_reason and stats.failed == 0
    emit(finished=True)
    return stats


SCAN_WORKERS_MAX = 64  # requests in the air at once, at most (the client's pacer sets the rate)


def _scan_workers(client) -> int:
    """As many workers as the Management API's limit allows in the air (the headers' `limit`),
    within 1..SCAN_WORKERS_MAX; one until the first answer has told the limit."""
    limit = getattr(getattr(client, "pacer", None), "limit", None)
    return max(1, min(SCAN_WORKERS_MAX, int(limit))) if limit else 1


def _scan_pending(client, journal: Journal, pending: list[ScanTarget], stats: ScanStats, counts: Counter,
                  emit: Callable, stop_after: int | None) -> None:
    """Reads run in worker threads (the client's pacer keeps them within the rate limit); results
    are written to the journal here, in this thread, as they come."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    todo = pending if stop_after is None else pending[:stop_after]
    if stop_after is not None and len(pending) > stop_after:
        stats.stopped_reason = f"stopped after {stop_after} users as asked; run again to continue"
    queue = iter(todo)
    auth_error: list[ApiError] = []

    def handle(t: ScanTarget, future) -> None:
        try:
            methods = future.result()
        except ApiError as exc:
            if exc.kind is ErrorKind.AUTH:
                auth_error.append(exc)
                return
            stats.failed += 1
            counts["failed"] += 1
            record_scan(journal, t.user_id, None, email=t.email, name=t.name, error=exc.code or exc.kind.value)
            emit(f"{t.user_id}: {exc.message}")
            return
        record_scan(journal, t.user_id, summarize_methods(methods), email=t.email, name=t.name)
        stats.scanned_now += 1
        counts["scanned"] += 1
        emit()

    first = next(queue, None)  # alone: its answer tells the limit, which sizes the pool
    if first is None:
        return
    with ThreadPoolExecutor(max_workers=1) as one:
        handle(first, one.submit(client.list_authentication_methods, first.user_id))
    workers = _scan_workers(client)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mfa-scan") as pool:
        running: dict = {}
        for t in queue:
            if auth_error:
                break
            running[pool.submit(client.list_authentication_methods, t.user_id)] = t
            if len(running) >= 2 * workers:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for f in done:
                    handle(running.pop(f), f)
        for f in list(running):
            handle(running.pop(f), f)
    if auth_error:
        stats.stopped_reason = auth_error[0].message
        emit(auth_error[0].message, finished=True)
        raise auth_error[0]


# ---------------------------------------------------------------------- the report
@dataclass
class MfaReport:
    scanned: int
    complete: bool
    sms_users: int
    voice_users: int
    totp_users: int
    other_factors: dict[str, int]
    no_mfa_users: int
    tenant_factors: list[str] | None = None
    notes: list[str] = field(default_factory=list)
    csv_path: str | None = None
    # How many users the scan was meant to read; None when no scan ran (then every user's MFA is
    # unknown). A target without a result is "unknown: not scanned", never counted as "no MFA".
    scan_targets: int | None = None

    @property
    def must_reenroll(self) -> int:
        return self.sms_users + self.voice_users

    @property
    def not_scanned(self) -> int | None:
        return None if self.scan_targets is None else max(0, self.scan_targets - self.scanned)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["must_reenroll"] = self.must_reenroll
        d["not_scanned"] = self.not_scanned
        return d


def mfa_unknown_text(scan_targets: int | None, scanned: int, complete: bool) -> str | None:
    """"unknown: not scanned …" when some users' MFA was never read, else None (shared wording)."""
    if scan_targets is None and (scanned == 0 or not complete):
        return "unknown: not scanned (no authentication-methods scan in this run)"
    missing = 0 if scan_targets is None else max(0, scan_targets - scanned)
    if missing:
        return f"unknown: not scanned for {missing} of {scan_targets} user(s)"
    if not complete:
        return "unknown: not scanned (the scan is incomplete)"
    return None


def build_mfa_report(journal: Journal, *, tenant_factors: list[str] | None = None,
                     complete: bool | None = None, scan_targets: int | None = None) -> MfaReport:
    rows = scan_results(journal)
    sms = sum(1 for r in rows if r["phone_factor"] == "sms")
    voice = sum(1 for r in rows if r["phone_factor"] == "voice")
    totp = sum(1 for r in rows if "totp" in r["types"])
    other: Counter = Counter()
    for r in rows:
        for t in r["types"]:
            if t not in ("sms", "voice", "totp"):
                other[t] += 1
    inventory = documents.INVENTORY.read(journal)
    mfa_doc = (inventory.mfa if inventory is not None else None) or {}
    if complete is None:
        complete = bool(mfa_doc.get("scan_complete"))
    if tenant_factors is None:
        tenant_factors = mfa_doc.get("tenant_factors")
    if scan_targets is None:
        scan_targets = mfa_doc.get("scan_targets")
    if scan_targets is None and rows and complete:
        scan_targets = len(rows)  # a complete scan whose target count was not kept read them all
    notes = []
    if sms or voice:
        notes.append(f"{sms + voice} user(s) use SMS or voice MFA, which WorkOS does not offer: they must "
                     "re-enroll with an authenticator app (TOTP) or sign in with Magic Auth. "
                     f"Send them the list in {SMS_CSV_NAME}.")
    if totp:
        notes.append(f"{totp} user(s) use TOTP: they re-enroll in WorkOS unless Auth0 support exports their "
                     "TOTP secrets (then use `auth0-workos mfa --totp-secrets FILE`).")
    if not rows:
        notes.append("No users' authentication methods were scanned (no Management API access or scan not run): "
                     "SMS and TOTP users cannot be told apart from the export alone.")
    elif not complete:
        notes.append("The scan of authentication methods is incomplete; build the inventory again (wizard: "
                     "Build inventory; headless: `auth0-workos inventory`) to finish it: it resumes.")
    return MfaReport(scanned=len(rows), complete=bool(complete), sms_users=sms, voice_users=voice,
                     totp_users=totp, other_factors=dict(sorted(other.items())),
                     no_mfa_users=sum(1 for r in rows if not r["types"]), tenant_factors=tenant_factors,
                     notes=notes, scan_targets=scan_targets)


def write_sms_csv(journal: Journal, path: Path | None = None) -> tuple[Path, int]:
    """The communication list: email, name, factor, masked phone (0600)."""
    path = Path(path or journal.run_dir / SMS_CSV_NAME)
    n = 0
    with open_private(path, "w") as fh:
        w = csv.writer(fh)
        w.writerow(["email", "name", "factor", "phone"])
        for r in scan_results(journal):
            if r["phone_factor"] in PHONE_FACTORS:
                w.writerow([r["email"] or "", r["name"] or "", r["phone_factor"], r["phone_masked"] or ""])
                n += 1
    return path, n


def save_mfa_report(journal: Journal, report: MfaReport) -> MfaReport:
    path, _ = write_sms_csv(journal)
    report.csv_path = str(path)
    documents.MFA_REPORT.write(journal, documents.MfaReportDoc.load(report.as_dict()))
    return report


# ---------------------------------------------------------------------- TOTP import
_BASE32 = re.compile(r"^[A-Z2-7]+=*$")


@dataclass(frozen=True, slots=True)
class TotpSecret:
    line: int
    email: str
    secret: str = field(repr=False)


@dataclass
class TotpImportResult:
    enrolled: int = 0
    already_enrolled: int = 0
    user_not_imported: int = 0
    invalid: int = 0
    failed: int = 0
    would_enroll: int = 0  # dry run
    problems: list[dict] = field(default_factory=list)  # {line, email, status, message}: never a secret

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.invalid == 0

    def as_dict(self) -> dict:
        return asdict(self)


def read_totp_secrets(path: str | Path) -> tuple[list[TotpSecret], list[dict]]:
    """CSV with `email,totp_secret` (or `secret`) columns, or NDJSON objects with the same keys."""
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    rows: list[tuple[int, dict]] = []
    stripped = text.lstrip()
    if stripped.startswith("{"):
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                rows.append((n, {}))
                continue
            rows.append((n, obj if isinstance(obj, dict) else {}))
    else:
        reader = csv.DictReader(text.splitlines())
        for n, obj in enumerate(reader, 2):
            rows.append((n, {(k or "").strip().lower(): (v or "").strip() for k, v in obj.items()}))
    good, problems = [], []
    for n, obj in rows:
        email = str(obj.get("email") or "").strip().lower()
        secret = re.sub(r"\s", "", str(obj.get("totp_secret") or obj.get("secret") or "")).upper()
        if not email or "@" not in email:
            problems.append({"line": n, "email": email, "status": "invalid",
                             "message": f"{path.name}:{n} has no valid email"})
        elif len(secret) < 16 or not _BASE32.match(secret):
            problems.append({"line": n, "email": email, "status": "invalid",
                             "message": f"{path.name}:{n} totp_secret is not a Base32 secret of 16+ characters"})
        else:
            good.append(TotpSecret(n, email, secret))
    return good, problems


def _find_totp(workos, user_id: str, call: Callable):
    """The user's TOTP factor in WorkOS, or None."""
    factors = call(lambda: list(workos.multi_factor_auth.list_user_auth_factors(user_id, limit=100).auto_paging_iter()))
    return next((f for f in factors if str(getattr(f.type, "value", f.type)) == "totp"), None)


ENROLL_ATTEMPTS = 5


def _enroll_totp(workos, user_id: str, row: TotpSecret, issuer: str | None, call: Callable) -> str | None:
    """Create the factor once; if the answer is lost (timeout, 5xx), look before sending again, so a
    retried create never enrolls twice. Returns the factor id."""
    def create():
        return workos.multi_factor_auth.create_user_auth_factor(
            user_id, type="totp", totp_secret=row.secret, totp_issuer=issuer, totp_user=row.email)

    for attempt in range(1, ENROLL_ATTEMPTS + 1):
        try:
            resp = call(create, attempts=1, write=True)
        except ApiError as exc:
            if exc.kind is ErrorKind.RATE_LIMITED and attempt < ENROLL_ATTEMPTS:
                # a 429 applied nothing: wait as told (or back off) and send again
                time.sleep(exc.retry_after if exc.retry_after is not None else min(10.0, 2.0 ** (attempt - 1)))
                continue
            if exc.kind is not ErrorKind.TRANSIENT or attempt == ENROLL_ATTEMPTS:
                raise
            landed = _find_totp(workos, user_id, call)
            if landed is not None:
                return landed.id
            time.sleep(min(5.0, 0.25 * 2 ** attempt))
            continue
        factor = getattr(resp, "authentication_factor", None)
        return getattr(factor, "id", None)
    return None  # unreachable: the last attempt returns or raises


def import_totp_secrets(journal: Journal, workos, path: str | Path, *, issuer: str | None = None,
                        dry_run: bool = False, on_progress: ProgressCallback | None = None) -> TotpImportResult:
    """Enroll TOTP factors for imported users; a user who already has a TOTP factor is counted, not failed."""
    from wizard.core.environment import require_same_environment_sync
    from wizard.core.orgs import paced_call, workos_call
    from wizard.core.pacing import save_window

    require_same_environment_sync(journal, workos, action="import TOTP factors", bind=not dry_run)
    call = paced_call(workos_call, journal, workos)  # the same budget as the users and organizations
    secrets, problems = read_totp_secrets(path)
    result = TotpImportResult(invalid=len(problems), problems=list(problems))
    wanted = {row.email for row in secrets}  # only their users are kept, not the whole run's map
    by_email = {}
    for a0, wid, email in journal.id_map():
        if email and (key := email.lower()) in wanted:
            by_email[key] = (a0, wid)
    counts: Counter = Counter()
    for i, row in enumerate(secrets, 1):
        a0, workos_id = by_email.get(row.email, (None, None))
        if not workos_id:
            status = "user_not_imported"
            result.user_not_imported += 1
            result.problems.append({"line": row.line, "email": row.email, "status": status,
                                    "message": "no imported WorkOS user with this email in this run"})
        else:
            try:
                if _find_totp(workos, workos_id, call) is not None:
                    status = "already_enrolled"
                    result.already_enrolled += 1
                elif dry_run:
                    status = "would_enroll"
                    result.would_enroll += 1
                else:
                    factor_id = _enroll_totp(workos, workos_id, row, issuer, call)
                    journal.record_write("create_auth_factor", factor_id, a0)
                    status = "enrolled"
                    result.enrolled += 1
            except ApiError as exc:
                if exc.kind is ErrorKind.AUTH:
                    raise
                status = "failed"
                result.failed += 1
                result.problems.append({"line": row.line, "email": row.email, "status": status,
                                        "message": exc.message})
        counts[status] += 1
        if on_progress:
            on_progress(Progress(operation="mfa-totp", total=len(secrets), counts=frozen_counts(counts),
                                 done=i == len(secrets)))
    documents.TOTP_IMPORT.write(journal, documents.TotpImportDoc.load(result.as_dict()))
    save_window(journal, call.keywords["pacer"])
    return result
