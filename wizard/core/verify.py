"""The verification checklist (the guide's "ALL MUST PASS"): each check compares WorkOS with the journal.

Every check returns a `Check(name, ok, evidence, fix_hint)` and is recorded in the journal, so the
wizard's gate, the report and a later session all see the same result. A check that does not apply
passes with "not applicable: <reason>".
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from array import array
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workos import _errors as werr

from wizard.core import documents, sso
from wizard.core.config import Settings, mask
from wizard.core.environment import require_same_environment_sync
from wizard.core.exports import sorted_order
from wizard.core.exports import string_key as _key
from wizard.core.findings import ORG_MEMBER_NOT_IN_AUTH0, Finding, Severity
from wizard.core.gates import Check, GateResult, GateStatus
from wizard.core.journal import Journal
from wizard.core.mfa import mfa_unknown_text
from wizard.core.normalize import NON_SOCIAL_PROVIDERS, provider_label
from wizard.core.pacing import Pacer, client_base_url, save_window, shared_pacer
from wizard.core.progress import Progress, ProgressCallback, frozen_counts
from wizard.core.records import Branch, UserStatus

USER_COUNT = "User count"
PASSWORD_SIGN_IN = "Password sign-in"
SOCIAL_SIGN_IN = "Social sign-in"
ORGANIZATIONS = "Organizations"
MFA = "MFA"
APP_BUILD = "Application builds"
ENTERPRISE_SSO = "Enterprise SSO"  # wizard.core.sso.check_connections (issue 13)
ROLES = "Roles and permissions"  # wizard.core.roles.VERIFY_NAME
CHECK_NAMES = (USER_COUNT, PASSWORD_SIGN_IN, SOCIAL_SIGN_IN, ORGANIZATIONS, ROLES, ENTERPRISE_SSO, MFA, APP_BUILD)

SOCIAL_CALLBACK_URL = "https://api.workos.com/sso/oauth/callback"
SOCIAL_CONFIRMATIONS = documents.SOCIAL_CONFIRMATIONS.name
MFA_SMS_CSV = "mfa-sms-users.csv"
DIFFERENCES_DOCUMENT = documents.USER_DIFFERENCES.name
MISSING_MEMBERSHIPS_DOCUMENT = documents.MISSING_MEMBERSHIPS.name
EXTRA_MEMBER_CODE = ORG_MEMBER_NOT_IN_AUTH0
EXTRA_MEMBER_FILE_PREFIX = "WorkOS organization "
FAILURES_ACCEPTED_DOCUMENT = documents.FAILURES_ACCEPTED.name  # the import step's "accept N failures, because..."
EVIDENCE_LIST_MAX = 10


def not_applicable(name: str, reason: str) -> Check:
    return Check(name, True, f"not applicable: {reason}")


def _describe(exc: BaseException) -> str:
    """A readable line for an SDK failure (a proxy's HTML page, an unreadable answer, a timeout)."""
    from wizard.clients.workos import describe_error

    return describe_error(exc)


def _short_list(items: list[str], limit: int = EVIDENCE_LIST_MAX) -> str:
    if len(items) <= limit:
        return "; ".join(items)
    return "; ".join(items[:limit]) + f"; … and {len(items) - limit} more"


class _Reads:
    """Verification's reads, drawn from the run's one pacer (`pacing.shared_pacer`): WorkOS's read
    window (1,000 per 10 s) and the per-key window the run's writes also count against. A 429 starts
    the pacer's shared pause (Retry-After honoured); 5xx and network faults are retried twice."""

    RATE_LIMITED_TRIES = 6
    TRANSIENT_TRIES = 3

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer

    def call(self, fn: Callable, *args, user_management: bool = True, **kwargs):
        """`fn(*args, **kwargs)` in a read slot (`user_management=False`: a request outside
        /user_management, which counts only against the per-key window)."""
        limited = transient = 0
        while True:
            slot = self.pacer.read_sync() if user_management else self.pacer.other_sync()
            with slot:
                try:
                    return fn(*args, **kwargs)
                except werr.RateLimitExceededError as exc:
                    limited += 1
                    if limited >= self.RATE_LIMITED_TRIES:
                        raise
                    self.pacer.pause_after_429(float(exc.retry_after) if exc.retry_after else None)
                except (werr.ServerError, werr.WorkOSConnectionError, werr.WorkOSTimeoutError):
                    transient += 1
                    if transient >= self.TRANSIENT_TRIES:
                        raise
                    time.sleep(0.5 * transient)


def _reads(journal: Journal, client) -> _Reads:
    return _Reads(shared_pacer(client_base_url(client), journal))


# ------------------------------------------------------------------------------------ 1. user count
@dataclass(frozen=True, slots=True)
class UserDifference:
    auth0_user_id: str
    email: str | None
    problem: str  # missing_in_workos | journal_says_created | wrong_email | other_workos_id
    detail: str

    def line(self) -> str:
        return f"{self.auth0_user_id} <{self.email or 'no email'}>: {self.detail}"


@dataclass(slots=True)
class UserReconciliation:
    expected: int = 0  # importable planned users: one per duplicate-email group
    merged_ids: int = 0  # Auth0 ids folded into those users
    found: int = 0
    differences: list[UserDifference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.expected > 0 and not self.differences


def _expected_external_id(row) -> str:
    return str(row.request.get("external_id") or row.auth0_user_id)


def _by_metadata(client, reads: _Reads, row):
    """A user planned without external_id (its Auth0 id cannot be one): by its WorkOS id, else by
    email, recognised by metadata.auth0_user_id."""
    if row.workos_user_id:
        try:
            return reads.call(client.user_management.get_user, row.workos_user_id)
        except werr.NotFoundError:
            return None
    if not row.email:
        return None
    page = reads.call(client.user_management.list_users, email=row.email.strip().lower(), limit=10)
    return next((u for u in page.data
                 if (getattr(u, "metadata", None) or {}).get("auth0_user_id") == row.auth0_user_id), None)


@dataclass(frozen=True, slots=True)
class _Listed:
    """What the listing keeps of a user without an external id (few: ids WorkOS cannot hold)."""

    id: str
    email: str | None


class _Listing:
    """Every WorkOS user of the environment, compactly: a user with an external id as three 64-bit
    keys (its external id, its id, its email) in sorted arrays, about 24 bytes a user, so a
    million-user environment costs tens of MB where the SDK's user objects would cost gigabytes
    (one whose keys differ from the journal's is read again by itself, to name the difference); a
    user without one by its metadata.auth0_user_id, with its id and email."""

    def __init__(self) -> None:
        self._keys, self._ids, self._emails = array("q"), array("q"), array("q")
        self.by_auth0_id: dict[str, _Listed] = {}

    def add(self, user: Any) -> None:
        if ext := getattr(user, "external_id", None):
            self._keys.append(_key(ext))
            self._ids.append(_key(user.id))
            self._emails.append(_key(_email_key(getattr(user, "email", None))))
        elif aid := (getattr(user, "metadata", None) or {}).get("auth0_user_id"):
            self.by_auth0_id.setdefault(aid, _Listed(user.id, getattr(user, "email", None)))

    def freeze(self) -> _Listing:
        """Sort by external id (once, after the last page)."""
        order = sorted_order(self._keys)
        self._keys, self._ids, self._emails = (array("q", map(col.__getitem__, order))
                                               for col in (self._keys, self._ids, self._emails))
        return self

    def find(self, external_id: str) -> tuple[int, int] | None:
        """(id key, email key) of the user holding this external id, or None."""
        k = _key(external_id)
        j = bisect_left(self._keys, k)
        if j < len(self._keys) and self._keys[j] == k:
            return self._ids[j], self._emails[j]
        return None


def _email_key(email: str | None) -> str:
    return (email or "").strip().lower()


def _lookup_all(client, reads: _Reads) -> _Listing:
    """The whole environment, page by page (100 a page): one read per 100 users for big runs."""
    out = _Listing()
    page = reads.call(client.user_management.list_users, limit=100)
    seen: set[str] = set()
    while True:
        for u in page.data:
            out.add(u)
        # an `after` cursor seen before would loop forever (a server that repeats its last page)
        if not page.data or not page.has_more() or page.after in seen:
            return out.freeze()
        seen.add(page.after)
        page = reads.call(client.user_management.list_users, limit=100, after=page.after)


def _lookup_one(client, reads: _Reads, row, ext: str):
    """The WorkOS user a planned user should be, read by itself (None: WorkOS has none)."""
    if row.request.get("external_id") is None:
        return _by_metadata(client, reads, row)
    return _by_external_id(client, reads, ext)


def _by_external_id(client, reads: _Reads, ext: str):
    try:
        return reads.call(client.user_management.get_user_by_external_id, ext)
    except werr.NotFoundError:
        return None


_AGREES = object()  # the listing's keys match the journal: found, nothing to name


def _agrees(row, keys: tuple[int, int]) -> bool:
    """What `_compare` would find no difference in, decided on the listing's keys."""
    id_key, email_key = keys
    if row.email and _key(_email_key(row.email)) != email_key:
        return False
    return not row.workos_user_id or _key(row.workos_user_id) == id_key


def importable_count(journal: Journal) -> int:
    """How many planned users the import sends (duplicate-email groups counted once)."""
    return sum(n for branch, n in journal.count_users("branch").items() if branch in Branch.IMPORTABLE)


def reconcile_users(journal: Journal, client, *, on_progress: ProgressCallback | None = None,
                    strategy: str = "auto") -> UserReconciliation:
    """Look up every importable planned user in WorkOS by external id and list what differs.

    `strategy`: "lookup" (one GET per user), "list" (page through all WorkOS users) or "auto"
    (list when the run has more than 1,000 users: 100 users per request instead of one). The
    journal is read in batches, so memory does not grow with the run.
    """
    total = importable_count(journal)
    result = UserReconciliation(expected=total)
    reads = _reads(journal, client)
    listed = None
    if strategy == "list" or (strategy == "auto" and total > 1000):
        listed = _lookup_all(client, reads)
    counts = {"found": 0, "different": 0}
    started = time.monotonic()
    i = 0
    for row in journal.iter_users():
        if row.branch not in Branch.IMPORTABLE:
            continue
        i += 1
        result.merged_ids += max(len(row.auth0_ids) - 1, 0)
        ext = _expected_external_id(row)
        if listed is None:
            wu = _lookup_one(client, reads, row, ext)
        elif (keys := listed.find(ext)) is not None:
            wu = _AGREES if _agrees(row, keys) else _by_external_id(client, reads, ext)
        else:
            wu = listed.by_auth0_id.get(ext)
        diff = None if wu is _AGREES else _compare(row, wu)
        if diff is None:
            result.found += 1
            counts["found"] += 1
        else:
            if wu is not None:
                result.found += 1
            result.differences.append(diff)
            counts["different"] += 1
        if on_progress and (i == total or i % 25 == 0):
            elapsed = time.monotonic() - started
            rate = i / elapsed if elapsed > 0 else 0.0
            on_progress(Progress("verify-users", total, frozen_counts(counts), rate,
                                 (total - i) / rate if rate else None, done=i == total))
    return result


def _compare(row, wu) -> UserDifference | None:
    email = row.email
    if wu is None:
        if row.status in UserStatus.DONE:
            return UserDifference(row.auth0_user_id, email, "journal_says_created",
                                  f"the journal says {row.status} ({row.workos_user_id or 'no id'}) but WorkOS "
                                  "has no user with this external id")
        why = f"import {row.status}"
        if row.last_error_code:
            why += f": {row.last_error_code}"
        return UserDifference(row.auth0_user_id, email, "missing_in_workos", f"missing in WorkOS ({why})")
    w_email = _email_key(getattr(wu, "email", None))
    if email and w_email != _email_key(email):
        return UserDifference(row.auth0_user_id, email, "wrong_email",
                              f"WorkOS user {wu.id} has email {w_email or '(none)'}")
    if row.workos_user_id and row.workos_user_id != wu.id:
        return UserDifference(row.auth0_user_id, email, "other_workos_id",
                              f"the journal maps it to {row.workos_user_id} but WorkOS has {wu.id}")
    return None


def check_user_count(journal: Journal, client, *, on_progress: ProgressCallback | None = None,
                     strategy: str = "auto") -> Check:
    if not journal.count_users("status"):
        return Check(USER_COUNT, False, "no plan in this run folder",
                     "Run the export verification and mapping steps, then the import.")
    try:
        rec = reconcile_users(journal, client, on_progress=on_progress, strategy=strategy)
    except werr.AuthenticationError:
        return Check(USER_COUNT, False, "WorkOS refused the API key (401)", "Fix WORKOS_API_KEY (prerequisites).")
    except werr.WorkOSError as exc:
        return Check(USER_COUNT, False, f"could not read WorkOS: {_describe(exc)}",
                     "Check the network and WORKOS_BASE_URL, then verify again.")
    documents.USER_DIFFERENCES.write(journal, [
        {"auth0_user_id": d.auth0_user_id, "email": d.email, "problem": d.problem, "detail": d.detail}
        for d in rec.differences
    ])
    if rec.expected == 0:
        return not_applicable(USER_COUNT, "the plan has no importable user")
    merged = f" (duplicate groups counted once: {rec.merged_ids} Auth0 id(s) merged)" if rec.merged_ids else ""
    head = f"{rec.found} of {rec.expected} importable users found in WorkOS by external id{merged}"
    if rec.ok:
        return Check(USER_COUNT, True, head)
    lines = [d.line() for d in rec.differences]
    accepted = documents.FAILURES_ACCEPTED.read(journal)
    failed_only = all(d.problem == "missing_in_workos" and "import failed" in d.detail for d in rec.differences)
    if accepted is not None and failed_only and len(rec.differences) <= accepted.count:
        return Check(USER_COUNT, True,
                     f"{head}; {len(lines)} failed user(s) accepted (\"{accepted.reason}\"): "
                     f"{_short_list(lines)}")
    kinds = {d.problem for d in rec.differences}
    hints = []
    unsent = sum(1 for d in rec.differences if d.problem == "missing_in_workos"
                 and ("import planned" in d.detail or "import in_flight" in d.detail))
    if unsent:
        hints.append(f"{unsent} user(s) were not sent yet: run or resume the import")
    if any(d.problem == "missing_in_workos" and "import failed" in d.detail for d in rec.differences):
        hints.append("users whose import failed: read their error, fix it, then 'retry failed users' and "
                     "resume the import")
    if kinds & {"journal_says_created"}:
        hints.append("users deleted in WorkOS after the import: reset them (retry) and resume the import to "
                     "recreate them")
    if kinds & {"wrong_email", "other_workos_id"}:
        hints.append("users whose WorkOS record differs: another tool or person changed them; resume the import "
                     "(it updates existing users) or fix them in the dashboard")
    return Check(USER_COUNT, False, f"{head}; {len(lines)} difference(s): {_short_list(lines)}",
                 "; ".join(hints).capitalize() + ".")


# ------------------------------------------------------------------------------------ 2. password
_FLOW_EXPLAINED = {
    "email_verification_required":
        "the password is correct; WorkOS asks this user to verify their email first (their email was not "
        "verified in Auth0, or your environment requires verification) — expected, they get a code by email",
    "mfa_enrollment":
        "the password is correct; your environment requires MFA and this user has no factor yet, so they "
        "enroll an authenticator app at sign-in — expected for users who had SMS MFA",
    "mfa_challenge":
        "the password is correct; WorkOS asks for the user's MFA code next (their TOTP factor was imported)",
    "organization_selection_required":
        "the password is correct; the user belongs to several organizations and picks one next",
    "sso_required":
        "the password is correct but this user's organization requires SSO; they sign in through their "
        "identity provider",
    "organization_authentication_methods_required":
        "the password is correct but this user's organization allows only other sign-in methods",
    "authentication_method_not_allowed":
        "WorkOS does not allow password sign-in for this user (the environment or organization disables it)",
    "email_password_auth_disabled":
        "email + password sign-in is disabled in this WorkOS environment",
    "passkey_progressive_enrollment":
        "the password is correct; WorkOS offers passkey enrollment next",
    "radar_challenge": "the password is correct; WorkOS Radar asks for an extra challenge",
    "radar_email_challenge": "the password is correct; WorkOS Radar asks for an email code",
    "radar_sms_challenge": "the password is correct; WorkOS Radar asks for an SMS code",
    "radar_sms_sign_in_challenge": "the password is correct; WorkOS Radar asks for an SMS code",
    "radar_sign_up_challenge": "the password is correct; WorkOS Radar asks for an extra challenge",
    "application_consent_required":
        "the password is correct; the user must consent to the application next",
}
_FLOW_NOT_OK = {"authentication_method_not_allowed", "email_password_auth_disabled"}


def _branch_context(journal: Journal | None, email: str) -> str:
    if journal is None:
        return ""
    target = email.strip().lower()
    for u in journal.iter_users():
        if (u.email or "").strip().lower() == target:
            if u.branch != Branch.PASSWORD:
                return (f" The plan imported this user without a password (branch {u.branch}): they sign in "
                        "with password reset / Magic Auth, social or SSO instead.")
            return f" The plan imported this user with a bcrypt hash (export line {u.hash_line})."
    return " This email is not in the plan."


def check_password_sign_in(client, email: str, password: str, *, journal: Journal | None = None) -> Check:
    """Sign in through WorkOS (authenticate_with_password; needs the client id) and explain the answer."""
    name = PASSWORD_SIGN_IN
    if not getattr(client, "client_id", None):
        return Check(name, False, "WORKOS_CLIENT_ID is not set: WorkOS needs it to authenticate",
                     "Add WORKOS_CLIENT_ID=client_... to .env.local (WorkOS Dashboard → API Keys).")
    try:
        resp = client.user_management.authenticate_with_password(email=email, password=password)
    except werr.AuthorizationError as exc:
        # 403: the SDK names the flow steps it knows (AuthenticationFlowError); the spec lists more
        # (radar_sms_sign_in_challenge, application_consent_required) that arrive as a plain 403.
        code = exc.code or exc.error
        if code is None:
            return Check(name, False, f"{email}: WorkOS refused the sign-in (HTTP 403: {_describe(exc)})",
                         "Check WORKOS_CLIENT_ID and WORKOS_API_KEY belong to the same environment.")
        text = _FLOW_EXPLAINED.get(code, f"WorkOS asks for a further step ({code})")
        ok = code not in _FLOW_NOT_OK
        return Check(name, ok, f"{email}: {code} — {text}",
                     "" if ok else "Enable email + password authentication in WorkOS Dashboard → Authentication.")
    except (werr.BadRequestError, werr.AuthenticationError, werr.UnprocessableEntityError) as exc:
        code = exc.code or exc.error or f"HTTP {exc.status_code}"
        if code in _FLOW_EXPLAINED:  # a few flow answers come as 400 (api spec)
            ok = code not in _FLOW_NOT_OK
            return Check(name, ok, f"{email}: {code} — {_FLOW_EXPLAINED[code]}",
                         "" if ok else "Enable email + password authentication in WorkOS Dashboard → "
                                       "Authentication.")
        if code in ("invalid_client", "unauthorized_client") or (
                isinstance(exc, werr.AuthenticationError) and code != "invalid_credentials"):
            return Check(name, False, f"{email}: WorkOS refused the client ({code})",
                         "Check WORKOS_CLIENT_ID and WORKOS_API_KEY belong to the same environment.")
        return Check(
            name, False,
            f"{email}: {code} — WorkOS did not accept this email and password.{_branch_context(journal, email)}",
            "If the password is right, the imported hash is wrong or missing: check the password export "
            "(full $2a$/$2b$ bcrypt hash, password_hash_type bcrypt), fix it and use 're-send corrected hash'; "
            "if the user was imported without a password, ask them to reset it.",
        )
    except werr.RateLimitExceededError:
        return Check(name, False, f"{email}: rate limited (WorkOS allows 10 sign-ins per minute per email)",
                     "Wait a minute and verify again.")
    except werr.APIError as exc:
        return Check(name, False, f"{email}: could not sign in ({_describe(exc)})",
                     "Check the network and WORKOS_BASE_URL, then verify again.")
    except werr.WorkOSError as exc:
        if str(exc).startswith("Unexpected API response"):
            # only a 2xx answer is parsed: WorkOS accepted the password, its answer lacks a field
            return Check(name, True, f"{email}: WorkOS accepted the password (HTTP 200), but the workos "
                                     f"SDK could not read the answer ({_describe(exc)})")
        return Check(name, False, f"{email}: could not sign in ({_describe(exc)})",
                     "Check the network and WORKOS_BASE_URL, then verify again.")
    user = getattr(resp, "user", None)
    uid = getattr(user, "id", "?")
    return Check(name, True, f"{email} signed in through WorkOS as {uid} with their Auth0 password")


def check_password_samples(client, samples: Iterable[tuple[str, str]], journal: Journal) -> Check:
    samples = list(samples)
    if not journal.users(branch=Branch.PASSWORD, limit=1):
        return not_applicable(PASSWORD_SIGN_IN, "no user was imported with a password hash")
    if not samples:
        return Check(PASSWORD_SIGN_IN, False, "not checked: no email and password given",
                     "Sign in as one migrated password user: give --email and --password-stdin (or --demo in "
                     "the sandbox).")
    results = [check_password_sign_in(client, e, p, journal=journal) for e, p in samples]
    ok = all(c.ok for c in results)
    hint = next((c.fix_hint for c in results if not c.ok), "")
    return Check(PASSWORD_SIGN_IN, ok, " | ".join(c.evidence for c in results), hint)


# ------------------------------------------------------------------------------------ 3. social
def social_providers(journal: Journal) -> dict[str, int]:
    """Auth0 social provider -> number of planned users holding such an identity (merged ids count)."""
    found: dict[str, int] = {}
    summary = documents.PLAN_SUMMARY.read(journal)
    inventory = documents.INVENTORY.read(journal)
    for listed in (summary.social_providers if summary else None,
                   inventory.extra.get("social_providers") if inventory else None):
        if isinstance(listed, dict):
            for p, n in listed.items():
                found.setdefault(str(p), int(n) if isinstance(n, int) else 0)
        elif isinstance(listed, list):
            for p in listed:
                found.setdefault(str(p), 0)
    counted: dict[str, int] = {}
    for u in journal.iter_users():
        if u.branch not in Branch.IMPORTABLE:
            continue
        providers = {a.split("|", 1)[0] for a in (u.auth0_ids or (u.auth0_user_id,)) if "|" in a}
        for p in providers - NON_SOCIAL_PROVIDERS:
            counted[p] = counted.get(p, 0) + 1
    for p, n in counted.items():
        found[p] = n
    return dict(sorted(found.items()))


def confirm_social(journal: Journal, provider: str, confirmed: bool = True) -> None:
    """The person says the provider is enabled in WorkOS (the API cannot tell us)."""
    documents.SOCIAL_CONFIRMATIONS.tick(journal, provider, documents.now_iso() if confirmed else None)


def check_social_sign_in(journal: Journal) -> Check:
    providers = social_providers(journal)
    if not providers:
        return not_applicable(SOCIAL_SIGN_IN, "no user signs in with a social provider")
    confirmed = documents.SOCIAL_CONFIRMATIONS.read(journal)
    label = {p: provider_label(p) for p in providers}
    done = [f"{label[p]} ({n} users) confirmed" for p, n in providers.items() if p in confirmed]
    missing = [p for p in providers if p not in confirmed]
    if not missing:
        return Check(SOCIAL_SIGN_IN, True, "; ".join(done))
    todo = [f"{label[p]} ({providers[p]} users) not confirmed" for p in missing]
    return Check(
        SOCIAL_SIGN_IN, False, "; ".join(todo + done),
        f"In WorkOS Dashboard → Authentication → Social Connections enable "
        f"{', '.join(label[p] for p in missing)} with the provider's OAuth credentials, add "
        f"{SOCIAL_CALLBACK_URL} to the provider's allowed redirect URIs, test the connection, then confirm "
        f"(--confirm-social {' '.join(missing)}). Users link by email on first sign-in.",
    )


# ------------------------------------------------------------------------------------ 4. organizations
def _members_in_workos(client, reads: _Reads, org_id: str) -> set[str]:
    users: set[str] = set()
    page = reads.call(client.organization_membership.list_organization_memberships,
                      organization_id=org_id, limit=100)
    seen: set[str] = set()
    while True:
        users.update(m.user_id for m in page.data)
        if not page.data or not page.has_more() or page.after in seen:
            return users
        seen.add(page.after)
        page = reads.call(client.organization_membership.list_organization_memberships,
                          organization_id=org_id, limit=100, after=page.after)


def check_organizations(journal: Journal, client) -> Check:
    name = ORGANIZATIONS
    orgs = journal.orgs()
    step = journal.step("orgs") or {}
    if step.get("status") == GateStatus.NOT_APPLICABLE.value:
        return not_applicable(name, step.get("reason") or "marked not applicable")
    if not orgs:
        inv = documents.INVENTORY.read(journal)
        n = (inv.organization_count or len(inv.organizations or [])) if inv is not None else 0
        if n:
            return Check(name, False, f"Auth0 has {n} organization(s) but the organizations step has not run",
                         "Run the organizations step (auth0-workos orgs --run-dir DIR).")
        return not_applicable(name, "no Auth0 organizations in this run")
    reads = _reads(journal, client)
    problems: list[str] = []
    lines: list[str] = []
    missing_rows: list[dict] = []
    extra: list[Finding] = []
    unread_auth0 = {u["auth0_org_id"]: u["reason"]
                    for u in (documents.ORGS_EXPORT.read(journal) or {}).get("unreadable") or []}
    auth0_of: dict[str, str] | None = None  # WorkOS id -> Auth0 id, read once a member is not expected
    not_migrated = 0
    org_ok = 0
    try:
        for org in orgs:
            oid = org.get("workos_org_id")
            label = org.get("display_name") or org.get("name") or org["auth0_org_id"]
            if org["auth0_org_id"] in unread_auth0:  # unknown, never "0 members"
                problems.append(f"{label}: unknown: its Auth0 members could not be read "
                                f"({unread_auth0[org['auth0_org_id']]})")
            if not oid:
                problems.append(f"{label}: not created in WorkOS ({org.get('last_error_code') or org['status']})")
                continue
            try:
                reads.call(client.organizations.get_organization, oid, user_management=False)
                present = _members_in_workos(client, reads, oid)
            except werr.NotFoundError:
                problems.append(f"{label}: {oid} no longer exists in WorkOS")
                continue
            except werr.AuthenticationError:
                raise
            except werr.WorkOSError as exc:  # this organization is unknown, not missing
                problems.append(f"{label}: unknown: {oid} could not be read in WorkOS ({_describe(exc)})")
                continue
            org_ok += 1
            expected: dict[str, str] = {}
            for m in journal.memberships(org["auth0_org_id"]):
                u = journal.user(m["auth0_user_id"])
                if u is None or u.branch not in Branch.IMPORTABLE:
                    not_migrated += 1  # the user itself is not migrated (blocked / invalid): stated in the plan
                    continue
                expected[m["auth0_user_id"]] = u.workos_user_id or ""
            missing = [a for a, w in expected.items() if not w or w not in present]
            wanted = set(expected.values())
            auth0_members = {m["auth0_user_id"] for m in journal.memberships(org["auth0_org_id"])}
            for wid in sorted(present - wanted):
                if auth0_of is None:
                    auth0_of = {w: a for a, w, _ in journal.id_map() if w}
                a0 = auth0_of.get(wid)
                if a0 is not None and a0 in auth0_members:
                    continue  # an Auth0 member after all (a merged duplicate's other id)
                who = f"{wid} (Auth0 {a0}, not a member of this organization in Auth0)" if a0 else \
                    f"{wid} (no Auth0 user in this run)"
                extra.append(Finding(f"WorkOS organization {oid}", None, "membership", Severity.WARNING,
                                     EXTRA_MEMBER_CODE, f"{label}: WorkOS member {who} is not in the Auth0 "
                                     "export: review it; the wizard never removes it", auth0_user_id=a0))
            missing_rows += [{"auth0_org_id": org["auth0_org_id"], "auth0_user_id": a} for a in missing]
            auth0_count = org.get("member_count")
            lines.append(f"{label}: {len(expected) - len(missing)}/{len(expected)} members"
                         + (f" (Auth0 reports {auth0_count})" if auth0_count is not None else ""))
            if missing:
                problems.append(f"{label}: {len(missing)} membership(s) missing in WorkOS "
                                f"({_short_list(missing, 5)})")
    except werr.AuthenticationError:
        return Check(name, False, "WorkOS refused the API key (401)", "Fix WORKOS_API_KEY (prerequisites).")
    except werr.WorkOSError as exc:
        return Check(name, False, f"could not read WorkOS: {_describe(exc)}",
                     "Check the network and WORKOS_BASE_URL, then verify again.")
    documents.MISSING_MEMBERSHIPS.write(journal, missing_rows)
    journal.clear_findings(EXTRA_MEMBER_FILE_PREFIX, prefix=True)  # this check's findings, fresh each run
    journal.add_findings(extra)
    head = f"{org_ok} of {len(orgs)} Auth0 organizations found in WorkOS"
    tail = f"; {not_migrated} member(s) whose user was not migrated (blocked/invalid) not counted" \
        if not_migrated else ""
    if extra:  # a warning: listed in the report's findings, not a failed check
        tail += f"; warning: {len(extra)} WorkOS member(s) not in the Auth0 export ({EXTRA_MEMBER_CODE})"
    if not problems:
        return Check(name, True, f"{head}; {_short_list(lines)}{tail}")
    return Check(
        name, False, f"{head}; {_short_list(problems)}{tail}",
        "Run 'add missing memberships' (auth0-workos orgs --run-dir DIR): organizations and memberships are "
        "created from the journal's Auth0 → WorkOS id map, and existing ones are kept.",
    )


# ------------------------------------------------------------------------------------ roles
def check_roles(journal: Journal, roles_client: Callable[[], Any] | None) -> Check:
    """Each WorkOS role holds the mapped permissions, each migrated membership the mapped roles.
    `roles_client` opens the async client the roles engine reads with (the task layer's)."""
    from wizard.core.roles import VERIFY_NAME, has_roles, verify_check

    if roles_client is None:
        if not has_roles(journal):
            return verify_check(journal, lambda: None)  # not applicable: it opens nothing
        return Check(VERIFY_NAME, False, "not checked: no WorkOS client was opened for the roles check",
                     "Run the verification again from the wizard or `auth0-workos verify`.")
    return verify_check(journal, roles_client)


# ------------------------------------------------------------------------------------ 5. MFA
def mfa_figures(doc: documents.MfaReportDoc) -> dict:
    """The MFA report's numbers the check needs (phone users must re-enroll)."""
    return {"sms": doc.sms_users + doc.voice_users, "totp": doc.totp_users, "totp_enrolled": 0,
            "secrets_imported": False, "csv": doc.csv_path}


def check_mfa(journal: Journal) -> Check:
    name = MFA
    step = journal.step("mfa") or {}
    if step.get("status") == GateStatus.NOT_APPLICABLE.value:
        return not_applicable(name, step.get("reason") or "marked not applicable")
    doc = documents.MFA_REPORT.read(journal)
    if doc is None:
        return Check(name, False, "the MFA scan has not run",
                     "Run the MFA step (auth0-workos mfa --run-dir DIR) to list SMS and TOTP users.")
    f = mfa_figures(doc)
    totp_import = documents.TOTP_IMPORT.read(journal)
    if totp_import is not None:
        f["secrets_imported"] = True
        f["totp_enrolled"] = totp_import.enrolled + totp_import.already_enrolled
    parts = [f"{f['sms']} SMS user(s)", f"{f['totp']} TOTP user(s)"]
    unknown = mfa_unknown_text(doc.scan_targets, doc.scanned, doc.complete)
    if unknown and f["sms"] == 0 and f["totp"] == 0:
        # no data is not "no MFA": never "not applicable" until a scan has shown it
        return Check(name, False, "; ".join(parts) + f"; {unknown}",
                     "Build the inventory with Management API access (headless: `auth0-workos inventory`) or "
                     "run `auth0-workos mfa --run-dir DIR` with Auth0 credentials: the scan resumes; or mark "
                     "the MFA step not applicable with a reason")
    if unknown:
        parts.append(unknown)
    if f["sms"] == 0 and f["totp"] == 0:
        return not_applicable(name, "no user had SMS or TOTP MFA in Auth0")
    problems, hints = [], []
    if f["sms"]:
        csv = Path(f["csv"]) if f["csv"] else journal.run_dir / MFA_SMS_CSV
        if not csv.is_absolute():
            csv = journal.run_dir / csv
        if csv.is_file():
            parts.append(f"SMS users listed in {csv.name} for the re-enrollment email")
        else:
            problems.append(f"{csv.name} was not exported")
            hints.append("Re-run the MFA step to export mfa-sms-users.csv, then email those users: "
                         "AuthKit has no SMS factor, they enroll an authenticator app or use Magic Auth")
    if f["totp"]:
        if f["secrets_imported"]:
            parts.append(f"{f['totp_enrolled']} of {f['totp']} TOTP user(s) enrolled in WorkOS")
            if f["totp_enrolled"] < f["totp"]:
                problems.append(f"{f['totp'] - f['totp_enrolled']} TOTP user(s) not enrolled")
                hints.append("Re-run the MFA step to enroll the remaining TOTP factors (their secrets must "
                             "be in the MFA export from Auth0 support)")
        else:
            parts.append("TOTP secrets not imported: these users enroll again at first sign-in")
    evidence = "; ".join(parts + problems)
    return Check(name, not problems, evidence, ". ".join(hints) + ("." if hints else ""))


# ------------------------------------------------------------------------------------ 6. build
@dataclass(frozen=True, slots=True)
class BuildOptions:
    command: str = "npm run build"
    cwd: str | Path = "."
    not_applicable_reason: str | None = None  # set to skip the build, with the reason stated
    timeout_seconds: float = 1800.0
    tail_lines: int = 15


def check_build(options: BuildOptions = BuildOptions(), *, on_output: Callable[[str], None] | None = None,
                secrets: Iterable[str] = ()) -> Check:
    """Run the app's build command and stream its output; the exit status decides."""
    name = APP_BUILD
    if options.not_applicable_reason:
        return not_applicable(name, options.not_applicable_reason)
    cwd = Path(options.cwd).expanduser()
    if not cwd.is_dir():
        return Check(name, False, f"folder {cwd} does not exist",
                     "Choose your application's folder, or mark the build not applicable with a reason.")
    secrets = [s for s in secrets if s]

    def clean(line: str) -> str:
        for s in secrets:
            line = line.replace(s, mask(s))
        return line

    tail: deque[str] = deque(maxlen=options.tail_lines)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(options.command, shell=True, cwd=cwd, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, errors="replace",
                                env={**os.environ, "CI": os.environ.get("CI", "1")}, start_new_session=True)
    except OSError as exc:
        return Check(name, False, f"could not start {options.command!r}: {exc.strerror}",
                     "Check the build command, or mark the build not applicable with a reason.")

    def pump() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = clean(raw.rstrip("\n"))
            tail.append(line)
            if on_output:
                on_output(line)

    reader = threading.Thread(target=pump, name="build-output", daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=options.timeout_seconds)
    except subprocess.TimeoutExpired:
        timed_out = True
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)  # the whole build (npm and its children), not only the shell
    reader.join(timeout=5)
    code = proc.wait()
    secs = time.monotonic() - started
    where = f"`{options.command}` in {cwd}"
    last = " | ".join(x for x in tail if x.strip())[-600:]
    if timed_out:
        return Check(name, False, f"{where} timed out after {secs:.0f} s", "Fix the build or raise the timeout.")
    if code == 0:
        return Check(name, True, f"{where} exited 0 in {secs:.1f} s")
    hint = "Fix the build errors shown above (usually Auth0 SDK calls still to be replaced with AuthKit), " \
           "then verify again."
    if code == 127:
        hint = "The command was not found: install the tool (e.g. npm) or give the right --build-cmd."
    return Check(name, False, f"{where} exited {code} after {secs:.1f} s" + (f"; last output: {last}" if last else ""),
                 hint)


# ------------------------------------------------------------------------------------ the checklist
def record(journal: Journal, check: Check) -> Check:
    journal.record_verification(check.name, check.ok, check.evidence, check.fix_hint)
    return check


def run_verification(journal: Journal, settings: Settings, *,
                     password_sample: tuple[str, str] | list[tuple[str, str]] | None = None,
                     build: BuildOptions = BuildOptions(), on_progress: ProgressCallback | None = None,
                     on_output: Callable[[str], None] | None = None, client=None,
                     roles_client: Callable[[], Any] | None = None) -> GateResult:
    """Run every check, record each in the journal, return the gate (passed only if all pass).
    `client` (synchronous) and `roles_client` (opens an async one) come from the task layer
    (`wizard.tasks.verify`): the core builds no client."""
    if client is None:
        raise ValueError("run_verification reads WorkOS through the client the task opened: pass client=")
    require_same_environment_sync(journal, client, action="verify", bind=False)
    if password_sample is None:
        samples: list[tuple[str, str]] = []
    elif isinstance(password_sample, tuple) and password_sample and isinstance(password_sample[0], str):
        samples = [password_sample]
    else:
        samples = list(password_sample)
    checks = [
        record(journal, check_user_count(journal, client, on_progress=on_progress)),
        record(journal, check_password_samples(client, samples, journal)),
        record(journal, check_social_sign_in(journal)),
        record(journal, check_organizations(journal, client)),
        record(journal, check_roles(journal, roles_client)),
        record(journal, sso.check_connections(journal, client)),
        record(journal, check_mfa(journal)),
        record(journal, check_build(build, on_output=on_output,
                                    secrets=(settings.workos_api_key, settings.auth0_client_secret))),
    ]
    save_window(journal, shared_pacer(client_base_url(client), journal))  # its reads, for the run's next command
    result = GateResult.from_checks(checks, details={"verified_at": time.time()})
    journal.set_step("verify", result.status.value, result.reason, {
        "checks": [{"name": c.name, "ok": c.ok, "evidence": c.evidence, "fix_hint": c.fix_hint} for c in checks]})
    return result


def verification_gate(journal: Journal, settings: Settings | None = None) -> GateResult:
    """The wizard's gate reads the recorded results (running checks needs a password and a build folder)."""
    recorded = {v["name"]: v for v in journal.verifications()}
    checks = []
    for n in CHECK_NAMES:
        v = recorded.get(n)
        if v is None:
            checks.append(Check(n, False, "not run yet", "Run the verification checklist."))
        else:
            checks.append(Check(n, v["ok"], v["evidence"] or "", v["fix_hint"] or ""))
    return GateResult.from_checks(checks)


def password_samples(journal: Journal, credentials, limit: int = 1) -> list[tuple[str, str]]:
    """Of the (email, password) pairs given (the sandbox's demo accounts, from its start-up), those of
    password users this run imported."""
    wanted = {e.lower() for e, _ in credentials}
    imported: set[str] = set()
    if wanted:  # the journal is read in batches until every given address is found
        for u in journal.iter_users(status=UserStatus.DONE):
            if u.branch == Branch.PASSWORD and (u.email or "").lower() in wanted:
                imported.add((u.email or "").lower())
                if imported == wanted:
                    break
    out = [(e, p) for e, p in credentials if e.lower() in imported]
    return out[:limit]


__all__ = [
    "BuildOptions", "CHECK_NAMES", "UserDifference", "UserReconciliation", "check_build", "check_mfa",
    "check_organizations", "check_password_sign_in", "check_social_sign_in", "check_user_count",
    "confirm_social", "password_samples", "reconcile_users", "run_verification", "social_providers",
    "verification_gate",
]
