"""The demo tenant, its export files, `Sandbox` and `auth0-workos sandbox`."""

from __future__ import annotations

import gzip
import json
import re
import stat

import httpx
from workos import WorkOSClient
from workos.user_management import PasswordHashed

from wizard.cli import main
from wizard.core.config import Settings
from wizard.sandbox.demo import demo_tenant as demo_tenant_factory
from wizard.sandbox.server import Sandbox

BCRYPT = re.compile(r"^\$2[abxy]\$\d\d\$[./A-Za-z0-9]{53}$")
ROW_KEYS = ["_id", "email_verified", "email", "passwordHash", "password_set_date", "tenant",
            "connection", "_tmp_is_unique", "identifiers"]


def _row_user_id(row: dict) -> str:
    oid = (row.get("_id") or row.get("_ID"))["$oid"]
    return "auth0|" + (row.get("alt_id") or oid)


def test_same_seed_same_tenant_other_seed_other_tenant(demo_tenant):
    again = demo_tenant_factory(7)
    assert again.users == demo_tenant.users and again.password_rows == demo_tenant.password_rows
    assert again.credentials == demo_tenant.credentials
    other = demo_tenant_factory(8)
    assert [u["user_id"] for u in other.users] != [u["user_id"] for u in demo_tenant.users]
    assert other.password_rows[0]["passwordHash"] != demo_tenant.password_rows[0]["passwordHash"]


def test_each_call_gets_its_own_copy():
    a = demo_tenant_factory(7)
    a.users.clear()
    assert len(demo_tenant_factory(7).users) >= 55


def test_tenant_has_the_realistic_mix(demo_tenant):
    users = demo_tenant.users
    assert 55 <= len(users) <= 65
    providers = {u["identities"][0]["provider"] for u in users}
    assert {"auth0", "google-oauth2", "github", "windowslive", "samlp"} <= providers
    notes = demo_tenant.notes
    assert demo_tenant.user(notes["blocked_database"])["blocked"] is True
    assert demo_tenant.user(notes["blocked_social"])["blocked"] is True
    assert demo_tenant.user(notes["unverified_database"])["email_verified"] is False
    assert "given_name" not in demo_tenant.user(notes["missing_names"])
    assert any(not u.get("name", "x").isascii() for u in users)
    same = demo_tenant.users_by_email(demo_tenant.user(notes["duplicate_email_database"])["email"])
    assert {u["identities"][0]["provider"] for u in same} == {"auth0", "google-oauth2"}
    assert len({u["email"] for u in same}) == 2  # differ in case only
    assert "email" not in demo_tenant.user(notes["no_email"])
    assert demo_tenant.user(notes["alt_id"])["user_id"].startswith("auth0|legacy-")


def test_password_rows_follow_auth0s_format_and_cover_each_case(demo_tenant):
    rows = demo_tenant.password_rows
    by_user = {_row_user_id(r): r for r in rows}
    notes = demo_tenant.notes
    plain = by_user[demo_tenant.users[0]["user_id"]]
    assert list(plain) == ROW_KEYS
    assert plain["identifiers"] == [{"type": "email", "value": plain["email"], "verified": True}]
    assert "_ID" in by_user[notes["row_uses__ID"]]
    assert by_user[notes["alt_id"]]["alt_id"] == notes["alt_id"].split("|", 1)[1]
    assert by_user[notes["alt_id"]]["_id"]["$oid"] != by_user[notes["alt_id"]]["alt_id"]
    only_ids = by_user[notes["row_email_only_in_identifiers"]]
    assert "email" not in only_ids and only_ids["identifiers"][0]["value"]
    assert not BCRYPT.match(by_user[notes["truncated_hash"]]["passwordHash"])
    assert notes["no_hash"] not in by_user and notes["no_hash_2"] not in by_user
    user_ids = {u["user_id"] for u in demo_tenant.users}
    orphans = [r for r in rows if _row_user_id(r) not in user_ids]
    assert [r["email"] for r in orphans] == [notes["orphan_row_email"]]
    prefixes = {r["passwordHash"][:4] for r in rows}
    assert {"$2a$", "$2b$", "$2y$"} <= prefixes
    assert by_user[notes["bcrypt_2a"]]["passwordHash"].startswith("$2a$10$")
    assert by_user[notes["bcrypt_2y"]]["passwordHash"].startswith("$2y$10$")


def test_organizations_domains_and_mfa(demo_tenant):
    assert 3 <= len(demo_tenant.organizations) <= 4
    for org in demo_tenant.organizations:
        assert demo_tenant.members[org["id"]]
        assert "domains" not in org  # Auth0 organizations have no domains attribute
    statuses = {d["status"] for ds in demo_tenant.discovery_domains.values() for d in ds}
    assert statuses == {"verified", "pending"}
    aliases = [c for c in demo_tenant.connections if c["options"].get("domain_aliases")]
    enabled_ids = {e["connection_id"] for es in demo_tenant.org_connections.values() for e in es}
    assert any(c["id"] in enabled_ids for c in aliases)
    kinds = {(m["type"], m.get("preferred_authentication_method"))
             for ms in demo_tenant.auth_methods.values() for m in ms}
    assert {("phone", "sms"), ("phone", "voice"), ("totp", None), ("email", None)} <= kinds
    for uid in demo_tenant.auth_methods:
        assert demo_tenant.user(uid)["multifactor"] == ["guardian"]
    assert {f["name"] for f in demo_tenant.guardian_factors if f["enabled"]} == {"sms", "otp", "email"}


def test_write_exports(demo_tenant, demo_exports):
    raw = demo_exports.users_path.read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    lines = gzip.decompress(raw).decode("utf-8").splitlines()
    assert len(lines) == len(demo_tenant.users)
    first = json.loads(lines[0])
    assert first["user_id"] == demo_tenant.users[0]["user_id"] and "identities" in first
    rows = [json.loads(line) for line in demo_exports.passwords_path.read_text().splitlines()]
    assert rows == demo_tenant.password_rows
    for path in (demo_exports.users_path, demo_exports.passwords_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_credentials_sign_in_after_importing_their_hashes(demo_tenant, workos_emu):
    client = WorkOSClient(api_key=workos_emu.api_key, client_id=workos_emu.client_id,
                          base_url=workos_emu.base_url, max_retries=0)
    um = client.user_management
    assert len(demo_tenant.credentials) >= 3
    rows = {}
    for r in demo_tenant.password_rows:
        email = r.get("email") or r["identifiers"][0]["value"]
        rows[email] = r["passwordHash"]
    for email, password in demo_tenant.credentials:
        um.create_user(email=email, email_verified=True,
                       password=PasswordHashed(password_hash=rows[email], password_hash_type="bcrypt"))
        assert um.authenticate_with_password(email=email, password=password).user.email == email


def test_sandbox_start_serves_both_emulators(tmp_path):
    with Sandbox.start(tmp_path / "box") as box:
        env = box.env
        assert set(env) == {"WORKOS_API_KEY", "WORKOS_CLIENT_ID", "WORKOS_BASE_URL", "AUTH0_DOMAIN",
                            "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", "AUTH0_BASE_URL"}
        settings = Settings.load(env_file=None, environ=env)
        assert settings.workos_base_url == box.workos_base_url and settings.has_auth0_credentials
        assert box.settings().auth0_base_url == box.auth0_base_url
        r = httpx.get(f"{box.workos_base_url}/user_management/users",
                      headers={"Authorization": f"Bearer {env['WORKOS_API_KEY']}"})
        assert r.status_code == 200 and r.json()["data"] == []
        token = httpx.post(f"{box.auth0_base_url}/oauth/token", json={
            "grant_type": "client_credentials", "client_id": env["AUTH0_CLIENT_ID"],
            "client_secret": env["AUTH0_CLIENT_SECRET"]}).json()["access_token"]
        users = httpx.get(f"{box.auth0_base_url}/api/v2/users", params={"include_totals": "true"},
                          headers={"Authorization": f"Bearer {token}"}).json()
        assert users["total"] == len(box.tenant.users)
        assert box.exports.users_path.is_file() and box.exports.passwords_path.is_file()
        base = box.workos_base_url
    try:
        httpx.get(base, timeout=1)
        stopped = False
    except httpx.TransportError:
        stopped = True
    assert stopped


def test_sandbox_command_prints_env_and_credentials(tmp_path, capsys):
    env_file = tmp_path / "sandbox.env"
    code = main(["sandbox", "--dir", str(tmp_path / "box"), "--env-file", str(env_file),
                 "--exit-after", "0"])
    out = capsys.readouterr().out
    assert code == 0
    assert "export WORKOS_BASE_URL=http://127.0.0.1:" in out and "export AUTH0_BASE_URL=" in out
    assert str(tmp_path / "box" / "auth0-exports") in out
    email, password = demo_tenant_factory(7).credentials[0]
    assert f"{email}  /  {password}" in out
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines()
                  if line and not line.startswith("#"))
    assert values["WORKOS_API_KEY"] == "sk_test_sandbox"


def test_sandbox_command_rejects_bad_ports(tmp_path, capsys):
    assert main(["sandbox", "--port-workos", "70000", "--exit-after", "0"]) == 2
    assert "between 0 and 65535" in capsys.readouterr().err
