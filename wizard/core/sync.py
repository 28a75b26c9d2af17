"""Delta sync: catch WorkOS up with a newer Auth0 export (and a late or newer password export).

The new files are planned by the import's own planner (`plan.build_plan`: same join, branches,
merge and mapping rules), then compared user by user with what the journal holds, streamed: the
journal side is one compact index (about 40 bytes a user: key, request fingerprint, hash digest,
hash reference, source line, status), the new side is the planner's stream. Only the difference is
staged (`sync_changes`), then applied to the plan in one transaction and sent by the import engine.

What each kind of difference does:
- new Auth0 user (importable) -> `create` (the import path: create, or look up and update on "exists");
- changed email, names, email_verified (only ever to true), metadata, external id -> `update` by
  WorkOS id; an email another WorkOS user holds is refused by WorkOS and recorded as a finding
  (`email_taken`), never overwritten;
- a hash that arrived or changed, or a user who now signs in with a password -> `update` with
  the bcrypt hash; any other branch move updates the plan (the reason says how they sign in now);
- gone from the export, or now blocked, while in WorkOS -> reported (`removed` / `blocked`);
  with `delete_removed` -> `delete` (WorkOS has no "blocked" state: deleting is the only way to stop
  such a user signing in), journalled as a `delete_user` write;
- unchanged -> nothing at all is sent (a moved hash reference or line only updates the journal).

Same guarantees as the import: the engine (`SyncEngine`, a subclass of the import engine) is paced,
marks each user in flight before its request leaves and resumes after a crash (an in-flight update
or delete is simply sent again: both are idempotent); the new inputs' SHA-256 are recorded.
"""

from __future__ import annotations

import hashlib
import time
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

from wizard.clients import workos as wapi
from wizard.clients.errors import ApiError, ErrorKind
from wizard.core.digests import FileDigests, digest_key, record_hash_digests
from wizard.core.exports import sorted_order
from wizard.core.exports import string_key as _key
from wizard.core.findings import Finding, Severity
from wizard.core.importer import WRITE_UPDATE, AuthStop, Importer, _HashUnavailable, _message
from wizard.core.journal import Journal, JournalError, UserRow, plan_json, sha256_file
from wizard.core.plan import PlanOptions, PlanResult, build_run_plan, export_gate
from wizard.core.progress import Progress, ProgressCallback
from wizard.core.records import Branch, PlannedUser, UserStatus

WRITE_DELETE = "delete_user"
SENT_KINDS = ("create", "update", "delete")
# the counts every sync reports (report, summary.json, the screen)
COUNT_KEYS = ("users_read", "new", "changed", "rehashed", "unchanged", "removed", "blocked",
              "now_invalid", "not_imported", "merge_changed", "local_only", "to_delete")
COUNT_LABELS = {
    "new": "new in Auth0 (created)",
    "changed": "changed (updated)",
    "rehashed": "password arrived or changed (hash sent)",
    "unchanged": "unchanged (nothing sent)",
    "removed": "gone from Auth0, still in WorkOS",
    "blocked": "blocked in Auth0 since the import, still in WorkOS",
    "now_invalid": "no longer importable (see findings), left as they are",
    "not_imported": "new but not imported (blocked or invalid)",
    "merge_changed": "merged differently (reported, not sent)",
    "local_only": "changed only in the journal (nothing WorkOS stores)",
    "to_delete": "to delete in WorkOS (--delete-removed)",
}
PROFILE_FIELDS = ("email", "first_name", "last_name", "metadata", "external_id")


class SyncError(JournalError):
    """A sync cannot start or be applied (no import yet, unusable files, changed inputs)."""


def _fp(branch: str, request_json: str, ids_json: str) -> int:
    """A 64-bit fingerprint of what the plan would send for a user (branch, request, merged ids),
    over `plan_json` text."""
    h = hashlib.blake2b(f"{branch}\x1f{request_json}\x1f{ids_json}".encode(), digest_size=8)
    return int.from_bytes(h.digest(), "big", signed=True) or 1


def _stored_fp(branch: str, request_json: str | None, ids_json: str | None) -> int:
    """`_fp` of a journal row, its texts re-written as `plan_json`: a journal kept by an older
    version (json.dumps spacing) fingerprints the same as the plan that matches it."""
    return _fp(branch, plan_json(orjson.loads(request_json or "{}")), plan_json(orjson.loads(ids_json or "[]")))


def _ids_json(p: PlannedUser) -> str:
    return plan_json(list(p.auth0_ids or (p.auth0_user_id,)))


_STATUS = UserStatus.ALL


class _Basis:
    """The journal side of the diff, in compact arrays sorted by key."""

    def __init__(self, journal: Journal) -> None:
        keys, fps, digs, refs, lines = array("q"), array("q"), array("q"), array("q"), array("q")
        status = bytearray()
        for aid, branch, st, req, ids, ref, line, dig in journal.iter_sync_basis():
            keys.append(_key(aid))
            fps.append(_stored_fp(branch, req, ids))
            digs.append(dig or 0)
            refs.append(-1 if ref is None else ref)
            lines.append(line or 0)
            status.append(_STATUS.index(st) if st in _STATUS else 0)
        self.n = len(keys)
        order = sorted_order(keys)
        self.keys = array("q", map(keys.__getitem__, order))
        self.fps = array("q", map(fps.__getitem__, order))
        self.digs = array("q", map(digs.__getitem__, order))
        self.refs = array("q", map(refs.__getitem__, order))
        self.lines = array("q", map(lines.__getitem__, order))
        self.status = bytearray(map(status.__getitem__, order))
        self.seen = bytearray(len(order))
        del keys, fps, digs, refs, lines, status, order

    def find(self, aid: str) -> int:
        k = _key(aid)
        i = bisect_left(self.keys, k)
        return i if i < len(self.keys) and self.keys[i] == k else -1


def plan_options(journal: Journal) -> PlanOptions:
    """The options the run was planned with (blocked users, metadata keys): a sync plans alike."""
    s = journal.get_document("plan_summary") or {}
    keys = s.get("metadata_keys")
    return PlanOptions(include_blocked=bool(s.get("include_blocked")),
                       metadata_keys=None if keys is None else tuple(keys))


def sync_inputs(journal: Journal, users: str | Path | None, passwords: str | Path | None
                ) -> tuple[Path, Path | None]:
    """The files a sync reads: the given ones, else those the run was planned from (an
    "apply the password export" sync gives only the hash file)."""
    if users is None and passwords is None:
        raise SyncError("give the new users export (--users FILE), the new password export "
                        "(--passwords FILE), or both")
    u = Path(users) if users is not None else journal.input_path("users")
    if u is None:
        raise SyncError("this run has no users export recorded: give --users FILE")
    if not u.is_file():
        raise SyncError(f"the users export {u} does not exist" +
                        ("" if users is not None else " (it is the one this run was planned from): give --users FILE"))
    p = Path(passwords) if passwords is not None else journal.input_path("passwords")
    if p is not None and not p.is_file():
        raise SyncError(f"the password export {p} does not exist" +
                        ("" if passwords is not None else
                         " (it is the one this run was planned from): give --passwords FILE, so users keep "
                         "their password branch"))
    return u, p


def can_sync(journal: Journal) -> str | None:
    """None when a sync may start; else why not, in words."""
    if not journal.count_users():
        return "this run has no plan yet: check the export files and import first"
    if not journal.has_writes() and not journal.get_document("import_summary"):
        return "this run has not imported yet: run the import first (a sync catches up an import)"
    pending = unfinished_sync(journal)
    if pending is not None:
        return (f"sync {pending['id']} was applied but not finished: resume it first "
                "(auth0-workos sync --resume --run-dir DIR)")
    return None


def unfinished_sync(journal: Journal) -> dict | None:
    rows = journal.syncs(status="applied")
    return rows[-1] if rows else None


@dataclass
class SyncPlan:
    """A staged sync: its id, the counts, the new plan's findings and summary (applied later)."""

    sync_id: int
    counts: dict[str, int]
    users_path: Path
    passwords_path: Path | None
    digests: dict[str, str | None]
    result: PlanResult
    findings: list[Finding] = field(default_factory=list)
    dry_run: bool = False
    delete_removed: bool = False

    @property
    def to_send(self) -> int:
        c = self.counts
        return c.get("new", 0) + c.get("changed", 0) + c.get("rehashed", 0) + c.get("to_delete", 0) \
            + c.get("retry", 0)

    def lines(self) -> list[str]:
        return count_lines(self.counts)


def count_lines(counts: dict) -> list[str]:
    """One plain line per non-zero count (unchanged always shown)."""
    out = [f"{counts.get('users_read', 0):,} users read from the new export."]
    for k in COUNT_KEYS[1:]:
        n = counts.get(k, 0)
        if n or k == "unchanged":
            out.append(f"{n:,} {COUNT_LABELS[k]}")
    if counts.get("retry"):
        out.append(f"{counts['retry']:,} not in WorkOS yet (failed or skipped before), sent now")
    return out


def _changed_fields(old: dict, new: dict) -> list[str]:
    fields = []
    for k in PROFILE_FIELDS:
        a, b = old.get(k), new.get(k)
        if k == "email":
            a, b = (a or "").strip().lower(), (b or "").strip().lower()
        if (a or None) != (b or None):
            fields.append(k)
    if new.get("email_verified") is True and old.get("email_verified") is not True:
        fields.append("email_verified")  # never sent as false (api-facts 2: email_already_verified)
    return fields


def _stage(p: PlannedUser, kind: str, digest: int, *, fields: list[str] | tuple = (),
           prev_status: str | None = None, workos_user_id: str | None = None, reason: str | None = None) -> dict:
    return {
        "auth0_user_id": p.auth0_user_id, "kind": kind, "fields": ",".join(fields),
        "prev_status": prev_status, "workos_user_id": workos_user_id, "group_key": p.group_key,
        "email": p.email, "branch": p.branch, "request_json": plan_json(p.request),
        "hash_ref": p.hash_ref, "hash_line": p.hash_line,
        "email_verified": None if p.email_verified is None else int(p.email_verified),
        "reason": reason or p.reason, "source_line": p.source_line, "auth0_ids_json": _ids_json(p),
        "hash_digest": digest or None,
    }


def _diff(journal: Journal, result: PlanResult, basis: _Basis, digests: FileDigests | None,
          counts: Counter, findings: list[Finding], delete_removed: bool, users_name: str) -> Iterator[dict]:
    """Yield the staged changes, streaming the new plan once and the journal's leftovers once."""
    importable = set(Branch.IMPORTABLE)
    done = set(UserStatus.DONE)
    for p in result.planned:
        digest = digests.at(p.hash_ref) if digests is not None and p.branch == Branch.PASSWORD else 0
        i = basis.find(p.auth0_user_id)
        new_imp = p.branch in importable
        if i < 0:
            moved = [a for a in (p.auth0_ids or ())[1:] if basis.find(a) >= 0]
            alias = journal.alias_primary(p.auth0_user_id)
            if moved or (alias and alias != p.auth0_user_id):
                for a in moved:
                    basis.seen[basis.find(a)] = 1
                if alias and basis.find(alias) >= 0:
                    basis.seen[basis.find(alias)] = 1
                counts["merge_changed"] += 1
                findings.append(Finding(users_name, p.source_line, "email", Severity.WARNING, "sync_merge_changed",
                                        f"{p.auth0_user_id} is now merged differently (with "
                                        f"{', '.join(p.auth0_ids or ())}) than at the import: not sent; "
                                        "review it in WorkOS or start a new run folder for a full re-plan",
                                        p.auth0_user_id))
                continue
            counts["new" if new_imp else "not_imported"] += 1
            yield _stage(p, "create" if new_imp else "not_imported", digest)
            continue
        basis.seen[i] = 1
        fp = _fp(p.branch, plan_json(p.request), _ids_json(p))
        old_digest = basis.digs[i]
        status = _STATUS[basis.status[i]]
        if fp == basis.fps[i] and (digest == old_digest or p.branch != Branch.PASSWORD):
            counts["unchanged"] += 1
            ref = -1 if p.hash_ref is None else p.hash_ref
            if ref != basis.refs[i] or (p.source_line or 0) != basis.lines[i] or digest != old_digest:
                yield _stage(p, "refresh", digest)  # the journal follows the new files; nothing is sent
            continue
        old: UserRow | None = journal.user(p.auth0_user_id)
        if old is None:  # cannot happen (the basis came from the journal); be safe
            continue
        if status not in done or not old.workos_user_id:
            if new_imp:
                counts["retry" if status in (UserStatus.FAILED, UserStatus.SKIPPED) else "new"] += 1
                yield _stage(p, "create", digest, prev_status=status)
            else:
                counts["not_imported"] += 1
                yield _stage(p, "refresh", digest)
            continue
        if not new_imp:
            if p.branch == Branch.BLOCKED:
                counts["blocked"] += 1
                if delete_removed:
                    counts["to_delete"] += 1
                    yield _stage(p, "delete", digest, prev_status=status, workos_user_id=old.workos_user_id,
                                 reason="blocked in Auth0 since the import: deleted in WorkOS (--delete-removed)")
                else:
                    yield _stage(p, "blocked", digest, prev_status=status, workos_user_id=old.workos_user_id)
            else:
                counts["now_invalid"] += 1
                yield _stage(p, "now_invalid", digest, prev_status=status, workos_user_id=old.workos_user_id)
            continue
        fields = _changed_fields(old.request, p.request)
        if p.branch == Branch.PASSWORD and (old.branch != Branch.PASSWORD or digest != old_digest or not digest):
            fields.append("password")
        if fields:
            counts["rehashed" if "password" in fields else "changed"] += 1
            row = _stage(p, "update", digest, fields=fields, prev_status=status, workos_user_id=old.workos_user_id)
            row["old_request_json"] = plan_json(old.request)
            yield row
        else:
            counts["local_only"] += 1  # e.g. password -> reset: WorkOS keeps its password, the plan says why
            yield _stage(p, "refresh", digest)
    # users in the journal the new export no longer has
    for aid, _branch, st, _req, _ids, _ref, _line, _dig in journal.iter_sync_basis():
        i = basis.find(aid)
        if i < 0 or basis.seen[i]:
            continue
        basis.seen[i] = 1
        if st not in done:
            continue  # never reached WorkOS: nothing to report there
        old = journal.user(aid)
        if old is None or not old.workos_user_id:
            continue
        counts["removed"] += 1
        kind = "removed"
        if delete_removed:
            counts["to_delete"] += 1
            kind = "delete"
        yield {"auth0_user_id": aid, "kind": kind, "fields": "", "prev_status": st,
               "workos_user_id": old.workos_user_id, "email": old.email, "branch": old.branch,
               "reason": "gone from the Auth0 export" + (": deleted in WorkOS (--delete-removed)"
                                                         if delete_removed else "")}


def plan_sync(journal: Journal, users: str | Path | None = None, passwords: str | Path | None = None, *,
              dry_run: bool = False, delete_removed: bool = False,
              on_progress: ProgressCallback | None = None) -> SyncPlan:
    """Plan the new files, diff them against the journal and stage the differences (nothing is sent
    and the plan is not changed yet: `apply_sync` does that)."""
    why = can_sync(journal)
    if why:
        raise SyncError(why)
    users_path, passwords_path = sync_inputs(journal, users, passwords)
    digests = {"users": sha256_file(users_path),
               "passwords": sha256_file(passwords_path) if passwords_path else None}
    result = build_run_plan(journal, users_path, passwords_path, plan_options(journal), on_progress)
    if not result.ok:
        gate = export_gate(result)
        problems = "; ".join(f"{c.name}: {c.evidence}" for c in gate.checks if not c.ok)
        raise SyncError(f"the new export files cannot be used: {problems}")
    if not journal.has_hash_digests():  # a run planned before digests existed: take them from its file
        old_pw = journal.input_path("passwords")
        if old_pw is not None and old_pw.is_file() and not journal.changed_inputs():
            record_hash_digests(journal, old_pw)
    file_digests = result.planned.password_digests(digest_key(journal)) if passwords_path else None
    basis = _Basis(journal)
    counts: Counter = Counter()
    findings: list[Finding] = []
    inputs = {"users": {"path": str(users_path.resolve()), "sha256": digests["users"]}}
    if passwords_path:
        inputs["passwords"] = {"path": str(passwords_path.resolve()), "sha256": digests["passwords"]}
    sync_id = journal.start_sync(dry_run=dry_run, delete_removed=delete_removed, inputs=inputs)
    journal.stage_sync_changes(sync_id, _diff(journal, result, basis, file_digests, counts, findings,
                                              delete_removed, users_path.name))
    counts["users_read"] = result.summary.get("users_read", 0)
    out = {k: counts.get(k, 0) for k in COUNT_KEYS} | ({"retry": counts["retry"]} if counts.get("retry") else {})
    journal.update_sync(sync_id, status="dry_run" if dry_run else "staged", counts=out)
    return SyncPlan(sync_id, out, users_path, passwords_path, digests, result, findings, dry_run, delete_removed)


def apply_sync(journal: Journal, plan: SyncPlan) -> None:
    """Write a staged sync into the journal in one transaction: the new inputs (SHA-256), their
    findings, the new plan summary and every staged change. Refuses files changed since the diff."""
    if plan.dry_run:
        raise SyncError("a dry run is never applied: plan the sync again without --dry-run")
    now = {"users": sha256_file(plan.users_path),
           "passwords": sha256_file(plan.passwords_path) if plan.passwords_path else None}
    if now != plan.digests:
        raise SyncError("the export files changed while the sync was being planned: nothing was applied; "
                        "run the sync again")
    result = plan.result
    with journal.transaction():
        journal.record_input("users", plan.users_path, sha256=now["users"], lines=result.summary.get("lines_read"))
        names = [plan.users_path.name]
        if plan.passwords_path:
            journal.record_input("passwords", plan.passwords_path, sha256=now["passwords"],
                                 lines=result.summary.get("password_lines_read"))
            names.append(plan.passwords_path.name)
        for name in names:
            journal.clear_findings(name)
        journal.add_findings(result.findings)
        journal.add_findings(plan.findings)
        journal.put_document("plan_summary", result.summary)
        journal.apply_sync_changes(plan.sync_id)
        journal.update_sync(plan.sync_id, status="applied")


# ------------------------------------------------------------------------------ the engine
class SyncEngine(Importer):
    """The import engine, plus the sync's updates and deletes by WorkOS id. Creates take the import
    path unchanged; an in-flight update or delete found on resume is sent again (idempotent)."""

    def __init__(self, journal: Journal, client: Any, *, sync_id: int, **kw: Any) -> None:
        super().__init__(journal, client, **kw)
        self.sync_id = sync_id
        self._actions = journal.sync_actions(sync_id)
        self._users_file = Path(journal.input_path("users") or "users export").name
        self.deleted = 0

    def _progress(self, done: bool = False) -> Progress:
        return replace(super()._progress(done), operation="sync")

    async def _reconcile_one(self, user: UserRow) -> None:
        action = self._actions.get(user.auth0_user_id)
        if action is not None and action["kind"] in ("update", "delete"):
            self._set_status(user, UserStatus.PLANNED)  # sent again below: same body, same outcome
            return
        await super()._reconcile_one(user)

    async def _import_one(self, user: UserRow) -> None:
        action = self._actions.get(user.auth0_user_id)
        kind = action["kind"] if action else "create"
        try:
            if kind == "update":
                await self._sync_update(user, action)
            elif kind == "delete":
                await self._sync_delete(user, action)
            else:
                await super()._import_one(user)
        except AuthStop:
            raise
        except ApiError as err:
            self._fail(user, err.code or err.kind.value, _message(err), err)

    def _finish_write(self, user: UserRow, status: str, workos_id: str | None, write_kind: str,
                      code: str | None = None, message: str | None = None) -> None:
        self.journal.mark_result(user.auth0_user_id, status, workos_user_id=workos_id, write_kind=write_kind,
                                 error_code=code, error_message=message)
        self._move(user, status, final=True)
        self._summary.session_updated += 1
        self._done_times.append(time.monotonic())
        self._emit()

    async def _sync_update(self, user: UserRow, action: dict) -> None:
        fields = set(action["fields"])
        wid = action["workos_user_id"]
        try:
            password_hash = self._password_hash(user) if "password" in fields else None
        except _HashUnavailable as exc:
            self._fail(user, "hash_unavailable", str(exc))
            return
        old = self.journal.sync_previous_request(self.sync_id, user.auth0_user_id)
        req = user.request
        metadata = None
        if "metadata" in fields:
            metadata = dict(req.get("metadata") or {})
            for k in (old.get("metadata") or {}):
                metadata.setdefault(k, None)  # a key gone from Auth0 is removed in WorkOS
        try:
            await self._request(
                self.pacer.write,
                lambda: wapi.update_user(
                    self.client, wid, email=req.get("email") if "email" in fields else None,
                    first_name=req.get("first_name") if "first_name" in fields else None,
                    last_name=req.get("last_name") if "last_name" in fields else None,
                    email_verified=True if "email_verified" in fields else None,
                    **({"external_id": user.auth0_user_id} if "external_id" in fields else {}),
                    metadata=metadata, password_hash=password_hash and password_hash.value,
                    password_hash_type=password_hash and password_hash.hash_type),
                user=user, send=None)
        except ApiError as err:
            if err.kind is ErrorKind.EXISTS or err.code in ("email_not_available", "email_change_not_allowed"):
                text = (f"the new email {req.get('email')} belongs to another WorkOS user (or cannot be "
                        f"changed: {err.code or err.kind.value}); that user was not touched and this one "
                        "keeps its old email")
                self.journal.add_findings([Finding(self._users_file, user.source_line, "email", Severity.ERROR,
                                                   "email_taken", text, user.auth0_user_id)])
                self._fail(user, "email_taken", text, err)
                return
            if err.kind is ErrorKind.NOT_FOUND:
                self._fail(user, "workos_user_missing",
                           f"WorkOS user {wid} no longer exists (deleted outside this run); run the import "
                           "with a new run folder to create it again", err)
                return
            raise
        prev = action.get("prev_status")
        status = prev if prev in UserStatus.DONE else UserStatus.UPDATED
        self._finish_write(user, status, wid, WRITE_UPDATE)

    async def _sync_delete(self, user: UserRow, action: dict) -> None:
        wid = action["workos_user_id"]
        await self._request(self.pacer.write, lambda: wapi.delete_user(self.client, wid), user=user, send=None)
        self.deleted += 1
        self._finish_write(user, UserStatus.SKIPPED, wid, WRITE_DELETE, code="deleted_by_sync",
                           message=f"deleted in WorkOS by sync {self.sync_id}: no longer an active user in Auth0")


def sync_record(journal: Journal, sync_id: int) -> dict:
    rows = [s for s in journal.syncs() if s["id"] == sync_id]
    if not rows:
        raise SyncError(f"no sync {sync_id} in this run")
    return rows[0]


def finish_sync(journal: Journal, sync_id: int, summary: dict) -> None:
    """Record the engine's outcome; a sync with nobody left to send is done."""
    left = summary.get("remaining", 0)
    journal.update_sync(sync_id, status="applied" if left or summary.get("stopped") else "done",
                        summary={k: v for k, v in summary.items() if k != "failures"})


def completed_syncs(journal: Journal) -> list[dict]:
    return journal.syncs(status="done")


def report_rows(journal: Journal) -> list[dict]:
    """Every real sync (applied or done), for the report and summary.json: id, times, inputs, counts."""
    out = []
    for s in journal.syncs(status=("applied", "done")):
        out.append({"id": s["id"], "status": s["status"], "started_at": s["started_at"],
                    "finished_at": s["finished_at"], "inputs": s["inputs"], "counts": s["counts"],
                    "delete_removed": s["delete_removed"],
                    "sent": {k: s["summary"].get(k, 0) for k in ("session_created", "session_updated",
                                                                 "session_failed")}})
    return out


def apply_password_export_label(journal: Journal) -> str | None:
    """What the export step offers when a run imported without hashes and can take them now."""
    summary = journal.get_document("plan_summary") or {}
    if can_sync(journal) is None and not summary.get("passwords_file"):
        return "Apply the password export (a sync with only the hash file)"
    return None

