"""LocalServer with trivial children: readiness, failures, group stop, stall, restart."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from testbeds.errors import ServerError
from testbeds.process import HOST, LocalServer, find_free_port, free_ports, port_accepts


class HttpServer(LocalServer):
    """`python -m http.server`: ready when its port accepts."""

    name = "http.server"

    def __init__(self, directory: Path, port: int) -> None:
        super().__init__(log_path=None, ready_timeout=10.0)
        self.directory = directory
        self.port = port

    def command(self) -> list[str]:
        directory, port = str(self.directory), str(self.port)
        return [sys.executable, "-m", "http.server", "-b", HOST, "-d", directory, port]

    def ready(self) -> bool:
        return port_accepts(self.port)


class ShellServer(LocalServer):
    """A shell script: ready when it prints a line starting with READY."""

    name = "shell script"

    def __init__(
        self,
        script: str,
        *,
        log_path: Path | None = None,
        timeout: float = 10.0,
        shell: str = "/bin/sh",
    ) -> None:
        super().__init__(log_path=log_path, ready_timeout=timeout)
        self.script = script
        self.shell = shell

    def command(self) -> list[str]:
        return [self.shell, "-c", self.script]

    def ready(self) -> bool:
        return self.printed("^READY")


ShellFactory = Callable[..., ShellServer]


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    """True once the process has exited (a zombie nobody reaped yet counts), False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return True
        time.sleep(0.02)
    return False


def get(port: int, timeout: float = 5.0) -> int:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", "/")
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[HttpServer]:
    server = HttpServer(tmp_path, find_free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def shell() -> Iterator[ShellFactory]:
    """``shell(script, **kwargs)``: a ShellServer, not started; each is stopped at teardown."""
    made: list[ShellServer] = []

    def make(script: str, **kwargs: Any) -> ShellServer:
        made.append(ShellServer(script, **kwargs))
        return made[-1]

    yield make
    for server in made:
        server.stop()


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = free_ports(5)
    assert len(set(ports)) == 5
    with socket.socket() as s:
        s.bind((HOST, find_free_port()))


def test_start_waits_until_ready_in_a_group_of_its_own(http_server: HttpServer) -> None:
    assert http_server.running and get(http_server.port) == 200
    pid = http_server.pid
    assert pid is not None and os.getpgid(pid) == pid and os.getsid(pid) == pid
    http_server.stop()
    assert not http_server.running and http_server.pid is None
    assert not port_accepts(http_server.port)


def test_start_twice_and_signals_when_stopped_are_refused(http_server: HttpServer) -> None:
    with pytest.raises(ServerError, match="already running"):
        http_server.start()
    http_server.stop()
    with pytest.raises(ServerError, match="not running"):
        http_server.stall()


def test_stall_freezes_and_resume_thaws(http_server: HttpServer) -> None:
    http_server.stall()
    with pytest.raises(TimeoutError):
        get(http_server.port, timeout=0.5)
    http_server.resume()
    assert get(http_server.port) == 200


def test_stop_reaches_a_stalled_server_at_once(http_server: HttpServer) -> None:
    http_server.stall()
    started = time.monotonic()
    http_server.stop()
    assert time.monotonic() - started < http_server.stop_timeout
    assert not port_accepts(http_server.port)


def test_restart_comes_back_on_the_same_port(http_server: HttpServer) -> None:
    port, pid = http_server.port, http_server.pid
    http_server.kill()
    assert not port_accepts(port)
    http_server.restart()
    assert http_server.port == port and http_server.pid != pid
    assert get(port) == 200


@pytest.mark.parametrize("end", [LocalServer.stop, LocalServer.kill])
def test_stop_and_kill_end_the_whole_group(
    shell: ShellFactory, end: Callable[[LocalServer], None]
) -> None:
    server = shell('sleep 300 & echo "READY $!"; wait').start()
    helper = int(server.output().split()[1])
    assert Path(f"/proc/{helper}").exists()
    end(server)
    assert wait_gone(helper)


def test_kill_keeps_the_output_and_stop_closes_it(shell: ShellFactory) -> None:
    server = shell("echo serving; echo READY; exec sleep 300").start()
    server.kill()
    assert "serving" in server.output()
    server.stop()
    assert server.output() == ""


def test_exit_before_ready_reports_the_code_and_output(shell: ShellFactory) -> None:
    server = shell("echo 'bad flag' >&2; exit 3")
    with pytest.raises(ServerError, match=r"(?s)shell script exited with 3:\nbad flag"):
        server.start()
    assert not server.running


def test_not_ready_in_time_is_killed_and_reported(shell: ShellFactory) -> None:
    server = shell("echo starting $$; exec sleep 300", timeout=0.5)
    with pytest.raises(ServerError, match=r"(?s)not ready after 0.5 s:\nstarting") as failed:
        server.start()
    assert not server.running
    assert wait_gone(int(str(failed.value).split("starting ")[1].split()[0]))


def test_missing_program_is_reported(shell: ShellFactory) -> None:
    with pytest.raises(ServerError, match=r"cannot run shell script \(/nonexistent/sh\)"):
        shell("echo READY", shell="/nonexistent/sh").start()


def test_a_log_file_keeps_every_run_and_output_shows_this_one(
    shell: ShellFactory, tmp_path: Path
) -> None:
    log = tmp_path / "logs" / "server.log"
    server = shell("echo READY $$; exec sleep 300", log_path=log)
    first = server.start().pid
    server.restart()
    assert server.output().split() == ["READY", str(server.pid)]
    assert log.read_text().split() == ["READY", str(first), "READY", str(server.pid)]
    assert server.log_tail().endswith(f"(log {log})")


def test_context_manager_stops(tmp_path: Path) -> None:
    with HttpServer(tmp_path, find_free_port()) as server:
        assert server.running
    assert not server.running


def test_start_again_after_it_died_on_its_own(shell: ShellFactory) -> None:
    server = shell("echo READY; exec sleep 300").start()
    crashed = server.pid
    assert crashed is not None
    os.kill(crashed, signal.SIGKILL)
    assert wait_gone(crashed)  # our unreaped child: a zombie
    assert server.start().pid not in (None, crashed)
