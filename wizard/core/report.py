"""The final report: `report.md` for people and `report.json` for tools, both built from the journal.

Everything comes from the journal's summaries; no hash, no secret and no full user object is
written (a last scrub removes anything hash- or key-shaped that a document might carry).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from wizard import __version__
from wizard.core import documents, sso
from wizard.core.findings import ORG_MEMBER_NOT_IN_AUTH0
from wizard.core.guide import DIFFERENCES, GUIDE_URL
from wizard.core.inventory import summary_lines
from wizard.core.journal import Journal
from wizard.core.mfa import mfa_unknown_text
from wizard.core.recovery import diagnose
from wizard.core.roles import report_markdown as roles_report_markdown
from wizard.core.roles import report_section as roles_report_section
from wizard.core.rundir import write_private

REPORT_MD = "report.md"
REPORT_JSON = "report.json"
POST_MIGRATION_DOCUMENT = documents.POST_MIGRATION.name
FIRST_FINDINGS = 10
LIST_LIMIT = 25  # longer lists inside documents are cut: a report is not a data dump

POST_MIGRATION_TASKS = (
    ("replace_sdk", "Replace Auth0 SDK calls in your application with WorkOS AuthKit"),
    ("test_flows", "Test the authentication flows: password, social, MFA, password reset"),
    ("watch_logs", "Watch the authentication logs for failures for the first 48 hours"),
    ("reenable_webhooks", "Re-enable the WorkOS webhook endpoints disabled for the import"),
    ("disable_auth0", "After the validation period, disable the Auth0 tenant"),
    ("update_docs", "Update documentation: internal docs, onboarding guides, support articles"),
)

NOT_IMPORTED_LIMIT = 1000  # blocked and invalid users listed by name in report.md (all are counted)
# checks a person vouches for (a ticked box, a stated reason) rather than the wizard measuring them
SELF_ATTESTED_CHECKS = {"Social sign-in"}
OPERATOR = "confirmed by the operator"
MEASURED = "measured"

_HASH_RE = re.compile(r"\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{20,}")
_KEY_RE = re.compile(r"\bsk_[A-Za-z0-9_]{6,}")
_SECRET_KEYS = re.compile(r"(password|passwd|hash|secret|api_key|apikey|token)", re.IGNORECASE)
_SAFE_KEYS = {"hash_line", "hash_ref", "password_users", "passwords", "hashes", "sha256",
              "secrets_imported", "totp_secrets_imported", "with_hash", "without_hash", "hash_types",
              "no_hash", "password_branch", "passwords_file", "passwords_file_error", "password_lines_read",
              "hash_rows_matched", "hash_rows_unmatched", "database_users_without_hash",
              "hashes_bound_by_email", "hash_rows_other_connection", "hash_rows_repeated",
              "hash_rows_without_hash_unmatched"}


def _scrub_text(text: str) -> str:
    text = _HASH_RE.sub("[hash removed]", text)
    return _KEY_RE.sub(lambda m: m.group(0)[:5] + "…[key removed]", text)


def scrub(obj, *, depth: int = 0):
    """Drop secret-named fields, cut long lists, and blank anything hash- or key-shaped."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            ks = str(k)
            if _SECRET_KEYS.search(ks) and ks not in _SAFE_KEYS and not isinstance(v, (int, float, bool)):
                continue
            out[ks] = scrub(v, depth=depth + 1)
        return out
    if isinstance(obj, (list, tuple)):
        items = [scrub(v, depth=depth + 1) for v in list(obj)[:LIST_LIMIT]]
        if len(obj) > LIST_LIMIT:
            items.append(f"… {len(obj) - LIST_LIMIT} more not shown")
        return items
    if isinstance(obj, str):
        return _scrub_text(obj)
    return obj


def _iso(ts: float | None) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)) if ts else None


def _doc(journal: Journal, document: documents.Document):
    """A document as the report shows it (scrubbed), or "not run"."""
    d = document.read(journal)
    if d is None:
        return "not run"
    return scrub(d.dump() if isinstance(d, documents.Shape) else d)


def _step_titles() -> dict[str, str]:
    try:
        from wizard.core.steps import STEPS
    except Exception:  # the steps module is optional for a report
        return {}
    return {s.id: s.title for s in STEPS}


def tick_post_migration(journal: Journal, task_id: str, done: bool = True) -> None:
    if task_id not in dict(POST_MIGRATION_TASKS):
        raise KeyError(task_id)
    documents.POST_MIGRATION.tick(journal, task_id, time.time() if done else None)


def _decisions(journal: Journal) -> list[dict]:
    """Choices a person made on the way, each with its stated reason: the report is their record."""
    out = []
    no_pw = documents.NO_PASSWORDS_REASON.read(journal)
    if no_pw is not None:
        out.append({"decision": "No password-hash export: password users reset their password",
                    "reason": no_pw.reason, "at": _iso(no_pw.at)})
    accepted = documents.FAILURES_ACCEPTED.read(journal)
    if accepted is not None:
        out.append({"decision": f"{accepted.count} failed user(s) accepted as not migrated",
                    "reason": accepted.reason, "at": _iso(accepted.at)})
    for sid, rec in journal.steps().items():
        if rec["status"] == "not_applicable":
            out.append({"decision": f"Step '{sid}' marked not applicable", "reason": rec["reason"] or "",
                        "at": _iso(rec["updated_at"])})
    return out


def _not_imported(journal: Journal) -> dict:
    """Blocked and invalid users by name (the mapping step promises they are listed here)."""
    out: dict = {}
    for branch in ("blocked", "invalid"):
        rows = journal.users(branch=branch, limit=NOT_IMPORTED_LIMIT)
        out[branch] = {"count": journal.count_users("branch").get(branch, 0),
                       "users": [{"auth0_user_id": u.auth0_user_id, "email": u.email or "",
                                  "reason": _scrub_text(u.reason or "")} for u in rows]}
    return out


def _mfa_communication(journal: Journal) -> list[dict]:
    """The MFA communication plan as ticked by the operator (the items live with the steps)."""
    from wizard.core.steps import mfa_communication_items

    ticked = documents.MFA_COMMUNICATION.read(journal)
    if not ticked:
        return []
    return [{"id": key, "item": label, "done": key in ticked} for key, label in mfa_communication_items(journal)]


def attestation(name: str, evidence: str) -> str:
    """How a verification result is known: measured by the wizard, or confirmed by the operator."""
    if name in SELF_ATTESTED_CHECKS or (evidence or "").startswith("not applicable:") and name == "Application builds":
        return OPERATOR
    return MEASURED


def build_report(journal: Journal) -> dict:
    """The whole report as JSON-able data (the markdown is rendered from this)."""
    counts = journal.finding_counts()
    by_sev: dict[str, int] = {}
    for (sev, _code), n in counts.items():
        by_sev[sev] = by_sev.get(sev, 0) + n
    first = [{"where": f.where(), "severity": f.severity.value, "code": f.code, "message": f.message}
             for f in journal.findings(limit=FIRST_FINDINGS)]
    stored_plan = documents.PLAN_SUMMARY.read(journal)
    plan_summary = stored_plan.dump() if stored_plan is not None else None
    merge_rule = stored_plan.merge_rule if stored_plan is not None else None
    titles = _step_titles()
    recorded = journal.steps()
    steps = [
        {"id": sid, "title": titles.get(sid, sid), "status": rec["status"], "reason": rec["reason"] or "",
         "updated_at": _iso(rec["updated_at"])}
        for sid, rec in recorded.items()
    ]
    steps += [{"id": sid, "title": title, "status": "pending", "reason": "", "updated_at": None}
              for sid, title in titles.items() if sid not in recorded]
    order = list(titles)
    steps.sort(key=lambda s: order.index(s["id"]) if s["id"] in order else len(order))
    verifications = [
        {"name": v["name"], "ok": v["ok"], "evidence": v["evidence"] or "", "fix_hint": v["fix_hint"] or "",
         "at": _iso(v["at"]), "how": attestation(v["name"], v["evidence"] or "")}
        for v in journal.verifications()
    ]
    orgs = journal.orgs()
    org_status: dict[str, int] = {}
    for o in orgs:
        org_status[o["status"]] = org_status.get(o["status"], 0) + 1
    mem_status: dict[str, int] = {}
    for m in journal.memberships():
        mem_status[m["status"]] = mem_status.get(m["status"], 0) + 1
    ticked = documents.POST_MIGRATION.read(journal)
    guide_ack = documents.GUIDE_ACK.read(journal)
    report = {
        "title": "Auth0 → WorkOS migration report",
        "generated_at": _iso(time.time()),
        "tool_version": __version__,
        "run_dir": str(journal.run_dir),
        "run_created_at": journal.get_meta("created_at"),
        "guide": {
            "url": GUIDE_URL,
            "acknowledged_at": _iso(guide_ack.at) if guide_ack is not None else None,
            "differences": [{"topic": d.topic, "seed_says": d.seed_says, "wizard_does": d.wizard_does}
                            for d in DIFFERENCES],
        },
        "inputs": {k: {"file": Path(v["path"]).name, "sha256": v["sha256"], "lines": v["lines"]}
                   for k, v in journal.inputs().items()},
        "inventory": _doc(journal, documents.INVENTORY),
        "findings": {
            "by_severity": by_sev,
            "by_code": [{"severity": s, "code": c, "count": n} for (s, c), n in sorted(counts.items())],
            "first": first,
        },
        "plan": {
            "hashes_bound_by_email": [{"where": f.where(), "message": f.message}
                                      for f in journal.findings(code="hash_joined_by_email")],
            "summary": scrub(plan_summary) if plan_summary is not None else "not run",
            "users_by_branch": journal.count_users("branch"),
            "merge_rule": scrub(merge_rule) if merge_rule else None,
        },
        "import": {
            "summary": _doc(journal, documents.IMPORT_SUMMARY),
            "users_by_status": journal.count_users("status"),
            "by_branch_and_status": [{"branch": b, "status": s, "count": n}
                                     for (b, s), n in sorted(journal.count_by_branch_status().items())],
        },
        "organizations": {
            "summary": _doc(journal, documents.ORGS),
            "organizations": len(orgs),
            "organizations_by_status": org_status,
            "memberships_by_status": mem_status,
            # verification's warning: WorkOS members the Auth0 export does not list (issue 10)
            "members_not_in_auth0": [{"where": f.where(), "message": f.message}
                                     for f in journal.findings(code=ORG_MEMBER_NOT_IN_AUTH0)],
        },
        "mfa_communication": _mfa_communication(journal),
        "enterprise_sso": sso.report_section(journal),
        "mfa": _doc(journal, documents.MFA_REPORT),
        "roles": roles_report_section(journal),
        **window_report(journal),  # window: support ticket, every delta sync, the cutover checklist
        "verification": verifications,
        "verification_passed": bool(verifications) and all(v["ok"] for v in verifications),
        "steps": steps,
        "decisions": _decisions(journal),
        "recovery": [
            {"id": r.id, "title": r.title, "cause": r.cause, "affected": r.affected, "fix": r.fix_hint,
             "action": r.action}
            for r in diagnose(journal)
        ],
        "post_migration": [
            {"id": tid, "task": text, "done": tid in ticked, "done_at": _iso(ticked.get(tid))}
            for tid, text in POST_MIGRATION_TASKS
        ],
    }
    report = scrub(report)
    report["not_imported"] = _not_imported(journal)  # whole lists (up to NOT_IMPORTED_LIMIT), not cut at 25
    report["partial"] = _partial_reasons(report)
    return report


def _partial_reasons(r: dict) -> list[str]:
    """Why this report is not the final word yet (empty when every step passed and was verified)."""
    out = []
    if not r["verification"]:
        out.append("the verification has not run")
    elif not r["verification_passed"]:
        out.append("some verification checks failed")
    open_steps = [s["title"] for s in r["steps"] if s["status"] not in ("passed", "not_applicable")]
    if open_steps:
        out.append("steps not passed yet: " + ", ".join(open_steps))
    return out


def window_report(journal: Journal) -> dict:
    """The migration window: when the support ticket went out, one entry per sync, the cutover."""
    from wizard.core import cutover, sync, ticket

    return {
        "support_ticket": {"sent_at": _iso(ticket.sent_at(journal))},
        "syncs": [s | {"started_at": _iso(s["started_at"]), "finished_at": _iso(s["finished_at"]),
                       "inputs": {k: {"file": Path(v["path"]).name, "sha256": v["sha256"]}
                                  for k, v in (s["inputs"] or {}).items() if isinstance(v, dict)}}
                  for s in sync.report_rows(journal)],
        "cutover": [row | {"at": _iso(row["at"])} for row in cutover.report_section(journal)],
    }


def window_markdown(r: dict) -> list[str]:
    from wizard.core.sync import count_lines

    out: list[str] = []
    sent = (r.get("support_ticket") or {}).get("sent_at")
    out += ["", "## Password-export ticket", "", f"Sent to Auth0 support: {sent}" if sent else "Not recorded as sent."]
    for s in r.get("syncs") or []:
        files = ", ".join(f"{k} `{v['file']}` sha256 {v['sha256'][:16]}…" for k, v in s["inputs"].items())
        sent_counts = s.get("sent") or {}
        out += ["", f"## Sync {s['id']} ({s['started_at']}, {s['status']})", "", f"Inputs: {files}", ""]
        out += [f"- {line}" for line in count_lines(s.get("counts") or {})]
        out.append(f"- sent: {sent_counts.get('session_created', 0)} created, {sent_counts.get('session_updated', 0)} "
                   f"updated or deleted, {sent_counts.get('session_failed', 0)} failed"
                   + ("; users gone from Auth0 deleted (--delete-removed)" if s.get("delete_removed") else ""))
    out += ["", "## Cutover", "", "| item | done | when | note |", "|---|---|---|---|"]
    out += [f"| {_esc(c['item'])} | {'yes' if c['done'] else 'no'} | {c['at'] or ''} | {_esc(c['note'])} |"
            for c in r.get("cutover") or []]
    return out


# ------------------------------------------------------------------------------------ markdown
def _fmt(v, *, depth: int = 0) -> str:
    """A value in plain words: no Python or JSON literals (`None`, `[]`, `{...}`, `True`)."""
    if v is None:
        return "not recorded"
    if v == "":
        return "none"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, dict):
        if not v:
            return "none"
        parts = [f"{k} {_fmt(x, depth=depth + 1)}" if isinstance(x, (int, float)) and not isinstance(x, bool)
                 else f"{k}: {_fmt(x, depth=depth + 1)}" for k, x in v.items()]
        text = ", ".join(parts)
        text = f"({text})" if depth else text
    elif isinstance(v, (list, tuple)):
        if not v:
            return "none"
        text = "; ".join(_fmt(x, depth=depth + 1) for x in v)
    else:
        text = str(v)
    return text if len(text) <= 400 else text[:397] + "…"


def _kv(doc) -> list[str]:
    if doc == "not run" or doc is None:
        return ["not run"]
    if not isinstance(doc, dict):
        return [f"- {_fmt(doc)}"]
    if not doc:
        return ["nothing recorded"]
    return [f"- **{k.replace('_', ' ')}**: {_fmt(v)}" for k, v in doc.items()]


def _esc(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(r: dict) -> str:
    out: list[str] = [f"# {r['title']}", ""]
    verdict = "ALL CHECKS PASSED" if r["verification_passed"] else (
        "verification not run" if not r["verification"] else "SOME CHECKS FAILED")
    out += [f"Generated {r['generated_at']} by auth0-workos {r['tool_version']} — run folder `{r['run_dir']}`.",
            "", f"**Verification: {verdict}**", ""]
    if r.get("partial"):
        out += [f"**This report is partial**: {'; '.join(r['partial'])}. Write it again when every step has "
                "passed.", ""]

    out += ["## Migration guide", "", f"Followed: {r['guide']['url']}"
            + (f" (acknowledged {r['guide']['acknowledged_at']})" if r["guide"]["acknowledged_at"] else ""),
            "", "Where this wizard follows the API facts instead of the older seed guide:", ""]
    out += [f"- **{d['topic']}**: seed says {d['seed_says']}; the wizard: {d['wizard_does']}"
            for d in r["guide"]["differences"]]

    out += ["", "## Inputs", ""]
    out += [f"- {k}: `{v['file']}` sha256 {v['sha256'][:16]}…" + (f" ({v['lines']} lines)" if v["lines"] else "")
            for k, v in r["inputs"].items()] or ["none recorded"]

    out += ["", "## Inventory", ""]
    if isinstance(r["inventory"], dict) and r["inventory"]:  # the same lines as the CLI and the wizard
        out += ["```", *summary_lines(r["inventory"]), "```"]
    else:
        out += _kv(r["inventory"])

    f = r["findings"]
    out += ["", "## Findings", ""]
    if not f["by_code"]:
        out.append("No findings.")
    else:
        out.append(", ".join(f"{n} {s}" for s, n in sorted(f["by_severity"].items())))
        out += ["", "| severity | code | count |", "|---|---|---|"]
        out += [f"| {x['severity']} | {x['code']} | {x['count']} |" for x in f["by_code"]]
        out += ["", f"First {len(f['first'])}:", ""]
        out += [f"- `{x['where']}` {x['severity']} {x['code']}: {x['message']}".replace("\n", " ")
                for x in f["first"]]

    p = r["plan"]
    out += ["", "## Plan", ""]
    out += [f"- {b}: {n}" for b, n in sorted(p["users_by_branch"].items())] or ["not run"]
    out.append(f"- merge rule for duplicate emails: {_fmt(p['merge_rule']) if p['merge_rule'] else 'not recorded'}")
    if p.get("hashes_bound_by_email"):
        out += ["", f"Password hashes bound by email (--join-by-email), {len(p['hashes_bound_by_email'])}:", ""]
        out += [f"- `{x['where']}` {x['message']}".replace("\n", " ") for x in p["hashes_bound_by_email"]]
    if isinstance(p["summary"], dict):
        out += ["", "Plan summary:", ""] + _kv(p["summary"])

    out += ["", "## Users not imported", ""]
    for branch, title in (("blocked", "Blocked in Auth0"), ("invalid", "Cannot be imported")):
        group = (r.get("not_imported") or {}).get(branch) or {"count": 0, "users": []}
        out.append(f"{title}: {group['count']} user(s)" + ("." if not group["users"] else ""))
        if group["users"]:
            out += ["", "| Auth0 id | email | reason |", "|---|---|---|"]
            out += [f"| {_esc(u['auth0_user_id'])} | {_esc(u['email'] or 'no email')} | {_esc(u['reason'] or branch)} |"
                    for u in group["users"]]
            if group["count"] > len(group["users"]):
                out.append(f"\n… and {group['count'] - len(group['users'])} more (the journal lists them all).")
        out.append("")

    i = r["import"]
    out += ["", "## Import", ""]
    out += [f"- users {s}: {n}" for s, n in sorted(i["users_by_status"].items())]
    out += ["", "Import summary:", ""] + _kv(i["summary"])

    o = r["organizations"]
    out += window_markdown(r)

    out += ["", "## Organizations", "", f"- organizations: {o['organizations']} "
            f"({_fmt(o['organizations_by_status'])})", f"- memberships: {_fmt(o['memberships_by_status'])}",
            "", "Organizations summary:", ""] + _kv(o["summary"])
    if o.get("members_not_in_auth0"):
        out += ["", f"Warning: WorkOS organization members not in the Auth0 export, "
                    f"{len(o['members_not_in_auth0'])}:", ""]
        out += [f"- `{x['where']}` {x['message']}".replace("\n", " ") for x in o["members_not_in_auth0"]]

    out += roles_report_markdown(r.get("roles"))
    out += ["", "## Enterprise SSO", ""] + sso.report_lines(r["enterprise_sso"])

    out += ["", "## MFA", ""] + _kv(r["mfa"])
    plan = r.get("mfa_communication") or {}
    if plan:
        out += ["", f"Communication plan ({OPERATOR}):", ""]
        out += [f"- [{'x' if item['done'] else ' '}] {item['item']}" for item in plan]
    if isinstance(r["mfa"], dict):  # no data is not "no MFA" (issue 10)
        unknown = mfa_unknown_text(r["mfa"].get("scan_targets"), r["mfa"].get("scanned") or 0,
                                   bool(r["mfa"].get("complete")))
        if unknown:
            out += ["", f"**MFA {unknown}.**"]

    out += ["", "## Verification", ""]
    if not r["verification"]:
        out.append("not run")
    else:
        out += ["| check | result | how it is known | when | evidence | fix |", "|---|---|---|---|---|---|"]
        out += [f"| {v['name']} | {'PASS' if v['ok'] else 'FAIL'} | {v.get('how', MEASURED)} | {v['at']} | "
                f"{_esc(v['evidence']) or 'none'} | {_esc(v['fix_hint']) or 'none'} |" for v in r["verification"]]

    out += ["", "## Wizard steps", ""]
    for s in r["steps"]:
        line = f"- {s['title']}: {s['status']}"
        if s["status"] == "not_applicable":
            line += f" — not applicable: {s['reason']}"
        elif s["reason"]:
            line += f" — {s['reason']}"
        out.append(line.replace("\n", " "))
    if not r["steps"]:
        out.append("none recorded")

    out += ["", "## Decisions and their reasons", ""]
    out += [f"- {d['decision']} — {d['reason']} ({d['at']})".replace("\n", " ") for d in r["decisions"]] \
        or ["none: every step applied and every importable user was migrated"]

    out += ["", "## Error recovery", ""]
    if not r["recovery"]:
        out.append("No known failure in this run.")
    for x in r["recovery"]:
        act = f" (one-key fix: `{x['action']}`)" if x["action"] else ""
        out.append(f"- **{x['title']}** — {x['affected']} affected. Cause: {x['cause']} Fix: {x['fix']}{act}")

    out += ["", f"## Post-migration tasks ({OPERATOR})", ""]
    out += [f"- [{'x' if t['done'] else ' '}] {t['task']}" for t in r["post_migration"]]
    out.append("")
    return _scrub_text("\n".join(out))


def write_report(journal: Journal) -> tuple[Path, Path]:
    """Write report.md and report.json (0600, atomic) into the run folder; returns their paths."""
    report = build_report(journal)
    md = write_private(journal.run_dir / REPORT_MD, render_markdown(report))
    js = write_private(journal.run_dir / REPORT_JSON, json.dumps(report, indent=2, sort_keys=False, default=str) + "\n")
    documents.REPORT.write(journal, documents.ReportDoc(at=time.time(), files=[md.name, js.name]))
    return md, js
