"""Shared fixtures: the sandbox emulators over real HTTP on 127.0.0.1, and the demo tenant.

Each emulator server starts once per session; every test gets a fresh emulator instance behind it
(fresh state, default limits, no faults), so tests never see each other's users.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from wizard.core.config import Settings
from wizard.sandbox.server import serve
from wizard.sandbox.workos_emulator import WorkOSEmulator


class _Switchboard:
    """An ASGI app that forwards to whichever emulator the current test installed."""

    def __init__(self) -> None:
        self.target: Any = None

    async def __call__(self, scope, receive, send):
        await self.target.app(scope, receive, send)


@dataclass
class WorkOSHandle:
    base_url: str
    api_key: str
    client_id: str
    emulator: WorkOSEmulator


@dataclass
class Auth0Handle:
    base_url: str
    client_id: str
    client_secret: str
    domain: str
    tenant: Any
    emulator: Any


@pytest.fixture(scope="session")
def _workos_server():
    board = _Switchboard()
    with serve(board) as base_url:
        yield board, base_url


@pytest.fixture
def workos_emu(_workos_server) -> WorkOSHandle:
    board, base_url = _workos_server
    emulator = WorkOSEmulator()
    board.target = emulator
    return WorkOSHandle(base_url=base_url, api_key=emulator.api_key, client_id=emulator.client_id,
                        emulator=emulator)


@pytest.fixture
def demo_tenant():
    from wizard.sandbox.demo import demo_tenant as make_demo_tenant

    return make_demo_tenant(seed=7)


@pytest.fixture
def demo_exports(demo_tenant, tmp_path: Path):
    from wizard.sandbox.demo import write_exports

    return write_exports(demo_tenant, tmp_path / "auth0-exports")


@pytest.fixture(scope="session")
def _auth0_server():
    board = _Switchboard()
    with serve(board) as base_url:
        yield board, base_url


@pytest.fixture
def auth0_emu(_auth0_server, demo_tenant) -> Auth0Handle:
    from wizard.sandbox.auth0_emulator import Auth0Emulator

    board, base_url = _auth0_server
    emulator = Auth0Emulator(demo_tenant)
    emulator.public_base_url = base_url
    board.target = emulator
    return Auth0Handle(base_url=base_url, client_id=emulator.client_id,
                       client_secret=emulator.client_secret, domain=emulator.domain,
                       tenant=demo_tenant, emulator=emulator)


@pytest.fixture
def sandbox_settings(workos_emu, request) -> Settings:
    """Settings pointing at the started WorkOS emulator, and at the Auth0 emulator when it exists."""
    auth0 = None
    try:
        import wizard.sandbox.auth0_emulator  # noqa: F401

        auth0 = request.getfixturevalue("auth0_emu")
    except ModuleNotFoundError:
        pass
    return Settings(
        workos_api_key=workos_emu.api_key,
        workos_client_id=workos_emu.client_id,
        workos_base_url=workos_emu.base_url,
        auth0_domain=auth0.domain if auth0 else None,
        auth0_client_id=auth0.client_id if auth0 else None,
        auth0_client_secret=auth0.client_secret if auth0 else None,
        auth0_base_url=auth0.base_url if auth0 else None,
    )
