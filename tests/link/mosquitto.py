"""Start a private Mosquitto with the project's configuration (deploy/mosquitto/) on a free port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "deploy" / "mosquitto" / "mosquitto.conf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Mosquitto:
    """A mosquitto process over `workdir` (passwd, acl, persistence); restartable."""

    def __init__(self, workdir: Path, tls: tuple[Path, Path] | None = None) -> None:
        if shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists():
            raise RuntimeError("mosquitto is not installed")
        self.dir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        text = CONFIG.read_text(encoding="utf-8")
        text = text.replace("@PORT@", str(self.port)).replace("@DIR@", str(workdir))
        self.tls_port: int | None = None
        if tls is not None:
            # the shipped config's commented TLS listener, on a free port
            self.tls_port = free_port()
            certfile, keyfile = tls
            text += (
                f"\nlistener {self.tls_port} 127.0.0.1\ncertfile {certfile}\nkeyfile {keyfile}\n"
            )
        if os.geteuid() == 0:
            # as root Mosquitto would switch to the "mosquitto" user, who cannot read a
            # pytest tmp dir; in production the files belong to that user instead
            text += "\nuser root\n"
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(text, encoding="utf-8")
        self.log = workdir / "mosquitto.log"

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> Mosquitto:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([exe, "-c", str(self.conf)], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("mosquitto exited: " + self.log.read_text(errors="replace"))
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not listen within 10 s")

    def reload(self) -> None:
        """SIGHUP: re-read the password and ACL files."""
        assert self.proc is not None
        self.proc.send_signal(1)
        time.sleep(0.3)

    def stop(self, kill: bool = False) -> None:
        if self.proc is None:
            return
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()
        self.proc.wait(10)
        self.proc = None
