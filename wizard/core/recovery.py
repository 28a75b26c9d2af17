"""Error recovery: each known failure recognised from the journal, with its cause and a one-key fix.

`diagnose(journal)` reads users' last error codes, findings, memberships, the import summary and
recorded verifications. `apply(journal, action)` performs the fixes that are pure journal
operations and says which command finishes them (the engine, not this module, talks to WorkOS).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wizard.core import documents
from wizard.core.journal import Journal
from wizard.core.records import Branch, UserStatus

EXISTS_CODES = frozenset({"email_not_available", "user_already_exists", "external_id_already_used", "exists"})
HASH_CODES = frozenset({"invalid_password_hash", "password_hash_invalid"})
AUTH_CODES = frozenset({"auth", "unauthorized", "forbidden", "authentication_error", "invalid_api_key",
                        "http_401", "http_403", "401", "403"})
RATE_CODES = frozenset({"rate_limited", "rate_limit_exceeded", "429", "http_429"})
HASH_FINDING_CODES = frozenset({"hash_truncated", "hash_unsupported", "hash_empty", "hash_invalid"})
DEFAULT_BUDGET_PER_SECOND = 50.0  # WorkOS: 500 user-management writes per 10 s
SLOW_MIN_USERS = 500  # below this an import is too short for its rate to mean anything
MANY_429 = 10
USER_NOT_IMPORTED = "user_not_imported"
DIFFERENCES_DOCUMENT = documents.USER_DIFFERENCES.name  # written by verify.check_user_count
MISSING_MEMBERSHIPS_DOCUMENT = documents.MISSING_MEMBERSHIPS.name  # written by verify.check_organizations

RETRY_FAILED_USERS = "retry_failed_users"
ADD_MISSING_MEMBERSHIPS = "add_missing_memberships"
RESEND_CORRECTED_HASH = "resend_corrected_hash"
ACTIONS = (RETRY_FAILED_USERS, ADD_MISSING_MEMBERSHIPS, RESEND_CORRECTED_HASH)


@dataclass(frozen=True, slots=True)
class Remedy:
    id: str
    title: str
    cause: str
    affected: int
    fix_hint: str
    action: str | None = None  # one of ACTIONS when a one-key fix exists
    examples: tuple[str, ...] = ()  # a few Auth0 ids (never emails in bulk, never hashes)


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    action: str
    changed: int
    message: str
    next_command: str | None = None  # what finishes the fix (the engine's job)


def _failed_users(journal: Journal):
    return journal.users(status=UserStatus.FAILED)


def _code(u) -> str:
    return (u.last_error_code or "").strip().lower()


def _budget_per_second(text) -> float:
    """"500/10s" -> 50.0 (the importer's write budget), else the WorkOS default."""
    m = re.match(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(\d*(?:\.\d+)?)\s*(s|sec|m|min)?\s*$", str(text or ""))
    if not m:
        return DEFAULT_BUDGET_PER_SECOND
    window = float(m.group(2) or 1) * (60.0 if (m.group(3) or "s").startswith("m") else 1.0)
    return float(m.group(1)) / window if window else DEFAULT_BUDGET_PER_SECOND


def diagnose(journal: Journal) -> list[Remedy]:
    """Every known failure present in this run, most actionable first."""
    out: list[Remedy] = []
    failed = _failed_users(journal)

    exists = [u for u in failed if _code(u) in EXISTS_CODES]
    if exists:
        out.append(Remedy(
            "exists", "Users already exist in WorkOS",
            "WorkOS already had a user with this email or external id (an earlier test import, or a retried "
            "create that had landed) and the lookup-then-update did not resolve it.",
            len(exists),
            "Retry them: the import looks each one up by external id, then email, and updates it (password "
            "hash included). If another person owns the email in WorkOS, merge or delete that user first.",
            RETRY_FAILED_USERS, tuple(u.auth0_user_id for u in exists[:5])))

    bad_hash = [u for u in failed if _code(u) in HASH_CODES]
    hash_codes = sorted({c for (_sev, c) in journal.finding_counts() if c in HASH_FINDING_CODES})
    hash_findings = [f for c in hash_codes for f in journal.findings(code=c, limit=3)]
    n_hash_findings = sum(n for (_sev, c), n in journal.finding_counts().items() if c in HASH_FINDING_CODES)
    if bad_hash or hash_findings:
        where = "; ".join(f"{f.where()} {f.code}" for f in hash_findings[:3])
        note = "" if bad_hash else (" WorkOS refused none: the plan sent these users without a password "
                                    "(password reset branch).")
        out.append(Remedy(
            "invalid_password_hash", "Password hashes refused or unusable",
            "Wrong password_hash_type or a malformed/truncated hash: Auth0 hashes are bcrypt ($2a$/$2b$/$2y$, "
            "60 characters)." + (f" Findings: {where}." if where else "") + note,
            len(bad_hash) or n_hash_findings,
            "Get a correct password export from Auth0 support (decrypt it first), put it in place of the old "
            "file, re-plan the affected users, then re-send their corrected hashes. Until then these users "
            "can sign in with a password reset.",
            RESEND_CORRECTED_HASH if bad_hash else None, tuple(u.auth0_user_id for u in bad_hash[:5])))

    auth = [u for u in failed if _code(u) in AUTH_CODES]
    summary = documents.IMPORT_SUMMARY.read(journal)
    stopped = str((summary.stop_reason if summary else None) or "").lower()
    if auth or any(w in stopped for w in ("auth", "api key", "401", "403")):
        out.append(Remedy(
            "auth", "WorkOS refused the API key",
            "401/403 from WorkOS: the key is wrong, revoked, or for another environment. The import stops at "
            "the first one so nothing else is attempted with a bad key.",
            len(auth),
            "Fix WORKOS_API_KEY (WorkOS Dashboard → API Keys), re-run the prerequisites, then retry failed "
            "users and resume.", RETRY_FAILED_USERS if auth else None))

    rate = [u for u in failed if _code(u) in RATE_CODES]
    n429 = summary.rate_limited if summary else 0
    if rate or n429 >= MANY_429:
        out.append(Remedy(
            "rate_limited", "Rate limited by WorkOS (HTTP 429)",
            f"WorkOS answered 429 {int(n429)} time(s): something else shares this key's budget (another "
            "import, your app) or the rate is set above the 500 writes / 10 s limit.",
            len(rate) or int(n429),
            "Lower the import rate or stop the other traffic; the import already waits Retry-After. Retry "
            "the failed users afterwards.", RETRY_FAILED_USERS if rate else None))

    rate_now = summary.rate_per_second if summary else None
    budget = _budget_per_second(summary.budget if summary else None)
    sent = summary.planned if summary else 0
    if rate_now is not None and sent >= SLOW_MIN_USERS and rate_now < 0.5 * budget:
        out.append(Remedy(
            "slow_import", "The import ran slowly",
            f"{rate_now:.1f} users/s against a budget of {budget:.0f}/s (less than half): high latency, "
            "429 pauses, or too little concurrency.",
            int(sent),
            "Raise the concurrency (the pacer keeps within the limit), run closer to WorkOS, and check for "
            "429s below; at 50 users/s, 10,000 users take about 3.5 minutes."))

    social_unverified = [u for u in journal.users(branch=Branch.SOCIAL)
                         if u.status in UserStatus.DONE and u.email_verified is False]
    social_failed = [v for v in journal.verifications() if v["name"] == "Social sign-in" and not v["ok"]]
    if social_unverified or social_failed:
        out.append(Remedy(
            "social_not_linking", "Social users may not link",
            "A social sign-in links to the imported user by email: a provider not configured in WorkOS, a "
            "callback URL mismatch, a different email at the provider, or email verification required "
            "(these users' emails were not verified in Auth0) stops it.",
            len(social_unverified),
            "Enable each provider in WorkOS Dashboard → Authentication → Social Connections, add "
            "https://api.workos.com/sso/oauth/callback to the provider's redirects, check the environment's "
            "email verification setting; unverified users verify their email once, then link.",
            None, tuple(u.auth0_user_id for u in social_unverified[:5])))

    missing_members = _missing_memberships(journal)
    if missing_members:
        out.append(Remedy(
            "missing_memberships", "Organization memberships missing",
            "Memberships failed or were never created: usually the member's WorkOS user id was not known yet "
            "(the user failed or was imported after the organizations step).",
            len(missing_members),
            "Add the missing memberships: they are created from the journal's Auth0 → WorkOS id map; "
            "existing memberships are kept.", ADD_MISSING_MEMBERSHIPS,
            tuple(f"{m['auth0_org_id']}/{m['auth0_user_id']}" for m in missing_members[:5])))

    gone = _deleted_in_workos(journal)
    if gone:
        out.append(Remedy(
            "missing_in_workos", "Users missing in WorkOS",
            "The journal says these users were created, but verification found no WorkOS user with their "
            "external id: they were deleted in WorkOS (by a person, a rollback or another tool) after the import.",
            len(gone),
            "Queue them again and resume the import; it creates them anew (or finds them by email).",
            RETRY_FAILED_USERS, tuple(u.auth0_user_id for u in gone[:5])))

    known = EXISTS_CODES | HASH_CODES | AUTH_CODES | RATE_CODES
    other = [u for u in failed if _code(u) not in known]
    if other:
        codes: dict[str, int] = {}
        for u in other:
            codes[_code(u) or "unknown"] = codes.get(_code(u) or "unknown", 0) + 1
        listed = ", ".join(f"{c} ×{n}" for c, n in sorted(codes.items(), key=lambda x: -x[1])[:5])
        out.append(Remedy(
            "other_failures", "Other failed users", f"Failed with: {listed}.", len(other),
            "Read each error in errors.jsonl, fix the record or the cause, then retry the failed users.",
            RETRY_FAILED_USERS, tuple(u.auth0_user_id for u in other[:5])))
    return out


def _deleted_in_workos(journal: Journal) -> list:
    """Users verification found absent from WorkOS although the journal says they were created."""
    rows = []
    for d in documents.USER_DIFFERENCES.read(journal) or []:
        if d.get("problem") == "journal_says_created":
            u = journal.user(d.get("auth0_user_id", ""))
            if u is not None and u.status in UserStatus.DONE:
                rows.append(u)
    return rows


def _missing_memberships(journal: Journal) -> list[dict]:
    """Memberships that failed, are still planned although the organization exists in WorkOS, or
    that verification found missing in WorkOS although the journal says they were made."""
    made = {o["auth0_org_id"] for o in journal.orgs() if o.get("workos_org_id")}
    seen_missing = {(m.get("auth0_org_id"), m.get("auth0_user_id"))
                    for m in documents.MISSING_MEMBERSHIPS.read(journal) or []}
    out = []
    for m in journal.memberships():
        if m["status"] == "failed" or (m["auth0_org_id"], m["auth0_user_id"]) in seen_missing:
            out.append(m)
        elif m["status"] in ("planned", USER_NOT_IMPORTED) and m["auth0_org_id"] in made:
            u = journal.user(m["auth0_user_id"])
            if u is not None and u.workos_user_id:
                out.append(m)
    return out


def apply(journal: Journal, action: str, *, codes: frozenset[str] | set[str] | None = None) -> ActionOutcome:
    """Perform the journal part of a one-key fix; `next_command` says what completes it.

    `codes` limits "retry failed users" to users whose last error is one of them (e.g. EXISTS_CODES).
    """
    run = str(journal.run_dir)
    if action == RETRY_FAILED_USERS:
        ids = None if codes is None else [u.auth0_user_id for u in _failed_users(journal) if _code(u) in codes]
        n = journal.reset_failed(ids)
        gone = [] if codes is not None else _deleted_in_workos(journal)
        for u in gone:  # the journal said created, WorkOS has none: send them again
            journal.mark_result(u.auth0_user_id, UserStatus.PLANNED, error_code="missing_in_workos",
                                error_message="verification found no WorkOS user with this external id")
        if gone:
            documents.USER_DIFFERENCES.write(journal, [])
        msg = f"{n} failed user(s) put back to planned."
        if gone:
            msg += f" {len(gone)} user(s) missing in WorkOS queued again."
        return ActionOutcome(action, n + len(gone), msg, f"auth0-workos import --run-dir {run}")
    if action == ADD_MISSING_MEMBERSHIPS:
        missing = _missing_memberships(journal)
        for m in missing:
            if m["status"] != "planned":
                journal.set_membership_result(m["auth0_org_id"], m["auth0_user_id"], "planned")
        documents.MISSING_MEMBERSHIPS.write(journal, [])
        return ActionOutcome(action, len(missing), f"{len(missing)} membership(s) queued again.",
                             f"auth0-workos orgs --run-dir {run}")
    if action == RESEND_CORRECTED_HASH:
        bad = [u for u in _failed_users(journal) if _code(u) in HASH_CODES]
        if not journal.changed_inputs():
            return ActionOutcome(
                action, 0,
                f"{len(bad)} user(s) have a refused hash, but the password export has not changed: put the "
                "corrected (decrypted) export in place of the old file first.", None)
        from wizard.core.plan import build_run_plan, options_of, save_plan

        users_path, passwords_path = journal.input_path("users"), journal.input_path("passwords")
        if users_path is None:
            return ActionOutcome(
                action, len(bad),
                "The password export changed, but this run records no users export: re-plan both files "
                f"(auth0-workos check --run-dir {run} --users FILE --passwords FILE), then resume the import.",
                f"auth0-workos import --resume --run-dir {run}")
        result = build_run_plan(journal, users_path, passwords_path, options_of(journal))  # the run's own choices
        if not result.ok:
            return ActionOutcome(action, 0, "The corrected export does not pass the export check: "
                                 + "; ".join(result.blocking) + ". Nothing was changed.", None)
        save_plan(journal, result)  # merged (the run has written): WorkOS ids stay
        merged = documents.PLAN_MERGE.read(journal)
        resend = merged.resend if merged else 0
        return ActionOutcome(
            action, resend,
            f"Re-planned from the corrected export: {resend} user(s) will be sent again with their hash "
            f"({len(bad)} had a hash refused by WorkOS); existing users are updated, not duplicated.",
            f"auth0-workos import --resume --run-dir {run}")
    raise ValueError(f"unknown action {action!r}; known: {', '.join(ACTIONS)}")
