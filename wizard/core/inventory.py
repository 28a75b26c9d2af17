"""The pre-migration assessment: how many users, how they sign in, organizations, and MFA.

With Management API access it asks Auth0; with only the users export it says as much as the export
shows and names what stays unknown. The result is one JSON-able document reused by later steps.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from wizard.clients.auth0 import USERS_API_CAP
from wizard.clients.errors import ApiError, ErrorKind
from wizard.core import documents
from wizard.core.exports import identity_kind, read_users, user_from_obj
from wizard.core.gates import Check, GateResult
from wizard.core.journal import Journal
from wizard.core.mfa import ScanTarget, build_mfa_report, scan_authentication_methods
from wizard.core.orgs import strategy_kind
from wizard.core.progress import Progress, ProgressCallback, frozen_counts
from wizard.core.records import Auth0User, Identity
from wizard.core.rundir import write_private

INVENTORY_NAME = "inventory.json"


@dataclass
class Inventory:
    source: str  # "api", "export" or "api+export"
    users: dict = field(default_factory=dict)
    sign_in_methods: list[dict] = field(default_factory=list)
    sign_in_summary: dict = field(default_factory=dict)  # kind -> users
    organizations: list[dict] | None = None
    organization_count: int | None = None
    mfa: dict = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    taken_at: float = field(default_factory=time.time)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Inventory:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


# ---------------------------------------------------------------------- users from either source
def iter_export_users(path: str | Path) -> Iterator[Auth0User]:
    """Auth0 users from the export (its findings are the export check's business, not the inventory's)."""
    for item in read_users(path):
        if isinstance(item, Auth0User):
            yield item


def user_from_api(d: dict) -> Auth0User | None:
    """A Management API user dict (same keys as the export job) as an Auth0User."""
    user, _ = user_from_obj(d, 0, "GET /api/v2/users")
    return user


# ---------------------------------------------------------------------- building
@dataclass
class _Tally:
    users: int = 0
    blocked: int = 0
    with_mfa_flag: int = 0
    by_connection: Counter = field(default_factory=Counter)  # (connection, strategy, social) -> users
    by_kind: Counter = field(default_factory=Counter)
    collect: str = "none"  # which users become MFA-scan targets: "all", "flagged" (multifactor set), "none"
    targets: list[ScanTarget] = field(default_factory=list)
    user_lines: bytearray = field(default_factory=bytearray)  # a bitmap: one bit per export line
    finding_lines: set[int] = field(default_factory=set)

    def _has_user(self, line: int) -> bool:
        i = line >> 3
        return i < len(self.user_lines) and bool(self.user_lines[i] & (1 << (line & 7)))

    @property
    def unreadable_lines(self) -> int:
        """Export lines that gave no user (broken JSON, no user_id): counted, never dropped silently."""
        return sum(1 for n in self.finding_lines if not self._has_user(n))

    def add(self, u: Auth0User) -> None:
        self.users += 1
        self.blocked += u.blocked
        if u.multifactor:
            self.with_mfa_flag += 1
        kinds = set()
        for i in u.identities:
            self.by_connection[(i.connection, i.provider, i.is_social)] += 1
            kinds.add(identity_kind(i))
        if not u.identities and u.connection:
            self.by_connection[(u.connection, "", False)] += 1
        for k in kinds:
            self.by_kind[k] += 1
        if self.collect == "all" or (self.collect == "flagged" and u.multifactor):
            self.targets.append(ScanTarget(u.user_id, u.email, u.name))
        if u.line:
            i = u.line >> 3
            if i >= len(self.user_lines):
                self.user_lines.extend(bytes(i + 1 - len(self.user_lines) + 4096))
            self.user_lines[i] |= 1 << (u.line & 7)


def _sign_in_methods(tally: _Tally, connections: list[dict] | None) -> list[dict]:
    rows: dict[str, dict] = {}
    for c in connections or []:
        name = c.get("name") or c.get("id")
        rows[name] = {"connection": name, "strategy": c.get("strategy"), "kind": strategy_kind(c.get("strategy")),
                      "users": 0, "in_tenant": True}
        if (c.get("options") or {}).get("domain_aliases"):
            rows[name]["domain_aliases"] = list(c["options"]["domain_aliases"])
    for (conn, provider, social), n in tally.by_connection.items():
        row = rows.setdefault(conn, {"connection": conn, "strategy": provider or None,
                                     "kind": identity_kind(Identity(conn, provider, "", social)), "users": 0,
                                     "in_tenant": None if connections is None else False})
        row["users"] += n
    return sorted(rows.values(), key=lambda r: (r["kind"], r["connection"] or ""))


def build_inventory(auth0_client=None, users_path: str | Path | None = None,
                    on_progress: ProgressCallback | None = None, *, journal: Journal | None = None,
                    scan_mfa: str = "all", stop_mfa_after: int | None = None) -> Inventory:
    """Assess the tenant. `scan_mfa`: "all" users' authentication methods, only users whose
    `multifactor` is set ("flagged"), or "none". The scan resumes from `journal` when given."""
    source = "+".join(s for s, on in (("api", auth0_client is not None), ("export", users_path is not None)) if on)
    inv = Inventory(source=source or "none")

    phases = ["export"] * (users_path is not None) + ["users", "connections", "organizations", "mfa-factors"] * (
        auth0_client is not None)
    started: list[str] = []

    def emit(step: str, done: bool = False) -> None:
        """Phases as progress (`inventory 2/5 (40%) | done 2`): each call starts the next phase."""
        if not done:
            started.append(step)
        if on_progress:
            n = len(phases) if done else len(started) - 1
            on_progress(Progress(operation="inventory", total=len(phases) or 1,
                                 counts=frozen_counts({"done": n}), done=done))

    # users -------------------------------------------------------------------------------
    tally = _Tally(collect=scan_mfa if auth0_client is not None else "none")
    api_total, capped = None, False
    if users_path is not None:
        emit("export")
        for item in read_users(users_path):
            if isinstance(item, Auth0User):
                tally.add(item)
            elif item.line is not None:
                tally.finding_lines.add(item.line)
    if auth0_client is not None:
        emit("users")
        counted = (_optional(inv, auth0_client.count_users, "the Management API's user count")
                   if users_path is not None else auth0_client.count_users())
        api_total, capped = counted or (None, False)
        if users_path is None:
            for d in auth0_client.iter_users():
                user = user_from_api(d)
                if user is not None:
                    tally.add(user)
            if capped:
                inv.unknown.append(f"Only the first {USERS_API_CAP:,} users can be read through the Management "
                                   "API: sign-in methods and the MFA scan cover those only. Give the users "
                                   "export (auth0-workos export) for the whole tenant.")
    if users_path is not None:
        display = f"{tally.users:,}"
        if tally.unreadable_lines:
            display += f" (+{tally.unreadable_lines:,} unreadable line(s) in the export)"
            inv.notes.append(f"{tally.unreadable_lines:,} line(s) of the export hold no readable user; the export "
                             "check lists them by line number.")
    elif capped:
        display = f"{USERS_API_CAP:,}+ (the export's line count is the truth)"
    else:
        display = f"{api_total:,}" if api_total is not None else "unknown"
    inv.users = {"display": display, "api_total": api_total, "api_capped": capped,
                 "export_users": tally.users if users_path is not None else None,
                 "export_unreadable_lines": tally.unreadable_lines if users_path is not None else None,
                 "blocked": tally.blocked,
                 "with_mfa_flag": tally.with_mfa_flag,
                 "export_path": str(users_path) if users_path is not None else None}
    if users_path is not None and api_total is not None and not capped and api_total != tally.users:
        inv.notes.append(f"The Management API counts {api_total:,} users but the export holds {tally.users:,}: "
                         "the export may be older than the tenant, or filtered by connection.")

    # sign-in methods -----------------------------------------------------------------------
    connections = None
    if auth0_client is not None:
        emit("connections")
        connections = _optional(inv, lambda: auth0_client.list_connections(), "the tenant's connections")
    inv.sign_in_methods = _sign_in_methods(tally, connections)
    inv.sign_in_summary = dict(sorted(tally.by_kind.items()))
    if connections is None:
        inv.unknown.append("Connections without users in the export are not listed (no Management API access).")

    # organizations -------------------------------------------------------------------------
    if auth0_client is not None:
        emit("organizations")
        orgs = _optional(inv, lambda: auth0_client.list_organizations(), "organizations")
        if orgs is not None:
            inv.organizations = []
            for o in orgs:
                members = _optional(inv, lambda o=o: auth0_client.list_members(o["id"]), "organization members")
                inv.organizations.append({"id": o["id"], "name": o.get("name"), "display_name": o.get("display_name"),
                                          "members": None if members is None else len(members)})
            inv.organization_count = len(inv.organizations)
    else:
        inv.unknown.append("Organizations and their members are not in the users export; they need Management "
                           "API access (AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET).")

    # MFA -----------------------------------------------------------------------------------
    mfa: dict = {"users_with_mfa_flag": tally.with_mfa_flag, "tenant_factors": None, "scan": scan_mfa,
                 "scan_complete": False}
    if auth0_client is not None:
        emit("mfa-factors")
        factors = _optional(inv, lambda: auth0_client.list_guardian_factors(), "the tenant's MFA factors")
        if factors is not None:
            mfa["tenant_factors"] = sorted(str(f.get("name")) for f in factors if f.get("enabled"))
        if scan_mfa != "none":
            targets = tally.targets
            mfa["scan_targets"] = len(targets)
            if journal is None:  # no run folder: scan into a throw-away journal
                with tempfile.TemporaryDirectory(prefix="auth0-workos-inventory-") as tmp, \
                        Journal(Path(tmp) / "journal.sqlite") as scratch:
                    _scan(auth0_client, scratch, targets, inv, mfa, on_progress, stop_mfa_after)
            else:
                _scan(auth0_client, journal, targets, inv, mfa, on_progress, stop_mfa_after)
        else:
            inv.unknown.append("The authentication-methods scan was skipped: SMS and TOTP users are not told apart.")
    else:
        inv.unknown.append("Tenant MFA factors and each user's MFA type are unknown: the export's `multifactor` "
                           "field only says \"guardian\" for any factor, so SMS cannot be told from TOTP "
                           f"({tally.with_mfa_flag} user(s) have MFA of some kind). Give Management API access "
                           "to find the SMS users.")
    inv.mfa = mfa
    emit("done", done=True)
    return inv


def _scan(client, journal: Journal, targets: list[ScanTarget], inv: Inventory, mfa: dict,
          on_progress: ProgressCallback | None, stop_after: int | None) -> None:
    try:
        stats = scan_authentication_methods(client, journal, targets, on_progress=on_progress,
                                            stop_after=stop_after)
        mfa["scan_complete"] = stats.complete
        mfa["scan_failed"] = stats.failed
        if stats.stopped_reason:
            inv.notes.append(stats.stopped_reason)
    except ApiError as exc:
        if exc.kind is not ErrorKind.AUTH:
            raise
        inv.unknown.append(f"SMS/voice MFA users could not be identified: {exc.message}")
    report = build_mfa_report(journal, tenant_factors=mfa["tenant_factors"], complete=mfa["scan_complete"],
                              scan_targets=len(targets))
    mfa.update(sms_users=report.sms_users, voice_users=report.voice_users, totp_users=report.totp_users,
               other_factors=report.other_factors, scanned=report.scanned)


def _optional(inv: Inventory, fn, what: str):
    """A read the inventory can live without: a missing scope becomes an 'unknown' line."""
    try:
        return fn()
    except ApiError as exc:
        if exc.kind is not ErrorKind.AUTH:
            raise
        inv.unknown.append(f"{what[0].upper()}{what[1:]}: unknown. {exc.message}")
        return None


# ---------------------------------------------------------------------- the summary people read
def summary_lines(doc: dict) -> list[str]:
    """The inventory document as plain lines, the same in the command's output and the wizard's view."""
    lines: list[str] = []
    users = doc.get("users") or {}
    blocked = users.get("blocked")
    lines.append(f"Users: {users.get('display', 'unknown')}" + (f" ({blocked} blocked)" if blocked else ""))
    summary = doc.get("sign_in_summary") or {}
    if summary:
        lines.append("Sign-in methods (users per kind): " + ", ".join(f"{k} {n}" for k, n in summary.items()))
    for m in doc.get("sign_in_methods") or []:
        lines.append(f"  - {m.get('kind', '?'):<10} {m.get('users', 0):>5} user(s)  "
                     f"{m.get('connection', '?')} ({m.get('strategy') or '?'})")
    orgs = doc.get("organizations")
    if orgs is not None:
        lines.append(f"Organizations: {len(orgs)}")
        for o in orgs:
            lines.append(f"  - {o.get('display_name') or o.get('name')} ({o.get('id')}): "
                         + ("members unknown (could not be read)" if o.get("members") is None
                            else f"{o['members']} member(s)"))
    mfa = doc.get("mfa") or {}
    if mfa.get("tenant_factors") is not None:
        lines.append("Tenant MFA factors enabled: " + (", ".join(mfa["tenant_factors"]) or "none"))
    if "sms_users" in mfa:
        lines.append(f"MFA (from {mfa.get('scanned', 0)} scanned users): SMS {mfa['sms_users']}, "
                     f"voice {mfa.get('voice_users', 0)}, TOTP {mfa.get('totp_users', 0)}"
                     + ("" if mfa.get("scan_complete") else " (scan incomplete)"))
    else:
        lines.append(f"MFA: {mfa.get('users_with_mfa_flag', 0)} user(s) have some MFA factor (type unknown)")
    lines += [f"note: {note}" for note in doc.get("notes") or []]
    lines += [f"unknown: {line}" for line in doc.get("unknown") or []]
    return lines


# ---------------------------------------------------------------------- saving and the gate
def save_inventory(journal: Journal, inv: Inventory) -> Path:
    doc = inv.as_dict()
    documents.INVENTORY.write(journal, documents.InventoryDoc.load(doc))
    return write_private(journal.run_dir / INVENTORY_NAME, json.dumps(doc, indent=2, sort_keys=True, default=str))


def load_inventory(journal: Journal) -> Inventory | None:
    doc = documents.INVENTORY.read(journal)
    return Inventory.from_dict(doc.dump()) if doc else None


def inventory_gate(journal: Journal) -> GateResult:
    inv = documents.INVENTORY.read(journal)
    if inv is None:
        return GateResult.from_checks([Check("Inventory taken", False, "no inventory in this run yet",
                                             "Press Build inventory (headless: `auth0-workos inventory --run-dir "
                                             "DIR` with the users export and/or Management API credentials)")])
    users = inv.users or {}
    mfa = inv.mfa or {}
    methods = inv.sign_in_summary or {}
    checks = [
        Check("Inventory taken", True, f"source: {inv.source}"),
        Check("Users counted", users.get("display") not in (None, "unknown"), f"users: {users.get('display')}",
              "give the users export or Management API credentials"),
        Check("Sign-in methods listed", True,
              ", ".join(f"{k}: {v}" for k, v in methods.items()) or "no identities found"),
    ]
    if mfa.get("scan_targets") is not None:
        complete = bool(mfa.get("scan_complete"))
        refused = next((u for u in inv.unknown or [] if "could not be identified" in u), None)
        checks.append(Check("MFA users identified", complete,
                            f"{mfa.get('scanned', 0)} of {mfa.get('scan_targets')} users scanned; "
                            f"SMS {mfa.get('sms_users', 0)}, voice {mfa.get('voice_users', 0)}, "
                            f"TOTP {mfa.get('totp_users', 0)}",
                            refused or "Press Build inventory again (headless: `auth0-workos inventory`): the "
                                       "scan resumes where it stopped (or `--mfa-scan none` to go on "
                                       "without knowing who uses SMS)"))
    elif mfa.get("scan") == "none":
        checks.append(Check("MFA users identified", True,
                            f"scan skipped on purpose: {mfa.get('users_with_mfa_flag', 0)} user(s) have MFA of "
                            "unknown type"))
    else:
        checks.append(Check("MFA users identified", True,
                            f"unknown without Management API access ({mfa.get('users_with_mfa_flag', 0)} user(s) "
                            "have MFA of some kind)"))
    return GateResult.from_checks(checks, details={"users": users.get("display"), "unknown": inv.unknown})
