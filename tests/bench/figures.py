"""Figures of one side (evgw or ffmpeg) over a measured window, from proc_meter samples."""

from __future__ import annotations

import statistics
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from .proc_meter import MIB, TreeSample


@dataclass(frozen=True)
class SideFigures:
    side: str
    cameras: int
    window_s: float
    cpu_s: float
    tree_pss_mib: float  # mean over the window's samples
    tree_pss_peak_mib: float
    parent_pss_mib: float | None  # the daemon itself; None for ffmpeg (no parent)
    parent_cpu_s: float | None  # the daemon's own utime+stime in the window (not its children)
    camera_private_mib: tuple[float, ...]  # per camera process, at the window's end
    camera_rss_mib: tuple[float, ...]
    startup_s: tuple[float, ...]  # per camera process: its start to its RTSP connection
    camera_cpu_s: float = 0.0  # the camera processes' own CPU in the window (not the parent's)

    @property
    def camera_cpu_s_per_minute(self) -> float:
        """CPU seconds per camera and minute, camera processes only."""
        return 60 * self.camera_cpu_s / self.window_s / self.cameras if self.window_s else 0.0

    @property
    def cpu_pct_per_camera(self) -> float:
        return 100 * self.cpu_s / self.window_s / self.cameras

    @property
    def cameras_per_core(self) -> float:
        return self.cameras * self.window_s / self.cpu_s if self.cpu_s else float("inf")


def side_figures(
    side: str,
    cameras: int,
    window: Sequence[TreeSample],
    parent: int | None,
    camera_pids: Collection[int],
    startup_s: Sequence[float],
) -> SideFigures:
    """`window` runs from the sample that opens the window to the one that closes it."""
    first, last = window[0], window[-1]
    pss = [s.pss / MIB for s in window]
    by_pid = {m.pid: m for m in last.memory}
    own = [by_pid[p] for p in camera_pids if p in by_pid]
    at_start = {m.pid: m for m in first.memory}
    camera_cpu = sum(m.cpu_s - at_start[m.pid].cpu_s for m in own if m.pid in at_start)
    return SideFigures(
        side=side,
        cameras=cameras,
        window_s=last.at - first.at,
        cpu_s=last.cpu_s - first.cpu_s,
        tree_pss_mib=statistics.fmean(pss),
        tree_pss_peak_mib=max(pss),
        parent_pss_mib=None if parent not in by_pid else by_pid[parent].pss / MIB,
        parent_cpu_s=(
            by_pid[parent].cpu_s - at_start[parent].cpu_s
            if parent in by_pid and parent in at_start
            else None
        ),
        camera_private_mib=tuple(m.private / MIB for m in own),
        camera_rss_mib=tuple(m.rss / MIB for m in own),
        startup_s=tuple(startup_s),
        camera_cpu_s=camera_cpu,
    )


def spread(values: Sequence[float], unit: str = "", digits: int = 1) -> str:
    """`median (min–max)`, or `-` for nothing."""
    if not values:
        return "-"
    med = statistics.median(values)
    if len(values) == 1 or min(values) == max(values):
        return f"{med:.{digits}f}{unit}"
    return f"{med:.{digits}f}{unit} ({min(values):.{digits}f}–{max(values):.{digits}f})"
