"""Organizations and memberships: Auth0 export (emulator) -> journal -> WorkOS (emulator), real SDKs."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
from workos import WorkOSClient

from wizard.clients.auth0 import Auth0Client
from wizard.clients.errors import ApiError, ErrorKind
from wizard.core.config import Settings
from wizard.core.journal import Journal
from wizard.core.orgs import (
    USER_NOT_IMPORTED,
    create_memberships,
    export_organizations,
    merge_domains,
    migrate_organizations,
    org_counts,
    orgs_gate,
    split_domains,
    workos_call,
)
from wizard.core.records import PlannedUser
from wizard.sandbox.server import serve


def _workos(emu) -> WorkOSClient:
    return WorkOSClient(api_key=emu.api_key, client_id=emu.client_id, base_url=emu.base_url, max_retries=0)


def _import_users(journal: Journal, workos: WorkOSClient, tenant, *, skip: set[str] = frozenset(),
                  updated: set[str] = frozenset()) -> dict[str, str]:
    """Stand-in for the import engine: one WorkOS user per email group, recorded in the journal's id
    map. Users in `skip` are planned but never created (so they are 'not imported')."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for u in tenant.users:
        if u.get("email") and not u.get("blocked"):
            groups[u["email"].lower()].append(u)
    planned = [PlannedUser(auth0_user_id=us[0]["user_id"], group_key=email, email=email, branch="social",
                           request={}, auth0_ids=tuple(u["user_id"] for u in us)) for email, us in groups.items()]
    journal.replace_plan(planned)
    ids = {}
    for p in planned:
        if p.auth0_user_id in skip:
            continue
        user = workos.user_management.create_user(email=p.email, external_id=p.auth0_user_id)
        status = "updated" if p.auth0_user_id in updated else "created"
        journal.mark_result(p.auth0_user_id, status, workos_user_id=user.id,
                            write_kind="create_user" if status == "created" else None)
        for a in p.auth0_ids:
            ids[a] = user.id
    return ids


def _auth0(auth0_emu, base_url: str | None = None, **kw) -> Auth0Client:
    settings = Settings(auth0_domain=auth0_emu.domain, auth0_client_id=auth0_emu.client_id,
                        auth0_client_secret=auth0_emu.client_secret, auth0_base_url=base_url or auth0_emu.base_url)
    return Auth0Client.from_settings(settings, max_per_second=1000, **kw)


class GrantScope:
    """Wraps the Auth0 emulator so its tokens also list `scope` (as a tenant admin would grant it)."""

    def __init__(self, inner, scope: str):
        self.inner, self.scope = inner, scope

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != "/oauth/token":
            return await self.inner(scope, receive, send)
        parts: list[dict] = []

        async def capture(message):
            parts.append(message)

        await self.inner(scope, receive, capture)
        start = next(m for m in parts if m["type"] == "http.response.start")
        body = json.loads(b"".join(m.get("body", b"") for m in parts if m["type"] == "http.response.body"))
        if "scope" in body:
            body["scope"] += " " + self.scope
        payload = json.dumps(body).encode()
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        await send({**start, "headers": headers + [(b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})


def _expected_members(tenant) -> dict[str, set[str]]:
    return {oid: {m["user_id"] for m in ms} for oid, ms in tenant.members.items()}


# ---------------------------------------------------------------------- domains (pure rules)
def test_metadata_domains_split_on_commas_and_semicolons():
    assert split_domains("a.example, b.example;c.example") == ["a.example", "b.example", "c.example"]
    assert split_domains(["X.example."]) == ["x.example"]
    assert split_domains(None) == []


def test_merged_domain_keeps_strongest_state_and_every_source():
    merged = merge_domains([
        {"domain": "acme.example", "state": "pending", "source": "metadata.domains"},
        {"domain": "ACME.example", "state": "verified", "source": "discovery_domain"},
        {"domain": "other.example", "state": "pending", "source": "connection:acme-saml"},
    ])
    assert merged == [
        {"domain": "acme.example", "state": "verified", "sources": ["metadata.domains", "discovery_domain"],
         "valid": True},
        {"domain": "other.example", "state": "pending", "sources": ["connection:acme-saml"], "valid": True},
    ]


# ---------------------------------------------------------------------- export from Auth0
def test_without_the_roles_scope_members_come_without_roles_and_a_note(tmp_path, auth0_emu, demo_tenant):
    with Journal.open(tmp_path) as journal:
        result = export_organizations(_auth0(auth0_emu), journal)  # the emulator grants no roles scope
        assert not result.roles_included
        assert any("read:organization_member_roles" in n for n in result.notes)
        assert result.memberships == sum(len(ms) for ms in demo_tenant.members.values())
        assert all(m["role_slug"] is None for m in journal.memberships())


def test_export_reads_every_org_member_role_and_domain(tmp_path, auth0_emu, demo_tenant):
    auth0_emu.emulator.scopes += " read:organization_member_roles"  # what the server enforces
    with serve(GrantScope(auth0_emu.emulator.app, "read:organization_member_roles")) as base, \
            Journal.open(tmp_path) as journal:
        result = export_organizations(_auth0(auth0_emu, base_url=base), journal)
        orgs = {o["auth0_org_id"]: o for o in journal.orgs()}
        assert set(orgs) == {o["id"] for o in demo_tenant.organizations}
        assert result.memberships == sum(len(ms) for ms in demo_tenant.members.values())
        assert result.roles_included
        for oid, members in demo_tenant.members.items():
            rows = {m["auth0_user_id"]: m for m in journal.memberships(oid)}
            assert set(rows) == {m["user_id"] for m in members}
            assert orgs[oid]["member_count"] == len(members)
            for m in members:
                assert rows[m["user_id"]]["role_slug"] == ",".join(r["name"] for r in m["roles"])
        # domains: each source, each state
        for org in demo_tenant.organizations:
            got = {d["domain"]: d for d in orgs[org["id"]]["domains"]}
            for dd in demo_tenant.discovery_domains.get(org["id"], []):
                assert got[dd["domain"]]["state"] == dd["status"]
                assert "discovery_domain" in got[dd["domain"]]["sources"]
            meta = org.get("metadata") or {}
            for d in split_domains(meta.get("domains")) + split_domains(meta.get("domain")):
                assert d in got
            for oc in demo_tenant.org_connections.get(org["id"], []):
                conn = next(c for c in demo_tenant.connections if c["id"] == oc["connection_id"])
                if conn["strategy"] == "samlp":
                    for alias in conn["options"]["domain_aliases"]:
                        assert f"connection:{conn['name']}" in got[alias]["sources"]
        acme = next(o for o in demo_tenant.organizations if o["name"] == "acme")
        acme_domains = {d["domain"]: d["state"] for d in orgs[acme["id"]]["domains"]}
        assert acme_domains["acme.example"] == "verified"  # discovery verified beats the alias/metadata
        assert acme_domains["acme-corp.example"] == "pending"  # metadata + alias only


# ---------------------------------------------------------------------- WorkOS side
@pytest.fixture
def exported(tmp_path, auth0_emu, demo_tenant):
    journal = Journal.open(tmp_path / "run")
    export_organizations(_auth0(auth0_emu), journal)
    yield journal
    journal.close()


def test_orgs_then_memberships_created_once_and_rerun_adds_nothing(exported, workos_emu, demo_tenant):
    journal, workos, emu = exported, _workos(workos_emu), workos_emu.emulator
    not_imported = demo_tenant.notes["two_orgs_member"]  # a member of two organizations
    ids = _import_users(journal, workos, demo_tenant, skip={not_imported})
    existing_user = next(iter(demo_tenant.members.values()))[1]["user_id"]
    journal.mark_result(existing_user, "updated")  # a user who already existed in WorkOS

    result = migrate_organizations(journal, workos)
    assert result.orgs == {"created": len(demo_tenant.organizations)}
    assert len(emu.organizations) == len(demo_tenant.organizations)
    by_ext = {o["external_id"]: o for o in emu.organizations.values()}
    expected = _expected_members(demo_tenant)
    for oid, user_ids in expected.items():
        org = by_ext[oid]
        have = {m["user_id"] for m in emu.memberships.values() if m["organization_id"] == org["id"]}
        assert have == {ids[u] for u in user_ids if u != not_imported}
    # verified discovery domains arrive verified; metadata-only domains pending
    acme = next(o for o in demo_tenant.organizations if o["name"] == "acme")
    states = {d["domain"]: d["state"] for d in by_ext[acme["id"]]["domains"]}
    assert states["acme.example"] == "verified" and states["acme-corp.example"] == "pending"

    # the member whose user was not imported is reported for each of their organizations
    missing = [p for p in result.problems if p["status"] == USER_NOT_IMPORTED]
    assert {p["auth0_user_id"] for p in missing} == {not_imported}
    assert len(missing) == sum(not_imported in us for us in expected.values()) == 2
    assert len(journal.memberships(status=USER_NOT_IMPORTED)) == 2
    total = sum(len(us) for us in expected.values())
    assert result.memberships == {"created": total - 2, USER_NOT_IMPORTED: 2}
    assert len(journal.writes("create_org")) == len(demo_tenant.organizations)
    assert len(journal.writes("create_membership")) == total - 2

    # re-run: nothing new is written
    posts = emu.request_count("POST")
    again = migrate_organizations(journal, workos)
    assert emu.request_count("POST") == posts
    assert again.orgs == {"already_done": len(demo_tenant.organizations)}
    assert again.memberships.get("created", 0) == 0
    assert len(emu.memberships) == total - 2

    counts = {c.auth0_org_id: c for c in org_counts(journal, workos)}
    for oid, user_ids in expected.items():
        assert counts[oid].expected_members == len(user_ids)
        assert counts[oid].workos_members == len(user_ids - {not_imported})
        assert counts[oid].complete
    gate = orgs_gate(journal)
    assert gate.passed, gate.reason


def test_rerun_after_the_user_is_imported_adds_only_the_missing_memberships(exported, workos_emu, demo_tenant):
    journal, workos, emu = exported, _workos(workos_emu), workos_emu.emulator
    late = demo_tenant.notes["two_orgs_member"]
    _import_users(journal, workos, demo_tenant, skip={late})
    migrate_organizations(journal, workos)
    before = len(emu.memberships)

    user = workos.user_management.create_user(email=next(
        u["email"] for u in demo_tenant.users if u["user_id"] == late).lower(), external_id=late)
    journal.mark_result(late, "created", workos_user_id=user.id)
    again = migrate_organizations(journal, workos)
    assert again.memberships.get("created") == 2
    assert len(emu.memberships) == before + 2
    assert not journal.memberships(status=USER_NOT_IMPORTED)


def test_existing_org_and_existing_membership_count_as_present(exported, workos_emu, demo_tenant):
    journal, workos, emu = exported, _workos(workos_emu), workos_emu.emulator
    ids = _import_users(journal, workos, demo_tenant)
    first = demo_tenant.organizations[0]
    org = workos.organizations.create_organization(name="made by hand", external_id=first["id"])
    member = demo_tenant.members[first["id"]][0]["user_id"]
    workos.organization_membership.create_organization_membership(user_id=ids[member], organization_id=org.id)

    result = migrate_organizations(journal, workos)
    assert result.orgs == {"existing": 1, "created": len(demo_tenant.organizations) - 1}
    assert result.memberships["present"] == 1
    assert len(emu.organizations) == len(demo_tenant.organizations)
    assert sum(1 for m in emu.memberships.values() if m["user_id"] == ids[member]
               and m["organization_id"] == org.id) == 1


def test_conflict_on_create_counts_as_present(exported, workos_emu, demo_tenant):
    """A membership that appears between the listing and the create (409) is present, not failed."""
    journal, workos = exported, _workos(workos_emu)
    ids = _import_users(journal, workos, demo_tenant)
    migrate_organizations(journal, workos, dry_run=True)  # nothing written
    assert not workos_emu.emulator.organizations
    from wizard.core.orgs import create_workos_orgs

    create_workos_orgs(journal, workos)
    first = demo_tenant.organizations[0]
    wid = next(o["workos_org_id"] for o in journal.orgs() if o["auth0_org_id"] == first["id"])
    member = demo_tenant.members[first["id"]][0]["user_id"]
    real_list = workos.organization_membership.list_organization_memberships
    workos.organization_membership.create_organization_membership(user_id=ids[member], organization_id=wid)

    class Blind:  # the listing misses the membership created above
        def __getattr__(self, name):
            return getattr(workos.organization_membership, name)

        @staticmethod
        def list_organization_memberships(**kw):
            page = real_list(**kw)
            page.data = [m for m in page.data if m.user_id != ids[member]]
            return page

    class View:
        organization_membership = Blind()

    result = create_memberships(journal, View())
    assert "failed" not in result.memberships
    assert result.memberships["present"] == 1


def test_dry_run_writes_nothing(exported, workos_emu, demo_tenant):
    journal, workos = exported, _workos(workos_emu)
    _import_users(journal, workos, demo_tenant)
    posts = workos_emu.emulator.request_count("POST")
    result = migrate_organizations(journal, workos, dry_run=True)
    assert workos_emu.emulator.request_count("POST") == posts
    assert result.orgs == {"would_create": len(demo_tenant.organizations)}
    assert all(o["status"] == "planned" for o in journal.orgs())
    assert not journal.writes("create_org")


def test_rate_limited_workos_call_waits_and_retries(workos_emu):
    from wizard.sandbox.ratelimit import RateLimits

    workos = _workos(workos_emu)
    workos_emu.emulator.set_limits(RateLimits(requests_per_minute=1))
    waits = []
    workos_call(lambda: workos.organizations.create_organization(name="one"))
    org = workos_call(lambda: workos.organizations.create_organization(name="two"), on_wait=waits.append,
                      sleep=lambda s: workos_emu.emulator.set_limits(RateLimits()))
    assert org.name == "two" and waits and waits[0].paused_until is not None


def test_invalid_key_stops_with_auth_error(exported, workos_emu):
    bad = WorkOSClient(api_key="sk_test_wrong", client_id=workos_emu.client_id, base_url=workos_emu.base_url,
                       max_retries=0)
    with pytest.raises(ApiError) as info:
        migrate_organizations(exported, bad)
    assert info.value.kind is ErrorKind.AUTH


# ---------------------------------------------------------------------- the command
def _env(monkeypatch, auth0_emu, workos_emu):
    for k, v in {"AUTH0_DOMAIN": auth0_emu.domain, "AUTH0_CLIENT_ID": auth0_emu.client_id,
                 "AUTH0_CLIENT_SECRET": auth0_emu.client_secret, "AUTH0_BASE_URL": auth0_emu.base_url,
                 "WORKOS_API_KEY": workos_emu.api_key, "WORKOS_CLIENT_ID": workos_emu.client_id,
                 "WORKOS_BASE_URL": workos_emu.base_url}.items():
        monkeypatch.setenv(k, v)


def test_orgs_command_dry_run_then_yes_then_rerun(tmp_path, auth0_emu, workos_emu, demo_tenant, monkeypatch, capsys):
    from wizard.cli import main

    _env(monkeypatch, auth0_emu, workos_emu)
    run_dir = tmp_path / "run"
    with Journal.open(run_dir) as journal:
        _import_users(journal, _workos(workos_emu), demo_tenant, skip={demo_tenant.notes["two_orgs_member"]})
    base = ["--env-file", str(tmp_path / "none.env"), "orgs", "--run-dir", str(run_dir), "--auth0-rate", "500"]

    assert main(base) == 2  # not confirmed (no terminal): nothing written
    assert not workos_emu.emulator.organizations
    assert main(base + ["--dry-run"]) == 0
    assert not workos_emu.emulator.organizations
    assert "would create" in capsys.readouterr().out

    assert main(base + ["--yes"]) == 0
    out = capsys.readouterr().out
    assert len(workos_emu.emulator.organizations) == len(demo_tenant.organizations)
    assert "user_not_imported" in out and demo_tenant.notes["two_orgs_member"] in out
    summary = json.loads((run_dir / "orgs.json").read_text())
    assert len(summary["counts"]) == len(demo_tenant.organizations)
    posts = workos_emu.emulator.request_count("POST")
    assert main(base + ["--yes"]) == 0
    assert workos_emu.emulator.request_count("POST") == posts
    with Journal.open(run_dir) as journal:
        assert journal.step("orgs")["status"] == "passed"


def test_faulty_workos_still_ends_complete_without_duplicates(exported, workos_emu, demo_tenant):
    """5xx answers, dropped connections and writes that land but answer 500: retried, reconciled."""
    from functools import partial

    from wizard.sandbox.faults import Faults

    journal, workos, emu = exported, _workos(workos_emu), workos_emu.emulator
    ids = _import_users(journal, workos, demo_tenant)
    emu.set_faults(Faults(error_rate=0.15, drop_rate=0.05, commit_then_fail_rate=0.2, seed=5))
    fast = partial(workos_call, sleep=lambda s: None, attempts=8)
    migrate_organizations(journal, workos, call=fast)
    assert sum(1 for _, _, status in emu.requests if status >= 500) >= 3  # the faults did happen
    emu.set_faults(Faults())
    migrate_organizations(journal, workos, call=fast)  # a re-run finishes whatever is left
    assert sorted(o["external_id"] for o in emu.organizations.values()) == \
        sorted(o["id"] for o in demo_tenant.organizations)
    by_ext = {o["external_id"]: o["id"] for o in emu.organizations.values()}
    pairs = [(m["user_id"], m["organization_id"]) for m in emu.memberships.values()]
    assert len(pairs) == len(set(pairs))
    assert set(pairs) == {(ids[u], by_ext[o]) for o, us in _expected_members(demo_tenant).items() for u in us}
    assert orgs_gate(journal).passed


def test_roles_option_sends_the_auth0_role_as_slug(tmp_path, auth0_emu, workos_emu, demo_tenant):
    workos, emu = _workos(workos_emu), workos_emu.emulator
    auth0_emu.emulator.scopes += " read:organization_member_roles"  # what the server enforces
    with serve(GrantScope(auth0_emu.emulator.app, "read:organization_member_roles")) as base, \
            Journal.open(tmp_path) as journal:
        export_organizations(_auth0(auth0_emu, base_url=base), journal)
        ids = _import_users(journal, workos, demo_tenant)
        workos.authorization.create_environment_role(slug="admin", name="Admin")  # the roles the guess needs
        migrate_organizations(journal, workos, with_roles=True)
    by_ext = {o["external_id"]: o["id"] for o in emu.organizations.values()}
    got = {(m["user_id"], m["organization_id"]): m["role"]["slug"] for m in emu.memberships.values()}
    for oid, members in demo_tenant.members.items():
        for m in members:
            assert got[(ids[m["user_id"]], by_ext[oid])] == m["roles"][0]["name"]


def test_after_the_real_import_every_imported_member_is_in_its_organization(
        tmp_path, auth0_emu, workos_emu, demo_tenant, demo_exports, monkeypatch, capsys):
    """End to end through the CLI: import (engine, id map with merged duplicates), then orgs."""
    from wizard.cli import main
    from wizard.core.records import UserStatus

    _env(monkeypatch, auth0_emu, workos_emu)
    run_dir = tmp_path / "run"
    env = ["--env-file", str(tmp_path / "none.env")]
    assert main(env + ["import", "--users", str(demo_exports.users_path), "--passwords",
                       str(demo_exports.passwords_path), "--run-dir", str(run_dir), "--yes"]) in (0, 1)
    assert main(env + ["orgs", "--run-dir", str(run_dir), "--yes"]) == 0
    capsys.readouterr()
    emu = workos_emu.emulator
    by_ext = {o["external_id"]: o["id"] for o in emu.organizations.values()}
    pairs = {(m["user_id"], m["organization_id"]) for m in emu.memberships.values()}
    with Journal.open(run_dir) as journal:
        for oid, members in demo_tenant.members.items():
            for m in members:
                user = journal.user(m["user_id"])
                row = next(r for r in journal.memberships(oid) if r["auth0_user_id"] == m["user_id"])
                if user is not None and user.status in UserStatus.DONE:
                    assert (user.workos_user_id, by_ext[oid]) in pairs
                    assert row["status"] == "created"
                else:
                    assert row["status"] == USER_NOT_IMPORTED
        assert len(journal.memberships(status="created")) == len(emu.memberships) >= 20


def test_a_5xx_wait_is_labelled_server_error_not_rate_limited(workos_emu):
    """`workos_call` retries a 503 and tells the waiting screen why: a server error, not a 429."""
    from wizard.clients.errors import ApiError as _ApiError
    from wizard.clients.errors import ErrorKind as _Kind
    from wizard.core.orgs import workos_call as _workos_call

    answers = iter([_ApiError(_Kind.TRANSIENT, "unavailable", status=503),
                    _ApiError(_Kind.TRANSIENT, "the request timed out", code="timeout"),
                    _ApiError(_Kind.RATE_LIMITED, "slow down", status=429, retry_after=0.0)])

    def flaky():
        err = next(answers, None)
        if err is not None:
            raise err
        return "ok"

    waits = []
    assert _workos_call(flaky, attempts=5, sleep=lambda s: None, on_wait=waits.append) == "ok"
    assert [w.pause_cause for w in waits] == ["server error (HTTP 503)", "timeout", "rate limited (HTTP 429)"]


def test_an_organization_whose_members_cannot_be_read_is_unknown_not_zero(tmp_path, auth0_emu, demo_tenant):
    """One organization's members answer 404 (removed while we read): it is 'unknown' with the
    reason in the export, the gate and the counts, never '0 members'; the others are read."""
    from wizard.core import documents
    from wizard.core.inventory import summary_lines
    from wizard.core.orgs import org_counts, orgs_gate

    lost = demo_tenant.organizations[0]

    async def app(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == f"/api/v2/organizations/{lost['id']}/members":
            body = json.dumps({"statusCode": 404, "error": "Not Found", "message": "No organization found"}).encode()
            await send({"type": "http.response.start", "status": 404,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        await auth0_emu.emulator.app(scope, receive, send)

    with serve(app) as base, Journal.open(tmp_path) as journal:
        result = export_organizations(_auth0(auth0_emu, base_url=base), journal)
        assert [u["auth0_org_id"] for u in result.unreadable] == [lost["id"]]
        assert result.organizations == len(demo_tenant.organizations)
        orgs = {o["auth0_org_id"]: o for o in journal.orgs()}
        assert orgs[lost["id"]]["member_count"] is None  # unknown, not 0
        gate = orgs_gate(journal)
        assert not gate.passed
        unread = next(c for c in gate.checks if c.name == "Every organization read")
        assert unread.evidence.startswith("unknown: ") and "members could not be read" in unread.evidence
        counts = {c.auth0_org_id: c for c in org_counts(journal, None)}
        assert counts[lost["id"]].auth0_text() == "unknown" and counts[lost["id"]].unknown
        assert documents.ORGS_EXPORT.read(journal)["unreadable"][0]["name"] == (lost.get("name") or lost["id"])
    lines = summary_lines({"organizations": [{"id": "org_1", "name": "acme", "members": None}]})
    assert "  - acme (org_1): members unknown (could not be read)" in lines
    assert "None" not in "\n".join(lines)
