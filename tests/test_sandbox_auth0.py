"""The Auth0 Management API emulator through auth0-python 6.x over real HTTP."""

from __future__ import annotations

import gzip
import json
import time

import httpx
import pytest
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.management import AsyncAuth0, Auth0
from auth0.management.core.api_error import ApiError
from auth0.management.errors import BadRequestError, NotFoundError, UnauthorizedError

from wizard.sandbox.auth0_emulator import Auth0Limits
from wizard.sandbox.faults import Faults

NO_RETRY = {"max_retries": 0}


def _token(auth0_emu) -> str:
    domain = auth0_emu.base_url.split("://", 1)[1]
    got = GetToken(domain, auth0_emu.client_id, client_secret=auth0_emu.client_secret,
                   protocol="http").client_credentials(audience=f"https://{auth0_emu.domain}/api/v2/")
    assert got["token_type"] == "Bearer" and got["expires_in"] > 0
    return got["access_token"]


@pytest.fixture
def mgmt(auth0_emu) -> Auth0:
    return Auth0(base_url=f"{auth0_emu.base_url}/api/v2", token=_token(auth0_emu))


def test_token_accepts_json_and_form_and_rejects_wrong_secret(auth0_emu):
    url = f"{auth0_emu.base_url}/oauth/token"
    form = httpx.post(url, data={"grant_type": "client_credentials", "client_id": auth0_emu.client_id,
                                 "client_secret": auth0_emu.client_secret,
                                 "audience": f"https://{auth0_emu.domain}/api/v2/"})
    assert form.status_code == 200 and form.json()["access_token"]
    domain = auth0_emu.base_url.split("://", 1)[1]
    with pytest.raises(Auth0Error) as err:
        GetToken(domain, auth0_emu.client_id, client_secret="wrong", protocol="http").client_credentials(
            audience="x")
    assert err.value.status_code == 401 and err.value.error_code == "access_denied"


def test_api_requires_a_bearer_token(auth0_emu):
    bad = Auth0(base_url=f"{auth0_emu.base_url}/api/v2", token="not-a-token")
    with pytest.raises(UnauthorizedError):
        list(bad.users.list(request_options=NO_RETRY))


def test_users_offset_paging_ends_with_every_user(mgmt, demo_tenant):
    users = list(mgmt.users.list(per_page=8))
    assert [u.user_id for u in users] == [u["user_id"] for u in demo_tenant.users]
    first = mgmt.users.list(page=0, per_page=5)
    assert first.response.total == len(demo_tenant.users) and first.response.start == 0


def test_users_paging_stops_at_the_first_thousand(mgmt, auth0_emu):
    with pytest.raises(BadRequestError) as err:
        list(mgmt.users.list(page=10, per_page=100, request_options=NO_RETRY))
    assert err.value.body["errorCode"] == "invalid_paging"
    r = httpx.get(f"{auth0_emu.base_url}/api/v2/users", params={"page": 20, "per_page": 50},
                  headers={"Authorization": f"Bearer {_token(auth0_emu)}"})
    assert r.status_code == 400 and r.json()["statusCode"] == 400
    # page 19 x 50 is the last page inside the cap: allowed (and empty for a small tenant)
    assert list(mgmt.users.list(page=19, per_page=50).items) == []


def test_get_user_with_percent_encoded_ids(mgmt, demo_tenant):
    for key in ("alt_id", "saml", "duplicate_email_google"):
        uid = demo_tenant.notes[key]
        assert mgmt.users.get(uid).user_id == uid
    with pytest.raises(NotFoundError):
        mgmt.users.get("auth0|does-not-exist", request_options=NO_RETRY)


def test_users_search_and_unknown_paths(mgmt, auth0_emu, demo_tenant):
    saml = [u.user_id for u in mgmt.users.list(q='identities.connection:"acme-saml"', search_engine="v3")]
    assert saml and all(uid.startswith("samlp|acme-saml|") for uid in saml)
    with pytest.raises(BadRequestError):
        list(mgmt.users.list(q="email:x OR name:y AND z", request_options=NO_RETRY))
    r = httpx.get(f"{auth0_emu.base_url}/api/v2/nothing-here",
                  headers={"Authorization": f"Bearer {_token(auth0_emu)}"})
    assert r.status_code == 404 and r.json()["statusCode"] == 404


def test_users_by_email_and_active_users(mgmt, demo_tenant):
    dup = demo_tenant.user(demo_tenant.notes["duplicate_email_database"])["email"]
    found = mgmt.users.list_users_by_email(email=dup.lower())
    assert {u.identities[0].provider for u in found} == {"auth0", "google-oauth2"}
    assert mgmt.stats.get_active_users_count() == sum(1 for u in demo_tenant.users if not u.get("blocked"))


def test_authentication_methods_tell_sms_from_totp(mgmt, demo_tenant):
    uid = demo_tenant.notes["mfa_sms+totp"]
    methods = list(mgmt.users.authentication_methods.list(uid, per_page=1))
    assert sorted(m.type for m in methods) == ["phone", "totp"]
    phone = next(m for m in methods if m.type == "phone")
    assert phone.preferred_authentication_method == "sms" and phone.phone_number.startswith("+")
    voice = list(mgmt.users.authentication_methods.list(demo_tenant.notes["mfa_voice"]))
    assert voice[0].preferred_authentication_method == "voice"
    assert list(mgmt.users.authentication_methods.list(demo_tenant.notes["saml"])) == []


def test_export_job_moves_to_completed_and_serves_requested_fields(mgmt, auth0_emu, demo_tenant):
    db = next(c for c in demo_tenant.connections if c["strategy"] == "auth0")
    job = mgmt.jobs.users_exports.create(
        connection_id=db["id"], format="json",
        fields=[{"name": "user_id"}, {"name": "email"}, {"name": "email_verified"},
                {"name": "identities[0].connection", "export_as": "connection"}])
    assert job.status == "pending" and job.type == "users_export"
    statuses = []
    for _ in range(5):
        polled = mgmt.jobs.get(job.id)
        statuses.append(polled.status)
        if polled.status == "completed":
            break
    assert statuses == ["processing", "completed"]
    r = httpx.get(polled.location)  # no Authorization: a pre-signed link
    assert r.status_code == 200 and r.content[:2] == b"\x1f\x8b"
    rows = [json.loads(line) for line in gzip.decompress(r.content).decode().splitlines()]
    expected = [u for u in demo_tenant.users if u["identities"][0]["connection"] == db["name"]]
    assert [row["user_id"] for row in rows] == [u["user_id"] for u in expected]
    assert set(rows[0]) == {"user_id", "email", "email_verified", "connection"}
    with pytest.raises(NotFoundError):
        mgmt.jobs.get("job_missing", request_options=NO_RETRY)


def test_export_link_expires(mgmt, auth0_emu):
    auth0_emu.emulator.export_link_ttl_s = 0.05
    auth0_emu.emulator.export_polls = 1
    job = mgmt.jobs.users_exports.create(format="json", fields=[{"name": "user_id"}])
    location = mgmt.jobs.get(job.id).location
    time.sleep(0.1)
    assert httpx.get(location).status_code == 403


def test_export_csv_format(mgmt, demo_tenant):
    job = mgmt.jobs.users_exports.create(format="csv", fields=[{"name": "user_id"},
                                                               {"name": "email", "export_as": "Email"}])
    location = None
    while location is None:
        location = mgmt.jobs.get(job.id).location
    text = gzip.decompress(httpx.get(location).content).decode()
    assert text.splitlines()[0] == "user_id,Email"
    assert len(text.splitlines()) == len(demo_tenant.users) + 1


def test_organizations_members_connections_and_domains_checkpoint_paging(mgmt, demo_tenant):
    orgs = list(mgmt.organizations.list(take=3))
    assert [o.id for o in orgs] == [o["id"] for o in demo_tenant.organizations]
    acme = next(o for o in orgs if o.name == "acme")
    members = list(mgmt.organizations.members.list(acme.id, take=4))
    assert [m.user_id for m in members] == [m["user_id"] for m in demo_tenant.members[acme.id]]
    assert members[0].roles[0].name == "admin"
    enabled = list(mgmt.organizations.enabled_connections.list(acme.id, per_page=1))
    saml = next(e for e in enabled if e.connection.strategy == "samlp")
    conn = next(c for c in mgmt.connections.list(take=2) if c.id == saml.connection_id)
    assert "acme.example" in conn.options["domain_aliases"]
    globex = next(o for o in orgs if o.name == "globex")
    domains = list(mgmt.organizations.discovery_domains.list(globex.id, take=1))
    assert {(d.domain, d.status) for d in domains} == {("globex.example", "verified"),
                                                       ("globex-labs.example", "pending")}
    with pytest.raises(NotFoundError):
        list(mgmt.organizations.members.list("org_missing", request_options=NO_RETRY))


def test_guardian_factors_and_roles(mgmt):
    factors = {f.name: f.enabled for f in mgmt.guardian.factors.list()}
    assert factors["sms"] and factors["otp"] and factors["email"] and not factors["duo"]
    assert {"admin", "member"} <= {r.name for r in mgmt.roles.list()}


def test_rate_limit_headers_and_429(mgmt, auth0_emu):
    auth0_emu.emulator.set_limits(Auth0Limits(requests_per_second=2))
    token = _token(auth0_emu)
    headers = {"Authorization": f"Bearer {token}"}
    # align to the start of a one-second window so the three requests share it
    time.sleep(1 - (time.time() % 1) + 0.01)
    first = httpx.get(f"{auth0_emu.base_url}/api/v2/guardian/factors", headers=headers)
    assert first.headers["x-ratelimit-limit"] == "2" and first.headers["x-ratelimit-remaining"] == "1"
    assert int(first.headers["x-ratelimit-reset"]) >= int(time.time())
    httpx.get(f"{auth0_emu.base_url}/api/v2/guardian/factors", headers=headers)
    with pytest.raises(ApiError) as err:  # this endpoint's client maps 429 to the base ApiError
        mgmt.guardian.factors.list(request_options=NO_RETRY)
    assert err.value.status_code == 429 and err.value.body["statusCode"] == 429 and err.value.headers["x-ratelimit-remaining"] == "0"
    # the SDK's own retry waits for x-ratelimit-reset and then succeeds
    assert mgmt.guardian.factors.list()


def test_faults_error_and_drop(mgmt, auth0_emu):
    auth0_emu.emulator.set_faults(Faults(error_rate=1.0))
    with pytest.raises(ApiError) as err:
        mgmt.guardian.factors.list(request_options=NO_RETRY)
    assert err.value.status_code in (500, 502, 503)
    auth0_emu.emulator.set_faults(Faults(drop_rate=1.0))
    with pytest.raises(httpx.TransportError):
        mgmt.guardian.factors.list(request_options=NO_RETRY)


async def test_async_client_lists_users(auth0_emu, demo_tenant):
    client = AsyncAuth0(base_url=f"{auth0_emu.base_url}/api/v2", token=_token(auth0_emu))
    pager = await client.users.list(per_page=20)
    ids = [u.user_id async for u in pager]
    assert len(ids) == len(demo_tenant.users)


def test_export_job_validation_and_limit(mgmt, demo_tenant):
    with pytest.raises(BadRequestError):
        mgmt.jobs.users_exports.create(format="xml", request_options=NO_RETRY)
    with pytest.raises(BadRequestError):
        mgmt.jobs.users_exports.create(connection_id="con_missing", request_options=NO_RETRY)
    job = mgmt.jobs.users_exports.create(format="json", limit=5, fields=[{"name": "email"}])
    location = None
    while location is None:
        location = mgmt.jobs.get(job.id).location
    rows = gzip.decompress(httpx.get(location).content).decode().splitlines()
    assert [json.loads(r).get("email") for r in rows] == [u.get("email") for u in demo_tenant.users[:5]]
