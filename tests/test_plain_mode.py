"""The plain mode walks the same steps and gates (real core, real journal, emulators over HTTP)."""

from __future__ import annotations

import pytest

from wizard.core.config import Settings
from wizard.core.journal import Journal
from wizard.plain import NOT_APPLICABLE, QUIT, TRY_AGAIN, run_plain

pytestmark = pytest.mark.timeout(90)


class ScriptedAnswers:
    """Answers like a careful person: confirms, keeps defaults, types 'import', gives reasons."""

    def __init__(self, select_order=(NOT_APPLICABLE, TRY_AGAIN)) -> None:
        self.select_order = select_order
        self.asked: list[str] = []
        self.selects: list[str] = []

    def confirm(self, question: str, default: bool = True) -> bool:
        self.asked.append(question)
        if "--join-by-email" in question:
            return default  # a careful person keeps the hash join by id only
        return True

    def text(self, question: str, default: str = "") -> str:
        self.asked.append(question)
        if question.startswith("Type "):
            if '"roles"' in question:
                return "roles"
            return "sso" if "connections to create" in question else "import"
        if question.startswith("Why"):
            return "stated reason for the record"
        return default

    def password(self, question: str) -> str:
        self.asked.append(question)
        if question.startswith("Client secret of "):
            return ""  # no secret typed: that connection is handed off
        raise AssertionError("the demo credentials are offered; no password prompt expected")

    def select(self, question: str, choices: list[str]) -> str:
        self.selects.append(question)
        for wanted in self.select_order:
            if wanted in choices:
                return wanted
        return choices[0]


def test_plain_mode_walks_every_gate(tmp_path, sandbox_settings, demo_exports, demo_tenant, workos_emu, auth0_emu):
    from wizard.sandbox.auth0_emulator import FULL_SCOPES

    auth0_emu.emulator.scopes = FULL_SCOPES  # a well-configured application (the roles step reads member roles)
    answers = ScriptedAnswers()
    lines: list[str] = []
    code = run_plain(tmp_path / "run", sandbox_settings, answers=answers, demo_exports=demo_exports,
                     demo_credentials=list(demo_tenant.credentials), out=lines.append)
    text = "\n".join(lines)
    assert code == 0, text
    with Journal.open(tmp_path / "run") as j:
        status = {k: v["status"] for k, v in j.steps().items()}
        assert set(status) == {"guide", "prereqs", "inventory", "export", "mapping", "import", "social",
                               "orgs", "roles", "sso", "mfa", "verify", "cutover"}
        assert all(v in ("passed", "not_applicable") for v in status.values()), status
        assert j.get_document("import_dry_run"), "the dry run ran before the import"
        assert j.get_document("social_confirmations")
        # the export step asked the hash-join question in words and recorded the answer (issue 10)
        assert j.get_document("hash_join_choice")["join_by_email"] is False
        assert j.get_document("plan_summary")["join_by_email"] is False
    assert any("bind password-hash rows by email" in q for q in answers.asked)
    assert "By default a hash row binds only to the Auth0 user whose id it names" in text
    retries = [q for q in answers.selects if not q.startswith("Cutover mode for ")]
    assert retries == [], f"every gate passed at the first try: {answers.selects}\n{text}"
    assert any(q.startswith("Type ") and "connections to create" in q for q in answers.asked), \
        "SSO connections are written to WorkOS only after a typed confirmation"
    assert workos_emu.emulator.sso.connections, "enterprise connections were created"
    assert any(q.startswith("Create the missing organizations") for q in answers.asked), \
        "organizations are written to WorkOS only after a confirmation"
    assert workos_emu.emulator.users, "users were imported"
    assert (tmp_path / "run" / "report.md").is_file()
    assert sandbox_settings.workos_api_key not in text


def test_plain_mode_stops_at_a_failing_gate(tmp_path, workos_emu):
    settings = Settings(workos_api_key="sk_test_wrong_key_value", workos_client_id="client_sandbox",
                        workos_base_url=workos_emu.base_url)
    answers = ScriptedAnswers(select_order=(QUIT,))
    lines: list[str] = []
    code = run_plain(tmp_path / "run", settings, answers=answers, out=lines.append)
    assert code == 1
    with Journal.open(tmp_path / "run") as j:
        assert j.step("guide")["status"] == "passed"
        assert j.step("prereqs")["status"] == "failed"
        assert j.step("inventory") is None, "no step after a failed gate"
    assert any("✗" in line for line in lines)
    assert "sk_test_wrong_key_value" not in "\n".join(lines)
    # resuming starts at the failed step
    lines.clear()
    run_plain(tmp_path / "run", settings, answers=answers, out=lines.append)
    assert any("Prerequisites" in line for line in lines[:3]), lines[:3]
