"""`auth0-workos --sandbox --run-dir DIR` refuses a run that already wrote to WorkOS: the sandbox's
WorkOS was in memory and is gone, so continuing would import into an empty emulator."""

from __future__ import annotations

import tempfile

import pytest

from wizard.cli import main
from wizard.commands.wizard import sandbox_ended_message
from wizard.core.journal import Journal

pytestmark = pytest.mark.timeout(30)


def test_sandbox_refuses_a_run_that_wrote_to_workos(tmp_path, monkeypatch, capsys):
    run_dir = tmp_path / "run"
    with Journal.open(run_dir) as journal:
        journal.record_write("create_user", "user_01EXAMPLE", "auth0|abc")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where a sandbox session would start
    assert main(["--sandbox", "--run-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "already written to WorkOS" in err and "without --run-dir" in err, err
    assert not list(scratch.iterdir()), "no sandbox was started"


def test_sandbox_end_message_names_the_files_and_offers_no_resume(tmp_path):
    (tmp_path / "report.md").write_text("# report\n")
    (tmp_path / "id-map.csv").write_text("auth0_user_id,workos_user_id,email\n")
    text = sandbox_ended_message(tmp_path)
    assert str(tmp_path) in text and "report.md" in text and "id-map.csv" in text
    assert "--run-dir" not in text and "cannot be resumed" in text
