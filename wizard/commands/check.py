"""`auth0-workos check`: verify the export files and show the plan they produce, without writing
anything to WorkOS. With --run-dir the plan is saved into that run's journal.

Exit codes: 0 every blocking gate passes, 1 a gate fails (listed), 2 usage error (missing file...).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from wizard.core.findings import Finding
from wizard.core.gates import GateResult
from wizard.core.journal import JournalError
from wizard.core.passwords import HashReader
from wizard.core.plan import PlanOptions, PlanResult, redacted_request
from wizard.core.records import Branch
from wizard.tasks.check import CheckResult, run_check

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
PER_CODE = 5  # findings of one code listed at most (all are counted, and all are in the journal)


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("check", help="verify the Auth0 export files and preview the migration plan",
                       description="Read the users export (and the password export), report every "
                                   "problem with file:line, and show the per-user plan.")
    p.add_argument("--users", required=True, help="users export: NDJSON, gzipped NDJSON or a JSON array")
    p.add_argument("--passwords", help="password-hash export from Auth0 support (decrypted NDJSON)")
    p.add_argument("--run-dir", default=argparse.SUPPRESS, help="save the plan into this run folder's journal")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--join-by-email", action=argparse.BooleanOptionalAction, default=None,
                   help="also bind password-hash rows that name no user id by email (each binding is a "
                        "warning finding; default: rows bind by auth0| + alt_id/_id.$oid only, or the "
                        "choice recorded in --run-dir); the choice given is recorded there")
    p.add_argument("--include-blocked", action="store_true",
                   help="plan blocked Auth0 users too (imported without credentials)")
    p.add_argument("--metadata-keys", default=None,
                   help="comma-separated user/app metadata keys to copy (default: all; '' for none)")
    p.add_argument("--findings", type=int, default=20, help="how many findings to list (default 20)")
    p.add_argument("--samples", type=int, default=3, help="how many mapped users to show (default 3)")
    p.set_defaults(func=run)
    return p


def _usage(msg: str) -> int:
    print(f"auth0-workos check: {msg}", file=sys.stderr)
    return EXIT_USAGE


def run(args) -> int:
    users = Path(args.users)
    pw = Path(args.passwords) if getattr(args, "passwords", None) else None
    for label, path in (("users", users), ("passwords", pw)):
        if path is None:
            continue
        if not path.exists():
            return _usage(f"--{label} file not found: {path}")
        if not path.is_file():
            return _usage(f"--{label} is not a file: {path}")
    keys = None
    if args.metadata_keys is not None:
        keys = tuple(k.strip() for k in args.metadata_keys.split(",") if k.strip())

    def plan_into(journal) -> CheckResult:
        from wizard.core.plan import record_join_choice, recorded_join_by_email

        if args.join_by_email is not None and journal is not None:
            record_join_choice(journal, args.join_by_email, source="auth0-workos check")
        join = args.join_by_email if args.join_by_email is not None else recorded_join_by_email(journal)
        options = PlanOptions(include_blocked=args.include_blocked, metadata_keys=keys, join_by_email=join)
        if sys.stderr.isatty() and not args.json:  # big exports take a while: show the reading rate
            from wizard.commands._progress import ProgressPrinter

            with ProgressPrinter() as show:
                return run_check(journal, users, pw, options=options, on_progress=show)
        return run_check(journal, users, pw, options=options)

    run_dir = getattr(args, "run_dir", None)
    if run_dir:
        from wizard.core.journal import Journal
        from wizard.core.runlock import claim_run_folder

        claim_run_folder(run_dir, "auth0-workos check")
        with Journal.open(run_dir) as journal:
            try:
                checked = plan_into(journal)
            except JournalError as exc:
                return _usage(str(exc))
    else:
        checked = plan_into(None)
    result, gates, saved = checked.plan, checked.gates, checked.saved
    try:
        samples = result.planned.sample(max(0, args.samples)) if args.samples else []
    except JournalError as exc:  # the export changed while it was being checked
        return _usage(str(exc))
    # a flood of one problem (a CSV line by line, a wrong file) must not hide the others: at most
    # PER_CODE of each code are listed; the counts by code are always complete
    per_code = PER_CODE if args.findings <= 20 else None  # asking for more lists them all
    findings = result.findings.top(max(0, args.findings), per_code=per_code)
    code = EXIT_OK if all(g.passed for g in gates.values()) else EXIT_FAILED
    with (HashReader(pw) if pw else _NoReader()) as reader:
        shown = [(p, redacted_request(p, reader if pw else None)) for p in samples]
    if args.json:
        print(json.dumps({
            "summary": result.summary,
            "gates": {k: _gate_dict(g) for k, g in gates.items()},
            "findings": [f.as_dict() for f in findings],
            "findings_total": len(result.findings),
            "findings_by_code": dict(result.findings.by_code),
            "samples": [{"auth0_user_id": p.auth0_user_id, "auth0_ids": list(p.auth0_ids), "branch": p.branch,
                         "line": p.source_line, "reason": p.reason, "request": req} for p, req in shown],
            "run_dir": str(run_dir) if run_dir else None,
            "saved_users": saved,
            "exit_code": code,
        }, indent=2, default=str))
        return code
    print(render_text(result, gates, findings, shown, run_dir, saved))
    return code


class _NoReader:
    def __enter__(self):
        return None

    def __exit__(self, *exc) -> None:
        return None


def _gate_dict(g: GateResult) -> dict:
    return {"status": g.status.value, "reason": g.reason,
            "checks": [{"name": c.name, "ok": c.ok, "evidence": c.evidence, "fix_hint": c.fix_hint}
                       for c in g.checks]}


def _n(x: int) -> str:
    return f"{x:,}"


def render_text(result: PlanResult, gates: dict[str, GateResult], findings: list[Finding],
                shown: list, run_dir, saved) -> str:
    s = result.summary
    out: list[str] = []
    fmt = s["format"] + (", gzip" if s["gzipped"] else "")
    unit = "lines" if s["format"] in ("ndjson", "csv") else "elements"
    out.append(f"Users export     {Path(s['users_file']).name} ({fmt}): {_n(s['lines_read'])} {unit}, "
               f"{_n(s['users_read'])} users, {_n(s['rejected_lines'])} lines rejected, "
               f"{_n(s['blank_lines'])} blank")
    if s.get("passwords_file"):
        h = s["hashes"]
        kinds = ", ".join(f"{k} {_n(v)}" for k, v in sorted(h.get("kinds", {}).items()))
        prefixes = ", ".join(f"{k} {_n(v)}" for k, v in sorted(h.get("prefixes", {}).items()))
        costs = ", ".join(f"cost {k}: {_n(v)}" for k, v in sorted(h.get("costs", {}).items()))
        out.append(f"Password export  {Path(s['passwords_file']).name}: {_n(h.get('rows', 0))} rows; {kinds}")
        out.append(f"                 prefixes {prefixes or '-'}; {costs or 'no valid bcrypt'}")
        j = s["join"]
        out.append(f"Join             {_n(s['hash_rows_matched'])} rows joined ("
                   + ", ".join(f"{k} {_n(v)}" for k, v in j.items())
                   + f"); {_n(s['hash_rows_unmatched'])} hash rows with no user; "
                   f"{_n(s['database_users_without_hash'])} database users without a hash -> reset")
    else:
        out.append("Password export  not given: database users go to 'reset' (Magic Auth / password reset)")
    out.append(f"Duplicates       {_n(s['duplicate_email_groups'])} shared emails -> {_n(s['merged_groups'])} "
               f"merged WorkOS users ({_n(s['merged_users'])} Auth0 users folded in); "
               f"{_n(s['duplicate_user_ids'])} repeated user_id lines")
    br = s["branches"]
    out.append(f"Plan             {_n(s['planned'])} WorkOS users: "
               + ", ".join(f"{b} {_n(br.get(b, 0))}" for b in Branch.ALL))
    if s.get("social_providers"):
        out.append("Social           " + ", ".join(f"{k} {_n(v)}" for k, v in sorted(s["social_providers"].items())))
    if s.get("enterprise_connections"):
        out.append("Enterprise       " + ", ".join(f"{k} {_n(v)}" for k, v in sorted(s["enterprise_connections"].items())))
    out.append(f"Merge rule       {s['merge_rule']}")
    out.append(f"email_verified   {s['verified_rule']}")
    out.append(f"Blocked users    {s['blocked_policy']}")
    f = s["findings"]
    total = len(result.findings)
    out.append("")
    out.append(f"Findings: {_n(f.get('error', 0))} errors, {_n(f.get('warning', 0))} warnings, "
               f"{_n(f.get('info', 0))} info" + (f" ({len(findings)} of {_n(total)} shown, errors first)"
                                                 if total > len(findings) else ""))
    by_code = result.findings.by_code
    if total:
        out.append("  by code: " + ", ".join(f"{c} {_n(k)}" for c, k in by_code.most_common()))
    for x in findings:
        out.append(f"  {x.where()}  {x.severity.value} {x.code}: {x.message}")
    hidden = {c: k - sum(1 for x in findings if x.code == c) for c, k in by_code.items()}
    hidden = {c: k for c, k in hidden.items() if k > 0}
    if hidden:
        out.append("  ... and " + ", ".join(f"{_n(k)} more {c}" for c, k in sorted(hidden.items(), key=lambda t: -t[1]))
                   + (" (all saved in the run journal)" if run_dir else " (use --run-dir to keep them all, "
                      "or --json / --findings N to see more)"))
    if shown:
        out.append("")
        out.append("Sample mapped users (create-user request, hash redacted):")
        for p, req in shown:
            ids = ", ".join(p.auth0_ids)
            out.append(f"  [{p.branch}] {ids} (line {p.source_line}): {p.reason}")
            out.append("    " + json.dumps(req, ensure_ascii=False))
    for name, g in gates.items():
        out.append("")
        out.append(f"{name.capitalize()} gate: {g.status.value.upper()}" + (f" - {g.reason}" if g.reason else ""))
        for c in g.checks:
            mark = "ok  " if c.ok else "FAIL"
            out.append(f"  [{mark}] {c.name}: {c.evidence}" + ("" if c.ok else f"\n         fix: {c.fix_hint}"))
    if run_dir:
        out.append("")
        skipped = (saved or 0) - s["planned"]
        out.append(f"Saved the plan of {_n(s['planned'])} WorkOS users to {Path(run_dir) / 'journal.sqlite'}"
                   + (f" (and {_n(skipped)} blocked or invalid Auth0 users, recorded as skipped)"
                      if skipped > 0 else ""))
    return "\n".join(out)
