"""Shared fixtures: the sandbox emulators over real HTTP on 127.0.0.1, and the demo tenant.

Each emulator server starts once per session; every test gets a fresh emulator instance behind it
(fresh state, default limits, no faults), so tests never see each other's users.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from wizard.core.config import Settings
from wizard.sandbox.auth0_emulator import Auth0Emulator
from wizard.sandbox.demo import DemoTenant, ExportFiles, write_exports
from wizard.sandbox.demo import demo_tenant as make_demo_tenant
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
    tenant: DemoTenant
    emulator: Auth0Emulator


def _served_switchboard():
    """One server per session; each test installs its own emulator behind it."""
    board = _Switchboard()
    with serve(board) as base_url:
        yield board, base_url


@pytest.fixture(scope="session")
def _workos_server():
    yield from _served_switchboard()


@pytest.fixture
def workos_emu(_workos_server) -> WorkOSHandle:
    board, base_url = _workos_server
    emulator = WorkOSEmulator()
    board.target = emulator
    return WorkOSHandle(base_url=base_url, api_key=emulator.api_key, client_id=emulator.client_id,
                        emulator=emulator)


@pytest.fixture
def demo_tenant() -> DemoTenant:
    """The seed-7 demo tenant (built once per process; each test gets its own copy)."""
    return make_demo_tenant(seed=7)


@pytest.fixture
def demo_exports(demo_tenant, tmp_path: Path) -> ExportFiles:
    """The demo tenant's users export (.json.gz) and password export, written under tmp_path."""
    return write_exports(demo_tenant, tmp_path / "auth0-exports")


@pytest.fixture(scope="session")
def _auth0_server():
    yield from _served_switchboard()


@pytest.fixture
def auth0_emu(_auth0_server, demo_tenant) -> Auth0Handle:
    board, base_url = _auth0_server
    emulator = Auth0Emulator(demo_tenant)
    board.target = emulator
    return Auth0Handle(base_url=base_url, client_id=emulator.client_id,
                       client_secret=emulator.client_secret, domain=emulator.domain,
                       tenant=demo_tenant, emulator=emulator)


@pytest.fixture
def sandbox_settings(workos_emu, auth0_emu) -> Settings:
    """Settings pointing at both started emulators (what `auth0-workos sandbox` prints as env)."""
    return Settings(
        workos_api_key=workos_emu.api_key,
        workos_client_id=workos_emu.client_id,
        workos_base_url=workos_emu.base_url,
        auth0_domain=auth0_emu.domain,
        auth0_client_id=auth0_emu.client_id,
        auth0_client_secret=auth0_emu.client_secret,
        auth0_base_url=auth0_emu.base_url,
    )


class HoldCreates:
    """Installed in front of the WorkOS emulator: the first `after` user creates pass, later ones
    wait until `release` is set, so a test can act with users in the air without timing guesses."""

    def __init__(self, board: _Switchboard, emulator: WorkOSEmulator, after: int) -> None:
        self.board, self.emulator, self.after, self.passed = board, emulator, after, 0
        self.release = threading.Event()

    async def app(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/user_management/users":
            self.passed += 1
            if self.passed > self.after:
                await asyncio.to_thread(self.release.wait, 30)
        await self.emulator.app(scope, receive, send)

    def install(self) -> HoldCreates:
        self.board.target = self
        return self

    def remove(self) -> None:
        self.release.set()
        self.board.target = self.emulator


@pytest.fixture
def hold_creates(_workos_server, workos_emu):
    """`hold_creates(after=N)`: a HoldCreates for this test's emulator (released at the end)."""
    board, _ = _workos_server
    made: list[HoldCreates] = []

    def make(after: int) -> HoldCreates:
        made.append(HoldCreates(board, workos_emu.emulator, after))
        return made[-1]

    yield make
    for hold in made:
        hold.remove()
