"""A demo-tenant run ready for the Enterprise SSO step (shared by the SSO tests)."""

from __future__ import annotations

import asyncio

from wizard.clients.auth0 import Auth0Client
from wizard.clients.workos import make_client, make_sync_client
from wizard.core import orgs
from wizard.core import plan as planning
from wizard.core.importer import Importer
from wizard.core.journal import Journal


def _world(tmp_path, settings, demo_exports) -> Journal:
    """The demo tenant planned, imported (real engine) and its organizations migrated."""
    journal = Journal.open(tmp_path / "run")
    result = planning.build_plan(demo_exports.users_path, demo_exports.passwords_path)
    planning.save_plan(journal, result, demo_exports.users_path, demo_exports.passwords_path)

    async def imp():
        client = make_client(settings)
        try:
            return await Importer(journal, client).run()
        finally:
            await client.close()

    asyncio.run(imp())
    with Auth0Client.from_settings(settings) as a0:
        orgs.export_organizations(a0, journal)
    with make_sync_client(settings) as wc:
        orgs.migrate_organizations(journal, wc)
    return journal
