"""The migration-package job: write the WorkOS migration package from the journal and the exports
(hashes only when asked), then validate it against the contract."""

from __future__ import annotations

from pathlib import Path

from wizard.core.config import Settings
from wizard.core.journal import Journal
from wizard.core.package import PackageResult, write_package


def run_package(journal: Journal, settings: Settings, out: str | Path, *, with_hashes: bool = False,
                totp_secrets: str | Path | None = None) -> PackageResult:
    result = write_package(journal, out, with_hashes=with_hashes, totp_secrets=totp_secrets,
                           tenant_domain=settings.auth0_domain)
    journal.put_document("migration_package", {
        "out": str(result.out), "counts": result.counts, "with_hashes": with_hashes,
        "valid": result.valid, "issues": [i.message for i in result.issues][:20]})
    return result
