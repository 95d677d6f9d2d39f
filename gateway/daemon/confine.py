"""Confine a camera process (Landlock): it reads the program and the system's libraries, and
creates files in its own stream folder; nothing else on the file system is open to it.

A compromised FFmpeg then cannot read the configuration (every camera's and the uplink's
secrets), the device key or its systemd credential, the index, another camera's folder, nor
rename or delete a sealed file. Landlock also keeps it from tracing or reading the memory of
any process outside its sandbox (the daemon, the other cameras) and, from ABI 6, from sending
them signals. Same user or not, and even as root.

Needs Linux 5.13 or newer; elsewhere (or where a seccomp filter refuses the calls) the
process logs one warning and runs unconfined: recording matters more. `EVGW_CAMERA_READABLE`
(paths separated by ':') names more files a camera process may read, for a tool preloaded
into the service, such as libfaketime's timestamp file in the fault tests.
"""

from __future__ import annotations

import ctypes
import logging
import os
import stat
import sys
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # the same on every architecture
_VERSION = 1
_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_DUMPABLE = 4

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
MAKE_DIR, MAKE_REG = 1 << 7, 1 << 8
TRUNCATE, IOCTL_DEV = 1 << 14, 1 << 15
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | (1 << 15)
_HANDLED_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1

READ = READ_FILE | READ_DIR | EXECUTE
DEVICE = READ_FILE | WRITE_FILE | IOCTL_DEV
"""A hardware encoder's device node: open it read-write and drive it with ioctls."""
WRITE_NEW = WRITE_FILE | MAKE_DIR | MAKE_REG
"""In its stream folder: make day folders and `.part` files and write them. Not: read, list,
truncate, remove, rename (the daemon names sealed files), make links or special files. (It
could still write into a file there, such as the ledger: that breaks signatures and chain,
which verification shows; it forges nothing.)"""

SYSTEM_READ = (
    "/usr", "/lib", "/lib64", "/etc/ld.so.cache", "/etc/localtime", "/etc/ssl",
    "/etc/ca-certificates", "/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf",
    "/etc/gai.conf", "/etc/host.conf", "/etc/services", "/etc/protocols", "/etc/fonts",
    "/dev/urandom", "/dev/random", "/sys/devices/system/cpu", "/proc/cpuinfo", "/proc/meminfo",
    "/proc/self",
)  # fmt: skip
CODE_PACKAGES = ("evgw", "cameras", "segments", "gateway")
READABLE_ENV = "EVGW_CAMERA_READABLE"


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class ConfineError(OSError):
    """Landlock is missing or refused: the process runs unconfined."""


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 when there is none (or it is refused)."""
    try:
        return max(0, _syscall(_CREATE_RULESET, None, 0, _VERSION))
    except ConfineError:
        return 0


def confine(writable: Path, readable: Iterable[Path] = (), devices: Iterable[Path] = ()) -> int:
    """Restrict this process for good: read the program and system files and `readable`, use
    the device nodes `devices` (a hardware encoder's), and create and write new files beneath
    `writable` (made first). Returns the Landlock ABI used; raises `ConfineError` when the
    kernel cannot (nothing is restricted then)."""
    abi = landlock_abi()
    if abi < 1:
        raise ConfineError("Landlock is not available (Linux 5.13+, and allowed by seccomp)")
    handled = _HANDLED_BY_ABI[max(a for a in _HANDLED_BY_ABI if a <= abi)]
    attr = _RulesetAttr(handled, 0, _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL)
    size = ctypes.sizeof(attr) if abi >= 6 else 8  # older kernels refuse fields they lack
    writable.mkdir(parents=True, exist_ok=True)
    ruleset = _syscall(_CREATE_RULESET, ctypes.byref(attr), size, 0)
    try:
        for path in dict.fromkeys([*map(Path, SYSTEM_READ), *program_paths(), *readable]):
            _allow(ruleset, path, READ & handled)
        _allow(ruleset, Path("/dev/null"), (READ_FILE | WRITE_FILE) & handled)
        for device in devices:
            _allow(ruleset, device, DEVICE & handled)
        _allow(ruleset, writable, WRITE_NEW & handled)
        if ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise ConfineError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        _syscall(_RESTRICT_SELF, ruleset, 0)
    finally:
        os.close(ruleset)
    return abi


def program_paths() -> list[Path]:
    """Where Python and evgw's code live: the interpreter's prefixes and our packages."""
    paths = [Path(p) for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}]
    for name in CODE_PACKAGES:
        source = getattr(sys.modules.get(name), "__file__", None)
        if source:
            paths.append(Path(source).parent)
    return paths


def _allow(ruleset: int, path: Path, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # not on this system: nothing to allow
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            access &= _FILE_RIGHTS
        rule = _PathBeneathAttr(access, fd)
        _syscall(_ADD_RULE, ruleset, _PATH_BENEATH, ctypes.byref(rule), 0)
    finally:
        os.close(fd)


def _syscall(number: int, *args: object) -> int:
    """syscall(2); integers (and None for NULL) are passed as C longs, pointers as they are."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    converted = [ctypes.c_long(a or 0) if a is None or isinstance(a, int) else a for a in args]
    result = int(libc.syscall(ctypes.c_long(number), *converted))
    if result < 0:
        errno = ctypes.get_errno()
        raise ConfineError(errno, f"Landlock call {number} failed: {os.strerror(errno)}")
    return result


def no_dumps() -> None:
    """No process of the same user may read this one's memory (/proc/PID/mem, ptrace) or find
    it in a core dump: the daemon holds the signing key, a camera process its credentials."""
    if ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")
