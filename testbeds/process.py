"""One way to run a local server for the tests and the demo: spawn, wait ready, fail, stop.

Tests need more than start and stop from their servers: they kill one (clients see the
connection drop, PyAV an end of stream), freeze one (sockets stay open, clients time out
reading) and bring it back on the same port. `LocalServer` does that once for every server:

- the child runs in its own process group (`start_new_session`), so signals reach its
  helpers too and a Ctrl-C in the terminal does not;
- stdout and stderr go to a log (a file the server names, else an anonymous temporary file)
  and every failure message carries the tail of what it wrote since this start;
- stdin is a pipe only we hold: a server that watches it dies with the test process;
- `start` waits for the subclass's `ready()` condition, never a fixed time, and fails at
  once when the child exits first.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import IO, ClassVar, Self

from .errors import ServerError

HOST = "127.0.0.1"
POLL_S = 0.02
TAIL_BYTES = 64 * 1024


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports on 127.0.0.1 that were free a moment ago (the OS picks)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in socks:
            s.bind((HOST, 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def find_free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    return free_ports(1)[0]


def port_accepts(port: int, host: str = HOST) -> bool:
    """True when something accepts TCP connections on host:port now."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def http_get(port: int, path: str) -> bytes | None:
    """The body of a 200 answer to GET http://127.0.0.1:port/path; None for anything else."""
    conn = http.client.HTTPConnection(HOST, port, timeout=1.0)
    try:
        conn.request("GET", path)
        answer = conn.getresponse()
        body = answer.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()
    return body if answer.status == 200 else None


class LocalServer(ABC):
    """A server process a test or the demo owns; subclasses say how to run it and when it is up.

    Subclasses set `name` and implement `command()` and `ready()`; `prepare()` and
    `environment()` are optional hooks run before each spawn. The instance keeps whatever
    `prepare()` chose (ports, certificates), so `restart()` comes back on the same port.
    """

    name: ClassVar[str]

    def __init__(
        self, *, log_path: Path | None, ready_timeout: float, stop_timeout: float = 5.0
    ) -> None:
        self.log_path = log_path
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._log_start = 0

    @abstractmethod
    def command(self) -> list[str]:
        """The argument vector to spawn."""

    @abstractmethod
    def ready(self) -> bool:
        """True once the server serves; polled after the spawn until `ready_timeout`."""

    def prepare(self) -> None:
        """Write configuration and choose ports before each spawn (default: nothing)."""
        return None

    def environment(self) -> Mapping[str, str] | None:
        """The child's environment; None inherits ours."""
        return None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The server's pid (also its process group id) while it runs."""
        return self._proc.pid if self._proc is not None and self.running else None

    def start(self) -> Self:
        """Spawn the server and wait until `ready()`; raise ServerError with its output if not."""
        if self.running:
            raise ServerError(f"{self.name} already running; stop() it first")
        self._end(signal.SIGKILL)  # reap a server that died on its own, close its stdin
        self.prepare()
        command, env = self.command(), self.environment()
        self._open_log()
        try:
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        except OSError as e:
            raise ServerError(f"cannot run {self.name} ({command[0]}): {e}") from e
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise
        return self

    def _open_log(self) -> None:
        self._close_log()
        if self.log_path is None:
            self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives until the next start
        else:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("a+b")
        self._log_start = os.fstat(self._log.fileno()).st_size

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise ServerError(
                    f"{self.name} exited with {self._proc.returncode}:\n{self.log_tail()}"
                )
            if self.ready():
                return
            time.sleep(POLL_S)
        raise ServerError(f"{self.name} not ready after {self.ready_timeout} s:\n{self.log_tail()}")

    def output(self) -> str:
        """What the server wrote to stdout and stderr since it was last started (up to 64 KiB)."""
        if self._log is None:
            return ""
        # pread, not seek + read: the child shares this file offset and writes at it.
        fd = self._log.fileno()
        end = os.fstat(fd).st_size
        start = max(self._log_start, end - TAIL_BYTES)
        return os.pread(fd, end - start, start).decode(errors="replace")

    def printed(self, pattern: str) -> bool:
        """True when a line of `output()` matches the regular expression `pattern`."""
        return re.search(pattern, self.output(), re.MULTILINE) is not None

    def log_tail(self, lines: int = 30) -> str:
        """The last `lines` lines of `output()`, or "(no output)", for failure messages."""
        tail = "\n".join(self.output().strip().splitlines()[-lines:])
        where = f" (log {self.log_path})" if self.log_path is not None else ""
        return (tail or "(no output)") + where

    def _signal(self, signum: int) -> None:
        if self._proc is None or not self.running:
            raise ServerError(f"{self.name} is not running")
        os.killpg(self._proc.pid, signum)

    def stall(self) -> None:
        """Freeze the whole group (SIGSTOP): connections stay open, nothing is answered."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Undo stall() (SIGCONT)."""
        self._signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL the whole group: a crash as clients see it. The log stays readable."""
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM the whole group (even a stalled one), SIGKILL after `stop_timeout`."""
        self._end(signal.SIGTERM)
        self._close_log()

    def restart(self) -> Self:
        """Stop and start again with what `prepare()` chose: same ports, same data."""
        self.stop()
        return self.start()

    def _end(self, signum: int) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signum)
                if signum != signal.SIGKILL:
                    os.killpg(proc.pid, signal.SIGCONT)  # a stopped process must see SIGTERM
                proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            except ProcessLookupError:
                proc.wait()
        if proc.stdin is not None:
            proc.stdin.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
