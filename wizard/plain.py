"""The plain (prompt-based) wizard: the same steps and gates as the full-screen app, asked one by one.

For terminals where a full-screen app is unwanted. Answers come from an `Answers` provider:
questionary in real use, a scripted provider in tests. Like the TUI it holds no migration logic:
each step calls the core, then the step's gate (wizard.core.steps) decides.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from wizard.core import documents, guide, plan, steps
from wizard.core.config import Settings, mask
from wizard.core.gates import GateResult
from wizard.core.journal import Journal
from wizard.core.mfa import mfa_unknown_text
from wizard.core.normalize import provider_label
from wizard.core.progress import Progress, pause_label
from wizard.core.rollback import ROLLBACK_PROMISE
from wizard.tasks import check as check_task
from wizard.tasks import gates as gates_task
from wizard.tasks import import_ as import_task
from wizard.tasks import inventory as inventory_task
from wizard.tasks import mfa as mfa_task
from wizard.tasks import orgs as orgs_task
from wizard.tasks import report as report_task
from wizard.tasks import verify as verify_task

EXIT_OK, EXIT_FAILED = 0, 1
TRY_AGAIN, NOT_APPLICABLE, QUIT = "Try again", "Mark not applicable (with a reason)", "Quit (resume later)"
RETRY_FAILED, ACCEPT_FAILED = "Retry the failed users", "Accept the failures (with a reason)"


class Answers(Protocol):
    def confirm(self, question: str, default: bool = True) -> bool: ...
    def text(self, question: str, default: str = "") -> str: ...
    def password(self, question: str) -> str: ...
    def select(self, question: str, choices: list[str]) -> str: ...


class QuitWizard(Exception):
    """The person stopped answering (Ctrl-C / Esc): everything so far is in the journal."""


class QuestionaryAnswers:
    """Real prompts. A cancelled prompt (None) quits; the journal keeps the progress."""

    def _ask(self, question) -> Any:
        answer = question.ask()
        if answer is None:
            raise QuitWizard()
        return answer

    def confirm(self, question: str, default: bool = True) -> bool:
        import questionary

        return bool(self._ask(questionary.confirm(question, default=default)))

    def text(self, question: str, default: str = "") -> str:
        import questionary

        return str(self._ask(questionary.text(question, default=default)))

    def password(self, question: str) -> str:
        import questionary

        return str(self._ask(questionary.password(question)))

    def select(self, question: str, choices: list[str]) -> str:
        import questionary

        return str(self._ask(questionary.select(question, choices=choices)))


@dataclass
class PlainContext:
    journal: Journal
    settings: Settings
    answers: Answers
    out: Callable[[str], None] = print
    demo_exports: Any = None
    demo_credentials: list[tuple[str, str]] = field(default_factory=list)

    def progress(self) -> Callable[[Progress], None]:
        """Print a progress line at most once a second (and the last one)."""
        last = [0.0]

        def show(p: Progress) -> None:
            now = time.monotonic()
            if p.done or now - last[0] >= 1.0:
                last[0] = now
                total = "?" if p.total is None else p.total
                counts = ", ".join(f"{k} {v}" for k, v in sorted(p.counts.items()))
                paused = f" ({pause_label(p)}: paused)" if p.paused_until and p.paused_until > time.time() else ""
                self.out(f"  {p.operation}: {p.completed}/{total} {counts}{paused}")

        return show


def render_gate(result: GateResult) -> list[str]:
    lines = []
    for c in result.checks:
        lines.append(f"  {'✓' if c.ok else '✗'} {c.name}" + (f" — {c.evidence}" if c.evidence else ""))
        if not c.ok and c.fix_hint:
            lines.append(f"      fix: {c.fix_hint}")
    if result.status.value == "not_applicable":
        lines.append(f"  – not applicable: {result.reason}")
    elif not result.passed:
        lines.append(f"  Gate not passed: {result.reason}")
    return lines


# ------------------------------------------------------------------------------ step actions
def _guide(ctx: PlainContext) -> None:
    ctx.out(f"Official guide: {guide.GUIDE_URL}")
    for i, f in enumerate(guide.FOLLOWED, 1):
        ctx.out(f"  {i}. {f}")
    ctx.out("Where newer API facts override the seed guide:")
    for d in guide.DIFFERENCES:
        ctx.out(f"  • {d.topic}: {d.wizard_does}")
    if ctx.answers.confirm("Have you read the guide and understood what this wizard follows?", default=False):
        steps.acknowledge_guide(ctx.journal)


def _prereqs(ctx: PlainContext) -> None:
    s = ctx.settings
    ctx.out(f"WORKOS_API_KEY {mask(s.workos_api_key)}  WORKOS_CLIENT_ID {s.workos_client_id or '(not set)'}")


def _default_users_path(ctx: PlainContext) -> str:
    path = ctx.journal.input_path("users") or (ctx.demo_exports.users_path if ctx.demo_exports else None)
    return str(path) if path else ""


def _inventory(ctx: PlainContext) -> None:
    users_path = None
    if not ctx.settings.has_auth0_credentials:
        raw = ctx.answers.text("Users export file (no Auth0 credentials set):", _default_users_path(ctx)).strip()
        users_path = Path(raw).expanduser() if raw else None
    done = inventory_task.run_inventory(ctx.journal, ctx.settings, on_progress=ctx.progress(), users_path=users_path)
    ctx.out(f"Inventory saved: {done.path}")


def _catch_up(ctx: PlainContext, users: str | None, passwords: str | None, *, offer_delete: bool = True) -> bool:
    """The delta sync with a confirmation (typed `delete N` when users are deleted); True when done."""
    from wizard.tasks.sync import SyncError, prepare_sync, run_sync

    delete = offer_delete and ctx.answers.confirm(
        "Also delete in WorkOS the users gone from Auth0 (or blocked there)?", default=False)
    try:
        planned = prepare_sync(ctx.journal, ctx.settings, users=users or None, passwords=passwords or None,
                               delete_removed=delete, on_progress=ctx.progress())
    except SyncError as exc:
        ctx.out(f"  {exc}")
        return False
    for line in planned.lines():
        ctx.out(f"  {line}")
    to_delete = planned.counts.get("to_delete", 0)
    if to_delete:
        typed = ctx.answers.text(f"Type 'delete {to_delete}' to delete {to_delete} WorkOS user(s):").strip()
        if typed != f"delete {to_delete}":
            ctx.out("  Not confirmed: nothing was sent.")
            return False
    elif planned.to_send and not ctx.answers.confirm(f"Send {planned.to_send} change(s) to WorkOS?"):
        ctx.out("  Nothing was sent.")
        return False
    result = run_sync(ctx.journal, ctx.settings, planned, on_progress=ctx.progress())
    s = result.summary
    ctx.out(f"  Sync {result.sync_id}: {s.get('session_created', 0)} created, {s.get('session_updated', 0)} "
            f"updated or deleted, {s.get('session_failed', 0)} failed, {s.get('remaining', 0)} left")
    return True


def _export(ctx: PlainContext) -> None:
    from wizard.core import sync, ticket

    if sync.apply_password_export_label(ctx.journal):  # imported without hashes: the file may be here now
        ctx.out(ticket.waiting_line(ctx.journal))
        late = ctx.answers.text("The decrypted password export, to apply it now (empty: not yet):", "").strip()
        if late:
            _catch_up(ctx, None, late, offer_delete=False)
        return
    if not ctx.journal.input_path("passwords") and not ctx.demo_exports:
        t = ticket.ticket_for_run(ctx.journal, ctx.settings.auth0_domain)
        path = ticket.write_ticket(ctx.journal, t)
        ctx.out(f"The password export comes from Auth0 support ({ticket.EXPECTED_WAIT}). The ticket ({path}):")
        for line in t.text.splitlines():
            ctx.out(f"  | {line}")
        if ticket.sent_at(ctx.journal) is None and ctx.answers.confirm("Have you sent this ticket?", default=False):
            ticket.mark_sent(ctx.journal)
        ctx.out(ticket.waiting_line(ctx.journal))
    users = ctx.answers.text("Users export file:", _default_users_path(ctx)).strip()
    pw_default = ctx.journal.input_path("passwords") or (ctx.demo_exports.passwords_path if ctx.demo_exports else None)
    passwords = ctx.answers.text("Password-hash export (empty if none):", str(pw_default or "")).strip()
    if not passwords and not documents.NO_PASSWORDS_REASON.exists(ctx.journal):
        reason = ctx.answers.text("Why is there no password-hash export?")
        try:
            steps.set_no_passwords_reason(ctx.journal, reason)
        except ValueError as exc:
            ctx.out(f"  {exc}")
            return
    users_path = Path(users).expanduser()
    if not users_path.is_file():
        ctx.out(f"  Users export not found: {users}")
        return
    pw_path = Path(passwords).expanduser() if passwords else None
    if pw_path is not None:  # trust (issue 10): the hash-join choice, recorded for check and import
        ctx.out(f"  {plan.JOIN_BY_EMAIL_WARNING}")
        join = ctx.answers.confirm(f"{plan.JOIN_BY_EMAIL_CHOICE}?", default=plan.recorded_join_by_email(ctx.journal))
        plan.record_join_choice(ctx.journal, join, source="plain export step")
    check_task.run_check(ctx.journal, users_path, pw_path)
    counts = ctx.journal.finding_counts()
    for (sev, code), n in sorted(counts.items()):
        ctx.out(f"  {sev:<8} {code:<24} {n}")
    for f in ctx.journal.findings(severity="error", limit=10):
        ctx.out(f"    {f.where()}: {f.message}")


def _mapping(ctx: PlainContext) -> None:
    counts = ctx.journal.count_users("branch")
    ctx.out("Decision tree: " + ", ".join(f"{b} {n}" for b, n in sorted(counts.items())))
    summary = documents.PLAN_SUMMARY.read(ctx.journal)
    ctx.out(f"Duplicates: {(summary.merge_rule if summary is not None else None) or plan.MERGE_RULE}")


def _run_import(ctx: PlainContext, *, dry_run: bool) -> Any:
    """The import task: it writes the same run-folder files as `auth0-workos import`."""
    result = import_task.run_import(ctx.journal, ctx.settings, on_progress=ctx.progress(), dry_run=dry_run)
    if result.paths is not None:
        ctx.out(f"  Files: {result.paths.summary}, {result.paths.id_map}, {result.paths.errors}")
    return result.summary


def _import(ctx: PlainContext) -> None:
    from wizard.core import package, sync

    if (offer := package.package_offer(ctx.journal)) is not None:
        ctx.out(offer)
    pending = ctx.journal.count_users("status")
    if sync.can_sync(ctx.journal) is None and not pending.get("planned") and not pending.get("in_flight") \
            and ctx.answers.confirm("Catch up with Auth0 now (a delta sync with a fresh export)?", default=False):
        users = ctx.answers.text("Fresh users export:", str(ctx.journal.input_path("users") or "")).strip()
        passwords = ctx.answers.text("Password export (empty: the one already used):", "").strip()
        _catch_up(ctx, users, passwords)
        return
    if not steps.dry_run_gate(ctx.journal).passed:
        ctx.out("Dry run (reads WorkOS, sends nothing):")
        s = _run_import(ctx, dry_run=True)
        ctx.out(f"  would create {s.would_create}, would update {s.would_update}, would fail {s.would_fail}")
    to_send = import_task.users_to_send(ctx.journal)
    if to_send:
        ctx.out("  " + ROLLBACK_PROMISE)
        typed = ctx.answers.text(f"Type {to_send} (the users to send) or 'import' to start the import:").strip()
        if not import_task.confirmation_accepted(typed, to_send):
            ctx.out("  Not confirmed: nothing was sent.")
            return
        s = _run_import(ctx, dry_run=False)
        ctx.out(f"  {s.created} created, {s.updated} updated, {s.failed} failed, {s.remaining} remaining")
    failed = ctx.journal.users(status="failed", limit=20)
    if failed:
        for u in failed:
            ctx.out(f"  failed: {u.email or u.auth0_user_id}: {u.last_error_code} {u.last_error_message}")
        choice = ctx.answers.select("Some users failed:", [RETRY_FAILED, ACCEPT_FAILED, TRY_AGAIN])
        if choice == RETRY_FAILED:
            import_task.retry_failed(ctx.journal)
        elif choice == ACCEPT_FAILED:
            try:
                steps.accept_failures(ctx.journal, ctx.answers.text("Why may they stay out of WorkOS?"))
            except ValueError as exc:
                ctx.out(f"  {exc}")


def _social(ctx: PlainContext) -> None:
    ctx.out(f"Callback URL to register at each provider: {steps.SOCIAL_CALLBACK_URL}")
    ctx.out("Users link by email once the provider is enabled; they may have to verify their email.")
    confirmed = documents.SOCIAL_CONFIRMATIONS.read(ctx.journal)
    for p in steps.social_providers(ctx.journal):
        if p in confirmed:
            continue
        if ctx.answers.confirm(f"Is {provider_label(p)} ({p}) enabled in WorkOS with the callback URL?",
                               default=False):
            steps.confirm_social_provider(ctx.journal, p)


def _orgs(ctx: PlainContext) -> None:
    if not ctx.settings.has_auth0_credentials:
        ctx.out("No Auth0 credentials: organizations cannot be exported.")
        return
    exp = orgs_task.run_org_export(ctx.journal, ctx.settings, on_progress=ctx.progress()).export
    ctx.out(f"  exported {exp.organizations} organization(s), {exp.memberships} membership(s)")
    if not ctx.answers.confirm(f"Create the missing organizations and memberships in WorkOS at "
                               f"{ctx.settings.workos_base_url}?", default=True):
        ctx.out("  Nothing was written to WorkOS.")
        return
    mig = orgs_task.run_org_migration(ctx.journal, ctx.settings, on_progress=ctx.progress()).migration
    ctx.out(f"  organizations {mig.orgs}, memberships {mig.memberships}")


def _roles(ctx: PlainContext) -> None:
    """Read, show the mapping and the decisions it needs, dry-run, then write after a typed "roles"."""
    from wizard.core import roles as rbac
    from wizard.tasks import roles as roles_task

    if ctx.settings.has_auth0_credentials:
        read = roles_task.read_roles(ctx.journal, ctx.settings, on_progress=ctx.progress())
        ctx.out(f"  read {read.roles} role(s), {read.permissions} permission(s), {read.members_with_roles} member(s) "
                f"with roles, {read.tenant_role_holders} user(s) with roles outside any organization")
        for note in read.notes:
            ctx.out(f"  • {note}")
    if not rbac.has_roles(ctx.journal):
        ctx.out("  No Auth0 roles: nothing to move." if ctx.settings.has_auth0_credentials else
                "  No Auth0 credentials: roles cannot be read.")
        return
    plan, _ = roles_task.plan_roles(ctx.journal, ctx.settings)
    reuse = [t["slug"] for t in plan.taken if ctx.answers.confirm(
        f"WorkOS already has a role '{t['slug']}' this tool did not create. Reuse it for Auth0 role "
        f"'{t['auth0_role']}'? It changes what every holder of '{t['slug']}' may do (no: use '{t['chosen']}')",
        default=False)]
    default_org = None
    for line in rbac.tenant_lines(ctx.journal):
        ctx.out(f"  {line}")
    if rbac.tenant_rows(ctx.journal) and ctx.answers.confirm(
            "Assign the roles held outside any organization within a default organization?", default=False):
        default_org = ctx.answers.text("Default organization (Auth0 id or name, or WorkOS org_ id; empty: report "
                                       "only):", "").strip() or None
    try:
        plan, preview = roles_task.plan_roles(ctx.journal, ctx.settings, reuse_existing=reuse, default_org=default_org)
    except ValueError as exc:
        ctx.out(f"  {exc}")
        return
    for line in rbac.plan_lines(plan) + rbac.outcome_lines(preview):
        ctx.out(f"  {line}")
    answer = ctx.answers.text(f'Type "roles" to write these to WorkOS at {ctx.settings.workos_base_url} '
                              "(anything else writes nothing):")
    if answer.strip().lower() != "roles":
        ctx.out("  Nothing was written to WorkOS.")
        return
    result = roles_task.run_roles(ctx.journal, ctx.settings, on_progress=ctx.progress(), read=False,
                                  reuse_existing=reuse, default_org=default_org)
    for line in rbac.outcome_lines(result.outcome):
        ctx.out(f"  {line}")
def _sso(ctx: PlainContext) -> None:
    """Enterprise SSO: plan + dry run, a cutover mode per connection, secrets (hidden), typed confirmation."""
    from wizard.core import sso
    from wizard.tasks.sso import run_portal_links, run_sso

    if not ctx.settings.has_auth0_credentials:
        ctx.out("No Auth0 credentials: the enterprise connections cannot be read.")
        return
    result = run_sso(ctx.journal, ctx.settings, dry_run=True, on_progress=ctx.progress())
    if not result.connections:
        ctx.out("  The inventory found no enterprise connection: mark this step not applicable.")
        return
    ctx.out("Cutover modes:")
    for mode, label in sso.MODE_LABELS.items():
        ctx.out(f"  {mode}: {label}")
    ctx.out(f"  {sso.KEEP_IDP_ROUTING}")
    modes: dict[str, str] = {}
    for r in result.rows:
        ctx.out(f"  {r['display_name']} ({r['strategy']}): {r['outcome']}" + (f": {r['reason']}" if r["reason"] else ""))
        if r["outcome"] != "handed off" and r["outcome"] not in ("created", "existing"):
            choice = ctx.answers.select(f"Cutover mode for {r['name']}:", [sso.MODE_LABELS[m] for m in sso.MODES])
            modes[r["name"]] = next(m for m, label in sso.MODE_LABELS.items() if label == choice)
    consolidate = any(len(r["organizations"]) > 1 for r in result.rows) and ctx.answers.confirm(
        "Consolidate a connection several organizations enable into one WorkOS organization of its own "
        "(instead of one connection per organization)?", default=False)
    typed = {}
    for name, env in result.secrets_needed:
        value = ctx.answers.password(f"Client secret of {name} (hidden; empty to hand it off, or set {env}):").strip()
        if value:
            typed[name] = value
    result = run_sso(ctx.journal, ctx.settings, dry_run=True, modes=modes, consolidate=consolidate,
                     typed_secrets=typed, on_progress=ctx.progress())
    would = (result.run or {}).get("connections", {}).get("would_create", 0)
    ctx.out(f"  Dry run: {would} connection(s) would be created; handoff in {result.handoff_md}")
    if would or (result.run or {}).get("members", {}).get("would_create"):
        typed_ok = ctx.answers.text(f"Type {would} (the connections to create) or 'sso' to write to WorkOS:").strip()
        if typed_ok not in (str(would), "sso"):
            ctx.out("  Not confirmed: nothing was written to WorkOS.")
            return
        result = run_sso(ctx.journal, ctx.settings, write=True, modes=modes, consolidate=consolidate,
                         typed_secrets=typed, on_progress=ctx.progress())
        run = result.run or {}
        ctx.out(f"  connections {run.get('connections')}, members {run.get('members')}")
    ctx.out(f"  Handoff: {result.handoff_md} and {result.connections_csv}")
    portal = [r["name"] for r in result.rows if r["outcome"] == "handed off" or r["mode"] == sso.NEW_ENDPOINTS]
    if portal and ctx.answers.confirm(f"Generate Admin Portal links now for {', '.join(portal)} (each expires "
                                      f"{sso.PORTAL_LINK_TTL_MINUTES} minutes after issuance)?", default=False):
        for name in portal:
            for org, link in run_portal_links(ctx.journal, ctx.settings, name):
                ctx.out(f"  {name} / {org}: {link}")


def _mfa(ctx: PlainContext) -> None:
    mfa_report = mfa_task.run_mfa_report(ctx.journal, ctx.settings).report
    ctx.out(f"  SMS {mfa_report.sms_users}, voice {mfa_report.voice_users}, TOTP {mfa_report.totp_users}; "
            f"CSV: {mfa_report.csv_path}")
    unknown = mfa_unknown_text(mfa_report.scan_targets, mfa_report.scanned, mfa_report.complete)
    if unknown:
        ctx.out(f"  MFA {unknown}")
    for note in mfa_report.notes:
        ctx.out(f"  • {note}")
    done = documents.MFA_COMMUNICATION.read(ctx.journal)
    for key, label in steps.mfa_communication_items(ctx.journal):
        if key not in done and ctx.answers.confirm(f"{label}: done or scheduled?", default=False):
            steps.tick_mfa_item(ctx.journal, key)


def _verify(ctx: PlainContext) -> None:
    demo = verify_task.password_samples(ctx.journal, ctx.demo_credentials)
    email = ctx.answers.text("Email of a migrated password user to sign in with:", demo[0][0] if demo else "")
    password = demo[0][1] if demo and email == demo[0][0] else ctx.answers.password("Their password:")
    reason = ctx.answers.text("Why no application build applies (empty to run the build command):",
                              "Sandbox demo run: there is no application to build" if demo else "").strip()
    options = verify_task.BuildOptions(not_applicable_reason=reason or None)
    if not reason:
        options = verify_task.BuildOptions(command=ctx.answers.text("Build command:", "npm run build"),
                                           cwd=ctx.answers.text("Application folder:", "."))
    verify_task.run_verification(ctx.journal, ctx.settings, build=options, on_progress=ctx.progress(),
                                 samples=[(email, password)] if email and password else [])
    written = report_task.run_report(ctx.journal)
    ctx.out(f"Report: {written.markdown} and {written.json}")


def _cutover(ctx: PlainContext) -> None:
    from wizard.core import cutover

    doc = cutover.state(ctx.journal)
    if not doc.get("strategy"):
        for title, text in cutover.STRATEGIES.values():
            ctx.out(f"  {title}: {text}")
        disable = ctx.answers.confirm("Disable sign-ups in Auth0 for the window? (No: dual-write)", default=True)
        cutover.choose_strategy(ctx.journal, "disable_signups" if disable else "dual_write")
    if not cutover.state(ctx.journal).get("final_sync"):
        ctx.out("Final catch-up sync, right before switching: export the users from Auth0 again.")
        users = ctx.answers.text("Fresh users export:", str(ctx.journal.input_path("users") or "")).strip()
        if not _catch_up(ctx, users, None):
            return
        try:
            s = cutover.record_final_sync(ctx.journal)
            ctx.out(f"  Final catch-up: sync {s['id']}.")
        except cutover.CutoverError as exc:
            ctx.out(f"  {exc}")
            return
    doc = cutover.state(ctx.journal)
    try:
        if not doc.get("switched"):
            if not ctx.answers.confirm("Is the application switched to WorkOS now?", default=False):
                return
            cutover.tick(ctx.journal, "switched")
        if not cutover.state(ctx.journal).get("watched"):
            try:
                cutover.tick(ctx.journal, "watched")
            except cutover.CutoverError as exc:
                ctx.out(f"  {exc}")
                reason = ctx.answers.text(f"Why is a watch shorter than {cutover.WATCH_HOURS} hours enough "
                                          "(empty: keep watching, come back later)?", "").strip()
                if not reason:
                    return
                cutover.tick(ctx.journal, "watched", reason=reason)
        if not cutover.state(ctx.journal).get("auth0_disabled"):
            if not ctx.answers.confirm("Is the Auth0 tenant disabled?", default=False):
                return
            cutover.tick(ctx.journal, "auth0_disabled")
    except cutover.CutoverError as exc:
        ctx.out(f"  {exc}")


ACTIONS: dict[str, Callable[[PlainContext], None]] = {
    "guide": _guide, "prereqs": _prereqs, "inventory": _inventory, "export": _export, "mapping": _mapping,
    "import": _import, "social": _social, "orgs": _orgs, "mfa": _mfa, "verify": _verify,
    "roles": _roles,
    "sso": _sso,
    "cutover": _cutover,
}


# ------------------------------------------------------------------------------ the walk
def walk(ctx: PlainContext, *, max_attempts: int = 20) -> int:
    """Every step from where the run stands, each gate passed before the next; 0 when all passed."""
    index = steps.resume_index(ctx.journal)
    while index < len(steps.STEPS):
        step = steps.STEPS[index]
        steps.remember_current(ctx.journal, step.id)
        ctx.out(f"\n== {index + 1}/{len(steps.STEPS)} {step.title}: {step.summary}")
        for _attempt in range(max_attempts):
            if steps.recorded_status(ctx.journal, step.id)[0] != "not_applicable":
                try:
                    ACTIONS[step.id](ctx)
                except QuitWizard:
                    raise
                except Exception as exc:  # shown like the TUI's central handler: type and message only
                    ctx.out(f"  {type(exc).__name__}: {str(exc)[:300]}")
            result = gates_task.check_step(step, ctx.journal, ctx.settings)
            for line in render_gate(result):
                ctx.out(line)
            if result.passed:
                break
            choices = [TRY_AGAIN] + ([NOT_APPLICABLE] if step.conditional else []) + [QUIT]
            choice = ctx.answers.select(f"'{step.title}' has not passed. What now?", choices)
            if choice == QUIT:
                return EXIT_FAILED
            if choice == NOT_APPLICABLE:
                try:
                    steps.mark_not_applicable(ctx.journal, step.id, ctx.answers.text("Why does it not apply?"))
                except ValueError as exc:
                    ctx.out(f"  {exc}")
        else:
            return EXIT_FAILED
        index += 1
    ctx.out("\nEvery step passed. The report is in the run folder.")
    return EXIT_OK


def run_plain(run_dir: Path, settings: Settings, *, answers: Answers | None = None, demo_exports: Any = None,
              demo_credentials: list[tuple[str, str]] | None = None, out: Callable[[str], None] = print) -> int:
    with Journal.open(run_dir) as journal:
        ctx = PlainContext(journal, settings, answers or QuestionaryAnswers(), out, demo_exports,
                           list(demo_credentials or []))
        try:
            return walk(ctx)
        except (QuitWizard, KeyboardInterrupt):
            if demo_exports is None:
                out(f"\nStopped. Resume with: auth0-workos --plain --run-dir {run_dir}")
            else:  # a sandbox rehearsal: its WorkOS is in memory and ends with the session
                out(f"\nStopped. The sandbox rehearsal ends here; its files are in {run_dir}.")
            return EXIT_FAILED
