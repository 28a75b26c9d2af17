"""The inventory against the Auth0 emulator and the demo export; expectations come from the tenant data."""

from __future__ import annotations

import copy
import dataclasses
import json
import stat
from collections import Counter

from wizard.clients.auth0 import Auth0Client
from wizard.core.config import Settings
from wizard.core.gates import GateStatus
from wizard.core.inventory import build_inventory, inventory_gate, save_inventory, summary_lines
from wizard.core.journal import Journal
from wizard.sandbox.auth0_emulator import Auth0Emulator
from wizard.sandbox.server import serve


def _client(handle, base_url=None, **kw) -> Auth0Client:
    s = Settings(auth0_domain=handle.domain, auth0_client_id=handle.client_id,
                 auth0_client_secret=handle.client_secret, auth0_base_url=base_url or handle.base_url)
    return Auth0Client.from_settings(s, max_per_second=1000, **kw)


def _kind(identity: dict) -> str:
    if identity["provider"] == "auth0":
        return "database"
    return "social" if identity["isSocial"] else "enterprise"


def _expected_mfa(tenant) -> Counter:
    c: Counter = Counter()
    for methods in tenant.auth_methods.values():
        phones = [m for m in methods if m["type"] == "phone"]
        if phones:
            c[phones[0]["preferred_authentication_method"]] += 1
        if any(m["type"] == "totp" for m in methods):
            c["totp"] += 1
    return c


def test_inventory_from_the_api_matches_the_tenant(tmp_path, auth0_emu, demo_tenant):
    t = demo_tenant
    events = []
    with Journal.open(tmp_path) as journal:
        inv = build_inventory(_client(auth0_emu), None, on_progress=events.append, journal=journal)
        path = save_inventory(journal, inv)
        gate = inventory_gate(journal)
        assert journal.get_document("inventory")["users"]["api_total"] == len(t.users)
    assert inv.source == "api"
    assert inv.users["display"] == f"{len(t.users):,}" and not inv.users["api_capped"]
    assert inv.users["blocked"] == sum(1 for u in t.users if u.get("blocked"))

    by_conn = {m["connection"]: m for m in inv.sign_in_methods}
    assert set(by_conn) == {c["name"] for c in t.connections}
    per_conn = Counter(i["connection"] for u in t.users for i in u["identities"])
    for c in t.connections:
        assert by_conn[c["name"]]["users"] == per_conn[c["name"]]
        assert by_conn[c["name"]]["in_tenant"] is True
    assert by_conn["acme-saml"]["kind"] == "enterprise" and by_conn["github"]["kind"] == "social"
    assert by_conn["Username-Password-Authentication"]["kind"] == "database"
    kinds = Counter(k for u in t.users for k in {_kind(i) for i in u["identities"]})
    assert inv.sign_in_summary == dict(kinds)

    assert {o["id"]: o["members"] for o in inv.organizations} == {o: len(m) for o, m in t.members.items()}
    assert inv.organization_count == len(t.organizations)
    assert inv.mfa["tenant_factors"] == sorted(f["name"] for f in t.guardian_factors if f["enabled"])
    want = _expected_mfa(t)
    assert (inv.mfa["sms_users"], inv.mfa["voice_users"], inv.mfa["totp_users"]) == \
        (want["sms"], want["voice"], want["totp"])
    assert inv.mfa["scan_complete"] and inv.mfa["scanned"] == len(t.users)
    assert any(e.operation == "mfa-scan" and e.done for e in events)

    assert gate.status is GateStatus.PASSED, gate.reason
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(path.read_text())
    assert saved["users"]["display"] == inv.users["display"]
    assert "+1555" not in path.read_text()  # no phone number in the run folder's inventory


def test_inventory_from_the_export_only_says_what_is_unknown(tmp_path, demo_tenant, demo_exports):
    with Journal.open(tmp_path) as journal:
        inv = build_inventory(None, demo_exports.users_path, journal=journal)
        save_inventory(journal, inv)
        gate = inventory_gate(journal)
    assert inv.source == "export"
    assert inv.users["display"] == f"{len(demo_tenant.users):,}" and inv.users["api_total"] is None
    assert inv.organizations is None
    assert inv.mfa["users_with_mfa_flag"] == sum(1 for u in demo_tenant.users if u.get("multifactor"))
    assert inv.mfa["tenant_factors"] is None and "sms_users" not in inv.mfa
    text = " ".join(inv.unknown)
    assert "Organizations" in text and "SMS cannot be told from TOTP" in text
    per_conn = Counter(i["connection"] for u in demo_tenant.users for i in u["identities"])
    assert {m["connection"]: m["users"] for m in inv.sign_in_methods} == dict(per_conn)
    assert all(m["in_tenant"] is None for m in inv.sign_in_methods)
    assert gate.passed


def test_api_and_export_together_use_the_export_as_the_user_truth(tmp_path, auth0_emu, demo_tenant, demo_exports):
    with Journal.open(tmp_path) as journal:
        inv = build_inventory(_client(auth0_emu), demo_exports.users_path, journal=journal, scan_mfa="flagged")
    assert inv.source == "api+export"
    assert inv.users["export_users"] == inv.users["api_total"] == len(demo_tenant.users)
    flagged = [u["user_id"] for u in demo_tenant.users if u.get("multifactor")]
    assert inv.mfa["scan_targets"] == len(flagged)
    assert auth0_emu.emulator.request_count("GET", "/api/v2/users/") == len(flagged)


def test_mfa_scan_resumes_where_it_stopped(tmp_path, auth0_emu, demo_tenant):
    emu = auth0_emu.emulator
    with Journal.open(tmp_path) as journal:
        first = build_inventory(_client(auth0_emu), None, journal=journal, stop_mfa_after=10)
        save_inventory(journal, first)
        assert not first.mfa["scan_complete"]
        gate = inventory_gate(journal)
        assert gate.status is GateStatus.FAILED and "MFA" in gate.reason
        assert emu.request_count("GET", "/api/v2/users/") == 10
        second = build_inventory(_client(auth0_emu), None, journal=journal)
        save_inventory(journal, second)
        assert inventory_gate(journal).passed
    assert emu.request_count("GET", "/api/v2/users/") == len(demo_tenant.users)  # nobody read twice
    want = _expected_mfa(demo_tenant)
    assert second.mfa["sms_users"] == want["sms"] and second.mfa["scan_complete"]


def test_over_1000_users_the_api_count_is_capped_and_said_so(tmp_path, demo_tenant):
    big = dataclasses.replace(demo_tenant, users=[])
    for n in range(1100):
        u = copy.deepcopy(demo_tenant.users[n % len(demo_tenant.users)])
        u["user_id"] = f"auth0|big{n:05d}"
        big.users.append(u)
    emu = Auth0Emulator(big)
    with serve(emu.app) as base:
        s = Settings(auth0_domain=emu.domain, auth0_client_id=emu.client_id, auth0_client_secret=emu.client_secret,
                     auth0_base_url=base)
        client = Auth0Client.from_settings(s, max_per_second=1000)
        inv = build_inventory(client, None, scan_mfa="none")
    assert inv.users["api_capped"] and inv.users["api_total"] == 1000
    assert inv.users["display"] == "1,000+ (the export's line count is the truth)"
    assert sum(m["users"] for m in inv.sign_in_methods) == 1000  # paging stopped at the API's limit
    assert not any(status == 400 for _, _, status in emu.requests)  # never paged past it
    assert any("first 1,000" in u for u in inv.unknown)


def test_inventory_command_with_export_only(tmp_path, demo_tenant, demo_exports, monkeypatch, capsys):
    from wizard.cli import main

    for k in ("AUTH0_DOMAIN", "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", "AUTH0_BASE_URL"):
        monkeypatch.delenv(k, raising=False)
    run_dir = tmp_path / "run"
    env = ["--env-file", str(tmp_path / "none.env")]
    assert main(env + ["inventory", "--run-dir", str(run_dir)]) == 2  # neither export nor credentials
    code = main(env + ["inventory", "--run-dir", str(run_dir), "--users", str(demo_exports.users_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert f"Users: {len(demo_tenant.users)}" in out and "unknown:" in out
    assert (run_dir / "inventory.json").is_file()
    with Journal.open(run_dir) as journal:
        assert journal.step("inventory")["status"] == "passed"
        lines = summary_lines(journal.get_document("inventory"))
    assert all(line in out for line in lines), "the command prints the shared summary"
    assert "Sign-in methods (users per kind): " in out and "MFA: " in out


def test_summary_lines_read_like_a_report(tmp_path, auth0_emu, demo_tenant):
    """One plain line per fact (the command and the wizard's view share it), never a key dump."""
    with Journal.open(tmp_path) as journal, _client(auth0_emu) as client:
        inv = build_inventory(client, None, journal=journal)
    lines = summary_lines(inv.as_dict())
    blocked = sum(1 for u in demo_tenant.users if u.get("blocked"))
    assert lines[0] == f"Users: {len(demo_tenant.users)}" + (f" ({blocked} blocked)" if blocked else "")
    assert lines[1].startswith("Sign-in methods (users per kind): ")
    assert sum(1 for line in lines if " user(s)" in line and line.startswith("  - ")) == len(inv.sign_in_methods)
    assert f"Organizations: {len(demo_tenant.organizations)}" in lines
    assert any(line.startswith("Tenant MFA factors enabled: ") for line in lines)
    mfa = next(line for line in lines if line.startswith("MFA (from "))
    assert f"SMS {inv.mfa['sms_users']}, voice {inv.mfa['voice_users']}" in mfa
    assert not any("item(s)" in line or "entries" in line for line in lines)


def test_missing_inventory_hint_names_the_button_and_the_command(tmp_path):
    with Journal.open(tmp_path) as journal:
        result = inventory_gate(journal)
    hint = result.checks[0].fix_hint
    assert hint.startswith("Press Build inventory") and "auth0-workos inventory --run-dir" in hint, hint


class Refuse:
    """Answers 403 insufficient_scope on chosen paths, as Auth0 does for a token without the scope."""

    def __init__(self, inner, rules):
        self.inner, self.rules = inner, rules

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            for prefix, suffix, needed in self.rules:
                if scope["path"].startswith(prefix) and scope["path"].endswith(suffix):
                    body = json.dumps({"statusCode": 403, "error": "Forbidden", "errorCode": "insufficient_scope",
                                       "message": f"Insufficient scope, expected any of: {needed}"}).encode()
                    await send({"type": "http.response.start", "status": 403,
                                "headers": [(b"content-type", b"application/json")]})
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.inner(scope, receive, send)


def test_missing_scopes_become_named_unknowns(tmp_path, auth0_emu, demo_tenant):
    rules = [("/api/v2/guardian/factors", "", "read:guardian_factors"),
             ("/api/v2/users/", "/authentication-methods", "read:authentication_methods")]
    with serve(Refuse(auth0_emu.emulator.app, rules)) as base, Journal.open(tmp_path) as journal:
        inv = build_inventory(_client(auth0_emu, base_url=base), None, journal=journal)
        save_inventory(journal, inv)
        gate = inventory_gate(journal)
    assert inv.users["api_total"] == len(demo_tenant.users)  # the rest of the inventory is there
    assert inv.organization_count == len(demo_tenant.organizations)
    text = " ".join(inv.unknown)
    assert "read:guardian_factors" in text and "read:authentication_methods" in text
    assert inv.mfa["tenant_factors"] is None and not inv.mfa["scan_complete"]
    assert gate.status is GateStatus.FAILED  # the MFA users are not identified yet
    assert "read:authentication_methods" in gate.checks[-1].fix_hint


def test_unreadable_export_lines_are_counted_not_dropped(tmp_path, demo_tenant, demo_exports):
    import gzip

    lines = gzip.decompress(demo_exports.users_path.read_bytes()).decode().splitlines()
    lines.insert(3, "{not json")
    lines.insert(7, json.dumps({"email": "no-id@example.com"}))
    broken = tmp_path / "users.json.gz"
    broken.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    inv = build_inventory(None, broken)
    assert inv.users["export_users"] == len(demo_tenant.users)
    assert inv.users["export_unreadable_lines"] == 2
    assert inv.users["display"] == f"{len(demo_tenant.users)} (+2 unreadable line(s) in the export)"


def test_rate_limit_pauses_show_on_the_scan_progress(tmp_path, auth0_emu, demo_tenant):
    from wizard.sandbox.auth0_emulator import Auth0Limits

    auth0_emu.emulator.set_limits(Auth0Limits(requests_per_second=30))
    events = []
    client = _client(auth0_emu, respect_headers=False)
    with Journal.open(tmp_path) as journal:
        inv = build_inventory(client, None, on_progress=events.append, journal=journal)
    paused = [e for e in events if e.operation == "mfa-scan" and e.paused_until is not None]
    assert paused and "rate limit" in paused[0].latest_error
    assert inv.mfa["scan_complete"] and inv.mfa["scanned"] == len(demo_tenant.users)
