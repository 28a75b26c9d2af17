"""The Auth0 client over auth0-python against the Auth0 emulator: token, scopes, paging, rate limits."""

from __future__ import annotations

import json
import time

import pytest

from wizard.clients.auth0 import REQUIRED_SCOPES, Auth0Client, RatePacer, to_api_error
from wizard.clients.errors import ApiError, ErrorKind
from wizard.core.config import Settings
from wizard.sandbox.auth0_emulator import Auth0Limits
from wizard.sandbox.server import serve


def settings_for(handle, base_url=None, secret=None) -> Settings:
    return Settings(auth0_domain=handle.domain, auth0_client_id=handle.client_id,
                    auth0_client_secret=secret or handle.client_secret, auth0_base_url=base_url or handle.base_url)


def client_for(handle, **kw) -> Auth0Client:
    kw.setdefault("max_per_second", 1000)
    return Auth0Client.from_settings(settings_for(handle), **kw)


class Intercept:
    """An ASGI wrapper that answers some requests itself (as real Auth0 would) and passes the rest on."""

    def __init__(self, inner, rules):
        self.inner, self.rules, self.hits = inner, rules, 0

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            for method, prefix, answer in self.rules:
                if scope["method"] == method and scope["path"].startswith(prefix):
                    status, body = answer(scope)
                    self.hits += 1
                    payload = json.dumps(body).encode()
                    await send({"type": "http.response.start", "status": status,
                                "headers": [(b"content-type", b"application/json")]})
                    await send({"type": "http.response.body", "body": payload})
                    return
        await self.inner(scope, receive, send)


def test_token_lists_missing_scopes_and_the_client_reads(auth0_emu, demo_tenant):
    client = client_for(auth0_emu)
    missing = client.check_token()
    assert set(missing) <= set(REQUIRED_SCOPES)
    assert "read:organization_member_roles" in missing  # the emulator does not grant it
    assert "read:users" not in missing
    assert client.count_users() == (len(demo_tenant.users), False)


def test_wrong_secret_is_an_auth_error_that_says_what_to_fix(auth0_emu):
    client = Auth0Client.from_settings(settings_for(auth0_emu, secret="nope"))
    with pytest.raises(ApiError) as info:
        client.check_token()
    assert info.value.kind is ErrorKind.AUTH and info.value.service == "auth0"
    assert "AUTH0_CLIENT_SECRET" in info.value.message
    assert "nope" not in str(info.value)


def test_offset_and_checkpoint_paging_read_everything_and_stop(auth0_emu, demo_tenant):
    emu = auth0_emu.emulator
    client = client_for(auth0_emu, page_size=10)
    users = list(client.iter_users())
    assert [u["user_id"] for u in users] == [u["user_id"] for u in demo_tenant.users]
    pages = -(-len(demo_tenant.users) // 10)
    assert emu.request_count("GET", "/api/v2/users") == pages  # the short last page ends it

    client = client_for(auth0_emu, page_size=1)
    orgs = client.list_organizations()
    assert [o["id"] for o in orgs] == [o["id"] for o in demo_tenant.organizations]
    assert emu.request_count("GET", "/api/v2/organizations") == len(demo_tenant.organizations)
    org = demo_tenant.organizations[0]
    members = client.list_members(org["id"])
    assert [m["user_id"] for m in members] == [m["user_id"] for m in demo_tenant.members[org["id"]]]


def test_paging_ends_even_when_the_server_misbehaves(auth0_emu):
    """A cursor that never changes, and an offset endpoint that ignores `page`: both end."""
    rules = [
        ("GET", "/api/v2/organizations", lambda s: (200, {"organizations": [{"id": "org_x", "name": "x"}],
                                                          "next": "same-cursor"})),
        ("GET", "/api/v2/users/", lambda s: (200, {"start": 0, "limit": 1, "authenticators": [
            {"id": "totp|dev_1", "type": "totp", "confirmed": True, "created_at": "2024-01-01T00:00:00Z"}]})),
    ]
    with serve(Intercept(auth0_emu.emulator.app, rules)) as base:
        client = Auth0Client.from_settings(settings_for(auth0_emu, base_url=base), max_per_second=1000, page_size=1)
        started = time.monotonic()
        assert len(client.list_organizations()) == 1  # the repeated cursor's repeated page stops it
        assert len(client.list_authentication_methods("auth0|x")) == 1
        assert time.monotonic() - started < 5


def test_429_is_waited_out_visibly(auth0_emu, demo_tenant):
    emu = auth0_emu.emulator
    emu.set_limits(Auth0Limits(requests_per_second=3))
    waits = []
    client = client_for(auth0_emu, on_wait=waits.append, respect_headers=False)
    uid = next(iter(demo_tenant.auth_methods))
    want = [m["id"] for m in demo_tenant.auth_methods[uid]]
    for _ in range(8):
        assert [m["id"] for m in client.list_authentication_methods(uid)] == want
    assert client.waits >= 1 and waits
    assert waits[0].paused_until is not None and "rate limit" in waits[0].latest_error
    assert any(status == 429 for _, _, status in emu.requests)


def test_ratelimit_headers_pace_requests_so_no_429_is_seen(auth0_emu, demo_tenant):
    emu = auth0_emu.emulator
    emu.set_limits(Auth0Limits(requests_per_second=5))
    client = client_for(auth0_emu)
    uid = next(iter(demo_tenant.auth_methods))
    for _ in range(10):
        client.list_authentication_methods(uid)
    assert client.waits == 0
    assert not any(status == 429 for _, _, status in emu.requests)
    assert client.pacer.limit == 5


def test_missing_scope_names_the_scope(auth0_emu):
    body = {"statusCode": 403, "error": "Forbidden", "errorCode": "insufficient_scope",
            "message": "Insufficient scope, expected any of: read:guardian_factors"}
    with serve(Intercept(auth0_emu.emulator.app, [("GET", "/api/v2/guardian", lambda s: (403, body))])) as base:
        client = Auth0Client.from_settings(settings_for(auth0_emu, base_url=base))
        with pytest.raises(ApiError) as info:
            client.list_guardian_factors()
    assert info.value.kind is ErrorKind.AUTH and info.value.code == "insufficient_scope"
    assert "read:guardian_factors" in info.value.message and "Machine to Machine" in info.value.message


def test_transient_errors_are_retried(auth0_emu, demo_tenant):
    calls = {"n": 0}

    def flaky(scope):
        calls["n"] += 1
        return (503, {"statusCode": 503, "error": "Service Unavailable", "message": "try later"}) \
            if calls["n"] == 1 else None

    class Once(Intercept):
        async def __call__(self, scope, receive, send):
            if scope["type"] == "http" and scope["path"] == "/api/v2/guardian/factors" and calls["n"] == 0:
                return await super().__call__(scope, receive, send)
            await self.inner(scope, receive, send)

    with serve(Once(auth0_emu.emulator.app, [("GET", "/api/v2/guardian", flaky)])) as base:
        waits = []
        client = Auth0Client.from_settings(settings_for(auth0_emu, base_url=base), sleep=lambda s: None,
                                           on_wait=waits.append)
        factors = client.list_guardian_factors()
    assert [f["name"] for f in factors] == [f["name"] for f in demo_tenant.guardian_factors]
    assert calls["n"] == 1
    # the wait after a 503 is labelled by its cause, never "rate limited" (issue 10)
    assert [w.pause_cause for w in waits] == ["server error (HTTP 503)"]
    from wizard.commands._progress import pause_text

    assert "server error (HTTP 503)" in pause_text(waits[0]) and "rate limit" not in pause_text(waits[0])


def test_error_mapping():
    from auth0.management.errors import ForbiddenError, NotFoundError, TooManyRequestsError

    e = to_api_error(TooManyRequestsError(body={"message": "slow down"}, headers={"retry-after": "3"}))
    assert e.kind is ErrorKind.RATE_LIMITED and e.retry_after == 3.0
    e = to_api_error(ForbiddenError(body={"errorCode": "insufficient_scope",
                                          "message": "Insufficient scope, expected any of: read:users"}))
    assert e.kind is ErrorKind.AUTH and "read:users" in e.message
    e = to_api_error(NotFoundError(body={"message": "gone"}))
    assert e.kind is ErrorKind.NOT_FOUND


def test_pacer_spends_what_the_headers_leave_then_waits_for_reset():
    pacer = RatePacer()
    now = time.time()
    assert pacer.delay(now) == 0  # nothing known: the first request goes
    pacer.acquire()
    assert pacer.delay(now) > 0  # ... and the next waits for its answer to learn the limit
    pacer.observe({"x-ratelimit-limit": "50", "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now) + 2)})
    pacer.release()
    assert 1.0 < pacer.delay(now) <= 2.0
    pacer.observe({"x-ratelimit-limit": "50", "x-ratelimit-remaining": "2", "x-ratelimit-reset": str(int(now) + 3)})
    assert pacer.delay(now) == 0  # a newer window with 2 left: both go at once
    pacer.acquire()
    pacer.acquire()
    assert 2.0 < pacer.delay(now) <= 3.0  # spent: wait for that window's reset
    # an answer from the same window that says more is left does not raise what we counted
    pacer.observe({"x-ratelimit-remaining": "40", "x-ratelimit-reset": str(int(now) + 3)})
    assert pacer.remaining == 0
    assert pacer.delay(int(now) + 3) == 0  # after reset the budget is whole again
    assert pacer.remaining == 50 - 2  # minus the two still in the air


def test_pacer_threads_never_overspend_the_remaining_budget():
    import threading

    pacer = RatePacer()
    pacer.observe({"x-ratelimit-limit": "10", "x-ratelimit-remaining": "10",
                   "x-ratelimit-reset": str(int(time.time()) + 3600)})
    sent = []
    stop = threading.Event()

    class Stopped(Exception):
        pass

    def wait(seconds):
        if stop.wait(seconds):
            raise Stopped

    def worker():
        try:
            while True:
                pacer.acquire(sleep=wait)
                sent.append(1)
        except Stopped:
            return

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for _ in range(200):
        if len(sent) >= 10 and pacer.delay() > 0:
            break
        time.sleep(0.01)
    stop.set()
    for t in threads:
        t.join(timeout=5)
    assert len(sent) == 10


def test_a_revoked_token_is_replaced_once(auth0_emu, demo_tenant):
    client = client_for(auth0_emu)
    client.check_token()
    auth0_emu.emulator.tokens.clear()  # the tenant forgets every token (revoked / expired)
    assert client.count_users()[0] == len(demo_tenant.users)
    assert auth0_emu.emulator.request_count("POST", "/oauth/token") == 2
