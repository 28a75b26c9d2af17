"""Serve an ASGI app on 127.0.0.1 in a background thread (tests, benchmarks and `auth0-workos sandbox`)."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import uvicorn


class DropConnection(Exception):  # noqa: N818 - it is a signal, not an error
    """Raised by an emulator after a partial response: uvicorn then closes the socket mid-answer."""


class _HideDroppedConnections(logging.Filter):
    """Keep uvicorn's log quiet about connections the emulators drop on purpose, and about clients
    that hang up mid-request (a cancelled import closes its in-flight connections): neither is a
    fault of the emulator, and a traceback would land in the rehearsal's terminal."""

    def filter(self, record: logging.LogRecord) -> bool:
        from starlette.requests import ClientDisconnect

        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, (DropConnection, ClientDisconnect))


_FILTER = _HideDroppedConnections()
logging.getLogger("uvicorn.error").addFilter(_FILTER)


@contextlib.contextmanager
def serve(app, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning") -> Iterator[str]:
    """Run `app` with uvicorn on host:port (0 = ephemeral) in a thread; yield `http://host:PORT`."""
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say so, and without
    # it every keep-alive answer waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(1024)  # a burst of hundreds of new connections must not overflow the accept queue
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
        timeout_keep_alive=30,
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # not the main thread
    logging.getLogger("uvicorn.error").addFilter(_FILTER)  # uvicorn.Config may reset logging
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name=f"serve-{bound_port}")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError(f"the emulator on {host}:{bound_port} did not start")
        time.sleep(0.005)
    try:
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


class Sandbox:
    """Both emulators loaded with the demo tenant, plus the tenant's export files in `workdir`.

    `Sandbox.start(workdir)` returns a running sandbox; `stop()` (or leaving the `with` block)
    shuts both servers down. `.env` is what a user would put in `.env.local` to point the wizard here.
    """

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self.workdir: Path | None = None
        self.tenant = None
        self.workos = None
        self.auth0 = None
        self.exports = None
        self.workos_base_url = ""
        self.auth0_base_url = ""

    @classmethod
    def start(cls, workdir: str | Path, seed: int = 7, workos_port: int = 0, auth0_port: int = 0,
              limits=None, faults=None, users: int | None = None) -> Sandbox:
        from wizard.core.rundir import ensure_private_dir
        from wizard.sandbox.auth0_emulator import FULL_SCOPES, Auth0Emulator
        from wizard.sandbox.demo import demo_tenant, write_exports
        from wizard.sandbox.workos_emulator import WorkOSEmulator

        box = cls()
        box.workdir = ensure_private_dir(Path(workdir))
        box.tenant = demo_tenant(seed, users=users)
        box.exports = write_exports(box.tenant, ensure_private_dir(box.workdir / "auth0-exports"))
        box.workos = WorkOSEmulator(limits=limits, faults=faults)
        box.auth0 = Auth0Emulator(box.tenant, scopes=FULL_SCOPES)
        try:
            box.workos_base_url = box._stack.enter_context(serve(box.workos.app, port=workos_port))
            box.auth0_base_url = box._stack.enter_context(serve(box.auth0.app, port=auth0_port))
        except BaseException:
            box._stack.close()
            raise
        return box

    @property
    def env(self) -> dict[str, str]:
        return {
            "WORKOS_API_KEY": self.workos.api_key,
            "WORKOS_CLIENT_ID": self.workos.client_id,
            "WORKOS_BASE_URL": self.workos_base_url,
            "AUTH0_DOMAIN": self.auth0.domain,
            "AUTH0_CLIENT_ID": self.auth0.client_id,
            "AUTH0_CLIENT_SECRET": self.auth0.client_secret,
            "AUTH0_BASE_URL": self.auth0_base_url,
        }

    def settings(self):
        """A `Settings` pointing at this sandbox (what `.env` would load to)."""
        from wizard.core.config import Settings

        e = self.env
        return Settings(workos_api_key=e["WORKOS_API_KEY"], workos_client_id=e["WORKOS_CLIENT_ID"],
                        workos_base_url=e["WORKOS_BASE_URL"], auth0_domain=e["AUTH0_DOMAIN"],
                        auth0_client_id=e["AUTH0_CLIENT_ID"],
                        auth0_client_secret=e["AUTH0_CLIENT_SECRET"],
                        auth0_base_url=e["AUTH0_BASE_URL"])

    def stop(self) -> None:
        self._stack.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
