"""Organizations: export from Auth0 (members, roles, domains with source and state), then create them
in WorkOS in one pass before any membership, idempotent by external_id = Auth0 organization id.

Memberships come from the journal's id map, so users that already existed in WorkOS (updated) are
included; a member whose user was not imported is reported (`user_not_imported`), never dropped.
Re-running sends only what is missing: done rows are skipped, and WorkOS is asked first.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from wizard.clients.errors import ApiError, ErrorKind
from wizard.core import documents
from wizard.core.environment import require_same_environment_sync
from wizard.core.exports import identity_kind
from wizard.core.gates import Check, GateResult
from wizard.core.journal import Journal
from wizard.core.pacing import Pacer, client_base_url, save_window, shared_pacer
from wizard.core.progress import Progress, ProgressCallback, frozen_counts
from wizard.core.records import Identity

# org statuses: planned -> created | existing | failed ; membership statuses below
ORG_DONE = ("created", "existing")
MEMBER_DONE = ("created", "present")
USER_NOT_IMPORTED = "user_not_imported"
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_STATE_RANK = {"verified": 2, "pending": 1}


def strategy_kind(strategy: str | None) -> str:
    """database | social | enterprise | passwordless for a connection strategy (the export reader's rule)."""
    return identity_kind(Identity(connection="", provider=(strategy or "").lower(), user_id="", is_social=False))


def workos_call(fn: Callable[[], Any], *, attempts: int = 5, on_wait: ProgressCallback | None = None,
                sleep: Callable[[float], None] = time.sleep, pacer: Pacer | None = None,
                write: bool = False) -> Any:
    """One WorkOS SDK call (client built with max_retries=0): 429 waited out, transient errors retried,
    everything mapped to ApiError. Every caller expects an object back: the SDK's None for a 2xx
    answer without a JSON body (a proxy page) is an unknown outcome, retried like a lost answer.

    With `pacer` (the migration's shared one) each try waits for room in its write (`write=True`)
    or read window first, and a 429 pauses every other step of the run as well."""
    from wizard.clients.workos import to_api_error

    for attempt in range(1, attempts + 1):
        try:
            if pacer is None:
                result = fn()
            else:
                with pacer.write_sync() if write else pacer.read_sync():
                    result = fn()
            if result is None:
                raise ApiError(ErrorKind.TRANSIENT, "WorkOS answered without a readable JSON body",
                               code="empty_response")
            return result
        except ApiError as exc:
            err = exc
        except Exception as exc:  # SDK / transport errors
            err = to_api_error(exc)
        if pacer is not None and err.kind is ErrorKind.RATE_LIMITED:
            pacer.pause_after_429(err.retry_after)
        if not err.retryable or attempt == attempts:
            raise err
        delay = err.retry_after if err.retry_after is not None else min(20.0, 0.25 * 2 ** attempt)
        if on_wait:
            on_wait(Progress(operation="workos-wait", total=None, paused_until=time.time() + delay,
                             pause_cause=err.wait_cause,
                             latest_error=f"{err}; retrying in {delay:.1f} s"))
        sleep(delay)
    raise AssertionError("unreachable")


def paced_call(call: Callable, journal: Journal, workos) -> Callable:
    """`call` bound to the migration's shared pacer when it is `workos_call` (or a partial of it)
    that has none yet; any other callable is the caller's own business."""
    target = call.func if isinstance(call, partial) else call
    if target is not workos_call or (isinstance(call, partial) and "pacer" in call.keywords):
        return call
    return partial(call, pacer=shared_pacer(client_base_url(workos), journal))


# ---------------------------------------------------------------------- domains
def split_domains(value: Any) -> list[str]:
    """`metadata.domains` / `metadata.domain`: a list, or text separated by commas or semicolons."""
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else re.split(r"[,;\s]+", str(value))
    return [d.strip().lower().rstrip(".") for d in items if str(d).strip()]


def merge_domains(entries: list[dict]) -> list[dict]:
    """One entry per domain: the strongest state wins (verified > pending); sources are all kept."""
    merged: dict[str, dict] = {}
    for e in entries:
        d = e["domain"].strip().lower().rstrip(".")
        cur = merged.setdefault(d, {"domain": d, "state": e["state"], "sources": [], "valid": bool(_DOMAIN_RE.match(d))})
        if _STATE_RANK.get(e["state"], 0) > _STATE_RANK.get(cur["state"], 0):
            cur["state"] = e["state"]
        if e["source"] not in cur["sources"]:
            cur["sources"].append(e["source"])
    return sorted(merged.values(), key=lambda x: x["domain"])


@dataclass
class OrgExport:
    organizations: int = 0
    memberships: int = 0
    roles_included: bool = True
    domains: int = 0
    notes: list[str] = field(default_factory=list)
    # organizations whose members could not be read: {auth0_org_id, name, reason}. Their member
    # count is unknown (never 0) and the step's gate fails until a re-run reads them.
    unreadable: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _read_members(client, org_id: str, with_roles: bool) -> list[dict]:
    return client.list_members(org_id, with_roles=True) if with_roles else client.list_members(org_id)


def export_organizations(client, journal: Journal, *, on_progress: ProgressCallback | None = None) -> OrgExport:
    """Read every organization, its members (roles when the scope allows) and its domains into the journal."""
    result = OrgExport()
    orgs = client.list_organizations()
    connections: dict[str, dict] | None = None
    counts: Counter = Counter()
    with_roles = client.has_scope("read:organization_member_roles") is not False
    for i, org in enumerate(orgs, 1):
        org_id = org["id"]
        members: list[dict] | None
        try:
            if with_roles:
                try:
                    members = client.list_members(org_id, with_roles=True)
                except ApiError as exc:
                    if exc.kind is not ErrorKind.AUTH:
                        raise
                    with_roles = False
                    result.roles_included = False
                    result.notes.append(f"Members were exported without roles: {exc.message}")
                    members = client.list_members(org_id)
            else:
                members = client.list_members(org_id)
        except ApiError as exc:
            # one organization that cannot be read (forbidden, gone, retries spent) is "unknown",
            # never "0 members" and never silently absent
            if exc.kind is ErrorKind.AUTH and exc.status == 401:
                raise
            members = None
            reason = exc.message
            result.unreadable.append({"auth0_org_id": org_id, "name": org.get("name") or org_id, "reason": reason})
            result.notes.append(f"{org.get('name') or org_id}: members unknown: could not be read ({reason}).")
        if members is not None and not with_roles and result.roles_included:
            result.roles_included = False
            result.notes.append("Members were exported without roles: the token lacks "
                                "`read:organization_member_roles`.")
        domain_entries: list[dict] = []
        try:
            for d in client.list_discovery_domains(org_id):
                state = "verified" if str(d.get("status")).lower() == "verified" else "pending"
                domain_entries.append({"domain": d["domain"], "state": state, "source": "discovery_domain"})
        except ApiError as exc:
            if exc.kind is ErrorKind.AUTH:
                _note_once(result, f"Discovery domains were not read: {exc.message}")
            elif exc.kind is not ErrorKind.NOT_FOUND:
                raise
        metadata = org.get("metadata") or {}
        for key in ("domains", "domain"):
            for d in split_domains(metadata.get(key)):
                domain_entries.append({"domain": d, "state": "pending", "source": f"metadata.{key}"})
        try:
            for oc in client.list_org_connections(org_id):
                info = oc.get("connection") or {}
                if strategy_kind(info.get("strategy")) != "enterprise":
                    continue
                if connections is None:
                    connections = {c.get("id"): c for c in client.list_connections()}
                conn = connections.get(oc.get("connection_id")) or client.get_connection(oc["connection_id"])
                for alias in (conn.get("options") or {}).get("domain_aliases") or []:
                    domain_entries.append({"domain": alias, "state": "pending",
                                           "source": f"connection:{info.get('name') or oc.get('connection_id')}"})
        except ApiError as exc:
            if exc.kind is not ErrorKind.AUTH:
                raise
            _note_once(result, f"Enterprise connection domain aliases were not read: {exc.message}")
        domains = merge_domains(domain_entries)
        for d in domains:
            if not d["valid"]:
                result.notes.append(f"{org.get('name') or org_id}: '{d['domain']}' (from {', '.join(d['sources'])}) "
                                    "is not a valid domain name and will not be sent to WorkOS.")
        journal.upsert_org(org_id, name=org.get("name") or org_id, display_name=org.get("display_name"),
                           domains=domains, metadata=metadata, member_count=None if members is None else len(members))
        for m in members or []:
            roles = [r.get("name") or r.get("id") for r in (m.get("roles") or []) if isinstance(r, dict)] \
                if with_roles else []
            journal.upsert_membership(org_id, m["user_id"], role_slug=",".join(r for r in roles if r) or None)
        result.organizations += 1
        result.memberships += len(members or [])
        result.domains += len(domains)
        counts["done"] = i
        if on_progress:
            on_progress(Progress(operation="orgs-export", total=len(orgs), counts=frozen_counts(counts),
                                 done=i == len(orgs)))
    if any(d["state"] == "pending" for o in journal.orgs() for d in o["domains"]):
        result.notes.append("Domains taken from metadata or connection aliases are created as `pending` in WorkOS "
                            "(Auth0 recorded no verification for them); verify them in the WorkOS dashboard.")
    documents.ORGS_EXPORT.write(journal, result.as_dict())
    return result


def _note_once(result: OrgExport, note: str) -> None:
    if note not in result.notes:
        result.notes.append(note)


# ---------------------------------------------------------------------- WorkOS side
@dataclass
class OrgMigration:
    orgs: dict[str, int] = field(default_factory=dict)  # status -> count
    memberships: dict[str, int] = field(default_factory=dict)
    problems: list[dict] = field(default_factory=list)  # {auth0_org_id, auth0_user_id?, status, message}
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.orgs.get("failed") and not self.memberships.get("failed")

    def as_dict(self) -> dict:
        return asdict(self) | {"ok": self.ok}


def _domain_data(domains: list[dict]):
    from workos.organizations.models import OrganizationDomainData

    return [OrganizationDomainData(domain=d["domain"], state=d["state"]) for d in domains if d.get("valid", True)]


def _org_metadata(org: dict) -> dict[str, str]:
    """WorkOS metadata: string values only (≤50 keys, values ≤600 chars); the Auth0 id is kept."""
    meta = {"auth0_org_id": org["auth0_org_id"]}
    for k, v in (org.get("metadata") or {}).items():
        if len(meta) >= 50 or len(str(k)) > 40:
            continue
        text = v if isinstance(v, str) else str(v)
        meta[str(k)] = text[:600]
    return meta


def create_workos_orgs(journal: Journal, workos, *, dry_run: bool = False,
                       on_progress: ProgressCallback | None = None, call: Callable = workos_call,
                       result: OrgMigration | None = None) -> OrgMigration:
    """All organizations in one pass (before memberships): look up by external_id, create if missing."""
    result = result or OrgMigration(dry_run=dry_run)
    counts: Counter = Counter()
    orgs = journal.orgs()
    for i, org in enumerate(orgs, 1):
        oid = org["auth0_org_id"]
        if org["status"] in ORG_DONE and org["workos_org_id"]:
            counts["already_done"] += 1
        else:
            try:
                try:
                    found = call(lambda oid=oid: workos.organizations.get_organization_by_external_id(oid))
                except ApiError as exc:
                    if exc.kind is not ErrorKind.NOT_FOUND:
                        raise
                    found = None
                if found is not None:
                    if not dry_run:
                        journal.set_org_result(oid, "existing", workos_org_id=found.id)
                    counts["existing"] += 1
                elif dry_run:
                    counts["would_create"] += 1
                else:
                    try:
                        created = call(lambda o=org: workos.organizations.create_organization(
                            name=o["display_name"] or o["name"], external_id=o["auth0_org_id"],
                            domain_data=_domain_data(o["domains"]) or None, metadata=_org_metadata(o)),
                            write=True)
                    except ApiError as exc:
                        # "external id already used": a retried create that had landed, or a parallel run
                        if exc.kind is not ErrorKind.EXISTS:
                            raise
                        found = _org_by_external_id(workos, call, oid)
                        if found is None:  # e.g. a domain another organization holds: say so as sent
                            raise exc from None
                        journal.set_org_result(oid, "existing", workos_org_id=found.id)
                        counts["existing"] += 1
                    else:
                        journal.set_org_result(oid, "created", workos_org_id=created.id, write_kind="create_org")
                        counts["created"] += 1
            except ApiError as exc:
                if exc.kind is ErrorKind.AUTH:
                    raise
                counts["failed"] += 1
                if not dry_run:
                    journal.set_org_result(oid, "failed", error_code=exc.code or exc.kind.value,
                                           error_message=exc.message)
                result.problems.append({"auth0_org_id": oid, "status": "failed", "message": exc.message})
        if on_progress:
            on_progress(Progress(operation="orgs", total=len(orgs), counts=frozen_counts(counts), done=i == len(orgs)))
    result.orgs = dict(counts)
    return result


def _org_by_external_id(workos, call: Callable, external_id: str):
    try:
        return call(lambda: workos.organizations.get_organization_by_external_id(external_id))
    except ApiError as exc:
        if exc.kind is not ErrorKind.NOT_FOUND:
            raise
        return None


ALL_MEMBERSHIP_STATUSES = ("active", "inactive", "pending")


def membership_exists(workos, user_id: str, org_id: str, call: Callable = workos_call) -> bool:
    """Whether WorkOS has a membership of any status for this user in this organization (the list
    shows only active ones unless asked): how a refused create is told apart from a duplicate."""
    page = call(lambda: workos.organization_membership.list_organization_memberships(
        user_id=user_id, organization_id=org_id, statuses=list(ALL_MEMBERSHIP_STATUSES), limit=10))
    return any(m.user_id == user_id and m.organization_id == org_id for m in page.data)


def _is_duplicate_membership(exc: ApiError, workos, user_id: str, org_id: str, call: Callable) -> bool:
    """409, `*_already_exists` codes, or any other refusal (a 400/422 worded differently by another
    WorkOS build) after which the membership is there."""
    if exc.kind is ErrorKind.EXISTS or "already" in exc.message.lower():
        return True
    if exc.kind in (ErrorKind.AUTH, ErrorKind.RATE_LIMITED, ErrorKind.TRANSIENT):
        return False
    try:
        return membership_exists(workos, user_id, org_id, call)
    except ApiError:
        return False


def list_member_user_ids(workos, org_id: str, call: Callable = workos_call) -> list[str]:
    """User ids of the organization's active memberships in WorkOS (all pages, each read retried)."""
    ids: list[str] = []
    after: str | None = None
    for _ in range(100_000):
        page = call(lambda a=after: workos.organization_membership.list_organization_memberships(
            organization_id=org_id, limit=100, after=a))
        ids += [m.user_id for m in page.data]
        if not page.data or not page.list_metadata.after or page.list_metadata.after == after:
            break
        after = page.list_metadata.after
    return ids


def role_slug(auth0_roles: str | None) -> str | None:
    """The first Auth0 role name as a WorkOS role slug (`Org Admin` -> `org-admin`)."""
    first = (auth0_roles or "").split(",")[0].strip().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", first).strip("-")
    return slug or None


def create_memberships(journal: Journal, workos, *, dry_run: bool = False,
                       on_progress: ProgressCallback | None = None, call: Callable = workos_call,
                       result: OrgMigration | None = None, with_roles: bool = False) -> OrgMigration:
    """Memberships from the id map; existing ones count as present; missing users are reported.

    `with_roles` sends the member's first Auth0 role as the WorkOS role slug (the role must exist in
    WorkOS); a refused role falls back to the default role and is reported."""
    result = result or OrgMigration(dry_run=dry_run)
    counts: Counter = Counter()
    orgs = {o["auth0_org_id"]: o for o in journal.orgs()}
    rows = journal.memberships()
    total = len(rows)
    existing_cache: dict[str, set[str]] = {}
    refused_roles: set[str] = set()
    for i, m in enumerate(rows, 1):
        oid, uid = m["auth0_org_id"], m["auth0_user_id"]
        org = orgs.get(oid) or {}
        if m["status"] in MEMBER_DONE:
            counts["already_done"] += 1
        else:
            workos_user = journal.workos_user_id(uid)
            workos_org = org.get("workos_org_id")
            if not workos_user:
                counts[USER_NOT_IMPORTED] += 1
                if not dry_run:
                    journal.set_membership_result(oid, uid, USER_NOT_IMPORTED, error_code=USER_NOT_IMPORTED,
                                                  error_message="this member's user was not imported to WorkOS")
                result.problems.append({"auth0_org_id": oid, "auth0_user_id": uid, "status": USER_NOT_IMPORTED,
                                        "message": "this member's user was not imported to WorkOS"})
            elif not workos_org:
                counts["org_missing"] += 1
                result.problems.append({"auth0_org_id": oid, "auth0_user_id": uid, "status": "org_missing",
                                        "message": "the organization does not exist in WorkOS yet"})
            else:
                try:
                    if workos_org not in existing_cache:
                        existing_cache[workos_org] = set(list_member_user_ids(workos, workos_org, call))
                    if workos_user in existing_cache[workos_org]:
                        counts["present"] += 1
                        if not dry_run:
                            journal.set_membership_result(oid, uid, "present")
                    elif dry_run:
                        counts["would_create"] += 1
                    else:
                        try:
                            slug = role_slug(m["role_slug"]) if with_roles else None
                            created = _create_membership(workos, call, workos_user, workos_org,
                                                         None if slug in refused_roles else slug,
                                                         result, oid, uid, refused_roles)
                        except ApiError as exc:
                            if not _is_duplicate_membership(exc, workos, workos_user, workos_org, call):
                                raise
                            counts["present"] += 1
                            journal.set_membership_result(oid, uid, "present")
                        else:
                            journal.set_membership_result(oid, uid, "created", workos_membership_id=created.id,
                                                          write_kind="create_membership")
                            counts["created"] += 1
                        existing_cache[workos_org].add(workos_user)
                except ApiError as exc:
                    if exc.kind is ErrorKind.AUTH:
                        raise
                    counts["failed"] += 1
                    if not dry_run:
                        journal.set_membership_result(oid, uid, "failed", error_code=exc.code or exc.kind.value,
                                                      error_message=exc.message)
                    result.problems.append({"auth0_org_id": oid, "auth0_user_id": uid, "status": "failed",
                                            "message": exc.message})
        if on_progress:
            on_progress(Progress(operation="memberships", total=total, counts=frozen_counts(counts),
                                 done=i == total))
    result.memberships = dict(counts)
    return result


def _create_membership(workos, call: Callable, user_id: str, org_id: str, slug: str | None,
                       result: OrgMigration, auth0_org_id: str, auth0_user_id: str, refused: set[str]):
    from workos.organization_membership import RoleSingle

    create = workos.organization_membership.create_organization_membership
    if slug:
        try:
            return call(lambda: create(user_id=user_id, organization_id=org_id, role=RoleSingle(role_slug=slug)),
                        write=True)
        except ApiError as exc:
            if exc.kind is not ErrorKind.INVALID and exc.kind is not ErrorKind.NOT_FOUND:
                raise
            if _is_duplicate_membership(exc, workos, user_id, org_id, call):
                raise  # already a member: not a refused role
            refused.add(slug)
            result.problems.append({"auth0_org_id": auth0_org_id, "auth0_user_id": auth0_user_id,
                                    "status": "role_refused",
                                    "message": f"WorkOS refused role '{slug}' ({exc.message}); the membership "
                                               "was created with the default role. Create the role in WorkOS "
                                               "and set it on the membership."})
    return call(lambda: create(user_id=user_id, organization_id=org_id), write=True)


def migrate_organizations(journal: Journal, workos, *, dry_run: bool = False,
                          on_progress: ProgressCallback | None = None, call: Callable = workos_call,
                          with_roles: bool = False) -> OrgMigration:
    """Organizations first (all of them), then memberships; the summary goes to document `orgs`."""
    require_same_environment_sync(journal, workos, action="create organizations", bind=not dry_run)
    result = OrgMigration(dry_run=dry_run)
    if call is workos_call and on_progress is not None:  # a 429 pause shows as progress
        call = partial(workos_call, on_wait=on_progress)
    call = paced_call(call, journal, workos)  # the users' budget: one window for the whole migration
    try:
        create_workos_orgs(journal, workos, dry_run=dry_run, on_progress=on_progress, call=call, result=result)
        create_memberships(journal, workos, dry_run=dry_run, on_progress=on_progress, call=call, result=result,
                           with_roles=with_roles)
    finally:
        if isinstance(call, partial) and call.keywords.get("pacer") is not None:
            save_window(journal, call.keywords["pacer"])
    if not dry_run:
        documents.ORGS.write(journal, documents.OrgsDoc.load(result.as_dict()))
    return result


@dataclass(frozen=True, slots=True)
class OrgCount:
    auth0_org_id: str
    name: str
    workos_org_id: str | None
    expected_members: int | None  # members in Auth0 (None: they could not be read, see `unknown`)
    importable_members: int  # of those, members whose user is in WorkOS (per the id map)
    workos_members: int | None  # active memberships in WorkOS (None when the org is missing or unreadable)
    unknown: str | None = None  # why a side could not be read: the counts are unknown, not 0 / missing

    @property
    def complete(self) -> bool:
        return self.unknown is None and self.workos_members is not None \
            and self.workos_members >= self.importable_members

    def auth0_text(self) -> str:
        return "unknown" if self.expected_members is None else f"{self.expected_members} member(s)"

    def workos_text(self) -> str:
        if self.workos_members is not None:
            return str(self.workos_members)
        return "unknown" if self.unknown and self.workos_org_id else "missing"


def org_counts(journal: Journal, workos, *, call: Callable = workos_call) -> list[OrgCount]:
    """Auth0 against WorkOS, per organization: what verification compares."""
    out = []
    unreadable = {u["auth0_org_id"]: u["reason"]
                  for u in (documents.ORGS_EXPORT.read(journal) or {}).get("unreadable") or []}
    for org in journal.orgs():
        members = journal.memberships(org["auth0_org_id"])
        importable = sum(1 for m in members if journal.workos_user_id(m["auth0_user_id"]))
        wid = org["workos_org_id"]
        n = None
        unknown = None
        if org["auth0_org_id"] in unreadable:
            unknown = f"Auth0 members could not be read: {unreadable[org['auth0_org_id']]}"
        if wid:
            try:
                n = len(set(list_member_user_ids(workos, wid, call)))
            except ApiError as exc:
                if exc.kind is ErrorKind.AUTH:
                    raise
                unknown = f"WorkOS members could not be read: {exc.message}"
        expected = org["member_count"] if org["member_count"] is not None else (
            None if org["auth0_org_id"] in unreadable else len(members))
        out.append(OrgCount(org["auth0_org_id"], org["display_name"] or org["name"], wid, expected, importable, n,
                            unknown))
    return out


def orgs_gate(journal: Journal) -> GateResult:
    """Exported, every organization in WorkOS, no failed membership; members whose user was not
    imported are listed in the evidence (they are reported, not failures of this step)."""
    orgs = journal.orgs()
    doc = documents.ORGS.read(journal)
    org_status = Counter(o["status"] for o in orgs)
    m_status = Counter(m["status"] for m in journal.memberships())
    org_done = sum(org_status[k] for k in ORG_DONE)
    m_text = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(m_status.items())) or "none"
    unreadable = (documents.ORGS_EXPORT.read(journal) or {}).get("unreadable") or []
    unread_check = [Check("Every organization read", False,
                          "unknown: " + "; ".join(f"{u['name']}: members could not be read ({u['reason']})"
                                                  for u in unreadable[:5])
                          + (f"; and {len(unreadable) - 5} more" if len(unreadable) > 5 else ""),
                          "Fix the cause (scope, organization removed in Auth0, outage) and run `auth0-workos orgs "
                          "--run-dir DIR` again: it reads them again.")] if unreadable else []
    return GateResult.from_checks(unread_check + [
        Check("Organizations exported from Auth0", bool(orgs), f"{len(orgs)} organization(s)",
              "Run `auth0-workos orgs --run-dir DIR` with Auth0 credentials, or mark this step not applicable."),
        Check("Organizations in WorkOS", doc is not None and org_done == len(orgs), f"{org_done} of {len(orgs)} created or "
              "existing" + (f"; {org_status['failed']} failed" if org_status["failed"] else ""),
              "Read the problems listed for the failed ones, fix them and run `auth0-workos orgs` again."),
        Check("Memberships", doc is not None and not m_status["failed"] and not m_status["planned"], m_text,
              "Run `auth0-workos orgs --run-dir DIR` again: it adds only the missing memberships."),
    ], details={"orgs": dict(org_status), "memberships": dict(m_status)})
