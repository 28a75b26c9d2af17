"""The WorkOS migration package: the handoff format for WorkOS's managed import (over 200,000 users
WorkOS asks to be contacted, and its own CLI, `workos/workos-migrations`, standardised this folder).

Contract (that repository's docs/migration-package.md, schemaVersion 1): `manifest.json` with
provider, generatedAt, entitiesRequested, entitiesExported (non-negative integer counts that
match the files), files (canonical relative paths only), importability, secretsRedacted (+
secretRedaction) and warnings; CSV files with exact header rows; JSONL files of one object a line;
`sso/` (handoff only) and `workos_upload/` (the narrow upload templates). Where the prose and
WorkOS's own validator differ (the SAML/OIDC column order), the validator's order is used, since
that is what the package is checked against.

Written from the journal (users, organizations, memberships, roles) and the exports: password
hashes are re-read from the password export at the moment they are written, and only when asked
(`with_hashes`, after a typed confirmation in the front end). Every file is 0600, the folder 0700,
and the package is never written inside the run folder.
"""

from __future__ import annotations

import csv
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from wizard.core.journal import Journal
from wizard.core.passwords import BCRYPT_RE, HashReader
from wizard.core.records import Branch, UserStatus
from wizard.core.rundir import ensure_private_dir, open_private, write_private

SCHEMA_VERSION = 1
MANAGED_IMPORT_THRESHOLD = 200_000

FILES = {
    "manifest": "manifest.json",
    "users": "users.csv",
    "organizations": "organizations.csv",
    "memberships": "organization_memberships.csv",
    "roleDefinitions": "role_definitions.csv",
    "userRoleAssignments": "user_role_assignments.csv",
    "totpSecrets": "totp_secrets.csv",
    "warnings": "warnings.jsonl",
    "skippedUsers": "skipped_users.jsonl",
    "samlConnections": "sso/saml_connections.csv",
    "oidcConnections": "sso/oidc_connections.csv",
    "customAttributeMappings": "sso/custom_attribute_mappings.csv",
    "proxyRoutes": "sso/proxy_routes.csv",
    "handoffNotes": "sso/handoff_notes.md",
    "uploadUsers": "workos_upload/users.csv",
    "uploadOrganizations": "workos_upload/organizations.csv",
    "uploadMemberships": "workos_upload/organization_memberships.csv",
}
HEADERS = {
    "users": ("email", "password", "password_hash", "password_hash_type", "first_name", "last_name",
              "email_verified", "external_id", "metadata", "org_id", "org_external_id", "org_name", "role_slugs"),
    "organizations": ("org_id", "org_external_id", "org_name", "domains", "metadata"),
    "memberships": ("email", "external_id", "user_id", "org_id", "org_external_id", "org_name", "role_slugs",
                    "metadata"),
    "roleDefinitions": ("role_slug", "role_name", "role_type", "permissions", "org_id", "org_external_id"),
    "userRoleAssignments": ("email", "user_id", "external_id", "role_slug", "org_id", "org_external_id"),
    "totpSecrets": ("email", "totp_secret", "totp_issuer", "totp_user"),
    "samlConnections": ("name", "organizationName", "organizationId", "organizationExternalId", "domains",
                        "idpEntityId", "idpUrl", "x509Cert", "idpMetadataUrl", "customEntityId", "customAcsUrl",
                        "idpIdAttribute", "emailAttribute", "firstNameAttribute", "lastNameAttribute",
                        "nameAttribute", "idpInitiatedEnabled", "requestSigningKey", "assertionEncryptionKey",
                        "nameIdEncryptionKey", "externalId"),
    "oidcConnections": ("name", "organizationName", "organizationId", "organizationExternalId", "domains",
                        "clientId", "clientSecret", "discoveryEndpoint", "customRedirectUri", "externalId"),
    "customAttributeMappings": ("externalId", "organizationExternalId", "providerType", "userPoolAttribute",
                                "idpClaim"),
    "proxyRoutes": ("externalId", "organizationExternalId", "provider", "protocol", "sourceAcsUrl",
                    "sourceEntityId", "sourceRedirectUri", "customAcsUrl", "customEntityId", "customRedirectUri",
                    "workosConnectionId", "workosAcsUrl", "cutoverState", "notes"),
    "uploadUsers": ("user_id", "email", "email_verified", "first_name", "last_name", "password_hash"),
    "uploadOrganizations": ("organization_id", "name"),
    "uploadMemberships": ("organization_id", "user_id"),
}
JSONL = ("warnings", "skippedUsers")
IMPORTABILITY = {"users": "automatic", "organizations": "automatic", "memberships": "automatic",
                 "roles": "automatic", "totpSecrets": "automatic", "ssoConnections": "handoff"}


class PackageError(ValueError):
    """The package cannot be written (an --out inside the run folder, a non-empty folder, no plan)."""


@dataclass
class PackageIssue:
    severity: str  # "error" | "warning"
    code: str
    message: str
    file: str | None = None


@dataclass
class PackageResult:
    out: Path
    counts: dict[str, int]
    with_hashes: bool
    issues: list[PackageIssue] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not any(i.severity == "error" for i in self.issues)


def user_total(journal: Journal) -> int:
    """The tenant's user count as the run knows it (the export check, else the inventory)."""
    summary = journal.get_document("plan_summary") or {}
    if summary.get("users_read"):
        return int(summary["users_read"])
    users = (journal.get_document("inventory") or {}).get("users") or {}
    for k in ("total", "count", "exported"):
        if isinstance(users.get(k), int):
            return users[k]
    return 0


def package_offer(journal: Journal) -> str | None:
    """The import step's line for a tenant over 200,000 users (None below)."""
    n = user_total(journal)
    if n <= MANAGED_IMPORT_THRESHOLD:
        return None
    return (f"{n:,} users: over {MANAGED_IMPORT_THRESHOLD:,}, WorkOS asks you to contact support and may run "
            "its managed import. `auth0-workos package --run-dir DIR --out FOLDER` writes the WorkOS migration "
            "package (add --with-hashes to include the password hashes).")


def check_out_dir(journal: Journal, out: str | Path) -> Path:
    """Refuse a folder inside the run folder (it would copy personal data next to the journal's
    private files twice) and a non-empty folder (never overwrite another package)."""
    out = Path(out).expanduser().resolve()
    run = journal.run_dir.resolve()
    if out == run or run in out.parents:
        raise PackageError(f"--out {out} is inside the run folder {run}: choose a folder outside it")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise PackageError(f"--out {out} exists and is not an empty folder: choose a new one")
    return out


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{int(ts * 1000) % 1000:03d}Z"


def _bool(v) -> str:
    return "true" if v else "false"


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


class _Csv:
    """A streaming 0600 CSV with its exact header row; counts its data rows."""

    def __init__(self, root: Path, key: str) -> None:
        self._cm = open_private(root / FILES[key], "w")
        self._fh = self._cm.__enter__()
        self._w = csv.writer(self._fh, lineterminator="\n")
        self._w.writerow(HEADERS[key])
        self.rows = 0

    def write(self, row: Iterable) -> None:
        self._w.writerow(["" if v is None else v for v in row])
        self.rows += 1

    def close(self) -> None:
        self._cm.__exit__(None, None, None)


def write_package(journal: Journal, out: str | Path, *, with_hashes: bool = False,
                  totp_secrets: str | Path | None = None, tenant_domain: str | None = None) -> PackageResult:
    """Write the package into `out` (see the module docstring) and validate it against the contract."""
    if not journal.count_users():
        raise PackageError("this run has no plan: check the export files first (auth0-workos check)")
    out = check_out_dir(journal, out)
    ensure_private_dir(out)
    for sub in ("sso", "workos_upload"):
        ensure_private_dir(out / sub)
    warnings: list[dict] = []
    skipped: list[dict] = []
    reader = None
    if with_hashes:
        path = journal.input_path("passwords")
        if path is None or not path.is_file():
            raise PackageError("--with-hashes: the run's password export is not available "
                               f"({path or 'none recorded'}); give it to the run first")
        if journal.changed_inputs():
            raise PackageError("--with-hashes: " + " ".join(journal.changed_inputs()))
        reader = HashReader(path)
    users, upload_users = _Csv(out, "users"), _Csv(out, "uploadUsers")
    try:
        for u in journal.iter_users():
            req = u.request
            if u.branch not in Branch.IMPORTABLE or u.last_error_code == "deleted_by_sync" \
                    or u.status == UserStatus.SKIPPED:
                skipped.append({"user_id": u.auth0_user_id, "email": u.email, "reason": u.branch,
                                "message": u.reason or u.last_error_code or ""})
                continue
            h = ""
            if reader is not None and u.branch == Branch.PASSWORD and u.hash_ref is not None:
                try:
                    h = reader.hash_at(u.hash_ref)
                except Exception:  # noqa: BLE001 - the row is written without a hash, and said so
                    h = ""
                if not BCRYPT_RE.match(h or ""):
                    h = ""
                    warnings.append({"code": "hash_unavailable", "user_id": u.auth0_user_id,
                                     "message": f"the hash of {u.auth0_user_id} could not be re-read: exported "
                                                "without a password (the user resets it)"})
            metadata = json.dumps(req.get("metadata") or {}, sort_keys=True) if req.get("metadata") else ""
            users.write([req.get("email") or u.email, "", h, "bcrypt" if h else "", req.get("first_name"),
                         req.get("last_name"), _bool(req.get("email_verified")), u.auth0_user_id, metadata,
                         "", "", "", ""])
            upload_users.write([u.auth0_user_id, req.get("email") or u.email, _bool(req.get("email_verified")),
                                req.get("first_name"), req.get("last_name"), h])
    finally:
        users.close()
        upload_users.close()
        if reader is not None:
            reader.close()

    orgs_csv, upload_orgs = _Csv(out, "organizations"), _Csv(out, "uploadOrganizations")
    org_names: dict[str, tuple[str | None, str]] = {}
    for o in journal.orgs():
        domains = ",".join(d.get("domain") if isinstance(d, dict) else str(d) for d in o["domains"] or [])
        org_names[o["auth0_org_id"]] = (o.get("workos_org_id"), o.get("display_name") or o["name"])
        orgs_csv.write([o.get("workos_org_id"), o["auth0_org_id"], o.get("display_name") or o["name"], domains,
                        json.dumps(o["metadata"], sort_keys=True) if o["metadata"] else ""])
        upload_orgs.write([o["auth0_org_id"], o.get("display_name") or o["name"]])
    orgs_csv.close()
    upload_orgs.close()

    members, upload_members = _Csv(out, "memberships"), _Csv(out, "uploadMemberships")
    assignments = _Csv(out, "userRoleAssignments")
    roles: dict[str, str] = {}
    for m in journal.memberships():
        user = journal.user(m["auth0_user_id"])
        if user is None:
            warnings.append({"code": "membership_user_unknown", "user_id": m["auth0_user_id"],
                             "message": f"member {m['auth0_user_id']} of {m['auth0_org_id']} is not in the plan"})
            continue
        wid_org, name = org_names.get(m["auth0_org_id"], (None, ""))
        slug = m.get("role_slug") or ""
        members.write([user.email, user.auth0_user_id, user.workos_user_id, wid_org, m["auth0_org_id"], name,
                       slug, ""])
        upload_members.write([m["auth0_org_id"], user.auth0_user_id])
        if slug:
            roles.setdefault(slug, slug)
            assignments.write([user.email, user.workos_user_id, user.auth0_user_id, slug, wid_org,
                               m["auth0_org_id"]])
    members.close()
    upload_members.close()
    assignments.close()
    role_defs = _Csv(out, "roleDefinitions")
    for slug in sorted(roles):
        role_defs.write([_slug(slug) or slug, roles[slug], "environment", "", "", ""])
    role_defs.close()

    files = dict(FILES)
    counts = {"users": users.rows, "organizations": orgs_csv.rows, "memberships": members.rows,
              "roleDefinitions": role_defs.rows, "userRoleAssignments": assignments.rows, "totpSecrets": 0,
              "samlConnections": 0, "oidcConnections": 0, "customAttributeMappings": 0, "proxyRoutes": 0,
              "uploadUsers": upload_users.rows, "uploadOrganizations": upload_orgs.rows,
              "uploadMemberships": upload_members.rows}
    if totp_secrets is not None:
        from wizard.core.mfa import read_totp_secrets

        good, problems = read_totp_secrets(totp_secrets)
        totp = _Csv(out, "totpSecrets")
        for row in good:
            totp.write([row.email, row.secret, "", row.email])
        totp.close()
        counts["totpSecrets"] = totp.rows
        warnings += [{"code": "totp_row_invalid", "message": p["message"]} for p in problems]
    else:
        del files["totpSecrets"]
    for key in ("samlConnections", "oidcConnections", "customAttributeMappings", "proxyRoutes"):
        _Csv(out, key).close()  # header only: SSO connections are handed off, see handoff_notes.md
    write_private(out / FILES["handoffNotes"], _handoff_notes(journal))
    if not orgs_csv.rows:
        warnings.append({"code": "no_organizations", "message": "no organizations in this run: header-only files"})
    counts["warnings"], counts["skippedUsers"] = len(warnings), len(skipped)
    write_private(out / FILES["warnings"], "".join(json.dumps(w, sort_keys=True) + "\n" for w in warnings))
    write_private(out / FILES["skippedUsers"], "".join(json.dumps(s, sort_keys=True) + "\n" for s in skipped))
    secret = bool(with_hashes or totp_secrets is not None)
    manifest = {
        "schemaVersion": SCHEMA_VERSION,
        "provider": "auth0",
        **({"sourceTenant": tenant_domain} if tenant_domain else {}),
        "generatedAt": _iso(time.time()),
        "entitiesRequested": ["users", "organizations", "memberships", "roles", "sso"]
        + (["totpSecrets"] if totp_secrets is not None else []),
        "entitiesExported": counts,
        "files": files,
        "importability": IMPORTABILITY,
        "secretsRedacted": not secret,
        "secretRedaction": {
            "mode": "included" if secret else "redacted", "redacted": not secret,
            "redactedFields": [] if with_hashes else ["password_hash"],
            "files": [] if secret else [FILES["users"], FILES["uploadUsers"]],
            "notes": ["password hashes included (--with-hashes): keep this folder private"] if with_hashes
            else ["password hashes left out; pass --with-hashes to include them"]},
        "warnings": [w["message"] for w in warnings],
        "metadata": {"tool": "auth0-workos-wizard", "run_dir": journal.run_dir.name},
    }
    write_private(out / FILES["manifest"], json.dumps(manifest, indent=2) + "\n")
    return PackageResult(out, counts, with_hashes, validate_package(out))


def _handoff_notes(journal: Journal) -> str:
    methods = (journal.get_document("inventory") or {}).get("sign_in_methods") or []
    ent = [m for m in methods if m.get("kind") not in ("database", "social", "passwordless")]
    lines = ["# SSO handoff", "", "SSO connections cannot be imported automatically: set each one up in WorkOS "
             "(or with the wizard's SSO step) and point the identity provider at it.", ""]
    lines += [f"- {m.get('connection')} ({m.get('strategy') or '?'}): {m.get('users', 0)} user(s)" for m in ent] \
        or ["No enterprise connection in this tenant's inventory."]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ the validator
def _count_csv(path: Path) -> tuple[list[str] | None, int]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        return header, sum(1 for row in reader if any(cell.strip() for cell in row))


def validate_package(root: str | Path) -> list[PackageIssue]:
    """Check a package folder against the contract: manifest fields, canonical file paths, every
    listed file present, exact CSV headers, JSONL parseable, counts equal to the records."""
    root = Path(root)
    issues: list[PackageIssue] = []

    def err(code: str, message: str, file: str | None = None, severity: str = "error") -> None:
        issues.append(PackageIssue(severity, code, message, file))

    try:
        manifest = json.loads((root / FILES["manifest"]).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        err("manifest_read_failed", f"cannot read manifest.json: {exc}", FILES["manifest"])
        return issues
    if not isinstance(manifest, dict):
        err("invalid_manifest", "manifest.json must hold a JSON object", FILES["manifest"])
        return issues
    if manifest.get("schemaVersion") != SCHEMA_VERSION:
        err("unsupported_schema_version", f"schemaVersion is {manifest.get('schemaVersion')!r}, not 1")
    if not isinstance(manifest.get("provider"), str) or not manifest["provider"].strip():
        err("missing_provider", "provider must be a non-empty string")
    try:
        datetime.fromisoformat(str(manifest.get("generatedAt")).replace("Z", "+00:00"))
    except ValueError:
        err("invalid_generated_at", "generatedAt must be an ISO timestamp")
    if not isinstance(manifest.get("entitiesRequested"), list):
        err("invalid_entities_requested", "entitiesRequested must be an array")
    counts = manifest.get("entitiesExported")
    if not isinstance(counts, dict):
        err("invalid_entities_exported", "entitiesExported must be an object of counts")
        counts = {}
    for k, v in counts.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            err("invalid_entity_count", f"entitiesExported.{k} must be a non-negative integer")
    files = manifest.get("files")
    if not isinstance(files, dict):
        err("invalid_files", "files must be an object")
        files = {}
    if not isinstance(manifest.get("importability"), dict):
        err("invalid_importability", "importability must be an object")
    if not isinstance(manifest.get("secretsRedacted"), bool):
        err("invalid_secrets_redacted", "secretsRedacted must be true or false")
    if not isinstance(manifest.get("warnings"), list):
        err("invalid_warnings", "warnings must be an array")
    for key, rel in files.items():
        if not isinstance(rel, str) or not rel.strip():
            err("invalid_file_path", f"files.{key} must be a non-empty relative path")
            continue
        if rel.startswith("/") or ".." in Path(rel).parts:
            err("unsafe_file_path", f"files.{key} must stay inside the package folder", rel)
        if key not in FILES:
            err("unknown_file_key", f"files.{key} is not a canonical package file", rel, "warning")
            continue
        if rel != FILES[key]:
            err("noncanonical_file_path", f"files.{key} must be {FILES[key]!r}", rel)
        path = root / rel
        if not path.is_file():
            err("missing_file", f"package file is missing: {rel}", rel)
            continue
        actual = None
        if key in HEADERS:
            header, actual = _count_csv(path)
            if header is None:
                err("missing_csv_header", f"{rel} has no header row", rel)
            elif [h.strip() for h in header] != list(HEADERS[key]):
                err("invalid_csv_header", f"the header of {rel} does not match the contract", rel)
        elif key in JSONL:
            actual = 0
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                actual += 1
                try:
                    json.loads(line)
                except ValueError:
                    err("jsonl_parse_failed", f"{rel}:{n} is not a JSON object", rel)
        if actual is not None and counts.get(key, 0) != actual:  # an absent count means 0
            err("entity_count_mismatch", f"entitiesExported.{key} is {counts.get(key, 0)} but {rel} holds "
                                         f"{actual} records", rel)
    return issues
