"""The wizard's ordered steps and their gates.

A step is `(id, title, gate, applies_when)`. The TUI, the plain mode and the report render these;
none of them decides on its own whether a step passed. Gates are plain functions of
`(journal, settings)` returning a `GateResult`; they may do I/O (the prerequisites make a live read),
so callers run them off the UI thread. No Textual import here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from wizard.core import cutover, documents, guide, inventory, orgs, plan, prereqs, sso, verify
from wizard.core import roles as roles_step
from wizard.core.config import Settings
from wizard.core.gates import Check, GateResult, GateStatus
from wizard.core.importer import users_to_send
from wizard.core.journal import Journal
from wizard.core.normalize import provider_label

Gate = Callable[[Journal, Settings], GateResult]
AppliesWhen = Callable[[Journal, Settings], bool]

GUIDE_URL = guide.GUIDE_URL
SOCIAL_CALLBACK_URL = "https://api.workos.com/sso/oauth/callback"
MIN_REASON_CHARS = 10

# names of the journal documents the steps write (kept for older imports; read and write them
# through wizard.core.documents)
DOC_GUIDE_ACK = documents.GUIDE_ACK.name
DOC_SOCIAL_CONFIRMATIONS = documents.SOCIAL_CONFIRMATIONS.name
DOC_MFA_COMMUNICATION = documents.MFA_COMMUNICATION.name
DOC_NO_PASSWORDS_REASON = documents.NO_PASSWORDS_REASON.name
DOC_DRY_RUN = documents.DRY_RUN.name
DOC_IMPORT_SUMMARY = documents.IMPORT_SUMMARY.name
DOC_FAILURES_ACCEPTED = documents.FAILURES_ACCEPTED.name

MFA_COMMUNICATION_ITEMS = (
    ("email_before", "Email affected users before the migration (no SMS in AuthKit)"),
    ("enrollment", "Send enrollment instructions for an authenticator app (TOTP)"),
    ("grace_period", "Agree a grace period during which users enroll again"),
    ("enforce_after", "Enforce MFA in WorkOS only after the grace period"),
)
MFA_AFTER_IMPORT_LABELS = {  # the same plan, in the tense that fits once the users are in WorkOS
    "email_before": "Email affected users now (imported; AuthKit has no SMS)",
}


def users_imported(journal: Journal) -> bool:
    """The real import has run, so the MFA plan is no longer "before the migration"."""
    doc = documents.IMPORT_SUMMARY.read(journal)
    return doc is not None and bool(doc.created or doc.updated)


def mfa_communication_items(journal: Journal) -> list[tuple[str, str]]:
    """The communication plan's (key, label), worded for before or after the import."""
    after = users_imported(journal)
    return [(key, MFA_AFTER_IMPORT_LABELS.get(key, label) if after else label)
            for key, label in MFA_COMMUNICATION_ITEMS]


# ------------------------------------------------------------------------------- gates
def guide_gate(journal: Journal, settings: Settings) -> GateResult:
    return GateResult.from_checks([guide.guide_check(journal)])


def prereqs_gate(journal: Journal, settings: Settings, workos=None) -> GateResult:
    """`workos`: the synchronous client the task layer opened for the live key check."""
    return prereqs.prerequisite_checks(settings, live=True, client=workos)


def inventory_gate(journal: Journal, settings: Settings) -> GateResult:
    return inventory.inventory_gate(journal)


def export_gate(journal: Journal, settings: Settings) -> GateResult:
    """The plan's export gate, plus: going without a password-hash export needs a stated reason."""
    result = plan.export_gate(journal)
    summary = documents.PLAN_SUMMARY.read(journal)
    if summary is None or summary.passwords_file:
        return result
    reason = documents.NO_PASSWORDS_REASON.read(journal)
    if reason:
        note = Check("Password-hash export", True, f"not applicable: {reason.reason}")
    else:
        note = Check("Password-hash export", False, "none given and no reason stated",
                     "Give the password export from Auth0 support, or state why there is none "
                     "(password users are then imported without a password and reset it).")
    return GateResult.from_checks((*result.checks, note), details=result.details)


def mapping_gate(journal: Journal, settings: Settings) -> GateResult:
    return plan.mapping_gate(journal)


def import_gate(journal: Journal, settings: Settings) -> GateResult:
    """Dry run recorded, real import recorded, nobody left to send, failures fixed or knowingly accepted."""
    counts = journal.count_users("status")
    dry = documents.DRY_RUN.read(journal)
    real = documents.IMPORT_SUMMARY.read(journal)
    pending = users_to_send(counts)
    failed = counts.get("failed", 0)
    accepted = documents.FAILURES_ACCEPTED.read(journal)
    failures_ok = failed == 0 or (accepted is not None and accepted.count == failed)
    evidence = f"{failed} user(s) failed"
    if failed and failures_ok:
        evidence += f"; accepted: {accepted.reason}"
    done = counts.get("created", 0) + counts.get("updated", 0)
    return GateResult.from_checks([
        Check("Dry run completed", bool(dry), "recorded" if dry else "no dry run recorded",
              "Run the dry run first: it sends nothing and shows what would happen."),
        Check("Import ran", bool(real), f"{done} user(s) created or updated" if real else "not run yet",
              "Start the import (after the dry run)."),
        Check("No user left to send", bool(real) and pending == 0, f"{pending} user(s) planned or in flight",
              "Resume the import; in-flight users are reconciled first."),
        Check("Failures resolved", failures_ok, evidence,
              "Read the failures, fix the cause, then 'Retry failed'; or accept them with a reason."),
    ], details={"counts": counts})


def dry_run_gate(journal: Journal) -> GateResult:
    """The real import may start only after a completed dry run of the current plan."""
    dry = documents.DRY_RUN.read(journal)
    ok = dry is not None and not dry.stopped
    return GateResult.from_checks([
        Check("Dry run completed", ok, "recorded" if ok else "no completed dry run",
              "Run the dry run: it reads WorkOS, sends nothing, and shows what the import would do."),
    ])


def accept_failures(journal: Journal, reason: str) -> None:
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_CHARS:
        raise ValueError(f"Give a reason of at least {MIN_REASON_CHARS} characters.")
    failed = journal.count_users("status").get("failed", 0)
    documents.FAILURES_ACCEPTED.write(journal, documents.FailuresAccepted(count=failed, reason=reason, at=time.time()))


def social_providers(journal: Journal) -> list[str]:
    """Auth0 social providers found in the plan (every merged Auth0 id counts), sorted."""
    return list(verify.social_providers(journal))


def social_provider_counts(journal: Journal) -> dict[str, int]:
    """Provider -> planned users holding such an identity."""
    return dict(verify.social_providers(journal))


def social_gate(journal: Journal, settings: Settings) -> GateResult:
    providers = social_providers(journal)
    confirmed = documents.SOCIAL_CONFIRMATIONS.read(journal)
    if not providers:
        return GateResult.from_checks(
            [Check("Social providers found in the plan", False, "none found",
                   "Mark this step not applicable with a reason if you use no social sign-in.")])
    checks = [
        Check(f"{provider_label(p)} configured in WorkOS", p in confirmed,
              "confirmed" if p in confirmed else "not confirmed yet",
              f"Enable {provider_label(p)} in the WorkOS dashboard, register the callback "
              f"{SOCIAL_CALLBACK_URL} at the provider, then confirm.")
        for p in providers
    ]
    return GateResult.from_checks(checks, details={"providers": providers})


def orgs_gate(journal: Journal, settings: Settings) -> GateResult:
    """Organizations exported from Auth0, all created in WorkOS, memberships without failures."""
    return orgs.orgs_gate(journal)


def sso_gate(journal: Journal, settings: Settings) -> GateResult:
    """Enterprise connections created in WorkOS or handed off (files written), members added."""
    return sso.sso_gate(journal)


def mfa_gate(journal: Journal, settings: Settings) -> GateResult:
    """The MFA report exists (SMS users listed in the CSV) and the communication plan is ticked."""
    report = documents.MFA_REPORT.read(journal)
    checks = [Check("MFA report built", report is not None,
                    "report saved" if report is not None else "not built yet",
                    "Build the MFA report (it reads the scan of authentication methods).")]
    if report is not None:
        mfa_check = verify.check_mfa(journal)
        checks.append(Check("MFA users handled", mfa_check.ok, mfa_check.evidence, mfa_check.fix_hint))
    plan = documents.MFA_COMMUNICATION.read(journal)
    checks += [
        Check(label, key in plan, "done" if key in plan else "not ticked yet",
              "Tick this item once it is done or scheduled.")
        for key, label in mfa_communication_items(journal)
    ]
    return GateResult.from_checks(checks)


def verify_gate(journal: Journal, settings: Settings) -> GateResult:
    return verify.verification_gate(journal, settings)


# ------------------------------------------------------------------------------- applies_when
def cutover_gate(journal: Journal, settings: Settings) -> GateResult:
    return cutover.cutover_gate(journal)


def _always(journal: Journal, settings: Settings) -> bool:
    return True


def _has_social(journal: Journal, settings: Settings) -> bool:
    return bool(social_providers(journal))


def _has_orgs(journal: Journal, settings: Settings) -> bool:
    if journal.orgs():
        return True
    inv = documents.INVENTORY.read(journal)
    return bool((inv is not None and inv.has_organizations) or settings.has_auth0_credentials)


def _has_enterprise(journal: Journal, settings: Settings) -> bool:
    return sso.not_applicable_refusal(journal) is not None


def _has_mfa(journal: Journal, settings: Settings) -> bool:
    inv = documents.INVENTORY.read(journal)
    return bool((inv is not None and inv.mfa) or settings.has_auth0_credentials)


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    gate: Gate
    applies_when: AppliesWhen = _always
    conditional: bool = False  # may be marked not applicable, with a typed reason
    summary: str = ""
    refuse_not_applicable: Callable[[Journal], str | None] | None = None  # why N/A is refused now, if it is
    reads_workos: bool = False  # the gate reads WorkOS: called with the client the task layer opened


STEPS: tuple[Step, ...] = (
    Step("guide", "Migration guide", guide_gate,
         summary="The official guide and what this wizard follows."),
    Step("prereqs", "Prerequisites", prereqs_gate,
         summary="Keys present and accepted by WorkOS, SDK installed.", reads_workos=True),
    Step("inventory", "Auth0 inventory", inventory_gate,
         summary="What the Auth0 tenant holds: users, connections, organizations, MFA."),
    Step("export", "Export files", export_gate,
         summary="The users export (and the password-hash export), verified line by line."),
    Step("mapping", "Mapping preview", mapping_gate,
         summary="Each user's branch and the exact request the import will send."),
    Step("import", "Import users", import_gate,
         summary="Dry run first, then the real import, paced, resumable."),
    Step("social", "Social providers", social_gate, _has_social, conditional=True,
         summary="Configure each social provider in WorkOS so users link by email."),
    Step("orgs", "Organizations", orgs_gate, _has_orgs, conditional=True,
         summary="Organizations and memberships from Auth0 into WorkOS."),
    Step("roles", "Roles and permissions", roles_step.step_gate, roles_step.applies, conditional=True, summary="Auth0 roles and permissions into WorkOS roles, permissions and membership roles.", refuse_not_applicable=roles_step.not_applicable_refusal),
    Step("sso", "Enterprise SSO", sso_gate, _has_enterprise, conditional=True, refuse_not_applicable=sso.not_applicable_refusal, summary="Auth0 enterprise connections into WorkOS SSO connections, or handed off."),
    Step("mfa", "MFA", mfa_gate, _has_mfa, conditional=True,
         summary="Who used which factor, and how to bring them back."),
    Step("verify", "Verify & report", verify_gate,
         summary="Check WorkOS against the journal, then write the report."),
    Step("cutover", "Cutover", cutover_gate,
         summary="Sign-up strategy, final catch-up sync, switch, 48-hour watch, Auth0 disabled."),
)
STEP_IDS = tuple(s.id for s in STEPS)


def step_by_id(step_id: str) -> Step:
    for s in STEPS:
        if s.id == step_id:
            return s
    raise KeyError(step_id)


# ------------------------------------------------------------------------------- evaluating & recording
def recorded_status(journal: Journal, step_id: str) -> tuple[str, str]:
    rec = journal.step(step_id)
    return (rec["status"], rec["reason"] or "") if rec else (GateStatus.PENDING.value, "")


def evaluate(step: Step, journal: Journal, settings: Settings, *, workos=None) -> GateResult:
    """Run the step's gate; a recorded not-applicable decision stands. Never raises. `workos`: the
    client a gate that reads WorkOS uses (`Step.reads_workos`; opened by `wizard.tasks.gates`)."""
    status, reason = recorded_status(journal, step.id)
    if step.conditional and status == GateStatus.NOT_APPLICABLE.value and not (
            step.refuse_not_applicable and step.refuse_not_applicable(journal)):
        return GateResult.not_applicable(reason)
    try:
        if step.reads_workos:
            return step.gate(journal, settings, workos=workos)
        return step.gate(journal, settings)
    except Exception as exc:  # a gate must never take the wizard down; the message is plain
        msg = f"{type(exc).__name__}: {str(exc)[:300]}"
        return GateResult(GateStatus.FAILED, (Check(step.title, False, msg, "Re-run the check."),), msg)


def record(journal: Journal, step: Step, result: GateResult) -> None:
    """The journal's memory of the gate: what the report and a resumed run show."""
    details = dict(result.details)
    details["checks"] = [
        {"name": c.name, "ok": c.ok, "evidence": c.evidence, "fix_hint": c.fix_hint} for c in result.checks
    ]
    journal.set_step(step.id, result.status.value, result.reason, details)


def check_step(step: Step, journal: Journal, settings: Settings, *, workos=None) -> GateResult:
    result = evaluate(step, journal, settings, workos=workos)
    record(journal, step, result)
    return result


def mark_not_applicable(journal: Journal, step_id: str, reason: str) -> GateResult:
    """Only a conditional step, only with a stated reason (recorded and shown in the report)."""
    step = step_by_id(step_id)
    reason = (reason or "").strip()
    if not step.conditional:
        raise ValueError(f"'{step.title}' always applies; it cannot be skipped.")
    if len(reason) < MIN_REASON_CHARS:
        raise ValueError(f"Give a reason of at least {MIN_REASON_CHARS} characters.")
    refusal = step.refuse_not_applicable(journal) if step.refuse_not_applicable else None
    if refusal:
        raise ValueError(refusal)
    journal.set_step(step_id, GateStatus.NOT_APPLICABLE.value, reason, {"marked_at": time.time()})
    return GateResult.not_applicable(reason)


def clear_not_applicable(journal: Journal, step_id: str) -> None:
    journal.set_step(step_id, GateStatus.PENDING.value, "", {})


acknowledge_guide = guide.acknowledge_guide
confirm_social_provider = verify.confirm_social


def tick_mfa_item(journal: Journal, key: str, done: bool = True) -> None:
    documents.MFA_COMMUNICATION.tick(journal, key, documents.now_iso() if done else None)


def set_no_passwords_reason(journal: Journal, reason: str) -> None:
    """The password-hash export is conditional: going without it needs a stated reason."""
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_CHARS:
        raise ValueError(f"Give a reason of at least {MIN_REASON_CHARS} characters.")
    documents.NO_PASSWORDS_REASON.write(journal, documents.Reason(reason=reason, at=time.time()))


def is_done(status: str) -> bool:
    return status in (GateStatus.PASSED.value, GateStatus.NOT_APPLICABLE.value)


CURRENT_STEP_META = "wizard_current_step"


def remember_current(journal: Journal, step_id: str) -> None:
    journal.set_meta(CURRENT_STEP_META, step_id)


def resume_index(journal: Journal) -> int:
    """Where a resumed run starts: the step the person was at (when still reachable), else the
    first step whose recorded gate has not passed."""
    saved = journal.get_meta(CURRENT_STEP_META)
    if saved in STEP_IDS and may_enter(journal, STEP_IDS.index(saved)):
        return STEP_IDS.index(saved)
    for i, s in enumerate(STEPS):
        if not is_done(recorded_status(journal, s.id)[0]):
            return i
    return len(STEPS) - 1


def may_enter(journal: Journal, index: int) -> bool:
    """A step can be opened once every earlier step's gate has passed (or is not applicable)."""
    return all(is_done(recorded_status(journal, s.id)[0]) for s in STEPS[:index])
