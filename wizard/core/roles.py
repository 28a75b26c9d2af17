"""Roles and permissions: Auth0 RBAC into WorkOS permissions, environment roles and membership roles.

Rules (stated in the README, shown before anything is written):

* **Permission slug.** An Auth0 permission is the pair (API identifier, permission name). Its slug is
  the name, lower-cased, with every run of characters WorkOS does not allow (`a-z 0-9 - _ : . *`)
  turned into `-`. When the same name exists on two or more APIs, each of them is prefixed with its
  API (`api.billing.example:read:reports`) so they stay apart. A slug longer than 48 characters is
  cut to 39 and given `-` plus 8 hex characters of SHA-256 over the pair: the same pair always gets
  the same slug. Two pairs that still meet on one slug (names differing only in case) both keep the
  hash suffix. The WorkOS description carries `[auth0-permission:<12 hex>]`, so a later run finds it.
* **Role slug.** NFKD, ASCII, lower-case, runs of anything but `a-z 0-9` become `-`, trimmed; empty
  gives `auth0-role-<8 hex of the id>`; over 48 is cut to 39 plus `-<8 hex>`. Auth0 roles meeting on
  one slug are ordered by (slug, name in code-point order, id): the first keeps it, the next get
  `-2`, `-3`... A slug already held in WorkOS by a role this tool did not create (the default
  `member`) is never changed: the Auth0 role gets `<slug>-auth0` (then `-auth0-2`...), unless the
  operator chose to reuse that role (`--reuse-existing SLUG`), which adds the Auth0 role's
  permissions to it. The Auth0 role id stays in the description (`[auth0:rol_...]`) so a re-run
  finds the role whatever its slug.
* **Membership roles.** Each member gets the WorkOS roles of their Auth0 roles in that
  organization, in WorkOS priority order (the order `GET /authorization/roles` lists, first =
  highest). When the environment answers `multiple_roles_not_enabled`, the member gets the
  highest-ranked one and the rest are reported.
* **Roles outside any organization** (tenant-level) have no home in WorkOS memberships: reported,
  or, when the operator names a default organization, assigned within it.
* Environment roles cannot be deleted through the API: the dry run and the rollback say so.
  Permissions this run created are deleted on rollback; memberships get their previous roles back.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from wizard.clients import workos as wapi
from wizard.clients.errors import ApiError, ErrorKind
from wizard.core import documents
from wizard.core.environment import ensure_environment
from wizard.core.gates import Check, GateResult
from wizard.core.journal import Journal
from wizard.core.pacing import Pacer, Retries, RetryPolicy, client_base_url, shared_pacer
from wizard.core.progress import Progress, ProgressCallback, frozen_counts

MAX_SLUG = 48
MAX_NAME = 48
MAX_DESCRIPTION = 150
HASH_CHARS = 8
ROLE_MARKER_RE = re.compile(r"\[auth0:(rol_[A-Za-z0-9_-]+)\]")
PERMISSION_MARKER_RE = re.compile(r"\[auth0-permission:([0-9a-f]{12})\]")
TAKEN_SUFFIX = "auth0"
TENANT = ""  # auth0_org_id of a tenant-level row (a user in no organization)

DOC_READ = documents.ROLES_READ.name
DOC_PLAN = documents.ROLES_PLAN.name
DOC_DRY_RUN = documents.ROLES_DRY_RUN.name
DOC_APPLY = documents.ROLES_APPLY.name
DOC_ROLLBACK = documents.ROLES_ROLLBACK.name
ROLES_CSV = "roles.csv"
VERIFY_NAME = "Roles and permissions"

# rbac_member_roles statuses
MEMBER_DONE = ("done", "unchanged")
MEMBER_REPORTED = ("no_membership", "user_not_imported", "org_missing", "report_only", "no_mapped_role")
CANNOT_UNDO = ("Environment roles cannot be deleted through the WorkOS API: roles this run creates stay in WorkOS "
               "after a rollback (their permissions are removed); delete them in the WorkOS dashboard if needed.")


# =============================================================================== slug rules (pure)
def permission_key(resource_server: str, name: str) -> str:
    """12 hex characters naming the pair (API identifier, permission name) for good."""
    return hashlib.sha256(f"{resource_server}\n{name}".encode()).hexdigest()[:12]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()


def shorten(slug: str, stable: str, limit: int = MAX_SLUG, *, force: bool = False) -> str:
    """`slug` if it fits, else its first characters plus `-` and 8 hex of `stable`'s hash."""
    if len(slug) <= limit and not force:
        return slug
    tail = hashlib.sha256(stable.encode()).hexdigest()[:HASH_CHARS]
    return slug[:limit - HASH_CHARS - 1].rstrip("-_:.") + "-" + tail


def sanitize_permission(text: str) -> str:
    s = re.sub(r"[^a-z0-9_:.*-]+", "-", _ascii(text))
    return re.sub(r"-{2,}", "-", s).strip("-")


def api_prefix(identifier: str) -> str:
    """`https://api.billing.example/v1` -> `api.billing.example-v1`."""
    s = re.sub(r"^[a-z][a-z0-9+.-]*://", "", _ascii(identifier)).strip("/")
    return re.sub(r"[^a-z0-9.-]+", "-", s).strip("-.") or "api"


def slugify_role(name: str, role_id: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", _ascii(name)).strip("-")
    if not s:
        return "auth0-role-" + hashlib.sha256(role_id.encode()).hexdigest()[:HASH_CHARS]
    return shorten(s, role_id)


def _with_suffix(base: str, suffix: str) -> str:
    """`base-suffix`, cutting `base` (never the suffix) to stay within 48 characters."""
    room = MAX_SLUG - len(suffix) - 1
    return (base if len(base) <= room else base[:room].rstrip("-")) + "-" + suffix


def role_description(role_id: str, description: str | None, name: str) -> str:
    marker = f" [auth0:{role_id}]"
    text = (description or f"Auth0 role {name}").strip()
    return text[:MAX_DESCRIPTION - len(marker)].rstrip() + marker


def permission_description(key: str, resource_server: str, description: str | None) -> str:
    marker = f" [auth0-permission:{key}]"
    text = (description or "").strip() or f"Auth0 permission on {resource_server}"
    return text[:MAX_DESCRIPTION - len(marker)].rstrip() + marker


def permission_display_name(name: str, api_name: str | None, prefixed: bool) -> str:
    text = f"{name} ({api_name})" if prefixed and api_name else name
    return text if len(text) <= MAX_NAME else text[:MAX_NAME - 1] + "…"


# =============================================================================== the mapping (pure)
@dataclass
class PermissionPlan:
    key: str
    resource_server: str
    resource_server_name: str | None
    name: str  # the Auth0 permission name
    slug: str
    action: str  # create | existing (same slug already in WorkOS) | ours (found by marker / created before)
    display_name: str
    description: str
    rule: str  # plain | prefixed | shortened | prefixed+shortened | collision


@dataclass
class RolePlan:
    auth0_role_id: str
    name: str
    slug: str
    action: str  # create | ours | reuse
    permissions: list[str]  # the mapped permission slugs (sorted)
    target: list[str]  # what the WorkOS role will hold (reuse: its own plus the mapped ones)
    current: list[str] | None  # what it holds now (None: it does not exist yet)
    note: str = ""
    description: str = ""

    @property
    def changes_permissions(self) -> bool:
        return self.current is None or sorted(self.current) != sorted(self.target)


@dataclass
class RolesPlan:
    permissions: list[PermissionPlan] = field(default_factory=list)
    roles: list[RolePlan] = field(default_factory=list)
    priority: list[str] = field(default_factory=list)  # WorkOS role slugs, highest first
    taken: list[dict] = field(default_factory=list)  # {slug, auth0_role, chosen}: WorkOS roles not ours
    collisions: list[dict] = field(default_factory=list)  # {slug, roles: [names], chosen: [slugs]}
    unknown_reuse: list[str] = field(default_factory=list)  # --reuse-existing slugs that name nothing
    cannot_undo: list[str] = field(default_factory=list)

    def role_slug(self, auth0_role_id: str) -> str | None:
        return next((r.slug for r in self.roles if r.auth0_role_id == auth0_role_id), None)

    def rank(self, slugs: Iterable[str]) -> list[str]:
        order = {s: i for i, s in enumerate(self.priority)}
        return sorted(dict.fromkeys(slugs), key=lambda s: (order.get(s, len(order)), s))

    def as_dict(self) -> dict:
        return {
            "permissions": [asdict(p) for p in self.permissions],
            "roles": [asdict(r) | {"changes_permissions": r.changes_permissions} for r in self.roles],
            "priority": self.priority, "taken": self.taken, "collisions": self.collisions,
            "unknown_reuse": self.unknown_reuse, "cannot_undo": self.cannot_undo,
            "counts": self.counts(),
        }

    def counts(self) -> dict[str, int]:
        return {
            "permissions_to_create": sum(p.action == "create" for p in self.permissions),
            "permissions_existing": sum(p.action != "create" for p in self.permissions),
            "roles_to_create": sum(r.action == "create" for r in self.roles),
            "roles_existing": sum(r.action == "ours" for r in self.roles),
            "roles_reused": sum(r.action == "reuse" for r in self.roles),
            "roles_permission_changes": sum(r.changes_permissions for r in self.roles),
        }


def _marker(pattern: re.Pattern, description: str | None) -> str | None:
    m = pattern.search(description or "")
    return m.group(1) if m else None


def map_permissions(rows: list[dict], workos_permissions: list[dict]) -> list[PermissionPlan]:
    """Slugs for every Auth0 permission (rows of `rbac_permissions`), by the module's rule."""
    by_marker = {_marker(PERMISSION_MARKER_RE, p.get("description")): p["slug"] for p in workos_permissions}
    by_marker.pop(None, None)
    workos_slugs = {p["slug"] for p in workos_permissions}
    apis_per_name: dict[str, set[str]] = {}
    for r in rows:
        apis_per_name.setdefault(r["name"], set()).add(r["resource_server"])
    ordered = sorted(rows, key=lambda r: (r["resource_server"], r["name"]))
    plans: list[PermissionPlan] = []
    wanted: dict[str, str] = {}
    rules: dict[str, str] = {}
    for r in ordered:
        key = r["perm_key"]
        if key in by_marker:
            wanted[key], rules[key] = by_marker[key], "found"
            continue
        if r.get("slug") and r.get("status") in ("created", "existing"):
            wanted[key], rules[key] = r["slug"], "recorded"
            continue
        prefixed = len(apis_per_name[r["name"]]) > 1
        base = sanitize_permission(r["name"]) or "permission"
        if prefixed:
            base = f"{api_prefix(r['resource_server'])}:{base}"
        slug = shorten(base, key)
        wanted[key] = slug
        rules[key] = "+".join(x for x in ("prefixed" if prefixed else "", "shortened" if slug != base else "") if x) \
            or "plain"
    clashes = Counter(wanted.values())
    for r in ordered:
        key = r["perm_key"]
        slug = wanted[key]
        if clashes[slug] > 1 and rules[key] not in ("found", "recorded"):
            slug, rules[key] = shorten(slug, key, force=True), "collision"
        prefixed = "prefixed" in rules[key]
        found = rules[key] in ("found", "recorded") and slug in workos_slugs
        action = "ours" if found else ("existing" if slug in workos_slugs else "create")
        plans.append(PermissionPlan(
            key=key, resource_server=r["resource_server"], resource_server_name=r.get("resource_server_name"),
            name=r["name"], slug=slug, action=action,
            display_name=permission_display_name(r["name"], r.get("resource_server_name"), prefixed),
            description=permission_description(key, r["resource_server"], r.get("description")),
            rule=rules[key] if rules[key] not in ("found", "recorded") else "kept"))
    return plans


def map_roles(rows: list[dict], permission_slugs: dict[str, str], workos_roles: list[dict], *,
              reuse: Iterable[str] = ()) -> RolesPlan:
    """Slugs and permission sets for every Auth0 role (rows of `rbac_roles`); `workos_roles` in
    priority order as `{slug, description, permissions}`."""
    reuse = set(reuse)
    plan = RolesPlan(cannot_undo=[CANNOT_UNDO])
    ours = {_marker(ROLE_MARKER_RE, r.get("description")): r for r in workos_roles}
    ours.pop(None, None)
    by_slug = {r["slug"]: r for r in workos_roles}
    foreign = {r["slug"] for r in workos_roles if _marker(ROLE_MARKER_RE, r.get("description")) is None}
    assigned: dict[str, str] = {}  # slug -> Auth0 role name
    decided: dict[str, tuple[str, str, str]] = {}  # role id -> (slug, action, note)
    ordered = sorted(rows, key=lambda r: (slugify_role(r["name"], r["auth0_role_id"]), r["name"], r["auth0_role_id"]))
    for r in ordered:  # roles WorkOS already has for us keep their slug
        rid = r["auth0_role_id"]
        if rid in ours:
            decided[rid] = (ours[rid]["slug"], "ours", "found in WorkOS by its Auth0 id")
        elif r.get("status") == "reused" and r.get("slug") in by_slug:
            decided[rid] = (r["slug"], "reuse", "reuses the existing WorkOS role (chosen earlier)")
        if rid in decided:
            assigned[decided[rid][0]] = r["name"]
    base_names: dict[str, list[str]] = {}
    for r in ordered:
        rid = r["auth0_role_id"]
        base = slugify_role(r["name"], rid)
        base_names.setdefault(base, []).append(r["name"])
        if rid in decided:
            continue
        note = "shortened to 48 characters" if len(re.sub(r"[^a-z0-9]+", "-", _ascii(r["name"])).strip("-")) \
            > MAX_SLUG else ""
        if base in foreign and base in reuse and base not in assigned:
            decided[rid] = (base, "reuse", f"reuses the existing WorkOS role '{base}' (--reuse-existing): "
                                           "every holder of that role gets these permissions")
            assigned[base] = r["name"]
            continue
        if base in foreign:
            candidates = [_with_suffix(base, TAKEN_SUFFIX if n == 1 else f"{TAKEN_SUFFIX}-{n}")
                          for n in range(1, 1000)]
            note = f"'{base}' is taken in WorkOS by a role this tool did not create"
        elif base in assigned:
            candidates = [_with_suffix(base, str(n)) for n in range(2, 1000)]
            note = f"'{base}' is also the slug of Auth0 role '{assigned[base]}'"
        else:
            candidates = [base]
        slug = next(c for c in candidates if c not in by_slug and c not in assigned)
        decided[rid] = (slug, "create", note)
        assigned[slug] = r["name"]
        if base in foreign:
            plan.taken.append({"slug": base, "auth0_role": r["name"], "chosen": slug})
    for base, names in base_names.items():
        if len(names) > 1:
            chosen = [decided[r["auth0_role_id"]][0] for r in ordered
                      if slugify_role(r["name"], r["auth0_role_id"]) == base]
            plan.collisions.append({"slug": base, "roles": names, "chosen": chosen})
    plan.unknown_reuse = sorted(s for s in reuse if s not in {d[0] for d in decided.values() if d[1] == "reuse"})
    plan.priority = [r["slug"] for r in workos_roles]
    for r in sorted(rows, key=lambda r: r["auth0_role_id"]):
        rid = r["auth0_role_id"]
        slug, action, note = decided[rid]
        mapped = sorted({permission_slugs[k] for k in json.loads(r["permission_keys_json"]) if k in permission_slugs})
        current = list(by_slug[slug]["permissions"]) if slug in by_slug else None
        target = sorted(set(current or []) | set(mapped)) if action == "reuse" else mapped
        plan.roles.append(RolePlan(auth0_role_id=rid, name=r["name"], slug=slug, action=action,
                                   permissions=mapped, target=target, current=current, note=note,
                                   description=role_description(rid, r.get("description"), r["name"])))
    # new roles go to the bottom of the priority order, in the order they are created
    plan.priority += [r.slug for r in plan.roles if r.action == "create"]
    return plan


# =============================================================================== read (Auth0)
@dataclass
class RolesRead:
    roles: int = 0
    permissions: int = 0
    members_with_roles: int = 0
    tenant_role_holders: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self) | {"at": time.time()}


def read_auth0_roles(client, journal: Journal, *, on_progress: ProgressCallback | None = None) -> RolesRead:
    """Roles, their permissions, organization member roles and tenant-level holders into the journal.
    A refused scope raises ApiError naming it (read:roles, read:organization_member_roles); a refused
    read:users only leaves the tenant-level holders out, with a note."""
    result = RolesRead()
    roles = client.list_roles()
    perm_rows: dict[str, dict] = {}
    for i, role in enumerate(roles, 1):
        keys = []
        for p in client.list_role_permissions(role["id"]):
            rs, name = p.get("resource_server_identifier") or "", p.get("permission_name") or ""
            if not name:
                continue
            key = permission_key(rs, name)
            keys.append(key)
            perm_rows[key] = {"perm_key": key, "resource_server": rs, "name": name,
                              "resource_server_name": p.get("resource_server_name"),
                              "description": p.get("description")}
        journal.rbac_upsert("rbac_roles", {"auth0_role_id": role["id"], "name": role.get("name") or role["id"],
                                           "description": role.get("description"),
                                           "permission_keys_json": json.dumps(sorted(set(keys)))},
                            keep=("slug", "status", "previous_permissions_json", "error"))
        if on_progress:
            on_progress(Progress(operation="roles-read", total=len(roles), counts=frozen_counts({"roles": i})))
    for row in perm_rows.values():
        journal.rbac_upsert("rbac_permissions", row, keep=("slug", "status"))
    journal.rbac_delete_missing("rbac_roles", [(r["id"],) for r in roles])
    journal.rbac_delete_missing("rbac_permissions", [(k,) for k in perm_rows])
    result.roles, result.permissions = len(roles), len(perm_rows)

    member_keys: list[tuple[str, str]] = []
    in_org: set[str] = set()
    orgs = [o["auth0_org_id"] for o in journal.orgs()] or [o["id"] for o in client.list_organizations()]
    for org_id in orgs:
        for m in client.list_members(org_id, with_roles=True):
            uid = m["user_id"]
            in_org.add(uid)
            if "roles" not in m:  # the listing ignored `fields=roles`: ask per member
                m["roles"] = client.list_member_roles(org_id, uid)
            ids = sorted({r["id"] for r in m.get("roles") or [] if r.get("id")})
            if not ids:
                continue
            journal.rbac_upsert("rbac_member_roles", {"auth0_org_id": org_id, "auth0_user_id": uid, "source": "org",
                                                      "auth0_role_ids_json": json.dumps(ids)},
                                keep=("workos_org_id", "workos_membership_id", "applied_json", "dropped_json",
                                      "previous_json", "status", "note"))
            member_keys.append((org_id, uid))
    result.members_with_roles = len(member_keys)
    holders: dict[str, set[str]] = {}
    try:
        for role in roles:
            for u in client.list_role_users(role["id"]):
                if u.get("user_id") and u["user_id"] not in in_org:
                    holders.setdefault(u["user_id"], set()).add(role["id"])
    except ApiError as exc:
        if exc.kind is not ErrorKind.AUTH:
            raise
        result.notes.append(f"Tenant-level roles of users in no organization were not read: {exc.message}")
    for uid, ids in holders.items():
        journal.rbac_upsert("rbac_member_roles", {"auth0_org_id": TENANT, "auth0_user_id": uid, "source": "tenant",
                                                  "auth0_role_ids_json": json.dumps(sorted(ids))},
                            keep=("workos_org_id", "workos_membership_id", "applied_json", "dropped_json",
                                  "previous_json", "status", "note"))
        member_keys.append((TENANT, uid))
    result.tenant_role_holders = len(holders)
    journal.rbac_delete_missing("rbac_member_roles", member_keys)
    documents.ROLES_READ.write(journal, result.as_dict())
    return result


# =============================================================================== WorkOS side
@dataclass
class RolesOutcome:
    dry_run: bool = False
    permissions: dict[str, int] = field(default_factory=dict)
    roles: dict[str, int] = field(default_factory=dict)
    memberships: dict[str, int] = field(default_factory=dict)
    multiple_roles: bool | None = None  # None: never needed to find out
    default_org: str | None = None
    problems: list[dict] = field(default_factory=list)  # {what, who, message}
    cannot_undo: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.permissions.get("failed") or self.roles.get("failed") or self.memberships.get("failed"))

    def as_dict(self) -> dict:
        return asdict(self) | {"ok": self.ok, "at": time.time()}


def _role_dict(role: Any) -> dict:
    return {"slug": role.slug, "name": role.name, "description": role.description,
            "permissions": list(role.permissions or [])}


def _member_label(journal: Journal, row: dict) -> str:
    user = journal.user(row["auth0_user_id"])
    who = f"{user.email} ({row['auth0_user_id']})" if user and user.email else row["auth0_user_id"]
    if row["auth0_org_id"] == TENANT:
        return f"{who}, tenant-level"
    org = next((o for o in journal.orgs() if o["auth0_org_id"] == row["auth0_org_id"]), None)
    return f"{who} in {(org or {}).get('display_name') or (org or {}).get('name') or row['auth0_org_id']}"


class RolesEngine:
    """Plans and applies the roles step against WorkOS with the async SDK, every call paced by the
    shared `Pacer` and retried by `RetryPolicy` (429 pauses every caller, 5xx backs off)."""

    def __init__(self, journal: Journal, client: Any, *, pacer: Pacer | None = None,
                 on_progress: ProgressCallback | None = None, retry: RetryPolicy | None = None,
                 give_up_after: float | None = None) -> None:
        self.journal = journal
        self.client = client
        self.pacer = pacer or shared_pacer(client_base_url(client), journal)  # the users' window
        self.pacer.set_give_up_after(give_up_after)  # a total outage stops the step after this long
        self.on_progress = on_progress
        self.retry = retry or RetryPolicy()
        self.multiple_roles: bool | None = None

    # ------------------------------------------------------------------ one call
    async def call(self, make: Callable[[], Any], *, write: bool) -> Any:
        retries = Retries(self.retry)
        while True:
            await (self.pacer.write() if write else self.pacer.read())
            try:
                result = await make()
            except ApiError as err:
                if err.kind is not ErrorKind.TRANSIENT:
                    self.pacer.answered()
                if err.kind is ErrorKind.RATE_LIMITED:
                    message = self.pacer.pause_after_429(err.retry_after)
                    self._progress("roles-wait", None, {}, latest_error=message)
                    if not retries.after_rate_limit():
                        raise
                    continue
                if err.kind is ErrorKind.TRANSIENT:
                    # every call failing: all wait together, no attempt spent; WorkOSUnreachable
                    # (not an ApiError: no item is failed for it) stops the step after the give-up time
                    outage = self.pacer.unreachable(retries, str(err))
                    if outage is not None:
                        self._progress("roles-wait", None, {}, latest_error=outage)
                        continue
                    delay = retries.after_transient(err.retry_after)
                    if delay is None:
                        raise
                    await asyncio.sleep(delay)
                    continue
                raise
            self.pacer.answered()
            return result

    def _progress(self, operation: str, total: int | None, counts: dict, *, done: bool = False,
                  latest_error: str | None = None) -> None:
        if self.on_progress:
            self.on_progress(Progress(operation=operation, total=total, counts=frozen_counts(counts), done=done,
                                      latest_error=latest_error,
                                      paused_until=self.pacer.paused_until if self.pacer.paused else None,
                                      pause_cause=self.pacer.pause_cause if self.pacer.paused else None))

    # ------------------------------------------------------------------ plan
    async def workos_state(self) -> tuple[list[dict], list[dict]]:
        roles = await self.call(lambda: wapi.list_environment_roles(self.client), write=False)
        perms = await self.call(lambda: wapi.list_permissions(self.client, before_read=self.pacer.read), write=False)
        return ([_role_dict(r) for r in roles],
                [{"slug": p.slug, "name": p.name, "description": p.description} for p in perms])

    async def plan(self, reuse: Iterable[str] = ()) -> RolesPlan:
        """Read WorkOS, map, and record the slugs (status unchanged) and the plan document."""
        workos_roles, workos_perms = await self.workos_state()
        return self.plan_from(workos_roles, workos_perms, reuse)

    def plan_from(self, workos_roles: list[dict], workos_perms: list[dict], reuse: Iterable[str]) -> RolesPlan:
        j = self.journal
        perms = map_permissions(j.rbac_rows("rbac_permissions"), workos_perms)
        for p in perms:
            j.rbac_update("rbac_permissions", (p.key,), slug=p.slug)
        plan = map_roles(j.rbac_rows("rbac_roles"), {p.key: p.slug for p in perms}, workos_roles, reuse=reuse)
        plan.permissions = perms
        for r in plan.roles:
            j.rbac_update("rbac_roles", (r.auth0_role_id,), slug=r.slug)
        documents.ROLES_PLAN.write(j, plan.as_dict() | {"at": time.time()})
        return plan

    # ------------------------------------------------------------------ membership targets
    def member_rows(self, default_org: str | None) -> list[dict]:
        rows = self.journal.rbac_rows("rbac_member_roles")
        orgs = {o["auth0_org_id"]: o for o in self.journal.orgs()}
        for row in rows:
            if row["source"] == "tenant":
                row["target_org"] = default_org
            else:
                row["target_org"] = (orgs.get(row["auth0_org_id"]) or {}).get("workos_org_id")
        return rows

    def wanted(self, plan: RolesPlan, row: dict) -> list[str]:
        slugs = [plan.role_slug(rid) for rid in json.loads(row["auth0_role_ids_json"])]
        return plan.rank(s for s in slugs if s)

    async def _membership(self, row: dict, workos_user: str) -> Any | None:
        mid = row.get("workos_membership_id")
        if not mid and row["source"] == "org":
            m = next((m for m in self.journal.memberships(row["auth0_org_id"])
                      if m["auth0_user_id"] == row["auth0_user_id"]), None)
            mid = (m or {}).get("workos_membership_id")
        if mid:
            try:
                found = await self.call(lambda: wapi.get_membership(self.client, mid), write=False)
                if found.organization_id == row["target_org"]:
                    return found
            except ApiError as exc:
                if exc.kind is not ErrorKind.NOT_FOUND:
                    raise
        return await self.call(lambda: wapi.find_membership(self.client, workos_user, row["target_org"]),
                               write=False)

    # ------------------------------------------------------------------ dry run
    async def dry_run(self, plan: RolesPlan, *, default_org: str | None = None) -> RolesOutcome:
        """Reads only: what apply would create and change, and what it could never undo."""
        out = RolesOutcome(dry_run=True, default_org=default_org, cannot_undo=list(plan.cannot_undo))
        out.permissions = dict(Counter("would_create" if p.action == "create" else "present" for p in plan.permissions))
        out.roles = dict(Counter(("would_create" if r.action == "create" else
                                  "would_change_permissions" if r.changes_permissions else "present")
                                 for r in plan.roles))
        counts: Counter = Counter()
        for row in self.member_rows(default_org):
            status, wanted, _ = await self._member_state(plan, row)
            counts[status] += 1
            if status in MEMBER_REPORTED:
                out.problems.append({"what": status, "who": _member_label(self.journal, row),
                                     "message": _REPORTED_TEXT[status]})
            elif len(wanted) > 1:
                counts["several_roles"] += 1
        out.memberships = dict(counts)
        documents.ROLES_DRY_RUN.write(self.journal, out.as_dict())
        return out

    async def _member_state(self, plan: RolesPlan, row: dict) -> tuple[str, list[str], Any | None]:
        """(status, wanted slugs, membership): would_change | unchanged | a reported status."""
        wanted = self.wanted(plan, row)
        if not wanted:
            return "no_mapped_role", wanted, None
        if row["source"] == "tenant" and not row["target_org"]:
            return "report_only", wanted, None
        if not row["target_org"]:
            return "org_missing", wanted, None
        workos_user = self.journal.workos_user_id(row["auth0_user_id"])
        if not workos_user:
            return "user_not_imported", wanted, None
        membership = await self._membership(row, workos_user)
        if membership is None:
            return ("would_create_membership" if row["source"] == "tenant" else "no_membership"), wanted, None
        current = wapi.membership_role_slugs(membership)
        target = wanted if self.multiple_roles is not False else wanted[:1]
        return ("unchanged" if set(current) == set(target) else "would_change"), wanted, membership

    # ------------------------------------------------------------------ apply
    async def apply(self, plan: RolesPlan, *, default_org: str | None = None) -> RolesOutcome:
        """Permissions, then roles with their permission sets, then membership roles. Every write is
        journalled with what it replaced; a re-run sends nothing that is already in place."""
        await ensure_environment(self.journal, self.client, action="write roles and permissions")
        out = RolesOutcome(default_org=default_org, cannot_undo=list(plan.cannot_undo))
        out.permissions = await self._apply_permissions(plan, out)
        out.roles = await self._apply_roles(plan, out)
        out.memberships = await self._apply_memberships(plan, out, default_org)
        out.multiple_roles = self.multiple_roles
        documents.ROLES_APPLY.write(self.journal, out.as_dict())
        return out

    async def _apply_permissions(self, plan: RolesPlan, out: RolesOutcome) -> dict[str, int]:
        counts: Counter = Counter()
        j = self.journal
        for i, p in enumerate(plan.permissions, 1):
            if p.action != "create":
                mine = p.action == "ours" and _created_by_run(j, "create_permission", "delete_permission", p.key)
                j.rbac_update("rbac_permissions", (p.key,), status="created" if mine else "existing")
                counts["present"] += 1
            else:
                try:
                    await self.call(lambda p=p: wapi.create_permission(self.client, p.slug, p.display_name,
                                                                       p.description), write=True)
                    j.rbac_update("rbac_permissions", (p.key,), status="created",
                                  write=("create_permission", p.slug, p.key))
                    counts["created"] += 1
                except ApiError as exc:
                    if exc.kind is ErrorKind.AUTH:
                        raise
                    found = None
                    if exc.kind is ErrorKind.EXISTS:  # a retried create that landed, or a parallel run
                        found = await self.call(lambda p=p: wapi.get_permission(self.client, p.slug), write=False)
                    if found is None:
                        j.rbac_update("rbac_permissions", (p.key,), status="failed")
                        counts["failed"] += 1
                        out.problems.append({"what": "permission", "who": f"{p.name} ({p.resource_server})",
                                             "message": f"'{p.slug}': {exc.message}"})
                    else:
                        ours = _marker(PERMISSION_MARKER_RE, found.description) == p.key
                        j.rbac_update("rbac_permissions", (p.key,), status="created" if ours else "existing",
                                      write=("create_permission", p.slug, p.key) if ours else None)
                        counts["present"] += 1
            self._progress("roles-permissions", len(plan.permissions), counts, done=i == len(plan.permissions))
        return dict(counts)

    async def _apply_roles(self, plan: RolesPlan, out: RolesOutcome) -> dict[str, int]:
        counts: Counter = Counter()
        j = self.journal
        failed_perms = {r["slug"] for r in j.rbac_rows("rbac_permissions") if r["status"] == "failed"}
        for i, r in enumerate(plan.roles, 1):
            key = (r.auth0_role_id,)
            try:
                current = r.current
                if r.action == "create":
                    try:
                        created = await self.call(lambda r=r: wapi.create_environment_role(
                            self.client, r.slug, r.name[:MAX_NAME], r.description), write=True)
                        current = list(created.permissions or [])
                        j.rbac_update("rbac_roles", key, status="created", error=None,
                                      previous_permissions_json=json.dumps(current),
                                      write=("create_role", r.slug, r.auth0_role_id))
                        counts["created"] += 1
                    except ApiError as exc:
                        if exc.kind is not ErrorKind.EXISTS:
                            raise
                        found = await self.call(lambda r=r: wapi.list_environment_roles(self.client), write=False)
                        mine = next((x for x in found if x.slug == r.slug
                                     and _marker(ROLE_MARKER_RE, x.description) == r.auth0_role_id), None)
                        if mine is None:
                            raise ApiError(ErrorKind.EXISTS, f"the slug '{r.slug}' was taken in WorkOS meanwhile "
                                           "by another role; run the step again to choose a new slug",
                                           code=exc.code) from None
                        current = list(mine.permissions or [])
                        j.rbac_update("rbac_roles", key, status="created", error=None)
                        counts["created"] += 1
                else:
                    status = "reused" if r.action == "reuse" else \
                        "created" if _created_by_run(j, "create_role", None, r.auth0_role_id) else "existing"
                    j.rbac_update("rbac_roles", key, status=status, error=None)
                    counts["reused" if r.action == "reuse" else "present"] += 1
                target = [s for s in r.target if s not in failed_perms]
                if sorted(current or []) != sorted(target):
                    row = next(x for x in j.rbac_rows("rbac_roles") if x["auth0_role_id"] == r.auth0_role_id)
                    if row["previous_permissions_json"] is None:  # the first change: what rollback restores
                        j.rbac_update("rbac_roles", key, previous_permissions_json=json.dumps(current or []))
                    await self.call(lambda r=r, t=target: wapi.set_environment_role_permissions(
                        self.client, r.slug, t), write=True)
                    j.rbac_update("rbac_roles", key, write=("set_role_permissions", r.slug, r.auth0_role_id))
                    counts["permissions_set"] += 1
            except ApiError as exc:
                if exc.kind is ErrorKind.AUTH:
                    raise
                j.rbac_update("rbac_roles", key, status="failed", error=exc.message)
                counts["failed"] += 1
                out.problems.append({"what": "role", "who": f"{r.name} ({r.auth0_role_id})",
                                     "message": f"'{r.slug}': {exc.message}"})
            self._progress("roles", len(plan.roles), counts, done=i == len(plan.roles))
        return dict(counts)

    async def _apply_memberships(self, plan: RolesPlan, out: RolesOutcome, default_org: str | None) -> dict[str, int]:
        counts: Counter = Counter()
        j = self.journal
        failed_roles = {r["slug"] for r in j.rbac_rows("rbac_roles") if r["status"] == "failed"}
        rows = self.member_rows(default_org)
        for i, row in enumerate(rows, 1):
            key = (row["auth0_org_id"], row["auth0_user_id"])
            try:
                status, wanted, membership = await self._member_state(plan, row)
                wanted = [s for s in wanted if s not in failed_roles]
                if status in MEMBER_REPORTED or not wanted:
                    status = status if status in MEMBER_REPORTED else "no_mapped_role"
                    j.rbac_update("rbac_member_roles", key, status=status, note=_REPORTED_TEXT[status])
                    counts[status] += 1
                    if status != "report_only":
                        out.problems.append({"what": status, "who": _member_label(j, row),
                                             "message": _REPORTED_TEXT[status]})
                    continue
                if membership is None:  # tenant-level roles into the default organization
                    status = await self._create_default_membership(row, wanted, out)
                else:
                    status = await self._set_roles(row, membership, wanted, out)
                counts[status] += 1
            except ApiError as exc:
                if exc.kind is ErrorKind.AUTH:
                    raise
                j.rbac_update("rbac_member_roles", key, status="failed", note=exc.message)
                counts["failed"] += 1
                out.problems.append({"what": "membership", "who": _member_label(j, row), "message": exc.message})
            self._progress("roles-memberships", len(rows), counts, done=i == len(rows))
        return dict(counts)

    async def _send_roles(self, send: Callable[[list[str]], Any], wanted: list[str],
                          current: list[str] | None = None) -> tuple[Any | None, list[str]]:
        """Several roles when allowed; on `multiple_roles_not_enabled` the highest-ranked one only
        (not sent again when the membership already holds just that one). Returns (answer or None
        when nothing was sent, roles left out)."""
        if len(wanted) > 1 and self.multiple_roles is not False:
            try:
                answer = await self.call(lambda: send(wanted), write=True)
                self.multiple_roles = True
                return answer, []
            except ApiError as exc:
                if exc.code != "multiple_roles_not_enabled":
                    raise
                self.multiple_roles = False
        if current is not None and set(current) == set(wanted[:1]):
            return None, wanted[1:]
        return await self.call(lambda: send(wanted[:1]), write=True), wanted[1:]

    async def _set_roles(self, row: dict, membership: Any, wanted: list[str], out: RolesOutcome) -> str:
        j = self.journal
        key = (row["auth0_org_id"], row["auth0_user_id"])
        current = wapi.membership_role_slugs(membership)
        target = wanted if self.multiple_roles is not False else wanted[:1]
        if set(current) == set(target):
            done = row["status"] == "done"
            j.rbac_update("rbac_member_roles", key, status="done" if done else "unchanged",
                          workos_membership_id=membership.id, workos_org_id=row["target_org"],
                          applied_json=json.dumps(target), dropped_json=json.dumps(wanted[len(target):]), note=None)
            self._report_dropped(row, wanted[len(target):], out)
            return "done" if done else "unchanged"
        if row["previous_json"] is None:
            j.rbac_update("rbac_member_roles", key, previous_json=json.dumps(current),
                          workos_membership_id=membership.id, workos_org_id=row["target_org"])
        answer, dropped = await self._send_roles(
            lambda slugs: wapi.set_membership_roles(self.client, membership.id, slugs), wanted, current)
        if answer is None:  # the fallback role is what the membership already holds
            j.rbac_update("rbac_member_roles", key, status="done" if row["status"] == "done" else "unchanged",
                          applied_json=json.dumps(current), dropped_json=json.dumps(dropped), note=None)
            self._report_dropped(row, dropped, out)
            return "done" if row["status"] == "done" else "unchanged"
        applied = wapi.membership_role_slugs(answer) or wanted[:len(wanted) - len(dropped)]
        j.rbac_update("rbac_member_roles", key, status="done", applied_json=json.dumps(applied),
                      dropped_json=json.dumps(dropped), note=None,
                      write=("set_membership_roles", membership.id, "/".join(key)))
        self._report_dropped(row, dropped, out)
        return "done"

    async def _create_default_membership(self, row: dict, wanted: list[str], out: RolesOutcome) -> str:
        j = self.journal
        key = (row["auth0_org_id"], row["auth0_user_id"])
        workos_user = j.workos_user_id(row["auth0_user_id"])
        answer, dropped = await self._send_roles(
            lambda slugs: wapi.create_membership_with_roles(self.client, workos_user, row["target_org"], slugs),
            wanted)
        j.rbac_update("rbac_member_roles", key, status="done", workos_membership_id=answer.id,
                      workos_org_id=row["target_org"], applied_json=json.dumps(wapi.membership_role_slugs(answer)),
                      dropped_json=json.dumps(dropped), note=None,
                      write=("create_role_membership", answer.id, "/".join(key)))
        self._report_dropped(row, dropped, out)
        return "done"

    def _report_dropped(self, row: dict, dropped: list[str], out: RolesOutcome) -> None:
        if dropped:
            out.problems.append({"what": "roles_left_out", "who": _member_label(self.journal, row),
                                 "message": "multiple roles are not enabled in this WorkOS environment: kept the "
                                            f"highest-ranked role, left out {', '.join(dropped)}"})

    # ------------------------------------------------------------------ verify
    async def verify(self) -> Check:
        """Each role this run created or reused holds the mapped permissions (created: exactly), each
        migrated membership holds the mapped roles; differences name the member and the role."""
        j = self.journal
        problems: list[str] = []
        roles = {r.slug: r for r in await self.call(lambda: wapi.list_environment_roles(self.client), write=False)}
        perm_slugs = {r["perm_key"]: r["slug"] for r in j.rbac_rows("rbac_permissions")}
        checked_roles = 0
        for row in j.rbac_rows("rbac_roles"):
            if row["status"] not in ("created", "existing", "reused"):
                continue
            mapped = {perm_slugs[k] for k in json.loads(row["permission_keys_json"]) if perm_slugs.get(k)}
            got = roles.get(row["slug"])
            checked_roles += 1
            if got is None:
                problems.append(f"role '{row['slug']}' ({row['name']}) is missing in WorkOS")
                continue
            held = set(got.permissions or [])
            missing, extra = sorted(mapped - held), sorted(held - mapped)
            if missing:
                problems.append(f"role '{row['slug']}' lacks {', '.join(missing)}")
            if extra and row["status"] != "reused":
                problems.append(f"role '{row['slug']}' also holds {', '.join(extra)}")
        checked_members = 0
        for row in j.rbac_rows("rbac_member_roles"):
            if row["status"] not in MEMBER_DONE or not row["workos_membership_id"]:
                continue
            checked_members += 1
            expected = set(json.loads(row["applied_json"] or "[]"))
            try:
                m = await self.call(lambda mid=row["workos_membership_id"]: wapi.get_membership(self.client, mid),
                                    write=False)
            except ApiError as exc:
                if exc.kind is not ErrorKind.NOT_FOUND:
                    raise
                problems.append(f"{_member_label(j, row)}: the membership no longer exists in WorkOS")
                continue
            held = set(wapi.membership_role_slugs(m))
            if held != expected:
                problems.append(f"{_member_label(j, row)}: expected role(s) {', '.join(sorted(expected))}, "
                                f"WorkOS has {', '.join(sorted(held)) or 'none'}")
        head = f"{checked_roles} role(s) and {checked_members} membership(s) checked"
        if not problems:
            return Check(VERIFY_NAME, True, f"{head}; all hold the mapped permissions and roles")
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        return Check(VERIFY_NAME, False, f"{head}; {shown}",
                     "Run the roles step again (auth0-workos roles --run-dir DIR): it sets what differs.")

    # ------------------------------------------------------------------ rollback
    async def rollback(self) -> dict:
        """Undo what can be undone: memberships get their previous roles (memberships created for
        tenant-level roles are deleted), roles get their previous permission sets, permissions this
        run created are deleted. Roles this run created stay (no API deletes them) and are listed."""
        await ensure_environment(self.journal, self.client, action="roll back the roles step", bind=False)
        j = self.journal
        counts: Counter = Counter()
        failures: list[str] = []
        for row in j.rbac_rows("rbac_member_roles"):
            key = (row["auth0_org_id"], row["auth0_user_id"])
            if row["status"] != "done" or not row["workos_membership_id"]:
                continue
            mid = row["workos_membership_id"]
            created = any(w["target_id"] == mid for w in j.writes("create_role_membership"))
            try:
                if created:
                    await self.call(lambda mid=mid: wapi.delete_membership(self.client, mid), write=True)
                    j.rbac_update("rbac_member_roles", key, status="planned", workos_membership_id=None,
                                  applied_json=None, previous_json=None, write=("delete_role_membership", mid,
                                                                                "/".join(key)))
                    counts["memberships_deleted"] += 1
                elif row["previous_json"] is not None:
                    previous = json.loads(row["previous_json"]) or []
                    if previous:
                        await self.call(lambda mid=mid, p=previous: wapi.set_membership_roles(self.client, mid, p),
                                        write=True)
                    j.rbac_update("rbac_member_roles", key, status="planned", applied_json=None, previous_json=None,
                                  write=("restore_membership_roles", mid, "/".join(key)))
                    counts["memberships_restored"] += 1
            except ApiError as exc:
                if exc.kind is ErrorKind.AUTH:
                    raise
                if exc.kind is ErrorKind.NOT_FOUND:
                    j.rbac_update("rbac_member_roles", key, status="planned", previous_json=None)
                    counts["memberships_gone"] += 1
                    continue
                failures.append(f"{_member_label(j, row)}: {exc.message}")
        kept: list[str] = []
        for row in j.rbac_rows("rbac_roles"):
            key = (row["auth0_role_id"],)
            if row["status"] == "created":
                kept.append(row["slug"])
            if row["previous_permissions_json"] is None or row["status"] not in ("created", "existing", "reused"):
                continue
            previous = json.loads(row["previous_permissions_json"])
            try:
                await self.call(lambda s=row["slug"], p=previous: wapi.set_environment_role_permissions(
                    self.client, s, p), write=True)
                j.rbac_update("rbac_roles", key, previous_permissions_json=None,
                              status="created" if row["status"] == "created" else "planned",
                              write=("restore_role_permissions", row["slug"], row["auth0_role_id"]))
                counts["role_permissions_restored"] += 1
            except ApiError as exc:
                if exc.kind is ErrorKind.AUTH:
                    raise
                failures.append(f"role '{row['slug']}': {exc.message}")
        for row in j.rbac_rows("rbac_permissions"):
            if row["status"] != "created":
                continue
            try:
                await self.call(lambda s=row["slug"]: wapi.delete_permission(self.client, s), write=True)
                j.rbac_update("rbac_permissions", (row["perm_key"],), status="planned",
                              write=("delete_permission", row["slug"], row["perm_key"]))
                counts["permissions_deleted"] += 1
            except ApiError as exc:
                if exc.kind is ErrorKind.AUTH:
                    raise
                failures.append(f"permission '{row['slug']}': {exc.message}")
        summary = {"counts": dict(counts), "failures": failures, "roles_kept": kept,
                   "cannot_undo": [CANNOT_UNDO] if kept else [], "at": time.time()}
        documents.ROLES_ROLLBACK.write(j, summary)
        return summary


_REPORTED_TEXT = {
    "no_membership": "no WorkOS membership yet: run the organizations step, then this step again",
    "user_not_imported": "this member's user is not in WorkOS (not imported)",
    "org_missing": "the organization is not in WorkOS yet: run the organizations step first",
    "report_only": "roles held outside any organization: reported only (no default organization named)",
    "no_mapped_role": "none of the member's Auth0 roles has a WorkOS role",
}


def _created_by_run(journal: Journal, create_kind: str, delete_kind: str | None, auth0_id: str) -> bool:
    """Whether this run's last write of the object was its creation (not undone by a rollback)."""
    last = None
    for w in journal.writes():
        if w["auth0_id"] == auth0_id and w["kind"] in (create_kind, delete_kind):
            last = w["kind"]
    return last == create_kind


# =============================================================================== files, gate
def roles_csv_text(journal: Journal) -> str:
    """`roles.csv`: Auth0 role id, name, WorkOS slug, status, permissions (`;`-separated slugs)."""
    perm_slugs = {r["perm_key"]: r["slug"] for r in journal.rbac_rows("rbac_permissions")}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["auth0_role_id", "auth0_role_name", "workos_role_slug", "status", "permissions"])
    for r in journal.rbac_rows("rbac_roles"):
        perms = sorted(perm_slugs.get(k) or "" for k in json.loads(r["permission_keys_json"]))
        w.writerow([r["auth0_role_id"], r["name"], r["slug"] or "", r["status"], ";".join(p for p in perms if p)])
    return buf.getvalue()


def has_roles(journal: Journal) -> bool:
    return bool(journal.rbac_rows("rbac_roles"))


def applies(journal: Journal, settings) -> bool:
    """The step is shown when roles were read, or can be (Auth0 credentials are set)."""
    return has_roles(journal) or bool(documents.ROLES_READ.read(journal)) or bool(settings.has_auth0_credentials)


def not_applicable_refusal(journal: Journal) -> str | None:
    """The step may be marked not applicable only while no Auth0 role was read."""
    n = len(journal.rbac_rows("rbac_roles"))
    if not n:
        return None
    return (f"Auth0 has {n} role(s) in this run: the roles step applies. Run it (dry run first); roles that "
            "should not move can be left out only by removing them in Auth0 and reading again.")


def step_gate(journal: Journal, settings) -> GateResult:
    return roles_gate(journal)


def roles_gate(journal: Journal) -> GateResult:
    """Read from Auth0; every permission and role in WorkOS; membership roles set (members whose
    user or membership is missing are listed, not failures); tenant-level roles decided."""
    read = documents.ROLES_READ.read(journal)
    applied = documents.ROLES_APPLY.read(journal)
    perms = Counter(r["status"] for r in journal.rbac_rows("rbac_permissions"))
    roles = Counter(r["status"] for r in journal.rbac_rows("rbac_roles"))
    rows = journal.rbac_rows("rbac_member_roles")
    members = Counter(r["status"] for r in rows if r["source"] == "org")
    tenant = Counter(r["status"] for r in rows if r["source"] == "tenant")

    def text(c: Counter) -> str:
        return ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(c.items())) or "none"

    tenant_text = text(tenant)
    if applied and tenant:
        tenant_text += ("; assigned within " + applied["default_org"]) if applied.get("default_org") \
            else "; reported only"
    return GateResult.from_checks([
        Check("Roles read from Auth0", bool(read), f"{(read or {}).get('roles', 0)} role(s), "
              f"{(read or {}).get('permissions', 0)} permission(s)" if read else "not read yet",
              "Run `auth0-workos roles --run-dir DIR` with Auth0 credentials (scopes read:roles, "
              "read:organization_member_roles, read:users)."),
        Check("Permissions in WorkOS", bool(applied) and not perms["planned"] and not perms["failed"], text(perms),
              "Read the problems listed, fix them and run the roles step again."),
        Check("Roles in WorkOS", bool(applied) and not roles["planned"] and not roles["failed"], text(roles),
              "Read the problems listed, fix them and run the roles step again."),
        Check("Membership roles", bool(applied) and not members["planned"] and not members["failed"],
              text(members), "Run the roles step again: it sets only what differs."),
        Check("Roles held outside any organization", bool(applied) and not tenant["failed"], tenant_text,
              "Name a default organization (--default-org) or keep them reported only, then run the step again."),
    ], details={"permissions": dict(perms), "roles": dict(roles), "memberships": dict(members),
                "tenant": dict(tenant)})


def verify_check(journal: Journal, make_client: Callable[[], Any]) -> Check:
    """The verification checklist's roles check (not applicable when the step is, or no role was read)."""
    step = journal.step("roles") or {}
    if step.get("status") == "not_applicable":
        return Check(VERIFY_NAME, True, f"not applicable: {step.get('reason') or 'marked not applicable'}")
    if not has_roles(journal):
        return Check(VERIFY_NAME, True, "not applicable: no Auth0 roles in this run")

    async def go() -> Check:
        client = make_client()
        try:
            return await RolesEngine(journal, client).verify()
        finally:
            await client.close()

    try:
        return asyncio.run(go())
    except ApiError as exc:
        return Check(VERIFY_NAME, False, f"could not read WorkOS: {exc}", "Check WORKOS_API_KEY and the network.")


def tenant_rows(journal: Journal) -> list[dict]:
    return [r for r in journal.rbac_rows("rbac_member_roles") if r["source"] == "tenant"]


def resolve_default_org(journal: Journal, value: str | None) -> str | None:
    """The default organization as a WorkOS id: given as a WorkOS id, or as an Auth0 organization id
    or name this run migrated. Raises ValueError naming what was given when it matches nothing."""
    if not value:
        return None
    for o in journal.orgs():
        if value in (o["auth0_org_id"], o["name"], o["workos_org_id"]) and o["workos_org_id"]:
            return o["workos_org_id"]
    if value.startswith("org_"):
        return value
    raise ValueError(f"--default-org {value}: no organization of this run has that Auth0 id or name, "
                     "and it is not a WorkOS organization id (org_...)")


# =============================================================================== plain-text rendering
def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(counts.items()) if n) or "none"


def plan_lines(plan: RolesPlan) -> list[str]:
    """The mapping as the CLI, plain mode, the wizard and the report show it (no Python literals)."""
    lines = ["Permissions (Auth0 API / permission -> WorkOS slug):"]
    for p in plan.permissions:
        rule = {"plain": "", "kept": " (already in WorkOS)", "collision": " (name clash: hash suffix)"}.get(
            p.rule, f" ({p.rule.replace('+', ', ')})")
        if p.action == "existing":
            rule += " (a WorkOS permission with this slug exists and is used)"
        lines.append(f"  {p.resource_server_name or p.resource_server} / {p.name} -> {p.slug}{rule}")
    if not plan.permissions:
        lines.append("  none")
    lines.append("Roles (Auth0 role -> WorkOS environment role):")
    for r in plan.roles:
        action = {"create": "create", "ours": "already in WorkOS", "reuse": "reuse existing role"}[r.action]
        perms = f"{len(r.permissions)} permission(s)"
        note = f"; {r.note}" if r.note else ""
        lines.append(f"  {r.name} ({r.auth0_role_id}) -> {r.slug} [{action}, {perms}{note}]")
    if not plan.roles:
        lines.append("  none")
    for c in plan.collisions:
        lines.append(f"Collision: {', '.join(c['roles'])} all slug to '{c['slug']}': "
                     f"{', '.join(c['chosen'])} (ordered by slug, name, id)")
    for t in plan.taken:
        lines.append(f"Taken in WorkOS: '{t['slug']}' belongs to a role this tool did not create; Auth0 role "
                     f"'{t['auth0_role']}' becomes '{t['chosen']}' (use --reuse-existing {t['slug']} to reuse it, "
                     "which changes what every holder of that role may do)")
    for r in plan.roles:
        if r.action == "reuse":
            added = sorted(set(r.target) - set(r.current or []))
            lines.append(f"Reuse: '{r.slug}' keeps its own permissions and gains "
                         f"{', '.join(added) if added else 'nothing new'}")
    for slug in plan.unknown_reuse:
        lines.append(f"--reuse-existing {slug}: no Auth0 role maps onto an existing WorkOS role '{slug}'")
    lines += [f"Cannot be undone: {t}" for t in plan.cannot_undo]
    return lines


def outcome_lines(out: RolesOutcome, limit: int = 25) -> list[str]:
    head = "Dry run, nothing written. " if out.dry_run else ""
    lines = [f"{head}Permissions: {_counts_text(out.permissions)}",
             f"Roles: {_counts_text(out.roles)}",
             f"Membership roles: {_counts_text(out.memberships)}"]
    if out.multiple_roles is False:
        lines.append("Multiple roles per membership are not enabled in this WorkOS environment: each member got "
                     "the highest-ranked role; the others are listed below (enable Multiple Roles in the WorkOS "
                     "dashboard and run the step again to add them).")
    if out.default_org:
        lines.append(f"Tenant-level roles of users in no organization: assigned within {out.default_org}")
    for p in out.problems[:limit]:
        lines.append(f"  {p['what'].replace('_', ' ')}: {p['who']}: {p['message']}")
    if len(out.problems) > limit:
        lines.append(f"  ... and {len(out.problems) - limit} more")
    return lines


def tenant_lines(journal: Journal, limit: int = 25) -> list[str]:
    """Users holding tenant-level roles outside any organization, and the two options."""
    rows = tenant_rows(journal)
    if not rows:
        return []
    names = {r["auth0_role_id"]: r["name"] for r in journal.rbac_rows("rbac_roles")}
    lines = [f"{len(rows)} user(s) hold Auth0 roles outside any organization; WorkOS keeps roles only on "
             "organization memberships. Options: report only (default), or assign them within a default "
             "organization you name (--default-org ORG)."]
    for r in rows[:limit]:
        user = journal.user(r["auth0_user_id"])
        who = user.email if user and user.email else r["auth0_user_id"]
        held = ", ".join(names.get(i, i) for i in json.loads(r["auth0_role_ids_json"]))
        lines.append(f"  {who}: {held}")
    if len(rows) > limit:
        lines.append(f"  ... and {len(rows) - limit} more")
    return lines


def rollback_lines(summary: dict) -> list[str]:
    lines = [f"Undone: {_counts_text(summary.get('counts') or {})}"]
    if summary.get("roles_kept"):
        lines.append("Kept (no API deletes an environment role): " + ", ".join(summary["roles_kept"]))
    lines += [f"  failed: {f}" for f in summary.get("failures") or []]
    return lines


# =============================================================================== report section
def report_section(journal: Journal) -> dict | str:
    """The roles step in the final report: the mapping, what was done, what was reported."""
    if not has_roles(journal) and not documents.ROLES_READ.read(journal):
        return "not run"
    perm_slugs = {r["perm_key"]: r["slug"] for r in journal.rbac_rows("rbac_permissions")}
    rows = journal.rbac_rows("rbac_member_roles")
    applied = documents.ROLES_APPLY.read(journal) or {}
    plan = documents.ROLES_PLAN.read(journal) or {}
    return {
        "read": documents.ROLES_READ.read(journal),
        "roles": [{"auth0_role_id": r["auth0_role_id"], "name": r["name"], "workos_slug": r["slug"],
                   "status": r["status"],
                   "permissions": sorted(perm_slugs.get(k) or "" for k in json.loads(r["permission_keys_json"]))}
                  for r in journal.rbac_rows("rbac_roles")],
        "permissions": dict(Counter(r["status"] for r in journal.rbac_rows("rbac_permissions"))),
        "memberships": dict(Counter(r["status"] for r in rows if r["source"] == "org")),
        "tenant_level": dict(Counter(r["status"] for r in rows if r["source"] == "tenant")),
        "default_org": applied.get("default_org"),
        "multiple_roles": applied.get("multiple_roles"),
        "collisions": plan.get("collisions") or [],
        "taken": plan.get("taken") or [],
        "problems": (applied.get("problems") or [])[:25],
        "cannot_undo": [CANNOT_UNDO],
        "rollback": documents.ROLES_ROLLBACK.read(journal),
    }


def report_markdown(section: dict | str | None) -> list[str]:
    out = ["", "## Roles and permissions", ""]
    if not isinstance(section, dict):
        return out + ["not run"]
    out += ["| Auth0 role | id | WorkOS slug | status | permissions |", "|---|---|---|---|---|"]
    out += [f"| {r['name']} | {r['auth0_role_id']} | {r['workos_slug'] or 'not mapped'} | {r['status']} | "
            f"{', '.join(p for p in r['permissions'] if p) or 'none'} |".replace("\n", " ") for r in section["roles"]]
    out += ["", f"- permissions: {_counts_text(section['permissions'])}",
            f"- membership roles: {_counts_text(section['memberships'])}",
            f"- roles held outside any organization: {_counts_text(section['tenant_level'])}"
            + (f" (assigned within {section['default_org']})" if section.get("default_org") else
               " (reported only)" if section["tenant_level"] else "")]
    if section.get("multiple_roles") is False:
        out.append("- multiple roles per membership are not enabled: each member got the highest-ranked role")
    out += [f"- collision: {', '.join(c['roles'])} → {', '.join(c['chosen'])}" for c in section["collisions"]]
    out += [f"- taken in WorkOS: '{t['slug']}' kept; Auth0 role '{t['auth0_role']}' became '{t['chosen']}'"
            for t in section["taken"]]
    out += [f"- {p['what'].replace('_', ' ')}: {p['who']}: {p['message']}" for p in section["problems"]]
    out += [f"- cannot be undone: {t}" for t in section["cannot_undo"]]
    if isinstance(section.get("rollback"), dict):
        out += [f"- rollback: {line}" for line in rollback_lines(section["rollback"])]
    return out
