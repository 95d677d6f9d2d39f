"""Camera processes forked from one warm process: cheap to start, sharing what they import.

A camera process needs PyAV, NumPy, cryptography and the recording modules. Spawned, each
imported them again (about a second of CPU) into memory of its own. The fork server (a fresh
interpreter the daemon starts, `evgw-forkserver` in `ps`) imports them once, freezes them out
of the garbage collector (a collection writes to every object it visits, and each write
copies a shared page into the child), and forks one child per request; the children share
those pages.

A forked child inherits what a spawned one did: no thread (the server runs none: NumPy's
BLAS is held to the calling thread), no lock held, no decoder state, no secret. The server
never sees a job: the daemon sends each child its `CameraJob` over that child's own pipe,
after the fork. The server listens only on an unnamed socket pair with the daemon, so no
other process, a confined camera process included, can ask it for an unconfined one (the
stdlib's forkserver listens on a named socket that any process of the user can reach). It
cannot be traced (not dumpable), ends when the daemon does (end of file on the pair), and
its children with it (`PR_SET_PDEATHSIG`, in `camera_child`).

    daemon -> server   "fork", request number + file descriptors: the child's pipe end and
                       the write end of its status pipe
    server -> daemon   request number, the child's pid (or -errno)
    server -> status   the child's exit code (negative: killed by that signal), when reaped
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gc
import importlib
import itertools
import logging
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import traceback
import weakref
from multiprocessing.connection import Connection, Pipe
from pathlib import Path
from typing import TYPE_CHECKING

from .confine import no_dumps

if TYPE_CHECKING:
    from .child_protocol import CameraJob

log = logging.getLogger(__name__)

PRELOAD = ("gateway.daemon.camera_child", "cameras.freeze", "cameras.picture")
"""What every camera process imports; an ONVIF camera's SOAP stack and the burn-in overlay
are left to the children that use them."""
SERVER_NAME = b"evgw-forkserver"  # 15 bytes: the kernel's limit for a process name
SERVER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}  # no BLAS threads to fork
FORK = b"fork"
REQUEST = struct.Struct("4sQ")  # FORK, request number
REPLY = struct.Struct("Qi")  # request number, pid or -errno
INT = struct.Struct("i")
REPLY_TIMEOUT_S = 60.0  # the first fork waits for the preload: seconds on a loaded box
STOP_TIMEOUT_S = 5.0
PR_SET_NAME = 15


class ForkedChild:
    """A camera process as the daemon sees it: its pid, and its exit code once reported."""

    def __init__(self, pid: int, status: int) -> None:
        self.pid = pid
        self._status = status  # read end: the server writes the exit code, then closes it
        self._code: int | None = None
        self._lock = threading.Lock()
        weakref.finalize(self, os.close, status)

    @property
    def exitcode(self) -> int | None:
        self.join(0)
        return self._code

    def is_alive(self) -> bool:
        return self.exitcode is None

    def join(self, timeout: float | None = None) -> None:
        """Wait up to `timeout` seconds (None: for ever) for the child to end."""
        if self._code is None and select.select([self._status], [], [], timeout)[0]:
            with self._lock:
                if self._code is None:
                    data = os.read(self._status, INT.size)  # atomic: at most PIPE_BUF bytes
                    # No code: the server died, and its children with it (PR_SET_PDEATHSIG).
                    self._code = INT.unpack(data)[0] if len(data) == INT.size else -signal.SIGKILL

    def kill(self) -> None:
        if self.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)


class CameraForkServer:
    """The daemon's side: starts the server (again, if it died) and asks it for children."""

    def __init__(self, preload: tuple[str, ...] = PRELOAD) -> None:
        self._preload = preload
        self._lock = threading.Lock()
        self._server: subprocess.Popen[bytes] | None = None
        self._socket: socket.socket | None = None
        self._stopped = False
        self._requests = itertools.count(1)

    def start(self) -> None:
        """Start the server now, so it imports while the daemon opens its ledgers."""
        with self._lock:
            self._ensure()

    def launch(self, job: CameraJob) -> tuple[ForkedChild, Connection]:
        """A new camera process recording `job`, and the daemon's end of its pipe."""
        ours, theirs = Pipe(duplex=True)
        status_r, status_w = os.pipe()
        try:
            with self._lock:
                if self._stopped:
                    raise OSError(errno.ESHUTDOWN, "the daemon is stopping: no new camera process")
                pid = self._ask(self._ensure(), [theirs.fileno(), status_w])
        except OSError:
            ours.close()
            os.close(status_r)
            raise
        finally:
            theirs.close()
            os.close(status_w)
        if pid < 0:
            ours.close()
            os.close(status_r)
            raise OSError(-pid, f"the camera fork server could not fork: {os.strerror(-pid)}")
        with contextlib.suppress(OSError):  # a child that died at once is reported as such
            ours.send(job)  # the one pickle: daemon to child, never the other way
        return ForkedChild(pid, status_r), ours

    def stop(self) -> None:
        """After the cameras are joined: the server ends on end of file (and would take any
        child still running with it)."""
        with self._lock:
            self._stopped = True
            if self._socket is not None:
                self._socket.close()
                self._socket = None
            server, self._server = self._server, None
        if server is not None:
            # On its pidfd, not with Popen.wait(timeout): that polls with time.sleep, which
            # fails under libfaketime (the clock-step tests run the daemon with it).
            pidfd = os.pidfd_open(server.pid)
            try:
                if not select.select([pidfd], [], [], STOP_TIMEOUT_S)[0]:
                    server.kill()
            finally:
                os.close(pidfd)
            server.wait()

    def _ask(self, sock: socket.socket, fds: list[int]) -> int:
        """One fork request; a late reply to an earlier one (that timed out) is passed over:
        that child read end of file on its pipe and ended."""
        number = next(self._requests)
        socket.send_fds(sock, [REQUEST.pack(FORK, number)], fds)
        while True:
            reply = sock.recv(REPLY.size)
            if len(reply) != REPLY.size:
                raise OSError(errno.EPIPE, "the camera fork server is gone")
            answered, pid = REPLY.unpack(reply)
            if answered == number:
                return int(pid)

    def _ensure(self) -> socket.socket:
        if self._server is not None and self._server.poll() is None and self._socket:
            return self._socket
        if self._server is not None:
            log.error("camera fork server ended (%s); starting a new one", self._server.returncode)
        if self._socket is not None:
            self._socket.close()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            code = (
                f"import sys; sys.path[:] = {sys.path!r}\n"
                "from gateway.daemon.camera_forkserver import serve\n"
                f"serve({theirs.fileno()}, {list(self._preload)!r})"
            )
            self._server = subprocess.Popen(
                [sys.executable, "-c", code],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                env={**os.environ, **SERVER_ENV},
            )
        ours.settimeout(REPLY_TIMEOUT_S)
        self._socket = ours
        return ours


def serve(fd: int, preload: list[str]) -> None:
    """The server process: import `preload`, then fork a child per request until end of file."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_NAME, ctypes.c_char_p(SERVER_NAME), 0, 0, 0)
    no_dumps()
    for name in preload:
        importlib.import_module(name)
    gc.collect()
    gc.freeze()
    _check_single_threaded()
    sock = socket.socket(fileno=fd)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the daemon, which stops us
    children: dict[int, int] = {}  # pid -> write end of its status pipe
    while True:
        ready, _, _ = select.select([sock.fileno(), wake_r], [], [])
        if wake_r in ready:
            os.read(wake_r, 4096)
            _reap(children)
        if sock.fileno() in ready:
            message, fds, _, _ = socket.recv_fds(sock, REQUEST.size, 2)
            if not message:
                return  # the daemon is gone: our children follow (PR_SET_PDEATHSIG)
            if len(message) != REQUEST.size or message[:4] != FORK or len(fds) != 2:
                for received in fds:
                    os.close(received)
                continue
            number = REQUEST.unpack(message)[1]
            pipe, status = fds
            pid = _fork(pipe, sock, [wake_r, wake_w, status, *children.values()])
            os.close(pipe)
            if pid > 0:
                children[pid] = status
            else:
                os.close(status)
            sock.send(REPLY.pack(number, pid))


def _fork(pipe: int, sock: socket.socket, others: list[int]) -> int:
    """Fork a child that records over `pipe`; its pid, or -errno."""
    server = os.getpid()
    try:
        pid = os.fork()
    except OSError as e:
        return -(e.errno or errno.EAGAIN)
    if pid:
        return pid
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        sock.close()
        for fd in others:  # the wake-up pipe, the status pipes of this and the other children
            os.close(fd)
        code = _run_child(pipe, server)
    finally:
        os._exit(code)


def _run_child(pipe: int, server: int) -> int:
    """The child: read its job from its pipe and record it; the process's exit code."""
    from .camera_child import camera_main

    conn = Connection(pipe)
    try:
        camera_main(conn.recv(), conn, server)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
    return 0


def _reap(children: dict[int, int]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        out = children.pop(pid, None)
        if out is not None:
            with contextlib.suppress(OSError):
                os.write(out, INT.pack(os.waitstatus_to_exitcode(status)))
            os.close(out)


def _check_single_threaded() -> None:
    """A thread started by an import would be missing in every child, and any lock it held
    would stay held there: say so at once."""
    threads = int(
        next(
            line.split()[1]
            for line in Path("/proc/self/status").read_text().splitlines()
            if line.startswith("Threads:")
        )
    )
    if threads != 1:
        print(f"evgw-forkserver: {threads} threads after preload; forks may deadlock",
              file=sys.stderr)  # fmt: skip
