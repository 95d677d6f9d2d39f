"""CPU and memory of process trees from /proc, sampled the same way for evgw and ffmpeg.

CPU of a tree is exact across children that come and go: a process's utime+stime plus its
cutime+cstime (every child it has reaped, with that child's own reaped children) plus the
same for each live child. A camera process that exits between two samples is therefore
still counted once its parent reaps it. Memory is PSS from smaps_rollup (shared pages split
between the processes that map them, so tree figures add up), and private pages
(Private_Clean + Private_Dirty) per process. The daemon makes itself non-dumpable, so its
/proc files are readable only by root (or with CAP_SYS_PTRACE).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

TICK = os.sysconf("SC_CLK_TCK")
MIB = 2**20


@dataclass(frozen=True)
class ProcMemory:
    pid: int
    cpu_s: float  # its own utime+stime (not its reaped children)
    pss: int  # bytes
    private: int  # bytes
    rss: int  # bytes


@dataclass(frozen=True)
class TreeSample:
    """One look at a tree: wall time, CPU seconds so far, memory of each live process."""

    at: float
    cpu_s: float
    memory: tuple[ProcMemory, ...]

    @property
    def pss(self) -> int:
        return sum(m.pss for m in self.memory)


def children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return found


def tree(pid: int) -> list[int]:
    """`pid` and all its live descendants, parents before children."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop(0)
        found.append(p)
        todo += children(p)
    return found


def stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat from field 3 (state) on; None once the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_with_reaped(pid: int) -> float:
    """utime+stime+cutime+cstime of `pid` in seconds (0 once it is gone)."""
    fields = stat_fields(pid)
    return 0.0 if fields is None else sum(int(x) for x in fields[11:15]) / TICK


def tree_cpu(pid: int) -> float:
    """CPU seconds of `pid`, its live descendants and everything they have reaped."""
    return sum(cpu_with_reaped(p) for p in tree(pid))


def boot_time() -> float:
    """Wall time of boot, to the microsecond. /proc/stat's `btime` is whole seconds: taken for
    the boot time, it made every start-up figure up to a second too long (0.56 s here)."""
    return time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)


_BOOT = boot_time()


def started_at(pid: int) -> float | None:
    """Wall time the process started (10 ms resolution), None once it is gone."""
    fields = stat_fields(pid)
    return None if fields is None else _BOOT + int(fields[19]) / TICK


def memory(pid: int) -> ProcMemory | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            text = f.read()
    except OSError:
        return None
    values: dict[str, int] = {}
    for line in text.splitlines()[1:]:
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[-1] == "kB":
            values[name] = int(parts[0]) * 1024
    private = values.get("Private_Clean", 0) + values.get("Private_Dirty", 0)
    fields = stat_fields(pid)
    cpu = 0.0 if fields is None else sum(int(x) for x in fields[11:13]) / TICK
    return ProcMemory(pid, cpu, values.get("Pss", 0), private, values.get("Rss", 0))


def voluntary_switches(pid: int) -> int:
    """Times the threads of `pid` now alive gave up the CPU to wait (their wake-ups), so far."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    with open("/proc/stat") as f:
        values = [int(x) for x in f.readline().split()[1:9]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / TICK, sum(values) / TICK


def sample_trees(roots: Sequence[int], at: float) -> TreeSample:
    """Several trees counted as one side (N ffmpeg processes, or the one daemon)."""
    cpu, mem = 0.0, []
    for root in roots:
        for p in tree(root):
            cpu += cpu_with_reaped(p)
            m = memory(p)
            if m is not None:
                mem.append(m)
    return TreeSample(at, cpu, tuple(mem))


@dataclass
class Sampler:
    """Samples each side every `every_s` seconds in a named thread until stopped."""

    sides: dict[str, Callable[[], Sequence[int]]]
    every_s: float = 1.0
    series: dict[str, list[TreeSample]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, name="proc-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def take(self) -> dict[str, TreeSample]:
        """Sample every side now (also stored in the series)."""
        now = time.time()
        got = {name: sample_trees(roots(), now) for name, roots in self.sides.items()}
        with self._lock:
            for name, s in got.items():
                self.series.setdefault(name, []).append(s)
        return got

    def between(self, name: str, start: float, end: float) -> list[TreeSample]:
        with self._lock:
            return [s for s in self.series.get(name, []) if start <= s.at <= end]

    def _run(self) -> None:
        while not self._stop.is_set():
            self.take()
            self._stop.wait(self.every_s)
