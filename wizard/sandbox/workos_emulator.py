"""A local WorkOS API (users, organizations, memberships, sign-in, MFA) that the official SDK accepts.

Shapes follow the WorkOS OpenAPI spec and the `workos` 10.x models (which reject a missing key);
errors follow the real contract (see api-facts.md §2). State lives in memory, one instance per
emulator; inspection helpers (`users`, `user_by_email`, `request_count`, ...) are for tests.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import hashlib
import hmac
import json
import random
import re
import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import bcrypt
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from wizard.sandbox.faults import Fault, Faults
from wizard.sandbox.gate import Gate, GatedEmulator, play_fault, send_json
from wizard.sandbox.ratelimit import RateLimits, SlidingWindowCounter
from wizard.sandbox.workos_sso import SsoEndpoints

__all__ = ["WorkOSEmulator", "Faults", "RateLimits", "ApiProblem"]

BCRYPT_RE = re.compile(r"^\$2[abxy]\$\d\d\$[./A-Za-z0-9]{53}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
HASH_TYPES = {"bcrypt", "firebase-scrypt", "ssha", "ssha256", "scrypt", "pbkdf2", "argon2"}
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class ApiProblem(Exception):
    """An error answer: raised inside a handler, turned into JSON by the app."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(body.get("code") or body.get("message"))
        self.status = status
        self.body = body
        self.headers = headers or {}


def now_iso() -> str:
    t = datetime.now(timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _not_found(what: str, ident: str) -> ApiProblem:
    return ApiProblem(404, {"code": "entity_not_found", "entity_id": ident,
                            "message": f"Could not find '{what}' with id '{ident}'."})


def _invalid(field: str, code: str, message: str) -> ApiProblem:
    return ApiProblem(422, {"code": "invalid_request_parameters", "message": "Validation failed.",
                            "errors": [{"field": field, "code": code, "message": message}]})


class UlidFactory:
    """ULID-like ids (26 Crockford chars) that sort by creation: list cursors compare ids."""

    def __init__(self, seed: int = 0):
        self._rng = random.Random(seed)
        self._last = 0
        self._lock = threading.Lock()

    def new(self, prefix: str) -> str:
        with self._lock:
            value = (int(time.time() * 1000) << 80) | self._rng.getrandbits(80)
            if value <= self._last:
                value = self._last + 1
            self._last = value
        chars = []
        for _ in range(26):
            chars.append(_CROCKFORD[value & 31])
            value >>= 5
        return f"{prefix}_{''.join(reversed(chars))}"


def paginate(ids_ascending: list[str], params: dict[str, str]) -> tuple[list[str], str | None, str | None]:
    """Cursor paging as WorkOS does it: (page ids, before cursor, after cursor).

    `ids_ascending` must be sorted. Ids sort by creation, so a cursor keeps its place even after its
    object was deleted, and finding it is a binary search (cheap for 100k users).
    """
    try:
        limit = int(params.get("limit", "10"))
    except ValueError:
        raise _invalid("limit", "invalid_type", "limit must be an integer") from None
    if not 1 <= limit <= 100:
        raise _invalid("limit", "out_of_range", "limit must be between 1 and 100")
    order = params.get("order", "desc")
    if order not in ("asc", "desc", "normal"):
        raise _invalid("order", "invalid_enum_value", "order must be asc, desc or normal")
    after, before = params.get("after"), params.get("before")
    if order == "normal":  # descending, but `before` goes to older records
        after, before = before, after
    n = len(ids_ascending)

    def position(cursor: str) -> int:
        """How many ids come before-or-at `cursor` in this order's sequence (ids sort by time)."""
        if order == "asc":
            return bisect.bisect_right(ids_ascending, cursor)
        return n - bisect.bisect_left(ids_ascending, cursor)

    def window(start: int, end: int) -> list[str]:
        if order == "asc":
            return ids_ascending[start:end]
        return list(reversed(ids_ascending[max(0, n - end):n - start]))

    if after:
        start = position(after)
        end = min(n, start + limit)
    elif before:
        end = position(before)
        if end and window(end - 1, end) == [before]:
            end -= 1
        start = max(0, end - limit)
    else:
        start, end = 0, min(n, limit)
    page = window(start, end)
    has_before, has_after = start > 0, end < n
    before_cursor = page[0] if page and has_before else None
    after_cursor = page[-1] if page and has_after else None
    if order == "normal":
        before_cursor, after_cursor = after_cursor, before_cursor
    return page, before_cursor, after_cursor


def _list_body(data: list[dict[str, Any]], before: str | None, after: str | None) -> dict[str, Any]:
    return {"object": "list", "data": data, "list_metadata": {"before": before, "after": after}}


# ----- RBAC: permissions, environment and organization roles, membership roles (roles feature) -----
# Rules from api-facts-b2b §5: environment role slugs [a-z0-9_-] (no `:` or `.`), organization role
# slugs start with `org-`, permission slugs also allow `:` `.` `*`; slugs and names at most 48
# characters, descriptions 150; environment roles cannot be deleted; `member` is seeded as the
# default role; several roles per membership only when the environment enables it (off by default).
ROLE_SLUG_RE = re.compile(r"^[a-z0-9_-]+$")
PERMISSION_SLUG_RE = re.compile(r"^[a-z0-9_:.*-]+$")
SLUG_MAX = NAME_MAX = 48
DESCRIPTION_MAX = 150


def _check_text(body: dict[str, Any], field: str, limit: int, required: bool) -> None:
    value = body.get(field)
    if value is None and not required:
        return
    if not isinstance(value, str) or (required and not value.strip()):
        raise _invalid(field, "required" if value is None else "invalid_type", f"{field} is required")
    if len(value) > limit:
        raise _invalid(field, "too_long", f"{field} must be at most {limit} characters")


def _check_slug(slug: Any, pattern: re.Pattern, what: str) -> str:
    if not isinstance(slug, str) or not slug:
        raise _invalid("slug", "required", "slug is required")
    if len(slug) > SLUG_MAX:
        raise _invalid("slug", "too_long", f"slug must be at most {SLUG_MAX} characters")
    if not pattern.match(slug):
        allowed = ("lowercase letters, numbers, hyphens and underscores" if pattern is ROLE_SLUG_RE else
                   "lowercase letters, numbers, hyphens, underscores, colons, periods and asterisks")
        raise _invalid("slug", "invalid_format", f"{what} slug must contain only {allowed}")
    return slug


def _role_view(role: dict[str, Any]) -> dict[str, Any]:
    return {**role, "permissions": list(role["permissions"])}


class RbacEndpoints:
    """Mixin of WorkOSEmulator: the `/authorization/*` routes and membership roles."""

    def _rbac_routes(self) -> list[Route]:
        r = self._wrap
        return [
            Route("/authorization/permissions", r(self.list_permissions), methods=["GET"]),
            Route("/authorization/permissions", r(self.create_permission), methods=["POST"]),
            Route("/authorization/permissions/{slug}", r(self.get_permission), methods=["GET"]),
            Route("/authorization/permissions/{slug}", r(self.update_permission), methods=["PATCH"]),
            Route("/authorization/permissions/{slug}", r(self.delete_permission), methods=["DELETE"]),
            Route("/authorization/roles", r(self.list_environment_roles), methods=["GET"]),
            Route("/authorization/roles", r(self.create_environment_role), methods=["POST"]),
            Route("/authorization/roles/{slug}", r(self.get_environment_role), methods=["GET"]),
            Route("/authorization/roles/{slug}", r(self.update_environment_role), methods=["PATCH"]),
            Route("/authorization/roles/{slug}/permissions", r(self.add_environment_role_permission),
                  methods=["POST"]),
            Route("/authorization/roles/{slug}/permissions", r(self.set_environment_role_permissions),
                  methods=["PUT"]),
            Route("/authorization/organizations/{org_id}/roles", r(self.list_organization_roles), methods=["GET"]),
            Route("/authorization/organizations/{org_id}/roles", r(self.create_organization_role),
                  methods=["POST"]),
            Route("/authorization/organizations/{org_id}/roles/{slug}", r(self.get_organization_role),
                  methods=["GET"]),
            Route("/authorization/organizations/{org_id}/roles/{slug}", r(self.delete_organization_role),
                  methods=["DELETE"]),
            Route("/authorization/organizations/{org_id}/roles/{slug}/permissions",
                  r(self.set_organization_role_permissions), methods=["PUT"]),
        ]

    def _init_rbac(self) -> None:
        """A fresh environment: the default `member` role, no permissions, multiple roles off."""
        self.permissions: dict[str, dict[str, Any]] = {}
        self.environment_roles: dict[str, dict[str, Any]] = {}  # insertion order = priority order
        self.organization_roles: dict[str, dict[str, dict[str, Any]]] = {}
        self.default_role_slug = "member"
        if not hasattr(self, "multiple_roles_enabled"):
            self.multiple_roles_enabled = False  # the dashboard switch (no API toggle)
        self._new_role(self.environment_roles, "member", "Member", None, "EnvironmentRole")

    def _new_role(self, table: dict, slug: str, name: str, description: str | None, kind: str) -> dict[str, Any]:
        now = now_iso()
        role = {"object": "role", "id": self._ids.new("role"), "slug": slug, "name": name,
                "description": description, "type": kind, "resource_type_slug": "organization",
                "permissions": [], "created_at": now, "updated_at": now}
        table[slug] = role
        return role

    async def list_permissions(self, request: Request):
        params = dict(request.query_params)
        with self._lock:
            by_id = {p["id"]: p for p in self.permissions.values()}
            page, before, after = paginate(sorted(by_id), params)
            return 200, _list_body([dict(by_id[i]) for i in page], before, after)

    async def create_permission(self, request: Request):
        body = await self._json(request)
        slug = _check_slug(body.get("slug"), PERMISSION_SLUG_RE, "Permission")
        _check_text(body, "name", NAME_MAX, True)
        _check_text(body, "description", DESCRIPTION_MAX, False)
        with self._lock:
            if slug in self.permissions:
                raise ApiProblem(409, {"code": "permission_slug_conflict",
                                       "message": f"A permission with slug '{slug}' already exists."})
            now = now_iso()
            perm = {"object": "permission", "id": self._ids.new("perm"), "slug": slug, "name": body["name"],
                    "description": body.get("description"), "system": False, "resource_type_slug": "organization",
                    "created_at": now, "updated_at": now}
            self.permissions[slug] = perm
            return 201, dict(perm)

    def _permission(self, slug: str) -> dict[str, Any]:
        perm = self.permissions.get(slug)
        if perm is None:
            raise _not_found("Permission", slug)
        return perm

    async def get_permission(self, request: Request):
        with self._lock:
            return 200, dict(self._permission(request.path_params["slug"]))

    async def update_permission(self, request: Request):
        body = await self._json(request)
        _check_text(body, "name", NAME_MAX, False)
        _check_text(body, "description", DESCRIPTION_MAX, False)
        with self._lock:
            perm = self._permission(request.path_params["slug"])
            for k in ("name", "description"):
                if k in body:
                    perm[k] = body[k]
            perm["updated_at"] = now_iso()
            return 200, dict(perm)

    async def delete_permission(self, request: Request):
        slug = request.path_params["slug"]
        with self._lock:
            perm = self._permission(slug)
            if perm["system"]:
                raise ApiProblem(422, {"code": "system_permission_cannot_be_deleted",
                                       "message": "System permissions cannot be deleted."})
            del self.permissions[slug]
            # assumption: a deleted permission leaves every role that held it
            for role in [*self.environment_roles.values(),
                         *(r for t in self.organization_roles.values() for r in t.values())]:
                if slug in role["permissions"]:
                    role["permissions"] = [p for p in role["permissions"] if p != slug]
        return 204, None

    async def list_environment_roles(self, request: Request):
        with self._lock:
            return 200, {"object": "list", "data": [_role_view(r) for r in self.environment_roles.values()]}

    async def create_environment_role(self, request: Request):
        body = await self._json(request)
        slug = _check_slug(body.get("slug"), ROLE_SLUG_RE, "Role")
        _check_text(body, "name", NAME_MAX, True)
        _check_text(body, "description", DESCRIPTION_MAX, False)
        with self._lock:
            if slug in self.environment_roles:
                raise ApiProblem(409, {"code": "role_slug_conflict",
                                       "message": f"A role with slug '{slug}' already exists."})
            role = self._new_role(self.environment_roles, slug, body["name"], body.get("description"),
                                  "EnvironmentRole")
            return 201, _role_view(role)

    def _environment_role(self, slug: str) -> dict[str, Any]:
        role = self.environment_roles.get(slug)
        if role is None:
            raise _not_found("Role", slug)
        return role

    async def get_environment_role(self, request: Request):
        with self._lock:
            return 200, _role_view(self._environment_role(request.path_params["slug"]))

    async def update_environment_role(self, request: Request):
        body = await self._json(request)
        _check_text(body, "name", NAME_MAX, False)
        _check_text(body, "description", DESCRIPTION_MAX, False)
        with self._lock:
            role = self._environment_role(request.path_params["slug"])
            for k in ("name", "description"):
                if k in body:
                    role[k] = body[k]
            role["updated_at"] = now_iso()
            return 200, _role_view(role)

    def _known_permissions(self, slugs: Any) -> list[str]:
        if not isinstance(slugs, list) or not all(isinstance(x, str) for x in slugs):
            raise _invalid("permissions", "invalid_type", "permissions must be a list of permission slugs")
        for slug in slugs:
            if slug not in self.permissions:
                raise _invalid("permissions", "permission_not_found", f"Permission '{slug}' not found.")
        return list(dict.fromkeys(slugs))

    async def add_environment_role_permission(self, request: Request):
        body = await self._json(request)
        with self._lock:
            role = self._environment_role(request.path_params["slug"])
            (slug,) = self._known_permissions([body.get("slug")])
            if slug not in role["permissions"]:
                role["permissions"].append(slug)
                role["updated_at"] = now_iso()
            return 200, _role_view(role)

    async def set_environment_role_permissions(self, request: Request):
        body = await self._json(request)
        with self._lock:
            role = self._environment_role(request.path_params["slug"])
            role["permissions"] = self._known_permissions(body.get("permissions"))
            role["updated_at"] = now_iso()
            return 200, _role_view(role)

    async def list_organization_roles(self, request: Request):
        oid = request.path_params["org_id"]
        with self._lock:
            self._org(oid)
            roles = [*self.environment_roles.values(), *self.organization_roles.get(oid, {}).values()]
            return 200, {"object": "list", "data": [_role_view(r) for r in roles]}

    async def create_organization_role(self, request: Request):
        oid = request.path_params["org_id"]
        body = await self._json(request)
        _check_text(body, "name", NAME_MAX, True)
        _check_text(body, "description", DESCRIPTION_MAX, False)
        slug = body.get("slug") or "org-" + re.sub(r"[^a-z0-9]+", "-", body["name"].lower()).strip("-")[:30] + \
            "-" + secrets.token_hex(3)
        _check_slug(slug, ROLE_SLUG_RE, "Role")
        if not slug.startswith("org-"):
            raise _invalid("slug", "invalid_format", "Organization role slugs must start with 'org-'")
        with self._lock:
            self._org(oid)
            table = self.organization_roles.setdefault(oid, {})
            if slug in table:
                raise ApiProblem(409, {"code": "organization_role_slug_conflict",
                                       "message": f"A role with slug '{slug}' already exists in this organization."})
            return 201, _role_view(self._new_role(table, slug, body["name"], body.get("description"),
                                                  "OrganizationRole"))

    def _organization_role(self, oid: str, slug: str) -> dict[str, Any]:
        self._org(oid)
        role = self.organization_roles.get(oid, {}).get(slug)
        if role is None:
            raise _not_found("Role", slug)
        return role

    async def get_organization_role(self, request: Request):
        with self._lock:
            return 200, _role_view(self._organization_role(request.path_params["org_id"], request.path_params["slug"]))

    async def delete_organization_role(self, request: Request):
        oid, slug = request.path_params["org_id"], request.path_params["slug"]
        with self._lock:
            self._organization_role(oid, slug)
            del self.organization_roles[oid][slug]
            for m in self.memberships.values():  # its members fall back to the default role
                if m["organization_id"] == oid and any(r["slug"] == slug for r in m["roles"]):
                    self._set_membership_roles(m, [r["slug"] for r in m["roles"] if r["slug"] != slug]
                                               or [self.default_role_slug])
        return 204, None

    async def set_organization_role_permissions(self, request: Request):
        body = await self._json(request)
        with self._lock:
            role = self._organization_role(request.path_params["org_id"], request.path_params["slug"])
            role["permissions"] = self._known_permissions(body.get("permissions"))
            role["updated_at"] = now_iso()
            return 200, _role_view(role)

    def _membership_role_slugs(self, body: dict[str, Any], oid: str) -> list[str] | None:
        """`role_slug` or `role_slugs` validated as WorkOS does (None: neither given)."""
        if "role_slug" in body and "role_slugs" in body:
            raise _invalid("role_slugs", "mutually_exclusive", "Provide either role_slug or role_slugs, not both.")
        if "role_slug" in body:
            slugs = [body["role_slug"]]
        elif "role_slugs" in body:
            slugs = body["role_slugs"]
            if not isinstance(slugs, list) or not slugs:
                raise _invalid("role_slugs", "invalid_type", "role_slugs must be a non-empty list of role slugs")
        else:
            return None
        if not all(isinstance(x, str) and x for x in slugs):
            raise _invalid("role_slug", "invalid_type", "role slugs must be strings")
        known = {**self.environment_roles, **self.organization_roles.get(oid, {})}
        for slug in slugs:
            if slug not in known:
                raise ApiProblem(422, {"code": "invalid_role", "message": f"Role '{slug}' is not a valid role.",
                                       "role_slug": slug})
        slugs = list(dict.fromkeys(slugs))
        if len(slugs) > 1 and not self.multiple_roles_enabled:
            raise ApiProblem(422, {"code": "multiple_roles_not_enabled",
                                   "message": "Multiple roles are not enabled for this environment."})
        return slugs

    def _set_membership_roles(self, membership: dict[str, Any], slugs: list[str]) -> None:
        """Roles in priority order; the highest one is the primary `role`."""
        order = {s: i for i, s in enumerate([*self.environment_roles,
                                             *self.organization_roles.get(membership["organization_id"], {})])}
        ranked = sorted(slugs, key=lambda s: order.get(s, len(order)))
        membership["role"] = {"slug": ranked[0]}
        membership["roles"] = [{"slug": s} for s in ranked]

    async def update_membership(self, request: Request):
        body = await self._json(request)
        mid = request.path_params["om_id"]
        with self._lock:
            m = self.memberships.get(mid)
            if m is None:
                raise _not_found("OrganizationMembership", mid)
            slugs = self._membership_role_slugs(body, m["organization_id"])
            if slugs is not None:
                self._set_membership_roles(m, slugs)
                m["updated_at"] = now_iso()
            return 200, self._membership_view(m)


class WorkOSEmulator(RbacEndpoints, GatedEmulator):
    """The WorkOS API in memory. `.app` is the Starlette app; serve it with `server.serve`."""

    def __init__(self, api_key: str = "sk_test_sandbox", client_id: str = "client_sandbox",
                 limits: RateLimits | None = None, faults: Faults | None = None, seed: int = 0):
        self.api_key = api_key
        self.client_id = client_id
        self.users: dict[str, dict[str, Any]] = {}
        self.organizations: dict[str, dict[str, Any]] = {}
        self.memberships: dict[str, dict[str, Any]] = {}
        self.auth_factors: dict[str, dict[str, Any]] = {}
        self.magic_auths: dict[str, dict[str, Any]] = {}
        self.password_resets: dict[str, dict[str, Any]] = {}
        self.requests: list[list] = []  # [method, path, status] of every request, in arrival order
        self._passwords: dict[str, tuple[str, str]] = {}  # user id -> (kind, secret) never served
        self._email_index: dict[str, str] = {}
        self._external_index: dict[str, str] = {}
        self._org_external_index: dict[str, str] = {}
        self._totp_secrets: dict[str, str] = {}
        self._ids = UlidFactory(seed)
        self._lock = threading.RLock()
        self._init_rbac()
        self.sso = SsoEndpoints(self)  # enterprise SSO connections, IdP certificates, Admin Portal (issue 13)
        self.set_limits(limits or RateLimits())
        self.set_faults(faults or Faults())
        self.app = Starlette(routes=self._routes(), exception_handlers={
            404: _json_http_error, 405: _json_http_error})
        self.app.add_middleware(_Gate, emulator=self)  # type: ignore[arg-type]

    # ----- configuration and inspection (tests) -----
    def set_limits(self, limits: RateLimits) -> None:
        self.limits = limits
        # WorkOS documents windows ("500 writes per 10 seconds"): enforced as sliding windows, the
        # strictest reading, so a client that passes here never exceeds any fixed window either
        self._writes = SlidingWindowCounter(limits.writes_per_10s, limits.write_window_s)
        self._reads = SlidingWindowCounter(limits.reads_per_10s, limits.read_window_s)
        self._all = SlidingWindowCounter(limits.requests_per_minute, 60)
        self._auths = SlidingWindowCounter(limits.authentications_per_minute_per_email, 60)

    def user_by_email(self, email: str) -> dict[str, Any] | None:
        with self._lock:
            uid = self._email_index.get(email.strip().lower())
            return self.users.get(uid) if uid else None

    def password_matches(self, user_id: str, password: str) -> bool:
        with self._lock:
            stored = self._passwords.get(user_id)
        return stored is not None and _verify_password(stored, password)

    def password_kind(self, user_id: str) -> str | None:
        """The password_hash_type a user's hash was stored as ("plain" for a password), or None."""
        with self._lock:
            stored = self._passwords.get(user_id)
        return stored[0] if stored else None

    def has_password(self, user_id: str) -> bool:
        with self._lock:
            return user_id in self._passwords

    def reset(self) -> None:
        """Forget every object and request (a fresh environment with the same keys)."""
        with self._lock:
            for d in (self.users, self.organizations, self.memberships, self.auth_factors,
                      self.magic_auths, self.password_resets, self._passwords, self._email_index,
                      self._external_index, self._org_external_index, self._totp_secrets):
                d.clear()
            self.requests.clear()
            self._init_rbac()
            self.sso.clear()
        self.set_limits(self.limits)
        self.set_faults(self.faults)

    # ----- routing -----
    def _routes(self) -> list[Route]:
        r = self._wrap
        return [
            Route("/user_management/users", r(self.list_users), methods=["GET"]),
            Route("/user_management/users", r(self.create_user), methods=["POST"]),
            Route("/user_management/users/external_id/{external_id:path}",
                  r(self.get_user_by_external_id), methods=["GET"]),
            Route("/user_management/users/{user_id}/auth_factors", r(self.create_auth_factor),
                  methods=["POST"]),
            Route("/user_management/users/{user_id}/auth_factors", r(self.list_auth_factors),
                  methods=["GET"]),
            Route("/user_management/users/{user_id}", r(self.get_user), methods=["GET"]),
            Route("/user_management/users/{user_id}", r(self.update_user), methods=["PUT"]),
            Route("/user_management/users/{user_id}", r(self.delete_user), methods=["DELETE"]),
            Route("/user_management/authenticate", r(self.authenticate), methods=["POST"]),
            Route("/user_management/magic_auth", r(self.create_magic_auth), methods=["POST"]),
            Route("/user_management/magic_auth/{mid}", r(self.get_magic_auth), methods=["GET"]),
            Route("/user_management/password_reset", r(self.create_password_reset),
                  methods=["POST"]),
            Route("/user_management/password_reset/{rid}", r(self.get_password_reset),
                  methods=["GET"]),
            Route("/user_management/organization_memberships", r(self.list_memberships),
                  methods=["GET"]),
            Route("/user_management/organization_memberships", r(self.create_membership),
                  methods=["POST"]),
            Route("/user_management/organization_memberships/{om_id}", r(self.get_membership),
                  methods=["GET"]),
            Route("/user_management/organization_memberships/{om_id}", r(self.delete_membership),
                  methods=["DELETE"]),
            Route("/user_management/organization_memberships/{om_id}", r(self.update_membership),
                  methods=["PUT"]),
            Route("/organizations", r(self.list_organizations), methods=["GET"]),
            Route("/organizations", r(self.create_organization), methods=["POST"]),
            Route("/organizations/external_id/{external_id:path}",
                  r(self.get_organization_by_external_id), methods=["GET"]),
            Route("/organizations/{org_id}", r(self.get_organization), methods=["GET"]),
            Route("/organizations/{org_id}", r(self.update_organization), methods=["PUT"]),
            Route("/organizations/{org_id}", r(self.delete_organization), methods=["DELETE"]),
            Route("/auth/factors/{factor_id}", r(self.get_auth_factor), methods=["GET"]),
            Route("/auth/factors/{factor_id}", r(self.delete_auth_factor), methods=["DELETE"]),
            *self._rbac_routes(),
            *self.sso.routes(r),
        ]

    @staticmethod
    def _wrap(handler: Callable[..., Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                result = await handler(request)
            except ApiProblem as problem:
                return JSONResponse(problem.body, status_code=problem.status, headers=problem.headers)
            if isinstance(result, Response):
                return result
            status, body = result
            if body is None:
                return Response(status_code=status)
            return JSONResponse(body, status_code=status)

        return endpoint

    async def _json(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise _invalid("body", "invalid_json", "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise _invalid("body", "invalid_type", "The request body must be a JSON object.")
        return body

    # ----- users -----
    async def list_users(self, request: Request):
        params = dict(request.query_params)
        with self._lock:
            if params.get("email"):
                uid = self._email_index.get(params["email"].strip().lower())
                ids = [uid] if uid else []
            else:
                ids = list(self.users)
            org = params.get("organization_id") or params.get("organization")
            if org:
                members = {m["user_id"] for m in self.memberships.values()
                           if m["organization_id"] == org}
                ids = [i for i in ids if i in members]
            page, before, after = paginate(ids, params)
            return 200, _list_body([self.users[i] for i in page], before, after)

    async def create_user(self, request: Request):
        body = await self._json(request)
        email = _validated_email(body.get("email"))
        fields = _validated_user_fields(body, creating=True)
        password = _validated_password(body)
        with self._lock:
            errors = []
            if email in self._email_index:
                errors.append({"code": "email_not_available",
                               "message": "This email is not available."})
            ext = fields.get("external_id")
            if ext is not None and ext in self._external_index:
                errors.append({"code": "external_id_already_used",
                               "message": "This external ID is already used by another user."})
            if errors:
                raise ApiProblem(400, {"code": "user_creation_error",
                                       "message": "Could not create user.", "errors": errors})
            now = now_iso()
            uid = self._ids.new("user")
            user = {
                "object": "user", "id": uid, "email": email,
                "first_name": fields.get("first_name"), "last_name": fields.get("last_name"),
                "name": fields.get("name") or _join_name(fields.get("first_name"), fields.get("last_name")),
                "email_verified": bool(fields.get("email_verified") or False),
                "profile_picture_url": None, "external_id": ext, "last_sign_in_at": None,
                "locale": fields.get("locale"), "metadata": fields.get("metadata") or {},
                "created_at": now, "updated_at": now,
            }
            self.users[uid] = user
            self._email_index[email] = uid
            if ext is not None:
                self._external_index[ext] = uid
            if password is not None:
                self._passwords[uid] = password
            return 201, dict(user)

    def _user(self, uid: str) -> dict[str, Any]:
        user = self.users.get(uid)
        if user is None:
            raise _not_found("User", uid)
        return user

    async def get_user(self, request: Request):
        with self._lock:
            return 200, dict(self._user(request.path_params["user_id"]))

    async def get_user_by_external_id(self, request: Request):
        ext = request.path_params["external_id"]
        with self._lock:
            uid = self._external_index.get(ext)
            if uid is None:
                raise _not_found("User", ext)
            return 200, dict(self.users[uid])

    async def update_user(self, request: Request):
        uid = request.path_params["user_id"]
        body = await self._json(request)
        with self._lock:
            self._user(uid)
        email = _validated_email(body["email"]) if body.get("email") is not None else None
        fields = _validated_user_fields(body, creating=False)
        password = _validated_password(body)
        with self._lock:
            user = self._user(uid)
            if email is not None and self._email_index.get(email, uid) != uid:
                raise ApiProblem(400, {"code": "email_not_available",
                                       "message": "This email is not available.",
                                       "errors": [{"code": "email_not_available",
                                                   "message": "This email is not available."}]})
            if "external_id" in fields and fields["external_id"] is not None \
                    and self._external_index.get(fields["external_id"], uid) != uid:
                raise ApiProblem(400, {"code": "external_id_already_used",
                                       "message": "This external ID is already used by another user.",
                                       "errors": [{"code": "external_id_already_used",
                                                   "message": "This external ID is already used."}]})
            if fields.get("email_verified") is False and user["email_verified"]:
                raise ApiProblem(400, {"code": "email_already_verified",
                                       "message": "The email of this user is already verified."})
            metadata = dict(user.get("metadata") or {})
            if "metadata" in fields:
                if fields["metadata"] is None:
                    metadata = {}
                else:
                    for k, v in fields["metadata"].items():
                        if v is None:
                            metadata.pop(k, None)
                        else:
                            metadata[k] = v
                _check_metadata_size(metadata)
            if email is not None and email != user["email"]:
                del self._email_index[user["email"]]
                self._email_index[email] = uid
                user["email"] = email
            if "external_id" in fields:
                if user["external_id"] is not None:
                    self._external_index.pop(user["external_id"], None)
                user["external_id"] = fields["external_id"]
                if fields["external_id"] is not None:
                    self._external_index[fields["external_id"]] = uid
            for key in ("first_name", "last_name", "locale"):
                if key in fields:
                    user[key] = fields[key]
            if "name" in fields:
                user["name"] = fields["name"]
            elif "first_name" in fields or "last_name" in fields:
                user["name"] = _join_name(user["first_name"], user["last_name"])
            if fields.get("email_verified") is True:
                user["email_verified"] = True
            user["metadata"] = metadata
            if password is not None:
                self._passwords[uid] = password
            user["updated_at"] = now_iso()
            return 200, dict(user)

    async def delete_user(self, request: Request):
        uid = request.path_params["user_id"]
        with self._lock:
            user = self._user(uid)
            del self.users[uid]
            self._email_index.pop(user["email"], None)
            if user["external_id"] is not None:
                self._external_index.pop(user["external_id"], None)
            self._passwords.pop(uid, None)
            for mid in [m for m, v in self.memberships.items() if v["user_id"] == uid]:
                del self.memberships[mid]
            for fid in [f for f, v in self.auth_factors.items() if v["user_id"] == uid]:
                del self.auth_factors[fid]
                self._totp_secrets.pop(fid, None)
        return 200, None  # the spec: 200 with no body

    # ----- organizations -----
    def _org(self, oid: str) -> dict[str, Any]:
        org = self.organizations.get(oid)
        if org is None:
            raise _not_found("Organization", oid)
        return org

    def _domains(self, oid: str, body: dict[str, Any], now: str) -> list[dict[str, Any]]:
        entries: list[tuple[str, str]] = []
        for item in body.get("domain_data") or []:
            if not isinstance(item, dict) or not isinstance(item.get("domain"), str):
                raise _invalid("domain_data", "invalid_type", "domain_data items need a domain")
            state = item.get("state", "pending")
            if state not in ("pending", "verified"):
                raise _invalid("domain_data", "invalid_enum_value", "state must be pending or verified")
            entries.append((item["domain"].strip().lower(), state))
        for d in body.get("domains") or []:  # deprecated form
            if isinstance(d, str):
                entries.append((d.strip().lower(), "verified"))
        out = []
        for domain, state in entries:
            if not re.match(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$", domain):
                raise _invalid("domain_data", "invalid_domain", f"'{domain}' is not a valid domain")
            entry = {"object": "organization_domain", "id": self._ids.new("org_domain"),
                     "organization_id": oid, "domain": domain, "state": state,
                     "verification_strategy": "manual" if state == "verified" else "dns",
                     "created_at": now, "updated_at": now}
            if state != "verified":
                # the spec's verification_prefix/_token are strings, never null: a DNS-verified
                # domain carries the TXT record to publish, a manually verified one omits them
                entry["verification_prefix"] = f"workos-domain-verification-{secrets.token_hex(4)}"
                entry["verification_token"] = secrets.token_urlsafe(18)
            out.append(entry)
        return out

    def _org_fields(self, body: dict[str, Any], creating: bool) -> None:
        if creating and (not isinstance(body.get("name"), str) or not body["name"].strip()):
            raise _invalid("name", "required", "name is required")
        if "external_id" in body and body["external_id"] is not None:
            ext = body["external_id"]
            if not isinstance(ext, str) or not ext or len(ext) > 128 or not ext.isascii():
                raise _invalid("external_id", "invalid_format",
                               "external_id must be an ASCII string of at most 128 characters")
        if body.get("metadata") is not None:
            if not isinstance(body["metadata"], dict):
                raise _invalid("metadata", "invalid_type", "metadata must be an object")
            _check_metadata_size(body["metadata"])

    async def create_organization(self, request: Request):
        body = await self._json(request)
        self._org_fields(body, creating=True)
        with self._lock:
            ext = body.get("external_id")
            if ext is not None and ext in self._org_external_index:
                raise ApiProblem(400, {"code": "external_id_already_used",
                                       "message": "This external ID is already used by another organization."})
            now = now_iso()
            oid = self._ids.new("org")
            org = {"object": "organization", "id": oid, "name": body["name"].strip(),
                   "domains": self._domains(oid, body, now), "metadata": body.get("metadata") or {},
                   "external_id": ext,  # stripe_customer_id: an optional string, omitted until set
                   "allow_profiles_outside_organization":
                       bool(body.get("allow_profiles_outside_organization", False)),
                   "created_at": now, "updated_at": now}
            self.organizations[oid] = org
            if ext is not None:
                self._org_external_index[ext] = oid
            return 201, org

    async def get_organization(self, request: Request):
        with self._lock:
            return 200, self._org(request.path_params["org_id"])

    async def get_organization_by_external_id(self, request: Request):
        ext = request.path_params["external_id"]
        with self._lock:
            oid = self._org_external_index.get(ext)
            if oid is None:
                raise _not_found("Organization", ext)
            return 200, self.organizations[oid]

    async def list_organizations(self, request: Request):
        params = dict(request.query_params)
        with self._lock:
            ids = list(self.organizations)
            if params.get("domains"):
                wanted = {d.strip().lower() for d in params["domains"].split(",")}
                ids = [i for i in ids
                       if wanted & {d["domain"] for d in self.organizations[i]["domains"]}]
            if params.get("search"):
                needle = params["search"].lower()
                ids = [i for i in ids if needle in self.organizations[i]["name"].lower()]
            page, before, after = paginate(ids, params)
            return 200, _list_body([self.organizations[i] for i in page], before, after)

    async def update_organization(self, request: Request):
        oid = request.path_params["org_id"]
        body = await self._json(request)
        self._org_fields(body, creating=False)
        with self._lock:
            org = self._org(oid)
            ext = body.get("external_id")
            if ext is not None and self._org_external_index.get(ext, oid) != oid:
                raise ApiProblem(400, {"code": "external_id_already_used",
                                       "message": "This external ID is already used by another organization."})
            now = now_iso()
            if body.get("name"):
                org["name"] = body["name"].strip()
            if body.get("domain_data") is not None or body.get("domains") is not None:
                org["domains"] = self._domains(oid, body, now)
            if body.get("metadata") is not None:
                org["metadata"] = body["metadata"]
            if "external_id" in body:
                if org["external_id"] is not None:
                    self._org_external_index.pop(org["external_id"], None)
                org["external_id"] = ext
                if ext is not None:
                    self._org_external_index[ext] = oid
            if body.get("stripe_customer_id") is not None:
                org["stripe_customer_id"] = body["stripe_customer_id"]
            org["updated_at"] = now
            return 200, org

    async def delete_organization(self, request: Request):
        oid = request.path_params["org_id"]
        with self._lock:
            org = self._org(oid)
            del self.organizations[oid]
            if org["external_id"] is not None:
                self._org_external_index.pop(org["external_id"], None)
            for mid in [m for m, v in self.memberships.items() if v["organization_id"] == oid]:
                del self.memberships[mid]
        return 200, None  # the spec: 200 with no body

    # ----- organization memberships -----
    def _membership_view(self, m: dict[str, Any]) -> dict[str, Any]:
        org = self.organizations.get(m["organization_id"])
        return {**m, "user": dict(self.users[m["user_id"]]),
                "organization_name": org["name"] if org else None}

    async def create_membership(self, request: Request):
        body = await self._json(request)
        uid, oid = body.get("user_id"), body.get("organization_id")
        if not isinstance(uid, str) or not uid:
            raise _invalid("user_id", "required", "user_id is required")
        if not isinstance(oid, str) or not oid:
            raise _invalid("organization_id", "required", "organization_id is required")
        with self._lock:
            self._user(uid)
            self._org(oid)
            slugs = self._membership_role_slugs(body, oid) or [self.default_role_slug]
            # Documented choice: the real API's answer to a duplicate is not documented; we say 409,
            # which peers treat as "already a member".
            for m in self.memberships.values():
                if m["user_id"] == uid and m["organization_id"] == oid:
                    raise ApiProblem(409, {"code": "organization_membership_already_exists",
                                           "message": "The user is already a member of this organization.",
                                           "organization_membership_id": m["id"]})
            now = now_iso()
            mid = self._ids.new("om")
            membership = {"object": "organization_membership", "id": mid, "user_id": uid,
                          "organization_id": oid, "status": "active", "directory_managed": False,
                          "role": {"slug": slugs[0]}, "roles": [{"slug": s} for s in slugs],
                          "custom_attributes": {}, "created_at": now, "updated_at": now}
            self._set_membership_roles(membership, slugs)
            self.memberships[mid] = membership
            return 201, self._membership_view(membership)

    async def list_memberships(self, request: Request):
        params = dict(request.query_params)
        uid, oid = params.get("user_id"), params.get("organization_id")
        if not uid and not oid:
            raise _invalid("user_id", "required", "user_id or organization_id is required")
        statuses = set((params.get("statuses") or "active").split(","))
        with self._lock:
            ids = [m for m, v in self.memberships.items()
                   if (not uid or v["user_id"] == uid) and (not oid or v["organization_id"] == oid)
                   and v["status"] in statuses]
            page, before, after = paginate(ids, params)
            return 200, _list_body([self._membership_view(self.memberships[i]) for i in page],
                                   before, after)

    async def get_membership(self, request: Request):
        mid = request.path_params["om_id"]
        with self._lock:
            m = self.memberships.get(mid)
            if m is None:
                raise _not_found("OrganizationMembership", mid)
            return 200, self._membership_view(m)

    async def delete_membership(self, request: Request):
        mid = request.path_params["om_id"]
        with self._lock:
            if self.memberships.pop(mid, None) is None:
                raise _not_found("OrganizationMembership", mid)
        return 200, None  # the spec: 200 with no body

    # ----- sign-in -----
    async def authenticate(self, request: Request):
        body = await self._json(request)
        if body.get("client_id") != self.client_id or body.get("client_secret") != self.api_key:
            raise ApiProblem(401, {"error": "invalid_client", "code": "invalid_client",
                                   "message": "Invalid client ID or secret.",
                                   "error_description": "Invalid client ID or secret."})
        grant = body.get("grant_type")
        if grant == "password":
            email, password = body.get("email"), body.get("password")
            if not isinstance(email, str) or not isinstance(password, str):
                raise _invalid("email", "required", "email and password are required")
            email = email.strip().lower()
            if self.limits.enabled:
                wait = self._auths.take(email)
                if wait:
                    raise ApiProblem(429, {"message": "Too many requests",
                                           "code": "rate_limit_exceeded"}, {"Retry-After": str(wait)})
            with self._lock:
                uid = self._email_index.get(email)
                stored = self._passwords.get(uid) if uid else None
            ok = stored is not None and await run_in_threadpool(_verify_password, stored, password)
            if not ok:
                raise ApiProblem(400, {"code": "invalid_credentials",
                                       "message": "Invalid credentials."})
            return 200, self._signed_in(uid, "Password")
        if grant == "urn:workos:oauth:grant-type:magic-auth:code":
            email, code = (body.get("email") or "").strip().lower(), body.get("code")
            with self._lock:
                match = next((m for m in self.magic_auths.values()
                              if m["email"] == email and m["code"] == code), None)
                if match is None:
                    raise ApiProblem(400, {"code": "invalid_one_time_code",
                                           "message": "The code is not valid."})
                del self.magic_auths[match["id"]]
            return 200, self._signed_in(match["user_id"], "MagicAuth")
        raise ApiProblem(400, {"error": "unsupported_grant_type", "code": "unsupported_grant_type",
                               "message": f"The sandbox does not support grant_type {grant!r}."})

    def _signed_in(self, uid: str, method: str) -> dict[str, Any]:
        with self._lock:
            user = self.users[uid]
            user["last_sign_in_at"] = now_iso()
            org_ids = [m["organization_id"] for m in self.memberships.values() if m["user_id"] == uid]
            answer = {"user": dict(user),
                      "access_token": f"sandbox_access_{secrets.token_urlsafe(16)}",
                      "refresh_token": f"sandbox_refresh_{secrets.token_urlsafe(16)}",
                      "authentication_method": method}
            if len(org_ids) == 1:  # the spec's organization_id is a string: omitted, never null
                answer["organization_id"] = org_ids[0]
            return answer

    async def create_magic_auth(self, request: Request):
        body = await self._json(request)
        email = _validated_email(body.get("email"))
        with self._lock:
            now = now_iso()
            uid = self._email_index.get(email)
            if uid is None:  # WorkOS creates the user on the fly for magic auth sign-up
                uid = self._ids.new("user")
                self.users[uid] = {"object": "user", "id": uid, "email": email, "first_name": None,
                                   "last_name": None, "name": None, "email_verified": False,
                                   "profile_picture_url": None, "external_id": None,
                                   "last_sign_in_at": None, "locale": None, "metadata": {},
                                   "created_at": now, "updated_at": now}
                self._email_index[email] = uid
            mid = self._ids.new("magic_auth")
            record = {"object": "magic_auth", "id": mid, "user_id": uid, "email": email,
                      "expires_at": _in_minutes(10), "code": f"{secrets.randbelow(10**6):06d}",
                      "created_at": now, "updated_at": now}
            self.magic_auths[mid] = record
            return 201, record

    async def get_magic_auth(self, request: Request):
        mid = request.path_params["mid"]
        with self._lock:
            if mid not in self.magic_auths:
                raise _not_found("MagicAuth", mid)
            return 200, self.magic_auths[mid]

    async def create_password_reset(self, request: Request):
        body = await self._json(request)
        email = _validated_email(body.get("email"))
        with self._lock:
            uid = self._email_index.get(email)
            if uid is None:
                raise _not_found("User", email)
            rid = self._ids.new("password_reset")
            token = secrets.token_urlsafe(24)
            record = {"object": "password_reset", "id": rid, "user_id": uid, "email": email,
                      "password_reset_token": token,
                      "password_reset_url": f"https://sandbox.workos.local/reset-password?token={token}",
                      "expires_at": _in_minutes(60), "created_at": now_iso()}
            self.password_resets[rid] = record
            return 201, record

    async def get_password_reset(self, request: Request):
        rid = request.path_params["rid"]
        with self._lock:
            if rid not in self.password_resets:
                raise _not_found("PasswordReset", rid)
            return 200, self.password_resets[rid]

    # ----- MFA factors -----
    async def create_auth_factor(self, request: Request):
        uid = request.path_params["user_id"]
        body = await self._json(request)
        if body.get("type") != "totp":
            raise _invalid("type", "invalid_enum_value", "type must be totp")
        secret = body.get("totp_secret")
        if secret is not None and (not isinstance(secret, str)
                                   or not re.match(r"^[A-Z2-7]+=*$", secret.upper())
                                   or len(secret.rstrip("=")) < 16):
            raise _invalid("totp_secret", "invalid_format",
                           "totp_secret must be Base32 of at least 16 characters")
        with self._lock:
            user = self._user(uid)
            secret = (secret or _base32_secret()).upper()
            issuer = body.get("totp_issuer") or "WorkOS Sandbox"
            account = body.get("totp_user") or user["email"]
            now = now_iso()
            fid = self._ids.new("auth_factor")
            factor = {"object": "authentication_factor", "id": fid, "type": "totp", "user_id": uid,
                      "totp": {"issuer": issuer, "user": account},  # no "sms": optional, not nullable
                      "created_at": now, "updated_at": now}
            self.auth_factors[fid] = factor
            self._totp_secrets[fid] = secret
            uri = f"otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}"
            enrolled = {**factor, "totp": {"issuer": issuer, "user": account, "secret": secret,
                                           "qr_code": "data:image/png;base64,", "uri": uri}}
            challenge = {"object": "authentication_challenge", "id": self._ids.new("auth_challenge"),
                         "authentication_factor_id": fid, "expires_at": _in_minutes(5),
                         "created_at": now, "updated_at": now}  # "code" only for SMS: omitted
            return 201, {"authentication_factor": enrolled, "authentication_challenge": challenge}

    async def list_auth_factors(self, request: Request):
        uid = request.path_params["user_id"]
        params = dict(request.query_params)
        with self._lock:
            self._user(uid)
            ids = [f for f, v in self.auth_factors.items() if v["user_id"] == uid]
            page, before, after = paginate(ids, params)
            return 200, _list_body([self.auth_factors[i] for i in page], before, after)

    async def get_auth_factor(self, request: Request):
        fid = request.path_params["factor_id"]
        with self._lock:
            if fid not in self.auth_factors:
                raise _not_found("AuthenticationFactor", fid)
            return 200, self.auth_factors[fid]

    async def delete_auth_factor(self, request: Request):
        fid = request.path_params["factor_id"]
        with self._lock:
            if self.auth_factors.pop(fid, None) is None:
                raise _not_found("AuthenticationFactor", fid)
            self._totp_secrets.pop(fid, None)
        return 204, None

    def totp_secret(self, factor_id: str) -> str | None:
        """The Base32 secret stored for a factor (tests check an imported secret survived)."""
        with self._lock:
            return self._totp_secrets.get(factor_id)


# ----- request checks -----
def _in_minutes(minutes: int) -> str:
    t = datetime.now(timezone.utc) + timedelta(minutes=minutes)
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _base32_secret() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _join_name(first: str | None, last: str | None) -> str | None:
    joined = " ".join(p for p in (first, last) if p)
    return joined or None


def _validated_email(value: Any) -> str:
    if value is None or value == "":
        raise _invalid("email", "required", "email is required")
    if not isinstance(value, str):
        raise _invalid("email", "invalid_type", "email must be a string")
    email = value.strip().lower()
    if not EMAIL_RE.match(email):
        raise ApiProblem(400, {"code": "invalid_email", "message": "The email address is not valid."})
    return email


def _check_metadata_size(metadata: dict[str, Any]) -> None:
    problem = None
    if len(metadata) > 50:
        problem = "metadata can have at most 50 keys"
    for k, v in metadata.items():
        if len(k) > 40:
            problem = "metadata keys can be at most 40 characters"
        elif not isinstance(v, str):
            problem = "metadata values must be strings"
        elif len(v) > 600:
            problem = "metadata values can be at most 600 characters"
    if problem:
        raise ApiProblem(400, {"code": "invalid_metadata", "message": problem})


def _validated_user_fields(body: dict[str, Any], creating: bool) -> dict[str, Any]:
    """The optional user fields present in `body`, type-checked (422) and metadata-checked (400)."""
    out: dict[str, Any] = {}
    for key in ("first_name", "last_name", "name", "locale"):
        if key in body:
            if body[key] is not None and not isinstance(body[key], str):
                raise _invalid(key, "invalid_type", f"{key} must be a string")
            out[key] = body[key]
    if "email_verified" in body and body["email_verified"] is not None:
        if not isinstance(body["email_verified"], bool):
            raise _invalid("email_verified", "invalid_type", "email_verified must be a boolean")
        out["email_verified"] = body["email_verified"]
    if "external_id" in body:
        ext = body["external_id"]
        if ext is not None:
            if not isinstance(ext, str) or not ext:
                raise _invalid("external_id", "invalid_type", "external_id must be a non-empty string")
            if len(ext) > 128:
                raise _invalid("external_id", "too_long", "external_id can be at most 128 characters")
            if not ext.isascii():
                raise _invalid("external_id", "invalid_format", "external_id must be ASCII")
        out["external_id"] = ext
    if "metadata" in body:
        md = body["metadata"]
        if md is not None:
            if not isinstance(md, dict):
                raise _invalid("metadata", "invalid_type", "metadata must be an object")
            if creating and any(v is None for v in md.values()):
                raise ApiProblem(400, {"code": "invalid_metadata",
                                       "message": "metadata values must be strings"})
            _check_metadata_size({k: v for k, v in md.items() if v is not None})
        out["metadata"] = md
    return out


def _validated_password(body: dict[str, Any]) -> tuple[str, str] | None:
    """('bcrypt', hash) / ('<type>', hash) / ('plain', salted sha256) or None; never echoed back."""
    plain = body.get("password")
    hashed = body.get("password_hash")
    hash_type = body.get("password_hash_type")
    if plain is not None and hashed is not None:
        raise ApiProblem(400, {"code": "password_and_password_hash_provided",
                               "message": "Provide either password or password_hash, not both."})
    if plain is not None and hash_type is not None:
        raise ApiProblem(400, {"code": "password_and_password_hash_type_provided",
                               "message": "password_hash_type only goes with password_hash."})
    if plain is not None:
        if not isinstance(plain, str) or not plain:
            raise _invalid("password", "invalid_type", "password must be a non-empty string")
        salt = secrets.token_hex(8)
        return "plain", f"{salt}${hashlib.sha256((salt + plain).encode()).hexdigest()}"
    if hashed is None:
        if hash_type is not None:
            raise _invalid("password_hash", "required", "password_hash_type needs password_hash")
        return None
    if hash_type is None:
        raise _invalid("password_hash_type", "required", "password_hash needs password_hash_type")
    if hash_type not in HASH_TYPES:
        raise _invalid("password_hash_type", "invalid_enum_value",
                       f"password_hash_type must be one of {', '.join(sorted(HASH_TYPES))}")
    if not isinstance(hashed, str) or (hash_type == "bcrypt" and not BCRYPT_RE.match(hashed)):
        raise ApiProblem(400, {"code": "invalid_password_hash",
                               "message": "The password hash is not valid for the given type."})
    return hash_type, hashed


def _verify_password(stored: tuple[str, str], password: str) -> bool:
    kind, secret = stored
    if kind == "plain":
        salt, digest = secret.split("$", 1)
        return hmac.compare_digest(digest, hashlib.sha256((salt + password).encode()).hexdigest())
    if kind == "bcrypt":
        normalised = "$2b$" + secret[4:]  # $2a$/$2y$/$2x$ hashes verify as $2b$
        try:
            return bcrypt.checkpw(password.encode(), normalised.encode())
        except ValueError:
            return False
    if kind in ("ssha", "ssha256"):  # {SSHA}base64(sha(password + salt) + salt)
        algo, size = ("sha1", 20) if kind == "ssha" else ("sha256", 32)
        try:
            raw = base64.b64decode(secret[secret.index("}") + 1:])
        except (ValueError, binascii.Error):
            return False
        digest, salt = raw[:size], raw[size:]
        return hmac.compare_digest(digest, hashlib.new(algo, password.encode() + salt).digest())
    if kind == "pbkdf2":  # PHC: $pbkdf2-<digest>$i=<iterations>[,l=<length>]$<salt>$<hash>
        try:
            _, name, params, salt, want = secret.split("$")
            opts = dict(p.split("=") for p in params.split(","))
            salt_b, want_b = (base64.b64decode(x + "=" * (-len(x) % 4)) for x in (salt, want))
            got = hashlib.pbkdf2_hmac(name.removeprefix("pbkdf2-"), password.encode(), salt_b,
                                      int(opts["i"]), len(want_b))
        except (ValueError, KeyError, binascii.Error):
            return False
        return hmac.compare_digest(got, want_b)
    return False  # argon2, scrypt, firebase-scrypt: stored as sent, not verifiable here


# ----- the gate: auth, rate limits, faults, request log -----
class _Gate(Gate):
    """Pure ASGI middleware in front of every route."""

    async def handle(self, scope, receive, send, extra_headers):
        extra_headers.append((b"x-request-id", f"req_{secrets.token_hex(10)}".encode()))
        emu = self.emu
        method, path = scope["method"], scope["path"]
        headers = dict(scope["headers"])
        auth = headers.get(b"authorization", b"").decode("latin-1")
        is_authenticate = path == "/user_management/authenticate"
        if not is_authenticate and auth != f"Bearer {emu.api_key}":
            await send_json(send, 401, {"message": "Unauthorized", "code": "unauthorized"})
            return
        key = emu.api_key
        is_write = method in ("POST", "PUT", "PATCH", "DELETE")
        if emu.limits.enabled:
            wait = emu._all.take(key)
            if not wait and path.startswith("/user_management/"):
                wait = (emu._writes if is_write else emu._reads).take(key)
            if wait:
                await send_json(send, 429, {"message": "Too many requests",
                                            "code": "rate_limit_exceeded"},
                                {"Retry-After": str(wait)})
                return
        plan = emu._fault_plan
        if not plan.active:
            await self.app(scope, receive, send)
            return
        fault = await play_fault(plan, is_write, send, _injected_error,
                                 [(b"content-type", b"application/json")], b'{"object":')
        if fault is Fault.ERROR:
            return
        if is_write and plan.hold_this_write():  # applied now, answered when the test releases it
            held_answer: list[dict] = []

            async def keep(message):
                held_answer.append(message)

            await self.app(scope, receive, keep)
            plan.holding.set()
            await asyncio.to_thread(plan.release.wait, 300)
            for message in held_answer:
                await send(message)
            return
        if fault is Fault.COMMIT_THEN_FAIL:
            held: list[dict] = []

            async def hold(message):
                held.append(message)

            await self.app(scope, receive, hold)
            if held and held[0].get("status", 500) < 300:  # committed; the answer is lost
                await send_json(send, 500, {"message": "Internal error after commit (injected by "
                                                       "the sandbox)", "code": "server_error"})
                return
            for message in held:  # the write failed anyway: answer as usual
                await send(message)
            return
        await self.app(scope, receive, send)


def _injected_error(status: int) -> dict[str, Any]:
    return {"message": "Internal error (injected by the sandbox)", "code": "server_error"}


async def _json_http_error(request: Request, exc: Exception) -> JSONResponse:
    """Unknown paths and methods answer JSON like the real API (not Starlette's plain text)."""
    status = getattr(exc, "status_code", 404)
    message = "Not Found" if status == 404 else "Method Not Allowed"
    return JSONResponse({"message": message, "code": "not_found" if status == 404 else "method_not_allowed"},
                        status_code=status)
