"""Roles and permissions: Auth0 RBAC (emulator) -> journal -> WorkOS (emulator), both real SDKs over HTTP."""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict

import pytest
from workos import WorkOSClient

from wizard.clients.auth0 import Auth0Client
from wizard.clients.errors import ApiError, ErrorKind
from wizard.clients.workos import make_client
from wizard.core import documents
from wizard.core import roles as core
from wizard.core.config import Settings
from wizard.core.journal import Journal
from wizard.core.orgs import export_organizations, migrate_organizations
from wizard.core.pacing import Budget, shared_pacer
from wizard.core.records import PlannedUser
from wizard.sandbox.auth0_emulator import FULL_SCOPES
from wizard.sandbox.demo import LONG_PERMISSION
from wizard.tasks.roles import rollback_roles, run_roles, verify_roles

WRITES = ("POST", "PUT", "PATCH", "DELETE")


# ---------------------------------------------------------------------------- helpers
@pytest.fixture
def full_auth0(auth0_emu):
    """The Auth0 emulator granting every scope the roles step reads."""
    auth0_emu.emulator.scopes = FULL_SCOPES
    return auth0_emu


def _workos(emu) -> WorkOSClient:
    return WorkOSClient(api_key=emu.api_key, client_id=emu.client_id, base_url=emu.base_url, max_retries=0)


def _auth0(settings: Settings) -> Auth0Client:
    return Auth0Client.from_settings(settings, max_per_second=1000)


def _import_users(journal: Journal, workos: WorkOSClient, tenant) -> dict[str, str]:
    """Stand-in for the import engine: one WorkOS user per email, in the journal's id map."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for u in tenant.users:
        if u.get("email") and not u.get("blocked"):
            groups[u["email"].lower()].append(u)
    planned = [PlannedUser(auth0_user_id=us[0]["user_id"], group_key=e, email=e, branch="social", request={},
                           auth0_ids=tuple(u["user_id"] for u in us)) for e, us in groups.items()]
    journal.replace_plan(planned)
    ids = {}
    for p in planned:
        user = workos.user_management.create_user(email=p.email, external_id=p.auth0_user_id)
        journal.mark_result(p.auth0_user_id, "created", workos_user_id=user.id, write_kind="create_user")
        for a in p.auth0_ids:
            ids[a] = user.id
    return ids


@pytest.fixture
def migrated(tmp_path, full_auth0, workos_emu, sandbox_settings, demo_tenant):
    """A run whose users, organizations and memberships are in WorkOS (the steps before roles)."""
    journal = Journal.open(tmp_path / "run")
    workos = _workos(workos_emu)
    with _auth0(sandbox_settings) as client:
        export_organizations(client, journal)
    ids = _import_users(journal, workos, demo_tenant)
    migrate_organizations(journal, workos)
    yield journal, ids
    journal.close()


def _writes(emu) -> list[list]:
    return [r for r in emu.requests if r[0] in WRITES]


def _by_name(plan: core.RolesPlan) -> dict[str, core.RolePlan]:
    return {r.name: r for r in plan.roles}


def _membership_roles(emu, ids, tenant) -> dict[tuple[str, str], list[str]]:
    """(Auth0 org id, Auth0 user id) -> WorkOS role slugs."""
    ext = {o["id"]: o["external_id"] for o in emu.organizations.values()}
    by_workos = defaultdict(list)
    for a, w in ids.items():
        by_workos[w].append(a)
    out = {}
    for m in emu.memberships.values():
        for a in by_workos[m["user_id"]]:
            out[(ext[m["organization_id"]], a)] = [r["slug"] for r in m["roles"]]
    return out


# ---------------------------------------------------------------------------- slug rules (pure)
def test_role_slugs_are_lowercase_allowed_characters_and_at_most_48():
    assert core.slugify_role("Support Agent (Tier 1)", "rol_1") == "support-agent-tier-1"
    assert core.slugify_role("Ärzte & Pflege", "rol_1") == "arzte-pflege"
    long = core.slugify_role("A" * 80, "rol_1")
    assert len(long) == 48 and long == core.slugify_role("A" * 80, "rol_1")  # stable
    assert long != core.slugify_role("A" * 80, "rol_2")  # the hash tail keeps them apart
    assert core.slugify_role("!!!", "rol_x").startswith("auth0-role-")
    for slug in (long, core.slugify_role("a.b:c", "rol_1")):
        assert set(slug) <= set("abcdefghijklmnopqrstuvwxyz0123456789-_")


def test_long_permission_names_shorten_stably_with_a_hash_suffix():
    rows = [{"perm_key": core.permission_key("https://api.reports.example", LONG_PERMISSION),
             "resource_server": "https://api.reports.example", "name": LONG_PERMISSION}]
    (p,) = core.map_permissions(rows, [])
    assert len(LONG_PERMISSION) > 48 and len(p.slug) == 48 and p.rule == "shortened"
    assert p.slug.startswith(LONG_PERMISSION[:39]) and re.fullmatch(r"-[0-9a-f]{8}", p.slug[39:])
    assert core.map_permissions(rows, [])[0].slug == p.slug


def test_same_permission_name_on_two_apis_is_prefixed_with_each_api():
    rows = [{"perm_key": core.permission_key(rs, "read:reports"), "resource_server": rs, "name": "read:reports"}
            for rs in ("https://api.reports.example", "https://api.billing.example")]
    rows.append({"perm_key": core.permission_key("https://api.billing.example", "read:invoices"),
                 "resource_server": "https://api.billing.example", "name": "read:invoices"})
    slugs = {(p.resource_server, p.name): p.slug for p in core.map_permissions(rows, [])}
    assert slugs[("https://api.reports.example", "read:reports")] == "api.reports.example:read:reports"
    assert slugs[("https://api.billing.example", "read:reports")] == "api.billing.example:read:reports"
    assert slugs[("https://api.billing.example", "read:invoices")] == "read:invoices"


def test_permission_names_meeting_on_one_slug_both_get_their_hash():
    rows = [{"perm_key": core.permission_key("https://a", n), "resource_server": "https://a", "name": n}
            for n in ("Read:Reports", "read:reports")]
    slugs = [p.slug for p in core.map_permissions(rows, [])]
    assert len(set(slugs)) == 2 and all(s.startswith("read:reports-") for s in slugs)


def _role_rows(*names):
    return [{"auth0_role_id": f"rol_{i}", "name": n, "description": None, "permission_keys_json": "[]",
             "slug": None, "status": "planned"} for i, n in enumerate(names)]


def _workos_role(slug, description=None, permissions=()):
    return {"slug": slug, "name": slug, "description": description, "permissions": list(permissions)}


def test_colliding_role_names_resolve_deterministically():
    plan = core.map_roles(_role_rows("read-only", "Read Only"), {}, [_workos_role("member")])
    got = {r.name: r.slug for r in plan.roles}
    assert got == {"Read Only": "read-only", "read-only": "read-only-2"}  # code-point order: "R" < "r"
    assert plan.collisions == [{"slug": "read-only", "roles": ["Read Only", "read-only"],
                                "chosen": ["read-only", "read-only-2"]}]
    again = core.map_roles(list(reversed(_role_rows("read-only", "Read Only"))), {}, [_workos_role("member")])
    assert {r.name: r.slug for r in again.roles} == got


def test_a_slug_taken_by_a_role_this_tool_did_not_create_is_never_changed():
    plan = core.map_roles(_role_rows("Member"), {}, [_workos_role("member", "Default role", ["x"])])
    (r,) = plan.roles
    assert (r.slug, r.action) == ("member-auth0", "create")
    assert plan.taken == [{"slug": "member", "auth0_role": "Member", "chosen": "member-auth0"}]
    assert core.map_roles(_role_rows("Member"), {}, [
        _workos_role("member"), _workos_role("member-auth0")]).roles[0].slug == "member-auth0-2"


def test_reusing_an_existing_role_is_an_explicit_choice_that_adds_permissions():
    rows = _role_rows("member")
    rows[0]["permission_keys_json"] = json.dumps(["k1"])
    plan = core.map_roles(rows, {"k1": "read:reports"}, [_workos_role("member", None, ["own:thing"])],
                          reuse=["member", "nothing-here"])
    (r,) = plan.roles
    assert (r.slug, r.action, r.target) == ("member", "reuse", ["own:thing", "read:reports"])
    assert plan.unknown_reuse == ["nothing-here"]


def test_a_role_found_by_its_auth0_id_keeps_its_slug():
    plan = core.map_roles(_role_rows("member"), {}, [_workos_role("member"),
                                                     _workos_role("member-auth0", "x [auth0:rol_0]")])
    assert (plan.roles[0].slug, plan.roles[0].action) == ("member-auth0", "ours")


def test_descriptions_carry_the_auth0_id_within_150_characters():
    d = core.role_description("rol_abc", "x" * 400, "n")
    assert len(d) <= 150 and d.endswith("[auth0:rol_abc]")
    p = core.permission_description("0123456789ab", "https://a", "y" * 400)
    assert len(p) <= 150 and p.endswith("[auth0-permission:0123456789ab]")


# ---------------------------------------------------------------------------- end to end over HTTP
def test_full_run_creates_permissions_roles_and_membership_roles(migrated, workos_emu, sandbox_settings,
                                                                 demo_tenant):
    journal, ids = migrated
    emu = workos_emu.emulator
    emu.multiple_roles_enabled = True
    result = run_roles(journal, sandbox_settings)
    assert result.outcome.ok, result.outcome.problems
    roles = _by_name(result.plan)
    assert roles["member"].slug == "member-auth0"  # the seeded default role is never touched
    assert emu.environment_roles["member"]["permissions"] == []
    assert roles["Billing Manager"].slug == "billing-manager"
    assert roles["Support Agent (Tier 1)"].slug == "support-agent-tier-1"
    assert (roles["Read Only"].slug, roles["read-only"].slug) == ("read-only", "read-only-2")
    assert set(emu.environment_roles) == {"member", "member-auth0", "admin", "billing-manager",
                                          "support-agent-tier-1", "read-only", "read-only-2"}
    assert sorted(emu.environment_roles["read-only"]["permissions"]) == [
        "api.billing.example:read:reports", "api.reports.example:read:reports"]
    assert len(emu.permissions) == 6 and all(len(s) <= 48 for s in emu.permissions)
    assert "[auth0:" in emu.environment_roles["admin"]["description"]
    got = _membership_roles(emu, ids, demo_tenant)
    for oid, members in demo_tenant.members.items():
        for m in members:
            want = {roles[r["name"]].slug for r in m["roles"]}
            assert set(got[(oid, m["user_id"])]) == want, m["user_id"]
    assert result.gate.passed, result.gate.checks
    rows = list(csv.DictReader(result.csv_path.open()))
    assert {r["auth0_role_name"]: r["workos_role_slug"] for r in rows}["member"] == "member-auth0"
    assert verify_roles(journal, sandbox_settings).ok


def test_a_rerun_creates_and_changes_nothing(migrated, workos_emu, sandbox_settings):
    journal, _ = migrated
    emu = workos_emu.emulator
    run_roles(journal, sandbox_settings)
    before = json.dumps([emu.permissions, emu.environment_roles, emu.memberships], sort_keys=True)
    n = len(emu.requests)
    again = run_roles(journal, sandbox_settings)
    after = json.dumps([emu.permissions, emu.environment_roles, emu.memberships], sort_keys=True)
    assert after == before
    assert not [r for r in emu.requests[n:] if r[0] in WRITES and r[2] < 300]
    assert again.outcome.roles.get("created", 0) == 0 and again.outcome.permissions.get("created", 0) == 0


def test_roles_writes_draw_on_the_runs_one_write_window_and_it_is_kept(migrated, workos_emu, sandbox_settings):
    """The roles step shares the users' budget: each of its writes is counted in the run's pacer
    (an hour-long window here, so nothing leaves it mid-test) and the window is kept for the next
    process of the run."""
    journal, _ = migrated
    emu = workos_emu.emulator
    pacer = shared_pacer(sandbox_settings.workos_base_url, journal, write=Budget(10_000, 3600.0))
    counted, sent = pacer.writes.count(pacer._clock()), len(_writes(emu))
    run_roles(journal, sandbox_settings)
    made = len(_writes(emu)) - sent
    assert made > 10
    assert pacer.writes.count(pacer._clock()) - counted == made
    assert len(documents.PACER_WINDOW.read(journal)["writes"]) == pacer.writes.count(pacer._clock())


def test_dry_run_writes_nothing_and_says_what_cannot_be_undone(migrated, workos_emu, sandbox_settings):
    journal, _ = migrated
    emu = workos_emu.emulator
    n = len(emu.requests)
    result = run_roles(journal, sandbox_settings, dry_run=True)
    assert not [r for r in emu.requests[n:] if r[0] in WRITES]
    assert result.outcome.dry_run and result.outcome.roles["would_create"] == 6
    assert result.outcome.permissions["would_create"] == 6
    assert any("cannot" in t.lower() and "delete" in t.lower() for t in result.outcome.cannot_undo)
    assert result.outcome.memberships.get("would_change")
    assert journal.get_document(core.DOC_DRY_RUN)["dry_run"] is True
    assert set(emu.environment_roles) == {"member"}


def test_multiple_roles_off_falls_back_to_the_highest_ranked_role_and_reports_the_rest(
        migrated, workos_emu, sandbox_settings, demo_tenant):
    journal, ids = migrated
    emu = workos_emu.emulator
    assert emu.multiple_roles_enabled is False  # as in a fresh WorkOS environment
    result = run_roles(journal, sandbox_settings)
    assert result.outcome.multiple_roles is False and result.outcome.ok
    order = list(emu.environment_roles)
    roles = _by_name(result.plan)
    got = _membership_roles(emu, ids, demo_tenant)
    left_out = [p for p in result.outcome.problems if p["what"] == "roles_left_out"]
    for oid, members in demo_tenant.members.items():
        for m in members:
            want = sorted({roles[r["name"]].slug for r in m["roles"]}, key=order.index)
            assert got[(oid, m["user_id"])] == want[:1]
    assert left_out and all("left out" in p["message"] for p in left_out)
    assert verify_roles(journal, sandbox_settings).ok
    n = len(emu.requests)
    run_roles(journal, sandbox_settings)  # re-run: at most the one probe, which WorkOS refuses
    assert [r for r in emu.requests[n:] if r[0] in WRITES and r[2] < 300] == []


def test_reuse_existing_member_role_adds_permissions_and_rollback_restores_them(
        migrated, workos_emu, sandbox_settings):
    journal, _ = migrated
    emu = workos_emu.emulator
    result = run_roles(journal, sandbox_settings, reuse_existing=["member"])
    assert _by_name(result.plan)["member"].action == "reuse"
    assert "member-auth0" not in emu.environment_roles
    assert emu.environment_roles["member"]["permissions"] == ["api.reports.example:read:reports"]
    summary = rollback_roles(journal, sandbox_settings)
    assert emu.environment_roles["member"]["permissions"] == []
    assert not emu.permissions  # every permission this run created is gone
    assert summary["counts"]["permissions_deleted"] == 6
    assert set(summary["roles_kept"]) == {"admin", "billing-manager", "support-agent-tier-1", "read-only",
                                          "read-only-2"}
    assert summary["cannot_undo"]


def test_rollback_restores_each_memberships_previous_roles(migrated, workos_emu, sandbox_settings):
    journal, _ = migrated
    emu = workos_emu.emulator
    emu.multiple_roles_enabled = True
    before = {m: [r["slug"] for r in v["roles"]] for m, v in emu.memberships.items()}
    run_roles(journal, sandbox_settings)
    assert {m: [r["slug"] for r in v["roles"]] for m, v in emu.memberships.items()} != before
    summary = rollback_roles(journal, sandbox_settings)
    assert {m: [r["slug"] for r in v["roles"]] for m, v in emu.memberships.items()} == before
    assert summary["counts"]["memberships_restored"] > 0 and not summary["failures"]
    kinds = {w["kind"] for w in journal.writes()}
    assert {"create_permission", "create_role", "set_role_permissions", "set_membership_roles",
            "restore_membership_roles", "delete_permission"} <= kinds
    again = run_roles(journal, sandbox_settings)  # after a rollback the step can run again
    assert again.outcome.ok and again.outcome.roles.get("created", 0) == 0
    assert verify_roles(journal, sandbox_settings).ok


def test_verification_names_the_member_and_the_role_that_differ(migrated, workos_emu, sandbox_settings):
    journal, _ = migrated
    emu = workos_emu.emulator
    run_roles(journal, sandbox_settings)
    emu.environment_roles["billing-manager"]["permissions"].append("read:invoices-extra")
    row = next(r for r in journal.rbac_rows("rbac_member_roles") if r["status"] == "done")
    m = emu.memberships[row["workos_membership_id"]]
    m["roles"], m["role"] = [{"slug": "member"}], {"slug": "member"}
    check = verify_roles(journal, sandbox_settings)
    assert not check.ok
    assert "billing-manager" in check.evidence and "read:invoices-extra" in check.evidence
    assert row["auth0_user_id"] in check.evidence and "WorkOS has member" in check.evidence


# ---------------------------------------------------------------------------- the command (subprocess)
def _env(sandbox_settings, tmp_path) -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKOS_", "AUTH0_"))}
    env.update({"WORKOS_API_KEY": sandbox_settings.workos_api_key, "WORKOS_CLIENT_ID": sandbox_settings.workos_client_id,
                "WORKOS_BASE_URL": sandbox_settings.workos_base_url, "AUTH0_DOMAIN": sandbox_settings.auth0_domain,
                "AUTH0_CLIENT_ID": sandbox_settings.auth0_client_id,
                "AUTH0_CLIENT_SECRET": sandbox_settings.auth0_client_secret,
                "AUTH0_BASE_URL": sandbox_settings.auth0_base_url})
    return env


def _cli(env, cwd, *args) -> tuple[int, str, str]:
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-m", "wizard", "roles", *args], env=env, cwd=cwd, capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def test_command_dry_run_then_yes_then_rerun_then_rollback(migrated, workos_emu, sandbox_settings, tmp_path):
    journal, _ = migrated
    run_dir = str(journal.run_dir)
    env = _env(sandbox_settings, tmp_path)
    emu = workos_emu.emulator
    code, out, err = _cli(env, tmp_path, "--run-dir", run_dir, "--dry-run")
    assert code == 0, err
    assert "Read 6 role(s), 6 permission(s)" in out
    assert re.search(r"  member \(rol_\w+\) -> member-auth0 \[create", out) and "Taken in WorkOS: 'member'" in out
    assert "Collision: Read Only, read-only all slug to 'read-only'" in out
    assert "Cannot be undone: Environment roles cannot be deleted" in out
    assert "Dry run, nothing written." in out and set(emu.environment_roles) == {"member"}
    assert "None" not in out and "[]" not in out
    code, out, err = _cli(env, tmp_path, "--run-dir", run_dir)  # no terminal, no --yes: nothing written
    assert code == 2 and "not confirmed" in err and set(emu.environment_roles) == {"member"}
    code, out, err = _cli(env, tmp_path, "--run-dir", run_dir, "--yes")
    assert code == 0, err + out
    assert "Roles: 6 created" in out and (journal.run_dir / "roles.csv").exists()
    assert oct((journal.run_dir / "roles.csv").stat().st_mode & 0o777) == "0o600"
    code, out, err = _cli(env, tmp_path, "--run-dir", run_dir, "--yes")
    assert code == 0 and "Roles: 6 present" in out
    code, out, err = _cli(env, tmp_path, "--run-dir", run_dir, "--rollback", "--yes")
    assert code == 0, err
    assert "Kept (no API deletes an environment role)" in out and not emu.permissions


def test_command_usage_errors_exit_2(migrated, sandbox_settings, tmp_path):
    journal, _ = migrated
    env = _env(sandbox_settings, tmp_path)
    code, _, err = _cli(env, tmp_path, "--run-dir", str(journal.run_dir), "--reuse-existing", "nope", "--dry-run")
    assert code == 2 and "nope" in err
    code, _, err = _cli(env, tmp_path, "--run-dir", str(journal.run_dir), "--default-org", "nowhere", "--dry-run")
    assert code == 2 and "--default-org nowhere" in err
    env.pop("WORKOS_API_KEY")
    code, _, err = _cli(env, tmp_path, "--run-dir", str(journal.run_dir))
    assert code == 2 and "WORKOS_API_KEY" in err


def test_command_names_the_missing_scope_and_exits_1(migrated, full_auth0, sandbox_settings, tmp_path):
    journal, _ = migrated
    full_auth0.emulator.scopes = FULL_SCOPES.replace("read:roles", "")
    code, _, err = _cli(_env(sandbox_settings, tmp_path), tmp_path, "--run-dir", str(journal.run_dir), "--dry-run")
    assert code == 1 and "read:roles" in err and "Traceback" not in err


# ---------------------------------------------------------------------------- the wizard (Textual)
async def test_tui_roles_step_shows_the_mapping_and_writes_only_after_typed_confirmation(
        migrated, workos_emu, sandbox_settings):
    from textual.widgets import Button, Static
    from tui_helpers import click, screen_text, settle, start_at, type_into

    from wizard.tui.app import WizardApp

    journal, _ = migrated
    emu = workos_emu.emulator
    start_at(journal.run_dir, "roles")
    app = WizardApp(journal.run_dir, sandbox_settings)
    async with app.run_test(size=(130, 60)) as pilot:
        await settle(pilot)
        assert app.current_step.id == "roles"
        assert app.query_one("#roles-apply", Button).disabled, "no write before a dry run"
        await click(pilot, "#roles-read")
        await settle(pilot)
        await type_into(pilot, "#roles-reuse", "member")
        await click(pilot, "#roles-preview")
        await settle(pilot)
        mapping = str(app.query_one("#roles-mapping", Static).render())
        assert "Cannot be undone" in mapping and "Collision: Read Only, read-only" in mapping
        assert "Reuse: 'member' keeps its own permissions" in mapping
        assert set(emu.environment_roles) == {"member"}, "the dry run wrote nothing"
        await type_into(pilot, "#roles-confirm", "yes")
        await click(pilot, "#roles-apply")
        await settle(pilot)
        assert set(emu.environment_roles) == {"member"}, "a wrong word writes nothing"
        await type_into(pilot, "#roles-confirm", "roles")
        await click(pilot, "#roles-apply")
        await settle(pilot)
        assert "billing-manager" in emu.environment_roles and "member-auth0" not in emu.environment_roles
        assert app.results["roles"].passed, screen_text(app)
        assert "None" not in screen_text(app)


def test_not_applicable_is_refused_while_roles_exist(migrated, sandbox_settings):
    from wizard.core import steps

    journal, _ = migrated
    run_roles(journal, sandbox_settings, dry_run=True)
    with pytest.raises(ValueError, match="role"):
        steps.mark_not_applicable(journal, "roles", "we do not use roles at all")


# ---------------------------------------------------------------------------- tenant-level roles, scopes
def test_tenant_level_roles_are_reported_or_assigned_within_a_named_default_org(
        migrated, workos_emu, sandbox_settings, demo_tenant):
    journal, ids = migrated
    emu = workos_emu.emulator
    emu.multiple_roles_enabled = True
    result = run_roles(journal, sandbox_settings)
    tenant = core.tenant_rows(journal)
    assert {r["auth0_user_id"] for r in tenant} == set(demo_tenant.user_roles)
    assert all(r["status"] == "report_only" for r in tenant)
    assert any("outside any organization" in line for line in core.tenant_lines(journal))
    assert result.gate.passed
    org = demo_tenant.organizations[0]
    n_members = len(emu.memberships)
    result = run_roles(journal, sandbox_settings, default_org=org["name"])
    assert result.outcome.ok, result.outcome.problems
    assert len(emu.memberships) == n_members + len(demo_tenant.user_roles)
    got = _membership_roles(emu, ids, demo_tenant)
    roles = _by_name(result.plan)
    names = {r["id"]: r["name"] for r in demo_tenant.roles}
    for uid, role_ids in demo_tenant.user_roles.items():
        assert set(got[(org["id"], uid)]) == {roles[names[i]].slug for i in role_ids}
    assert verify_roles(journal, sandbox_settings).ok
    rollback_roles(journal, sandbox_settings)
    assert len(emu.memberships) == n_members, "memberships created for tenant-level roles are deleted"


def test_missing_member_roles_scope_is_named(tmp_path, full_auth0, sandbox_settings):
    full_auth0.emulator.scopes = FULL_SCOPES.replace(" read:organization_member_roles", "")
    with Journal.open(tmp_path / "run") as journal, _auth0(sandbox_settings) as client, \
            pytest.raises(ApiError) as err:
        core.read_auth0_roles(client, journal)
    assert err.value.kind is ErrorKind.AUTH and "read:organization_member_roles" in err.value.message


def test_missing_read_users_leaves_tenant_level_roles_out_with_a_note(tmp_path, full_auth0, sandbox_settings):
    full_auth0.emulator.scopes = FULL_SCOPES.replace("read:users ", "")
    with Journal.open(tmp_path / "run") as journal, _auth0(sandbox_settings) as client:
        read = core.read_auth0_roles(client, journal)
        assert read.roles == 6 and read.tenant_role_holders == 0
        assert any("read:users" in n for n in read.notes)


def test_writes_survive_5xx_dropped_and_committed_then_failed_answers(migrated, workos_emu, sandbox_settings):
    from wizard.core.pacing import RetryPolicy
    from wizard.sandbox.faults import Faults
    from wizard.tasks.roles import read_roles

    journal, _ = migrated
    emu = workos_emu.emulator
    emu.multiple_roles_enabled = True
    read_roles(journal, sandbox_settings)
    emu.set_faults(Faults(error_rate=0.1, drop_rate=0.05, commit_then_fail_rate=0.15, seed=3))

    async def go():
        from wizard.clients.workos import make_client

        client = make_client(sandbox_settings)
        try:
            engine = core.RolesEngine(journal, client, retry=RetryPolicy(max_attempts=12, backoff_base=0.01,
                                                                          backoff_cap=0.02))
            return await engine.apply(await engine.plan())
        finally:
            await client.close()

    outcome = __import__("asyncio").run(go())
    assert outcome.ok, outcome.problems
    assert any(r[2] >= 500 for r in emu.requests), "faults were injected"
    emu.set_faults(Faults())
    assert len(emu.permissions) == 6 and len(emu.environment_roles) == 7
    assert verify_roles(journal, sandbox_settings).ok
    assert journal.rbac_rows("rbac_permissions")[0]["status"] == "created"


def test_verification_checklist_and_report_carry_the_roles(migrated, workos_emu, sandbox_settings):
    from wizard.core import verify
    from wizard.core.report import build_report, render_markdown

    journal, _ = migrated
    run_roles(journal, sandbox_settings)
    with _workos(workos_emu) as client:
        verify.run_verification(journal, sandbox_settings, client=client,
                                roles_client=lambda: make_client(sandbox_settings),
                                build=verify.BuildOptions(not_applicable_reason="no application in this test"))
    recorded = {v["name"]: v for v in journal.verifications()}
    assert recorded[verify.ROLES]["ok"], recorded[verify.ROLES]
    md = render_markdown(build_report(journal))
    assert "## Roles and permissions" in md and "| member |" in md and "member-auth0" in md
    assert "cannot be undone" in md and "None" not in md.split("## Roles and permissions")[1].split("## MFA")[0]


# ---------------------------------------------------------------------------- the WorkOS emulator's rules (SDK)
def test_workos_emulator_validates_slugs_conflicts_and_unknown_permissions(workos_emu):
    from workos._errors import ConflictError, NotFoundError, UnprocessableEntityError

    with _workos(workos_emu) as c:
        az = c.authorization
        with pytest.raises(UnprocessableEntityError):
            az.create_environment_role(slug="has:colon", name="x")
        with pytest.raises(UnprocessableEntityError):
            az.create_environment_role(slug="has.dot", name="x")
        with pytest.raises(UnprocessableEntityError):
            az.create_environment_role(slug="a" * 49, name="x")
        with pytest.raises(ConflictError) as conflict:
            az.create_environment_role(slug="member", name="Member")
        assert conflict.value.code == "role_slug_conflict"
        p = az.create_permission(slug="reports:read.*", name="Read")
        assert p.slug == "reports:read.*" and p.system is False
        with pytest.raises(ConflictError) as conflict:
            az.create_permission(slug="reports:read.*", name="Again")
        assert conflict.value.code == "permission_slug_conflict"
        with pytest.raises(UnprocessableEntityError):
            az.create_permission(slug="UPPER", name="x")
        role = az.create_environment_role(slug="viewer", name="Viewer", description="d")
        assert role.type.value == "EnvironmentRole" and role.permissions == []
        with pytest.raises(UnprocessableEntityError):
            az.set_environment_role_permissions("viewer", permissions=["no-such-permission"])
        assert az.add_environment_role_permission("viewer", body_slug="reports:read.*").permissions == ["reports:read.*"]
        assert az.update_environment_role("viewer", name="Viewers").name == "Viewers"
        assert [r.slug for r in az.list_environment_roles().data] == ["member", "viewer"]
        with pytest.raises(UnprocessableEntityError):
            c.authorization.create_organization_role("org_x", name="x", slug="no-prefix")
        az.delete_permission("reports:read.*")
        assert az.get_environment_role("viewer").permissions == []
        with pytest.raises(NotFoundError):
            az.get_permission("reports:read.*")
    import httpx

    r = httpx.delete(f"{workos_emu.base_url}/authorization/roles/viewer",
                     headers={"Authorization": f"Bearer {workos_emu.api_key}"})
    assert r.status_code in (404, 405), "environment roles cannot be deleted through the API"


def test_workos_emulator_membership_roles_invalid_and_multiple(workos_emu):
    from workos._errors import UnprocessableEntityError
    from workos.organization_membership import RoleMultiple, RoleSingle

    with _workos(workos_emu) as c:
        org = c.organizations.create_organization(name="Acme")
        user = c.user_management.create_user(email="a@example.com")
        ms = c.organization_membership
        with pytest.raises(UnprocessableEntityError) as err:
            ms.create_organization_membership(user_id=user.id, organization_id=org.id, role=RoleSingle(role_slug="x"))
        assert err.value.code == "invalid_role"
        c.authorization.create_environment_role(slug="admin", name="Admin")
        m = ms.create_organization_membership(user_id=user.id, organization_id=org.id)
        assert m.role.slug == "member"
        with pytest.raises(UnprocessableEntityError) as err:
            ms.update_organization_membership(m.id, role=RoleMultiple(role_slugs=["admin", "member"]))
        assert err.value.code == "multiple_roles_not_enabled"
        assert ms.update_organization_membership(m.id, role=RoleSingle(role_slug="admin")).role.slug == "admin"
        workos_emu.emulator.multiple_roles_enabled = True
        both = ms.update_organization_membership(m.id, role=RoleMultiple(role_slugs=["admin", "member"]))
        assert [r.slug for r in both.roles] == ["member", "admin"] and both.role.slug == "member"  # priority order


def test_auth0_emulator_refuses_role_reads_without_the_scope(auth0_emu, sandbox_settings, demo_tenant):
    auth0_emu.emulator.scopes = FULL_SCOPES.replace("read:roles", "")
    with _auth0(sandbox_settings) as client, pytest.raises(ApiError) as err:
        client.list_role_permissions(demo_tenant.roles[0]["id"])
    assert "read:roles" in err.value.message
