"""`hotline broadcast`: draft, the two-person rule, status with its bar, import with file:row errors, to-call."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from hotline.cli import app
from tests.broadcast_helpers import send_broadcasts

runner = CliRunner()


def test_cli_import_draft_approve_status(backend: Any, fake_twilio: Any, tmp_path: Path) -> None:
    bad = tmp_path / "warga.csv"
    bad.write_text("phone,desa,consent\n081300000001,Atlantis,formulir\n")
    refused = runner.invoke(app, ["broadcast", "import", str(bad)])
    assert refused.exit_code == 1 and "warga.csv:2: desa 'Atlantis' is not a desa of the city" in refused.output
    good = tmp_path / "warga-ok.csv"
    good.write_text("phone,desa,consent\n081300000001,Punten,formulir\n081300000002,Punten,formulir\n")
    assert "2 subscribers imported" in runner.invoke(app, ["broadcast", "import", str(good)]).output
    assert "Punten\t2" in runner.invoke(app, ["broadcast", "subscribers"]).output

    unknown = runner.invoke(app, ["broadcast", "draft", "flood", "Atlantis", "--as", "ani"])
    assert unknown.exit_code == 1 and "unknown desa or kecamatan: Atlantis" in unknown.output
    made = runner.invoke(app, ["broadcast", "draft", "flood", "Punten", "--as", "ani", "--checkin", "20"])
    found = re.search(r"broadcast (\d+) drafted for Punten", made.output)
    assert made.exit_code == 0 and found and "  id (2 SMS, 167 gsm7): PERINGATAN" in made.output
    number = found.group(1)  # PostgreSQL's sequences go on across tests
    same = runner.invoke(app, ["broadcast", "approve", number, "--as", "ani"])
    assert same.exit_code == 1 and "another person must approve" in same.output
    assert "2 recipients" in runner.invoke(app, ["broadcast", "approve", number, "--as", "budi"]).output
    send_broadcasts()
    status = runner.invoke(app, ["broadcast", "status", number]).output
    assert "done [##############################] 100% of 2: sent 2" in status
    assert "Punten: AMAN 0, BANTU 0, no answer 2 (of 2 sent)" in status
    assert "nobody to call" in runner.invoke(app, ["broadcast", "to-call", number]).output
    again = runner.invoke(app, ["broadcast", "cancel", number, "--as", "budi"])
    assert again.exit_code == 1 and "already done" in again.output
