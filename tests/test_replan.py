"""Re-planning a run that already wrote to WorkOS: nothing is forgotten, corrected hashes are re-sent.

The story: Auth0 support's first password export had a truncated hash, so that user was imported
without a password (branch reset). A corrected export arrives; the export check runs again on the
same run folder; the resumed import sends the hash as an update and the user signs in with it."""

from __future__ import annotations

import json

import bcrypt

from wizard.clients.workos import make_client
from wizard.core import recovery
from wizard.core.config import Settings
from wizard.core.importer import Importer
from wizard.core.journal import Journal
from wizard.core.plan import build_plan, save_plan
from wizard.core.records import Branch, UserStatus


def _correct_truncated_row(src, dest, uid: str) -> None:
    """Write `src` to `dest` with the truncated row's hash replaced by a full hash of a known password."""
    oid = uid.split("|", 1)[1]
    out = []
    for line in src.read_text().splitlines():
        row = json.loads(line)
        if (row.get("_id") or row.get("_ID") or {}).get("$oid") == oid:
            row["passwordHash"] = bcrypt.hashpw(b"Corrected-pw-1", bcrypt.gensalt(rounds=4)).decode()
        out.append(json.dumps(row))
    dest.write_text("\n".join(out) + "\n")


def _settings(emu) -> Settings:
    return Settings(workos_api_key=emu.api_key, workos_client_id=emu.client_id, workos_base_url=emu.base_url)


async def _import(journal: Journal, emu):
    client = make_client(_settings(emu))
    try:
        return await Importer(journal, client, rate="500/10s").run()
    finally:
        await client.close()


async def test_corrected_hash_is_resent_after_replan(tmp_path, workos_emu, demo_tenant, demo_exports):
    uid = demo_tenant.notes["truncated_hash"]
    journal = Journal.open(tmp_path / "run")
    save_plan(journal, build_plan(demo_exports.users_path, demo_exports.passwords_path))
    assert journal.user(uid).branch == Branch.RESET
    first = await _import(journal, workos_emu)
    assert first.failed == 0
    before = {u.auth0_user_id: u.workos_user_id for u in journal.users(status=list(UserStatus.DONE))}
    workos_id = journal.user(uid).workos_user_id
    assert workos_id and not workos_emu.emulator.password_matches(workos_id, "Corrected-pw-1")

    # the corrected export: the truncated row now carries a full hash of a known password
    fixed = tmp_path / "passwords-corrected.ndjson"
    _correct_truncated_row(demo_exports.passwords_path, fixed, uid)

    save_plan(journal, build_plan(demo_exports.users_path, fixed))  # merged, not refused
    assert journal.get_document("plan_merge")["resend"] == 1
    row = journal.user(uid)
    assert (row.branch, row.status, row.workos_user_id) == (Branch.PASSWORD, UserStatus.PLANNED, workos_id)
    assert journal.changed_inputs() == []  # the corrected file is now the recorded input

    second = await _import(journal, workos_emu)
    assert (second.session_created, second.session_updated, second.failed) == (0, 1, 0)
    assert workos_emu.emulator.password_matches(workos_id, "Corrected-pw-1")
    after = {u.auth0_user_id: u.workos_user_id for u in journal.users(status=list(UserStatus.DONE))}
    assert after == before  # every WorkOS id kept; nobody created twice
    assert len(workos_emu.emulator.users) == len(before)


async def test_recovery_action_replans_a_corrected_file_put_in_place(tmp_path, workos_emu, demo_tenant,
                                                                      demo_exports):
    """`verify --fix resend_corrected_hash`: the corrected export replaced the old file at its path."""
    uid = demo_tenant.notes["truncated_hash"]
    journal = Journal.open(tmp_path / "run")
    save_plan(journal, build_plan(demo_exports.users_path, demo_exports.passwords_path))
    await _import(journal, workos_emu)
    untouched = recovery.apply(journal, recovery.RESEND_CORRECTED_HASH)
    assert untouched.changed == 0 and untouched.next_command is None  # nothing changed yet

    _correct_truncated_row(demo_exports.passwords_path, tmp_path / "fixed.ndjson", uid)
    (tmp_path / "fixed.ndjson").replace(demo_exports.passwords_path)
    outcome = recovery.apply(journal, recovery.RESEND_CORRECTED_HASH)
    assert outcome.changed == 1 and "--resume" in outcome.next_command
    await _import(journal, workos_emu)
    assert workos_emu.emulator.password_matches(journal.user(uid).workos_user_id, "Corrected-pw-1")
