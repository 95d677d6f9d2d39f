"""PostgresServer: a throw-away PostgreSQL on loopback that SQLAlchemy Core can use."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import URL

from testbeds.errors import ServerError
from testbeds.postgres import PostgresServer, find_pg_bindir
from testbeds.process import port_accepts

pytestmark = pytest.mark.integration


def evidence_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "segments",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
    )


def test_sqlalchemy_core_creates_inserts_and_reads_back(postgres_url: URL) -> None:
    assert postgres_url.drivername == "postgresql+psycopg" and postgres_url.host == "127.0.0.1"
    engine = sa.create_engine(postgres_url)
    metadata = sa.MetaData()
    table = evidence_table(metadata)
    metadata.create_all(engine)
    rows = [{"site": "测试检查站", "sha256": "a" * 64}, {"site": "gate 2", "sha256": "b" * 64}]
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)
    with engine.connect() as conn:
        got = conn.execute(sa.select(table.c.site, table.c.sha256).order_by(table.c.id)).all()
    engine.dispose()
    assert [dict(r._mapping) for r in got] == rows


def test_each_test_database_starts_empty_and_apart(
    postgres: PostgresServer, postgres_database: URL
) -> None:
    other = postgres.create_database("evgw_apart")
    try:
        metadata = sa.MetaData()
        evidence_table(metadata)
        first = sa.create_engine(postgres_database)
        metadata.create_all(first)
        second = sa.create_engine(other)
        assert sa.inspect(first).get_table_names() == ["segments"]
        assert sa.inspect(second).get_table_names() == []
        first.dispose()
        second.dispose()
    finally:
        postgres.drop_database("evgw_apart")


def test_password_is_required_and_never_shown(postgres: PostgresServer) -> None:
    url = postgres.url()
    secret = url.password
    assert isinstance(secret, str) and len(secret) >= 24
    assert secret not in str(url) and secret not in repr(postgres)
    assert secret not in " ".join(postgres.command())
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(
            host="127.0.0.1", port=postgres.port, user="evgw", password="guess", dbname="postgres"
        )


def test_server_never_runs_as_root(postgres: PostgresServer) -> None:
    assert postgres.pid is not None
    status = Path(f"/proc/{postgres.pid}/status").read_text()
    uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
    assert uid != 0
    if os.geteuid() != 0:
        assert uid == os.geteuid()


def test_stop_cuts_connections_restart_keeps_data(
    _postgres_installed: None, tmp_path: Path
) -> None:
    server = PostgresServer().start()
    try:
        engine = sa.create_engine(server.create_database("kept"))
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (v text)"))
            conn.execute(sa.text("INSERT INTO t VALUES ('before restart')"))
        idle = engine.connect()  # an open connection must not hold the stop up
        port = server.port
        server.stop()
        assert not server.running and not port_accepts(port)
        idle.invalidate()
        server.start()
        assert server.port == port
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT v FROM t")).scalar_one() == "before restart"
        engine.dispose()
    finally:
        server.stop()
        root = server.root
        server.remove()
    assert root is not None and not root.exists()


def test_database_names_are_checked(postgres: PostgresServer) -> None:
    with pytest.raises(ServerError, match="lower-case letters"):
        postgres.create_database('x"; DROP DATABASE evgw; --')


def test_missing_server_names_the_package(tmp_path: Path) -> None:
    (tmp_path / "15" / "bin").mkdir(parents=True)
    with pytest.raises(ServerError, match="apt-get install -y postgresql"):
        find_pg_bindir(tmp_path)


def test_newest_version_wins(tmp_path: Path) -> None:
    for version in ("9", "15", "16"):
        bindir = tmp_path / version / "bin"
        bindir.mkdir(parents=True)
        (bindir / "initdb").touch()
        (bindir / "postgres").touch()
    assert find_pg_bindir(tmp_path) == tmp_path / "16" / "bin"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the folder to another user")
def test_root_refuses_a_folder_the_server_user_cannot_reach(
    _postgres_installed: None, tmp_path: Path
) -> None:
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    with pytest.raises(ServerError, match="closed to other users"):
        PostgresServer(closed).start()
