"""Run a local Debian `mosquitto` broker for the tests and for `evgw demo`.

The broker gets a generated config in `workdir` (loopback listener, persistence off, log to a
file), an optional password file made by `mosquitto_passwd -U` (so passwords never appear on
a command line) and, with `tls=True`, a throw-away CA and server certificate. It runs in its
own process group so tests can SIGKILL it and start it again on the same port.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"
MOSQUITTO = "mosquitto"
MOSQUITTO_PASSWD = "mosquitto_passwd"
_INSTALL_HINT = "install it with `apt-get install mosquitto`"


class MosquittoError(RuntimeError):
    """The broker could not be set up or started; the message says why and what to do."""


def find_free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _executable(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found is None:
        raise MosquittoError(f"`{name}` not found: {_INSTALL_HINT}")
    return found


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_test_pki(directory: Path) -> tuple[Path, Path, Path]:
    """Write a one-day CA and a server cert for 127.0.0.1/localhost; (ca, cert, key) paths."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "evgw test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_file, cert_file, key_file = (directory / n for n in ("ca.pem", "server.pem", "server.key"))
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(_pem_key(key))
    key_file.chmod(0o600)
    return ca_file, cert_file, key_file


class MosquittoServer:
    """One mosquitto process listening on 127.0.0.1:`port` (TLS when `tls`).

    `users` maps user name to password; without it the broker allows anonymous clients.
    Nothing is written until start(); the port stays the same across restart().
    """

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
        self.port = port or find_free_port()
        self.host = HOST
        self.tls = tls
        self.users = dict(users) if users else None
        self.ready_timeout = ready_timeout
        self.config_file = self.workdir / "mosquitto.conf"
        self.log_file = self.workdir / "mosquitto.log"
        self.ca_file: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    def __repr__(self) -> str:
        return f"MosquittoServer({HOST}:{self.port}, tls={self.tls}, running={self.running})"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running and self._proc is not None else None

    def _write_config(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        lines = [
            "persistence false",
            f"log_dest file {self.log_file}",
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
            lines.append(f"password_file {self._write_passwords()}")
        if self.tls:
            if self.ca_file is None:
                self.ca_file, cert, key = write_test_pki(self.workdir / "pki")
            else:
                cert, key = (
                    self.ca_file.with_name("server.pem"),
                    self.ca_file.with_name("server.key"),
                )
            lines += [f"cafile {self.ca_file}", f"certfile {cert}", f"keyfile {key}"]
        self.config_file.write_text("\n".join(lines) + "\n")

    def _write_passwords(self) -> Path:
        assert self.users is not None
        path = self.workdir / "passwd"
        for user in self.users:
            if not user or ":" in user or "\n" in user:
                raise MosquittoError(f"invalid MQTT user name {user!r}: no ':' or newline")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.writelines(f"{user}:{password}\n" for user, password in self.users.items())
        done = subprocess.run(
            [_executable(MOSQUITTO_PASSWD), "-U", str(path)], capture_output=True, timeout=30
        )
        if done.returncode != 0:
            path.unlink(missing_ok=True)
            raise MosquittoError(
                f"mosquitto_passwd -U failed ({done.returncode}): "
                f"{done.stderr.decode(errors='replace').strip()}"
            )
        return path

    def start(self) -> MosquittoServer:
        """Write the config, spawn the broker and wait until its port accepts connections."""
        if self.running:
            raise MosquittoError("mosquitto already running; stop() it first")
        binary = _executable(MOSQUITTO)
        self._write_config()
        if self._stderr is not None:
            self._stderr.close()
        self._stderr = (self.workdir / "mosquitto.stderr").open("w+b")
        self._proc = subprocess.Popen(
            [binary, "-c", str(self.config_file)],
            stdin=subprocess.DEVNULL,
            stdout=self._stderr,
            stderr=self._stderr,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise MosquittoError(
                    f"mosquitto exited with {self._proc.returncode}: {self.diagnostics()}"
                )
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise MosquittoError(
            f"mosquitto not listening on {HOST}:{self.port} after {self.ready_timeout} s: "
            f"{self.diagnostics()}"
        )

    def diagnostics(self) -> str:
        """The broker's stderr and the tail of its log (for failure messages)."""
        parts = []
        if self._stderr is not None and not self._stderr.closed:
            self._stderr.seek(0)
            parts.append(self._stderr.read().decode(errors="replace").strip())
        if self.log_file.exists():
            parts.append("\n".join(self.log_file.read_text(errors="replace").splitlines()[-20:]))
        return " | ".join(p for p in parts if p) or "(no output)"

    def stop(self, timeout: float = 5.0) -> None:
        """Stop gracefully (SIGTERM), SIGKILL if it does not exit within `timeout`."""
        self._end(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """SIGKILL the broker: clients see the connection drop without a DISCONNECT."""
        self._end(signal.SIGKILL)

    def stall(self) -> None:
        """Freeze the broker (SIGSTOP): connections stay open but nothing is acknowledged."""
        if self._proc is None or not self.running:
            raise MosquittoError("mosquitto is not running")
        os.killpg(self._proc.pid, signal.SIGSTOP)

    def restart(self) -> MosquittoServer:
        """Stop and start again on the same port (retained messages are lost: no persistence)."""
        self.stop()
        return self.start()

    def _end(self, signum: int, timeout: float = 5.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signum)
                if signum != signal.SIGKILL:
                    os.killpg(proc.pid, signal.SIGCONT)  # a stalled broker must see SIGTERM
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            except ProcessLookupError:
                proc.wait()

    def __enter__(self) -> MosquittoServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
