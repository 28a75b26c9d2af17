"""The WorkOS emulator through the official `workos` SDK (sync and async) over real HTTP."""

from __future__ import annotations

import time

import bcrypt
import httpx
import pytest
from workos import (
    AsyncWorkOSClient,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    RateLimitExceededError,
    ServerError,
    UnprocessableEntityError,
    WorkOSClient,
    WorkOSError,
)
from workos.organization_membership import RoleSingle
from workos.organizations.models import OrganizationDomainData
from workos.user_management import PasswordHashed, PasswordPlaintext

from wizard.sandbox.faults import Faults
from wizard.sandbox.ratelimit import RateLimits
from wizard.sandbox.workos_emulator import WorkOSEmulator, paginate

PASSWORD = "Correct-horse-42!"
HASH_2B = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()


@pytest.fixture
def client(workos_emu) -> WorkOSClient:
    return WorkOSClient(api_key=workos_emu.api_key, client_id=workos_emu.client_id,
                        base_url=workos_emu.base_url, max_retries=0)


@pytest.fixture
def um(client):
    return client.user_management


# ----- users -----
def test_user_lifecycle_create_get_update_delete(um, workos_emu):
    created = um.create_user(email="  Ada.Lovelace@Example.COM ", first_name="Ada", last_name="Lovelace",
                             email_verified=True, external_id="auth0|abc123",
                             metadata={"auth0_connection": "db"})
    assert created.email == "ada.lovelace@example.com"
    assert created.id.startswith("user_") and len(created.id) == len("user_") + 26
    assert created.email_verified is True and created.metadata == {"auth0_connection": "db"}
    assert um.get_user(created.id).external_id == "auth0|abc123"
    assert um.get_user_by_external_id("auth0|abc123").id == created.id
    updated = um.update_user(created.id, first_name="Augusta", metadata={"plan": "pro"})
    assert updated.first_name == "Augusta" and updated.last_name == "Lovelace"
    assert updated.metadata == {"auth0_connection": "db", "plan": "pro"}
    assert workos_emu.emulator.user_by_email("ADA.lovelace@example.com")["first_name"] == "Augusta"
    um.delete_user(created.id)
    with pytest.raises(NotFoundError) as err:
        um.get_user(created.id)
    assert err.value.code == "entity_not_found"
    assert workos_emu.emulator.users == {}


def test_external_id_with_reserved_characters_round_trips(um):
    user = um.create_user(email="s@example.com", external_id="samlp|acme-saml|s@acme.example/x")
    assert um.get_user_by_external_id("samlp|acme-saml|s@acme.example/x").id == user.id


def test_duplicate_email_is_case_insensitive_and_reported_like_workos(um):
    um.create_user(email="grace@example.com")
    with pytest.raises(BadRequestError) as err:
        um.create_user(email="GRACE@example.com ")
    assert err.value.code == "user_creation_error"
    assert [e["code"] for e in err.value.errors] == ["email_not_available"]
    assert err.value.request_id.startswith("req_")


def test_duplicate_external_id_on_create_and_update(um):
    um.create_user(email="a@example.com", external_id="auth0|1")
    other = um.create_user(email="b@example.com", external_id="auth0|2")
    with pytest.raises(BadRequestError) as err:
        um.create_user(email="c@example.com", external_id="auth0|1")
    assert [e["code"] for e in err.value.errors] == ["external_id_already_used"]
    with pytest.raises(BadRequestError) as err:
        um.update_user(other.id, external_id="auth0|1")
    assert err.value.code == "external_id_already_used"


def test_update_to_taken_email_is_refused(um):
    um.create_user(email="a@example.com")
    b = um.create_user(email="b@example.com")
    with pytest.raises(BadRequestError) as err:
        um.update_user(b.id, email="A@example.com")
    assert err.value.code == "email_not_available"


def test_malformed_bcrypt_hash_is_invalid_password_hash(um):
    with pytest.raises(BadRequestError) as err:
        um.create_user(email="h@example.com",
                       password=PasswordHashed(password_hash=HASH_2B[:40], password_hash_type="bcrypt"))
    assert err.value.code == "invalid_password_hash"
    user = um.create_user(email="h@example.com")
    with pytest.raises(BadRequestError) as err:
        um.update_user(user.id, password=PasswordHashed(password_hash="$2b$10$short",
                                                        password_hash_type="bcrypt"))
    assert err.value.code == "invalid_password_hash"


def test_unverifying_a_verified_email_is_refused(um):
    user = um.create_user(email="v@example.com", email_verified=True)
    with pytest.raises(BadRequestError) as err:
        um.update_user(user.id, email_verified=False)
    assert err.value.code == "email_already_verified"


@pytest.mark.parametrize("external_id", ["x" * 129, "auth0|zoë"])
def test_invalid_external_id_is_422(um, external_id):
    with pytest.raises(UnprocessableEntityError) as err:
        um.create_user(email="e@example.com", external_id=external_id)
    assert err.value.code == "invalid_request_parameters"
    assert err.value.errors[0]["field"] == "external_id"


@pytest.mark.parametrize("metadata", [
    {f"k{i}": "v" for i in range(51)}, {"k" * 41: "v"}, {"k": "v" * 601}])
def test_invalid_metadata(um, metadata):
    with pytest.raises(BadRequestError) as err:
        um.create_user(email="m@example.com", metadata=metadata)
    assert err.value.code == "invalid_metadata"


def test_missing_or_malformed_email(workos_emu, um):
    with pytest.raises(BadRequestError) as err:
        um.create_user(email="not-an-email")
    assert err.value.code == "invalid_email"
    r = httpx.post(f"{workos_emu.base_url}/user_management/users", json={"first_name": "x"},
                   headers={"Authorization": f"Bearer {workos_emu.api_key}"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_request_parameters"


def test_unknown_path_is_a_json_404(workos_emu):
    r = httpx.get(f"{workos_emu.base_url}/nothing/here",
                  headers={"Authorization": f"Bearer {workos_emu.api_key}"})
    assert r.status_code == 404 and r.json()["message"] == "Not Found"


def test_wrong_api_key_is_401(workos_emu):
    bad = WorkOSClient(api_key="sk_test_wrong", client_id=workos_emu.client_id,
                       base_url=workos_emu.base_url, max_retries=0)
    with pytest.raises(AuthenticationError) as err:
        bad.user_management.list_users()
    assert err.value.status_code == 401
    assert err.value.response_json["message"] == "Unauthorized"


def test_list_users_pages_to_the_end_and_filters(um):
    ids = [um.create_user(email=f"user{i:02d}@example.com").id for i in range(25)]
    seen = [u.id for u in um.list_users(limit=10).auto_paging_iter()]
    assert seen == list(reversed(ids))  # default order: newest first
    asc = um.list_users(limit=10, order="asc")
    assert [u.id for u in asc.data] == ids[:10] and asc.list_metadata.after == ids[9]
    assert asc.list_metadata.before is None
    second = um.list_users(limit=10, order="asc", after=asc.list_metadata.after)
    assert [u.id for u in second.data] == ids[10:20] and second.list_metadata.before == ids[10]
    back = um.list_users(limit=10, order="asc", before=second.list_metadata.before)
    assert [u.id for u in back.data] == ids[:10]
    last = um.list_users(limit=10, order="asc", after=ids[19])
    assert len(last.data) == 5 and last.list_metadata.after is None
    assert [u.email for u in um.list_users(email="USER07@example.com").data] == ["user07@example.com"]
    assert um.list_users(email="nobody@example.com").data == []
    with pytest.raises(UnprocessableEntityError):
        um.list_users(limit=101)


def test_cursor_survives_deleting_its_user(um):
    ids = [um.create_user(email=f"d{i}@example.com").id for i in range(6)]
    page = um.list_users(limit=3, order="asc")
    um.delete_user(page.list_metadata.after)
    rest = um.list_users(limit=3, order="asc", after=page.list_metadata.after)
    assert [u.id for u in rest.data] == ids[3:]


def test_paginate_normal_order_swaps_cursors():
    ids = [f"user_{i:02d}" for i in range(5)]
    page, before, after = paginate(ids, {"limit": "2", "order": "normal"})
    assert page == ["user_04", "user_03"] and before == "user_03" and after is None
    older, _, _ = paginate(ids, {"limit": "2", "order": "normal", "before": before})
    assert older == ["user_02", "user_01"]


async def test_async_client_creates_and_pages(workos_emu):
    client = AsyncWorkOSClient(api_key=workos_emu.api_key, client_id=workos_emu.client_id,
                               base_url=workos_emu.base_url, max_retries=0)
    for i in range(5):
        await client.user_management.create_user(email=f"async{i}@example.com")
    page = await client.user_management.list_users(limit=2)
    emails = [u.email async for u in page.auto_paging_iter()]
    assert len(emails) == 5 and len(set(emails)) == 5
    with pytest.raises(BadRequestError):
        await client.user_management.create_user(email="ASYNC0@example.com")


# ----- sign-in -----
@pytest.mark.parametrize("prefix", ["$2a$", "$2b$", "$2y$"])
def test_password_sign_in_with_imported_bcrypt_hash(um, workos_emu, prefix):
    hashed = prefix + HASH_2B[4:]
    user = um.create_user(email="p@example.com", email_verified=True,
                          password=PasswordHashed(password_hash=hashed, password_hash_type="bcrypt"))
    result = um.authenticate_with_password(email="P@example.com", password=PASSWORD)
    assert result.user.id == user.id and result.access_token and result.refresh_token
    assert result.authentication_method.value == "Password"
    assert workos_emu.emulator.password_matches(user.id, PASSWORD)
    with pytest.raises(BadRequestError) as err:
        um.authenticate_with_password(email="p@example.com", password="wrong")
    assert err.value.code == "invalid_credentials"


def test_password_sign_in_with_plaintext_password(um, workos_emu):
    user = um.create_user(email="t@example.com", password=PasswordPlaintext(password="s3cret-Pass"))
    assert um.authenticate_with_password(email="t@example.com", password="s3cret-Pass").user.id == user.id
    with pytest.raises(BadRequestError):
        um.authenticate_with_password(email="t@example.com", password="s3cret-pass")
    with pytest.raises(BadRequestError):  # a user without a password cannot sign in with one
        um.create_user(email="np@example.com")
        um.authenticate_with_password(email="np@example.com", password="anything")
    assert not workos_emu.emulator.has_password(workos_emu.emulator.user_by_email("np@example.com")["id"])


def test_sign_in_with_wrong_client_id_is_401(workos_emu, um):
    um.create_user(email="c@example.com", password=PasswordPlaintext(password="pw-pw-pw"))
    other = WorkOSClient(api_key=workos_emu.api_key, client_id="client_other",
                         base_url=workos_emu.base_url, max_retries=0)
    with pytest.raises(AuthenticationError):
        other.user_management.authenticate_with_password(email="c@example.com", password="pw-pw-pw")


def test_magic_auth_and_password_reset(um, workos_emu):
    user = um.create_user(email="m@example.com")
    magic = um.create_magic_auth(email="M@example.com")
    assert magic.user_id == user.id and len(magic.code) == 6
    assert um.get_magic_auth(magic.id).code == magic.code
    signed_in = um.authenticate_with_magic_auth(code=magic.code, email="m@example.com")
    assert signed_in.user.id == user.id
    reset = um.reset_password(email="m@example.com")
    assert reset.user_id == user.id and reset.password_reset_token in reset.password_reset_url
    assert um.get_password_reset(reset.id).email == "m@example.com"
    with pytest.raises(NotFoundError):
        um.reset_password(email="nobody@example.com")


def test_sign_in_attempts_are_limited_per_email(um, workos_emu):
    workos_emu.emulator.set_limits(RateLimits(authentications_per_minute_per_email=2))
    um.create_user(email="r@example.com", password=PasswordPlaintext(password="pw-pw-pw"))
    for _ in range(2):
        um.authenticate_with_password(email="r@example.com", password="pw-pw-pw")
    with pytest.raises(RateLimitExceededError) as err:
        um.authenticate_with_password(email="r@example.com", password="pw-pw-pw")
    assert err.value.retry_after >= 1


# ----- organizations and memberships -----
def test_organizations_with_domain_data(client):
    orgs = client.organizations
    org = orgs.create_organization(name="Acme Corp", external_id="org_auth0_acme",
                                   domain_data=[OrganizationDomainData(domain="acme.example", state="verified"),
                                                OrganizationDomainData(domain="acme-labs.example",
                                                                       state="pending")],
                                   metadata={"auth0_org": "acme"})
    assert org.id.startswith("org_")
    assert {(d.domain, d.state.value) for d in org.domains} == {("acme.example", "verified"),
                                                               ("acme-labs.example", "pending")}
    assert orgs.get_organization(org.id).name == "Acme Corp"
    assert orgs.get_organization_by_external_id("org_auth0_acme").id == org.id
    with pytest.raises(NotFoundError):
        orgs.get_organization_by_external_id("missing")
    with pytest.raises(BadRequestError) as err:
        orgs.create_organization(name="Acme again", external_id="org_auth0_acme")
    assert err.value.code == "external_id_already_used"
    for i in range(4):
        orgs.create_organization(name=f"Org {i}")
    assert len(list(orgs.list_organizations(limit=2).auto_paging_iter())) == 5
    assert [o.id for o in orgs.list_organizations(domains=["acme.example"]).data] == [org.id]
    with pytest.raises(UnprocessableEntityError):
        orgs.create_organization(name="Bad", domain_data=[OrganizationDomainData(domain="not a domain",
                                                                                 state="pending")])


def test_memberships_create_list_and_conflict(client, workos_emu):
    um = client.user_management
    org = client.organizations.create_organization(name="Globex")
    users = [um.create_user(email=f"g{i}@example.com") for i in range(3)]
    ms = client.organization_membership
    client.authorization.create_environment_role(slug="admin", name="Admin")  # only known roles are accepted
    first = ms.create_organization_membership(user_id=users[0].id, organization_id=org.id,
                                              role=RoleSingle(role_slug="admin"))
    assert first.status.value == "active" and first.role.slug == "admin"
    assert first.user.id == users[0].id and first.directory_managed is False
    for u in users[1:]:
        ms.create_organization_membership(user_id=u.id, organization_id=org.id)
    by_org = list(ms.list_organization_memberships(organization_id=org.id, limit=2).auto_paging_iter())
    assert sorted(m.user_id for m in by_org) == sorted(u.id for u in users)
    by_user = ms.list_organization_memberships(user_id=users[0].id).data
    assert [m.organization_id for m in by_user] == [org.id]
    with pytest.raises(ConflictError):
        ms.create_organization_membership(user_id=users[0].id, organization_id=org.id)
    with pytest.raises(NotFoundError):
        ms.create_organization_membership(user_id="user_missing", organization_id=org.id)
    assert [u.id for u in um.list_users(organization_id=org.id, order="asc").data] == [u.id for u in users]
    assert len(workos_emu.emulator.memberships) == 3


# ----- MFA -----
def test_totp_factor_import(client, workos_emu):
    user = client.user_management.create_user(email="otp@example.com")
    secret = "JBSWY3DPEHPK3PXPJBSWY3DP"
    enrolled = client.multi_factor_auth.create_user_auth_factor(
        user.id, type="totp", totp_secret=secret, totp_issuer="Acme", totp_user="otp@example.com")
    factor = enrolled.authentication_factor
    assert factor.type.value == "totp" and factor.totp.secret == secret
    assert workos_emu.emulator.totp_secret(factor.id) == secret
    listed = client.multi_factor_auth.list_user_auth_factors(user.id).data
    assert [f.id for f in listed] == [factor.id]
    with pytest.raises(UnprocessableEntityError):
        client.multi_factor_auth.create_user_auth_factor(user.id, type="totp", totp_secret="not base32!")
    with pytest.raises(NotFoundError):
        client.multi_factor_auth.create_user_auth_factor("user_missing", type="totp")


# ----- rate limits -----
def test_write_budget_answers_429_with_retry_after(um, workos_emu):
    workos_emu.emulator.set_limits(RateLimits(writes_per_10s=3, reads_per_10s=100))
    for i in range(3):
        um.create_user(email=f"w{i}@example.com")
    with pytest.raises(RateLimitExceededError) as err:
        um.create_user(email="w3@example.com")
    assert 1 <= err.value.retry_after <= 10 and err.value.code == "rate_limit_exceeded"
    assert len(um.list_users().data) == 3  # reads have their own budget
    r = httpx.post(f"{workos_emu.base_url}/user_management/users", json={"email": "x@example.com"},
                   headers={"Authorization": f"Bearer {workos_emu.api_key}"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert r.json() == {"message": "Too many requests", "code": "rate_limit_exceeded"}


def test_read_budget_and_overall_budget(um, workos_emu, client):
    workos_emu.emulator.set_limits(RateLimits(reads_per_10s=2))
    um.list_users()
    um.list_users()
    with pytest.raises(RateLimitExceededError):
        um.list_users()
    workos_emu.emulator.set_limits(RateLimits(requests_per_minute=2))
    client.organizations.list_organizations()
    um.list_users()
    with pytest.raises(RateLimitExceededError) as err:
        client.organizations.list_organizations()
    assert 1 <= err.value.retry_after <= 60
    workos_emu.emulator.set_limits(RateLimits(requests_per_minute=1, enabled=False))
    for _ in range(3):
        um.list_users()


# ----- faults -----
def test_error_rate_answers_5xx(um, workos_emu):
    workos_emu.emulator.set_faults(Faults(error_rate=1.0, seed=3))
    statuses = set()
    for _ in range(12):
        with pytest.raises(ServerError) as err:
            um.list_users()
        statuses.add(err.value.status_code)
    assert statuses <= {500, 502, 503} and len(statuses) > 1
    assert workos_emu.emulator.users == {}


def test_dropped_connection_is_a_transport_error(um, workos_emu):
    workos_emu.emulator.set_faults(Faults(drop_rate=1.0))
    with pytest.raises(WorkOSError) as err:
        um.create_user(email="drop@example.com")
    assert "Network error" in str(err.value)
    workos_emu.emulator.set_faults(Faults())
    assert um.list_users().data == []  # the server is still fine afterwards


def test_commit_then_fail_makes_the_retry_meet_email_not_available(um, workos_emu):
    workos_emu.emulator.set_faults(Faults(commit_then_fail_rate=1.0))
    with pytest.raises(ServerError):
        um.create_user(email="ghost@example.com")
    assert workos_emu.emulator.user_by_email("ghost@example.com") is not None
    assert um.list_users(email="ghost@example.com").data  # reads are not affected
    with pytest.raises(BadRequestError) as err:
        um.create_user(email="ghost@example.com")
    assert err.value.errors[0]["code"] == "email_not_available"


def test_latency_and_deterministic_fault_sequence(um, workos_emu):
    workos_emu.emulator.set_faults(Faults(latency_ms=60, jitter_ms=20))
    started = time.perf_counter()
    um.list_users()
    assert time.perf_counter() - started >= 0.06

    def outcomes(seed: int) -> list[str]:
        emu = WorkOSEmulator(faults=Faults(error_rate=0.3, drop_rate=0.2, seed=seed))
        return [emu._fault_plan.draw(is_write=True)[1].value for _ in range(30)]

    assert outcomes(5) == outcomes(5) and outcomes(5) != outcomes(6)
    assert {"error", "drop", "none"} <= set(outcomes(5))


def test_request_count(um, workos_emu):
    um.create_user(email="c1@example.com")
    um.list_users()
    um.list_users()
    emu = workos_emu.emulator
    assert emu.request_count() == 3
    assert emu.request_count("GET", "/user_management/users") == 2
    assert emu.request_count("POST") == 1


def test_update_and_delete_organization_memberships_and_factors(client, workos_emu):
    orgs, ms, mfa = client.organizations, client.organization_membership, client.multi_factor_auth
    org = orgs.create_organization(name="Initech", external_id="auth0_org_1")
    renamed = orgs.update_organization(org.id, name="Initech Inc",
                                       domain_data=[OrganizationDomainData(domain="initech.example",
                                                                           state="verified")],
                                       metadata={"tier": "gold"})
    assert renamed.name == "Initech Inc" and [d.domain for d in renamed.domains] == ["initech.example"]
    assert renamed.metadata == {"tier": "gold"} and renamed.external_id == "auth0_org_1"
    user = client.user_management.create_user(email="member@example.com")
    membership = ms.create_organization_membership(user_id=user.id, organization_id=org.id)
    assert ms.get_organization_membership(membership.id).organization_name == "Initech Inc"
    ms.delete_organization_membership(membership.id)
    with pytest.raises(NotFoundError):
        ms.get_organization_membership(membership.id)
    factor = mfa.create_user_auth_factor(user.id, type="totp").authentication_factor
    assert len(workos_emu.emulator.totp_secret(factor.id)) >= 16  # generated when none is given
    assert mfa.get_factor(factor.id).totp.issuer == "WorkOS Sandbox"
    mfa.delete_factor(factor.id)
    with pytest.raises(NotFoundError):
        mfa.get_factor(factor.id)
    orgs.delete_organization(org.id)
    with pytest.raises(NotFoundError):
        orgs.get_organization(org.id)
    with pytest.raises(NotFoundError):
        orgs.get_organization_by_external_id("auth0_org_1")


def test_deleting_a_user_removes_memberships_and_frees_email_and_external_id(client, workos_emu):
    um = client.user_management
    org = client.organizations.create_organization(name="Umbrella")
    user = um.create_user(email="gone@example.com", external_id="auth0|gone")
    client.organization_membership.create_organization_membership(user_id=user.id, organization_id=org.id)
    um.delete_user(user.id)
    assert workos_emu.emulator.memberships == {}
    again = um.create_user(email="gone@example.com", external_id="auth0|gone")
    assert again.id != user.id


def test_wrong_magic_code_and_reset(um, workos_emu):
    um.create_user(email="code@example.com")
    um.create_magic_auth(email="code@example.com")
    with pytest.raises(BadRequestError) as err:
        um.authenticate_with_magic_auth(code="000000x", email="code@example.com")
    assert err.value.code == "invalid_one_time_code"
    workos_emu.emulator.reset()
    assert workos_emu.emulator.users == {} and workos_emu.emulator.request_count() == 0


async def test_async_client_sees_faults_and_rate_limits(workos_emu):
    client = AsyncWorkOSClient(api_key=workos_emu.api_key, client_id=workos_emu.client_id,
                               base_url=workos_emu.base_url, max_retries=0)
    workos_emu.emulator.set_faults(Faults(drop_rate=1.0))
    with pytest.raises(WorkOSError):
        await client.user_management.create_user(email="a@example.com")
    workos_emu.emulator.set_faults(Faults())
    workos_emu.emulator.set_limits(RateLimits(writes_per_10s=1))
    await client.user_management.create_user(email="a@example.com")
    with pytest.raises(RateLimitExceededError) as err:
        await client.user_management.create_user(email="b@example.com")
    assert err.value.retry_after >= 1
