"""The plain (prompt-based) wizard: the same steps and gates as the full-screen app, asked one by one.

For terminals where a full-screen app is unwanted. Answers come from an `Answers` provider:
questionary in real use, a scripted provider in tests. Like the TUI it holds no migration logic:
each step calls the core, then the step's gate (wizard.core.steps) decides.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from wizard.clients.auth0 import Auth0Client
from wizard.clients.workos import make_client, make_sync_client
from wizard.core import artifacts, guide, inventory, mfa, orgs, plan, report, steps, verify
from wizard.core.config import Settings, mask
from wizard.core.gates import GateResult
from wizard.core.importer import Importer
from wizard.core.journal import Journal
from wizard.core.normalize import provider_label
from wizard.core.progress import Progress

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
                paused = " (rate limited: paused)" if p.paused_until and p.paused_until > time.time() else ""
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
    client, users_path = None, None
    if ctx.settings.has_auth0_credentials:
        client = Auth0Client.from_settings(ctx.settings)
    else:
        raw = ctx.answers.text("Users export file (no Auth0 credentials set):", _default_users_path(ctx)).strip()
        users_path = Path(raw).expanduser() if raw else None
    try:
        inv = inventory.build_inventory(client, users_path, ctx.progress(), journal=ctx.journal)
    finally:
        if client is not None:
            client.close()
    path = inventory.save_inventory(ctx.journal, inv)
    ctx.out(f"Inventory saved: {path}")


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
    if not passwords and not ctx.journal.get_document(steps.DOC_NO_PASSWORDS_REASON):
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
    result = plan.build_plan(users_path, pw_path)
    plan.save_plan(ctx.journal, result, users_path, pw_path)
    counts = ctx.journal.finding_counts()
    for (sev, code), n in sorted(counts.items()):
        ctx.out(f"  {sev:<8} {code:<24} {n}")
    for f in ctx.journal.findings(severity="error", limit=10):
        ctx.out(f"    {f.where()}: {f.message}")


def _mapping(ctx: PlainContext) -> None:
    counts = ctx.journal.count_users("branch")
    ctx.out("Decision tree: " + ", ".join(f"{b} {n}" for b, n in sorted(counts.items())))
    summary = ctx.journal.get_document("plan_summary") or {}
    ctx.out(f"Duplicates: {summary.get('merge_rule') or plan.MERGE_RULE}")


def _run_import(ctx: PlainContext, *, dry_run: bool) -> Any:
    """Run the importer, then write the same run-folder files as `auth0-workos import`."""
    async def go():
        client = make_client(ctx.settings, max_retries=0)
        try:
            return await Importer(ctx.journal, client, dry_run=dry_run, on_progress=ctx.progress()).run()
        finally:
            await client.close()

    summary = asyncio.run(go())
    if dry_run:
        artifacts.write_dry_run_artifacts(ctx.journal, summary)
    else:
        paths = artifacts.write_import_artifacts(ctx.journal, summary)
        ctx.out(f"  Files: {paths.summary}, {paths.id_map}, {paths.errors}")
    return summary


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
    counts = ctx.journal.count_users("status")
    to_send = counts.get("planned", 0) + counts.get("in_flight", 0)
    if to_send:
        typed = ctx.answers.text(f"Type {to_send} (the users to send) or 'import' to start the import:").strip()
        if typed not in (str(to_send), "import"):
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
            ctx.journal.reset_failed()
        elif choice == ACCEPT_FAILED:
            try:
                steps.accept_failures(ctx.journal, ctx.answers.text("Why may they stay out of WorkOS?"))
            except ValueError as exc:
                ctx.out(f"  {exc}")


def _social(ctx: PlainContext) -> None:
    ctx.out(f"Callback URL to register at each provider: {steps.SOCIAL_CALLBACK_URL}")
    ctx.out("Users link by email once the provider is enabled; they may have to verify their email.")
    confirmed = ctx.journal.get_document(steps.DOC_SOCIAL_CONFIRMATIONS) or {}
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
    with Auth0Client.from_settings(ctx.settings) as auth0:
        exp = orgs.export_organizations(auth0, ctx.journal, on_progress=ctx.progress())
    ctx.out(f"  exported {exp.organizations} organization(s), {exp.memberships} membership(s)")
    if not ctx.answers.confirm(f"Create the missing organizations and memberships in WorkOS at "
                               f"{ctx.settings.workos_base_url}?", default=True):
        ctx.out("  Nothing was written to WorkOS.")
        return
    with make_sync_client(ctx.settings, max_retries=0) as client:
        mig = orgs.migrate_organizations(ctx.journal, client, on_progress=ctx.progress())
    ctx.out(f"  organizations {mig.orgs}, memberships {mig.memberships}")


def _mfa(ctx: PlainContext) -> None:
    mfa_report = mfa.save_mfa_report(ctx.journal, mfa.build_mfa_report(ctx.journal))
    ctx.out(f"  SMS {mfa_report.sms_users}, voice {mfa_report.voice_users}, TOTP {mfa_report.totp_users}; "
            f"CSV: {mfa_report.csv_path}")
    for note in mfa_report.notes:
        ctx.out(f"  • {note}")
    done = ctx.journal.get_document(steps.DOC_MFA_COMMUNICATION) or {}
    for key, label in steps.MFA_COMMUNICATION_ITEMS:
        if key not in done and ctx.answers.confirm(f"{label}: done or scheduled?", default=False):
            steps.tick_mfa_item(ctx.journal, key)


def _verify(ctx: PlainContext) -> None:
    imported = {(u.email or "").lower() for u in ctx.journal.users(status=("created", "updated"))}
    demo = [c for c in ctx.demo_credentials if c[0].lower() in imported]
    email = ctx.answers.text("Email of a migrated password user to sign in with:", demo[0][0] if demo else "")
    password = demo[0][1] if demo and email == demo[0][0] else ctx.answers.password("Their password:")
    reason = ctx.answers.text("Why no application build applies (empty to run the build command):",
                              "Sandbox demo run: there is no application to build" if demo else "").strip()
    options = verify.BuildOptions(not_applicable_reason=reason or None)
    if not reason:
        options = verify.BuildOptions(command=ctx.answers.text("Build command:", "npm run build"),
                               cwd=ctx.answers.text("Application folder:", "."))
    with make_sync_client(ctx.settings) as client:
        verify.run_verification(ctx.journal, ctx.settings, client=client, build=options, on_progress=ctx.progress(),
                                password_sample=(email, password) if email and password else None)
    md, js = report.write_report(ctx.journal)
    ctx.out(f"Report: {md} and {js}")


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
            result = steps.check_step(step, ctx.journal, ctx.settings)
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
