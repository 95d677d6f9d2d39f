"""Run a local Debian `mosquitto` broker for the tests and for `evgw demo`.

The broker gets a generated config in `workdir` (loopback listener, persistence off, log to
stderr, which `LocalServer` keeps in `mosquitto.log`), an optional password file made by
`mosquitto_passwd -U` (so passwords never appear on a command line) and, with `tls=True`, a
throw-away CA and server certificate. Without persistence a restarted broker has lost its
retained messages, as a real broker replaced after a crash may have.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .errors import ServerError
from .pki import write_test_pki
from .process import HOST, LocalServer, find_free_port

MOSQUITTO = "mosquitto"
MOSQUITTO_PASSWD = "mosquitto_passwd"


def _executable(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found is None:
        raise ServerError(f"`{name}` not found: install it with `apt-get install mosquitto`")
    return found


class MosquittoServer(LocalServer):
    """One mosquitto process listening on 127.0.0.1:`port` (TLS when `tls`).

    `users` maps user name to password; without it the broker allows anonymous clients.
    Nothing is written until start(); port and certificates stay the same across restart().
    """

    name = "mosquitto"

    def __init__(
        self,
        workdir: Path | str,
        port: int | None = None,
        tls: bool = False,
        users: dict[str, str] | None = None,
        *,
        ready_timeout: float = 10.0,
    ) -> None:
        self.workdir = Path(workdir)
        super().__init__(log_path=self.workdir / "mosquitto.log", ready_timeout=ready_timeout)
        self.port = port or find_free_port()
        self.host = HOST
        self.tls = tls
        self.users = dict(users) if users else None
        self.config_file = self.workdir / "mosquitto.conf"
        self._pki: tuple[Path, Path, Path] | None = None

    def __repr__(self) -> str:
        return f"MosquittoServer({HOST}:{self.port}, tls={self.tls}, running={self.running})"

    @property
    def ca_file(self) -> Path | None:
        """The CA that signed the broker's certificate (clients trust it); None without TLS."""
        return self._pki[0] if self._pki is not None else None

    def command(self) -> list[str]:
        return [_executable(MOSQUITTO), "-c", str(self.config_file)]

    def ready(self) -> bool:
        """It says it runs, which it does only once every listener is open.

        A port that accepts is not enough: another process may hold it, and then mosquitto
        is about to exit with "Address already in use".
        """
        return self.printed(r"mosquitto version \S+ running$")

    def prepare(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        lines = [
            "persistence false",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # else it drops to `mosquitto`, which cannot read workdir
        lines += [f"listener {self.port} {HOST}", f"allow_anonymous {str(not self.users).lower()}"]
        if self.users:
            lines.append(f"password_file {self._write_passwords(self.users)}")
        if self.tls:
            if self._pki is None:
                self._pki = write_test_pki(self.workdir / "pki")
            ca, cert, key = self._pki
            lines += [f"cafile {ca}", f"certfile {cert}", f"keyfile {key}"]
        self.config_file.write_text("\n".join(lines) + "\n")

    def _write_passwords(self, users: dict[str, str]) -> Path:
        path = self.workdir / "passwd"
        for user in users:
            if not user or ":" in user or "\n" in user:
                raise ServerError(f"invalid MQTT user name {user!r}: no ':' or newline")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.writelines(f"{user}:{password}\n" for user, password in users.items())
        done = subprocess.run(
            [_executable(MOSQUITTO_PASSWD), "-U", str(path)], capture_output=True, timeout=30
        )
        if done.returncode != 0:
            path.unlink(missing_ok=True)
            raise ServerError(
                f"mosquitto_passwd -U failed ({done.returncode}): "
                f"{done.stderr.decode(errors='replace').strip()}"
            )
        return path
