"""The journal's JSON documents: one name constant and one typed shape for each.

Every document is read and written through its `Document` here (`PLAN_SUMMARY.read(journal)`,
`IMPORT_SUMMARY.write(journal, value)`), so a rename or a missing key cannot break silently. The
on-disk JSON is unchanged: each shape keeps the keys it does not model in `extra` and writes them
back, so journals written before (or by a newer wizard) still read and round-trip.

Checklists (social confirmations, the MFA communication plan, the post-migration tasks) are dicts
of ticked item -> when; they are ticked one key at a time (`Checklist.tick`, one transaction).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from wizard.core.journal import Journal

T = TypeVar("T")
S = TypeVar("S", bound="Shape")


# ------------------------------------------------------------------------------ the machinery
@dataclass(kw_only=True)
class Shape:
    """A document's typed fields; keys it does not model ride along in `extra`."""

    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    key_order: tuple[str, ...] = field(default=(), repr=False, compare=False)  # as loaded

    @classmethod
    def _names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls) if f.name not in ("extra", "key_order")]

    @classmethod
    def load(cls: type[S], raw: Any) -> S:
        """From the stored JSON object (a null in a field that is not optional means its default)."""
        if not isinstance(raw, Mapping):
            raise TypeError(f"{cls.__name__}: expected a JSON object, got {type(raw).__name__}")
        names = cls._names()
        known = {k: raw[k] for k in names if k in raw and (raw[k] is not None or _nullable(cls, k))}
        obj = cls(**known)
        obj.extra = {k: v for k, v in raw.items() if k not in names}
        obj.key_order = tuple(raw)
        return obj

    def dump(self) -> dict[str, Any]:
        """The JSON object: the keys in the order they were loaded, then any new field."""
        values = {**self.extra, **{k: getattr(self, k) for k in self._names()}}
        out = {k: values[k] for k in self.key_order if k in values}
        out.update((k, v) for k, v in values.items() if k not in out)
        return out


def _nullable(cls: type, name: str) -> bool:
    """A field whose default is None keeps an explicit null from the file."""
    f = cls.__dataclass_fields__[name]
    return f.default is None


@dataclass(frozen=True)
class Document(Generic[T]):
    """One named journal document: its one reader (`read`) and its one writer (`write`)."""

    name: str
    load: Callable[[Any], T]
    dump: Callable[[T], Any]

    def read(self, journal: Journal) -> T | None:
        raw = journal.get_document(self.name)
        if raw is None:
            return None
        try:
            return self.load(raw)
        except (TypeError, ValueError):  # a hand-edited or foreign document: treat it as absent
            return None

    def write(self, journal: Journal, value: T) -> None:
        journal.put_document(self.name, self.dump(value))

    def clear(self, journal: Journal) -> None:
        journal.put_document(self.name, None)

    def exists(self, journal: Journal) -> bool:
        return self.read(journal) is not None


def shaped(name: str, shape: type[S]) -> Document[S]:
    return Document(name, shape.load, lambda v: v.dump())


def _as_list(raw: Any) -> list:
    if not isinstance(raw, list):
        raise TypeError("expected a JSON list")
    return raw


def listed(name: str) -> Document[list]:
    """A document that is a plain JSON list of records (their shape is their writer's)."""
    return Document(name, _as_list, list)


@dataclass(frozen=True)
class Checklist:
    """A dict document of ticked item -> when it was ticked; ticked one key at a time."""

    name: str

    def read(self, journal: Journal) -> dict[str, Any]:
        raw = journal.get_document(self.name)
        return dict(raw) if isinstance(raw, Mapping) else {}

    def tick(self, journal: Journal, key: str, value: Any) -> None:
        """Set (or, with None, untick) one item in one transaction."""
        journal.set_document_item(self.name, key, value)


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# ------------------------------------------------------------------------------ the shapes
@dataclass(kw_only=True)
class Acknowledged(Shape):
    """The official guide was read (step 1)."""

    url: str = ""
    at: float = 0.0


@dataclass(kw_only=True)
class Reason(Shape):
    """A decision with its stated reason (no password export, ...)."""

    reason: str = ""
    at: float = 0.0


@dataclass(kw_only=True)
class FailuresAccepted(Shape):
    """The person accepted `count` failed users as not migrated, because `reason`."""

    count: int = 0
    reason: str = ""
    at: float = 0.0


@dataclass(kw_only=True)
class PlanSummary(Shape):
    """What the plan read and decided (written by `plan.save_plan`); the fields other steps read."""

    users_file: str | None = None
    passwords_file: str | None = None
    planned: int = 0
    branches: dict[str, int] = field(default_factory=dict)
    merge_rule: str | None = None
    verified_rule: str | None = None
    social_providers: dict[str, int] | list[str] | None = None


@dataclass(kw_only=True)
class PlanMerge(Shape):
    """A re-plan after the run wrote to WorkOS: users kept, re-sent, added, gone from the export."""

    kept: int = 0
    resend: int = 0
    added: int = 0
    missing_from_export: int = 0


@dataclass(kw_only=True)
class RunSummary(Shape):
    """The import's (or the dry run's) summary: `ImportSummary.to_dict()` without the failures."""

    planned: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    remaining: int = 0
    rate_limited: int = 0
    retries: int = 0
    duration_seconds: float = 0.0
    rate_per_second: float = 0.0
    dry_run: bool = False
    would_create: int = 0
    would_update: int = 0
    would_fail: int = 0
    stopped: bool = False
    stop_reason: str | None = None
    budget: str | None = None


@dataclass(kw_only=True)
class InventoryDoc(Shape):
    """The Auth0 inventory (`inventory.Inventory.as_dict()`)."""

    source: str = "none"
    users: dict[str, Any] = field(default_factory=dict)
    sign_in_methods: list[dict] = field(default_factory=list)
    sign_in_summary: dict[str, int] = field(default_factory=dict)
    organizations: list[dict] | None = None
    organization_count: int | None = None
    mfa: dict[str, Any] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    taken_at: float = 0.0

    @property
    def has_organizations(self) -> bool:
        return bool(self.organizations or self.organization_count)

    @property
    def export_path(self) -> str | None:
        return self.users.get("export_path") if isinstance(self.users, Mapping) else None


@dataclass(kw_only=True)
class MfaReportDoc(Shape):
    """The MFA report (`mfa.MfaReport.as_dict()`)."""

    scanned: int = 0
    complete: bool = False
    sms_users: int = 0
    voice_users: int = 0
    totp_users: int = 0
    no_mfa_users: int = 0
    must_reenroll: int = 0
    scan_targets: int | None = None  # None: no scan ran, every user's MFA is unknown
    not_scanned: int | None = None  # targets the scan has not read: "unknown: not scanned"
    other_factors: dict[str, int] = field(default_factory=dict)
    csv_path: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class TotpImportDoc(Shape):
    """The TOTP import's counts (`mfa.TotpImportResult.as_dict()`)."""

    enrolled: int = 0
    already_enrolled: int = 0


@dataclass(kw_only=True)
class OrgsDoc(Shape):
    """The organizations migration (`orgs.OrgMigration.as_dict()`)."""

    problems: list[dict] = field(default_factory=list)


@dataclass(kw_only=True)
class ReportDoc(Shape):
    """The report was written: when, and its files (names in the run folder)."""

    at: float = 0.0
    files: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class ExportJob(Shape):
    """The last Auth0 users-exports job: its file and how it reads."""

    job_id: str = ""
    path: str = ""
    size: int = 0
    users: int = 0
    findings: dict[str, int] = field(default_factory=dict)
    connection_id: str | None = None


# ------------------------------------------------------------------------------ the documents
GUIDE_ACK = shaped("guide_acknowledged", Acknowledged)
NO_PASSWORDS_REASON = shaped("password_hashes_not_applicable", Reason)
PLAN_SUMMARY = shaped("plan_summary", PlanSummary)
PLAN_MERGE = shaped("plan_merge", PlanMerge)
INVENTORY = shaped("inventory", InventoryDoc)
DRY_RUN = shaped("import_dry_run", RunSummary)
IMPORT_SUMMARY = shaped("import_summary", RunSummary)
FAILURES_ACCEPTED = shaped("import_failures_accepted", FailuresAccepted)
MFA_REPORT = shaped("mfa", MfaReportDoc)
TOTP_IMPORT = shaped("totp_import", TotpImportDoc)
ORGS_EXPORT = Document("orgs_export", dict, dict)  # `orgs.OrgExport.as_dict()`: shown in the report only
ORGS = shaped("orgs", OrgsDoc)
ROLLBACK_SUMMARY = Document("rollback_summary", dict, dict)  # `RollbackSummary` without failures
REPORT = shaped("report", ReportDoc)
EXPORT_JOB = shaped("export_job", ExportJob)
USER_DIFFERENCES = listed("verify_user_differences")  # verify.check_user_count -> recovery
MISSING_MEMBERSHIPS = listed("verify_missing_memberships")  # verify.check_organizations -> recovery
WIZARD_ERRORS = listed("wizard_errors")  # the TUI's log of worker errors (type and message, masked)
# trust (issue 10): the operator's hash-join choice, {"join_by_email": bool, "source": str, "at": float},
# made in the export step or by check/import, so every later check and import binds hashes alike
HASH_JOIN_CHOICE = Document("hash_join_choice", dict, dict)

SOCIAL_CONFIRMATIONS = Checklist("social_confirmations")
MFA_COMMUNICATION = Checklist("mfa_communication_plan")
POST_MIGRATION = Checklist("post_migration")
