"""Conformance with the documented WorkOS contract, not with our emulator's own choices.

Each test serves the emulator behind a small ASGI rewriter (`Variant`) that answers the way another
valid WorkOS implementation may: other "exists" wordings, Retry-After forms, proxy pages, hung
requests, extra or missing keys, stricter rate limits, duplicate-membership answers, sign-in steps.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from test_importer import FAST, make_plan, password_of

from wizard.clients import workos as wapi
from wizard.clients.errors import ApiError, ErrorKind
from wizard.core.config import Settings
from wizard.core.importer import Importer
from wizard.core.journal import Journal
from wizard.core.orgs import migrate_organizations
from wizard.core.progress import Progress
from wizard.core.records import UserStatus
from wizard.core.verify import check_password_sign_in, reconcile_users
from wizard.sandbox.ratelimit import RateLimits
from wizard.sandbox.server import serve
from wizard.sandbox.workos_emulator import WorkOSEmulator
from wizard.tasks.prereqs import live_key_check

KEY, CLIENT = "sk_test_conformance", "client_conformance"
HANG = "hang"
USERS = "/user_management/users"


@dataclass
class Req:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self) -> dict:
        return json.loads(self.body or b"{}")


def answer(status: int, body: dict | str | bytes | None = None, headers: dict | None = None,
           content_type: str = "application/json") -> tuple[int, dict, bytes]:
    if isinstance(body, dict):
        raw = json.dumps(body).encode()
    elif isinstance(body, str):
        raw = body.encode()
    else:
        raw = body or b""
    return status, {"content-type": content_type, **(headers or {})}, raw


class Variant:
    """ASGI rewriter in front of an app: `before(req)` may answer instead of it (or HANG);
    `after(req, status, body)` may replace its answer (or HANG after the inner app committed)."""

    def __init__(self, inner, before=None, after=None) -> None:
        self.inner, self.before, self.after = inner, before, after
        self.log: list[Req] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        req = Req(scope["method"], scope["path"], parse_qs(scope["query_string"].decode()), b"".join(chunks))
        self.log.append(req)
        out = self.before(req) if self.before else None
        if out is None:
            replayed = False

            async def replay():
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": req.body, "more_body": False}
                return await receive()

            held = {"status": 500, "headers": [], "body": b""}

            async def capture(message):
                if message["type"] == "http.response.start":
                    held["status"], held["headers"] = message["status"], message.get("headers", [])
                else:
                    held["body"] += message.get("body", b"")

            await self.inner(scope, replay, capture)
            out = self.after(req, held["status"], held["body"]) if self.after else None
            if out is None:
                headers = {k.decode(): v.decode() for k, v in held["headers"] if k.lower() != b"content-length"}
                out = (held["status"], headers, held["body"])
        if out == HANG:
            await asyncio.sleep(30)
            return
        status, headers, raw = out
        raw_headers = [(k.lower().encode(), str(v).encode()) for k, v in headers.items()]
        raw_headers.append((b"content-length", str(len(raw)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": raw})


def new_emulator(**limits) -> WorkOSEmulator:
    return WorkOSEmulator(api_key=KEY, client_id=CLIENT, limits=RateLimits(**limits) if limits
                          else RateLimits(enabled=False))


def settings(base_url: str) -> Settings:
    return Settings(workos_api_key=KEY, workos_client_id=CLIENT, workos_base_url=base_url)


def seed_user(base_url: str, email: str, **fields) -> dict:
    """A user that exists in WorkOS before the import (created over HTTP like anyone would)."""
    r = httpx.post(base_url + USERS, json={"email": email, **fields},
                   headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 201, r.text
    return r.json()


def is_create(req: Req) -> bool:
    return req.method == "POST" and req.path == USERS


async def run_import(journal: Journal, base_url: str, *, timeout: float = 5.0, **kw):
    events: list[Progress] = []
    client = wapi.make_client(settings(base_url), timeout=timeout)
    try:
        summary = await Importer(journal, client, on_progress=events.append, **{**FAST, **kw}).run()
    finally:
        await client.close()
    return summary, events


# ------------------------------------------------------------------ "exists", in every documented form
EXISTS_VARIANTS = {
    "nested email_not_available": (400, {"code": "user_creation_error", "message": "Could not create user.",
                                         "errors": [{"code": "email_not_available",
                                                     "message": "This email is not available."}]}),
    "top-level email_not_available": (400, {"code": "email_not_available",
                                            "message": "This email is not available."}),
    "top-level external_id_already_used": (400, {"code": "external_id_already_used",
                                                 "message": "External ID already used."}),
    "nested external_id_already_used": (400, {"code": "user_creation_error", "message": "Could not create user.",
                                              "errors": [{"code": "external_id_already_used",
                                                          "message": "External ID already used."}]}),
    "legacy 409 user_already_exists": (409, {"code": "user_already_exists", "message": "User already exists."}),
    "422 nested code": (422, {"code": "invalid_request_parameters", "message": "Validation failed.",
                              "errors": [{"field": "email", "code": "email_not_available",
                                          "message": "This email is not available."}]}),
    "422 other wording": (422, {"code": "invalid_request_parameters", "message": "Validation failed.",
                                "errors": [{"field": "email", "code": "taken",
                                            "message": "Email has already been taken."}]}),
    "400 message only": (400, {"message": "A user with this email already exists."}),
}


@pytest.mark.parametrize("variant", list(EXISTS_VARIANTS))
async def test_every_exists_answer_leads_to_lookup_and_update(tmp_path, variant):
    status, body = EXISTS_VARIANTS[variant]
    emu = new_emulator()

    def after(req, got, raw):
        if is_create(req) and got == 400:
            return answer(status, body)
        return None

    app = Variant(emu.app, after=after)
    with serve(app) as url:
        journal = make_plan(tmp_path / "run", 3)  # u0 password, u1 reset, u2 password
        existing = seed_user(url, "u0@example.com", first_name="Old")
        summary, _ = await run_import(journal, url)
    assert (summary.created, summary.updated, summary.failed) == (2, 1, 0), summary.failures
    assert len(emu.users) == 3  # no duplicate
    user = emu.users[existing["id"]]
    assert user["external_id"] == "auth0|u00000" and user["first_name"] == "First0"
    assert emu.password_matches(existing["id"], password_of(0))  # the hash went with the update
    assert journal.user("auth0|u00000").status == UserStatus.UPDATED


async def test_an_invalid_create_for_a_user_nobody_has_is_reported_as_sent(tmp_path):
    emu = new_emulator()

    def before(req):
        if is_create(req) and req.json().get("email") == "u1@example.com":
            return answer(422, {"code": "invalid_request_parameters", "message": "Validation failed.",
                                "errors": [{"field": "first_name", "code": "too_long", "message": "Too long."}]})
        return None

    with serve(Variant(emu.app, before=before)) as url:
        journal = make_plan(tmp_path / "run", 3)
        summary, _ = await run_import(journal, url)
    assert (summary.created, summary.failed) == (2, 1)
    failed = journal.user("auth0|u00001")
    assert failed.last_error_code == "invalid_request_parameters"
    assert "Validation failed" in failed.last_error_message and "Too long" in failed.last_error_message


# ------------------------------------------------------------------ 429 / 503 and Retry-After forms
def _retry_after_header(form: str) -> dict:
    if form == "integer":
        return {"Retry-After": "1"}
    if form == "decimal":
        return {"Retry-After": "0.8"}
    if form == "http-date":
        return {"Retry-After": format_datetime(datetime.now(timezone.utc) + timedelta(seconds=2), usegmt=True)}
    return {}


@pytest.mark.parametrize("form,least", [("integer", 0.9), ("decimal", 0.7), ("http-date", 0.5),
                                        ("missing", 0.9)])
async def test_429_retry_after_in_every_form_pauses_and_loses_nobody(tmp_path, form, least):
    emu = new_emulator()
    sent = {"n": 0}

    def before(req):
        if is_create(req):
            sent["n"] += 1
            if sent["n"] == 1:
                return answer(429, {"message": "Too many requests"}, _retry_after_header(form))
        return None

    app = Variant(emu.app, before=before)
    with serve(app) as url:
        journal = make_plan(tmp_path / "run", 4)
        summary, events = await run_import(journal, url, concurrency=1)
    assert (summary.created, summary.failed, summary.rate_limited) == (4, 0, 1)
    assert len(emu.users) == 4
    creates = [r.at for r in app.log if is_create(r)]
    assert least <= creates[1] - creates[0] < 5  # the pause was honoured (missing: backoff from 1 s)
    assert any(e.paused_until for e in events)  # and shown


async def test_429_on_lookups_and_503_with_retry_after_are_waited_out(tmp_path):
    emu = new_emulator()
    seen = {"read": 0, "create": 0, "armed": False}

    def before(req):
        if not seen["armed"]:
            return None
        if req.method == "GET" and req.path.startswith(USERS):
            seen["read"] += 1
            if seen["read"] == 1:
                return answer(429, {"message": "slow down"}, {"Retry-After": "1"})
        if is_create(req):
            seen["create"] += 1
            if seen["create"] == 1:
                return answer(503, "<html><title>503 Service Unavailable</title></html>",
                              {"Retry-After": "1"}, "text/html")
        return None

    app = Variant(emu.app, before=before)
    with serve(app) as url:
        journal = make_plan(tmp_path / "run", 2)
        seed_user(url, "u1@example.com")  # u1's create meets "exists" and is looked up
        seen["armed"] = True
        summary, _ = await run_import(journal, url, concurrency=1)
    assert (summary.created, summary.updated, summary.failed) == (1, 1, 0), summary.failures
    assert summary.rate_limited == 1 and summary.retries >= 1
    creates = [r.at for r in app.log if is_create(r)][1:]  # after the seed
    assert creates[1] - creates[0] >= 0.9  # the 503's Retry-After, not the 20 ms test backoff
    assert len(emu.users) == 2


# ------------------------------------------------------------------ bodies that are not JSON
async def test_proxy_pages_and_empty_bodies_are_transient_with_a_readable_message(tmp_path):
    pages = {"POST": answer(502, "<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1>"
                                 "</body></html>", content_type="text/html"),
             "PUT": answer(500, b"")}

    async def handler(request):
        status, headers, raw = pages[request.method]
        return Response(raw, status_code=status, headers=headers)

    async def proxy_page(request):
        return Response("<html><head><title>502 Bad Gateway</title></head><body>" + "x" * 5000 + "</body></html>",
                        status_code=502, media_type="text/html")

    app = Starlette(routes=[Route(USERS, handler, methods=["POST"]),
                            Route(USERS + "/{uid}", handler, methods=["PUT"]),
                            Route(USERS, proxy_page, methods=["GET"])])
    with serve(app) as url:
        prereq = live_key_check(settings(url))
        assert not prereq.ok and "502 Bad Gateway" in prereq.evidence
        assert "<" not in prereq.evidence and len(prereq.evidence) < 400
        client = wapi.make_client(settings(url), timeout=2)
        with pytest.raises(ApiError) as bad_gateway:
            await wapi.create_user(client, {"email": "a@example.com"})
        with pytest.raises(ApiError) as empty:
            await wapi.update_user(client, "user_1", first_name="A")
        await client.close()
    assert bad_gateway.value.kind is ErrorKind.TRANSIENT and bad_gateway.value.status == 502
    assert "502 Bad Gateway" in bad_gateway.value.message and "<" not in bad_gateway.value.message
    assert empty.value.kind is ErrorKind.TRANSIENT and "empty body" in empty.value.message


async def test_import_survives_proxy_errors_and_a_2xx_without_json(tmp_path):
    emu = new_emulator()
    calls = {"n": 0}

    def before(req):
        if is_create(req):
            calls["n"] += 1
            if calls["n"] == 1:
                return answer(502, "<html><title>502 Bad Gateway</title></html>", content_type="text/html")
            if calls["n"] == 2:
                return answer(500, b"")
        return None

    def after(req, status, raw):
        if is_create(req) and req.json().get("email") == "u3@example.com" and status == 201:
            return answer(200, "<html>OK</html>", content_type="text/html")  # committed, answer unreadable
        return None

    with serve(Variant(emu.app, before=before, after=after)) as url:
        journal = make_plan(tmp_path / "run", 5)
        summary, _ = await run_import(journal, url, concurrency=1)
    assert (summary.created, summary.failed) == (5, 0), summary.failures
    assert len(emu.users) == 5
    assert journal.user("auth0|u00003").status == UserStatus.CREATED  # found ours, not "updated"


# ------------------------------------------------------------------ a server that never answers
async def test_hung_request_times_out_and_is_reconciled(tmp_path):
    emu = new_emulator()
    hung = {"n": 0}

    def after(req, status, raw):
        if is_create(req) and status == 201 and hung["n"] == 0:
            hung["n"] += 1
            return HANG  # committed, then the answer never comes
        return None

    with serve(Variant(emu.app, after=after)) as url:
        journal = make_plan(tmp_path / "run", 3)
        started = time.monotonic()
        summary, _ = await run_import(journal, url, timeout=0.5, concurrency=1)
        took = time.monotonic() - started
    assert (summary.created, summary.failed) == (3, 0) and summary.retries >= 1
    assert len(emu.users) == 3 and took < 10


def test_engine_clients_have_a_bounded_timeout_and_no_sdk_retries():
    s = settings("http://127.0.0.1:9")
    for client in (wapi.make_client(s), wapi.make_sync_client(s)):
        assert 0 < client._request_timeout <= 60
        assert client._max_retries == 0


# ------------------------------------------------------------------ lookups answered differently
@pytest.mark.parametrize("not_found", [
    answer(404, b""), answer(404, "<html><title>404 Not Found</title></html>", content_type="text/html"),
    answer(404, {"message": "Not Found"}), answer(404, {"code": "entity_not_found", "message": "Nope."}),
])
async def test_lookup_404s_and_email_case(not_found):
    user = {"object": "user", "id": "user_01", "email": "Mixed.Case@Example.COM", "first_name": None,
            "last_name": None, "profile_picture_url": None, "email_verified": True, "external_id": None,
            "last_sign_in_at": None, "created_at": "2026-01-01T00:00:00.000Z",
            "updated_at": "2026-01-01T00:00:00.000Z", "unknown_future_key": {"x": 1}}

    async def by_external_id(request):
        status, headers, raw = not_found
        return Response(raw, status_code=status, headers=headers)

    async def list_users(request):
        return JSONResponse({"object": "list", "data": [user], "list_metadata": {"before": None, "after": None}})

    app = Starlette(routes=[Route(USERS + "/external_id/{ext:path}", by_external_id),
                            Route(USERS, list_users)])
    with serve(app) as url:
        client = wapi.make_client(settings(url), timeout=2)
        try:
            assert await wapi.find_user_by_external_id(client, "auth0|x") is None
            found = await wapi.find_user(client, "auth0|x", "mixed.case@example.com")
        finally:
            await client.close()
    assert found is not None and found.id == "user_01" and found.external_id is None


# ------------------------------------------------------------------ response shapes
def _reshape(mutate):
    def after(req, status, raw):
        if status >= 300 or not raw or not req.path.startswith(USERS):
            return None
        body = json.loads(raw)
        for item in body.get("data", [body]) if isinstance(body, dict) else []:
            if isinstance(item, dict) and item.get("object") == "user":
                mutate(item)
        return answer(status, body)
    return after


async def test_extra_keys_and_absent_optional_keys_are_tolerated(tmp_path):
    def mutate(user):
        for key in ("metadata", "locale", "name"):
            user.pop(key, None)
        user["future_field"] = {"nested": [1, 2]}
        user["object"] = "user"

    emu = new_emulator()
    with serve(Variant(emu.app, after=_reshape(mutate))) as url:
        journal = make_plan(tmp_path / "run", 3)
        seed_user(url, "u2@example.com")
        summary, _ = await run_import(journal, url)
    assert (summary.created, summary.updated, summary.failed) == (2, 1, 0), summary.failures


async def test_a_required_key_missing_stops_the_run_with_a_clear_reason(tmp_path):
    """The SDK's User model requires `last_sign_in_at` (the spec lists it as required, nullable): an
    implementation that leaves it out cannot be read. The run stops with a clear reason (no crash, no
    network-error retries), and every create that landed stays in flight for the resume's lookup."""
    emu = new_emulator()
    with serve(Variant(emu.app, after=_reshape(lambda u: u.pop("last_sign_in_at", None)))) as url:
        journal = make_plan(tmp_path / "run", 6)
        summary, _ = await run_import(journal, url, concurrency=2)
        check = live_key_check(settings(url))
    assert summary.stopped and summary.failed == 0 and summary.retries == 0
    assert "last_sign_in_at" in summary.stop_reason and "WORKOS_BASE_URL" in summary.stop_reason
    assert 1 <= len(emu.users) < 6  # it stopped sending
    in_flight = {u.email for u in journal.users(status=UserStatus.IN_FLIGHT)}
    assert {u["email"] for u in emu.users.values()} <= in_flight  # none of them lost
    assert not check.ok and "last_sign_in_at" in check.evidence


# ------------------------------------------------------------------ what the update sends
UPDATE_FIELDS = {"email", "first_name", "last_name", "name", "email_verified", "metadata", "external_id",
                 "locale", "password", "password_hash", "password_hash_type", "password_salt_position"}


async def test_update_never_unverifies_and_sends_the_hash(tmp_path):
    emu = new_emulator()
    app = Variant(emu.app)
    with serve(app) as url:
        journal = make_plan(tmp_path / "run", 6)
        seed_user(url, "u4@example.com", email_verified=True)  # u4: password user, verified in WorkOS
        seed_user(url, "u5@example.com", email_verified=False)  # u5: planned as unverified (5 % 4 == 1)
        seed_user(url, "u0@example.com", email_verified=False)  # u0: planned verified, WorkOS not yet
        summary, _ = await run_import(journal, url)
    assert summary.updated == 3 and summary.failed == 0, summary.failures
    puts = {emu.users[r.path.rsplit("/", 1)[1]]["email"]: r.json() for r in app.log if r.method == "PUT"}
    assert set(puts) == {"u4@example.com", "u5@example.com", "u0@example.com"}
    for body in puts.values():
        assert set(body) <= UPDATE_FIELDS and body.get("email_verified") is not False
    assert "email_verified" not in puts["u4@example.com"] and "email_verified" not in puts["u5@example.com"]
    assert puts["u0@example.com"]["email_verified"] is True
    assert puts["u4@example.com"]["password_hash_type"] == "bcrypt"
    assert puts["u4@example.com"]["password_hash"].startswith("$2")
    assert "password_hash" not in puts["u5@example.com"]  # a reset user has no hash


# ------------------------------------------------------------------ verification by listing
async def test_verification_lists_past_100_users_with_the_after_cursor(tmp_path):
    emu = new_emulator()
    app = Variant(emu.app)
    with serve(app) as url:
        journal = make_plan(tmp_path / "run", 130)
        summary, _ = await run_import(journal, url)
        assert summary.created == 130
        rec = reconcile_users(journal, wapi.make_sync_client(settings(url)), strategy="list")
    assert rec.found == 130 and not rec.differences
    lists = [r for r in app.log if r.method == "GET" and r.path == USERS]
    assert len(lists) >= 2 and any("after" in r.query for r in lists)


def test_verification_stops_on_a_cursor_that_repeats(tmp_path):
    async def list_users(request):  # always the same page and the same `after` cursor
        return JSONResponse({"object": "list", "data": [{**SIGNED_IN_USER, "id": "user_x", "external_id": "auth0|x"}],
                             "list_metadata": {"before": None, "after": "user_x"}})

    with serve(Starlette(routes=[Route(USERS, list_users)])) as url:
        journal = make_plan(tmp_path / "run", 1)
        started = time.monotonic()
        rec = reconcile_users(journal, wapi.make_sync_client(settings(url)), strategy="list")
    assert time.monotonic() - started < 5
    assert rec.expected == 1 and rec.found == 0


# ------------------------------------------------------------------ organizations and memberships
def _org_journal(tmp_path: Path, user_ids: dict[str, str]) -> Journal:
    journal = make_plan(tmp_path / "run", 0)
    journal.upsert_org("org_a0", name="Acme", domains=[
        {"domain": "acme.test", "state": "verified", "sources": ["discovery_domain"], "valid": True},
        {"domain": "acme-alias.test", "state": "pending", "sources": ["metadata.domains"], "valid": True}],
        metadata={}, member_count=len(user_ids))
    from wizard.core.records import Branch, PlannedUser

    journal.replace_plan([PlannedUser(auth0_user_id=a, group_key=a, email=f"{a[6:]}@example.com",
                                      branch=Branch.RESET, request={"email": f"{a[6:]}@example.com"},
                                      auth0_ids=(a,)) for a in user_ids])
    for a, w in user_ids.items():
        journal.mark_result(a, UserStatus.CREATED, workos_user_id=w)
        journal.upsert_membership("org_a0", a, role_slug="Admin")
    return journal


DUPLICATE_MEMBERSHIP = {
    "409": (409, {"code": "organization_membership_already_exists", "message": "Conflict."}),
    "400 code": (400, {"code": "organization_membership_already_exists", "message": "Could not create."}),
    "422": (422, {"code": "invalid_request_parameters", "message": "Validation failed."}),
}


@pytest.mark.parametrize("variant", list(DUPLICATE_MEMBERSHIP))
@pytest.mark.parametrize("with_roles", [False, True])
def test_duplicate_membership_answers_mean_already_a_member(tmp_path, variant, with_roles):
    """A pending membership is not in the default (active) listing, so the create is sent and meets
    the duplicate; every wording of that answer counts as present, never failed or role-refused."""
    status, body = DUPLICATE_MEMBERSHIP[variant]
    emu = new_emulator()

    def before(req):
        if req.path == "/organizations/external_id/org_a0" and not emu.organizations:
            return answer(404, "<html>Not Found</html>", content_type="text/html")
        return None

    def after(req, got, raw):
        path = "/user_management/organization_memberships"
        if req.method == "GET" and req.path == path and "statuses" not in req.query:
            return answer(200, {"object": "list", "data": [], "list_metadata": {"before": None, "after": None}})
        if req.method == "POST" and req.path == path and got == 409:  # the emulator's duplicate answer
            return answer(status, body)
        return None

    app = Variant(emu.app, before=before, after=after)
    with serve(app) as url:
        u1, u2 = seed_user(url, "one@example.com"), seed_user(url, "two@example.com")
        journal = _org_journal(tmp_path, {"auth0|one": u1["id"], "auth0|two": u2["id"]})
        workos = wapi.make_sync_client(settings(url))
        first = migrate_organizations(journal, workos, with_roles=with_roles)
        assert first.memberships.get("created") == 2, first.problems
        org_body = next(r.json() for r in app.log if r.method == "POST" and r.path == "/organizations")
        oid = next(iter(emu.organizations))
        # a journal that lost track of them: the re-run sends both creates and meets the duplicates
        for m in journal.memberships():
            journal.set_membership_result(m["auth0_org_id"], m["auth0_user_id"], "planned")
        result = migrate_organizations(journal, workos, with_roles=with_roles)
    assert result.ok, result.problems
    assert result.memberships.get("present") == 2 and "failed" not in result.memberships
    assert not [p for p in result.problems if p["status"] == "role_refused"]
    assert len(emu.organizations) == 1 and len(emu.memberships) == 2
    assert {(d["domain"], d["state"]) for d in org_body["domain_data"]} == {
        ("acme.test", "verified"), ("acme-alias.test", "pending")}
    assert all(m["organization_id"] == oid for m in emu.memberships.values())


# ------------------------------------------------------------------ a stricter rate limit
async def test_a_stricter_limit_than_documented_converges_and_shows_pauses(tmp_path):
    emu = new_emulator(writes_per_10s=20, reads_per_10s=1000, requests_per_minute=6000)
    with serve(emu.app) as url:  # the emulator's 429s carry Retry-After; no X-RateLimit-* headers
        journal = make_plan(tmp_path / "run", 30)
        summary, events = await run_import(journal, url)
    assert (summary.created, summary.failed, summary.remaining) == (30, 0, 0)
    assert len(emu.users) == 30 and summary.rate_limited >= 1
    assert any(e.paused_until for e in events)
    assert any(e.latest_error and "rate limited" in e.latest_error for e in events)


# ------------------------------------------------------------------ password sign-in answers
SIGNED_IN_USER = {"object": "user", "id": "user_01", "email": "a@example.com", "first_name": None,
                  "last_name": None, "profile_picture_url": None, "email_verified": True, "external_id": None,
                  "last_sign_in_at": None, "created_at": "2026-01-01T00:00:00Z",
                  "updated_at": "2026-01-01T00:00:00Z"}
SIGN_IN = {
    "email_verification_required": (answer(403, {"code": "email_verification_required", "message": "Verify.",
                                                 "pending_authentication_token": "pat_1",
                                                 "email_verification_id": "ev_1", "email": "a@example.com"}),
                                    True, "verify their email"),
    "mfa_enrollment": (answer(403, {"code": "mfa_enrollment", "message": "Enroll.", "user": SIGNED_IN_USER,
                                    "pending_authentication_token": "pat_1"}), True, "enroll"),
    "mfa_challenge": (answer(403, {"code": "mfa_challenge", "message": "Challenge.", "user": SIGNED_IN_USER,
                                   "authentication_factors": [], "pending_authentication_token": "pat_1"}),
                      True, "MFA code"),
    "organization_selection_required": (answer(403, {"code": "organization_selection_required",
                                                     "message": "Pick.", "organizations": [],
                                                     "pending_authentication_token": "pat_1"}),
                                        True, "several organizations"),
    "radar_sms_sign_in_challenge": (answer(403, {"code": "radar_sms_sign_in_challenge", "message": "Radar."}),
                                    True, "Radar"),
    "sso_required (400, OAuth style)": (answer(400, {"error": "sso_required", "error_description": "SSO.",
                                                     "connection_ids": ["conn_1"], "email": "a@example.com"}),
                                        True, "SSO"),
    "invalid_credentials": (answer(400, {"code": "invalid_credentials", "message": "Invalid credentials."}),
                            False, "did not accept this email and password"),
    "403 without a code": (answer(403, {"message": "Forbidden"}), False, "refused"),
    "proxy page": (answer(502, "<html><title>502 Bad Gateway</title></html>", content_type="text/html"),
                   False, "502 Bad Gateway"),
    "200 missing refresh_token": (answer(200, {"user": SIGNED_IN_USER, "access_token": "at"}), True,
                                  "accepted the password"),
}


@pytest.mark.parametrize("case", list(SIGN_IN))
def test_password_sign_in_answers_are_explained(case):
    (status, headers, raw), ok, words = SIGN_IN[case]

    async def authenticate(request):
        return Response(raw, status_code=status, headers=headers)

    with serve(Starlette(routes=[Route("/user_management/authenticate", authenticate, methods=["POST"])])) as url:
        check = check_password_sign_in(wapi.make_sync_client(settings(url)), "a@example.com", "pw")
    assert check.ok is ok, check.evidence
    assert words in check.evidence
    assert "<" not in check.evidence


# ------------------------------------------------------------------ TOTP import
def test_totp_enroll_waits_out_a_429_and_never_enrolls_twice(tmp_path):
    from wizard.core.mfa import import_totp_secrets

    emu = new_emulator()
    posts = {"n": 0}

    def before(req):
        if req.method == "POST" and req.path.endswith("/auth_factors"):
            posts["n"] += 1
            if posts["n"] == 1:
                return answer(429, {"message": "Too many requests"}, {"Retry-After": "0.3"})
        return None

    def after(req, status, raw):
        if req.method == "POST" and req.path.endswith("/auth_factors") and posts["n"] == 2:
            return answer(502, "<html><title>502 Bad Gateway</title></html>", content_type="text/html")
        return None

    secret = "JBSWY3DPEHPK3PXPJBSWY3DP"
    (tmp_path / "totp.csv").write_text(f"email,totp_secret\none@example.com,{secret}\n")
    with serve(Variant(emu.app, before=before, after=after)) as url:
        user = seed_user(url, "one@example.com")
        journal = _org_journal(tmp_path, {"auth0|one": user["id"]})
        started = time.monotonic()
        result = import_totp_secrets(journal, wapi.make_sync_client(settings(url)), tmp_path / "totp.csv")
    assert result.enrolled == 1 and result.failed == 0, result.problems
    assert time.monotonic() - started >= 0.3
    factors = [f for f, v in emu.auth_factors.items() if v["user_id"] == user["id"]]
    assert len(factors) == 1 and emu.totp_secret(factors[0]) == secret
    assert posts["n"] == 2  # the 429 was re-sent once; the lost answer was looked up, not re-sent


def test_an_organization_create_answered_without_json_is_looked_up_not_a_crash(tmp_path):
    emu = new_emulator()
    answered = {"n": 0}

    def after(req, status, raw):
        if req.method == "POST" and req.path == "/organizations" and status == 201 and not answered["n"]:
            answered["n"] += 1
            return answer(201, "<html>Created</html>", content_type="text/html")  # landed, unreadable
        return None

    with serve(Variant(emu.app, after=after)) as url:
        user = seed_user(url, "one@example.com")
        journal = _org_journal(tmp_path, {"auth0|one": user["id"]})
        result = migrate_organizations(journal, wapi.make_sync_client(settings(url)))
    assert result.ok, result.problems
    assert len(emu.organizations) == 1 and len(emu.memberships) == 1
    assert journal.orgs()[0]["workos_org_id"] == next(iter(emu.organizations))


@pytest.mark.parametrize("page", [answer(200, "<html><title>Welcome</title></html>", content_type="text/html"),
                                  answer(301, b"", {"location": "https://example.com/"}),
                                  answer(200, {"hello": "world"})])
def test_prerequisite_key_check_is_not_fooled_by_a_website(page):
    status, headers, raw = page

    async def website(request):
        return Response(raw, status_code=status, headers=headers)

    with serve(Starlette(routes=[Route(USERS, website)])) as url:
        check = live_key_check(settings(url))
    assert not check.ok and "WORKOS_BASE_URL" in check.fix_hint


def test_an_org_conflict_that_is_not_ours_reports_the_servers_reason(tmp_path):
    emu = new_emulator()

    def before(req):
        if req.method == "POST" and req.path == "/organizations":
            return answer(409, {"code": "domain_already_in_use", "message": "acme.test belongs to another org."})
        return None

    with serve(Variant(emu.app, before=before)) as url:
        user = seed_user(url, "one@example.com")
        journal = _org_journal(tmp_path, {"auth0|one": user["id"]})
        result = migrate_organizations(journal, wapi.make_sync_client(settings(url)))
    assert result.orgs == {"failed": 1}
    assert "acme.test belongs to another org" in result.problems[0]["message"]
    assert journal.orgs()[0]["last_error_code"] == "domain_already_in_use"
