"""The cutover checklist: the last step, after verification.

In order, each ticked with its time in the journal (document `cutover`, one key per item):
1. the sign-up strategy for the window (disable sign-ups in Auth0, or dual-write);
2. the final catch-up sync, run right before switching (a completed sync that started after the
   strategy was in force, so nobody who signed up or changed in Auth0 is left behind);
3. the application switched to WorkOS (after the final sync);
4. errors watched for 48 hours after the switch (shorter only with a typed reason);
5. the Auth0 tenant disabled.
The gate passes when all five hold, in that order.
"""

from __future__ import annotations

import time

from wizard.core.gates import Check, GateResult
from wizard.core.journal import Journal

CUTOVER_DOCUMENT = "cutover"
WATCH_HOURS = 48
MIN_REASON_CHARS = 10

STRATEGIES = {
    "disable_signups": (
        "Disable sign-ups in Auth0",
        "Turn off sign-ups on every Auth0 database connection (Authentication → Database → Disable "
        "Sign Ups) for the window. Nobody new appears in Auth0, so the final catch-up sync is "
        "complete; people who try to sign up meanwhile are told to wait. Password changes and "
        "profile edits in Auth0 still happen and are caught by the final sync."),
    "dual_write": (
        "Dual-write",
        "Keep sign-ups open in Auth0 and have your application also create each new user (and apply "
        "profile or password changes) in WorkOS with external_id = the Auth0 user_id. Nobody waits, but "
        "your code writes twice until the switch; the final catch-up sync then finds what dual-write "
        "missed and updates it (it never duplicates: users are matched by external_id)."),
}

ITEMS = (
    ("strategy", "Sign-up strategy for the window chosen"),
    ("final_sync", "Final catch-up sync, right before switching"),
    ("switched", "Application switched to WorkOS"),
    ("watched", f"Errors watched for {WATCH_HOURS} hours after the switch"),
    ("auth0_disabled", "Auth0 tenant disabled"),
)
ITEM_TITLES = dict(ITEMS)


class CutoverError(ValueError):
    """An item cannot be ticked yet (an earlier one is missing, the watch is not over...)."""


def state(journal: Journal) -> dict:
    return dict(journal.get_document(CUTOVER_DOCUMENT) or {})


def _at(doc: dict, key: str) -> float | None:
    item = doc.get(key)
    return float(item["at"]) if isinstance(item, dict) and item.get("at") is not None else None


def choose_strategy(journal: Journal, strategy: str, at: float | None = None) -> None:
    if strategy not in STRATEGIES:
        raise CutoverError(f"unknown sign-up strategy {strategy!r}: choose one of {', '.join(STRATEGIES)}")
    journal.set_document_item(CUTOVER_DOCUMENT, "strategy", {"value": strategy, "at": at or time.time()})


def final_sync_candidate(journal: Journal) -> dict | None:
    """The latest completed sync that started after the strategy was chosen, with nobody left."""
    chosen = _at(state(journal), "strategy")
    if chosen is None:
        return None
    for s in reversed(journal.syncs(status="done")):
        if (s["started_at"] or 0) >= chosen and not (s["summary"] or {}).get("remaining"):
            return s
    return None


def record_final_sync(journal: Journal) -> dict:
    """Tick the final catch-up: the latest suitable completed sync (run one first)."""
    doc = state(journal)
    if _at(doc, "strategy") is None:
        raise CutoverError("choose the sign-up strategy first: the final sync must run once it is in force")
    s = final_sync_candidate(journal)
    if s is None:
        raise CutoverError("no completed sync since the sign-up strategy was chosen: run 'Catch up with "
                           "Auth0' with a fresh export first")
    failed = (s["summary"] or {}).get("session_failed", 0)
    journal.set_document_item(CUTOVER_DOCUMENT, "final_sync",
                              {"at": s["finished_at"] or time.time(), "sync_id": s["id"], "failed": failed})
    return s


def tick(journal: Journal, item: str, *, reason: str = "", at: float | None = None) -> None:
    """Tick `switched`, `watched` or `auth0_disabled` (in order); the time is recorded."""
    now = at or time.time()
    doc = state(journal)
    order = [k for k, _ in ITEMS]
    if item not in ("switched", "watched", "auth0_disabled"):
        raise CutoverError(f"{item} is ticked by its own action")
    missing = [ITEM_TITLES[k] for k in order[: order.index(item)] if _at(doc, k) is None]
    if missing:
        raise CutoverError("first: " + "; ".join(missing))
    value: dict = {"at": now}
    if item == "watched":
        hours = (now - (_at(doc, "switched") or now)) / 3600
        if hours < WATCH_HOURS:
            if len(reason.strip()) < MIN_REASON_CHARS:
                raise CutoverError(f"the switch was {hours:.1f} h ago: watch errors for {WATCH_HOURS} h, or "
                                   f"give the reason for a shorter watch (at least {MIN_REASON_CHARS} characters)")
            value["reason"] = reason.strip()
        value["hours"] = round(hours, 1)
    journal.set_document_item(CUTOVER_DOCUMENT, item, value)


def untick(journal: Journal, item: str) -> None:
    """Clear an item and every later one (their order would no longer hold)."""
    order = [k for k, _ in ITEMS]
    with journal.transaction():
        for k in order[order.index(item):]:
            journal.set_document_item(CUTOVER_DOCUMENT, k, None)


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else ""


def cutover_gate(journal: Journal) -> GateResult:
    doc = state(journal)
    strategy = doc.get("strategy") or {}
    t = {k: _at(doc, k) for k, _ in ITEMS}
    final = doc.get("final_sync") or {}
    checks = [
        Check(ITEM_TITLES["strategy"], t["strategy"] is not None,
              f"{STRATEGIES[strategy['value']][0]} ({_when(t['strategy'])})" if t["strategy"] else "not chosen",
              "Choose: disable sign-ups in Auth0, or dual-write."),
        Check(ITEM_TITLES["final_sync"], t["final_sync"] is not None and t["strategy"] is not None
              and t["final_sync"] >= t["strategy"],
              f"sync {final.get('sync_id')} finished {_when(t['final_sync'])}"
              + (f", {final['failed']} failed" if final.get("failed") else "") if t["final_sync"] else "not run",
              "Export the users again from Auth0, then 'Catch up with Auth0' (auth0-workos sync)."),
        Check(ITEM_TITLES["switched"], t["switched"] is not None and t["final_sync"] is not None
              and t["switched"] >= t["final_sync"],
              _when(t["switched"]) or "not yet",
              "Deploy the application build that signs in with WorkOS, then tick it."),
    ]
    watched = doc.get("watched") or {}
    checks.append(Check(
        ITEM_TITLES["watched"], t["watched"] is not None and t["switched"] is not None,
        (f"{watched.get('hours', 0)} h after the switch ({_when(t['watched'])})"
         + (f"; shorter watch: {watched['reason']}" if watched.get("reason") else "")) if t["watched"] else "not yet",
        f"Watch sign-in errors (WorkOS dashboard, your logs) for {WATCH_HOURS} hours after the switch."))
    checks.append(Check(
        ITEM_TITLES["auth0_disabled"], t["auth0_disabled"] is not None and t["watched"] is not None,
        _when(t["auth0_disabled"]) or "not yet",
        "Disable the Auth0 application(s) and tenant once the watch is over."))
    return GateResult.from_checks(checks, details={"strategy": strategy.get("value")})


def report_section(journal: Journal) -> list[dict]:
    """The checklist as report rows: item, done, when, note."""
    doc = state(journal)
    rows = []
    for key, title in ITEMS:
        item = doc.get(key) or {}
        note = ""
        if key == "strategy" and item.get("value") in STRATEGIES:
            note = STRATEGIES[item["value"]][0]
        elif key == "final_sync" and item:
            note = f"sync {item.get('sync_id')}"
        elif key == "watched" and item.get("reason"):
            note = f"shorter watch: {item['reason']}"
        rows.append({"item": title, "done": bool(item), "at": item.get("at"), "note": note})
    return rows
