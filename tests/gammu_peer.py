"""A real gammu-smsd for the tests (Debian `gammu-smsd`) with Gammu's `dummy` phone driver and the files
service, running config/gammu/smsdrc with the folders filled in, and `hotline sms gammu-receive` as its
RunOnReceive (through config/gammu/run-on-receive, as a city would install it).

- `incoming(sender, text)`: an SMS arrives at the modem (a message file in the dummy phone's inbox folder,
  in Gammu's own smsbackup format, which the driver reads as if the phone had received it).
- `sent()`: the SMS SMSD sent: (recipient, text) of each file it moved to its sent folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from hotline.channels.gammu.gateway import read_text

GAMMU_SMSD = shutil.which("gammu-smsd") or "/usr/bin/gammu-smsd"
ROOT = Path(__file__).resolve().parent.parent
SMSDRC = ROOT / "config" / "gammu" / "smsdrc"
RUN_ON_RECEIVE = ROOT / "config" / "gammu" / "run-on-receive"


def missing() -> str | None:
    if not os.access(GAMMU_SMSD, os.X_OK):
        return f"{GAMMU_SMSD} is not installed (apt-get install gammu-smsd; .ci/run does)"
    return None


class GammuPeer:
    def __init__(self, workdir: Path, *, gateway: str, env: dict[str, str]):
        self.dir, self.gateway, self.env = workdir, gateway, env
        self.phone = workdir / "phone"
        self.inbox, self.outbox = workdir / "inbox", workdir / "outbox"
        self.sent_dir, self.error = workdir / "sent", workdir / "error"
        self._location = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def folders(self) -> dict[str, str]:
        return {
            "INBOX": str(self.inbox),
            "OUTBOX": str(self.outbox),
            "SENT": str(self.sent_dir),
            "ERROR": str(self.error),
        }

    def config(self) -> str:
        text = SMSDRC.read_text()
        # The modem of the shipped file becomes Gammu's dummy phone (a folder).
        text = (
            text.replace("device = /dev/ttyUSB0", f"device = {self.phone}/")
            .replace("connection = at", "connection = none")
            .replace("model = at", "model = dummy")
        )
        values = {
            "SPOOL": str(self.dir),
            "RUN_ON_RECEIVE": f"{self.dir / 'run-on-receive'} {self.gateway}",
            "PHONE_ID": "modem1",
        }
        for key, value in values.items():
            text = text.replace(f"<{key}>", value)
        return text

    def start(self) -> GammuPeer:
        for folder in (
            self.inbox,
            self.outbox,
            self.sent_dir,
            self.error,
            *(self.phone / "sms" / str(i) for i in range(1, 6)),
        ):
            folder.mkdir(parents=True, exist_ok=True)
        script = self.dir / "run-on-receive"
        # The shipped script with this test's interpreter: the same `hotline sms gammu-receive`.
        script.write_text(
            RUN_ON_RECEIVE.read_text().replace("/opt/hotline/.venv/bin/hotline", f"{sys.executable} -m hotline")
        )
        script.chmod(0o755)
        (self.dir / "smsdrc").write_text(self.config())
        with (self.dir / "smsd.out").open("wb") as out:
            self._proc = subprocess.Popen(
                [GAMMU_SMSD, "-c", str(self.dir / "smsdrc")],
                env={**self.env, "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def incoming(self, sender: str, text: str) -> None:
        self._location += 1
        body = text.encode("utf-16-be").hex().upper()
        number = sender.encode("utf-16-be").hex().upper()
        (self.phone / "sms" / "1" / str(self._location)).write_text(
            "[SMSBackup000]\n"
            'SMSC = "+6281100000"\n'
            f"Sent = {datetime.now(UTC):%Y%m%dT%H%M%SZ}\n"
            "State = UnRead\n"
            f'Number = "{sender}"\nNumberUnicode = {number}\n'
            f"Text00 = {body}\n"
            "Coding = Default_No_Compression\nFolder = 1\nClass = -1\nPDU = Deliver\n"
        )

    def sent(self) -> list[tuple[str, str]]:
        found = []
        for folder in (self.sent_dir, self.sent_dir / "hotline-reported"):
            if folder.is_dir():
                for path in sorted(folder.glob("OUT*")):
                    found.append((path.name.split("_")[3], read_text(path)))
        return found

    def log(self) -> str:
        parts = []
        for name in ("smsd.log", "smsd.out"):
            path = self.dir / name
            if path.exists():
                parts.append(f"--- {name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-25:]))
        return "\n".join(parts)

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
