"""A real Kannel for the tests: Debian's bearerbox and smsbox (package `kannel`) with the fake SMSC, and
`fakesmsc` (package `kannel-extras`) as the phones on the other side, all on free 127.0.0.1 ports.

The kannel.conf is `config/kannel/kannel.conf` (the one docs/sms-gateways.md gives a city), with the ports,
paths, the hotline's URL and the secrets filled in, and the modem SMSC replaced by Kannel's fake SMSC.

- `mo(sender, to, text)`: a phone texts `to` (one line typed into fakesmsc: "sender receiver text ...").
- `sent_to(number)`: the texts the phones got, concatenated parts joined and UCS-2 decoded, as fakesmsc
  printed them ("Got message N: <from to text|udh ... data ...|ucs-2 ...>").
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_to_bytes

import httpx

from tests.fault_processes import free_port, wait_for

BEARERBOX, SMSBOX = shutil.which("bearerbox") or "/usr/sbin/bearerbox", shutil.which("smsbox") or "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
CONFIG = Path(__file__).resolve().parent.parent / "config" / "kannel" / "kannel.conf"
GOT = re.compile(r"Got message \d+: <(?P<line>.*)>\s*$")


def missing() -> str | None:
    """Why a real Kannel cannot run here, or None."""
    for path in (BEARERBOX, SMSBOX, FAKESMSC):
        if not os.access(path, os.X_OK):
            return f"{path} is not installed (apt-get install kannel kannel-extras; .ci/run does)"
    return None


@dataclass
class PhoneSms:
    sender: str
    to: str
    text: str
    coding: str  # text | ucs-2 | data
    parts: int


def _decode(kind: str, data: str) -> str:
    raw = unquote_to_bytes(data.replace("+", " ")) if kind != "text" else data.encode()
    if kind == "ucs-2":
        return raw.decode("utf-16-be")
    return raw.decode("latin-1") if kind != "text" else data


class KannelPeer:
    def __init__(self, workdir: Path, *, hotline_url: str, gateway: str, secret: str, password: str):
        self.dir = workdir
        self.admin_port, self.box_port, self.smsc_port, self.sendsms_port = (free_port() for _ in range(4))
        self.password, self.secret, self.gateway = password, secret, gateway
        self.hotline_url = hotline_url.rstrip("/")
        self.received: list[PhoneSms] = []
        self._parts: dict[tuple[str, str, int], dict[int, tuple[int, str]]] = {}
        self._procs: list[subprocess.Popen[bytes]] = []
        self._fake: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms"

    def config(self) -> str:
        text = CONFIG.read_text()
        # The modem SMSC of the shipped file becomes Kannel's fake SMSC, which fakesmsc connects to.
        text = re.sub(
            r"(?ms)^# >>> SMSC.*?^# <<< SMSC\n",
            f"group = smsc\nsmsc = fake\nsmsc-id = modem1\nport = {self.smsc_port}\nconnect-allow-ip = 127.0.0.1\n",
            text,
        )
        values = {
            "ADMIN_PORT": str(self.admin_port),
            "SMSBOX_PORT": str(self.box_port),
            "SENDSMS_PORT": str(self.sendsms_port),
            "ADMIN_PASSWORD": "kannel-admin-test",
            "LOG_DIR": str(self.dir),
            "SPOOL_DIR": str(self.dir / "spool"),
            "SENDSMS_PASSWORD": self.password,
            "HOTLINE_URL": self.hotline_url,
            "HOTLINE_GATEWAY": self.gateway,
            "HOTLINE_SECRET": self.secret,
        }
        for key, value in values.items():
            text = text.replace(f"<{key}>", value)
        assert "<" not in re.sub(r"#.*", "", text), "a <PLACEHOLDER> of config/kannel/kannel.conf was not filled in"
        return text

    def start(self) -> KannelPeer:
        (self.dir / "spool").mkdir(parents=True, exist_ok=True)
        conf = self.dir / "kannel.conf"
        conf.write_text(self.config())
        self._procs.append(self._spawn([BEARERBOX, str(conf)], "bearerbox.out"))
        wait_for(lambda: _listening(self.box_port), 15, "bearerbox did not listen for smsbox")
        self._procs.append(self._spawn([SMSBOX, str(conf)], "smsbox.out"))
        wait_for(lambda: _listening(self.sendsms_port), 15, "smsbox did not listen for sendsms")
        self._fake = subprocess.Popen(
            [FAKESMSC, "-H", "127.0.0.1", "-r", str(self.smsc_port), "-i", "0.01"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self._procs.append(self._fake)
        threading.Thread(target=self._read_phones, daemon=True).start()
        wait_for(self._smsc_online, 20, "Kannel's fake SMSC did not come online")
        return self

    def _spawn(self, command: list[str], log: str) -> subprocess.Popen[bytes]:
        with (self.dir / log).open("wb") as out:
            return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def _smsc_online(self) -> bool:
        try:
            status = httpx.get(
                f"http://127.0.0.1:{self.admin_port}/status.txt", params={"password": "kannel-admin-test"}, timeout=2
            ).text
        except httpx.HTTPError:
            return False
        return bool(re.search(r"modem1\s+\(?fake\)?.*online", status)) or ("online" in status and "modem1" in status)

    def _read_phones(self) -> None:
        assert self._fake is not None and self._fake.stderr is not None
        with (self.dir / "fakesmsc.out").open("wb") as log:
            for raw in self._fake.stderr:
                log.write(raw)
                log.flush()
                match = GOT.search(raw.decode("latin-1"))
                if match:
                    self._phone_got(match["line"])

    def _phone_got(self, line: str) -> None:
        sender, to, kind, rest = line.split(" ", 3)
        if kind == "udh":  # one part of a concatenated SMS: UDH 05 00 03 <ref> <count> <number>
            udh, _, data = rest.partition(" data ")
            header = unquote_to_bytes(udh)
            ref, count, number = header[3], header[4], header[5]
            key = (sender, to, ref)
            with self._lock:
                parts = self._parts.setdefault(key, {})
                parts[number] = (count, data)
                if len(parts) == count:
                    del self._parts[key]
                    raw = b"".join(unquote_to_bytes(parts[i][1].replace("+", " ")) for i in range(1, count + 1))
                    # Kannel sends a GSM-7 part as 8-bit data here; a UCS-2 one as UTF-16BE bytes.
                    text = raw.decode("utf-16-be") if _looks_utf16(raw) else raw.decode("latin-1")
                    self.received.append(PhoneSms(sender, to, text, "concatenated", count))
            return
        with self._lock:
            self.received.append(PhoneSms(sender, to, _decode(kind, rest), kind, 1))

    def mo(self, sender: str, to: str, text: str) -> None:
        """A phone sends an SMS to `to` through the SMSC (fakesmsc's interactive line)."""
        assert self._fake is not None and self._fake.stdin is not None
        assert "\n" not in text
        self._fake.stdin.write(f"{sender} {to} text {text}\n".encode("latin-1"))
        self._fake.stdin.flush()

    def sent_to(self, number: str) -> list[PhoneSms]:
        with self._lock:
            return [m for m in self.received if m.to == number]

    def stop(self) -> None:
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self._procs):
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def log_tail(self) -> str:
        out = []
        for name in ("bearerbox.out", "smsbox.out", "fakesmsc.out"):
            path = self.dir / name
            if path.exists():
                out.append(f"--- {name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-15:]))
        return "\n".join(out)


def _looks_utf16(raw: bytes) -> bool:
    return len(raw) % 2 == 0 and raw[::2].count(0) > len(raw) // 4


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_until(condition: object, seconds: float, what: str) -> None:
    assert callable(condition)
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(what)
        time.sleep(0.05)
