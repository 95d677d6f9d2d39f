"""Run a throw-away PostgreSQL from Debian's packages for the archive's fleet tests.

`initdb` makes a fresh cluster in a temporary folder of its own; `postgres` serves it on a
free port of 127.0.0.1 with its unix socket in that folder, so it touches nothing of a system
PostgreSQL. The superuser is `evgw` with a random password that lives only in this object:
TCP logins need it (scram-sha-256), and `url()` hands it to SQLAlchemy without printing it.

PostgreSQL refuses to run as root, and CI runs as root: then every PostgreSQL program runs
as the unprivileged `nobody` (through `setpriv`), and the folder is created in a place that
user can reach (the system temporary folder, not pytest's root-only one) and handed to it.
Durability is traded for speed (`fsync=off`): the data is thrown away after the test.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import URL

from .errors import ServerError
from .process import HOST, LocalServer, find_free_port, port_accepts

SUPERUSER = "evgw"
UNPRIVILEGED_USER = "nobody"
PG_ROOT = Path("/usr/lib/postgresql")
READY_LINE = "database system is ready to accept connections"
DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def find_pg_bindir(root: Path = PG_ROOT) -> Path:
    """The newest `/usr/lib/postgresql/<version>/bin` that holds `initdb` and `postgres`."""
    found = sorted(
        (int(d.name), d / "bin")
        for d in (root.iterdir() if root.is_dir() else [])
        if d.name.isdigit()
        and (d / "bin" / "initdb").is_file()
        and (d / "bin" / "postgres").is_file()
    )
    if not found:
        raise ServerError(
            f"no PostgreSQL server under {root}/<version>/bin: "
            "run `sudo apt-get install -y postgresql` (or `./dev test`, which installs it)"
        )
    return found[-1][1]


def run_as_prefix() -> list[str]:
    """What to put before a PostgreSQL command so it does not run as root (nothing if not root)."""
    if os.geteuid() != 0:
        return []
    user = _unprivileged()
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--"]


class PostgresServer(LocalServer):
    """One PostgreSQL cluster in a temporary folder under `parent`, serving 127.0.0.1:`port`.

    `start()` runs `initdb` once, then the server; `stop()` is `pg_ctl stop -m fast` (open
    connections are cut); `remove()` deletes the folder after the last stop.
    """

    name = "PostgreSQL"

    def __init__(
        self, parent: Path | None = None, *, ready_timeout: float = 60.0, bindir: Path | None = None
    ) -> None:
        super().__init__(log_path=None, ready_timeout=ready_timeout, stop_timeout=30.0)
        self.parent = parent
        self.root: Path | None = None
        self.port = 0
        self._bindir = bindir
        self._password = secrets.token_urlsafe(24)

    def __repr__(self) -> str:
        return f"PostgresServer(root={str(self.root)!r}, port={self.port})"

    @property
    def bindir(self) -> Path:
        if self._bindir is None:
            self._bindir = find_pg_bindir()
        return self._bindir

    def _folder(self, name: str) -> Path:
        if self.root is None:
            raise ServerError("the PostgreSQL folder is made by start(); call it first")
        return self.root / name

    def prepare(self) -> None:
        if self.root is None:
            self.root = self._make_root()
        if not self.port:
            self.port = find_free_port()
        if not (self._folder("data") / "PG_VERSION").is_file():
            self._initdb()

    def _make_root(self) -> Path:
        parent = self.parent or Path(tempfile.gettempdir())
        root = Path(tempfile.mkdtemp(prefix="evgw-pg-", dir=parent))
        if os.geteuid() == 0:
            _check_reachable(root.parent)
            user = _unprivileged()
            os.chown(root, user.pw_uid, user.pw_gid)
        self.log_path = root / "postgres.log"
        return root

    def _initdb(self) -> None:
        pwfile = self._folder("initdb.pw")
        pwfile.write_text(self._password)
        shutil.chown(pwfile, *_owner(self._folder(".")))
        pwfile.chmod(0o600)
        command = [
            *run_as_prefix(),
            str(self.bindir / "initdb"),
            f"--pgdata={self._folder('data')}",
            f"--username={SUPERUSER}",
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        finally:
            pwfile.unlink()
        if done.returncode != 0:
            raise ServerError(f"initdb failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        self._folder("sock").mkdir()
        shutil.chown(self._folder("sock"), *_owner(self._folder(".")))

    def command(self) -> list[str]:
        return [
            *run_as_prefix(),
            str(self.bindir / "postgres"),
            "-D",
            str(self._folder("data")),
            "-p",
            str(self.port),
            "-c",
            f"listen_addresses={HOST}",
            "-c",
            f"unix_socket_directories={self._folder('sock')}",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ]

    def ready(self) -> bool:
        return self.printed(READY_LINE) and port_accepts(self.port)

    def stop(self) -> None:
        """`pg_ctl stop -m fast`: roll back open transactions, cut connections, shut down."""
        if self.running:
            with contextlib.suppress(subprocess.TimeoutExpired):  # then SIGTERM, SIGKILL below
                subprocess.run(
                    [
                        *run_as_prefix(),
                        str(self.bindir / "pg_ctl"),
                        "stop",
                        "--pgdata",
                        str(self._folder("data")),
                        "--mode=fast",
                        "--wait",
                        f"--timeout={int(self.stop_timeout)}",
                    ],
                    capture_output=True,
                    timeout=self.stop_timeout + 5,
                )
        super().stop()

    def remove(self) -> None:
        """Delete the cluster's folder; the server must be stopped."""
        if self.running:
            raise ServerError("PostgreSQL still running; stop() it before remove()")
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def url(self, database: str = "postgres") -> URL:
        """A SQLAlchemy URL (psycopg 3 driver) for `database` as the superuser, over TCP."""
        return URL.create(
            "postgresql+psycopg",
            username=SUPERUSER,
            password=self._password,
            host=HOST,
            port=self.port,
            database=database,
        )

    def create_database(self, name: str) -> URL:
        """Create database `name` (lower-case letters, digits, `_`) and return its URL."""
        if DATABASE_NAME.fullmatch(name) is None:
            raise ServerError(f"database name {name!r}: use lower-case letters, digits and _")
        self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database `name`, cutting any connection still open to it."""
        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def _admin(self, statement: sql.Composed) -> None:
        with psycopg.connect(
            host=HOST,
            port=self.port,
            user=SUPERUSER,
            password=self._password,
            dbname="postgres",
            autocommit=True,
            connect_timeout=30,
        ) as conn:
            conn.execute(statement)


def _unprivileged() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError as e:
        raise ServerError(
            f"we are root and PostgreSQL refuses root, but there is no user {UNPRIVILEGED_USER!r} "
            "to run it as: create one (`useradd --system nobody`) or run the tests as a user"
        ) from e


def _owner(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_uid, st.st_gid


def _check_reachable(folder: Path) -> None:
    """Root runs PostgreSQL as `nobody`, which must be able to walk down to `folder`."""
    for part in [folder, *folder.parents]:
        if not part.stat().st_mode & stat.S_IXOTH:
            raise ServerError(
                f"{part} is closed to other users, so PostgreSQL (run as {UNPRIVILEGED_USER} "
                "because we are root) cannot reach its folder: choose a parent such as /tmp"
            )
