"""A local Auth0 Management API (and `/oauth/token`) serving a DemoTenant, as auth0-python 6.x reads it.

Paging follows the real API: offset paging (`page`/`per_page`) for users, enabled connections and
authentication methods, with users capped at the first 1,000 (`invalid_paging`); checkpoint paging
(`from`/`take`, answer carries `next` until the end) for organizations, members, discovery domains
and connections. Every `/api/v2` answer carries `x-ratelimit-*` headers; over budget it is a 429.
"""

from __future__ import annotations

import base64
import csv
import gzip
import io
import json
import math
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from wizard.sandbox.demo import DemoTenant
from wizard.sandbox.faults import Fault, Faults
from wizard.sandbox.gate import Gate, GatedEmulator, play_fault, send_json
from wizard.sandbox.ratelimit import WindowCounter

USERS_PAGING_CAP = 1000
REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           429: "Too Many Requests"}


@dataclass(frozen=True)
class Auth0Limits:
    """Management API budget per second (Auth0 Enterprise production sustains ~16/s)."""

    requests_per_second: int = 50
    enabled: bool = True


class Auth0Problem(Exception):
    def __init__(self, status: int, message: str, error_code: str | None = None):
        super().__init__(message)
        self.status = status
        body: dict[str, Any] = {"statusCode": status, "error": REASONS.get(status, "Error"),
                                "message": message}
        if error_code:
            body["errorCode"] = error_code
        self.body = body


@dataclass
class _ExportJob:
    job: dict[str, Any]
    polls: int = 0
    file_token: str | None = None
    link_expires_at: float = 0.0
    payload: bytes = b""


DEFAULT_SCOPES = ("read:users read:organizations read:organization_members "
                  "read:organization_connections read:organization_discovery_domains "
                  "read:connections read:connections_options read:guardian_factors read:authentication_methods "
                  "read:roles create:users_exports")
# The sandbox rehearsal grants what a well-configured M2M application has, roles included.
FULL_SCOPES = DEFAULT_SCOPES + " read:organization_member_roles"


def _int_param(params, name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Auth0Problem(400, f"Query validation error: '{name}' must be an integer.",
                           "invalid_query_string") from None
    if not low <= value <= high:
        raise Auth0Problem(400, f"Query validation error: '{name}' must be between {low} and {high}.",
                           "invalid_query_string")
    return value


def _true(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.lower() in ("true", "1", "yes")


def _encode_cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"i:{index}".encode()).decode().rstrip("=")


def _decode_cursor(token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        if not raw.startswith("i:"):
            raise ValueError
        return int(raw[2:])
    except ValueError:
        raise Auth0Problem(400, "The 'from' parameter is not a valid checkpoint.", "invalid_paging") from None


def _pick(record: dict[str, Any], path: str) -> Any:
    """`identities[0].connection` style field paths, as the export job accepts them."""
    current: Any = record
    for part in path.replace("]", "").split("."):
        name, _, index = part.partition("[")
        if name:
            if not isinstance(current, dict) or name not in current:
                return None
            current = current[name]
        if index:
            if not isinstance(current, list) or int(index) >= len(current):
                return None
            current = current[int(index)]
    return current


class Auth0Emulator(GatedEmulator):
    """The tenant behind a Management API. `.app` is the Starlette app; serve with `server.serve`."""

    def __init__(self, tenant: DemoTenant, client_id: str = "sandbox-client",
                 client_secret: str = "sandbox-secret", domain: str = "sandbox.auth0.local",
                 limits: Auth0Limits | None = None, faults: Faults | None = None,
                 export_polls: int = 2, export_link_ttl_s: float = 60.0,
                 scopes: str = DEFAULT_SCOPES):
        self.tenant = tenant
        self.scopes = scopes  # what the token grants: tests narrow it to exercise missing-scope paths
        # without read:connections_options Auth0 silently omits `options` ("omit"); "403" refuses instead
        self.options_scope_refusal = "omit"
        self.client_id = client_id
        self.client_secret = client_secret
        self.domain = domain
        self.export_polls = export_polls  # GETs of /jobs/{id} until completed (1st: processing)
        self.export_link_ttl_s = export_link_ttl_s
        self.tokens: set[str] = set()
        self.jobs: dict[str, _ExportJob] = {}
        self.requests: list[list] = []  # [method, path, status] per request, in arrival order
        self._lock = threading.RLock()
        self.set_limits(limits or Auth0Limits())
        self.set_faults(faults or Faults())
        self.app = Starlette(routes=self._routes(), exception_handlers={
            404: _json_http_error, 405: _json_http_error})
        self.app.add_middleware(_Gate, emulator=self)  # type: ignore[arg-type]

    def set_limits(self, limits: Auth0Limits) -> None:
        self.limits = limits
        self._budget = WindowCounter(limits.requests_per_second, 1.0, clock=time.time)

    # ----- routes -----
    def _routes(self) -> list[Route]:
        w = self._wrap
        return [
            Route("/oauth/token", w(self.token), methods=["POST"]),
            Route("/api/v2/users", w(self.list_users), methods=["GET"]),
            Route("/api/v2/users-by-email", w(self.users_by_email), methods=["GET"]),
            Route("/api/v2/stats/active-users", w(self.active_users), methods=["GET"]),
            Route("/api/v2/users/{user_id}/authentication-methods", w(self.list_auth_methods),
                  methods=["GET"]),
            Route("/api/v2/users/{user_id}", w(self.get_user), methods=["GET"]),
            Route("/api/v2/jobs/users-exports", w(self.create_export), methods=["POST"]),
            Route("/api/v2/jobs/{job_id}", w(self.get_job), methods=["GET"]),
            Route("/exports/{token}", w(self.download_export), methods=["GET"]),
            Route("/api/v2/organizations", w(self.list_organizations), methods=["GET"]),
            Route("/api/v2/organizations/{org_id}", w(self.get_organization), methods=["GET"]),
            Route("/api/v2/organizations/{org_id}/members", w(self.list_members), methods=["GET"]),
            Route("/api/v2/organizations/{org_id}/enabled_connections",
                  w(self.list_enabled_connections), methods=["GET"]),
            Route("/api/v2/organizations/{org_id}/discovery-domains", w(self.list_discovery_domains),
                  methods=["GET"]),
            Route("/api/v2/connections", w(self.list_connections), methods=["GET"]),
            Route("/api/v2/connections/{connection_id}", w(self.get_connection), methods=["GET"]),
            Route("/api/v2/guardian/factors", w(self.list_guardian_factors), methods=["GET"]),
            Route("/api/v2/roles", w(self.list_roles), methods=["GET"]),
            *self._rbac_routes(),
        ]

    @staticmethod
    def _wrap(handler):
        async def endpoint(request: Request) -> Response:
            try:
                result = await handler(request)
            except Auth0Problem as problem:
                return JSONResponse(problem.body, status_code=problem.status)
            if isinstance(result, Response):
                return result
            status, body = result
            return JSONResponse(body, status_code=status)

        return endpoint

    # ----- token -----
    async def token(self, request: Request):
        ctype = request.headers.get("content-type", "")
        if "application/json" in ctype:
            try:
                body = json.loads(await request.body() or b"{}")
            except ValueError:
                body = {}
        else:  # application/x-www-form-urlencoded (parsed here: no python-multipart needed)
            body = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        if body.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type",
                                 "error_description": "Only client_credentials is supported here."},
                                status_code=403)
        if body.get("client_id") != self.client_id or body.get("client_secret") != self.client_secret:
            return JSONResponse({"error": "access_denied", "error_description": "Unauthorized"},
                                status_code=401)
        token = f"sandbox-mgmt-{secrets.token_urlsafe(24)}"
        with self._lock:
            self.tokens.add(token)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 86400,
                     "scope": self.scopes}

    # ----- users -----
    async def list_users(self, request: Request):
        params = request.query_params
        page = _int_param(params, "page", 0, 0, 10**9)
        per_page = _int_param(params, "per_page", 50, 1, 100)
        if page * per_page >= USERS_PAGING_CAP:
            raise Auth0Problem(400, "You can only page through the first 1000 records. See "
                               "https://auth0.com/docs/users/search/v3/view-search-results-by-page"
                               "#limitation", "invalid_paging")
        users = _search(self.tenant.users, params.get("q"))
        if params.get("connection"):
            users = [u for u in users if any(i["connection"] == params["connection"]
                                             for i in u.get("identities", []))]
        window = users[:USERS_PAGING_CAP]
        start = page * per_page
        chunk = [_select_fields(u, params) for u in window[start:start + per_page]]
        if not _true(params.get("include_totals"), False):
            return 200, chunk
        return 200, {"start": start, "limit": per_page, "length": len(chunk),
                     "total": min(len(users), USERS_PAGING_CAP), "users": chunk}

    async def users_by_email(self, request: Request):
        email = (request.query_params.get("email") or "").strip().lower()
        if not email:
            raise Auth0Problem(400, "Query validation error: 'email' is required.", "invalid_query_string")
        return 200, [_select_fields(u, request.query_params) for u in self.tenant.users
                     if (u.get("email") or "").lower() == email]

    async def active_users(self, request: Request):
        """Auth0 answers a bare number: users who signed in during the last 30 days (here: unblocked)."""
        return 200, sum(1 for u in self.tenant.users if not u.get("blocked"))

    def _user(self, user_id: str) -> dict[str, Any]:
        for u in self.tenant.users:
            if u["user_id"] == user_id:
                return u
        raise Auth0Problem(404, "The user does not exist.", "inexistent_user")

    async def get_user(self, request: Request):
        return 200, _select_fields(self._user(request.path_params["user_id"]), request.query_params)

    async def list_auth_methods(self, request: Request):
        user_id = request.path_params["user_id"]
        self._user(user_id)
        return 200, _offset_page(self.tenant.auth_methods.get(user_id, []), "authenticators",
                                 request.query_params)

    # ----- export jobs -----
    async def create_export(self, request: Request):
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            raise Auth0Problem(400, "Payload validation error: invalid JSON.", "invalid_body") from None
        fmt = body.get("format", "json")
        if fmt not in ("json", "csv"):
            raise Auth0Problem(400, "Payload validation error: 'format' must be json or csv.",
                               "invalid_body")
        fields = body.get("fields")
        if fields is not None and (not isinstance(fields, list) or not all(
                isinstance(f, dict) and isinstance(f.get("name"), str) for f in fields)):
            raise Auth0Problem(400, "Payload validation error: 'fields' must be a list of {name}.",
                               "invalid_body")
        connection_id = body.get("connection_id")
        conn = None
        if connection_id is not None:
            conn = next((c for c in self.tenant.connections if c["id"] == connection_id), None)
            if conn is None:
                raise Auth0Problem(400, "The connection does not exist.", "inexistent_connection")
        job_id = f"job_{secrets.token_hex(8)}"
        job = {"id": job_id, "type": "users_export", "status": "pending", "format": fmt,
               "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}
        if connection_id is not None:
            job["connection_id"] = connection_id
            job["connection"] = conn["name"]
        if body.get("limit") is not None:
            job["limit"] = body["limit"]
        if fields is not None:
            job["fields"] = fields
        with self._lock:
            self.jobs[job_id] = _ExportJob(job=job)
        return 201, dict(job)

    async def get_job(self, request: Request):
        job_id = request.path_params["job_id"]
        with self._lock:
            entry = self.jobs.get(job_id)
            if entry is None:
                raise Auth0Problem(404, "The job does not exist.", "inexistent_job")
            entry.polls += 1
            job = entry.job
            if job["status"] != "completed":
                if entry.polls >= self.export_polls:
                    entry.payload = self._export_payload(job)
                    entry.file_token = secrets.token_urlsafe(24)
                    entry.link_expires_at = time.monotonic() + self.export_link_ttl_s
                    job["status"] = "completed"
                    job.pop("percentage_done", None)
                    job.pop("time_left_seconds", None)
                else:
                    job["status"] = "processing"
                    job["percentage_done"] = int(100 * entry.polls / self.export_polls)
                    job["time_left_seconds"] = 1
            answer = dict(job)
            if job["status"] == "completed":
                # a fresh signed link on each poll, as S3 pre-signed URLs are
                if time.monotonic() > entry.link_expires_at - 1:
                    entry.file_token = secrets.token_urlsafe(24)
                    entry.link_expires_at = time.monotonic() + self.export_link_ttl_s
                ext = "json.gz" if job["format"] == "json" else "csv.gz"
                base = f"{request.url.scheme}://{request.url.netloc}"
                answer["location"] = f"{base}/exports/{entry.file_token}?file={quote(job_id)}.{ext}"
            return 200, answer

    def _export_payload(self, job: dict[str, Any]) -> bytes:
        users = self.tenant.users
        if job.get("connection"):
            users = [u for u in users if any(i["connection"] == job["connection"]
                                             for i in u.get("identities", []))]
        if job.get("limit"):
            users = users[: int(job["limit"])]
        fields = job.get("fields") or [{"name": n} for n in
                                       ("user_id", "email", "email_verified", "name", "given_name",
                                        "family_name", "identities", "created_at", "updated_at")]
        rows = []
        for u in users:
            row = {}
            for f in fields:
                value = _pick(u, f["name"])
                if value is not None:
                    row[f.get("export_as") or f["name"]] = value
            rows.append(row)
        if job["format"] == "json":
            text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        else:
            out = io.StringIO()
            names = [f.get("export_as") or f["name"] for f in fields]
            writer = csv.writer(out)
            writer.writerow(names)
            for r in rows:
                writer.writerow([json.dumps(r[n]) if isinstance(r.get(n), (dict, list))
                                 else r.get(n, "") for n in names])
            text = out.getvalue()
        return gzip.compress(text.encode("utf-8"), mtime=0)

    async def download_export(self, request: Request):
        token = request.path_params["token"]
        with self._lock:
            entry = next((e for e in self.jobs.values() if e.file_token == token), None)
            if entry is None or time.monotonic() > entry.link_expires_at:
                return Response("<Error><Code>AccessDenied</Code><Message>Request has expired"
                                "</Message></Error>", status_code=403, media_type="application/xml")
            payload = entry.payload
        return Response(payload, media_type="application/gzip")

    # ----- organizations -----
    def _org(self, org_id: str) -> dict[str, Any]:
        for o in self.tenant.organizations:
            if o["id"] == org_id:
                return o
        raise Auth0Problem(404, "No organization found by that id or name", "inexistent_organization")

    async def list_organizations(self, request: Request):
        return 200, _checkpoint_or_offset(self.tenant.organizations, "organizations",
                                          request.query_params)

    async def get_organization(self, request: Request):
        return 200, self._org(request.path_params["org_id"])

    async def list_members(self, request: Request):
        org = self._org(request.path_params["org_id"])
        members = self.tenant.members.get(org["id"], [])
        if "roles" in (request.query_params.get("fields") or "").split(","):
            self._require_scope("read:organization_member_roles")
        return 200, _checkpoint_or_offset(members, "members", request.query_params)

    async def list_enabled_connections(self, request: Request):
        org = self._org(request.path_params["org_id"])
        return 200, _offset_page(self.tenant.org_connections.get(org["id"], []), "enabled_connections",
                                 request.query_params)

    async def list_discovery_domains(self, request: Request):
        org = self._org(request.path_params["org_id"])
        return 200, _checkpoint_page(self.tenant.discovery_domains.get(org["id"], []), "domains",
                                     request.query_params)

    async def list_connections(self, request: Request):
        items = self.tenant.connections
        strategies = request.query_params.getlist("strategy")
        if strategies:
            items = [c for c in items if c["strategy"] in strategies]
        if request.query_params.get("name"):
            items = [c for c in items if c["name"] == request.query_params["name"]]
        items = [self._connection_view(c, request.query_params) for c in items]
        return 200, _checkpoint_or_offset(items, "connections", request.query_params)

    # ----- enterprise SSO (issue 13): options need read:connections_options -----
    def _connection_view(self, conn: dict[str, Any], params) -> dict[str, Any]:
        """A connection as the token may see it: `options` only with read:connections_options
        (Auth0 omits the key silently; `options_scope_refusal="403"` refuses instead)."""
        view = dict(conn)
        if "options" in view and "read:connections_options" not in self.scopes.split():
            wants_options = not params.get("fields") or "options" in params["fields"].split(",")
            if self.options_scope_refusal == "403" and wants_options:
                raise Auth0Problem(403, "Insufficient scope, expected any of: read:connections_options",
                                   "insufficient_scope")
            view.pop("options")
        return _select_fields(view, params)

    async def get_connection(self, request: Request):
        cid = request.path_params["connection_id"]
        conn = next((c for c in self.tenant.connections if c["id"] == cid), None)
        if conn is None:
            raise Auth0Problem(404, "The connection does not exist", "inexistent_connection")
        view = self._connection_view(conn, request.query_params)
        if not request.query_params.get("fields"):
            view.setdefault("enabled_clients", [])
        return 200, view

    async def list_guardian_factors(self, request: Request):
        return 200, self.tenant.guardian_factors

    async def list_roles(self, request: Request):
        self._require_scope("read:roles")
        return 200, _offset_page(self.tenant.roles, "roles", request.query_params)

    # ----- RBAC: roles, their permissions and holders, member roles (roles feature) -----
    def _rbac_routes(self) -> list[Route]:
        w = self._wrap
        return [
            Route("/api/v2/roles/{role_id}", w(self.get_role), methods=["GET"]),
            Route("/api/v2/roles/{role_id}/permissions", w(self.list_role_permissions), methods=["GET"]),
            Route("/api/v2/roles/{role_id}/users", w(self.list_role_users), methods=["GET"]),
            Route("/api/v2/users/{user_id}/roles", w(self.list_user_roles), methods=["GET"]),
            Route("/api/v2/organizations/{org_id}/members/{user_id}/roles", w(self.list_member_roles),
                  methods=["GET"]),
        ]

    def _require_scope(self, *needed: str) -> None:
        """403 insufficient_scope as Auth0 words it when the token lacks a scope."""
        granted = set(self.scopes.split())
        missing = [s for s in needed if s not in granted]
        if missing:
            raise Auth0Problem(403, f"Insufficient scope, expected any of: {','.join(missing)}",
                               "insufficient_scope")

    def _role(self, role_id: str) -> dict[str, Any]:
        for r in self.tenant.roles:
            if r["id"] == role_id:
                return r
        raise Auth0Problem(404, "The role does not exist.", "inexistent_role")

    async def get_role(self, request: Request):
        self._require_scope("read:roles")
        return 200, self._role(request.path_params["role_id"])

    async def list_role_permissions(self, request: Request):
        self._require_scope("read:roles")
        role = self._role(request.path_params["role_id"])
        return 200, _offset_page(self.tenant.role_permissions.get(role["id"], []), "permissions",
                                 request.query_params)

    async def list_role_users(self, request: Request):
        self._require_scope("read:roles", "read:users")
        role = self._role(request.path_params["role_id"])
        holders = [{k: u.get(k) for k in ("user_id", "email", "name", "picture") if u.get(k) is not None}
                   for u in self.tenant.users if role["id"] in self.tenant.user_roles.get(u["user_id"], [])]
        return 200, _checkpoint_or_offset(holders, "users", request.query_params)

    async def list_user_roles(self, request: Request):
        self._require_scope("read:roles", "read:users")
        user = self._user(request.path_params["user_id"])
        ids = self.tenant.user_roles.get(user["user_id"], [])
        return 200, _offset_page([self._role(i) for i in ids], "roles", request.query_params)

    async def list_member_roles(self, request: Request):
        self._require_scope("read:organization_member_roles")
        org = self._org(request.path_params["org_id"])
        uid = request.path_params["user_id"]
        member = next((m for m in self.tenant.members.get(org["id"], []) if m["user_id"] == uid), None)
        if member is None:
            raise Auth0Problem(404, "The user is not a member of the organization.", "inexistent_member")
        roles = [self._role(r["id"]) for r in member.get("roles") or []]
        return 200, _offset_page(roles, "roles", request.query_params)


def _search(users: list[dict[str, Any]], q: str | None) -> list[dict[str, Any]]:
    """The few Lucene forms the sandbox understands: `field:"value"` terms joined by AND."""
    if not q:
        return users
    terms = []
    for part in q.split(" AND "):
        field, sep, value = part.strip().partition(":")
        if not sep or not field:
            raise Auth0Problem(400, "The sandbox only supports queries like email:\"a@b.c\" AND "
                               "identities.connection:\"name\".", "invalid_query_string")
        terms.append((field.strip(), value.strip().strip('"').lower()))

    def matches(user: dict[str, Any]) -> bool:
        for field, value in terms:
            if field.startswith("identities."):
                key = field.split(".", 1)[1]
                found = [str(i.get(key, "")).lower() for i in user.get("identities", [])]
            else:
                found = [str(user.get(field, "")).lower()]
            if value not in found:
                return False
        return True

    return [u for u in users if matches(u)]


def _select_fields(user: dict[str, Any], params) -> dict[str, Any]:
    if not params.get("fields"):
        return user
    names = [f.strip() for f in params["fields"].split(",") if f.strip()]
    if _true(params.get("include_fields"), True):
        return {k: v for k, v in user.items() if k in names}
    return {k: v for k, v in user.items() if k not in names}


def _checkpoint_or_offset(items: list[dict[str, Any]], key: str, params) -> Any:
    """Checkpoint paging when `from` or `take` is given (the SDK always sends `take`), else offset."""
    if params.get("from") or params.get("take"):
        return _checkpoint_page(items, key, params)
    return _offset_page(items, key, params)


def _checkpoint_page(items: list[dict[str, Any]], key: str, params) -> dict[str, Any]:
    """`take` items from the `from` cursor, with `next` until the end."""
    take = _int_param(params, "take", 50, 1, 100)
    start = _decode_cursor(params["from"]) if params.get("from") else 0
    body: dict[str, Any] = {key: items[start:start + take]}
    if start + take < len(items):
        body["next"] = _encode_cursor(start + take)
    return body


def _offset_page(items: list[dict[str, Any]], key: str, params) -> Any:
    """Page `page` of `per_page` items: a bare list, or with totals when `include_totals` is true."""
    page = _int_param(params, "page", 0, 0, 10**9)
    per_page = _int_param(params, "per_page", 50, 1, 100)
    chunk = items[page * per_page:(page + 1) * per_page]
    if not _true(params.get("include_totals"), False):
        return chunk
    return {"start": page * per_page, "limit": per_page, "total": len(items), key: chunk}


class _Gate(Gate):
    """Bearer check, per-second budget with x-ratelimit-* headers, faults."""

    async def handle(self, scope, receive, send, extra_headers):
        emu = self.emu
        method, path = scope["method"], scope["path"]
        if path.startswith("/api/v2/"):
            auth = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
            token = auth[7:] if auth.startswith("Bearer ") else ""
            with emu._lock:
                known = token in emu.tokens
            if not known:
                await send_json(send, 401, {
                    "statusCode": 401, "error": "Unauthorized",
                    "message": "Missing authentication" if not token else "Invalid token",
                    "attributes": {"error": "Invalid token"}})
                return
            wait = emu._budget.take(emu.client_id)  # counted even when not enforced: headers stay real
            remaining = emu._budget.remaining(emu.client_id)
            extra_headers += [
                (b"x-ratelimit-limit", str(emu.limits.requests_per_second).encode()),
                (b"x-ratelimit-remaining", str(remaining).encode()),
                (b"x-ratelimit-reset", str(math.ceil(emu._budget.reset_at())).encode())]
            if wait and emu.limits.enabled:
                await send_json(send, 429, {
                    "statusCode": 429, "error": "Too Many Requests",
                    "message": "Global limit has been reached", "errorCode": "too_many_requests"})
                return
        plan = emu._fault_plan
        if plan.active and path.startswith("/api/v2/"):
            fault = await play_fault(plan, method != "GET", send, _injected_error, [], b"{")
            if fault is Fault.ERROR:
                return
        await self.app(scope, receive, send)


def _injected_error(status: int) -> dict[str, Any]:
    return {"statusCode": status, "error": "Internal Server Error",
            "message": "Injected by the sandbox"}


async def _json_http_error(request: Request, exc: Exception) -> JSONResponse:
    status = getattr(exc, "status_code", 404)
    return JSONResponse({"statusCode": status, "error": REASONS.get(status, "Method Not Allowed"),
                         "message": "Not Found" if status == 404 else "Method Not Allowed"},
                        status_code=status)
