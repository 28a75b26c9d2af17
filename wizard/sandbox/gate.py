"""The ASGI front both emulators share: request log, per-request answer headers, injected faults.

Each emulator is a `GatedEmulator` (request log, fault plan) and puts a `Gate` subclass in front of
its routes that answers auth and rate limits its own way in `handle`; the parts that must behave the
same in both (what is logged and when, how a fault is played) live here.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from wizard.sandbox.faults import Fault, FaultPlan, Faults
from wizard.sandbox.server import DropConnection


class Gate:
    """Pure ASGI middleware: logs [method, path, status] of every request, then calls `handle`."""

    def __init__(self, app, emulator):
        self.app = app
        self.emu = emulator

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        emu = self.emu
        entry = [scope["method"], scope["path"], 0]  # logged before answering: never seen missing
        with emu._lock:
            emu.requests.append(entry)
        extra_headers: list[tuple[bytes, bytes]] = []  # `handle` may add to it until it answers

        async def send_recorded(message):
            if message["type"] == "http.response.start":
                entry[2] = message["status"]
                message = {**message, "headers": [*message.get("headers", []), *extra_headers]}
            await send(message)

        await self.handle(scope, receive, send_recorded, extra_headers)

    async def handle(self, scope, receive, send, extra_headers: list[tuple[bytes, bytes]]) -> None:
        await self.app(scope, receive, send)


class GatedEmulator:
    """What a `Gate` keeps on its emulator: the request log (under `_lock`) and the fault plan."""

    requests: list[list]  # [method, path, status] of every request, in arrival order
    _lock: threading.RLock
    faults: Faults
    _fault_plan: FaultPlan

    def set_faults(self, faults: Faults) -> None:
        if getattr(self, "_fault_plan", None) is not None:
            self._fault_plan.release.set()  # a held answer never outlives its fault plan
        self.faults = faults
        self._fault_plan = FaultPlan(faults)

    @property
    def fault_plan(self) -> FaultPlan:
        """The current plan (tests wait on `holding` and set `release`)."""
        return self._fault_plan

    def request_count(self, method: str | None = None, path_prefix: str | None = None) -> int:
        """How many logged requests match `method` (any case) and start with `path_prefix`."""
        with self._lock:
            return sum(1 for m, p, _ in self.requests
                       if (method is None or m == method.upper())
                       and (path_prefix is None or p.startswith(path_prefix)))


async def play_fault(plan: FaultPlan, is_write: bool, send,
                     error_body: Callable[[int], dict[str, Any]],
                     drop_headers: list[tuple[bytes, bytes]], drop_start: bytes) -> Fault:
    """Wait the drawn latency; answer an ERROR (`error_body(status)`) or DROP the connection.

    Returns the fault drawn: after `Fault.ERROR` the request is answered; NONE and
    COMMIT_THEN_FAIL are left to the caller. A DROP raises `DropConnection` after a partial body.
    """
    delay, fault, status = plan.draw(is_write)
    await plan.sleep(delay)
    if fault is Fault.ERROR:
        await send_json(send, status, error_body(status))
    elif fault is Fault.DROP:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [*drop_headers, (b"content-length", b"4096")]})
        await send({"type": "http.response.body", "body": drop_start, "more_body": True})
        raise DropConnection("connection dropped by fault injection")
    return fault


async def send_json(send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
    payload = json.dumps(body).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    for k, v in (headers or {}).items():
        raw_headers.append((k.lower().encode(), v.encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})
