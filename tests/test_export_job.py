"""The users-exports job round trip against the Auth0 emulator, and its failure messages."""

from __future__ import annotations

import gzip
import json
import stat

import pytest

from wizard.cli import main
from wizard.clients.auth0 import Auth0Client
from wizard.core.config import Settings
from wizard.core.export_job import EXPORT_FIELDS, ExportJobError, run_export
from wizard.core.exports import read_users
from wizard.core.journal import Journal
from wizard.core.records import Auth0User
from wizard.sandbox.server import serve


class Wrap:
    """ASGI wrapper: records request headers per path prefix; answers chosen requests itself."""

    def __init__(self, inner, answers=()):
        self.inner, self.answers, self.seen = inner, list(answers), []

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            self.seen.append((scope["method"], scope["path"], dict(scope["headers"])))
            for method, prefix, status, body, ctype in self.answers:
                if scope["method"] == method and scope["path"].startswith(prefix):
                    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
                    await send({"type": "http.response.start", "status": status,
                                "headers": [(b"content-type", ctype)]})
                    await send({"type": "http.response.body", "body": payload})
                    return
        await self.inner(scope, receive, send)


def _client(handle, base_url) -> Auth0Client:
    s = Settings(auth0_domain=handle.domain, auth0_client_id=handle.client_id,
                 auth0_client_secret=handle.client_secret, auth0_base_url=base_url)
    return Auth0Client.from_settings(s, max_per_second=1000)


def _run(handle, tmp_path, answers=()):
    wrap = Wrap(handle.emulator.app, answers)
    events = []
    with serve(wrap) as base:
        result = run_export(_client(handle, base), tmp_path, poll_interval=0.01, on_progress=events.append)
    return result, wrap, events


def test_round_trip_keeps_the_gzip_and_it_reads(tmp_path, auth0_emu, demo_tenant):
    result, wrap, events = _run(auth0_emu, tmp_path)
    path = result.path
    assert path.parent == tmp_path / "exports" and stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = path.read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    lines = [json.loads(x) for x in gzip.decompress(raw).decode().splitlines() if x.strip()]
    assert len(lines) == len(demo_tenant.users)
    assert all(set(line) <= set(EXPORT_FIELDS) for line in lines)
    assert all("identities" in line and "user_id" in line for line in lines)
    assert sum("multifactor" in line for line in lines) == sum(1 for u in demo_tenant.users if u.get("multifactor"))
    users = [u for u in read_users(path) if isinstance(u, Auth0User)]
    assert [u.user_id for u in users] == [u["user_id"] for u in demo_tenant.users]
    # the job asked for every field explicitly, JSON (NDJSON) format
    job = auth0_emu.emulator.jobs[result.job_id].job
    assert [f["name"] for f in job["fields"]] == list(EXPORT_FIELDS) and job["format"] == "json"
    # the pre-signed link was fetched without our bearer token
    downloads = [h for m, p, h in wrap.seen if p.startswith("/exports/")]
    assert len(downloads) == 1 and b"authorization" not in downloads[0]
    api_calls = [h for m, p, h in wrap.seen if p.startswith("/api/v2/")]
    assert all(h[b"authorization"].startswith(b"Bearer ") for h in api_calls)
    assert events[0].operation == "export-job (processing)" and events[0].counts["percent"] < 100
    assert events[-1].operation == "export-job (completed)" and events[-1].counts["percent"] == 100
    assert events[-1].done and not events[0].done


def test_expired_link_says_to_rerun(tmp_path, auth0_emu):
    auth0_emu.emulator.export_link_ttl_s = -5  # the link is dead on arrival
    with pytest.raises(ExportJobError) as info:
        _run(auth0_emu, tmp_path)
    assert info.value.code == "link_expired"
    assert "60 s" in info.value.message and "re-run export" in info.value.message
    assert not list((tmp_path / "exports").glob("*.gz"))


def test_failed_job_is_explained(tmp_path, auth0_emu):
    failed = {"id": "job_x", "type": "users_export", "status": "failed", "status_details": "internal error"}
    with pytest.raises(ExportJobError) as info:
        _run(auth0_emu, tmp_path, [("GET", "/api/v2/jobs/", 200, failed, b"application/json")])
    assert info.value.code == "job_failed" and "internal error" in info.value.message


def test_free_plan_refusal_is_explained(tmp_path, auth0_emu):
    refusal = {"statusCode": 403, "error": "Forbidden",
               "message": "This feature is not available on your current plan (Free)."}
    with pytest.raises(ExportJobError) as info:
        _run(auth0_emu, tmp_path, [("POST", "/api/v2/jobs/users-exports", 403, refusal, b"application/json")])
    assert info.value.code == "plan_refused" and "Free plan" in info.value.message


def test_a_download_that_is_not_gzip_is_refused(tmp_path, auth0_emu):
    with pytest.raises(ExportJobError) as info:
        _run(auth0_emu, tmp_path, [("GET", "/exports/", 200, b"<html>login</html>", b"text/html")])
    assert info.value.code == "not_gzip"
    assert not list((tmp_path / "exports").glob("*.gz"))


def test_export_command_writes_into_the_run_folder(tmp_path, auth0_emu, demo_tenant, monkeypatch, capsys):
    monkeypatch.setenv("AUTH0_DOMAIN", auth0_emu.domain)
    monkeypatch.setenv("AUTH0_CLIENT_ID", auth0_emu.client_id)
    monkeypatch.setenv("AUTH0_CLIENT_SECRET", auth0_emu.client_secret)
    monkeypatch.setenv("AUTH0_BASE_URL", auth0_emu.base_url)
    run_dir = tmp_path / "run"
    code = main(["--env-file", str(tmp_path / "none.env"), "export", "--run-dir", str(run_dir),
                 "--poll-interval", "0.01"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
    with Journal.open(run_dir) as journal:
        doc = journal.get_document("export_job")
    assert doc["users"] == len(demo_tenant.users)
    assert f"{len(demo_tenant.users)} user(s)" in out
    assert auth0_emu.client_secret not in out
